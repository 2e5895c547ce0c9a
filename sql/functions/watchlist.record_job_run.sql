-- watchlist.record_job_run(job_id, started_at, finished_at, error): log a run of a job
-- started outside TimescaleDB's scheduler (error NULL = success). Owner-only.
CREATE OR REPLACE FUNCTION watchlist.record_job_run(p_job_id integer, p_started_at timestamptz,
                                                     p_finished_at timestamptz, p_error text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO watchlist_data.job_run_log (job_id, proc_name, started_at, finished_at, succeeded, error)
    SELECT p_job_id, j.proc_name, p_started_at, p_finished_at, p_error IS NULL, p_error
      FROM timescaledb_information.jobs AS j WHERE j.job_id = p_job_id
    RETURNING id
$$;
REVOKE ALL ON FUNCTION watchlist.record_job_run(integer, timestamptz, timestamptz, text) FROM PUBLIC;
