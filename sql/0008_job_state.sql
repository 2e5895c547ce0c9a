-- 0008: per-job state of the incremental jobs (event merge, outcome labelling): the
-- ingestion watermark up to which raw rows have been processed, and the last run's
-- figures. Written in the same transaction as the job's output, so a failed run
-- leaves both untouched.
CREATE TABLE watchlist_data.job_state (
    job          text        NOT NULL PRIMARY KEY,
    watermark    timestamptz NOT NULL,
    last_run_at  timestamptz NOT NULL DEFAULT now(),
    last_stats   jsonb       NOT NULL DEFAULT '{}'::jsonb
);
