-- Job procedure for TimescaleDB's scheduler (every 5 minutes, see watchlist.apply_policies):
-- a thin wrapper around watchlist.label_outcomes_incremental(). A failure raises, so it is
-- recorded in the job's error history (timescaledb_information.job_errors on a real
-- server, watchlist_data.job_run_log when run by `wldb jobs run-due`) and shown by `wldb status`.
CREATE OR REPLACE PROCEDURE watchlist_data.job_label_outcomes(job_id integer, config jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM watchlist.label_outcomes_incremental(now());
    RAISE LOG 'watchlist-db job % label_outcomes: % candidates, % written (% uncovered), % events recomputed',
        job_id, r.candidates, r.written, r.uncovered, r.recomputed_events;
END
$$;
