-- watchlist.watch_signal_event: read API over the private table watchlist_data.watch_signal_event (all columns).
CREATE OR REPLACE VIEW watchlist.watch_signal_event AS
SELECT * FROM watchlist_data.watch_signal_event;
REVOKE ALL ON watchlist.watch_signal_event FROM PUBLIC;
GRANT SELECT ON watchlist.watch_signal_event TO wl_reader;
