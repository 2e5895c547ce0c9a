-- watchlist_data.raw_row_clean(row, now): true only when watchlist_data.raw_row_problems(row,
-- now) has nothing to say about the row: the writer API's fast path, one SQL expression per
-- row (inlined into ingest_raw's single pass), so that a batch of good rows never enters the
-- per-field plpgsql checks. Conservative by design: a row it does not recognise as clean
-- (an unusual but valid timestamp spelling, a day 29-31 it cannot vouch for without a cast
-- that could fail, a number at the edge of double precision) simply goes through
-- raw_row_problems, which gives the exact verdict and reasons; false never rejects a row
-- by itself. Never raises: every cast it makes is guarded by the pattern it checked first.
CREATE OR REPLACE FUNCTION watchlist_data.raw_row_clean(p_row jsonb, p_now timestamptz)
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
       -- timestamps: canonical ISO 8601 with an offset, a day the month has, not in the future
       AND CASE WHEN watchlist_data.iso_ts_ok(p_row -> 'ts')          -- (CASE: the cast only after the check)
                THEN (p_row ->> 'ts')::timestamptz <= p_now + INTERVAL '5 minutes' ELSE false END
       AND (coalesce(p_row -> 'next_funding_time', 'null') = 'null' OR coalesce(watchlist_data.iso_ts_ok(p_row -> 'next_funding_time'), false))
       AND coalesce(jsonb_typeof(p_row -> 'meta'), 'null') IN ('null', 'object')
       AND coalesce(pg_column_size(p_row -> 'meta') <= watchlist_data.meta_max_bytes(), true)
       -- numbers: JSON numbers a double holds (no overflow or underflow), constraints met
       AND NOT jsonb_path_exists(p_row - ARRAY['ts', 'next_funding_time', 'exchange', 'symbol', 'signal_type', 'type_class',
                                               'status', 'triggered', 'meta'],
               '$.* ? ((@.type() != "number" && @.type() != "null")
                       || (@.type() == "number" && (@ > 1e300 || @ < -1e300 || (@ != 0 && @ < 1e-300 && @ > -1e-300))))')
       AND NOT jsonb_path_exists(p_row,
               '$ ? (@.spot_price <= 0 || @.futures_price <= 0 || @.funding_interval_hours <= 0
                     || @.funding_interval_hours > 168 || @.range_1h < 0 || @.range_12h < 0 || @.volatility < 0
                     || @.volume_quote < 0 || @.sweep_impact < 0 || @.bid_ask_spread < 0 || @.funding_vol_7d < 0
                     || @.rv_1h < 0 || @.rv_12h < 0 || @.hv_ratio < 0 || @.crossings_1h < 0
                     || @.crossings_1h > 2147483647 || @.crossings_1h.floor() != @.crossings_1h)')
$$;
