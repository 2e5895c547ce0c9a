-- watchlist.jobs(p_now): watchlist-db's TimescaleDB jobs (policies on its tables and its
-- own job procedures) with their schedule, last run (TimescaleDB's own statistics or
-- watchlist_data.job_run_log, whichever is newer), whether the last run failed and its
-- error (from timescaledb_information.job_errors for the scheduler's runs, with the
-- SQLSTATE), failures in the last 24 h (both sources), whether the job is due at p_now, and for the incremental jobs (event
-- merge, outcome labels) their ingestion watermark and the figures of their last run
-- (watchlist_data.job_state; NULL for the others, and a watermark of a job that has seen no
-- rows yet is NULL rather than -infinity, which most client libraries cannot represent).
-- `wldb jobs list/run-due`, `wldb outcomes run`, `wldb status` and watchlist.job_health() read it.
CREATE OR REPLACE FUNCTION watchlist.jobs(p_now timestamptz DEFAULT now())
RETURNS TABLE (job_id integer, proc_name text, target text, schedule_interval interval, scheduled boolean,
               last_run_at timestamptz, last_ok boolean, last_error text, failures_24h bigint, due boolean,
               watermark timestamptz, last_stats jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH j AS (
        SELECT j.job_id, j.proc_name::text, coalesce(j.hypertable_name::text, j.proc_name::text) AS target,
               j.schedule_interval, j.scheduled,
               nullif(s.last_run_started_at, '-infinity') AS ts_last, s.last_run_status
          FROM timescaledb_information.jobs AS j
          LEFT JOIN timescaledb_information.job_stats AS s ON s.job_id = j.job_id
         WHERE j.hypertable_schema = 'watchlist_data' OR j.proc_schema = 'watchlist_data'
    ), e AS (
        SELECT DISTINCT ON (e.job_id) e.job_id,
               e.err_message || coalesce(' [' || e.sqlerrcode || ']', '') AS error
          FROM timescaledb_information.job_errors AS e
         WHERE e.job_id IN (SELECT j.job_id FROM j) AND e.err_message IS NOT NULL
         ORDER BY e.job_id, e.start_time DESC
    ), ef AS (
        SELECT e.job_id, count(*) AS n
          FROM timescaledb_information.job_errors AS e
         WHERE e.job_id IN (SELECT j.job_id FROM j) AND e.err_message IS NOT NULL
           AND e.start_time > p_now - INTERVAL '24 hours'
         GROUP BY e.job_id
    ), l AS (
        SELECT DISTINCT ON (g.job_id) g.job_id, g.started_at, g.succeeded, g.error
          FROM watchlist_data.job_run_log AS g ORDER BY g.job_id, g.started_at DESC
    )
    SELECT j.job_id, j.proc_name, j.target, j.schedule_interval, j.scheduled,
           greatest(j.ts_last, l.started_at),
           CASE WHEN l.started_at IS NOT NULL AND (j.ts_last IS NULL OR l.started_at >= j.ts_last) THEN l.succeeded
                WHEN j.ts_last IS NOT NULL THEN j.last_run_status = 'Success' END,
           CASE WHEN l.started_at IS NOT NULL AND (j.ts_last IS NULL OR l.started_at >= j.ts_last) THEN l.error
                WHEN j.ts_last IS NOT NULL AND j.last_run_status = 'Failed'
                THEN coalesce(e.error, 'failed (no error recorded in timescaledb_information.job_errors)') END,
           (SELECT count(*) FROM watchlist_data.job_run_log AS f
             WHERE f.job_id = j.job_id AND NOT f.succeeded AND f.started_at > p_now - INTERVAL '24 hours')
           + coalesce(ef.n, 0),
           j.scheduled AND (greatest(j.ts_last, l.started_at) IS NULL
                            OR greatest(j.ts_last, l.started_at) + j.schedule_interval <= p_now),
           nullif(st.watermark, '-infinity'),
           st.last_stats
      FROM j
      LEFT JOIN l ON l.job_id = j.job_id
      LEFT JOIN e ON e.job_id = j.job_id
      LEFT JOIN ef ON ef.job_id = j.job_id
      -- job_state is keyed by the job's unit of work: job_merge_events -> merge_events
      LEFT JOIN watchlist_data.job_state AS st ON j.proc_name = 'job_' || st.job
     ORDER BY j.job_id
$$;
REVOKE ALL ON FUNCTION watchlist.jobs(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.jobs(timestamptz) TO wl_reader;
