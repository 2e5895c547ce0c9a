-- watchlist.watch_signal_event: read API over the private table watchlist_data.watch_signal_event (all columns,
-- confirmed_at and entry_ts included: see watchlist.merge_events for the rule).
CREATE OR REPLACE VIEW watchlist.watch_signal_event AS
SELECT * FROM watchlist_data.watch_signal_event;
REVOKE ALL ON watchlist.watch_signal_event FROM PUBLIC;
GRANT SELECT ON watchlist.watch_signal_event TO wl_reader;
