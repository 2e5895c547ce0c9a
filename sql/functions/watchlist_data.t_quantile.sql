-- watchlist_data.t_quantile(p, df): the t with t_cdf(t, df) = p, 0 < p < 1: Newton steps on
-- t_cdf (its derivative is the t density) inside a bracket that always holds the root,
-- falling back to bisection when a step leaves it; stops at 1e-12 relative. For the 95%
-- intervals and the Bonferroni threshold of the factor lab. Tested against scipy.stats.t.ppf.
CREATE OR REPLACE FUNCTION watchlist_data.t_quantile(p_p double precision, p_df double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lo double precision := -1;
    hi double precision := 1;
    t double precision;
    f double precision;
    dens double precision;
    nxt double precision;
    c double precision;
BEGIN
    IF p_p <= 0 OR p_p >= 1 THEN
        RAISE EXCEPTION 't_quantile: p must be in (0, 1) (p = %)', p_p USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_p = 0.5 THEN RETURN 0; END IF;
    WHILE watchlist_data.t_cdf(lo, p_df) > p_p LOOP lo := lo * 2; END LOOP;
    WHILE watchlist_data.t_cdf(hi, p_df) < p_p LOOP hi := hi * 2; END LOOP;
    -- log of the density's constant: Gamma((df + 1) / 2) / (Gamma(df / 2) sqrt(df pi))
    c := watchlist_data.ln_gamma((p_df + 1) / 2) - watchlist_data.ln_gamma(p_df / 2) - 0.5 * ln(p_df * pi());
    t := (lo + hi) / 2;
    FOR i IN 1..200 LOOP
        f := watchlist_data.t_cdf(t, p_df) - p_p;
        IF f = 0 THEN RETURN t; END IF;
        IF f < 0 THEN lo := t; ELSE hi := t; END IF;
        dens := exp(c - (p_df + 1) / 2 * ln(1 + t * t / p_df));
        nxt := CASE WHEN dens > 0 THEN t - f / dens END;
        IF nxt IS NULL OR nxt <= lo OR nxt >= hi THEN
            nxt := (lo + hi) / 2;
        END IF;
        EXIT WHEN abs(nxt - t) <= 1e-12 * greatest(1, abs(t));
        t := nxt;
    END LOOP;
    RETURN nxt;
END
$$;
