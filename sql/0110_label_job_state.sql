-- 0110: the outcome job's carried state in typed tables instead of job_state.last_stats
-- JSON (job_state keeps the watermark and the last run's figures, as for the other jobs).
-- Rows cascade with the job's job_state row, so deleting that row (a reset) clears them.
CREATE TABLE watchlist_data.label_job_state (
    job                text        NOT NULL PRIMARY KEY REFERENCES watchlist_data.job_state (job) ON DELETE CASCADE
                                   CHECK (job = 'label_outcomes'),
    prev_now           timestamptz NOT NULL,
    pending_event_ids  bigint[]    NOT NULL DEFAULT '{}',
    pending_from       timestamptz,
    ranks_days         boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE watchlist_data.label_job_state IS
    'The outcome job''s state between runs (one row, job = label_outcomes); written in the same transaction as its labels.';
COMMENT ON COLUMN watchlist_data.label_job_state.prev_now IS
    'p_now of the previous run: labels whose horizon fell due after it (less the incremental overlap) are the next run''s newly due ones.';
COMMENT ON COLUMN watchlist_data.label_job_state.pending_event_ids IS
    'Confirmed events with a due label still waiting for data that the next run''s due window will not cover: looked at again next run.';
COMMENT ON COLUMN watchlist_data.label_job_state.pending_from IS
    'The earliest horizon end among pending_event_ids'' waiting labels: the next run looks at their horizons from there on.';
COMMENT ON COLUMN watchlist_data.label_job_state.ranks_days IS
    'false until a run has assigned quintiles to the days it touched; while false the next run ranks every day it touches (a first run).';

CREATE TABLE watchlist_data.label_ranked_day (
    day        date        NOT NULL PRIMARY KEY,
    ranked_at  timestamptz NOT NULL
);
COMMENT ON TABLE watchlist_data.label_ranked_day IS
    'When the outcome job last assigned quintiles to each still-open UTC day of entries (a day is re-ranked at most hourly while it fills); closed days are removed.';

-- Carry the state of a database that ran the job before this migration.
INSERT INTO watchlist_data.label_job_state (job, prev_now, pending_event_ids, pending_from, ranks_days)
SELECT s.job, (s.last_stats ->> 'p_now')::timestamptz,
       ARRAY(SELECT jsonb_array_elements_text(coalesce(s.last_stats -> 'pending', '[]'))::bigint),
       (s.last_stats ->> 'pending_from')::timestamptz,
       s.last_stats ? 'ranked_days'
  FROM watchlist_data.job_state AS s
 WHERE s.job = 'label_outcomes' AND s.last_stats ? 'p_now';
INSERT INTO watchlist_data.label_ranked_day (day, ranked_at)
SELECT k.key::date, (k.value #>> '{}')::timestamptz
  FROM watchlist_data.job_state AS s
 CROSS JOIN LATERAL jsonb_each(coalesce(s.last_stats -> 'ranked_days', '{}')) AS k
 WHERE s.job = 'label_outcomes';
UPDATE watchlist_data.job_state
   SET last_stats = last_stats - 'p_now' - 'pending' - 'pending_from' - 'ranked_days'
 WHERE job = 'label_outcomes';
