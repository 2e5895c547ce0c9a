-- watchlist_data.gamma_inc(a, x, upper): the regularized incomplete gamma function, lower
-- P(a, x) (upper = false) or upper Q(a, x) = 1 - P (upper = true), a > 0, x >= 0: the series
-- for x < a + 1, the continued fraction (modified Lentz) otherwise (Numerical Recipes
-- gser / gcf); the side not computed directly is 1 minus the other. Accurate to ~1e-14.
-- Tested against scipy.special.gammainc / gammaincc (tests/pgtap/30_factor_stats.sql).
CREATE OR REPLACE FUNCTION watchlist_data.gamma_inc(p_a double precision, p_x double precision, p_upper boolean DEFAULT false)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s double precision;
    del double precision;
    ap double precision;
    b double precision;
    c double precision;
    d double precision;
    h double precision;
    an double precision;
    r double precision;
    tiny CONSTANT double precision := 1e-300;
BEGIN
    IF p_a <= 0 OR p_x < 0 THEN
        RAISE EXCEPTION 'gamma_inc: need a > 0 and x >= 0 (a = %, x = %)', p_a, p_x USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_x = 0 THEN RETURN CASE WHEN p_upper THEN 1 ELSE 0 END; END IF;
    IF p_x < p_a + 1 THEN
        ap := p_a; s := 1 / p_a; del := s;
        FOR i IN 1..10000 LOOP
            ap := ap + 1;
            del := del * p_x / ap;
            s := s + del;
            EXIT WHEN abs(del) < abs(s) * 1e-16;
        END LOOP;
        r := -p_x + p_a * ln(p_x) - watchlist_data.ln_gamma(p_a);
        r := CASE WHEN r < -700 THEN 0 ELSE s * exp(r) END;
        RETURN CASE WHEN p_upper THEN 1 - r ELSE r END;
    END IF;
    b := p_x + 1 - p_a; c := 1 / tiny; d := 1 / b; h := d;
    FOR i IN 1..10000 LOOP
        an := -i * (i - p_a);
        b := b + 2;
        d := an * d + b; IF abs(d) < tiny THEN d := tiny; END IF;
        c := b + an / c; IF abs(c) < tiny THEN c := tiny; END IF;
        d := 1 / d;
        del := d * c;
        h := h * del;
        EXIT WHEN abs(del - 1) < 1e-16;
    END LOOP;
    r := -p_x + p_a * ln(p_x) - watchlist_data.ln_gamma(p_a);
    -- below e^-700 the upper tail is 0 to double precision (exp raises on underflow)
    r := CASE WHEN r < -700 THEN 0 ELSE exp(r) * h END;
    RETURN CASE WHEN p_upper THEN r ELSE 1 - r END;
END
$$;
