-- watchlist_data.raw_fields(): the fields a raw row may carry (the columns of
-- watch_signal_raw the writer API fills; ingested_at is the server's). One list for the
-- checks that refuse unknown fields (watchlist_data.raw_row_clean, raw_row_quick_ok):
-- `p_row - watchlist_data.raw_fields() = '{}'`. IMMUTABLE: folded to a constant where used.
CREATE OR REPLACE FUNCTION watchlist_data.raw_fields()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY['ts', 'next_funding_time', 'exchange', 'symbol', 'signal_type', 'type_class', 'status',
                 'triggered', 'crossings_1h', 'meta', 'spot_price', 'futures_price', 'spread_rel', 'funding_rate',
                 'funding_interval_hours', 'range_1h', 'range_12h', 'volatility', 'slope_3m', 'drift_ratio',
                 'best_buy_high_sell_low', 'best_sell_high_buy_low', 'volume_quote', 'sweep_impact',
                 'book_imbalance', 'bid_ask_spread', 'spread_zscore_1h', 'spread_zscore_12h',
                 'spread_momentum_15m', 'funding_zscore_7d', 'funding_trend_3d', 'funding_vol_7d',
                 'funding_diff_max', 'funding_term_slope', 'rv_1h', 'rv_12h', 'hv_ratio',
                 'premium_index_diff', 'oi_jump_around_funding']
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_fields() FROM PUBLIC;
