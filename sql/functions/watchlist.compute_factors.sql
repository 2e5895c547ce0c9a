-- watchlist.compute_factors(p_from, p_to): (re)computes the database factors
-- (watchlist_data.factor_value) of every key at the 5-minute bucket ends in (p_from, p_to],
-- e.g. a backfill or a window older than the job's look-back. Idempotent: the same window
-- gives the same rows. Formulas: sql/0020_factor_value.sql. Owner only.
CREATE OR REPLACE FUNCTION watchlist.compute_factors(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (bucket_ends integer, base_rows bigint, factor_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM watchlist_data.compute_factors_keys(p_from, p_to, NULL);
END
$$;
REVOKE ALL ON FUNCTION watchlist.compute_factors(timestamptz, timestamptz) FROM PUBLIC;
