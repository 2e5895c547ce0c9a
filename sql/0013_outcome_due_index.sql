-- 0013: the outcome job's late-data check. A raw row that arrives late can change only a
-- label whose window [entry - max sample gap, entry + horizon] holds it; labels exist only
-- once their horizon has passed, so the labels a run must look at are those whose window
-- ends at or after the earliest row ingested since the previous run: per horizon, one
-- range of entry_ts (a few minutes of labels, not every label of every touched key's last
-- longest horizon). NULL entry_ts: labels from before 0011 (see its comment).
CREATE INDEX future_outcome_horizon_entry_idx ON watchlist_data.future_outcome (horizon_min, entry_ts);
