-- watchlist.factor_ic_by_period(from, to, metric, period, min_events, signal_type, exchange,
-- factor): per period (default 1 day, UTC-aligned buckets of event start) and per factor x
-- horizon: the number of events, Pearson IC (corr of factor value and outcome across the
-- period's events) and Spearman rank IC (Pearson of average ranks, ties averaged as scipy
-- does). metric: pnl (default), spread_change, funding_change, max_drawdown, volatility.
-- Periods with fewer than min_events events, or without variation in the factor or the
-- outcome, are returned with skipped = true and NULL ICs: counted, never silently dropped.
-- Only covered labels of confirmed events, with factor values point in time
-- (watchlist.event_factors).
CREATE OR REPLACE FUNCTION watchlist.factor_ic_by_period(
    p_from timestamptz, p_to timestamptz, p_metric text DEFAULT 'pnl', p_period interval DEFAULT '1 day',
    p_min_events integer DEFAULT 5, p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL,
    p_factor text DEFAULT NULL)
RETURNS TABLE (period_start timestamptz, factor text, horizon_min integer, n_events integer,
               ic double precision, rank_ic double precision, skipped boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM watchlist_data.check_read_span('factor_ic_by_period', p_from, p_to);
    RETURN QUERY
    WITH obs AS (
        SELECT o.p, o.fac, o.h, o.x, o.y
          FROM watchlist_data.factor_observations(p_from, p_to, p_metric, p_period, p_signal_type, p_exchange, p_factor) AS o
    ), ranked AS (
        SELECT obs.*,
               rank() OVER (PARTITION BY p, fac, h ORDER BY x) + (count(*) OVER (PARTITION BY p, fac, h, x) - 1) / 2.0 AS rx,
               rank() OVER (PARTITION BY p, fac, h ORDER BY y) + (count(*) OVER (PARTITION BY p, fac, h, y) - 1) / 2.0 AS ry
          FROM obs WHERE y IS NOT NULL
    ), per AS (
        SELECT p, fac, h, count(*)::integer AS n, corr(y, x) AS c, corr(ry::float8, rx::float8) AS rc,
               stddev_pop(x) AS sx, stddev_pop(y) AS sy
          FROM ranked GROUP BY p, fac, h
    )
    SELECT per.p, per.fac, per.h, per.n,
           CASE WHEN per.n >= p_min_events AND per.sx > 0 AND per.sy > 0 THEN per.c END,
           CASE WHEN per.n >= p_min_events AND per.sx > 0 AND per.sy > 0 THEN per.rc END,
           NOT (per.n >= p_min_events AND per.sx > 0 AND per.sy > 0)
      FROM per ORDER BY per.fac, per.h, per.p;
END
$$;
REVOKE ALL ON FUNCTION watchlist.factor_ic_by_period(timestamptz, timestamptz, text, interval, integer, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.factor_ic_by_period(timestamptz, timestamptz, text, interval, integer, text, text, text) TO wl_reader;
