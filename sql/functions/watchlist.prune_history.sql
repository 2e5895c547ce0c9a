-- watchlist.prune_history(p_now): delete what is older than the retention settings in the
-- plain (non-hypertable) tables: events whose end_ts is older than history_retention (their
-- future_outcome labels go with them, ON DELETE CASCADE), recorded trades opened before it,
-- and quarantined rows and job run log entries older than quarantine_retention. Hypertables and continuous
-- aggregates are pruned by TimescaleDB retention policies instead (whole chunks).
-- Owner-only; run daily by the job watchlist_data.job_prune_history.
CREATE OR REPLACE FUNCTION watchlist.prune_history(p_now timestamptz DEFAULT now())
RETURNS TABLE (events_deleted bigint, trades_deleted bigint, quarantine_deleted bigint, job_runs_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_history    timestamptz := p_now - watchlist_data.setting('history_retention')::interval;
    v_quarantine timestamptz := p_now - watchlist_data.setting('quarantine_retention')::interval;
BEGIN
    DELETE FROM watchlist_data.watch_signal_event AS e WHERE e.end_ts < v_history AND NOT e.is_open;
    GET DIAGNOSTICS events_deleted = ROW_COUNT;
    DELETE FROM watchlist_data.watchlist_outcome AS o WHERE coalesce(o.closed_at, o.opened_at) < v_history;
    GET DIAGNOSTICS trades_deleted = ROW_COUNT;
    DELETE FROM watchlist_data.ingest_quarantine AS q WHERE q.received_at < v_quarantine;
    GET DIAGNOSTICS quarantine_deleted = ROW_COUNT;
    DELETE FROM watchlist_data.job_run_log AS l WHERE l.started_at < v_quarantine;
    GET DIAGNOSTICS job_runs_deleted = ROW_COUNT;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.prune_history(timestamptz) FROM PUBLIC;
