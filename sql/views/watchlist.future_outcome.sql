-- watchlist.future_outcome: read API over the private table watchlist_data.future_outcome (all columns).
CREATE OR REPLACE VIEW watchlist.future_outcome AS
SELECT * FROM watchlist_data.future_outcome;
REVOKE ALL ON watchlist.future_outcome FROM PUBLIC;
GRANT SELECT ON watchlist.future_outcome TO wl_reader;
