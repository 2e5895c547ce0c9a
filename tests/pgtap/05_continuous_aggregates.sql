-- The continuous aggregates equal the same aggregates computed directly over the raw rows,
-- and window statistics rolled up from them equal the statistics of the raw rows.
-- The fixture lies in the future (a day ahead), above any materialisation watermark, so the
-- aggregates are answered by real-time aggregation inside this transaction; the
-- materialised path (refresh_continuous_aggregate, which cannot run in a transaction) is
-- covered by tests/py/test_continuous_aggregates.py.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(10);

CREATE TEMP TABLE fx_origin AS SELECT date_trunc('hour', now()) + INTERVAL '26 hours' AS t0;

-- 13 h of 1-minute samples on two exchanges (plus jittered seconds), a mean-reverting-ish
-- deterministic spread, every 17th spread missing, every 5th minute triggered.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate,
                                             funding_interval_hours, next_funding_time, spot_price, futures_price, meta)
SELECT t0 + make_interval(mins => i, secs => (i * 7) % 13),
       ex, 'CAGGTEST', 'A', i % 5 = 0,
       CASE WHEN i % 17 = 3 THEN NULL ELSE 0.003 + 0.001 * sin(i / 37.0) + 0.0004 * cos(i / 5.0) + k * 0.0002 END,
       0.0001 * k + 0.00001 * (i % 7),
       8, t0 + INTERVAL '8 hours', 100 + i * 0.01, 100.3 + i * 0.01,
       jsonb_build_object('pairs_top', jsonb_build_array(jsonb_build_object('high_exch', ex, 'spread_pct', i)),
                          'funding_diff_top', jsonb_build_array(jsonb_build_object('funding_diff', k)))
  FROM fx_origin, generate_series(0, 13 * 60 - 1) AS i, (VALUES ('binance', 1), ('okx', 2)) AS e(ex, k);

-- 5-minute aggregate vs direct aggregation.
SELECT results_eq($$
    SELECT bucket, exchange, symbol, n_rows, n_triggered, spread_n,
           round(spread_sum::numeric, 12), round(spread_sumsq::numeric, 15), spread_min, spread_max, spread_first, spread_last, spread_rel,
           round(t_sum::numeric, 6), round(t_sumsq::numeric, 4), round(ty_sum::numeric, 10),
           spot_price, futures_price, funding_rate, next_funding_time, pair_top1, funding_diff_top1
      FROM watchlist_data.watchlist_series_agg WHERE symbol = 'CAGGTEST' ORDER BY exchange, bucket$$,
    $$
    SELECT b, exchange, symbol, count(*), count(*) FILTER (WHERE triggered), count(spread_rel),
           round(sum(spread_rel)::numeric, 12), round(sum(spread_rel ^ 2)::numeric, 15), min(spread_rel), max(spread_rel),
           (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1],
           (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1],
           (array_agg(spread_rel ORDER BY ts DESC))[1],
           round(sum(tau) FILTER (WHERE spread_rel IS NOT NULL)::numeric, 6),
           round(sum(tau ^ 2) FILTER (WHERE spread_rel IS NOT NULL)::numeric, 4),
           round(sum(tau * spread_rel)::numeric, 10),
           (array_agg(spot_price ORDER BY ts DESC))[1], (array_agg(futures_price ORDER BY ts DESC))[1],
           (array_agg(funding_rate ORDER BY ts DESC))[1], (array_agg(next_funding_time ORDER BY ts DESC))[1],
           (array_agg(meta -> 'pairs_top' -> 0 ORDER BY ts DESC))[1], (array_agg(meta -> 'funding_diff_top' -> 0 ORDER BY ts DESC))[1]
      FROM (SELECT r.*, time_bucket('5 minutes', ts) AS b, extract(epoch FROM ts - time_bucket('5 minutes', ts))::float8 AS tau
              FROM watchlist_data.watch_signal_raw r WHERE symbol = 'CAGGTEST') x
     GROUP BY b, exchange, symbol ORDER BY exchange, b$$,
    'the 5-minute aggregate equals direct aggregation over raw, bucket by bucket');

SELECT is((SELECT count(*)::int FROM watchlist_data.watchlist_series_agg WHERE symbol = 'CAGGTEST'), 2 * 13 * 12,
          '13 h on two exchanges = 312 five-minute buckets');

-- Hourly aggregate vs direct hourly aggregation (time sums relative to the hour).
SELECT results_eq($$
    SELECT bucket, exchange, n_rows, n_triggered, spread_n, round(spread_sum::numeric, 12), round(spread_sumsq::numeric, 14),
           spread_min, spread_max, spread_first, spread_last,
           round(t_sum::numeric, 4), round(t_sumsq::numeric, 1), round(ty_sum::numeric, 8)
      FROM watchlist_data.typea_stats_1h WHERE symbol = 'CAGGTEST' ORDER BY exchange, bucket$$,
    $$
    SELECT b, exchange, count(*), count(*) FILTER (WHERE triggered), count(spread_rel),
           round(sum(spread_rel)::numeric, 12), round(sum(spread_rel ^ 2)::numeric, 14), min(spread_rel), max(spread_rel),
           (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1],
           (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1],
           round(sum(tau) FILTER (WHERE spread_rel IS NOT NULL)::numeric, 4),
           round(sum(tau ^ 2) FILTER (WHERE spread_rel IS NOT NULL)::numeric, 1),
           round(sum(tau * spread_rel)::numeric, 8)
      FROM (SELECT r.*, time_bucket('1 hour', ts) AS b, extract(epoch FROM ts - time_bucket('1 hour', ts))::float8 AS tau
              FROM watchlist_data.watch_signal_raw r WHERE symbol = 'CAGGTEST') x
     GROUP BY b, exchange ORDER BY exchange, b$$,
    'the hourly Type A aggregate (rolled up from 5-minute buckets) equals direct hourly aggregation over raw');

-- 12 h window statistics with ragged edges (not hour-aligned) vs raw.
CREATE TEMP TABLE fx_window AS
SELECT t0 + INTERVAL '35 minutes' AS w_from, t0 + INTERVAL '12 hours 35 minutes' AS w_to FROM fx_origin;
CREATE TEMP TABLE fx_stats AS
SELECT s.* FROM fx_window, watchlist.window_stats('okx', 'CAGGTEST', w_from, w_to) s;
CREATE TEMP TABLE fx_direct AS
SELECT count(spread_rel) AS n, avg(spread_rel) AS mean, stddev_samp(spread_rel) AS sigma, min(spread_rel) AS lo, max(spread_rel) AS hi,
       (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1] AS f,
       (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1] AS l,
       3600 * regr_slope(spread_rel, extract(epoch FROM ts)::float8) AS slope
  FROM watchlist_data.watch_signal_raw, fx_window
 WHERE exchange = 'okx' AND symbol = 'CAGGTEST' AND ts >= w_from AND ts < w_to;

SELECT is((SELECT n FROM fx_stats), (SELECT n FROM fx_direct), 'window n equals the raw count of spreads');
SELECT ok((SELECT abs(s.mean - d.mean) <= 1e-12 FROM fx_stats s, fx_direct d), 'window mean equals raw avg (1e-12)');
SELECT ok((SELECT abs(s.sigma - d.sigma) <= 1e-9 * d.sigma FROM fx_stats s, fx_direct d), 'window sigma equals raw stddev_samp (relative 1e-9)');
SELECT ok((SELECT s.min = d.lo AND s.max = d.hi AND s.range = d.hi - d.lo FROM fx_stats s, fx_direct d), 'window min, max and range equal raw');
SELECT ok((SELECT s.first = d.f AND s.last = d.l FROM fx_stats s, fx_direct d), 'window first and last equal raw');
SELECT ok((SELECT abs(s.slope_per_hour - d.slope) <= 1e-9 * abs(d.slope) FROM fx_stats s, fx_direct d),
          'window slope equals raw regr_slope per hour (relative 1e-9)');

-- The API view over the 5-minute aggregate.
SELECT results_eq($$SELECT ts, spread_rel, series_meta FROM watchlist.watchlist_series_agg
                     WHERE exchange = 'binance' AND symbol = 'CAGGTEST' ORDER BY ts LIMIT 1$$,
                  $$SELECT t0, (SELECT spread_rel FROM watchlist_data.watch_signal_raw WHERE exchange = 'binance' AND symbol = 'CAGGTEST' AND ts < t0 + INTERVAL '5 minutes' ORDER BY ts DESC LIMIT 1),
                           jsonb_build_object('pair_top1', jsonb_build_object('high_exch', 'binance', 'spread_pct', 4), 'funding_diff_top1', jsonb_build_object('funding_diff', 1))
                      FROM fx_origin$$,
                  'series view: bucket start, last spread, series_meta with the top-1 pair and funding difference');

SELECT * FROM finish();
ROLLBACK;
