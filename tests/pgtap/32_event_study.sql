-- The event study and its benchmarks on a hand-computed fixture (values in the comments):
-- leave-one-out hour benchmark, point-in-time hour-of-day benchmark (earlier days only,
-- later data never changes it), the study's path split into convergence, carry (funding)
-- and cost, the pre-event window, carried minutes counted, breakpoints known at entry, the
-- clustered band, and the reconciliation with the labels (label_outcomes) at each horizon.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(16);

-- t = 10:00 UTC two days ago; labels at horizons 2 and 3 minutes, cost 8 bps
CREATE TEMP TABLE wl_es AS SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - INTERVAL '2 days' + INTERVAL '10 hours' AS t;
UPDATE watchlist_data.settings SET value = '{2,3}' WHERE key = 'outcome_horizons_min';
UPDATE watchlist_data.settings SET value = '8' WHERE key = 'outcome_cost_bps';
UPDATE watchlist_data.settings SET value = '30 days' WHERE key = 'raw_retention';
-- A (entry t, short: spread 0.0010): 0.0004 up to t-30, 0.0007 to t-1 (no row at t-10),
--   0.0010 at t, 0.0008 at t+1, 0.0006 at t+2, no row at t+3, 0.0005 from t+4; funding
--   time t+2 at rate 0.0001 named by the rows before t+2, then t+8h at 0.0002
-- B (entry t+20, long: spread -0.0010, rows from t+10): -0.0009 at t+21, -0.0007 from t+22
-- C (entry t+75, the only event of hour 11, rows from t+70): 0.0020 flat
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate, next_funding_time)
SELECT wl_es.t + m * INTERVAL '1 minute', 'pgtapes', 'A', 'A', m = 0,
       CASE WHEN m <= -30 THEN 0.0004 WHEN m < 0 THEN 0.0007 WHEN m = 0 THEN 0.0010 WHEN m = 1 THEN 0.0008
            WHEN m = 2 THEN 0.0006 ELSE 0.0005 END,
       CASE WHEN m < 2 THEN 0.0001 ELSE 0.0002 END,
       CASE WHEN m < 2 THEN wl_es.t + INTERVAL '2 minutes' ELSE wl_es.t + INTERVAL '8 hours' END
  FROM wl_es, generate_series(-65, 10) AS m WHERE m NOT IN (-10, 3)
UNION ALL
SELECT wl_es.t + m * INTERVAL '1 minute', 'pgtapes', 'B', 'A', m = 20,
       CASE WHEN m <= 20 THEN -0.0010 WHEN m = 21 THEN -0.0009 ELSE -0.0007 END, 0.0001, wl_es.t + INTERVAL '8 hours'
  FROM wl_es, generate_series(10, 30) AS m
UNION ALL
SELECT wl_es.t + m * INTERVAL '1 minute', 'pgtapes', 'C', 'A', m = 75, 0.0020, 0.0001, wl_es.t + INTERVAL '8 hours'
  FROM wl_es, generate_series(70, 80) AS m;
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, confirmed_at, duration_sec, n_samples, status, is_open)
SELECT 'pgtapes', v.s, 'A', wl_es.t + v.m * INTERVAL '1 minute', wl_es.t + v.m * INTERVAL '1 minute',
       wl_es.t + v.m * INTERVAL '1 minute', 0, 1, 'confirmed', false
  FROM wl_es, (VALUES ('A', 0), ('B', 20), ('C', 75)) AS v(s, m);
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
SELECT 'pgtapes', s, t - INTERVAL '1 day' FROM wl_es, unnest(ARRAY['A', 'B', 'C']) AS s;
SELECT lives_ok($$SELECT * FROM wl_es, watchlist.label_outcomes(t + INTERVAL '1 day',
                      ARRAY(SELECT id FROM watchlist_data.watch_signal_event WHERE exchange = 'pgtapes'))$$,
                'the fixture''s events are labelled');
-- A at 2: 10^4 * (-(0.0006 - 0.0010) + 0.0001) - 8 = -3; at 3 the same (no row at t+3)
-- B: 10^4 * (-0.0007 + 0.0010) - 8 = -5;  C: -8
SELECT results_eq($$SELECT e.symbol, o.horizon_min, round(o.pnl::numeric, 9) FROM watchlist_data.future_outcome AS o
                      JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id WHERE e.exchange = 'pgtapes' ORDER BY 1, 2$$,
                  $$VALUES ('A', 2, -3.000000000), ('A', 3, -3.000000000), ('B', 2, -5.000000000), ('B', 3, -5.000000000),
                           ('C', 2, -8.000000000), ('C', 3, -8.000000000)$$,
                  'the labels the study must reconcile with (hand-computed: convergence + funding - cost)');

-- outcome_excess: A and B share hour 10, each the other's benchmark; C is alone: NULL
SELECT results_eq($$SELECT x.symbol, x.horizon_min, round(x.bench_universe::numeric, 9), round(x.excess_pnl::numeric, 9)
                      FROM wl_es, watchlist.outcome_excess(t - INTERVAL '1 hour', t + INTERVAL '3 hours') AS x
                     WHERE x.horizon_min = 2 ORDER BY 1$$,
                  $$VALUES ('A', 2, -5.000000000, 2.000000000), ('B', 2, -3.000000000, -2.000000000), ('C', 2, NULL, NULL)$$,
                  'outcome_excess: leave-one-out hour benchmark; a single event in its hour has none (never itself)');
-- D: day 2 at 10:10 (pnl 100), E: day 3 at 10:10 (pnl 50), labels only
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, confirmed_at, duration_sec, n_samples, status, is_open)
SELECT 'pgtapes', v.s, 'A', wl_es.t + v.d, wl_es.t + v.d, wl_es.t + v.d, 0, 1, 'confirmed', false
  FROM wl_es, (VALUES ('D', INTERVAL '1 day 10 minutes'), ('E', INTERVAL '2 days 10 minutes')) AS v(s, d);
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl)
SELECT e.id, 2, true, CASE e.symbol WHEN 'D' THEN 100 ELSE 50 END
  FROM watchlist_data.watch_signal_event AS e WHERE e.exchange = 'pgtapes' AND e.symbol IN ('D', 'E');
SELECT results_eq($$SELECT x.symbol, round(x.bench_tod::numeric, 9), round(x.excess_pnl_tod::numeric, 9)
                      FROM wl_es, watchlist.outcome_excess(t - INTERVAL '1 hour', t + INTERVAL '3 days') AS x
                     WHERE x.horizon_min = 2 ORDER BY 1$$,
                  $$VALUES ('A', NULL::numeric, NULL::numeric), ('B', NULL, NULL), ('C', NULL, NULL),
                           ('D', -4.000000000, 104.000000000), ('E', 30.666666667, 19.333333333)$$,
                  'outcome_excess: hour of day from earlier days only (D: A and B; E: A, B and D; day 1: none)');
SELECT is((SELECT x.bench_tod FROM wl_es, watchlist.outcome_excess(t - INTERVAL '1 hour', t + INTERVAL '1 day 1 hour') AS x
            WHERE x.symbol = 'D' AND x.horizon_min = 2),
          (SELECT x.bench_tod FROM wl_es, watchlist.outcome_excess(t - INTERVAL '1 hour', t + INTERVAL '3 days') AS x
            WHERE x.symbol = 'D' AND x.horizon_min = 2),
          'outcome_excess: a later day''s label (E) does not change an earlier event''s hour-of-day benchmark');
SELECT is((SELECT bench_universe FROM wl_es, watchlist.outcome_excess(t + INTERVAL '1 day', t + INTERVAL '1 day 1 hour') AS x
            WHERE x.symbol = 'D'), NULL::float8, 'outcome_excess: D, alone in its hour, has no hour benchmark');

-- event_study, raw pnl, min_history 1, clusters of 1 hour: A (no earlier event: quintile
-- NULL), B (one earlier value, 0.0010 > -0.0010: quintile 1), C (0.0020 above both: 5)
CREATE TEMP TABLE wl_es_raw AS
SELECT s.* FROM wl_es, watchlist.event_study(t - INTERVAL '1 hour', t + INTERVAL '3 hours', 'spread_rel', 3, false, NULL, 'pgtapes',
                                              INTERVAL '1 hour', 1) AS s;
SELECT results_eq($$SELECT minute, n_events, n_carried, n_clusters, round(mean_pnl::numeric, 9), round(mean_convergence::numeric, 9),
                           round(mean_carry::numeric, 9), round(mean_cost::numeric, 9), mean_bench
                      FROM wl_es_raw WHERE quintile = 0 AND minute IN (-60, -10, 0, 2, 3) ORDER BY minute$$,
                  $$VALUES (-60, 1, 0, 1, 6.000000000, 6.000000000, 0.000000000, 0.000000000, NULL::float8),
                           (-10, 2, 1, 1, 1.500000000, 1.500000000, 0.000000000, 0.000000000, NULL),
                           (0, 3, 0, 2, -8.000000000, 0.000000000, 0.000000000, -8.000000000, NULL),
                           (2, 3, 0, 2, -5.333333333, 2.333333333, 0.333333333, -8.000000000, NULL),
                           (3, 3, 1, 2, -5.333333333, 2.333333333, 0.333333333, -8.000000000, NULL)$$,
                  'event_study: pre-window (A only at -60: run-up 6 bps; B joins at -10, A carried), the split, C from 0, A carried at 3');
-- the band at 2: ys -3, -5 (hour 10), -8 (hour 11); mean -16/3; cluster sums 8/3, -8/3;
-- se^2 = 2/1 * (128/9) / 9 = 256/81, se = 16/9; mean -+ 1.96 * 16/9
SELECT results_eq($$SELECT round(ci_low::numeric, 9), round(ci_high::numeric, 9) FROM wl_es_raw WHERE quintile = 0 AND minute = 2$$,
                  $$VALUES (-8.817777778, -1.848888889)$$, 'event_study: the band from the cluster-robust se of the mean');
SELECT is((SELECT count(*)::int FROM wl_es_raw WHERE quintile = 0 AND minute >= -1 AND ci_low IS NULL), 0,
          'event_study: a band wherever two clusters hold events');
SELECT results_eq($$SELECT quintile, round(mean_pnl::numeric, 9) FROM wl_es_raw WHERE minute = 3 ORDER BY quintile NULLS LAST$$,
                  $$VALUES (0, -5.333333333), (1, -5.000000000), (5, -8.000000000), (NULL, -3.000000000)$$,
                  'event_study: quintiles from the values known at entry; the first event (no history) under NULL');
SELECT is((SELECT min(minute) || '..' || max(minute) || ' ' || count(DISTINCT minute) FROM wl_es_raw WHERE quintile = 0),
          '-60..3 64', 'event_study: minutes -60 to the horizon, none missing');

-- excess: C has no benchmark (alone in hour 11); A's is B's path and B's A's
CREATE TEMP TABLE wl_es_x AS
SELECT s.* FROM wl_es, watchlist.event_study(t - INTERVAL '1 hour', t + INTERVAL '3 hours', 'spread_rel', 3, true, NULL, 'pgtapes',
                                              INTERVAL '1 day', 1) AS s;
SELECT results_eq($$SELECT quintile, minute, n_events, round(mean_pnl::numeric, 9), round(mean_bench::numeric, 9),
                           round((mean_convergence + mean_carry + mean_cost - mean_bench)::numeric, 9)
                      FROM wl_es_x WHERE minute = 2 ORDER BY quintile NULLS LAST$$,
                  $$VALUES (0, 2, 2, 0.000000000, -4.000000000, 0.000000000), (1, 2, 1, -2.000000000, -3.000000000, -2.000000000),
                           (NULL, 2, 1, 2.000000000, -5.000000000, 2.000000000)$$,
                  'event_study excess: leave-one-out benchmark of the same clock hour; pnl = convergence + carry + cost - bench');
SELECT is((SELECT min(minute) FROM wl_es_x), -10, 'event_study excess: a minute only where another event of the hour has one');
-- reconciliation: at each label horizon, each group's mean excess path = the mean excess_pnl
SELECT is((SELECT count(*)::int || ' ' || (max(abs(s.mean_pnl - x.excess_pnl)) < 0.01)
             FROM wl_es, watchlist.outcome_excess(t - INTERVAL '1 hour', t + INTERVAL '3 hours') AS x
             JOIN watchlist_data.watch_signal_event AS e ON e.id = x.event_id
             JOIN wl_es_x AS s ON s.minute = x.horizon_min
              AND ((e.symbol = 'A' AND s.quintile IS NULL) OR (e.symbol = 'B' AND s.quintile = 1))),
          '4 true', 'event_study reconciles: each quintile''s mean excess path = its mean excess label pnl at both horizons (0.01 bps)');
SELECT is((SELECT count(*)::int FROM wl_es_x AS s
             JOIN (SELECT x.horizon_min, avg(x.excess_pnl) AS m
                     FROM wl_es, watchlist.outcome_excess(t - INTERVAL '1 hour', t + INTERVAL '3 hours') AS x
                    WHERE x.excess_pnl IS NOT NULL GROUP BY 1) AS x ON s.minute = x.horizon_min
            WHERE s.quintile = 0 AND abs(s.mean_pnl - x.m) < 0.01), 2,
          'event_study reconciles over all its events at both horizons');
SELECT throws_ok($$SELECT * FROM watchlist.event_study(now() - INTERVAL '1 hour', now(), 'spread_rel', 3, true, NULL, NULL, INTERVAL '0', 1)$$,
                 '22023', NULL, 'event_study refuses a zero cluster period');

SELECT * FROM finish();
ROLLBACK;
