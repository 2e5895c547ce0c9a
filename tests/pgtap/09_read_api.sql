-- Read API for the app's pages: series() (12 h chart, gap-filled) and metrics() (Type A
-- statistics), on a fixture in the future (above any materialisation watermark).
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(20);

CREATE TEMP TABLE t AS SELECT date_trunc('hour', now()) + interval '3 days' AS t0;
-- one hour of 1-minute samples, minutes 20..34 missing; spread = 0.001 * (minute + 1)
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, type_class, triggered, spread_rel, spot_price,
            futures_price, funding_rate, funding_interval_hours, next_funding_time, crossings_1h, drift_ratio)
SELECT t0 + make_interval(mins => k), 'binance', 'READTEST', 'A', 'A', k BETWEEN 40 AND 44, 0.001 * (k + 1), 100 + k, 100.5 + k,
       0.0001, 4, t0 + interval '45 minutes', k % 4, 0.5
  FROM t, generate_series(0, 59) AS k WHERE k NOT BETWEEN 20 AND 34;
SELECT count(*) FROM watchlist.merge_events((SELECT t0 FROM t), 'infinity', (SELECT t0 + interval '61 minutes' FROM t));

CREATE TEMP TABLE s AS SELECT * FROM watchlist.series('binance', 'READTEST', 1, (SELECT t0 + interval '59 minutes 30 seconds' FROM t));
SELECT is((SELECT count(*)::int FROM s), 12, 'one hour = 12 five-minute buckets');
SELECT results_eq($$SELECT round((extract(epoch FROM s.ts - t0) / 60)::numeric), round((s.spread_rel * 1000)::numeric, 6), s.filled FROM s, t ORDER BY s.ts$$,
                  $$VALUES (0::numeric, 5::numeric, false), (5, 10, false), (10, 15, false), (15, 20, false),
                           (20, 20, true), (25, 20, true), (30, 20, true),
                           (35, 40, false), (40, 45, false), (45, 50, false), (50, 55, false), (55, 60, false)$$,
                  'each bucket shows its last spread; the hole carries the last value forward, flagged filled');
SELECT ok((SELECT abs(baseline - (SELECT avg(0.001 * (k + 1)) FROM generate_series(0, 59) k WHERE k NOT BETWEEN 20 AND 34)) < 1e-12 FROM s LIMIT 1),
          'baseline = mean spread of the window');
SELECT ok((SELECT abs(s.midline_15m - (SELECT avg(0.001 * (k + 1)) FROM generate_series(5, 19) k)) < 1e-12
             FROM s, t WHERE s.ts = t0 + interval '15 minutes'),
          'midline at 15 min = mean of the samples of the last 3 buckets');
SELECT ok((SELECT abs(s.midline_15m - (SELECT avg(0.001 * (k + 1)) FROM generate_series(35, 39) k)) < 1e-12
             FROM s, t WHERE s.ts = t0 + interval '35 minutes'),
          'midline after the hole counts only real samples');
SELECT is((SELECT markers -> 0 ->> 'kind' FROM s, t WHERE s.ts = t0 + interval '40 minutes'), 'event_open',
          'the event opening at minute 40 is a marker');
SELECT is((SELECT markers @> '[{"kind": "funding"}]' FROM s, t WHERE s.ts = t0 + interval '45 minutes'), true,
          'the funding time at minute 45 is a marker');
SELECT is((SELECT (spot_price, futures_price, funding_interval_hours)::text FROM s, t WHERE s.ts = t0 + interval '55 minutes'),
          '(159,159.5,4)', 'prices and funding interval of the bucket');
SELECT throws_ok($$SELECT * FROM watchlist.series('binance', 'READTEST', 0)$$, '22023', 'series: hours must be between 1 and 168, got 0', 'hours must be positive');

CREATE TEMP TABLE m AS SELECT * FROM watchlist.metrics('binance', 'READTEST', (SELECT t0 + interval '59 minutes 30 seconds' FROM t));
SELECT results_eq($$SELECT spread_latest, n_1h, n_12h, crossings_1h, drift_ratio, type_class, next_funding_time - t0 FROM m, t$$,
                  $$VALUES (0.06::float8, 45::bigint, 45::bigint, 3, 0.5::float8, 'A', interval '45 minutes')$$,
                  'metrics: latest values and sample counts');
SELECT ok((SELECT abs(m.sigma_1h - d.sd) < 1e-12 AND abs(m.mean_1h - d.mu) < 1e-12 AND abs(m.range_1h - (d.hi - d.lo)) < 1e-12
             FROM m, (SELECT stddev_samp(spread_rel) sd, avg(spread_rel) mu, max(spread_rel) hi, min(spread_rel) lo
                        FROM watchlist_data.watch_signal_raw WHERE symbol = 'READTEST') d),
          'metrics: mean, sigma and range equal the raw rows');
SELECT ok((SELECT abs(m.slope_1h - 3600 * d.b) < 1e-9 * abs(3600 * d.b)
             FROM m, (SELECT regr_slope(spread_rel, extract(epoch FROM ts)) b FROM watchlist_data.watch_signal_raw WHERE symbol = 'READTEST') d),
          'metrics: slope per hour equals the raw regression slope');

-- watchlist_list: the whole watchlist in one call. Members: READTEST (with data and a meta
-- matrix on its last row), READNONE (no data); READGONE left before p_now is not listed.
UPDATE watchlist_data.watch_signal_raw SET meta = '{"matrix": [{"exch_a": "okx", "exch_b": "bybit", "spread_pct": 0.002}],
                                                   "pairs_top": [{"high_exch": "okx", "low_exch": "bybit"}]}'
 WHERE symbol = 'READTEST' AND ts = (SELECT t0 + interval '59 minutes' FROM t);
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at, left_at)
SELECT 'binance', x.sym, t0 - interval '1 day', x.left_at FROM t,
       (VALUES ('READTEST', NULL::timestamptz), ('READNONE', NULL), ('READGONE', (SELECT t0 FROM t))) AS x(sym, left_at);
CREATE TEMP TABLE wl AS SELECT * FROM watchlist.watchlist_list((SELECT t0 + interval '59 minutes 30 seconds' FROM t), 'binance');
SELECT results_eq($$SELECT symbol FROM wl WHERE symbol LIKE 'READ%' ORDER BY symbol$$, $$VALUES ('READNONE'), ('READTEST')$$,
                  'list: the current members of the exchange, not one that has left');
SELECT results_eq($$SELECT w.as_of, w.type_class, w.spread_latest, w.mean_1h, w.sigma_1h, w.range_1h, w.slope_1h, w.mean_12h,
                           w.sigma_12h, w.range_12h, w.slope_12h, w.zscore_12h, w.crossings_1h, w.drift_ratio, w.funding_rate,
                           w.funding_interval_hours, w.next_funding_time, w.n_1h, w.n_12h
                      FROM wl w WHERE w.symbol = 'READTEST'$$,
                  $$SELECT m.as_of, m.type_class, m.spread_latest, m.mean_1h, m.sigma_1h, m.range_1h, m.slope_1h, m.mean_12h,
                           m.sigma_12h, m.range_12h, m.slope_12h, m.zscore_12h, m.crossings_1h, m.drift_ratio, m.funding_rate,
                           m.funding_interval_hours, m.next_funding_time, m.n_1h, m.n_12h FROM m$$,
                  'list: a member''s statistics are exactly those of watchlist.metrics');
SELECT results_eq($$SELECT w.sampled_at - t0, w.triggered, w.matrix -> 0 ->> 'exch_a', w.pairs_top -> 0 ->> 'high_exch', w.funding_diff_top
                      FROM wl w, t WHERE w.symbol = 'READTEST'$$,
                  $$VALUES (interval '59 minutes', false, 'okx', 'okx', NULL::jsonb)$$,
                  'list: the latest sample carries its cross-exchange matrix and top pairs');
SELECT results_eq($$SELECT as_of, spread_latest, n_1h, n_12h, sampled_at, matrix FROM wl WHERE symbol = 'READNONE'$$,
                  $$VALUES (NULL::timestamptz, NULL::float8, 0::bigint, 0::bigint, NULL::timestamptz, NULL::jsonb)$$,
                  'list: a member without data is listed with empty statistics');

CREATE TEMP TABLE s1 AS SELECT * FROM watchlist.series_minute('binance', 'READTEST', 1, (SELECT t0 + interval '59 minutes 30 seconds' FROM t));
SELECT is((SELECT count(*)::int FROM s1), 60, 'series_minute: one hour = 60 one-minute rows');
SELECT results_eq($$SELECT round((extract(epoch FROM s1.ts - t0) / 60)::numeric), round((s1.spread_rel * 1000)::numeric, 6), s1.filled
                      FROM s1, t WHERE extract(minute FROM s1.ts - t0) IN (0, 19, 20, 34, 35, 59) ORDER BY s1.ts$$,
                  $$VALUES (0::numeric, 1::numeric, false), (19, 20, false), (20, 20, true), (34, 20, true), (35, 36, false), (59, 60, false)$$,
                  'series_minute: each minute its sample; the hole carries the last value forward, flagged filled');
SELECT ok((SELECT abs(s1.midline_15m - (SELECT avg(0.001 * (k + 1)) FROM generate_series(5, 19) k)) < 1e-12 AND
                  abs(s1.baseline - (SELECT avg(0.001 * (k + 1)) FROM generate_series(0, 59) k WHERE k NOT BETWEEN 20 AND 34)) < 1e-12
             FROM s1, t WHERE s1.ts = t0 + interval '19 minutes'),
          'series_minute: midline = mean of the last 15 samples, baseline = mean of the window');
SELECT is((SELECT markers -> 0 ->> 'kind' FROM s1, t WHERE s1.ts = t0 + interval '40 minutes'), 'event_open',
          'series_minute: the event opening at minute 40 is a marker');

SELECT * FROM finish();
ROLLBACK;
