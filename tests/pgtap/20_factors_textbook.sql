-- The textbook indicators of the factor engine (0120): warm-up NULLs, values computed by hand
-- (Wilder's RSI, population Bollinger %b, Wilder's DX) on a series whose steps alternate
-- +2, -1 (x 0.001), and a missing bucket starting a new run.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(10);

-- fixture: one raw row per bucket, 36 consecutive buckets (run indexes i = 0 .. 35 at the
-- bucket ends T + 5 (i + 1) min): x_2k = k, x_2k+1 = k + 2 (x 0.001), so high = low = close;
-- then no row in the 37th bucket, and one in the 38th
CREATE TEMP TABLE wl_tb AS SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - INTERVAL '22 hours' AS t;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate)
SELECT wl_tb.t + (5 * g.i + 1) * INTERVAL '1 minute', 'pgtaptb', 'TB1', 'A', false,
       0.001 * (g.i / 2 + CASE WHEN g.i % 2 = 1 THEN 2 ELSE 0 END), 0.0001
  FROM wl_tb, (SELECT generate_series(0, 35) AS i UNION ALL SELECT 37) AS g;
SELECT results_eq($$SELECT bucket_ends, factor_rows FROM wl_tb, watchlist.compute_factors(t, t + INTERVAL '190 minutes')$$,
                  $$VALUES (38, 37::bigint)$$, 'compute_factors: 38 bucket ends, 37 rows (no row for the empty bucket)');

CREATE TEMP TABLE wl_tb_rows AS
SELECT (extract(epoch FROM f.ts - wl_tb.t) / 300)::int - 1 AS i, f.*
  FROM watchlist_data.factor_value AS f, wl_tb WHERE f.exchange = 'pgtaptb';

SELECT results_eq($$SELECT i, b_run_n FROM wl_tb_rows WHERE i IN (0, 1, 35, 37) ORDER BY i$$,
                  $$VALUES (0, 1), (1, 2), (35, 36), (37, 1)$$,
                  'b_run_n counts the rows of the run; the missing bucket starts a new run');
SELECT results_eq($$SELECT i, spread_rsi_14 IS NULL, spread_dx_14 IS NULL, spread_bollinger_pct_b IS NULL,
                           spread_adx_14 IS NULL, spread_macd IS NULL, spread_macd_signal IS NULL
                      FROM wl_tb_rows WHERE i IN (13, 14, 18, 19, 26, 27, 32, 33) ORDER BY i$$,
                  $$VALUES (13, true, true, true, true, true, true), (14, false, false, true, true, true, true),
                           (18, false, false, true, true, true, true), (19, false, false, false, true, true, true),
                           (26, false, false, false, true, true, true), (27, false, false, false, false, true, true),
                           (32, false, false, false, false, true, true), (33, false, false, false, false, false, false)$$,
                  'warm-ups: RSI and DX from i = 14, %b from 19, ADX from 27, MACD and signal from 33 (NULL before)');
SELECT is((SELECT count(*)::int FROM wl_tb_rows
            WHERE i = 37 AND coalesce(spread_rsi_14, spread_dx_14, spread_bollinger_pct_b, spread_adx_14, spread_macd, spread_macd_signal) IS NULL),
          1, 'the first row of the new run has no indicator (its warm-up starts again)');
-- RSI at i = 14: the 14 steps are 7 x +2 and 7 x -1: G = 14 / 14 = 1, L = 7 / 14 = 0.5
SELECT is((SELECT round(spread_rsi_14::numeric, 9) FROM wl_tb_rows WHERE i = 14), 66.666666667::numeric,
          'RSI at i = 14: 100 G / (G + L), G = 1, L = 0.5 (the seed: means of the first 14 gains and losses)');
-- i = 15, a step of +2: G = (13 x 1 + 2) / 14 = 15 / 14, L = 13 x 0.5 / 14: 100 x 15 / 21.5
SELECT is((SELECT round(spread_rsi_14::numeric, 9) FROM wl_tb_rows WHERE i = 15), 69.767441860::numeric,
          'RSI at i = 15: Wilder''s smoothing, G = (13 G + 2) / 14, L = 13 L / 14: 100 x 15 / 21.5');
-- Cutler's RSI over the 14 steps in W(t, 70 min) at i = 15: 7 x +2, 7 x -1: 100 x 14 / 21
SELECT is((SELECT round(spread_rsi_sma_14::numeric, 9) FROM wl_tb_rows WHERE i = 15), 66.666666667::numeric,
          'spread_rsi_sma_14 (simple averages) at i = 15: 100 x 14 / 21');
-- %b at i = 19: x_0 .. x_19 = 0 .. 9 and 2 .. 11: mean 5.5, population variance 790 / 20 - 5.5^2 = 9.25
SELECT is((SELECT round(spread_bollinger_pct_b::numeric, 9) FROM wl_tb_rows WHERE i = 19),
          round(((11 - (5.5 - 2 * sqrt(9.25::numeric))) / (4 * sqrt(9.25::numeric))), 9),
          'Bollinger %b at i = 19: (x - (m - 2 sd)) / (4 sd), population sd over the last 20 rows');
-- DX at i = 14: the first 13 steps sum +DM = 7 x 2 = 14, -DM = 6 x 1 = 6; step 14 (-1):
-- P = 14 - 14 / 14 + 0 = 13, M = 6 - 6 / 14 + 1; DX = 100 |P - M| / (P + M) (TR cancels)
SELECT is((SELECT round(spread_dx_14::numeric, 9) FROM wl_tb_rows WHERE i = 14),
          round(100 * (13 - (6 - 6 / 14.0 + 1)) / (13 + (6 - 6 / 14.0 + 1)), 9),
          'DX at i = 14: Wilder''s sums of +DM and -DM (13 steps summed, then S - S / 14 + DM)');
SELECT is((SELECT count(*)::int FROM pg_proc AS p CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
            WHERE p.pronamespace = 'watchlist_data'::regnamespace AND p.proname = 'factor_smooth_step'
              AND a.privilege_type = 'EXECUTE' AND a.grantee IN (0, 'wl_writer'::regrole, 'wl_reader'::regrole)), 0,
          'factor_smooth_step is executable by neither PUBLIC, the writer nor the reader');

SELECT * FROM finish();
ROLLBACK;
