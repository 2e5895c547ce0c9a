-- watchlist.event_study(from, to, factor, horizon_min, excess, signal_type, exchange): the
-- mean pnl path of the events entered in [from, to), minute by minute from the entry to
-- horizon_min (default: the longest of outcome_horizons_min), by quintile of a factor's value
-- at the entry (watchlist.event_factors: point in time, app or database factor), with a 95%
-- confidence band. Computed from the raw rows:
--   s_m      the latest spread_rel at or before entry + m minutes (s_0: at or before the entry)
--   pnl_m    convergence trade on the spread, in bps, before funding and costs:
--            10^4 * (s_0 - s_m) when s_0 >= 0 (short the spread), 10^4 * (s_m - s_0) otherwise
--   excess   (p_excess, default true) pnl_m minus the mean pnl_m of all the study's events
--            (the universe of events entered in [from, to)) at the same minute
-- An event counts at minute m only when it has a raw row at or after entry + m.
-- quintile = ntile(5) over the factor value (ties by event id); band = mean +- 1.96 sd / sqrt(n).
-- The entry time is the event's entry_ts (watchlist.event_factors: its confirmed_at).
CREATE OR REPLACE FUNCTION watchlist.event_study(
    p_from timestamptz, p_to timestamptz, p_factor text, p_horizon_min integer DEFAULT NULL,
    p_excess boolean DEFAULT true, p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL)
RETURNS TABLE (quintile integer, minute integer, n_events integer, mean_pnl double precision,
               ci_low double precision, ci_high double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_h integer := coalesce(p_horizon_min,
                            (SELECT max(x) FROM unnest(watchlist_data.setting('outcome_horizons_min')::int[]) AS x));
BEGIN
    PERFORM watchlist_data.check_read_span('event_study', p_from, p_to);
    IF p_factor IS NULL OR v_h IS NULL OR v_h < 1 OR v_h > 1440 THEN
        RAISE EXCEPTION 'event_study: need a factor and a horizon of 1..1440 minutes, got % and %', p_factor, v_h
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH ev AS (
        SELECT f.event_id, f.exchange, f.symbol, f.entry_ts, f.value,
               ntile(5) OVER (ORDER BY f.value, f.event_id) AS q
          FROM watchlist.event_factors(p_from, p_to, p_signal_type, p_exchange) AS f
         WHERE f.factor = p_factor
    ), e0 AS (
        SELECT ev.*, s0.s AS s0,
               (SELECT max(r.ts) FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = ev.exchange AND r.symbol = ev.symbol
                   AND r.ts >= ev.entry_ts AND r.ts <= ev.entry_ts + make_interval(mins => v_h)) AS last_ts
          FROM ev
         CROSS JOIN LATERAL (
                SELECT r.spread_rel AS s FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = ev.exchange AND r.symbol = ev.symbol AND r.ts <= ev.entry_ts
                   AND r.spread_rel IS NOT NULL
                 ORDER BY r.ts DESC LIMIT 1) AS s0
    ), path AS (
        SELECT e0.q, m.m, e0.event_id,
               1e4 * CASE WHEN e0.s0 >= 0 THEN e0.s0 - sm.s ELSE sm.s - e0.s0 END AS pnl
          FROM e0
         CROSS JOIN LATERAL generate_series(0, v_h) AS m(m)
         CROSS JOIN LATERAL (
                SELECT r.spread_rel AS s FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = e0.exchange AND r.symbol = e0.symbol
                   AND r.ts <= e0.entry_ts + make_interval(mins => m.m) AND r.spread_rel IS NOT NULL
                 ORDER BY r.ts DESC LIMIT 1) AS sm
         WHERE e0.last_ts >= e0.entry_ts + make_interval(mins => m.m)
    ), rel AS (
        SELECT path.q, path.m,
               path.pnl - CASE WHEN p_excess THEN avg(path.pnl) OVER (PARTITION BY path.m) ELSE 0 END AS y
          FROM path
    )
    SELECT rel.q::integer, rel.m, count(*)::integer, avg(rel.y),
           avg(rel.y) - 1.96 * stddev_samp(rel.y) / sqrt(count(*)),
           avg(rel.y) + 1.96 * stddev_samp(rel.y) / sqrt(count(*))
      FROM rel
     GROUP BY rel.q, rel.m
     ORDER BY 1, 2;
END
$$;
REVOKE ALL ON FUNCTION watchlist.event_study(timestamptz, timestamptz, text, integer, boolean, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.event_study(timestamptz, timestamptz, text, integer, boolean, text, text) TO wl_reader;
