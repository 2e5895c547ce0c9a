-- watchlist.watchlist_membership: read API over the private table watchlist_data.watchlist_membership (all columns).
CREATE OR REPLACE VIEW watchlist.watchlist_membership AS
SELECT * FROM watchlist_data.watchlist_membership;
REVOKE ALL ON watchlist.watchlist_membership FROM PUBLIC;
GRANT SELECT ON watchlist.watchlist_membership TO wl_reader;
