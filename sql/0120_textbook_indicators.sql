-- 0120: RSI, MACD and its signal, Bollinger %b, DX and ADX follow the textbook definitions
-- (Wilder's smoothing, running EMAs seeded as TA-Lib seeds them, population sd) and equal
-- TA-Lib 0.6 (RSI, MACD, BBANDS, DX, ADX) fed the same series; Cutler's RSI (simple averages,
-- the former spread_rsi_14) stays as spread_rsi_sma_14.
--
-- Notation (besides that of 0020): the run R(t) is the key's rows at t, t - 5 min,
-- t - 10 min, ... back to the first bucket end without a row or whose x is NULL (excluded); a
-- row with x NULL has no run. i(t) = the number of rows in R(t) minus 1, so the run's first
-- row has i = 0 and i counts its steps. The indicators below run on the series of the run's
-- rows in time order (x = b_spread_close, hi = b_spread_high, lo = b_spread_low of each
-- row); a missing bucket end or a NULL x ends the series, and the next row starts a new one
-- with its warm-up. TA-Lib is fed exactly that series (one call per run) and its first
-- output index is the warm-up: a factor is NULL while i(t) is below it.
--
-- The recursions have unbounded memory, so their state is kept on every row (b_run_n and the
-- columns after it): the row at t reads the state of the row at t - 5 min as it stands,
-- whichever way the engine reaches t (rolling or reading its window), and a recomputed range
-- starts from the stored state of the row before it, as any later range does.
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS spread_rsi_sma_14 double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_run_n      integer;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_rsi_gain   double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_rsi_loss   double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_ema12      double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_ema26      double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_macd_sig   double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_dm_plus    double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_dm_minus   double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_tr         double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_adx        double precision;

COMMENT ON COLUMN watchlist_data.factor_value.spread_rsi_14 IS
    'factor: RSI 14 with Wilder''s smoothing (TA-Lib RSI, 14) over the run R(t) (0120): g_j = max(d_j, 0), l_j = max(-d_j, 0) for its steps j = 1 .. i; G_14 = mean(g_1 .. g_14), G_j = (13 G_{j-1} + g_j) / 14 (L likewise); 100 G_i / (G_i + L_i); warm-up i >= 14 (15 rows), NULL before or when G_i + L_i = 0';
COMMENT ON COLUMN watchlist_data.factor_value.spread_rsi_sma_14 IS
    'factor: RSI with simple averages (Cutler''s), 100 * sum(max(d_b, 0)) / sum(|d_b|) over the steps b in W(t, 70 min) (14 steps); window 70 min';
COMMENT ON COLUMN watchlist_data.factor_value.spread_macd IS
    'factor: MACD (12, 26) as TA-Lib MACD(12, 26, 9) over the run R(t) (0120): E26_25 = mean(x_0 .. x_25), E12_25 = mean(x_14 .. x_25), E_j = E_{j-1} + k (x_j - E_{j-1}), k = 2 / (s + 1); macd_j = E12_j - E26_j (j >= 25); warm-up i >= 33 (34 rows, as TA-Lib reports it), NULL before';
COMMENT ON COLUMN watchlist_data.factor_value.spread_macd_signal IS
    'factor: MACD signal, EMA9 of macd_j over the run R(t) (0120): S_33 = mean(macd_25 .. macd_33), S_j = S_{j-1} + 0.2 (macd_j - S_{j-1}); warm-up i >= 33 (34 rows), NULL before';
COMMENT ON COLUMN watchlist_data.factor_value.spread_bollinger_pct_b IS
    'factor: Bollinger %b (20, 2) as TA-Lib BBANDS(20, 2, 2, SMA): (x_t - (m - 2 sd)) / (4 sd), m and population sd of x over the last 20 rows of the run R(t) (0120); warm-up i >= 19 (20 rows), NULL before or when sd = 0';
COMMENT ON COLUMN watchlist_data.factor_value.spread_dx_14 IS
    'factor: DX 14 with Wilder''s smoothing (TA-Lib DX, 14) over the run R(t) (0120): for its steps j, up = hi_j - hi_{j-1}, dn = lo_{j-1} - lo_j, +DM_j = up if up > dn and up > 0 else 0, -DM_j = dn if dn > up and dn > 0 else 0, TR_j = max(hi_j, x_{j-1}) - min(lo_j, x_{j-1}); P_j = sum of +DM_1 .. +DM_j for j <= 13, P_j = P_{j-1} - P_{j-1} / 14 + +DM_j after (M of -DM, T of TR likewise); DI+ = 100 P_i / T_i, DI- = 100 M_i / T_i, DX = 100 |DI+ - DI-| / (DI+ + DI-); warm-up i >= 14 (15 rows), NULL before or when T_i = 0 or DI+ + DI- = 0';
COMMENT ON COLUMN watchlist_data.factor_value.spread_adx_14 IS
    'factor: ADX 14 with Wilder''s smoothing (TA-Lib ADX, 14) over the run R(t) (0120): A_27 = mean(DX_14 .. DX_27), A_j = (13 A_{j-1} + DX_j) / 14 (a NULL DX counts 0 in the mean and leaves A unchanged after); warm-up i >= 27 (28 rows), NULL before';

COMMENT ON COLUMN watchlist_data.factor_value.b_run_n IS
    'state (not a factor): the number of rows of the run R(t) (0120), i(t) + 1; 0 when x is NULL';
COMMENT ON COLUMN watchlist_data.factor_value.b_rsi_gain IS
    'state (not a factor): spread_rsi_14''s G: the sum of the run''s gains g_1 .. g_i while i < 14, then G_i';
COMMENT ON COLUMN watchlist_data.factor_value.b_rsi_loss IS
    'state (not a factor): spread_rsi_14''s L: the sum of the run''s losses l_1 .. l_i while i < 14, then L_i';
COMMENT ON COLUMN watchlist_data.factor_value.b_ema12 IS
    'state (not a factor): spread_macd''s E12_i, from i = 25; NULL before';
COMMENT ON COLUMN watchlist_data.factor_value.b_ema26 IS
    'state (not a factor): spread_macd''s E26_i, from i = 25; NULL before';
COMMENT ON COLUMN watchlist_data.factor_value.b_macd_sig IS
    'state (not a factor): spread_macd_signal''s S: the sum of macd_25 .. macd_i while 25 <= i < 33, then S_i; NULL before i = 25';
COMMENT ON COLUMN watchlist_data.factor_value.b_dm_plus IS
    'state (not a factor): spread_dx_14''s P_i (the plain sum of +DM while i <= 13)';
COMMENT ON COLUMN watchlist_data.factor_value.b_dm_minus IS
    'state (not a factor): spread_dx_14''s M_i (the plain sum of -DM while i <= 13)';
COMMENT ON COLUMN watchlist_data.factor_value.b_tr IS
    'state (not a factor): spread_dx_14''s T_i (the plain sum of TR while i <= 13)';
COMMENT ON COLUMN watchlist_data.factor_value.b_adx IS
    'state (not a factor): spread_adx_14''s A: the sum of DX_14 .. DX_i while 14 <= i < 27, then A_i; NULL before i = 14';

-- The 12-hour EMA sums of the truncated MACD, the dx slots of the mean ADX and the high and low
-- slots of the summed DX have no reader any more (the step of t reads the row at t - 5 min).
ALTER TABLE watchlist_data.factor_window_state
    DROP COLUMN IF EXISTS we12_n, DROP COLUMN IF EXISTS we12_d,
    DROP COLUMN IF EXISTS we26_n, DROP COLUMN IF EXISTS we26_d,
    DROP COLUMN IF EXISTS wg_n, DROP COLUMN IF EXISTS wg_d,
    DROP COLUMN IF EXISTS r_hi, DROP COLUMN IF EXISTS r_lo, DROP COLUMN IF EXISTS r_dx;

-- factor_window_step(timestamptz, timestamptz, timestamptz) takes no EMA weights; the overload
-- that did has no caller.
DROP FUNCTION IF EXISTS watchlist_data.factor_window_step(timestamptz, timestamptz, timestamptz, numeric[], numeric[], numeric[]);
