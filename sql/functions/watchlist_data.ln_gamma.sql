-- watchlist_data.ln_gamma(x): ln |Gamma(x)| (Lanczos, g = 7, 9 terms; relative error below
-- 1e-14 for x > 0; reflection below 0.5). PostgreSQL before 18 has no lgamma. Used by the
-- incomplete beta and gamma functions behind the factor lab's p-values.
CREATE OR REPLACE FUNCTION watchlist_data.ln_gamma(p_x double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c double precision[] := ARRAY[0.99999999999980993, 676.5203681218851, -1259.1392167224028,
                                  771.32342877765313, -176.61502916214059, 12.507343278686905,
                                  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
    x double precision := p_x;
    a double precision;
    t double precision;
BEGIN
    IF x < 0.5 THEN
        RETURN ln(pi() / abs(sin(pi() * x))) - watchlist_data.ln_gamma(1 - x);
    END IF;
    x := x - 1;
    a := c[1];
    t := x + 7.5;
    FOR i IN 1..8 LOOP
        a := a + c[i + 1] / (x + i);
    END LOOP;
    RETURN 0.5 * ln(2 * pi()) + (x + 0.5) * ln(t) - t + ln(a);
END
$$;
