-- watchlist.watchlist_symbol_ref: read API over the private table watchlist_data.watchlist_symbol_ref (all columns).
CREATE OR REPLACE VIEW watchlist.watchlist_symbol_ref AS
SELECT * FROM watchlist_data.watchlist_symbol_ref;
REVOKE ALL ON watchlist.watchlist_symbol_ref FROM PUBLIC;
GRANT SELECT ON watchlist.watchlist_symbol_ref TO wl_reader;
