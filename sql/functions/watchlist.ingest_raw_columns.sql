-- watchlist.ingest_raw_columns(batch_id, ts, exchange, ...): the writer API's typed columnar
-- form of watchlist.ingest_raw, for a client that holds its rows as typed values: one array per
-- column of watch_signal_raw (ts and next_funding_time as ISO 8601 text, as in the JSON form;
-- meta as jsonb[]; a column the batch does not carry is left out (NULL)), element i of every
-- array being row i. Sent as binary parameters this spares the server the parsing of every
-- row's JSON object (only meta is JSON) and jsonb_populate_recordset (the saving per row is
-- in docs/benchmarks.md, measured by bench/ingest.py).
-- The same checks and rejection semantics as ingest_raw, by construction: the typed fast path
-- checks in SQL only what the table would let through silently (the spelling and window of
-- ts and next_funding_time: watchlist_data.raw_ts_quick_ok, once per distinct value; a number
-- outside its accepted range: watchlist_data.raw_values_in_range, once per column; meta over
-- watchlist_data.meta_max_bytes(); a key repeated in the batch); the columns'
-- types leave no unknown field and no JSON type to check, and the table's constraints do the
-- rest. If any of that fails, the INSERT is rolled back (a subtransaction) and the same rows,
-- rebuilt as the JSON array ingest_raw takes (a NULL element: the field absent), go through
-- watchlist.ingest_raw, whose exact path names row (the array index), field and reason,
-- quarantines, and inserts the good rows. Replays insert nothing (ON CONFLICT DO NOTHING).
-- Returns what ingest_raw returns; the batch has as many rows as its longest array (a shorter
-- array leaves its field absent in the last rows).
-- Steps (numbered as in the body):
--   1. size   received = the longest array's length (no array: 0).
--   2. fast   in a subtransaction: the checks above, then one INSERT of every row; returns
--             (received, inserted, received - inserted duplicates, 0, '[]') when all pass.
--             Any failure or a key repeated in the batch undoes it all: nothing is written.
--   3. exact  only after 2 was undone: the rows as ingest_raw's JSON array, and ingest_raw's
--             result as it is (rows named by their array index).
CREATE OR REPLACE FUNCTION watchlist.ingest_raw_columns(
    p_batch_id text,
    ts text[] DEFAULT NULL,
    exchange text[] DEFAULT NULL,
    symbol text[] DEFAULT NULL,
    triggered boolean[] DEFAULT NULL,
    signal_type text[] DEFAULT NULL,
    type_class text[] DEFAULT NULL,
    status text[] DEFAULT NULL,
    next_funding_time text[] DEFAULT NULL,
    crossings_1h integer[] DEFAULT NULL,
    meta jsonb[] DEFAULT NULL,
    spot_price double precision[] DEFAULT NULL,
    futures_price double precision[] DEFAULT NULL,
    spread_rel double precision[] DEFAULT NULL,
    funding_rate double precision[] DEFAULT NULL,
    funding_interval_hours double precision[] DEFAULT NULL,
    range_1h double precision[] DEFAULT NULL,
    range_12h double precision[] DEFAULT NULL,
    volatility double precision[] DEFAULT NULL,
    slope_3m double precision[] DEFAULT NULL,
    drift_ratio double precision[] DEFAULT NULL,
    best_buy_high_sell_low double precision[] DEFAULT NULL,
    best_sell_high_buy_low double precision[] DEFAULT NULL,
    volume_quote double precision[] DEFAULT NULL,
    sweep_impact double precision[] DEFAULT NULL,
    book_imbalance double precision[] DEFAULT NULL,
    bid_ask_spread double precision[] DEFAULT NULL,
    spread_zscore_1h double precision[] DEFAULT NULL,
    spread_zscore_12h double precision[] DEFAULT NULL,
    spread_momentum_15m double precision[] DEFAULT NULL,
    funding_zscore_7d double precision[] DEFAULT NULL,
    funding_trend_3d double precision[] DEFAULT NULL,
    funding_vol_7d double precision[] DEFAULT NULL,
    funding_diff_max double precision[] DEFAULT NULL,
    funding_term_slope double precision[] DEFAULT NULL,
    rv_1h double precision[] DEFAULT NULL,
    rv_12h double precision[] DEFAULT NULL,
    hv_ratio double precision[] DEFAULT NULL,
    premium_index_diff double precision[] DEFAULT NULL,
    oi_jump_around_funding double precision[] DEFAULT NULL)
RETURNS TABLE (received integer, inserted integer, duplicates integer, rejected integer, rejects jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz := now();
    -- the window of ts, as ingest_raw's (docs/writer-input.md)
    v_earliest timestamptz := now() - watchlist_data.setting('raw_retention')::interval;
    v_latest   timestamptz := now() + watchlist_data.raw_input_bound('future_skew');
    v_n   integer;
BEGIN
    -- 1. The batch's rows: as many as the longest array (unnest pads the shorter ones with NULL).
    v_n := coalesce(greatest(cardinality(ingest_raw_columns.ts),
                             cardinality(ingest_raw_columns.exchange), cardinality(ingest_raw_columns.symbol),
                             cardinality(ingest_raw_columns.triggered), cardinality(ingest_raw_columns.signal_type),
                             cardinality(ingest_raw_columns.type_class), cardinality(ingest_raw_columns.status),
                             cardinality(ingest_raw_columns.next_funding_time),
                             cardinality(ingest_raw_columns.crossings_1h), cardinality(ingest_raw_columns.meta),
                             cardinality(ingest_raw_columns.spot_price), cardinality(ingest_raw_columns.futures_price),
                             cardinality(ingest_raw_columns.spread_rel), cardinality(ingest_raw_columns.funding_rate),
                             cardinality(ingest_raw_columns.funding_interval_hours),
                             cardinality(ingest_raw_columns.range_1h), cardinality(ingest_raw_columns.range_12h),
                             cardinality(ingest_raw_columns.volatility), cardinality(ingest_raw_columns.slope_3m),
                             cardinality(ingest_raw_columns.drift_ratio),
                             cardinality(ingest_raw_columns.best_buy_high_sell_low),
                             cardinality(ingest_raw_columns.best_sell_high_buy_low),
                             cardinality(ingest_raw_columns.volume_quote), cardinality(ingest_raw_columns.sweep_impact),
                             cardinality(ingest_raw_columns.book_imbalance), cardinality(ingest_raw_columns.bid_ask_spread),
                             cardinality(ingest_raw_columns.spread_zscore_1h),
                             cardinality(ingest_raw_columns.spread_zscore_12h),
                             cardinality(ingest_raw_columns.spread_momentum_15m),
                             cardinality(ingest_raw_columns.funding_zscore_7d),
                             cardinality(ingest_raw_columns.funding_trend_3d),
                             cardinality(ingest_raw_columns.funding_vol_7d),
                             cardinality(ingest_raw_columns.funding_diff_max),
                             cardinality(ingest_raw_columns.funding_term_slope), cardinality(ingest_raw_columns.rv_1h),
                             cardinality(ingest_raw_columns.rv_12h), cardinality(ingest_raw_columns.hv_ratio),
                             cardinality(ingest_raw_columns.premium_index_diff),
                             cardinality(ingest_raw_columns.oi_jump_around_funding)), 0);
    received := v_n;

    -- 2. Fast path: the checks the table cannot make, then one INSERT from unnest; any error or
    --    a key repeated inside the batch rolls it back to the exact path below.
    BEGIN
        IF NOT EXISTS (SELECT 1
                         FROM (SELECT DISTINCT u.ts, u.nft FROM unnest(ingest_raw_columns.ts, ingest_raw_columns.next_funding_time) AS u(ts, nft)) AS d
                        WHERE NOT (watchlist_data.raw_ts_quick_ok(d.ts, v_earliest, v_latest)
                                   AND (d.nft IS NULL
                                        OR watchlist_data.raw_ts_quick_ok(d.nft, d.ts::timestamptz - watchlist_data.raw_input_bound('nft_before'),
                                                                          d.ts::timestamptz + watchlist_data.raw_input_bound('nft_after')))))
           -- every number inside its field's accepted range (watchlist_data.raw_field_range())
           AND watchlist_data.raw_values_in_range('crossings_1h', ingest_raw_columns.crossings_1h::double precision[])
           AND watchlist_data.raw_values_in_range('spot_price', ingest_raw_columns.spot_price)
           AND watchlist_data.raw_values_in_range('futures_price', ingest_raw_columns.futures_price)
           AND watchlist_data.raw_values_in_range('spread_rel', ingest_raw_columns.spread_rel)
           AND watchlist_data.raw_values_in_range('funding_rate', ingest_raw_columns.funding_rate)
           AND watchlist_data.raw_values_in_range('funding_interval_hours', ingest_raw_columns.funding_interval_hours)
           AND watchlist_data.raw_values_in_range('range_1h', ingest_raw_columns.range_1h)
           AND watchlist_data.raw_values_in_range('range_12h', ingest_raw_columns.range_12h)
           AND watchlist_data.raw_values_in_range('volatility', ingest_raw_columns.volatility)
           AND watchlist_data.raw_values_in_range('slope_3m', ingest_raw_columns.slope_3m)
           AND watchlist_data.raw_values_in_range('drift_ratio', ingest_raw_columns.drift_ratio)
           AND watchlist_data.raw_values_in_range('best_buy_high_sell_low', ingest_raw_columns.best_buy_high_sell_low)
           AND watchlist_data.raw_values_in_range('best_sell_high_buy_low', ingest_raw_columns.best_sell_high_buy_low)
           AND watchlist_data.raw_values_in_range('volume_quote', ingest_raw_columns.volume_quote)
           AND watchlist_data.raw_values_in_range('sweep_impact', ingest_raw_columns.sweep_impact)
           AND watchlist_data.raw_values_in_range('book_imbalance', ingest_raw_columns.book_imbalance)
           AND watchlist_data.raw_values_in_range('bid_ask_spread', ingest_raw_columns.bid_ask_spread)
           AND watchlist_data.raw_values_in_range('spread_zscore_1h', ingest_raw_columns.spread_zscore_1h)
           AND watchlist_data.raw_values_in_range('spread_zscore_12h', ingest_raw_columns.spread_zscore_12h)
           AND watchlist_data.raw_values_in_range('spread_momentum_15m', ingest_raw_columns.spread_momentum_15m)
           AND watchlist_data.raw_values_in_range('funding_zscore_7d', ingest_raw_columns.funding_zscore_7d)
           AND watchlist_data.raw_values_in_range('funding_trend_3d', ingest_raw_columns.funding_trend_3d)
           AND watchlist_data.raw_values_in_range('funding_vol_7d', ingest_raw_columns.funding_vol_7d)
           AND watchlist_data.raw_values_in_range('funding_diff_max', ingest_raw_columns.funding_diff_max)
           AND watchlist_data.raw_values_in_range('funding_term_slope', ingest_raw_columns.funding_term_slope)
           AND watchlist_data.raw_values_in_range('rv_1h', ingest_raw_columns.rv_1h)
           AND watchlist_data.raw_values_in_range('rv_12h', ingest_raw_columns.rv_12h)
           AND watchlist_data.raw_values_in_range('hv_ratio', ingest_raw_columns.hv_ratio)
           AND watchlist_data.raw_values_in_range('premium_index_diff', ingest_raw_columns.premium_index_diff)
           AND watchlist_data.raw_values_in_range('oi_jump_around_funding', ingest_raw_columns.oi_jump_around_funding)
           AND NOT EXISTS (SELECT 1 FROM unnest(ingest_raw_columns.meta) AS m(val)
                            WHERE pg_column_size(m.val) > watchlist_data.meta_max_bytes()) THEN
            INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, type_class, triggered, status, spot_price, futures_price,
                spread_rel, funding_rate, funding_interval_hours, next_funding_time, range_1h, range_12h,
                volatility, slope_3m, drift_ratio, best_buy_high_sell_low, best_sell_high_buy_low, volume_quote,
                sweep_impact, book_imbalance, bid_ask_spread, spread_zscore_1h, spread_zscore_12h,
                spread_momentum_15m, funding_zscore_7d, funding_trend_3d, funding_vol_7d, funding_diff_max,
                funding_term_slope, rv_1h, rv_12h, hv_ratio, premium_index_diff, oi_jump_around_funding,
                crossings_1h, meta, ingested_at)
            SELECT u.ts::timestamptz, u.exchange, u.symbol, coalesce(u.signal_type, u.type_class), u.type_class,
                   u.triggered, u.status, u.spot_price, u.futures_price, u.spread_rel, u.funding_rate,
                   u.funding_interval_hours, u.next_funding_time::timestamptz, u.range_1h, u.range_12h, u.volatility,
                   u.slope_3m, u.drift_ratio, u.best_buy_high_sell_low, u.best_sell_high_buy_low, u.volume_quote,
                   u.sweep_impact, u.book_imbalance, u.bid_ask_spread, u.spread_zscore_1h, u.spread_zscore_12h,
                   u.spread_momentum_15m, u.funding_zscore_7d, u.funding_trend_3d, u.funding_vol_7d,
                   u.funding_diff_max, u.funding_term_slope, u.rv_1h, u.rv_12h, u.hv_ratio, u.premium_index_diff,
                   u.oi_jump_around_funding, u.crossings_1h, coalesce(nullif(u.meta, 'null'::jsonb), '{}'::jsonb),
                   v_now
              FROM unnest(ingest_raw_columns.ts, ingest_raw_columns.exchange, ingest_raw_columns.symbol,
                          ingest_raw_columns.triggered, ingest_raw_columns.signal_type, ingest_raw_columns.type_class,
                          ingest_raw_columns.status, ingest_raw_columns.next_funding_time, ingest_raw_columns.crossings_1h,
                          ingest_raw_columns.meta, ingest_raw_columns.spot_price, ingest_raw_columns.futures_price,
                          ingest_raw_columns.spread_rel, ingest_raw_columns.funding_rate,
                          ingest_raw_columns.funding_interval_hours, ingest_raw_columns.range_1h,
                          ingest_raw_columns.range_12h, ingest_raw_columns.volatility, ingest_raw_columns.slope_3m,
                          ingest_raw_columns.drift_ratio, ingest_raw_columns.best_buy_high_sell_low,
                          ingest_raw_columns.best_sell_high_buy_low, ingest_raw_columns.volume_quote,
                          ingest_raw_columns.sweep_impact, ingest_raw_columns.book_imbalance,
                          ingest_raw_columns.bid_ask_spread, ingest_raw_columns.spread_zscore_1h,
                          ingest_raw_columns.spread_zscore_12h, ingest_raw_columns.spread_momentum_15m,
                          ingest_raw_columns.funding_zscore_7d, ingest_raw_columns.funding_trend_3d,
                          ingest_raw_columns.funding_vol_7d, ingest_raw_columns.funding_diff_max,
                          ingest_raw_columns.funding_term_slope, ingest_raw_columns.rv_1h, ingest_raw_columns.rv_12h,
                          ingest_raw_columns.hv_ratio, ingest_raw_columns.premium_index_diff,
                          ingest_raw_columns.oi_jump_around_funding)
                   AS u(ts, exchange, symbol, triggered, signal_type, type_class, status, next_funding_time, crossings_1h,
                        meta, spot_price, futures_price, spread_rel, funding_rate, funding_interval_hours, range_1h,
                        range_12h, volatility, slope_3m, drift_ratio, best_buy_high_sell_low, best_sell_high_buy_low,
                        volume_quote, sweep_impact, book_imbalance, bid_ask_spread, spread_zscore_1h, spread_zscore_12h,
                        spread_momentum_15m, funding_zscore_7d, funding_trend_3d, funding_vol_7d, funding_diff_max,
                        funding_term_slope, rv_1h, rv_12h, hv_ratio, premium_index_diff, oi_jump_around_funding)
            ON CONFLICT ON CONSTRAINT watch_signal_raw_pkey DO NOTHING;
            GET DIAGNOSTICS inserted = ROW_COUNT;
            IF inserted < v_n AND EXISTS (
                   SELECT 1 FROM unnest(ingest_raw_columns.exchange, ingest_raw_columns.symbol, ingest_raw_columns.ts) AS k(e, s, t)
                    GROUP BY k.e, k.s, k.t::timestamptz HAVING count(*) > 1) THEN
                RAISE EXCEPTION 'key repeated inside the batch' USING ERRCODE = 'unique_violation';
            END IF;
            duplicates := v_n - inserted;
            rejected := 0;
            rejects := '[]'::jsonb;
            RETURN NEXT;
            RETURN;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        IF NOT watchlist_data.is_row_fault(SQLSTATE) THEN
            RAISE;  -- the server's state (a full disk, a cancel): the caller keeps the batch
        END IF;
        -- rolled back: the exact path below
    END;

    -- 3. Exact path: the same rows as ingest_raw's JSON objects (absent fields left out, meta as
    --    given), in the same order, so its per-row checks, quarantine and counts apply as they are.
    RETURN QUERY
    SELECT * FROM watchlist.ingest_raw(
        (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('ts', u.ts, 'exchange', u.exchange, 'symbol', u.symbol, 'triggered', u.triggered,
                                                                   'signal_type', u.signal_type, 'type_class', u.type_class, 'status', u.status,
                                                                   'next_funding_time', u.next_funding_time, 'crossings_1h', u.crossings_1h, 'spot_price',
                                                                   u.spot_price, 'futures_price', u.futures_price, 'spread_rel', u.spread_rel,
                                                                   'funding_rate', u.funding_rate, 'funding_interval_hours', u.funding_interval_hours,
                                                                   'range_1h', u.range_1h, 'range_12h', u.range_12h, 'volatility', u.volatility, 'slope_3m',
                                                                   u.slope_3m, 'drift_ratio', u.drift_ratio, 'best_buy_high_sell_low',
                                                                   u.best_buy_high_sell_low, 'best_sell_high_buy_low', u.best_sell_high_buy_low,
                                                                   'volume_quote', u.volume_quote, 'sweep_impact', u.sweep_impact, 'book_imbalance',
                                                                   u.book_imbalance, 'bid_ask_spread', u.bid_ask_spread, 'spread_zscore_1h',
                                                                   u.spread_zscore_1h, 'spread_zscore_12h', u.spread_zscore_12h, 'spread_momentum_15m',
                                                                   u.spread_momentum_15m, 'funding_zscore_7d', u.funding_zscore_7d, 'funding_trend_3d',
                                                                   u.funding_trend_3d, 'funding_vol_7d', u.funding_vol_7d, 'funding_diff_max',
                                                                   u.funding_diff_max, 'funding_term_slope', u.funding_term_slope, 'rv_1h', u.rv_1h,
                                                                   'rv_12h', u.rv_12h, 'hv_ratio', u.hv_ratio, 'premium_index_diff', u.premium_index_diff,
                                                                   'oi_jump_around_funding', u.oi_jump_around_funding))
                                   || CASE WHEN u.meta IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('meta', u.meta) END
                                   ORDER BY u.ord), '[]'::jsonb)
           FROM unnest(ingest_raw_columns.ts, ingest_raw_columns.exchange, ingest_raw_columns.symbol,
                       ingest_raw_columns.triggered, ingest_raw_columns.signal_type, ingest_raw_columns.type_class,
                       ingest_raw_columns.status, ingest_raw_columns.next_funding_time, ingest_raw_columns.crossings_1h,
                       ingest_raw_columns.meta, ingest_raw_columns.spot_price, ingest_raw_columns.futures_price,
                       ingest_raw_columns.spread_rel, ingest_raw_columns.funding_rate,
                       ingest_raw_columns.funding_interval_hours, ingest_raw_columns.range_1h,
                       ingest_raw_columns.range_12h, ingest_raw_columns.volatility, ingest_raw_columns.slope_3m,
                       ingest_raw_columns.drift_ratio, ingest_raw_columns.best_buy_high_sell_low,
                       ingest_raw_columns.best_sell_high_buy_low, ingest_raw_columns.volume_quote,
                       ingest_raw_columns.sweep_impact, ingest_raw_columns.book_imbalance,
                       ingest_raw_columns.bid_ask_spread, ingest_raw_columns.spread_zscore_1h,
                       ingest_raw_columns.spread_zscore_12h, ingest_raw_columns.spread_momentum_15m,
                       ingest_raw_columns.funding_zscore_7d, ingest_raw_columns.funding_trend_3d,
                       ingest_raw_columns.funding_vol_7d, ingest_raw_columns.funding_diff_max,
                       ingest_raw_columns.funding_term_slope, ingest_raw_columns.rv_1h, ingest_raw_columns.rv_12h,
                       ingest_raw_columns.hv_ratio, ingest_raw_columns.premium_index_diff,
                       ingest_raw_columns.oi_jump_around_funding)
                WITH ORDINALITY AS u(ts, exchange, symbol, triggered, signal_type, type_class, status, next_funding_time, crossings_1h,
                                      meta, spot_price, futures_price, spread_rel, funding_rate, funding_interval_hours, range_1h,
                                      range_12h, volatility, slope_3m, drift_ratio, best_buy_high_sell_low, best_sell_high_buy_low,
                                      volume_quote, sweep_impact, book_imbalance, bid_ask_spread, spread_zscore_1h, spread_zscore_12h,
                                      spread_momentum_15m, funding_zscore_7d, funding_trend_3d, funding_vol_7d, funding_diff_max,
                                      funding_term_slope, rv_1h, rv_12h, hv_ratio, premium_index_diff, oi_jump_around_funding, ord)),
        p_batch_id);
END
$$;
REVOKE ALL ON FUNCTION watchlist.ingest_raw_columns(text, text[], text[], text[], boolean[], text[], text[], text[], text[], integer[], jsonb[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.ingest_raw_columns(text, text[], text[], text[], boolean[], text[], text[], text[], text[], integer[], jsonb[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], double precision[]) TO wl_writer;
