-- Job procedure for TimescaleDB's scheduler (add_job in watchlist.apply_policies): a thin
-- wrapper around watchlist.prune_history(), so the logic stays testable in a transaction.
CREATE OR REPLACE PROCEDURE watchlist_data.job_prune_history(job_id integer, config jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM watchlist.prune_history(now());
    RAISE LOG 'watchlist-db job % prune_history: % events, % trades, % quarantined rows deleted',
        job_id, r.events_deleted, r.trades_deleted, r.quarantine_deleted;
END
$$;
