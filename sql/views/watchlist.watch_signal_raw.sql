-- watchlist.watch_signal_raw: read API over the private table watchlist_data.watch_signal_raw
-- (all its columns, then id: always NULL, the key column of raw tables built before
-- watchlist-db, so their apps' INSERTs naming it keep working).
-- Writable for wl_writer: a plain INSERT goes through the writer API row by row
-- (watchlist_data.raw_view_insert: same checks, idempotency and quarantine as
-- watchlist.ingest_raw; a refused row lands in watchlist.ingest_rejects and the statement
-- still succeeds). INSERT ... ON CONFLICT DO NOTHING (no target) works; a conflict target
-- is refused (the view has no unique index); none is needed, replays are no-ops anyway.
-- RETURNING needs SELECT on the view, which the writer has not.
-- A column added to the table later needs DROP VIEW + CREATE here (id stays last).
CREATE OR REPLACE VIEW watchlist.watch_signal_raw AS
SELECT r.*, NULL::bigint AS id FROM watchlist_data.watch_signal_raw AS r;
CREATE OR REPLACE TRIGGER watch_signal_raw_insert
    INSTEAD OF INSERT ON watchlist.watch_signal_raw
    FOR EACH ROW EXECUTE FUNCTION watchlist_data.raw_view_insert();
REVOKE ALL ON watchlist.watch_signal_raw FROM PUBLIC;
GRANT SELECT ON watchlist.watch_signal_raw TO wl_reader;
GRANT INSERT ON watchlist.watch_signal_raw TO wl_writer;
