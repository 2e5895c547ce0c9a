-- watchlist_data.raw_row_clean(row, earliest, latest): true only when
-- watchlist_data.raw_row_problems(row, earliest, latest) has nothing to say about the row:
-- the writer API's fast path, one SQL expression per row (inlined into ingest_raw's single
-- pass), so that a batch of good rows never enters the per-field plpgsql checks. earliest
-- and latest bound ts (ingest_raw: now() - raw_retention, now() + the future skew).
-- Conservative by design: a row it does not recognise as clean (an unusual but valid
-- timestamp spelling, a day 29-31 it cannot vouch for without a cast that could fail, a
-- number at the edge of double precision) simply goes through raw_row_problems, which gives
-- the exact verdict and reasons; false never rejects a row by itself. Never raises: every
-- cast it makes is guarded by the pattern it checked first.
CREATE OR REPLACE FUNCTION watchlist_data.raw_row_clean(p_row jsonb, p_earliest timestamptz, p_latest timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_typeof(p_row) = 'object'
       -- no field outside the table's columns
       AND p_row - watchlist_data.raw_fields() = '{}'::jsonb
       -- required fields, keys and classes
       AND coalesce(jsonb_typeof(p_row -> 'triggered') = 'boolean', false)
       AND coalesce((p_row ->> 'exchange') ~ '^[a-z0-9_.-]{1,32}$' AND jsonb_typeof(p_row -> 'exchange') = 'string', false)
       AND coalesce((p_row ->> 'symbol') ~ '^[A-Z0-9_.:/-]{1,40}$' AND jsonb_typeof(p_row -> 'symbol') = 'string', false)
       AND coalesce(p_row -> 'signal_type', p_row -> 'type_class', 'null') <> 'null'
       AND coalesce(p_row -> 'signal_type', 'null') IN ('null', '"A"', '"B"', '"C"')
       AND coalesce(p_row -> 'type_class', 'null') IN ('null', '"A"', '"B"', '"C"')
       AND coalesce(p_row -> 'status', 'null') IN ('null', '"watching"', '"triggered"', '"cooldown"', '"paused"', '"removed"')
       -- timestamps: canonical ISO 8601 with an offset, a day the month has, inside the window
       AND CASE WHEN watchlist_data.iso_ts_ok(p_row -> 'ts')          -- (CASE: the cast only after the check)
                THEN (p_row ->> 'ts')::timestamptz BETWEEN p_earliest AND p_latest ELSE false END
       AND CASE WHEN coalesce(p_row -> 'next_funding_time', 'null') = 'null' THEN true
                WHEN watchlist_data.iso_ts_ok(p_row -> 'next_funding_time') AND watchlist_data.iso_ts_ok(p_row -> 'ts')
                THEN (p_row ->> 'next_funding_time')::timestamptz
                         BETWEEN (p_row ->> 'ts')::timestamptz - watchlist_data.raw_input_bound('nft_before')
                             AND (p_row ->> 'ts')::timestamptz + watchlist_data.raw_input_bound('nft_after')
                ELSE false END
       AND coalesce(jsonb_typeof(p_row -> 'meta'), 'null') IN ('null', 'object')
       AND coalesce(pg_column_size(p_row -> 'meta') <= watchlist_data.meta_max_bytes(), true)
       -- numbers: JSON numbers (or null), inside their accepted ranges and not too close to 0
       -- (raw_range_jsonpath), crossings_1h whole
       AND NOT jsonb_path_exists(p_row - ARRAY['ts', 'next_funding_time', 'exchange', 'symbol', 'signal_type', 'type_class',
                                               'status', 'triggered', 'meta'],
               '$.* ? (@.type() != "number" && @.type() != "null")')
       AND NOT jsonb_path_exists(p_row, watchlist_data.raw_range_jsonpath())
       AND NOT jsonb_path_exists(p_row, '$ ? (@.crossings_1h.floor() != @.crossings_1h)')
$$;
