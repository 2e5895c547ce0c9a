-- watchlist_data.t_quantile(p, df): the t with t_cdf(t, df) = p, 0 < p < 1, by bisection on
-- t_cdf (bracket doubled until it holds p, then halved to 1e-12 relative). For the 95%
-- intervals and the Bonferroni threshold of the factor lab.
CREATE OR REPLACE FUNCTION watchlist_data.t_quantile(p_p double precision, p_df double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lo double precision := -1;
    hi double precision := 1;
    mid double precision;
BEGIN
    IF p_p <= 0 OR p_p >= 1 THEN
        RAISE EXCEPTION 't_quantile: p must be in (0, 1) (p = %)', p_p USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_p = 0.5 THEN RETURN 0; END IF;
    WHILE watchlist_data.t_cdf(lo, p_df) > p_p LOOP lo := lo * 2; END LOOP;
    WHILE watchlist_data.t_cdf(hi, p_df) < p_p LOOP hi := hi * 2; END LOOP;
    FOR i IN 1..200 LOOP
        mid := (lo + hi) / 2;
        IF watchlist_data.t_cdf(mid, p_df) < p_p THEN lo := mid; ELSE hi := mid; END IF;
        EXIT WHEN hi - lo <= 1e-12 * greatest(1, abs(mid));
    END LOOP;
    RETURN (lo + hi) / 2;
END
$$;
