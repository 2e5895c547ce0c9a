-- 0030: the outcome job finds events whose status changed since its previous run (an
-- event confirmed late, after some of its horizons fell due) through updated_at, instead
-- of re-examining a day and a half of events every run. The merge job sets updated_at on
-- every event it touches, so this index only ever sees the events of the newest minutes.
CREATE INDEX IF NOT EXISTS watch_signal_event_updated_idx ON watchlist_data.watch_signal_event (updated_at);
