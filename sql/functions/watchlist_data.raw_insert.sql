-- watchlist_data.raw_insert(rows, now): insert a JSON array of raw rows that passed the
-- writer API's checks into watch_signal_raw in one statement (jsonb_populate_recordset:
-- no row objects re-built), signal_type defaulting to type_class, a missing or null meta
-- stored as {}, ingested_at = now; rows already stored are skipped (ON CONFLICT DO
-- NOTHING). Returns the number inserted. A row the table refuses raises, as the
-- statement would: watchlist.ingest_raw, its one caller (fast path and exact path),
-- catches that and falls back to one row at a time.
CREATE OR REPLACE FUNCTION watchlist_data.raw_insert(p_rows jsonb, p_now timestamptz)
RETURNS bigint
LANGUAGE sql VOLATILE
AS $$
    WITH ins AS (
        INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, type_class, triggered, status,
               spot_price, futures_price, spread_rel, funding_rate, funding_interval_hours, next_funding_time,
               range_1h, range_12h, volatility, slope_3m, crossings_1h, drift_ratio,
               best_buy_high_sell_low, best_sell_high_buy_low, volume_quote, sweep_impact, book_imbalance,
               bid_ask_spread, spread_zscore_1h, spread_zscore_12h, spread_momentum_15m, funding_zscore_7d,
               funding_trend_3d, funding_vol_7d, funding_diff_max, funding_term_slope, rv_1h, rv_12h,
               hv_ratio, premium_index_diff, oi_jump_around_funding, meta, ingested_at)
        SELECT x.ts, x.exchange, x.symbol, coalesce(x.signal_type, x.type_class), x.type_class, x.triggered, x.status,
               x.spot_price, x.futures_price, x.spread_rel, x.funding_rate, x.funding_interval_hours, x.next_funding_time,
               x.range_1h, x.range_12h, x.volatility, x.slope_3m, x.crossings_1h, x.drift_ratio,
               x.best_buy_high_sell_low, x.best_sell_high_buy_low, x.volume_quote, x.sweep_impact, x.book_imbalance,
               x.bid_ask_spread, x.spread_zscore_1h, x.spread_zscore_12h, x.spread_momentum_15m, x.funding_zscore_7d,
               x.funding_trend_3d, x.funding_vol_7d, x.funding_diff_max, x.funding_term_slope, x.rv_1h, x.rv_12h,
               x.hv_ratio, x.premium_index_diff, x.oi_jump_around_funding,
               coalesce(nullif(x.meta, 'null'::jsonb), '{}'::jsonb), p_now
          FROM jsonb_populate_recordset(NULL::watchlist_data.watch_signal_raw, p_rows) AS x
        ON CONFLICT (exchange, symbol, ts) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM ins
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_insert(jsonb, timestamptz) FROM PUBLIC;
