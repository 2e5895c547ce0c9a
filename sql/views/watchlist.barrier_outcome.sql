-- watchlist.barrier_outcome: read API over the private table watchlist_data.barrier_outcome
-- (all columns): the triple-barrier label of each (event, horizon) with a fixed label.
CREATE OR REPLACE VIEW watchlist.barrier_outcome AS
SELECT * FROM watchlist_data.barrier_outcome;
REVOKE ALL ON watchlist.barrier_outcome FROM PUBLIC;
GRANT SELECT ON watchlist.barrier_outcome TO wl_reader;
