-- 0105: what every column of the factor engine's state tables holds (factor_window_state: 0022,
-- 0070; factor_funding_state: 0060), where psql's \d+ and the catalog show it, as 0020 does for
-- the factors. Notation of 0020: x_b = b_spread_close of the row at bucket end b, W(t, L) the
-- key's rows with b in (t - L, t], a step at b the pair of rows at b - 5 min and b, d_b = x_b -
-- x_{b-5 min}, H(t, L) the hourly funding samples. Written by the steps of
-- watchlist_data.compute_factors_keys (docs/factor-engine.md); not factors. Re-running
-- replaces the same comments.
COMMENT ON COLUMN watchlist_data.factor_window_state.ts IS
    'the bucket end t the sums and slots belong to (the key''s last bucket end computed)';
COMMENT ON COLUMN watchlist_data.factor_window_state.computed_at IS
    'computed_at of the factor row at t when the state was written: t + 5 min rolls the state only while the row at t still has it';
COMMENT ON COLUMN watchlist_data.factor_window_state.ws_n IS
    'W(t, 12 h): count of raw spread samples, sum of b_spread_n';
COMMENT ON COLUMN watchlist_data.factor_window_state.ws_s IS
    'W(t, 12 h): sum of the raw spread samples, sum of b_spread_sum (rows with b_spread_n > 0), exact';
COMMENT ON COLUMN watchlist_data.factor_window_state.ws_q IS
    'W(t, 12 h): sum of squares of the raw spread samples, sum of b_spread_m2 + b_spread_sum^2 / b_spread_n, exact (spread_zscore_12h)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wx_n IS
    'W(t, 12 h): count of x_b not NULL';
COMMENT ON COLUMN watchlist_data.factor_window_state.wx_1 IS
    'W(t, 12 h): sum of x_b, exact';
COMMENT ON COLUMN watchlist_data.factor_window_state.wx_2 IS
    'W(t, 12 h): sum of x_b^2, exact (skew, kurtosis)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wx_3 IS
    'W(t, 12 h): sum of x_b^3, exact (skew)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wx_4 IS
    'W(t, 12 h): sum of x_b^4, exact (kurtosis)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wd_n IS
    'W(t, 12 h): count of steps (both rows with x)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wd_p IS
    'W(t, 12 h): sum over the steps of x_{b-5 min}, exact (half-life regression)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wd_c IS
    'W(t, 12 h): sum over the steps of x_b, exact (half-life regression)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wd_pp IS
    'W(t, 12 h): sum over the steps of x_{b-5 min}^2, exact (half-life regression)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wd_pc IS
    'W(t, 12 h): sum over the steps of x_{b-5 min} x_b, exact (half-life regression)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wd_d2 IS
    'W(t, 12 h): sum over the steps of d_b^2, exact (rv_12h, hv_ratio)';
COMMENT ON COLUMN watchlist_data.factor_window_state.we12_n IS
    'W(t, 12 h): sum of l^k x_b, l = 1 - 2/13, k = (t - b) / 5 min, rounded at 60 decimal places (the MACD''s EMA12 numerator)';
COMMENT ON COLUMN watchlist_data.factor_window_state.we12_d IS
    'W(t, 12 h): sum of l^k over the rows with x_b, l = 1 - 2/13 (the EMA12 denominator)';
COMMENT ON COLUMN watchlist_data.factor_window_state.we26_n IS
    'W(t, 12 h): sum of l^k x_b, l = 1 - 2/27 (the MACD''s EMA26 numerator)';
COMMENT ON COLUMN watchlist_data.factor_window_state.we26_d IS
    'W(t, 12 h): sum of l^k over the rows with x_b, l = 1 - 2/27 (the EMA26 denominator)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wg_n IS
    'W(t, 12 h): sum of l^k spread_macd_b, l = 1 - 2/10 (spread_macd_signal numerator; the row at t included)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wg_d IS
    'W(t, 12 h): sum of l^k over the rows with spread_macd, l = 1 - 2/10 (spread_macd_signal denominator)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wr_n IS
    'W(t, 12 h): count of rv_1h not NULL (vol_of_vol_12h)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wr_1 IS
    'W(t, 12 h): sum of rv_1h, exact';
COMMENT ON COLUMN watchlist_data.factor_window_state.wr_2 IS
    'W(t, 12 h): sum of rv_1h^2, exact';
COMMENT ON COLUMN watchlist_data.factor_window_state.wv_n IS
    'W(t, 12 h): count of b_volume_close not NULL (volume_spike_z_12h)';
COMMENT ON COLUMN watchlist_data.factor_window_state.wv_1 IS
    'W(t, 12 h): sum of b_volume_close, exact';
COMMENT ON COLUMN watchlist_data.factor_window_state.wv_2 IS
    'W(t, 12 h): sum of b_volume_close^2, exact';
COMMENT ON COLUMN watchlist_data.factor_window_state.fb_lo IS
    'the hourly drawdown blocks summarised in fb_mx, fb_mn, fb_dd are those of the full-hour rows in (fb_lo, fb_hi]';
COMMENT ON COLUMN watchlist_data.factor_window_state.fb_hi IS
    'see fb_lo';
COMMENT ON COLUMN watchlist_data.factor_window_state.fb_mx IS
    'max x_b over the hourly blocks in (fb_lo, fb_hi] (their b_blk_mx)';
COMMENT ON COLUMN watchlist_data.factor_window_state.fb_mn IS
    'min x_b over the hourly blocks in (fb_lo, fb_hi] (their b_blk_mn)';
COMMENT ON COLUMN watchlist_data.factor_window_state.fb_dd IS
    'the largest fall of x from its running maximum over the hourly blocks in (fb_lo, fb_hi]';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_x IS
    'slots (0070): r_x[k] = x of the row at t - (k - 1) x 5 min, k = 1 .. 36, NULL where there is none';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_hi IS
    'slots: b_spread_high of the row at t - (k - 1) x 5 min, k = 1 .. 14 (dx)';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_lo IS
    'slots: b_spread_low of the row at t - (k - 1) x 5 min, k = 1 .. 14 (dx)';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_sn IS
    'slots: b_spread_n of the row at t - (k - 1) x 5 min, k = 1 .. 11 (spread_zscore_1h)';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_ss IS
    'slots: b_spread_sum of the row at t - (k - 1) x 5 min, k = 1 .. 11 (spread_zscore_1h)';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_m2 IS
    'slots: b_spread_m2 of the row at t - (k - 1) x 5 min, k = 1 .. 11 (spread_zscore_1h)';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_dx IS
    'slots: spread_dx_14 of the row at t - (k - 1) x 5 min, k = 1 .. 13 (spread_adx_14)';
COMMENT ON COLUMN watchlist_data.factor_window_state.r_pers IS
    'signal_persistence_min of the row at t';

COMMENT ON COLUMN watchlist_data.factor_funding_state.ts IS
    't_h: the full hour the samples end at (the last full hour the key''s funding factors were computed for)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.f IS
    'the samples of H(t_h, 7 d): f[i] = b_funding_close of the row at t_h - (168 - i) h on the full hour, i = 1 .. 168, NULL where there is none';
COMMENT ON COLUMN watchlist_data.factor_funding_state.n IS
    'count of the samples (not NULL)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.s1 IS
    'sum of the samples, exact (funding_zscore_7d''s mean)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.s2 IS
    'sum of the samples'' squares, exact (funding_vol_7d)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.tn IS
    'the last 3 days (slots 97 .. 168): count of samples (funding_trend_3d)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.tk IS
    'the last 3 days: sum of k, k = the sample''s hour since the epoch, exact';
COMMENT ON COLUMN watchlist_data.factor_funding_state.tkk IS
    'the last 3 days: sum of k^2, exact';
COMMENT ON COLUMN watchlist_data.factor_funding_state.tf IS
    'the last 3 days: sum of the samples, exact';
COMMENT ON COLUMN watchlist_data.factor_funding_state.tkf IS
    'the last 3 days: sum of k times the sample, exact';
COMMENT ON COLUMN watchlist_data.factor_funding_state.np IS
    'count of the consecutive hourly pairs (h_b, h_{b+1h}) with both samples (funding_reversal_prob)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.srt IS
    'the samples, ascending (the quintile thresholds of funding_regime)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.up IS
    '-h_b of the rising pairs, ascending (funding_reversal_prob: the rising pairs below the mean)';
COMMENT ON COLUMN watchlist_data.factor_funding_state.dn IS
    'h_b of the falling pairs, ascending (funding_reversal_prob: the falling pairs above the mean)';
