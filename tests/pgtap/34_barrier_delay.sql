-- Barrier labels (watchlist_data.label_barriers through the outcome job) on hand-built spread
-- paths, one per barrier and per way to be uncovered, with the expected values worked by
-- hand; recomputation on late data; the settings' validation; entry-delay labels
-- (watchlist.outcome_delays) whose delay 0 is the stored labels, with a hand-worked delay;
-- the leaderboard at each delay.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(26);

-- One horizon (30 min), cost 8 bps, sigma over 5 minutes, k = m = 2.
UPDATE watchlist_data.settings SET value = '{30}' WHERE key = 'outcome_horizons_min';
UPDATE watchlist_data.settings SET value = '8' WHERE key = 'outcome_cost_bps';
UPDATE watchlist_data.settings SET value = '5 minutes' WHERE key = 'barrier_sigma_window';
UPDATE watchlist_data.settings SET value = '2' WHERE key IN ('barrier_take_profit_sigma', 'barrier_stop_sigma');

-- Entry t0 = 2036-07-01 12:00 (minute k = 0); rows every minute k = -20 .. 50; funding rate
-- 0.0001 with a funding time at k = 3 (rows before it), none after until t0 + 8 h.
-- Before the entry every symbol has the sigma pattern e, e+a, e, e+a, e at k = -4 .. 0
-- (a = 0.0003: four changes +a, -a, +a, -a, mean 0, sigma = sqrt(4 a^2 / 3) = 2a / sqrt(3)
-- = 0.000346410161513775...; take_profit = stop_loss = 2 sigma = 0.00069282...), the row at
-- k = -5 (outside the window (t0 - 5 min, t0]) far off, e before. After the entry e, except:
--   TP   e = 0.0100 short; k = 5: 0.0090 (move 0.0010 >= 2 sigma), k = 9: 0.0110 (a stop, later)
--   SL   e = 0.0100 short; k = 7: 0.0108 (move -0.0008 <= -2 sigma)
--   SLL  e = -0.0100 long; k = 6: -0.0108 (move -0.0008)
--   TO   e = 0.0100; k = 2: 0.0101, k = 10: 0.0102, k = 20: 0.0098, k = 32: 0.0099 (moves < 2 sigma)
--   CV   e = 0.0003 (pattern 0.0003, 0.0006): take_profit = least(|e|, 2 sigma) = 0.0003;
--        k = 2: 0.0001 (move 0.0002, not yet), k = 4: -0.0001 (past zero: take profit)
--   NOSIG constant e before the entry: sigma 0;  FEW: no row in k = -9 .. -1: one row in the window
--   HOLE rows k = -20 .. 15 and 45 .. 50: the fixed label has a hole at its horizon
CREATE TEMP TABLE bt AS SELECT '2036-07-01T12:00:00Z'::timestamptz AS t0;
CREATE TEMP TABLE bsym (symbol text, e float8, a float8);
INSERT INTO bsym VALUES ('TP', 0.0100, 0.0003), ('SL', 0.0100, 0.0003), ('SLL', -0.0100, 0.0003), ('TO', 0.0100, 0.0003),
                        ('CV', 0.0003, 0.0003), ('NOSIG', 0.0100, 0), ('FEW', 0.0100, 0.0003), ('HOLE', 0.0100, 0.0003);
CREATE TEMP TABLE bover (symbol text, kk int, spread float8);
INSERT INTO bover VALUES ('TP', 5, 0.0090), ('TP', 9, 0.0110), ('SL', 7, 0.0108), ('SLL', 6, -0.0108),
                         ('TO', 2, 0.0101), ('TO', 10, 0.0102), ('TO', 20, 0.0098), ('TO', 32, 0.0099),
                         ('CV', 2, 0.0001), ('CV', 4, -0.0001);
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate, next_funding_time)
SELECT t0 + make_interval(mins => g.k), 'bar', s.symbol, 'A', g.k BETWEEN -1 AND 0,
       coalesce(o.spread, CASE WHEN k = -5 THEN s.e + 0.01
                               WHEN k BETWEEN -4 AND 0 AND k % 2 <> 0 THEN s.e + s.a ELSE s.e END),
       0.0001, CASE WHEN k < 3 THEN t0 + INTERVAL '3 minutes' ELSE t0 + INTERVAL '8 hours' END
  FROM bt, bsym AS s CROSS JOIN generate_series(-20, 50) AS g(k)
  LEFT JOIN bover AS o ON o.symbol = s.symbol AND o.kk = g.k
 WHERE NOT (s.symbol = 'FEW' AND k BETWEEN -9 AND -1) AND NOT (s.symbol = 'HOLE' AND k BETWEEN 16 AND 44);
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'bar', s.symbol, 'A', t0 - INTERVAL '1 minute', t0, 60, 2, 'confirmed', false, t0 FROM bt, bsym AS s;

SELECT * FROM bt, watchlist.label_outcomes_incremental(t0 + INTERVAL '60 minutes') \g /dev/null
CREATE TEMP VIEW bl AS
SELECT e.symbol, b.* FROM watchlist_data.barrier_outcome AS b JOIN watchlist_data.watch_signal_event AS e ON e.id = b.event_id
 WHERE e.exchange = 'bar';

SELECT is((SELECT count(*)::int FROM bl), 8, 'the outcome job writes one barrier label per fixed label');
SELECT ok((SELECT bool_and(abs(sigma - 0.0006 / sqrt(3)) < 1e-12 * sigma
                   AND abs(take_profit - 0.0012 / sqrt(3)) < 1e-12 * take_profit
                   AND abs(stop_loss - 0.0012 / sqrt(3)) < 1e-12 * stop_loss)
             FROM bl WHERE symbol IN ('TP', 'SL', 'SLL', 'TO')),
          'sigma = sd of the four 1-minute changes in (t0 - 5 min, t0] = 2a / sqrt(3); both barriers 2 sigma');
SELECT results_eq($$SELECT barrier, hit_ts - t0, sign::int FROM bl, bt WHERE symbol = 'TP'$$,
                  $$VALUES ('take_profit', INTERVAL '5 minutes', 1)$$,
                  'take profit at the first row 2 sigma in favour (the stop touched later does not count)');
SELECT ok((SELECT abs(pnl - 3.0) < 1e-9 AND funding_times = 1 FROM bl WHERE symbol = 'TP'),
          'take-profit pnl: 10000 * (0.0100 - 0.0090 + funding 0.0001) - 8 = 3 bps');
SELECT results_eq($$SELECT barrier, hit_ts - t0, sign::int FROM bl, bt WHERE symbol = 'SL'$$,
                  $$VALUES ('stop_loss', INTERVAL '7 minutes', -1)$$, 'a short stops out 2 sigma against it');
SELECT ok((SELECT abs(pnl - (-15.0)) < 1e-9 FROM bl WHERE symbol = 'SL'),
          'stop pnl: 10000 * (0.0100 - 0.0108 + 0.0001) - 8 = -15 bps');
SELECT results_eq($$SELECT barrier, hit_ts - t0 FROM bl, bt WHERE symbol = 'SLL'$$,
                  $$VALUES ('stop_loss', INTERVAL '6 minutes')$$, 'a long (negative spread) stops when the spread falls further');
SELECT ok((SELECT abs(pnl - (-17.0)) < 1e-9 FROM bl WHERE symbol = 'SLL'),
          'long stop pnl: 10000 * (-0.0108 + 0.0100 - 0.0001) - 8 = -17 bps');
SELECT results_eq($$SELECT barrier, hit_ts - t0 FROM bl, bt WHERE symbol = 'TO'$$,
                  $$VALUES ('timeout', INTERVAL '30 minutes')$$, 'neither barrier by the horizon: timeout at t0 + horizon');
SELECT is((SELECT b.pnl FROM bl AS b WHERE b.symbol = 'TO'),
          (SELECT o.pnl FROM watchlist_data.future_outcome AS o JOIN bl ON bl.event_id = o.event_id WHERE bl.symbol = 'TO'),
          'a timeout''s pnl is the fixed label''s exactly');
SELECT results_eq($$SELECT barrier, hit_ts - t0, take_profit FROM bl, bt WHERE symbol = 'CV'$$,
                  $$VALUES ('take_profit', INTERVAL '4 minutes', 0.0003::float8)$$,
                  'the spread reaching zero takes profit (least(|entry|, 2 sigma)), a move short of it does not');
SELECT results_eq($$SELECT symbol, covered, reason, barrier, pnl FROM bl WHERE NOT covered ORDER BY symbol$$,
                  $$VALUES ('FEW', false, 'fewer than 2 spread changes in the sigma window', NULL::text, NULL::float8),
                           ('HOLE', false, 'hole in the data at the horizon', NULL, NULL),
                           ('NOSIG', false, 'no spread change in the sigma window', NULL, NULL)$$,
                  'uncovered: too few changes, no change, or the fixed label uncovered (its reason); no numbers');
SELECT results_eq($$SELECT DISTINCT k_sigma, m_sigma, sigma_window FROM bl$$, $$VALUES (2::numeric, 2::numeric, INTERVAL '5 minutes')$$,
                  'each label records the k, m and sigma window it was computed with');

-- late data: a row between TO's minutes 12 and 13 that touches the take profit
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate, next_funding_time)
SELECT t0 + INTERVAL '12 minutes 30 seconds', 'bar', 'TO', 'A', false, 0.0092, 0.0001, t0 + INTERVAL '8 hours' FROM bt;
SELECT * FROM bt, watchlist.label_outcomes_incremental(t0 + INTERVAL '62 minutes') \g /dev/null
SELECT results_eq($$SELECT barrier, hit_ts - t0 FROM bl, bt WHERE symbol = 'TO'$$,
                  $$VALUES ('take_profit', INTERVAL '12 minutes 30 seconds')$$,
                  'the job recomputes a barrier label under a late row');
DELETE FROM watchlist_data.watch_signal_raw USING bt
 WHERE exchange = 'bar' AND symbol = 'TO' AND ts = t0 + INTERVAL '12 minutes 30 seconds';
SELECT * FROM bt, watchlist.label_outcomes(t0 + INTERVAL '62 minutes', ARRAY(SELECT event_id FROM bl WHERE symbol = 'TO')) \g /dev/null
SELECT is((SELECT barrier FROM bl WHERE symbol = 'TO'), 'timeout', '... and back when recomputed without it');

-- entry delays
SELECT results_eq($$SELECT d.event_id, d.covered, d.pnl, (d.entry_px)::text, (d.exit_px)::text
                     FROM bt, watchlist.outcome_delays(t0, t0 + INTERVAL '1 minute', '{0}') AS d ORDER BY 1$$,
                  $$SELECT o.event_id, o.covered, o.pnl, o.label ->> 'entry_px', o.label ->> 'exit_px'
                      FROM watchlist_data.future_outcome AS o JOIN bl ON bl.event_id = o.event_id ORDER BY 1$$,
                  'delay 0 is the stored labels exactly (coverage, pnl, prices)');
SELECT is((SELECT count(*)::int FROM bt, watchlist.outcome_delays(t0, t0 + INTERVAL '1 minute') AS d JOIN bl ON bl.event_id = d.event_id),
          32, 'four delays (0, 1, 2, 5) per label by default');
SELECT results_eq($$SELECT d.delay_min, d.entry_ts - t0, d.exit_ts - t0, round(d.pnl::numeric, 9)
                     FROM bt, watchlist.outcome_delays(t0, t0 + INTERVAL '1 minute', '{0,2,5}') AS d JOIN bl ON bl.event_id = d.event_id
                    WHERE bl.symbol = 'TO' ORDER BY 1$$,
                  $$VALUES (0, INTERVAL '0', INTERVAL '30 minutes', -7.0), (2, INTERVAL '2 minutes', INTERVAL '32 minutes', -5.0),
                           (5, INTERVAL '5 minutes', INTERVAL '35 minutes', -8.0)$$,
                  'TO delayed: 0: 10000 * (0 + 0.0001) - 8 = -7; 2: 0.0101 -> 0.0099 + funding = -5; 5: after the funding time, -8');
SELECT results_eq($$SELECT d.delay_min, d.covered, d.reason FROM bt, watchlist.outcome_delays(t0, t0 + INTERVAL '1 minute', '{0,5}') AS d
                     JOIN bl ON bl.event_id = d.event_id WHERE bl.symbol = 'HOLE' ORDER BY 1$$,
                  $$VALUES (0, false, 'hole in the data at the horizon'), (5, false, 'hole in the data at the horizon')$$,
                  'a delayed trade is uncovered for the labels'' reasons');
SELECT throws_ok($$SELECT * FROM watchlist.outcome_delays(now() - INTERVAL '1 day', now(), '{0,-1}')$$, '22023',
                 'outcome_delays: delay -1 is not a whole number of minutes in 0 .. 1440', 'a negative delay is refused, named');
SELECT results_eq($$SELECT b.factor, b.horizon_min, b.n_events, b.mean_rank_ic, b.rank_ic_change
                      FROM bt, watchlist.factor_leaderboard_by_delay(t0, t0 + INTERVAL '1 minute', '{0,2}', INTERVAL '1 day', 2,
                                                                     NULL, 'bar', 'spread_rel') AS b WHERE b.delay_min = 0$$,
                  $$SELECT l.factor, l.horizon_min, l.n_events, l.mean_rank_ic, CASE WHEN l.mean_rank_ic IS NOT NULL THEN 0::float8 END
                      FROM bt, watchlist.factor_leaderboard(t0, t0 + INTERVAL '1 minute', 'pnl', INTERVAL '1 day', 2, NULL, 'bar', 'spread_rel') AS l$$,
                  'the leaderboard by delay at delay 0 is factor_leaderboard on pnl');
SELECT ok((SELECT count(*) = 1 AND bool_and(b.n_events = 7 AND b.mean_rank_ic IS NOT NULL)
             FROM bt, watchlist.factor_leaderboard_by_delay(t0, t0 + INTERVAL '1 minute', '{0}', INTERVAL '1 day', 2,
                                                            NULL, 'bar', 'spread_rel') AS b),
          '... which has a row: the seven covered events');
SELECT ok((SELECT count(*) = 1 AND bool_and(b.n_events = 7) FROM bt, watchlist.factor_leaderboard_by_delay(t0, t0 + INTERVAL '1 minute', '{2}',
                   INTERVAL '1 day', 2, NULL, 'bar', 'spread_rel') AS b),
          'delay 2 ranks the seven events whose delayed trade is covered (not HOLE)');

-- settings
SELECT throws_ok($$SELECT watchlist.set_setting('barrier_stop_sigma', '0')$$, '22023',
                 'setting "barrier_stop_sigma" takes a numeric value; "0" is not one: must be positive', 'a zero stop multiple is refused');
SELECT throws_ok($$SELECT watchlist.set_setting('barrier_take_profit_sigma', 'two')$$, '22023', NULL,
                 'a take-profit multiple that is not a number is refused');
SELECT throws_ok($$SELECT watchlist.set_setting('barrier_sigma_window', '-5 minutes')$$, '22023',
                 'setting "barrier_sigma_window" takes a interval value; "-5 minutes" is not one: must be positive',
                 'a negative sigma window is refused');

SELECT * FROM finish();
ROLLBACK;
