-- watchlist.watch_signal_raw: read API over the private table watchlist_data.watch_signal_raw (all columns).
CREATE OR REPLACE VIEW watchlist.watch_signal_raw AS
SELECT * FROM watchlist_data.watch_signal_raw;
REVOKE ALL ON watchlist.watch_signal_raw FROM PUBLIC;
GRANT SELECT ON watchlist.watch_signal_raw TO wl_reader;
