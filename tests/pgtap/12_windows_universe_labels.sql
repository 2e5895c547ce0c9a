-- Rules the other fixtures cannot tell apart: metrics() over 13 h of data (the 12 h window
-- differs from the 1 h one and from "all rows") against raw-row aggregates; the
-- point-in-time universe (left before / entered after / member / re-entered); outcome
-- horizons and cost other than the defaults; factor_observations for all five outcome
-- metrics; pnl quintiles on a day with 12 events (sizes 3, 3, 2, 2, 2).
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
-- (Fixture events are inserted with confirmed_at = start_ts: their entry is their start.)
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(21);

-- ------------------------------------------------------------------ metrics, 12 h window
-- 13 h of 1-minute samples three days ahead (real-time aggregation); every 11th spread
-- missing; p_now not on a bucket boundary.
CREATE TEMP TABLE mt AS SELECT date_trunc('hour', now()) + interval '3 days' AS t0,
                               date_trunc('hour', now()) + interval '3 days 12 hours 57 minutes 30 seconds' AS p_now;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, type_class, triggered, spread_rel)
SELECT t0 + make_interval(mins => k, secs => (k * 7) % 50), 'metr12', 'M12', 'A', 'A', false,
       CASE WHEN k % 11 = 4 THEN NULL ELSE 0.002 + 0.001 * sin(k / 40.0) + 0.0002 * cos(k / 3.0) + 0.0000015 * k END
  FROM mt, generate_series(0, 13 * 60 - 1) AS k;
-- the windows as documented: 5-minute buckets, the one holding p_now included, 144 (12 h) / 12 (1 h) of them
CREATE TEMP TABLE mw AS
SELECT w, count(spread_rel) AS n, avg(spread_rel) AS mean, stddev_samp(spread_rel) AS sigma,
       max(spread_rel) - min(spread_rel) AS rng, 3600 * regr_slope(spread_rel, extract(epoch FROM ts)) AS slope
  FROM mt, watchlist_data.watch_signal_raw r,
       (VALUES ('1h', interval '55 minutes'), ('12h', interval '11 hours 55 minutes')) AS x(w, back)
 WHERE r.exchange = 'metr12' AND r.ts >= date_bin('5 minutes', p_now, t0) - back AND r.ts < date_bin('5 minutes', p_now, t0) + interval '5 minutes'
 GROUP BY w;
CREATE TEMP TABLE mm AS SELECT m.* FROM mt, watchlist.metrics('metr12', 'M12', p_now) m;
SELECT results_eq($$SELECT n_1h, n_12h FROM mm$$, $$SELECT (SELECT n FROM mw WHERE w = '1h'), (SELECT n FROM mw WHERE w = '12h')$$,
                  'n_1h and n_12h count the raw spreads of the 12 and 144 buckets');
SELECT ok((SELECT n_12h < (SELECT count(spread_rel) FROM watchlist_data.watch_signal_raw WHERE exchange = 'metr12') AND n_12h > n_1h FROM mm),
          'the 12 h window leaves out the first hour of the 13 (and is not the 1 h window)');
SELECT ok((SELECT abs(m.mean_12h - w.mean) < 1e-13 AND abs(m.sigma_12h - w.sigma) < 1e-9 * w.sigma AND abs(m.range_12h - w.rng) < 1e-15
             FROM mm m, mw w WHERE w.w = '12h'), 'mean, sigma and range over 12 h equal the raw rows');
SELECT ok((SELECT abs(m.slope_12h - w.slope) < 1e-7 * abs(w.slope) FROM mm m, mw w WHERE w.w = '12h'),
          'slope over 12 h (per hour) equals the raw regression slope');
SELECT ok((SELECT abs(m.mean_1h - w.mean) < 1e-13 AND abs(m.sigma_1h - w.sigma) < 1e-9 * w.sigma AND abs(m.slope_1h - w.slope) < 1e-7 * abs(w.slope)
             FROM mm m, mw w WHERE w.w = '1h'), 'mean, sigma and slope over 1 h equal the raw rows');
SELECT ok((SELECT abs(m.zscore_12h - (l.spread_rel - w.mean) / w.sigma) < 1e-9 AND m.spread_latest = l.spread_rel
             FROM mm m, mw w, (SELECT spread_rel FROM watchlist_data.watch_signal_raw WHERE exchange = 'metr12' ORDER BY ts DESC LIMIT 1) l
            WHERE w.w = '12h'), 'z-score = (latest raw spread - raw 12 h mean) / raw 12 h sigma');

-- ------------------------------------------------------------- point-in-time universe
-- Events at T = 2036-03-01 12:00 for five symbols; a membership for each but NOTMEMBER.
CREATE TEMP TABLE ut AS SELECT '2036-03-01T12:00:00Z'::timestamptz AS t;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
SELECT t, 'univ', s, 'A', true, 0.001 FROM ut, unnest(ARRAY['MEMBER', 'LEFTBEFORE', 'ENTEREDAFTER', 'REENTERED', 'NOTMEMBER', 'LEFTATSTART']) s;
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'univ', s, 'A', t, t + interval '2 minutes', 120, 3, 'confirmed', false, t
  FROM ut, unnest(ARRAY['MEMBER', 'LEFTBEFORE', 'ENTEREDAFTER', 'REENTERED', 'NOTMEMBER', 'LEFTATSTART']) s;
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at, left_at)
SELECT 'univ', s, t + e, t + l FROM ut, (VALUES
    ('MEMBER',       interval '-1 day',    NULL::interval),
    ('LEFTBEFORE',   interval '-1 day',    interval '-1 minute'),
    ('ENTEREDAFTER', interval '1 minute',  NULL),
    ('REENTERED',    interval '-2 days',   interval '-1 day'),
    ('REENTERED',    interval '-1 hour',   NULL),
    ('LEFTATSTART',  interval '-1 day',    interval '0')) AS m(s, e, l);
SELECT results_eq($$SELECT DISTINCT symbol FROM watchlist.event_factors('2036-03-01', '2036-03-02', NULL, 'univ') ORDER BY 1$$,
                  $$VALUES ('MEMBER'), ('REENTERED')$$,
                  'universe at the event start: members count; left before, entered after, left at the start instant and never members do not');
DELETE FROM watchlist_data.watchlist_membership;
SELECT results_eq($$SELECT count(DISTINCT symbol)::int FROM watchlist.event_factors('2036-03-01', '2036-03-02', NULL, 'univ')$$,
                  $$VALUES (6)$$, 'with no membership recorded at all, every event counts');

-- ------------------------------------------------- horizons and cost other than defaults
-- One short-spread event: spread 0.0040 at the start falling 0.00002 a minute; no
-- executable prices, no funding. Horizons {15, 45}, cost 5.5 bps.
SELECT count(*) FROM watchlist.set_setting('outcome_horizons_min', '{15,45}');
SELECT count(*) FROM watchlist.set_setting('outcome_cost_bps', '5.5');
CREATE TEMP TABLE ht AS SELECT '2036-04-01T00:00:00Z'::timestamptz AS t0;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
SELECT t0 + make_interval(mins => k), 'hzn', 'HZN', 'A', false, 0.0040 - 0.00002 * k FROM ht, generate_series(-3, 50) AS k;
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'hzn', 'HZN', 'A', t0, t0 + interval '2 minutes', 120, 3, 'confirmed', false, t0 FROM ht;
CREATE TEMP TABLE hid AS SELECT array_agg(id) AS ids FROM watchlist_data.watch_signal_event WHERE exchange = 'hzn';
SELECT results_eq($$SELECT written, uncovered FROM watchlist.label_outcomes((SELECT t0 + interval '1 day' FROM ht), (SELECT ids FROM hid))$$,
                  $$VALUES (2, 0)$$, 'two labels: one per configured horizon');
-- 15 min: 10000 * (0.0040 - 0.0037) - 5.5 = -2.5; 45 min: 10000 * (0.0040 - 0.0031) - 5.5 = 3.5
SELECT results_eq($$SELECT o.horizon_min, round(o.pnl::numeric, 9), round(o.spread_change::numeric, 12)
                      FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                     WHERE e.exchange = 'hzn' ORDER BY 1$$,
                  $$VALUES (15, -2.5::numeric, -0.0003::numeric), (45, 3.5, -0.0009)$$,
                  'pnl at 15 and 45 minutes with a 5.5 bps cost');
SELECT count(*) FROM watchlist.set_setting('outcome_cost_bps', '0');
SELECT results_eq($$SELECT written FROM watchlist.label_outcomes((SELECT t0 + interval '1 day' FROM ht), (SELECT ids FROM hid))$$,
                  $$VALUES (2)$$, 'recomputing after a cost change rewrites both labels');
SELECT results_eq($$SELECT o.horizon_min, round(o.pnl::numeric, 9) FROM watchlist_data.future_outcome o
                      JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id WHERE e.exchange = 'hzn' ORDER BY 1$$,
                  $$VALUES (15, 3::numeric), (45, 9::numeric)$$, 'cost 0: pnl is the spread move alone');

-- --------------------------------------------------- factor_observations, five metrics
-- Three events of exchange 'fobs' with hand-set labels at 30 min, one more uncovered.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate)
VALUES ('2036-05-01T01:00Z', 'fobs', 'FO1', 'A', true, 0.001, 0.0001), ('2036-05-01T02:00Z', 'fobs', 'FO2', 'A', true, 0.002, 0.0002),
       ('2036-05-01T03:00Z', 'fobs', 'FO3', 'A', true, 0.003, 0.0003), ('2036-05-01T04:00Z', 'fobs', 'FO4', 'A', true, 0.004, 0.0004);
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'fobs', 'FO' || i, 'A', '2036-05-01T00:00Z'::timestamptz + make_interval(hours => i), '2036-05-01T00:02Z'::timestamptz + make_interval(hours => i),
       120, 3, 'confirmed', false, '2036-05-01T00:00Z'::timestamptz + make_interval(hours => i) FROM generate_series(1, 4) i;
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
SELECT 'fobs', 'FO' || i, '2036-01-01' FROM generate_series(1, 4) i;
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl, spread_change, funding_change, max_drawdown, volatility)
SELECT e.id, 30, true, 10 * i, -0.0001 * i, 0.00001 * i, 2.5 * i, 0.0003 * i
  FROM watchlist_data.watch_signal_event e, generate_series(1, 3) i WHERE e.exchange = 'fobs' AND e.symbol = 'FO' || i;
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered)
SELECT id, 30, false FROM watchlist_data.watch_signal_event WHERE exchange = 'fobs' AND symbol = 'FO4';
CREATE FUNCTION pg_temp.fo(p_metric text) RETURNS TABLE (sym text, x float8, y float8) LANGUAGE sql AS $$
    SELECT symbol, x, y FROM watchlist_data.factor_observations('2036-05-01', '2036-05-02', p_metric, '1 day', NULL, 'fobs', 'spread_rel')
     ORDER BY symbol
$$;
SELECT results_eq($$SELECT * FROM pg_temp.fo('pnl')$$, $$VALUES ('FO1', 0.001::float8, 10::float8), ('FO2', 0.002, 20), ('FO3', 0.003, 30)$$,
                  'pnl observations: covered labels only, factor at the start');
SELECT results_eq($$SELECT sym, y FROM pg_temp.fo('spread_change')$$,
                  $$VALUES ('FO1', -0.0001::float8), ('FO2', -0.0002::float8), ('FO3', -0.0003::float8)$$, 'spread_change observations');
SELECT results_eq($$SELECT sym, y FROM pg_temp.fo('funding_change')$$,
                  $$VALUES ('FO1', 0.00001::float8), ('FO2', 0.00002::float8), ('FO3', 0.00003::float8)$$, 'funding_change observations');
SELECT results_eq($$SELECT sym, y FROM pg_temp.fo('max_drawdown')$$,
                  $$VALUES ('FO1', 2.5::float8), ('FO2', 5::float8), ('FO3', 7.5::float8)$$, 'max_drawdown observations');
SELECT results_eq($$SELECT sym, y FROM pg_temp.fo('volatility')$$,
                  $$VALUES ('FO1', 0.0003::float8), ('FO2', 0.0006::float8), ('FO3', 0.0009::float8)$$, 'volatility observations');
SELECT throws_ok($$SELECT * FROM pg_temp.fo('sharpe')$$, '22023',
                 'unknown outcome metric "sharpe" (pnl, spread_change, funding_change, max_drawdown, volatility, excess_pnl, excess_pnl_tod, excess_pnl_sector, excess_pnl_tier)',
                 'an unknown metric is refused, naming the known ones');

-- ------------------------------------------------------------ quintiles, 12 events a day
-- Horizon 10 min, cost 0: event i of day 2036-06-01 ends with pnl p(i) bps, p a shuffle
-- of 1..12 (ids do not follow pnl); one event the next day; one uncovered on day 1.
SELECT count(*) FROM watchlist.set_setting('outcome_horizons_min', '{10}');
CREATE TEMP TABLE qd AS
SELECT i, p, '2036-06-01T00:00Z'::timestamptz + make_interval(hours => i) + CASE WHEN i = 13 THEN interval '1 day' ELSE interval '0' END AS st
  FROM (VALUES (1, 7), (2, 12), (3, 1), (4, 9), (5, 4), (6, 11), (7, 2), (8, 6), (9, 10), (10, 3), (11, 8), (12, 5), (13, 20)) AS v(i, p);
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
SELECT st + make_interval(mins => k), 'qday', 'Q' || i, 'A', false,
       CASE WHEN k <= 0 THEN 0.003 ELSE 0.003 - p / 10000.0 END
  FROM qd, unnest(ARRAY[-1, 0, 5, 10, 11]) AS k;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
VALUES ('2036-06-01T20:00Z', 'qday', 'QHOLE', 'A', false, 0.003);
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'qday', 'Q' || i, 'A', st, st + interval '2 minutes', 120, 3, 'confirmed', false, st FROM qd
UNION ALL SELECT 'qday', 'QHOLE', 'A', '2036-06-01T20:00Z', '2036-06-01T20:02Z', 120, 3, 'confirmed', false, '2036-06-01T20:00Z';
SELECT results_eq($$SELECT written, uncovered FROM watchlist.label_outcomes('2036-06-03',
                      (SELECT array_agg(id) FROM watchlist_data.watch_signal_event WHERE exchange = 'qday'))$$,
                  $$VALUES (14, 1)$$, '14 labels, the hole uncovered');
SELECT results_eq($$SELECT round(o.pnl::numeric, 6), (o.label ->> 'quantile')::int FROM watchlist_data.future_outcome o
                      JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                     WHERE e.exchange = 'qday' AND e.start_ts < '2036-06-02' AND o.covered ORDER BY o.pnl$$,
                  $$VALUES (1::numeric, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2), (7, 3), (8, 3), (9, 4), (10, 4), (11, 5), (12, 5)$$,
                  'a day of 12 events: quintiles of pnl in groups of 3, 3, 2, 2, 2 (ntile), lowest pnl first');
SELECT results_eq($$SELECT e.symbol, o.label ? 'quantile', (o.label ->> 'quantile')::int FROM watchlist_data.future_outcome o
                      JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                     WHERE e.exchange = 'qday' AND e.symbol IN ('Q13', 'QHOLE') ORDER BY 1$$,
                  $$VALUES ('Q13', true, 1), ('QHOLE', false, NULL::int)$$,
                  'the next day ranks alone (its only event is quintile 1); an uncovered label has no quintile');

SELECT * FROM finish();
ROLLBACK;
