-- watchlist_data.t_p2(t, df): the two-sided p-value P(|T| >= |t|) of Student's t with df
-- degrees of freedom, I_x(df/2, 1/2) with x = df / (df + t^2) (exact in the far tail, where
-- 1 - t_cdf would cancel to 0). NULL t gives NULL.
CREATE OR REPLACE FUNCTION watchlist_data.t_p2(p_t double precision, p_df double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN watchlist_data.beta_inc(p_df / 2, 0.5, p_df / (p_df + p_t * p_t));
END
$$;
