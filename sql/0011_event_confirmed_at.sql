-- 0011: the seed's confirmation rule (issue 11). An event is confirmed once it holds N
-- consecutive triggered minutes; confirmed_at is the sample time at which that first
-- became true (the first moment a live system knows the event exists), and entry_ts is
-- the time research enters the event's outcome trade and reads its factor values: the one
-- place that defines "entry" (labels, event_factors, factor_observations, export_frame and
-- any later factor engine read e.entry_ts, never their own expression).
-- Rows stored before this migration have confirmed_at NULL (so no entry: they are not
-- labelled or used by the factor lab) until they are re-merged under the new rule:
--     wldb jobs run merge --from <oldest raw row>
-- which also recomputes the labels of every event whose confirmation changed.
ALTER TABLE watchlist_data.watch_signal_event
    ADD COLUMN confirmed_at timestamptz,
    ADD COLUMN entry_ts timestamptz GENERATED ALWAYS AS (confirmed_at) STORED,
    ADD CONSTRAINT watch_signal_event_confirmed_within CHECK (confirmed_at >= start_ts AND confirmed_at <= end_ts);

COMMENT ON COLUMN watchlist_data.watch_signal_event.confirmed_at IS
    'Sample time at which the event first held a run of consecutive triggered samples spanning N - 1 minutes; NULL while not confirmed';
COMMENT ON COLUMN watchlist_data.watch_signal_event.entry_ts IS
    'Entry time of research (outcome trade, point-in-time factor values): confirmed_at; no look-ahead';

-- The entry a label was computed for: a label whose event's entry has moved since (a
-- re-merge under new rules or late data) is stale and is removed by the merge. Labels
-- stored before this migration have none.
ALTER TABLE watchlist_data.future_outcome ADD COLUMN entry_ts timestamptz;
COMMENT ON COLUMN watchlist_data.future_outcome.entry_ts IS
    'Entry time (the event''s entry_ts) this label was computed for; NULL for labels written before migration 0011';

-- The label job looks for pending labels of events entered or updated since its previous run.
CREATE INDEX watch_signal_event_updated_idx ON watchlist_data.watch_signal_event (updated_at);
CREATE INDEX watch_signal_event_entry_idx ON watchlist_data.watch_signal_event (entry_ts) WHERE entry_ts IS NOT NULL;
