-- watchlist.watchlist_outcome: read API over the private table watchlist_data.watchlist_outcome (all columns).
CREATE OR REPLACE VIEW watchlist.watchlist_outcome AS
SELECT * FROM watchlist_data.watchlist_outcome;
REVOKE ALL ON watchlist.watchlist_outcome FROM PUBLIC;
GRANT SELECT ON watchlist.watchlist_outcome TO wl_reader;
