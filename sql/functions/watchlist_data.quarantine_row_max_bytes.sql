-- watchlist_data.quarantine_row_max_bytes(): the largest refused row kept whole in
-- ingest_quarantine.row_data (bytes of its JSON text); a bigger one is cut to it
-- (watchlist_data.quarantine_row), so a flood of huge bad rows cannot fill the disk. Not the
-- meta limit (watchlist_data.meta_max_bytes), although both are 64 KiB today.
CREATE OR REPLACE FUNCTION watchlist_data.quarantine_row_max_bytes()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 65536
$$;
REVOKE ALL ON FUNCTION watchlist_data.quarantine_row_max_bytes() FROM PUBLIC;
