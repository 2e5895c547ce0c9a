-- 0050: the schedules of watchlist-db's own jobs become settings (every tunable lives in
-- watchlist_data.settings); watchlist.apply_policies() reads them. The values are the
-- schedules the jobs had. Re-running changes nothing (ON CONFLICT DO NOTHING keeps a
-- value an operator changed).
INSERT INTO watchlist_data.settings (key, value, kind, description) VALUES
    ('merge_events_every',
     '1 minute',
     'interval',
     'Schedule of the event merge job (watchlist_data.job_merge_events)'),
    ('label_outcomes_every',
     '5 minutes',
     'interval',
     'Schedule of the outcome labelling job (watchlist_data.job_label_outcomes)'),
    ('prune_history_every',
     '1 day',
     'interval',
     'Schedule of the history prune job (watchlist_data.job_prune_history)')
ON CONFLICT (key) DO NOTHING;

-- watchlist.jobs() gains the incremental jobs' watermark and last figures (so clients need
-- not read watchlist_data.job_state): a new result type, so the old function goes first;
-- sql/functions/watchlist.jobs.sql creates the new one right after the migrations.
DROP FUNCTION IF EXISTS watchlist.jobs(timestamptz);
