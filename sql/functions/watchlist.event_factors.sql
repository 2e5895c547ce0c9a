-- watchlist.event_factors(from, to, signal_type, exchange): factor values of every
-- confirmed event entered in [from, to), point in time: taken from the latest raw row of
-- (exchange, symbol) at or before the event's entry_ts (its confirmed_at, the first moment
-- it is known; never later), as (event_id, exchange, symbol, signal_type, start_ts,
-- entry_ts, factor, value), one row per factor: the core factor columns of
-- watch_signal_raw by name, every numeric key of meta.factors as 'meta.<key>', and the
-- database's factors (watchlist_data.factor_value) as 'db.<column>', from its latest row at
-- or before entry_ts and at most 30 minutes older (a row at t uses only raw rows before t),
-- so an app factor and a database factor of the same name are both kept, told apart by the
-- prefix. Universe as it was: an event
-- counts only if its (exchange, symbol) was on the watchlist at its entry
-- (watchlist_membership); when no membership has ever been recorded, every event counts.
-- It calls watchlist_data.check_read_span, which the migrator creates after this file (repeatable
-- files run in name order): its body is checked when called, not when created.
SET LOCAL check_function_bodies = off;
DROP FUNCTION IF EXISTS watchlist.event_factors(timestamptz, timestamptz, text, text);
CREATE FUNCTION watchlist.event_factors(p_from timestamptz, p_to timestamptz,
                                                   p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL)
RETURNS TABLE (event_id bigint, exchange text, symbol text, signal_type text, start_ts timestamptz,
               entry_ts timestamptz, factor text, value double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 3              -- factor_value rows pass through jsonb: keep every bit
AS $$
    WITH ev AS (
        SELECT e.id, e.exchange, e.symbol, e.signal_type, e.start_ts, e.entry_ts
          FROM watchlist_data.watch_signal_event AS e
         WHERE e.status = 'confirmed' AND e.entry_ts >= p_from AND e.entry_ts < p_to
           AND (p_signal_type IS NULL OR e.signal_type = p_signal_type)
           AND (p_exchange IS NULL OR e.exchange = p_exchange)
           AND (NOT EXISTS (SELECT 1 FROM watchlist_data.watchlist_membership)
                OR EXISTS (SELECT 1 FROM watchlist_data.watchlist_membership AS m
                            WHERE m.exchange = e.exchange AND m.symbol = e.symbol
                              AND m.entered_at <= e.entry_ts AND coalesce(m.left_at, 'infinity') > e.entry_ts))
    )
    SELECT ev.id, ev.exchange, ev.symbol, ev.signal_type, ev.start_ts, ev.entry_ts, f.factor, f.value
      FROM ev
     CROSS JOIN LATERAL (
            SELECT r.* FROM watchlist_data.watch_signal_raw AS r
             WHERE r.exchange = ev.exchange AND r.symbol = ev.symbol AND r.ts <= ev.entry_ts
             ORDER BY r.ts DESC LIMIT 1) AS r
      LEFT JOIN LATERAL (
            SELECT to_jsonb(d) - ARRAY['ts', 'exchange', 'symbol', 'computed_at'] AS j
              FROM watchlist_data.factor_value AS d
             WHERE d.exchange = ev.exchange AND d.symbol = ev.symbol AND d.ts <= ev.entry_ts
               AND d.ts > ev.entry_ts - INTERVAL '30 minutes'
             ORDER BY d.ts DESC LIMIT 1) AS db ON true
     CROSS JOIN LATERAL (
            SELECT v.factor, v.value FROM (VALUES
                ('spread_rel',             r.spread_rel),
                ('funding_rate',           r.funding_rate),
                ('range_1h',               r.range_1h),
                ('range_12h',              r.range_12h),
                ('volatility',             r.volatility),
                ('slope_3m',               r.slope_3m),
                ('crossings_1h',           r.crossings_1h::float8),
                ('drift_ratio',            r.drift_ratio),
                ('best_buy_high_sell_low', r.best_buy_high_sell_low),
                ('best_sell_high_buy_low', r.best_sell_high_buy_low),
                ('volume_quote',           r.volume_quote),
                ('sweep_impact',           r.sweep_impact),
                ('book_imbalance',         r.book_imbalance),
                ('bid_ask_spread',         r.bid_ask_spread),
                ('spread_zscore_1h',       r.spread_zscore_1h),
                ('spread_zscore_12h',      r.spread_zscore_12h),
                ('spread_momentum_15m',    r.spread_momentum_15m),
                ('funding_zscore_7d',      r.funding_zscore_7d),
                ('funding_trend_3d',       r.funding_trend_3d),
                ('funding_vol_7d',         r.funding_vol_7d),
                ('funding_diff_max',       r.funding_diff_max),
                ('funding_term_slope',     r.funding_term_slope),
                ('rv_1h',                  r.rv_1h),
                ('rv_12h',                 r.rv_12h),
                ('hv_ratio',               r.hv_ratio),
                ('premium_index_diff',     r.premium_index_diff),
                ('oi_jump_around_funding', r.oi_jump_around_funding)
            ) AS v(factor, value)
             WHERE v.value IS NOT NULL
            UNION ALL
            SELECT 'meta.' || k.key, watchlist_data.jsonb_float8(k.value)
              FROM jsonb_each(CASE WHEN jsonb_typeof(r.meta -> 'factors') = 'object' THEN r.meta -> 'factors' ELSE '{}' END) AS k
             WHERE watchlist_data.jsonb_float8(k.value) IS NOT NULL   -- a number in range (meta is not range-checked)
            UNION ALL
            SELECT 'db.' || k.key, watchlist_data.jsonb_float8(k.value)
              FROM jsonb_each(coalesce(db.j, '{}')) AS k
             WHERE k.key NOT LIKE 'b\_%' AND watchlist_data.jsonb_float8(k.value) IS NOT NULL) AS f
     WHERE watchlist_data.check_read_span('event_factors', p_from, p_to)   -- a one-time filter: checked first
$$;
REVOKE ALL ON FUNCTION watchlist.event_factors(timestamptz, timestamptz, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.event_factors(timestamptz, timestamptz, text, text) TO wl_reader;
