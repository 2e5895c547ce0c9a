-- 0010: the incremental merge looks up, per touched key, the events that end within reach
-- of its new rows (end_ts >= earliest new row - (M + H)); with months of events per key
-- that lookup needs end_ts in an index rather than a filter over every event of the key.
CREATE INDEX watch_signal_event_key_end_idx
    ON watchlist_data.watch_signal_event (exchange, symbol, signal_type, end_ts);
