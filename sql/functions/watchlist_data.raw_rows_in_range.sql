-- watchlist_data.raw_rows_in_range(rows): every number of a batch of raw rows (a JSON array
-- of objects, as watchlist.ingest_raw takes it) lies inside its field's accepted range
-- (watchlist_data.raw_field_range()) and none is closer to 0 than its min_abs; NaN never does. The range half of ingest_raw's
-- whole-batch fast path: one pass of jsonb_populate_recordset and a min and a max per column,
-- then 2 comparisons per column for the whole batch, instead of a jsonpath test per row
-- (raw_range_jsonpath, the exact path's). A false, or an error (a number beyond double precision, a string where a
-- number goes: the fast path's exception block catches it), sends the batch to the exact
-- path, which names the row and field.
CREATE OR REPLACE FUNCTION watchlist_data.raw_rows_in_range(p_rows jsonb)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(bool_and(
               (r.lo IS NULL OR v.lo IS NULL OR CASE WHEN r.lo_open THEN v.lo > r.lo ELSE v.lo >= r.lo END)
               AND (r.hi IS NULL OR v.hi IS NULL OR CASE WHEN r.hi_open THEN v.hi < r.hi ELSE v.hi <= r.hi END)
               AND (v.small IS NULL OR v.small >= r.min_abs)
               AND v.hi IS DISTINCT FROM 'NaN'::float8), true)
      FROM (SELECT min(x.spot_price) AS spot_price_lo, max(x.spot_price) AS spot_price_hi,
                   min(x.futures_price) AS futures_price_lo, max(x.futures_price) AS futures_price_hi,
                   min(x.spread_rel) AS spread_rel_lo, max(x.spread_rel) AS spread_rel_hi,
                   min(x.funding_rate) AS funding_rate_lo, max(x.funding_rate) AS funding_rate_hi,
                   min(x.funding_interval_hours) AS fih_lo, max(x.funding_interval_hours) AS fih_hi,
                   min(x.range_1h) AS range_1h_lo, max(x.range_1h) AS range_1h_hi,
                   min(x.range_12h) AS range_12h_lo, max(x.range_12h) AS range_12h_hi,
                   min(x.volatility) AS volatility_lo, max(x.volatility) AS volatility_hi,
                   min(x.slope_3m) AS slope_3m_lo, max(x.slope_3m) AS slope_3m_hi,
                   min(x.drift_ratio) AS drift_ratio_lo, max(x.drift_ratio) AS drift_ratio_hi,
                   min(x.best_buy_high_sell_low) AS bbhsl_lo, max(x.best_buy_high_sell_low) AS bbhsl_hi,
                   min(x.best_sell_high_buy_low) AS bshbl_lo, max(x.best_sell_high_buy_low) AS bshbl_hi,
                   min(x.volume_quote) AS volume_quote_lo, max(x.volume_quote) AS volume_quote_hi,
                   min(x.sweep_impact) AS sweep_impact_lo, max(x.sweep_impact) AS sweep_impact_hi,
                   min(x.book_imbalance) AS book_imbalance_lo, max(x.book_imbalance) AS book_imbalance_hi,
                   min(x.bid_ask_spread) AS bid_ask_spread_lo, max(x.bid_ask_spread) AS bid_ask_spread_hi,
                   min(x.spread_zscore_1h) AS sz1_lo, max(x.spread_zscore_1h) AS sz1_hi,
                   min(x.spread_zscore_12h) AS sz12_lo, max(x.spread_zscore_12h) AS sz12_hi,
                   min(x.spread_momentum_15m) AS sm15_lo, max(x.spread_momentum_15m) AS sm15_hi,
                   min(x.funding_zscore_7d) AS fz7_lo, max(x.funding_zscore_7d) AS fz7_hi,
                   min(x.funding_trend_3d) AS ft3_lo, max(x.funding_trend_3d) AS ft3_hi,
                   min(x.funding_vol_7d) AS fv7_lo, max(x.funding_vol_7d) AS fv7_hi,
                   min(x.funding_diff_max) AS fdm_lo, max(x.funding_diff_max) AS fdm_hi,
                   min(x.funding_term_slope) AS fts_lo, max(x.funding_term_slope) AS fts_hi,
                   min(x.rv_1h) AS rv_1h_lo, max(x.rv_1h) AS rv_1h_hi,
                   min(x.rv_12h) AS rv_12h_lo, max(x.rv_12h) AS rv_12h_hi,
                   min(x.hv_ratio) AS hv_ratio_lo, max(x.hv_ratio) AS hv_ratio_hi,
                   min(x.premium_index_diff) AS pid_lo, max(x.premium_index_diff) AS pid_hi,
                   min(x.oi_jump_around_funding) AS oi_lo, max(x.oi_jump_around_funding) AS oi_hi,
                   min(x.crossings_1h)::float8 AS crossings_1h_lo, max(x.crossings_1h)::float8 AS crossings_1h_hi,
                   min(abs(x.spot_price::float8)) FILTER (WHERE x.spot_price <> 0) AS spot_price_small,
                   min(abs(x.futures_price::float8)) FILTER (WHERE x.futures_price <> 0) AS futures_price_small,
                   min(abs(x.spread_rel::float8)) FILTER (WHERE x.spread_rel <> 0) AS spread_rel_small,
                   min(abs(x.funding_rate::float8)) FILTER (WHERE x.funding_rate <> 0) AS funding_rate_small,
                   min(abs(x.funding_interval_hours::float8)) FILTER (WHERE x.funding_interval_hours <> 0) AS fih_small,
                   min(abs(x.range_1h::float8)) FILTER (WHERE x.range_1h <> 0) AS range_1h_small,
                   min(abs(x.range_12h::float8)) FILTER (WHERE x.range_12h <> 0) AS range_12h_small,
                   min(abs(x.volatility::float8)) FILTER (WHERE x.volatility <> 0) AS volatility_small,
                   min(abs(x.slope_3m::float8)) FILTER (WHERE x.slope_3m <> 0) AS slope_3m_small,
                   min(abs(x.drift_ratio::float8)) FILTER (WHERE x.drift_ratio <> 0) AS drift_ratio_small,
                   min(abs(x.best_buy_high_sell_low::float8)) FILTER (WHERE x.best_buy_high_sell_low <> 0) AS bbhsl_small,
                   min(abs(x.best_sell_high_buy_low::float8)) FILTER (WHERE x.best_sell_high_buy_low <> 0) AS bshbl_small,
                   min(abs(x.volume_quote::float8)) FILTER (WHERE x.volume_quote <> 0) AS volume_quote_small,
                   min(abs(x.sweep_impact::float8)) FILTER (WHERE x.sweep_impact <> 0) AS sweep_impact_small,
                   min(abs(x.book_imbalance::float8)) FILTER (WHERE x.book_imbalance <> 0) AS book_imbalance_small,
                   min(abs(x.bid_ask_spread::float8)) FILTER (WHERE x.bid_ask_spread <> 0) AS bid_ask_spread_small,
                   min(abs(x.spread_zscore_1h::float8)) FILTER (WHERE x.spread_zscore_1h <> 0) AS sz1_small,
                   min(abs(x.spread_zscore_12h::float8)) FILTER (WHERE x.spread_zscore_12h <> 0) AS sz12_small,
                   min(abs(x.spread_momentum_15m::float8)) FILTER (WHERE x.spread_momentum_15m <> 0) AS sm15_small,
                   min(abs(x.funding_zscore_7d::float8)) FILTER (WHERE x.funding_zscore_7d <> 0) AS fz7_small,
                   min(abs(x.funding_trend_3d::float8)) FILTER (WHERE x.funding_trend_3d <> 0) AS ft3_small,
                   min(abs(x.funding_vol_7d::float8)) FILTER (WHERE x.funding_vol_7d <> 0) AS fv7_small,
                   min(abs(x.funding_diff_max::float8)) FILTER (WHERE x.funding_diff_max <> 0) AS fdm_small,
                   min(abs(x.funding_term_slope::float8)) FILTER (WHERE x.funding_term_slope <> 0) AS fts_small,
                   min(abs(x.rv_1h::float8)) FILTER (WHERE x.rv_1h <> 0) AS rv_1h_small,
                   min(abs(x.rv_12h::float8)) FILTER (WHERE x.rv_12h <> 0) AS rv_12h_small,
                   min(abs(x.hv_ratio::float8)) FILTER (WHERE x.hv_ratio <> 0) AS hv_ratio_small,
                   min(abs(x.premium_index_diff::float8)) FILTER (WHERE x.premium_index_diff <> 0) AS pid_small,
                   min(abs(x.oi_jump_around_funding::float8)) FILTER (WHERE x.oi_jump_around_funding <> 0) AS oi_small,
                   min(abs(x.crossings_1h::float8)) FILTER (WHERE x.crossings_1h <> 0) AS crossings_1h_small
              FROM jsonb_populate_recordset(NULL::watchlist_data.watch_signal_raw, p_rows) AS x) AS m
     CROSS JOIN LATERAL (VALUES
            ('spot_price', m.spot_price_lo, m.spot_price_hi, m.spot_price_small), ('futures_price', m.futures_price_lo, m.futures_price_hi, m.futures_price_small),
            ('spread_rel', m.spread_rel_lo, m.spread_rel_hi, m.spread_rel_small), ('funding_rate', m.funding_rate_lo, m.funding_rate_hi, m.funding_rate_small),
            ('funding_interval_hours', m.fih_lo, m.fih_hi, m.fih_small), ('range_1h', m.range_1h_lo, m.range_1h_hi, m.range_1h_small),
            ('range_12h', m.range_12h_lo, m.range_12h_hi, m.range_12h_small), ('volatility', m.volatility_lo, m.volatility_hi, m.volatility_small),
            ('slope_3m', m.slope_3m_lo, m.slope_3m_hi, m.slope_3m_small), ('drift_ratio', m.drift_ratio_lo, m.drift_ratio_hi, m.drift_ratio_small),
            ('best_buy_high_sell_low', m.bbhsl_lo, m.bbhsl_hi, m.bbhsl_small), ('best_sell_high_buy_low', m.bshbl_lo, m.bshbl_hi, m.bshbl_small),
            ('volume_quote', m.volume_quote_lo, m.volume_quote_hi, m.volume_quote_small), ('sweep_impact', m.sweep_impact_lo, m.sweep_impact_hi, m.sweep_impact_small),
            ('book_imbalance', m.book_imbalance_lo, m.book_imbalance_hi, m.book_imbalance_small), ('bid_ask_spread', m.bid_ask_spread_lo, m.bid_ask_spread_hi, m.bid_ask_spread_small),
            ('spread_zscore_1h', m.sz1_lo, m.sz1_hi, m.sz1_small), ('spread_zscore_12h', m.sz12_lo, m.sz12_hi, m.sz12_small),
            ('spread_momentum_15m', m.sm15_lo, m.sm15_hi, m.sm15_small), ('funding_zscore_7d', m.fz7_lo, m.fz7_hi, m.fz7_small),
            ('funding_trend_3d', m.ft3_lo, m.ft3_hi, m.ft3_small), ('funding_vol_7d', m.fv7_lo, m.fv7_hi, m.fv7_small),
            ('funding_diff_max', m.fdm_lo, m.fdm_hi, m.fdm_small), ('funding_term_slope', m.fts_lo, m.fts_hi, m.fts_small),
            ('rv_1h', m.rv_1h_lo, m.rv_1h_hi, m.rv_1h_small), ('rv_12h', m.rv_12h_lo, m.rv_12h_hi, m.rv_12h_small),
            ('hv_ratio', m.hv_ratio_lo, m.hv_ratio_hi, m.hv_ratio_small), ('premium_index_diff', m.pid_lo, m.pid_hi, m.pid_small),
            ('oi_jump_around_funding', m.oi_lo, m.oi_hi, m.oi_small), ('crossings_1h', m.crossings_1h_lo, m.crossings_1h_hi, m.crossings_1h_small)
        ) AS v(field, lo, hi, small)
      JOIN watchlist_data.raw_field_range() AS r ON r.field = v.field
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_rows_in_range(jsonb) FROM PUBLIC;
