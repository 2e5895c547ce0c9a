-- watchlist.watchlist_list(now, exchange): the app's list page in one call (the seed's
-- /api/watchlist and /api/watchlist/metrics): one row per watchlist member at p_now
-- (watchlist_membership: entered at or before p_now, not left by then), optionally of one
-- exchange, with
--   the Type A statistics of watchlist.metrics (class, latest / mean / sigma of the spread,
--   1 h / 12 h ranges and slopes, z-score, crossings, drift, funding rate and interval,
--   next funding time, samples), NULL where the member has no data in the last 12 h;
--   from the member's latest raw row in the last 12 h: its time (sampled_at), status,
--   triggered, the executable spreads both ways, and the cross-exchange detail of its meta
--   (matrix, pairs_top, funding_diff_top; NULL when absent).
-- One plan: the statistics are watchlist_data.typea_stats inlined LATERAL per member (index
-- lookups on the aggregate), the latest row a backward primary-key scan per member.
CREATE OR REPLACE FUNCTION watchlist.watchlist_list(p_now timestamptz DEFAULT now(), p_exchange text DEFAULT NULL)
RETURNS TABLE (exchange text, symbol text, entered_at timestamptz, as_of timestamptz, type_class text,
               spread_latest double precision,
               mean_1h double precision, sigma_1h double precision, range_1h double precision, slope_1h double precision,
               mean_12h double precision, sigma_12h double precision, range_12h double precision, slope_12h double precision,
               zscore_12h double precision, crossings_1h integer, drift_ratio double precision,
               funding_rate double precision, funding_interval_hours double precision, next_funding_time timestamptz,
               n_1h bigint, n_12h bigint,
               sampled_at timestamptz, status text, triggered boolean,
               best_buy_high_sell_low double precision, best_sell_high_buy_low double precision,
               matrix jsonb, pairs_top jsonb, funding_diff_top jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    -- plain values bound the reads: only chunks inside the 12 hours are planned and locked
    -- (see watchlist_data.typea_stats)
    v_last  timestamptz := @extschema@.time_bucket(INTERVAL '5 minutes', p_now);
    v_first timestamptz := @extschema@.time_bucket(INTERVAL '5 minutes', p_now) - INTERVAL '11 hours 55 minutes';
    v_wm    timestamptz := watchlist_data.series_agg_watermark();
    v_from  timestamptz := p_now - INTERVAL '12 hours';
BEGIN
    RETURN QUERY
    SELECT m.exchange, m.symbol, m.entered_at, t.as_of, t.type_class, t.spread_latest,
           t.mean_1h, t.sigma_1h, t.range_1h, t.slope_1h, t.mean_12h, t.sigma_12h, t.range_12h, t.slope_12h,
           t.zscore_12h, t.crossings_1h, t.drift_ratio, t.funding_rate, t.funding_interval_hours, t.next_funding_time,
           coalesce(t.n_1h, 0), coalesce(t.n_12h, 0),
           r.ts, r.status, r.triggered, r.best_buy_high_sell_low, r.best_sell_high_buy_low,
           r.meta -> 'matrix', r.meta -> 'pairs_top', r.meta -> 'funding_diff_top'
      FROM watchlist_data.watchlist_membership AS m
      LEFT JOIN LATERAL watchlist_data.typea_stats(m.exchange, m.symbol, v_last, v_first, v_wm) AS t ON true
      LEFT JOIN LATERAL (
            SELECT w.ts, w.status, w.triggered, w.best_buy_high_sell_low, w.best_sell_high_buy_low, w.meta
              FROM watchlist_data.watch_signal_raw AS w
             WHERE w.exchange = m.exchange AND w.symbol = m.symbol
               AND w.ts <= p_now AND w.ts > v_from
             ORDER BY w.ts DESC LIMIT 1) AS r ON true
     WHERE m.entered_at <= p_now AND (m.left_at IS NULL OR m.left_at > p_now)
       AND (p_exchange IS NULL OR m.exchange = p_exchange)
     ORDER BY m.exchange, m.symbol;
END
$$;
REVOKE ALL ON FUNCTION watchlist.watchlist_list(timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.watchlist_list(timestamptz, text) TO wl_reader;
