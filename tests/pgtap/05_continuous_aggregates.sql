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
SELECT plan(12);

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

-- 5-minute aggregate vs direct aggregation. Exact columns must be equal; float sums are
-- compared to 1e-12 relative (the rollup adds in another order than a direct sum, so
-- rounding both to a fixed number of decimals can land on either side of a boundary).
CREATE TEMP TABLE fx_raw5 AS
SELECT b AS bucket, exchange, symbol, count(*) AS n_rows, count(*) FILTER (WHERE triggered) AS n_triggered,
       count(spread_rel) AS spread_n, sum(spread_rel) AS spread_sum, sum(spread_rel ^ 2) AS spread_sumsq,
       min(spread_rel) AS spread_min, max(spread_rel) AS spread_max,
       (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1] AS spread_first,
       (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1] AS spread_last,
       (array_agg(spread_rel ORDER BY ts DESC))[1] AS spread_rel,
       sum(tau) FILTER (WHERE spread_rel IS NOT NULL) AS t_sum,
       sum(tau ^ 2) FILTER (WHERE spread_rel IS NOT NULL) AS t_sumsq,
       sum(tau * spread_rel) AS ty_sum,
       (array_agg(spot_price ORDER BY ts DESC))[1] AS spot_price, (array_agg(futures_price ORDER BY ts DESC))[1] AS futures_price,
       (array_agg(funding_rate ORDER BY ts DESC))[1] AS funding_rate, (array_agg(next_funding_time ORDER BY ts DESC))[1] AS next_funding_time,
       (array_agg(meta -> 'pairs_top' -> 0 ORDER BY ts DESC))[1] AS pair_top1,
       (array_agg(meta -> 'funding_diff_top' -> 0 ORDER BY ts DESC))[1] AS funding_diff_top1
  FROM (SELECT r.*, time_bucket('5 minutes', ts) AS b, extract(epoch FROM ts - time_bucket('5 minutes', ts))::float8 AS tau
          FROM watchlist_data.watch_signal_raw r WHERE symbol = 'CAGGTEST') x
 GROUP BY b, exchange, symbol;

SELECT is((SELECT count(*)::int
             FROM (SELECT * FROM watchlist_data.watchlist_series_agg WHERE symbol = 'CAGGTEST') a
             FULL JOIN fx_raw5 d USING (bucket, exchange, symbol)
            WHERE (a.n_rows, a.n_triggered, a.spread_n, a.spread_min, a.spread_max, a.spread_first, a.spread_last, a.spread_rel,
                   a.spot_price, a.futures_price, a.funding_rate, a.next_funding_time, a.pair_top1, a.funding_diff_top1)
                  IS DISTINCT FROM
                  (d.n_rows, d.n_triggered, d.spread_n, d.spread_min, d.spread_max, d.spread_first, d.spread_last, d.spread_rel,
                   d.spot_price, d.futures_price, d.funding_rate, d.next_funding_time, d.pair_top1, d.funding_diff_top1)
               OR NOT coalesce(abs(a.spread_sum - d.spread_sum) <= 1e-12 * greatest(1, abs(d.spread_sum)), a.spread_sum IS NULL AND d.spread_sum IS NULL)
               OR NOT coalesce(abs(a.spread_sumsq - d.spread_sumsq) <= 1e-12 * greatest(1e-3, abs(d.spread_sumsq)), a.spread_sumsq IS NULL AND d.spread_sumsq IS NULL)
               OR NOT coalesce(abs(a.t_sum - d.t_sum) <= 1e-12 * greatest(1, abs(d.t_sum)), a.t_sum IS NULL AND d.t_sum IS NULL)
               OR NOT coalesce(abs(a.t_sumsq - d.t_sumsq) <= 1e-12 * greatest(1, abs(d.t_sumsq)), a.t_sumsq IS NULL AND d.t_sumsq IS NULL)
               OR NOT coalesce(abs(a.ty_sum - d.ty_sum) <= 1e-12 * greatest(1, abs(d.ty_sum)), a.ty_sum IS NULL AND d.ty_sum IS NULL)),
          0,
          'the 5-minute aggregate equals direct aggregation over raw, bucket by bucket (no bucket missing, none extra)');

SELECT is((SELECT count(*)::int FROM watchlist_data.watchlist_series_agg WHERE symbol = 'CAGGTEST'), 2 * 13 * 12,
          '13 h on two exchanges = 312 five-minute buckets');

-- Hourly aggregate vs direct hourly aggregation (time sums relative to the hour), compared
-- as above.
CREATE TEMP TABLE fx_raw1h AS
SELECT b AS bucket, exchange, count(*) AS n_rows, count(*) FILTER (WHERE triggered) AS n_triggered,
       count(spread_rel) AS spread_n, sum(spread_rel) AS spread_sum, sum(spread_rel ^ 2) AS spread_sumsq,
       min(spread_rel) AS spread_min, max(spread_rel) AS spread_max,
       (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1] AS spread_first,
       (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1] AS spread_last,
       sum(tau) FILTER (WHERE spread_rel IS NOT NULL) AS t_sum,
       sum(tau ^ 2) FILTER (WHERE spread_rel IS NOT NULL) AS t_sumsq,
       sum(tau * spread_rel) AS ty_sum
  FROM (SELECT r.*, time_bucket('1 hour', ts) AS b, extract(epoch FROM ts - time_bucket('1 hour', ts))::float8 AS tau
          FROM watchlist_data.watch_signal_raw r WHERE symbol = 'CAGGTEST') x
 GROUP BY b, exchange;

SELECT is((SELECT count(*)::int
             FROM (SELECT * FROM watchlist_data.typea_stats_1h WHERE symbol = 'CAGGTEST') a
             FULL JOIN fx_raw1h d USING (bucket, exchange)
            WHERE (a.n_rows, a.n_triggered, a.spread_n, a.spread_min, a.spread_max, a.spread_first, a.spread_last)
                  IS DISTINCT FROM
                  (d.n_rows, d.n_triggered, d.spread_n, d.spread_min, d.spread_max, d.spread_first, d.spread_last)
               OR NOT coalesce(abs(a.spread_sum - d.spread_sum) <= 1e-12 * greatest(1, abs(d.spread_sum)), a.spread_sum IS NULL AND d.spread_sum IS NULL)
               OR NOT coalesce(abs(a.spread_sumsq - d.spread_sumsq) <= 1e-12 * greatest(1e-3, abs(d.spread_sumsq)), a.spread_sumsq IS NULL AND d.spread_sumsq IS NULL)
               OR NOT coalesce(abs(a.t_sum - d.t_sum) <= 1e-12 * greatest(1, abs(d.t_sum)), a.t_sum IS NULL AND d.t_sum IS NULL)
               OR NOT coalesce(abs(a.t_sumsq - d.t_sumsq) <= 1e-12 * greatest(1, abs(d.t_sumsq)), a.t_sumsq IS NULL AND d.t_sumsq IS NULL)
               OR NOT coalesce(abs(a.ty_sum - d.ty_sum) <= 1e-12 * greatest(1, abs(d.ty_sum)), a.ty_sum IS NULL AND d.ty_sum IS NULL)),
          0,
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

-- 0040: the reads by key are index-only on the 5-minute aggregate.
SELECT is((SELECT array_agg(a.attname::text ORDER BY k.n)
             FROM _timescaledb_catalog.continuous_agg AS c
             JOIN _timescaledb_catalog.hypertable AS h ON h.id = c.mat_hypertable_id
             JOIN pg_class AS t ON t.relname = h.table_name AND t.relnamespace = h.schema_name::regnamespace
             JOIN pg_index AS i ON i.indrelid = t.oid
             JOIN pg_class AS ic ON ic.oid = i.indexrelid AND ic.relname = 'watchlist_series_agg_key_cover_idx'
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(att, n)
             JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.att
            WHERE c.user_view_schema = 'watchlist_data' AND c.user_view_name = 'watchlist_series_agg'),
          ARRAY['exchange', 'symbol', 'bucket', 'n_rows', 'type_class', 'spot_price', 'futures_price', 'spread_rel',
                'funding_rate', 'funding_interval_hours', 'next_funding_time', 'crossings_1h', 'drift_ratio', 'spread_n',
                'spread_sum', 'spread_sumsq', 'spread_min', 'spread_max', 't_sum', 't_sumsq', 'ty_sum'],
          'the 5-minute aggregate has the covering (exchange, symbol, bucket) index with every column series / metrics read');
SELECT is((SELECT count(*)::int
             FROM _timescaledb_catalog.continuous_agg AS c
             JOIN _timescaledb_catalog.hypertable AS h ON h.id = c.mat_hypertable_id
             JOIN pg_class AS t ON t.relname = h.table_name AND t.relnamespace = h.schema_name::regnamespace
             JOIN pg_index AS i ON i.indrelid = t.oid
             JOIN pg_class AS ic ON ic.oid = i.indexrelid
            WHERE c.user_view_schema = 'watchlist_data' AND c.user_view_name = 'watchlist_series_agg'
              AND (ic.relname = 'watchlist_series_agg_key_bucket_idx'
                   OR NOT 'autovacuum_vacuum_insert_scale_factor=0.01' = ANY (coalesce(t.reloptions, '{}')))),
          0,
          'the covering index replaced the plain key index, and the materialisation is vacuumed after 1% new rows');

SELECT * FROM finish();
ROLLBACK;
