-- 0009: runs of TimescaleDB jobs started from outside the scheduler (`wldb jobs run`,
-- `wldb jobs run-due`, `wldb worker`): CALL run_job() runs a job in the foreground but
-- records nothing in TimescaleDB's job statistics, so this log is how an engine without
-- a background scheduler (the embedded one) knows what is due, and how failures stay
-- visible in `wldb status`.
CREATE TABLE watchlist_data.job_run_log (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       integer     NOT NULL,
    proc_name    text        NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL CHECK (finished_at >= started_at),
    succeeded    boolean     NOT NULL,
    error        text,
    CONSTRAINT job_run_log_error_iff_failed CHECK (succeeded = (error IS NULL))
);
CREATE INDEX job_run_log_job_idx ON watchlist_data.job_run_log (job_id, started_at DESC);
