-- watchlist_data.chisq_cdf(x, k): P(X <= x) for chi-square with k degrees of freedom,
-- the regularized lower incomplete gamma P(k/2, x/2). Its upper tail (a p-value) is
-- watchlist_data.gamma_inc(k/2, x/2, true). Tested against scipy.stats.chi2.cdf.
CREATE OR REPLACE FUNCTION watchlist_data.chisq_cdf(p_x double precision, p_k double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE WHEN p_x <= 0 THEN 0::float8 ELSE watchlist_data.gamma_inc(p_k / 2, p_x / 2, false) END;
END
$$;
