-- watchlist_data.raw_row_quick_ok(row): the writer API's whole-batch fast path (see
-- watchlist.ingest_raw, step 0). True when the row has none of the problems the INSERT
-- into watch_signal_raw would let through silently:
--   - a field that is not a column (jsonb_populate_recordset would ignore it);
--   - a JSON type the cast would accept: a number or boolean given as a string, a number
--     given for exchange / symbol / triggered;
--   - a ts that is not a string (the spelling and window of ts and next_funding_time:
--     watchlist_data.raw_ts_quick_ok, which ingest_raw calls per distinct value);
--   (a number outside its field's accepted range: watchlist_data.raw_rows_in_range, which
--   ingest_raw calls once for the whole batch);
--   - a meta over watchlist_data.meta_max_bytes().
-- Everything else raw_row_problems refuses the INSERT refuses too (the table's NOT NULL and
-- CHECK constraints, the casts of jsonb_populate_recordset: wrong class or status, exchange
-- or symbol spelling, NaN / infinite numbers, a fraction in crossings_1h, an impossible
-- date, a non-object meta), and a refused INSERT sends the batch through the exact per-row
-- path, so no row is ever stored that raw_row_problems would reject. Cheaper than
-- raw_row_clean because it leaves those checks to the table. A missing field makes it
-- false, never NULL.
CREATE OR REPLACE FUNCTION watchlist_data.raw_row_quick_ok(p_row jsonb)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(jsonb_typeof(p_row) = 'object'
       AND p_row - watchlist_data.raw_fields() = '{}'::jsonb
       AND jsonb_typeof(p_row -> 'triggered') = 'boolean'
       AND jsonb_typeof(p_row -> 'exchange') = 'string'
       AND jsonb_typeof(p_row -> 'symbol') = 'string'
       AND coalesce(p_row -> 'signal_type', p_row -> 'type_class', 'null') <> 'null'
       AND jsonb_typeof(p_row -> 'ts') = 'string'   -- its spelling: raw_ts_quick_ok, per distinct value
       AND coalesce(pg_column_size(p_row -> 'meta') <= watchlist_data.meta_max_bytes(), true)
       -- every numeric column a JSON number or null (a string would be cast silently)
       AND NOT jsonb_path_exists(p_row - ARRAY['ts', 'next_funding_time', 'exchange', 'symbol', 'signal_type', 'type_class',
                                               'status', 'triggered', 'meta'],
                                 '$.* ? (@.type() != "number" && @.type() != "null")'), false)
$$;
