-- watchlist.watch_signal_raw: read API over the private table watchlist_data.watch_signal_raw
-- (all its columns, then id: always NULL, the key column of raw tables built before
-- watchlist-db, so their apps' INSERTs naming it keep working).
-- Writable for wl_writer: a plain INSERT goes through the writer API row by row
-- (watchlist_data.raw_view_insert: same checks, idempotency and quarantine as
-- watchlist.ingest_raw; a refused row lands in watchlist.ingest_rejects and the statement
-- still succeeds). INSERT ... ON CONFLICT is not supported on it (PostgreSQL refuses it on
-- a view with an INSTEAD OF trigger); none is needed, replays are no-ops anyway.
-- A column added to the table later needs DROP VIEW + CREATE here (id stays last).
CREATE OR REPLACE VIEW watchlist.watch_signal_raw AS
SELECT r.*, NULL::bigint AS id FROM watchlist_data.watch_signal_raw AS r;
CREATE OR REPLACE TRIGGER watch_signal_raw_insert
    INSTEAD OF INSERT ON watchlist.watch_signal_raw
    FOR EACH ROW EXECUTE FUNCTION watchlist_data.raw_view_insert();
REVOKE ALL ON watchlist.watch_signal_raw FROM PUBLIC;
GRANT SELECT ON watchlist.watch_signal_raw TO wl_reader;
GRANT INSERT ON watchlist.watch_signal_raw TO wl_writer;
