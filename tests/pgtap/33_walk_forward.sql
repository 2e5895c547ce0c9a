-- The factor lab's out-of-sample evaluation: walk-forward fold membership (purge, embargo,
-- and the proof that no training outcome window overlaps its test fold), the walk-forward
-- verdict and the probability of backtest overfitting (CSCV) on a hand-built fixture.
-- Exact values against an independent Python implementation: tests/py/test_walk_forward.py.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(21);

-- 12 hourly periods from 2037-04-01 00:00Z, symbols W1 / W2 (s = 0 / 1), events entered at
-- minutes 5, 25, 45 of every hour (k = 0, 1, 2), covered labels at 30 and 60 minutes.
-- f1 = (7p + 3s + 5k) mod 11 and pnl = ((5p + 2s + 3k) mod 7) - 3 + 0.4 f1 (a planted IC),
-- f2 = (3p + 5s + k^2) mod 5 (noise).
UPDATE watchlist_data.settings SET value = '{30,60}' WHERE key = 'outcome_horizons_min';
CREATE TEMP TABLE wx AS
SELECT p, s, k, ((7 * p + 3 * s + 5 * k) % 11)::float8 AS f1, ((3 * p + 5 * s + k * k) % 5)::float8 AS f2,
       (((5 * p + 2 * s + 3 * k) % 7) - 3 + 0.4 * ((7 * p + 3 * s + 5 * k) % 11))::float8 AS y,
       '2037-04-01T00:00:00Z'::timestamptz + make_interval(mins => p * 60 + 5 + 20 * k) AS entry_ts,
       'W' || (s + 1) AS symbol
  FROM generate_series(0, 11) AS p, generate_series(0, 1) AS s, generate_series(0, 2) AS k;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, meta)
SELECT entry_ts, 'wfx', symbol, 'A', true, jsonb_build_object('factors', jsonb_build_object('f1', f1, 'f2', f2))
  FROM wx;
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'wfx', symbol, 'A', entry_ts - interval '1 minute', entry_ts + interval '1 minute', 120, 3, 'confirmed', false, entry_ts FROM wx;
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
SELECT DISTINCT 'wfx', symbol, '2037-03-01T00:00:00Z'::timestamptz FROM wx;
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl)
SELECT e.id, h, true, wx.y FROM wx JOIN watchlist_data.watch_signal_event e
    ON e.exchange = 'wfx' AND e.symbol = wx.symbol AND e.entry_ts = wx.entry_ts
 CROSS JOIN (VALUES (30), (60)) AS hz(h);

CREATE TEMP TABLE fa AS SELECT * FROM watchlist.walk_forward_folds('2037-04-01', '2037-04-01T12:00:00Z', 4, '1 hour', 'anchored', NULL, 'wfx');
CREATE TEMP TABLE fk AS SELECT * FROM watchlist.walk_forward_folds('2037-04-01', '2037-04-01T12:00:00Z', 4, '1 hour', 'kfold', NULL, 'wfx');

-- the proof: no training outcome window [entry_ts, entry_ts + horizon] overlaps its test fold,
-- nor any test label's outcome window
SELECT is((SELECT count(*)::int FROM fa WHERE role = 'train' AND entry_ts < test_to AND label_end >= test_from), 0,
          'anchored: no training outcome window overlaps its test fold');
SELECT is((SELECT count(*)::int FROM fk WHERE role = 'train' AND entry_ts < test_to AND label_end >= test_from), 0,
          'kfold: no training outcome window overlaps its test fold');
SELECT is((SELECT count(*)::int FROM fa AS tr JOIN fa AS te ON te.test_fold = tr.test_fold AND te.role = 'test'
            WHERE tr.role = 'train' AND tr.entry_ts <= te.label_end AND te.entry_ts <= tr.label_end), 0,
          'anchored: no training outcome window overlaps a test outcome window of its fold');
SELECT is((SELECT count(*)::int FROM fk AS tr JOIN fk AS te ON te.test_fold = tr.test_fold AND te.role = 'test'
            WHERE tr.role = 'train' AND tr.entry_ts <= te.label_end AND te.entry_ts <= tr.label_end), 0,
          'kfold: no training outcome window overlaps a test outcome window of its fold (the embargo)');
SELECT is((SELECT count(*)::int FROM fa WHERE role = 'test' AND (entry_ts < test_from OR entry_ts >= test_to)), 0,
          'anchored: every test label is entered inside its test fold');

-- by hand: 4 folds of 3 hours; 36 test labels a fold (3 h x 2 symbols x 3 events x 2 horizons).
-- Purged before a test fold, per symbol: the :45 event of the hour before (30 min ends at +15)
-- and the :05 / :25 / :45 events at 60 min (the :05 one ends exactly at test_from: the window
-- is closed): 4, so 8. kfold embargo = the longest horizon (60 min): the first hour after the
-- test fold, 12 labels.
SELECT results_eq($$SELECT test_fold, test_from, test_to, role, count(*)::int FROM fa GROUP BY 1, 2, 3, 4 ORDER BY 1, 4$$,
    $$VALUES (1, '2037-04-01T03:00:00Z'::timestamptz, '2037-04-01T06:00:00Z'::timestamptz, 'purged', 8),
             (1, '2037-04-01T03:00:00Z', '2037-04-01T06:00:00Z', 'test', 36),
             (1, '2037-04-01T03:00:00Z', '2037-04-01T06:00:00Z', 'train', 28),
             (2, '2037-04-01T06:00:00Z', '2037-04-01T09:00:00Z', 'purged', 8),
             (2, '2037-04-01T06:00:00Z', '2037-04-01T09:00:00Z', 'test', 36),
             (2, '2037-04-01T06:00:00Z', '2037-04-01T09:00:00Z', 'train', 64),
             (3, '2037-04-01T09:00:00Z', '2037-04-01T12:00:00Z', 'purged', 8),
             (3, '2037-04-01T09:00:00Z', '2037-04-01T12:00:00Z', 'test', 36),
             (3, '2037-04-01T09:00:00Z', '2037-04-01T12:00:00Z', 'train', 100)$$,
    'anchored: test folds 1-3 of 4, trained on the past only, 8 labels purged before each');
SELECT results_eq($$SELECT test_fold, role, count(*)::int FROM fk GROUP BY 1, 2 ORDER BY 1, 2$$,
    $$VALUES (0, 'embargoed', 12), (0, 'test', 36), (0, 'train', 96),
             (1, 'embargoed', 12), (1, 'purged', 8), (1, 'test', 36), (1, 'train', 88),
             (2, 'embargoed', 12), (2, 'purged', 8), (2, 'test', 36), (2, 'train', 88),
             (3, 'purged', 8), (3, 'test', 36), (3, 'train', 100)$$,
    'kfold: every fold tested once; purged before, embargoed one longest horizon after');
SELECT is((SELECT array_agg(DISTINCT extract(minute FROM entry_ts)::int || '/' || horizon_min ORDER BY extract(minute FROM entry_ts)::int || '/' || horizon_min)::text
             FROM fa WHERE role = 'purged' AND test_fold = 2),
          '{25/60,45/30,45/60,5/60}'::text,
          'anchored: the purged labels are the ones whose window reaches the test fold');
SELECT ok(min(entry_ts) = '2037-04-01T06:05:00Z' AND max(entry_ts) = '2037-04-01T06:45:00Z',
          'kfold: the embargo is [test_to, test_to + 60 min)')
  FROM fk WHERE role = 'embargoed' AND test_fold = 1;
-- uneven folds: 12 periods in 5 folds: floor(i * 5 / 12) gives sizes 3, 2, 3, 2, 2
SELECT results_eq($$SELECT DISTINCT test_fold, extract(hour FROM test_from AT TIME ZONE 'UTC')::int, extract(hour FROM test_to AT TIME ZONE 'UTC')::int
                      FROM watchlist.walk_forward_folds('2037-04-01', '2037-04-01T12:00:00Z', 5, '1 hour', 'kfold', NULL, 'wfx') ORDER BY 1$$,
    $$VALUES (0, 0, 3), (1, 3, 5), (2, 5, 8), (3, 8, 10), (4, 10, 12)$$,
    'folds: period i of P in fold floor(i k / P), whole periods');
SELECT throws_ok($$SELECT * FROM watchlist.walk_forward_folds('2037-04-01', '2037-04-01T12:00:00Z', 1)$$, '22023',
                 'walk_forward_folds: folds must be at least 2 (got 1)', 'folds < 2 refused, naming the value');
SELECT throws_ok($$SELECT * FROM watchlist.walk_forward_folds('2037-04-01', '2037-04-01T12:00:00Z', 4, '1 hour', 'random')$$, '22023',
                 'walk_forward_folds: unknown scheme "random" (anchored, kfold)', 'an unknown scheme refused');
SELECT throws_ok($$SELECT * FROM watchlist.walk_forward_folds('2037-04-01', '2037-04-01T03:00:00Z', 4, '1 hour')$$, '22023',
                 NULL, 'fewer periods than folds refused');

-- the walk-forward verdict with a small minimum sample (3 periods, 10 effective events)
UPDATE watchlist_data.settings SET value = '3' WHERE key = 'factor_lab_min_periods';
UPDATE watchlist_data.settings SET value = '10' WHERE key = 'factor_lab_min_eff_events';
CREATE TEMP TABLE wf AS
SELECT * FROM watchlist.factor_walk_forward('2037-04-01', '2037-04-01T12:00:00Z', 4, 'pnl', '1 hour', 5, NULL, 'wfx', NULL, 'anchored');
SELECT results_eq($$SELECT fold, factor, horizon_min, n_periods FROM wf WHERE horizon_min = 60 ORDER BY fold NULLS FIRST, factor$$,
    $$VALUES (NULL::int, 'meta.f1', 60, 9), (NULL, 'meta.f2', 60, 9), (1, 'meta.f1', 60, 3), (1, 'meta.f2', 60, 3),
             (2, 'meta.f1', 60, 3), (2, 'meta.f2', 60, 3), (3, 'meta.f1', 60, 3), (3, 'meta.f2', 60, 3)$$,
    'walk-forward: a pooled row (fold NULL, the 9 test periods) and one per test fold, per factor x horizon');
SELECT ok(bool_and(train_n_periods IS NULL AND train_rank IS NULL) AND bool_and(test_from = '2037-04-01T03:00:00Z' AND test_to = '2037-04-01T12:00:00Z'),
          'walk-forward: pooled rows carry no training verdict and span the test folds')
  FROM wf WHERE fold IS NULL;
SELECT ok(bool_and(NOT selected OR (train_rank IS NOT NULL AND train_q_value <= 0.05)),
          'walk-forward: selected only when ranked in training with q <= factor_lab_fdr')
  FROM wf WHERE fold IS NOT NULL;
SELECT ok(bool_and(confirmed = (selected AND eligible AND ((selected_sign > 0 AND ci_lo > 0) OR (selected_sign < 0 AND ci_hi < 0)))),
          'walk-forward: confirmed = selected, eligible, interval beyond 0 on the training sign')
  FROM wf WHERE fold IS NULL AND ci_lo IS NOT NULL;
UPDATE watchlist_data.settings SET value = '4' WHERE key = 'factor_lab_min_periods';
SELECT ok(bool_and(NOT eligible AND NOT confirmed),
          'walk-forward: a test fold of 3 periods (< factor_lab_min_periods 4) is never eligible nor confirmed')
  FROM watchlist.factor_walk_forward('2037-04-01', '2037-04-01T12:00:00Z', 4, 'pnl', '1 hour', 5, NULL, 'wfx', NULL, 'anchored')
 WHERE fold IS NOT NULL;

-- PBO: S = 4 blocks of 3 hours, C(4, 2) = 6 combinations, J as bit masks 3, 5, 6, 9, 10, 12
UPDATE watchlist_data.settings SET value = '3' WHERE key = 'factor_lab_min_periods';
CREATE TEMP TABLE pb AS
SELECT * FROM watchlist.factor_pbo('2037-04-01', '2037-04-01T12:00:00Z', 4, 'pnl', '1 hour', 5, NULL, 'wfx', NULL);
SELECT results_eq($$SELECT combination, train_blocks FROM pb WHERE horizon_min = 60 ORDER BY 1$$,
    $$VALUES (1, '{0,1}'::int[]), (2, '{0,2}'), (3, '{1,2}'), (4, '{0,3}'), (5, '{1,3}'), (6, '{2,3}')$$,
    'pbo: every half of the blocks once, in bitmask order');
SELECT ok(bool_and(n_blocks = 4 AND n_periods = 12 AND n_strategies = 2 AND n_combinations = 6
                   AND omega = oos_rank / 3 AND abs(logit - ln(omega / (1 - omega))) < 1e-12)
          AND count(DISTINCT pbo) = 1
          AND abs(max(pbo) - avg((logit <= 0)::int)) < 1e-12,
          'pbo: omega = rank / (N + 1), logit, and pbo = the share of logit <= 0')
  FROM pb WHERE horizon_min = 60;
SELECT throws_ok($$SELECT * FROM watchlist.factor_pbo('2037-04-01', '2037-04-01T12:00:00Z', 5)$$, '22023', NULL,
                 'pbo: an odd number of blocks refused');

SELECT * FROM finish();
ROLLBACK;
