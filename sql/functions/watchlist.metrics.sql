-- watchlist.metrics(exchange, symbol, now): the Type A statistics of the app's list page
-- (the seed's /api/watchlist/metrics), exact by rollup of the 5-minute continuous
-- aggregate's sufficient statistics over the last 1 h and 12 h of buckets (the same
-- formulas as watchlist.window_stats), plus the latest sample's values. No row when the
-- symbol has no data in the last 12 h.
--   spread_latest, type_class, funding_rate, funding_interval_hours, next_funding_time,
--   crossings_1h, drift_ratio      from the latest bucket (the monitor's own figures)
--   mean/sigma/range/slope _1h/_12h spread statistics (slope in spread units per hour)
--   zscore_12h                      (spread_latest - mean_12h) / sigma_12h
--   n_1h, n_12h                     samples behind them
-- Bucket-granular like watchlist.series: the 5-minute bucket holding p_now is included.
CREATE OR REPLACE FUNCTION watchlist.metrics(p_exchange text, p_symbol text, p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange text, symbol text, as_of timestamptz, type_class text, spread_latest double precision,
               mean_1h double precision, sigma_1h double precision, range_1h double precision, slope_1h double precision,
               mean_12h double precision, sigma_12h double precision, range_12h double precision, slope_12h double precision,
               zscore_12h double precision, crossings_1h integer, drift_ratio double precision,
               funding_rate double precision, funding_interval_hours double precision, next_funding_time timestamptz,
               n_1h bigint, n_12h bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    -- One pass over the 144 five-minute buckets of the last 12 h; the 1 h figures are the
    -- last 12 of them. Sufficient statistics as in watchlist.window_stats (time sums shifted
    -- to a common origin, the window start).
    WITH b AS (
        SELECT s.*, extract(epoch FROM s.bucket - (time_bucket(INTERVAL '5 minutes', p_now) - INTERVAL '11 hours 55 minutes'))::float8 AS off,
               s.bucket >= time_bucket(INTERVAL '5 minutes', p_now) - INTERVAL '55 minutes' AS in_1h
          FROM watchlist_data.watchlist_series_agg AS s
         WHERE s.exchange = p_exchange AND s.symbol = p_symbol
           AND s.bucket >= time_bucket(INTERVAL '5 minutes', p_now) - INTERVAL '11 hours 55 minutes'
           AND s.bucket <= time_bucket(INTERVAL '5 minutes', p_now)
    ), w AS (
        SELECT k.win, sum(b.spread_n)::float8 AS n, sum(b.spread_sum) AS sy, sum(b.spread_sumsq) AS syy,
               sum(b.t_sum + b.spread_n * b.off) AS st,
               sum(b.t_sumsq + 2 * b.off * b.t_sum + b.spread_n * b.off * b.off) AS stt,
               sum(b.ty_sum + b.off * b.spread_sum) AS sty, min(b.spread_min) AS lo, max(b.spread_max) AS hi
          FROM b CROSS JOIN (VALUES ('1h'), ('12h')) AS k(win)
         WHERE b.spread_n > 0 AND (k.win = '12h' OR b.in_1h)
         GROUP BY k.win
    ), st AS (
        SELECT w.win, w.n, w.sy / w.n AS mean,
               CASE WHEN w.n > 1 THEN sqrt(greatest((w.syy - w.sy * w.sy / w.n) / (w.n - 1), 0)) END AS sigma,
               w.hi - w.lo AS rng,
               3600 * (w.n * w.sty - w.st * w.sy) / nullif(w.n * w.stt - w.st * w.st, 0) AS slope
          FROM w
    ), l AS (
        SELECT * FROM b ORDER BY b.bucket DESC LIMIT 1
    )
    SELECT p_exchange, p_symbol, l.bucket, l.type_class, l.spread_rel,
           a.mean, a.sigma, a.rng, a.slope, c.mean, c.sigma, c.rng, c.slope,
           (l.spread_rel - c.mean) / nullif(c.sigma, 0),
           l.crossings_1h, l.drift_ratio, l.funding_rate, l.funding_interval_hours, l.next_funding_time,
           coalesce(a.n, 0)::bigint, coalesce(c.n, 0)::bigint
      FROM l
      LEFT JOIN st AS a ON a.win = '1h'
      LEFT JOIN st AS c ON c.win = '12h'
$$;
REVOKE ALL ON FUNCTION watchlist.metrics(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.metrics(text, text, timestamptz) TO wl_reader;
