-- watchlist.job_health(p_now, p_overdue_after): what is wrong with watchlist-db's jobs, one
-- row per problem, with the fix when the cause is known (watchlist_data.job_failure_fix).
-- Empty when all is well. `wldb status` prints it (and exits 1 on any row).
--   kind 'all_failing'  every job that has finished a run (at least two) failed its last run
--                       the same way (same known cause, or the same error text): one row,
--                       job_id NULL, instead of one row per job. A version pairing such as
--                       PostgreSQL 15.20 + TimescaleDB 2.28.3, or worker slots exhausted.
--   kind 'failing'      otherwise, one row per job whose last run failed (TimescaleDB's
--                       job_stats/job_errors or watchlist_data.job_run_log, whichever ran last,
--                       see watchlist.jobs()): the error, failures in 24 h, and when
--                       TimescaleDB's retry policy runs it next.
--   kind 'no_scheduler' a TimescaleDB launcher runs on the server but no scheduler for this
--                       database: nothing runs by itself (worker slots exhausted: each
--                       database with TimescaleDB holds one scheduler worker; or the scheduler
--                       failed itself, e.g. on a full disk, and the launcher does not restart it).
--   kind 'overdue'      a scheduler runs here, but scheduled jobs whose next start is more
--                       than p_overdue_after in the past were not started (TimescaleDB's
--                       "out of background workers" is only logged, never recorded): one row.
--                       A job that never ran has no next start yet: it counts as due since
--                       the server started, the last migration or the last setting change.
-- The workers are found in pg_stat_activity by application_name (visible without
-- pg_read_all_stats, unlike backend_type). Engines without a background scheduler (the embedded one: no launcher) are judged only by
-- the runs `wldb worker` / `wldb jobs run` logged. plpgsql (not sql) so that the file does not
-- depend on the order in which the repeatable files are applied.
CREATE OR REPLACE FUNCTION watchlist.job_health(p_now timestamptz DEFAULT now(),
                                                p_overdue_after interval DEFAULT INTERVAL '10 minutes')
RETURNS TABLE (kind text, job_id integer, problem text, fix text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    WITH j AS (
        SELECT j.*, s.next_start, s.job_status
          FROM watchlist.jobs(p_now) AS j
          LEFT JOIN timescaledb_information.job_stats AS s ON s.job_id = j.job_id
    ), f AS (
        SELECT j.*, watchlist_data.job_failure_fix(j.last_error) AS known_fix FROM j WHERE j.last_ok IS FALSE
    ), same AS (
        SELECT count(*) AS n, count(DISTINCT coalesce(f.known_fix, f.last_error)) AS ways,
               min(f.last_error) AS error, min(f.known_fix) AS known_fix
          FROM f
    ), all_failing AS (
        SELECT s.* FROM same AS s
         WHERE s.n >= 2 AND s.ways = 1 AND s.n = (SELECT count(*) FROM j WHERE j.last_ok IS NOT NULL)
    ), workers AS (
        SELECT EXISTS (SELECT 1 FROM pg_stat_activity AS a
                        WHERE 'TimescaleDB Background Worker Launcher' IN (a.backend_type, a.application_name)) AS launcher,
               EXISTS (SELECT 1 FROM pg_stat_activity AS a
                        WHERE 'TimescaleDB Background Worker Scheduler' IN (a.backend_type, a.application_name)
                          AND a.datname = current_database()) AS scheduler
    ), due AS (
        -- when each scheduled, waiting job became due: its next start; for a job that never
        -- ran (no statistics yet) the latest moment it can have been created or (re)scheduled
        SELECT j.job_id,
               CASE WHEN j.next_start IS NOT NULL THEN nullif(j.next_start, '-infinity')
                    WHEN j.last_run_at IS NULL THEN greatest(pg_postmaster_start_time(),
                        (SELECT max(m.applied_at) FROM watchlist_data.schema_migrations AS m),
                        (SELECT max(t.updated_at) FROM watchlist_data.settings AS t)) END AS since
          FROM j WHERE j.scheduled AND j.job_status = 'Scheduled' AND j.last_ok IS NOT FALSE  -- failed: see above
    ), overdue AS (
        SELECT count(*) AS n, min(d.since) AS since, string_agg(d.job_id::text, ', ' ORDER BY d.job_id) AS ids
          FROM due AS d, workers AS w
         WHERE w.scheduler AND d.since < p_now - p_overdue_after
    )
    SELECT 'all_failing', NULL::integer,
           format('every watchlist-db job that ran fails the same way (%s jobs), e.g.: %s', a.n, a.error),
           coalesce(a.known_fix, 'no known cause for this error: read the server log around the failures')
      FROM all_failing AS a
    UNION ALL
    SELECT 'failing', f.job_id,
           format('job %s %s (%s) failed: %s; %s failure(s) in 24 h%s', f.job_id, f.proc_name, f.target,
                  f.last_error, f.failures_24h,
                  CASE WHEN f.next_start > '-infinity' THEN format('; TimescaleDB retries it at %s', f.next_start)
                       ELSE '' END),
           f.known_fix
      FROM f WHERE NOT EXISTS (SELECT 1 FROM all_failing)
    UNION ALL
    SELECT 'no_scheduler', NULL::integer,
           format('TimescaleDB''s job scheduler is not running in database %s: no job runs by itself', current_database()),
           'the scheduler stops for good when it fails itself (e.g. it could not record a job''s run while the '
           || 'disk was full: see the server log) and cannot start without a free background worker slot; '
           || 'once the cause is gone (space freed), a superuser starts it in this database with '
           || 'SELECT _timescaledb_functions.start_background_workers() (or restart the server); to have TimescaleDB '
           || 'restart a failed scheduler by itself, set timescaledb.bgw_scheduler_restart_time = 60 (seconds; '
           || 'postgresql.conf, then reload: schedulers started afterwards get it); for slots raise '
           || 'max_worker_processes and timescaledb.max_background_workers (each database with TimescaleDB holds '
           || 'one scheduler worker, each running job one more; postgresql.conf, then restart the server)'
      FROM workers AS w WHERE w.launcher AND NOT w.scheduler
    UNION ALL
    SELECT 'overdue', NULL::integer,
           format('%s job(s) overdue (%s): due since %s and not started by TimescaleDB''s scheduler', o.n, o.ids, o.since),
           watchlist_data.job_failure_fix('out of background workers')
      FROM overdue AS o WHERE o.n > 0;
END
$$;
REVOKE ALL ON FUNCTION watchlist.job_health(timestamptz, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.job_health(timestamptz, interval) TO wl_reader;
