-- Job procedure for TimescaleDB's scheduler (every compute_factors_every, see watchlist.apply_policies):
-- a thin wrapper around watchlist.compute_factors_incremental().
CREATE OR REPLACE PROCEDURE watchlist_data.job_compute_factors(job_id integer, config jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM watchlist.compute_factors_incremental(now());
    RAISE LOG 'watchlist-db job % compute_factors: (%, %], % late keys from %, % rows',
        job_id, r.from_ts, r.to_ts, r.late_keys, r.late_from, r.factor_rows;
END
$$;
