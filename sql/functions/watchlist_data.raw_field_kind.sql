-- watchlist_data.raw_field_kind(name): how the writer API checks a field of a raw row
-- ('number', 'integer', 'boolean', 'timestamp', 'exchange', 'symbol', 'class', 'status',
-- 'meta'), or NULL for a field watch_signal_raw does not have.
CREATE OR REPLACE FUNCTION watchlist_data.raw_field_kind(p_field text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_field IN ('ts', 'next_funding_time') THEN 'timestamp'
        WHEN p_field = 'exchange' THEN 'exchange'
        WHEN p_field = 'symbol' THEN 'symbol'
        WHEN p_field IN ('signal_type', 'type_class') THEN 'class'
        WHEN p_field = 'status' THEN 'status'
        WHEN p_field = 'triggered' THEN 'boolean'
        WHEN p_field = 'crossings_1h' THEN 'integer'
        WHEN p_field = 'meta' THEN 'meta'
        WHEN p_field IN (
            'spot_price', 'futures_price', 'spread_rel', 'funding_rate', 'funding_interval_hours',
            'range_1h', 'range_12h', 'volatility', 'slope_3m', 'drift_ratio',
            'best_buy_high_sell_low', 'best_sell_high_buy_low', 'volume_quote', 'sweep_impact',
            'book_imbalance', 'bid_ask_spread', 'spread_zscore_1h', 'spread_zscore_12h',
            'spread_momentum_15m', 'funding_zscore_7d', 'funding_trend_3d', 'funding_vol_7d',
            'funding_diff_max', 'funding_term_slope', 'rv_1h', 'rv_12h', 'hv_ratio',
            'premium_index_diff', 'oi_jump_around_funding') THEN 'number'
    END
$$;
