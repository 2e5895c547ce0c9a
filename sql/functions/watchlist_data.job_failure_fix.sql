-- watchlist_data.job_failure_fix(error): what to do about a job error text, for the error
-- patterns whose cause and fix are known (NULL otherwise). Pure: watchlist.job_health()
-- calls it on the errors of TimescaleDB's job statistics and of watchlist_data.job_run_log.
--   * `cannot drop portal "" while it is being set up` (SQLSTATE 24000): TimescaleDB's
--     background jobs cannot start on this PostgreSQL minor release (seen with PostgreSQL
--     15.20 and TimescaleDB 2.28.3: every job fails at start; jobs run by hand still work).
--   * worker slots exhausted: TimescaleDB logs "failed to launch job N: out of background
--     workers" / "failed to start a background worker" and records "failed to start job"
--     in its job errors.
--   * lock timeout: another session held a lock the job needed; the job is retried.
--   * disk full (SQLSTATE 53100, "No space left on device"): a file could not be extended
--     or written; the scheduler may have stopped too (watchlist.job_health's no_scheduler).
CREATE OR REPLACE FUNCTION watchlist_data.job_failure_fix(p_error text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_error ~* 'cannot drop portal .* while it is being set up' THEN
            'TimescaleDB''s background jobs cannot start on this PostgreSQL minor release (known: PostgreSQL 15.20 '
            || 'with TimescaleDB 2.28.3; jobs run by hand with run_job still work): pin PostgreSQL 15.18 or use a TimescaleDB release '
            || 'that supports your PostgreSQL minor'
        WHEN p_error ~* '(out of background workers|failed to start a background worker|failed to start job)' THEN
            'the server has no free background worker slot for TimescaleDB''s jobs: raise max_worker_processes and '
            || 'timescaledb.max_background_workers (each database with TimescaleDB holds one scheduler worker, each '
            || 'running job one more; postgresql.conf, then restart the server)'
        WHEN p_error ~* '(no space left on device|\[53100\])' THEN
            'the database server''s disk is full: free space on its data directory, pg_wal and tablespaces (or grow '
            || 'the filesystem); TimescaleDB retries the job; if its scheduler stopped meanwhile, wldb status says so'
        WHEN p_error ~* 'lock timeout' THEN
            'another session held a lock the job needs longer than lock_timeout: TimescaleDB retries the job; '
            || 'look for long transactions in pg_stat_activity if it keeps failing'
    END
$$;
REVOKE ALL ON FUNCTION watchlist_data.job_failure_fix(text) FROM PUBLIC;
