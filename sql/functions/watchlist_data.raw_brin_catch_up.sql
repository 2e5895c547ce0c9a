-- watchlist_data.raw_brin_catch_up(p_from): summarises the page ranges of the BRIN index on
-- watch_signal_raw.ingested_at (0041) that have no summary yet, in the chunks holding rows at
-- or after p_from; returns how many ranges it summarised.
-- Why: the merge, outcome and factor jobs find the rows that arrived since their last run
-- through that index, and a BRIN scan must read every page of a range without a summary.
-- autosummarize asks autovacuum to summarise each range as it fills, but autovacuum keeps at
-- most 256 such requests: a bulk load (a backfill, the writer's spool replayed after an
-- outage, a benchmark's day) fills ranges faster than they are served, and the requests that
-- do not fit are dropped ("request for BRIN range summarization ... was not recorded"). Those
-- ranges stay unsummarised until the next vacuum of the chunk, and every job run reads them
-- all (seen at 7 x 800 after a day's load: 6,185 dropped requests; the outcome job 322-414 ms
-- a run). Each job calls this first: in steady state it finds the one range being filled, so
-- it costs a look at each chunk's range map; after a bulk load the first run pays once.
-- brin_summarize_new_values takes SHARE UPDATE EXCLUSIVE on the chunk (as autovacuum does, not
-- against inserts or reads). Compressed chunks are left alone (no rows arrive in them).
-- Not SECURITY DEFINER: private, called by the jobs' SECURITY DEFINER functions (their owner
-- owns the chunks and their indexes).
CREATE OR REPLACE FUNCTION watchlist_data.raw_brin_catch_up(p_from timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_idx regclass;
    v_n   integer := 0;
BEGIN
    FOR v_idx IN
        SELECT x.indexrelid::regclass
          FROM timescaledb_information.chunks AS c
          JOIN pg_index AS x ON x.indrelid = format('%I.%I', c.chunk_schema, c.chunk_name)::regclass
          JOIN pg_class AS i ON i.oid = x.indexrelid
          JOIN pg_am AS am ON am.oid = i.relam AND am.amname = 'brin'
         WHERE c.hypertable_schema = 'watchlist_data' AND c.hypertable_name = 'watch_signal_raw'
           AND c.range_end > p_from AND NOT c.is_compressed
         ORDER BY c.range_start
    LOOP
        v_n := v_n + brin_summarize_new_values(v_idx);
    END LOOP;
    RETURN v_n;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_brin_catch_up(timestamptz) FROM PUBLIC;
