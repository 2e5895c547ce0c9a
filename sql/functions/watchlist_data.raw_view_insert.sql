-- watchlist_data.raw_view_insert(): INSTEAD OF INSERT trigger of the API view
-- watchlist.watch_signal_raw, so an app that writes raw rows with a plain
--   INSERT INTO watch_signal_raw (ts, exchange, symbol, ...) VALUES (...)
-- (search_path watchlist, public, as a database built before watchlist-db had it) goes
-- through the writer API unchanged: each row is one watchlist.ingest_raw batch, with its
-- checks, its idempotency (a minute already stored is skipped) and its quarantine.
-- Contract, per row:
--   stored or already stored  the row counts as inserted (INSERT 0 n as before);
--   refused by the checks     kept in watchlist.ingest_rejects (batch 'sql-insert:<user>',
--                             row_index 0, field, reason) and NOT counted: the statement
--                             still succeeds, so one bad row never fails the app's batch;
--                             a WARNING names the field and reason.
-- The view's id column (the old bigserial key) and ingested_at are accepted and ignored.
-- Runs as the caller (no SECURITY DEFINER): the caller needs INSERT on the view and
-- EXECUTE on watchlist.ingest_raw, which wl_writer has.
CREATE OR REPLACE FUNCTION watchlist_data.raw_view_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r
      FROM watchlist.ingest_raw(
               (SELECT jsonb_build_array(coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb))
                  FROM jsonb_each(to_jsonb(NEW)) AS e
                 WHERE e.value <> 'null'::jsonb AND e.key NOT IN ('id', 'ingested_at')),
               'sql-insert:' || session_user);
    IF r.rejected > 0 THEN
        RAISE WARNING 'watch_signal_raw row (%, %, %) refused: % (kept in watchlist.ingest_rejects)',
            NEW.exchange, NEW.symbol, NEW.ts,
            (SELECT string_agg(x ->> 'field' || ': ' || (x ->> 'reason'), '; ') FROM jsonb_array_elements(r.rejects) AS x);
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_view_insert() FROM PUBLIC;
