-- 0012: two indexes for the per-minute merge. It reads the open events every minute (to
-- close those of keys silent for the whole look-back, and to count them); with months of
-- closed events that must not be a scan of the event table. A partial index holds only the open ones (a few per key).
CREATE INDEX watch_signal_event_open_idx ON watchlist_data.watch_signal_event (end_ts) WHERE is_open;
-- The merge's lookup of the events within reach of new rows (end_ts >= earliest new row -
-- (M + H)) is one range scan over the events that ended recently.
CREATE INDEX watch_signal_event_end_idx ON watchlist_data.watch_signal_event (end_ts);
