-- Job procedure for TimescaleDB's scheduler (every minute, see watchlist.apply_policies):
-- a thin wrapper around watchlist.merge_events_incremental().
CREATE OR REPLACE PROCEDURE watchlist_data.job_merge_events(job_id integer, config jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM watchlist.merge_events_incremental(now());
    RAISE LOG 'watchlist-db job % merge_events: % keys, % samples read, % inserted, % updated, % deleted, % open',
        job_id, r.keys, r.samples, r.inserted, r.updated, r.deleted, r.open_events;
END
$$;
