-- watchlist_data.is_row_fault(sqlstate): may an error raised while storing one row be put on
-- that row (quarantined, or reported against it), or is it the server's state, which no row
-- causes and a retry of the same rows can get past? The writer paths that fall back to one row
-- at a time (ingest_raw, ingest_raw_columns, upsert_symbol_refs, record_trades) re-raise the
-- latter, so the whole call fails and the caller keeps the rows (the Writer's spool) instead
-- of quarantining good rows: a disk filling mid-batch refuses some rows' inserts with 53100
-- "could not extend file" while others still fit in free pages.
-- Not the row's: connection (08), transaction rollback (40: serialization, deadlock),
-- insufficient resources (53: disk full, out of memory, too many connections), object not in
-- prerequisite state (55: lock not available), operator intervention (57: cancel, shutdown),
-- system error (58: I/O), snapshot too old (72), configuration file (F0), internal (XX).
-- Every other class (data exception 22, integrity constraint 23, ...) is the row's.
CREATE OR REPLACE FUNCTION watchlist_data.is_row_fault(p_sqlstate text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$
    SELECT left(p_sqlstate, 2) NOT IN ('08', '40', '53', '55', '57', '58', '72', 'F0', 'XX')
$$;
REVOKE ALL ON FUNCTION watchlist_data.is_row_fault(text) FROM PUBLIC;
