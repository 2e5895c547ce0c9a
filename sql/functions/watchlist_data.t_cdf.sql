-- watchlist_data.t_cdf(t, df): P(T <= t) for Student's t with df > 0 degrees of freedom
-- (real df allowed): 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2) for t > 0, its mirror
-- for t < 0. Two-sided p-values use watchlist_data.t_p2 (no 1 - cdf cancellation).
-- Tested against scipy.stats.t.cdf (tests/pgtap/30_factor_stats.sql).
CREATE OR REPLACE FUNCTION watchlist_data.t_cdf(p_t double precision, p_df double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tail double precision;
BEGIN
    IF p_df <= 0 THEN
        RAISE EXCEPTION 't_cdf: degrees of freedom must be positive (df = %)', p_df USING ERRCODE = 'invalid_parameter_value';
    END IF;
    tail := 0.5 * watchlist_data.beta_inc(p_df / 2, 0.5, p_df / (p_df + p_t * p_t));
    RETURN CASE WHEN p_t > 0 THEN 1 - tail ELSE tail END;
END
$$;
