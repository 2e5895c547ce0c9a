-- watchlist_data.factor_write_step(p_t, p_blocks_lo, p_blocks_hi): step 2.7 of
-- watchlist_data.compute_factors_keys: the factors of the rows at t, from the staged steps.
--   in:  pg_temp.wl_factor_short (2.3), pg_temp.wl_factor_w12 (2.4), pg_temp.wl_factor_smooth
--        (2.5), pg_temp.wl_factor_funding (2.6), pg_temp.wl_factor_cur (2.1).
--   out: the factor columns of the rows of watchlist_data.factor_value at t (formulas: the column
--        comments of 0020 and later), with the recursion state of 0120 (b_run_n .. b_adx),
--        b_fstate_* (the funding statistics, when computed from the samples) and, on a full
--        hour, b_blk_* (the hour's drawdown block); the key's
--        watchlist_data.factor_window_state moved to t: the 12-hour sums with the row's own
--        rv_1h, the blocks (p_blocks_lo, p_blocks_hi] and the slots shifted for t + 5 min.
--        Returns the number of states written (one per key computed).
--   invariant: the state belongs to the row at t as it stands (its computed_at): the condition
--        on which step 2.1 at t + 5 min rolls it instead of reading the window.
CREATE OR REPLACE FUNCTION watchlist_data.factor_write_step(p_t timestamptz, p_blocks_lo timestamptz, p_blocks_hi timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- Every read of a hypertable is bounded by the parameters, planned for their values (custom
-- plans): chunks outside the windows stay out of the plan and are never locked (a lock on a
-- chunk the retention policy is dropping deadlocks it).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_on_hour boolean := @extschema@.time_bucket(INTERVAL '1 hour', p_t) = p_t;
    v_n       bigint;
BEGIN
        WITH moments AS MATERIALIZED ( -- from the exact sums: n^2 m2, n^3 m3, n^4 m4 of x over W(t, 12 h), ...
            SELECT short_win.*, w12.*,
                   w12.wx_n * w12.wx_2 - (w12.wx_1 * w12.wx_1) AS a2,
                   (w12.wx_n * w12.wx_n) * w12.wx_3 - 3 * w12.wx_n * w12.wx_1 * w12.wx_2 + 2 * (w12.wx_1 * w12.wx_1 * w12.wx_1) AS a3,
                   (w12.wx_n * w12.wx_n * w12.wx_n) * w12.wx_4 - 4 * (w12.wx_n * w12.wx_n) * w12.wx_1 * w12.wx_3 + 6 * w12.wx_n * (w12.wx_1 * w12.wx_1) * w12.wx_2
                     - 3 * (w12.wx_1 * w12.wx_1 * w12.wx_1 * w12.wx_1) AS a4,
                   w12.ws_n * w12.ws_q - (w12.ws_s * w12.ws_s) AS zq,
                   w12.wd_n * w12.wd_pp - (w12.wd_p * w12.wd_p) AS hden,
                   w12.wv_n * w12.wv_2 - (w12.wv_1 * w12.wv_1) AS vq,
                   CASE WHEN short_win.dn_1 > 0 THEN sqrt(short_win.d2_1) END AS rv1
              FROM pg_temp.wl_factor_short AS short_win JOIN pg_temp.wl_factor_w12 AS w12 ON w12.l_ex = short_win.exchange AND w12.l_sym = short_win.symbol
        ), with_own AS MATERIALIZED ( -- the sums that take the row's own rv_1h
            SELECT moments.*,
                   moments.wr_pn + (moments.rv1 IS NOT NULL)::int AS wr_n,
                   moments.wr_p1 + coalesce(moments.rv1::numeric, 0) AS wr_1,
                   moments.wr_p2 + coalesce((moments.rv1::numeric * moments.rv1::numeric), 0) AS wr_2
              FROM moments
        ), res AS (
            SELECT with_own.*,
                   -- M2 = sum(m2_i + n_i (mean_i - x0)^2) - n (mean - x0)^2
                   CASE WHEN with_own.n1 >= 2 AND with_own.q1 - with_own.n1 * (with_own.s1 / nullif(with_own.n1, 0) - with_own.x0) ^ 2 > 0
                        THEN (with_own.x - with_own.s1 / with_own.n1)
                             / sqrt((with_own.q1 - with_own.n1 * (with_own.s1 / with_own.n1 - with_own.x0) ^ 2) / (with_own.n1 - 1)) END AS z1,
                   CASE WHEN with_own.ws_n >= 2 AND with_own.zq > 0
                        THEN (with_own.x::numeric - with_own.ws_s / with_own.ws_n)::float8
                             / sqrt((with_own.zq / (with_own.ws_n * (with_own.ws_n - 1)))::float8) END AS z12,
                   ph.phi,
                   CASE WHEN ph.phi > 0 AND ph.phi < 1 THEN 5 * ln(0.5) / ln(ph.phi) END AS hl,
                   with_own.x - with_own.x15 AS mo15, with_own.x - with_own.x60 AS mo60,
                   CASE WHEN with_own.wx_n >= 3 AND with_own.a2 > 0 THEN with_own.a3::float8 / with_own.a2::float8 ^ 1.5 END AS skew,
                   CASE WHEN with_own.wx_n >= 4 AND with_own.a2 > 0 THEN with_own.a4::float8 / with_own.a2::float8 ^ 2 - 3 END AS kurt,
                   CASE WHEN with_own.rsi_a > 0 THEN 100 * with_own.rsi_g / with_own.rsi_a END AS rsi_sma,
                   CASE WHEN funding.n >= 2 AND funding.sd > 0 THEN (with_own.f - funding.m) / funding.sd END AS fz,
                   funding.trend AS ftrend, funding.sd AS fvol,
                   CASE WHEN funding.n >= 1 AND with_own.f IS NOT NULL THEN funding.regime_q END AS regime,
                   funding.rev,
                   CASE WHEN with_own.wd_n > 0 THEN sqrt(with_own.wd_d2::float8) END AS rv12,
                   CASE WHEN with_own.dn_1 > 0 AND with_own.wd_d2 > 0 THEN sqrt(with_own.d2_1 / with_own.dn_1) / sqrt((with_own.wd_d2 / with_own.wd_n)::float8) END AS hvr,
                   CASE WHEN with_own.wr_n >= 2 THEN sqrt(((with_own.wr_n * with_own.wr_2 - (with_own.wr_1 * with_own.wr_1)) / (with_own.wr_n * (with_own.wr_n - 1)))::float8) END AS vov,
                   CASE WHEN with_own.wv_n >= 2 AND with_own.vq > 0 THEN
                       (with_own.v::numeric - with_own.wv_1 / with_own.wv_n)::float8 / sqrt((with_own.vq / (with_own.wv_n * (with_own.wv_n - 1)))::float8) END AS vz,
                   CASE WHEN with_own.trig THEN 5 + coalesce(with_own.pers_prev, 0) ELSE 0 END AS pers,
                   CASE WHEN funding.from_samples THEN coalesce(funding.n, 0) END AS fs_n,
                   CASE WHEN funding.from_samples THEN funding.m END AS fs_m,
                   CASE WHEN funding.from_samples AND funding.n > 0 THEN funding.q END AS fs_q
              FROM with_own
              CROSS JOIN LATERAL (SELECT CASE WHEN with_own.hden > 0
                                              THEN ((with_own.wd_n * with_own.wd_pc - with_own.wd_p * with_own.wd_c) / with_own.hden)::float8 END AS phi) AS ph
              LEFT JOIN pg_temp.wl_factor_funding AS funding ON funding.exchange = with_own.exchange AND funding.symbol = with_own.symbol
        ), sm AS ( -- with the textbook indicators and the row's recursion state (step 2.5)
            SELECT res.*, smooth.n AS ta_n, smooth.gain AS ta_gain, smooth.loss AS ta_loss, smooth.ema12 AS ta_ema12,
                   smooth.ema26 AS ta_ema26, smooth.sig AS ta_sig, smooth.dmp AS ta_dmp, smooth.dmm AS ta_dmm,
                   smooth.tr AS ta_tr, smooth.adx AS ta_adx, smooth.rsi, smooth.macd, smooth.macd_sig, smooth.pctb,
                   smooth.dx, smooth.adx_f
              FROM res JOIN pg_temp.wl_factor_smooth AS smooth ON smooth.exchange = res.exchange AND smooth.symbol = res.symbol
        ), upd AS (
            UPDATE watchlist_data.factor_value AS fv SET
                spread_zscore_1h = res.z1, spread_zscore_12h = res.z12, spread_halflife_12h = res.hl,
                spread_momentum_15m = res.mo15, spread_momentum_60m = res.mo60,
                spread_skew_12h = res.skew, spread_kurt_12h = res.kurt, spread_drawdown_12h = res.dd12,
                spread_rsi_14 = res.rsi, spread_rsi_sma_14 = res.rsi_sma, spread_macd = res.macd,
                spread_macd_signal = res.macd_sig, spread_bollinger_pct_b = res.pctb, spread_dx_14 = res.dx,
                spread_adx_14 = res.adx_f,
                b_run_n = res.ta_n, b_rsi_gain = res.ta_gain, b_rsi_loss = res.ta_loss, b_ema12 = res.ta_ema12,
                b_ema26 = res.ta_ema26, b_macd_sig = res.ta_sig, b_dm_plus = res.ta_dmp, b_dm_minus = res.ta_dmm,
                b_tr = res.ta_tr, b_adx = res.ta_adx,
                funding_zscore_7d = res.fz, funding_trend_3d = res.ftrend, funding_vol_7d = res.fvol,
                funding_regime = res.regime, funding_reversal_prob = res.rev,
                rv_1h = res.rv1, rv_12h = res.rv12, hv_ratio = res.hvr, vol_of_vol_12h = res.vov,
                crossings_3h = res.cross3, tail_risk_score = abs(res.skew) + CASE WHEN res.kurt > 0 THEN res.kurt WHEN res.kurt <= 0 THEN 0 END,
                volume_spike_z_12h = res.vz, signal_persistence_min = res.pers,
                b_fstate_n = res.fs_n, b_fstate_mean = res.fs_m, b_fstate_q = res.fs_q,
                b_blk_n = CASE WHEN v_on_hour THEN res.hd_n END, b_blk_mx = CASE WHEN v_on_hour THEN res.hd_mx END,
                b_blk_mn = CASE WHEN v_on_hour THEN res.hd_mn END, b_blk_dd = CASE WHEN v_on_hour THEN res.hd_dd END
              FROM sm AS res
             WHERE fv.exchange = res.exchange AND fv.symbol = res.symbol AND fv.ts = p_t
        )
        INSERT INTO watchlist_data.factor_window_state AS s (exchange, symbol, ts, computed_at,
               ws_n, ws_s, ws_q, wx_n, wx_1, wx_2, wx_3, wx_4, wd_n, wd_p, wd_c, wd_pp, wd_pc, wd_d2,
               wr_n, wr_1, wr_2, wv_n, wv_1, wv_2,
               fb_lo, fb_hi, fb_mx, fb_mn, fb_dd, r_x, r_sn, r_ss, r_m2, r_pers)
        SELECT res.exchange, res.symbol, p_t, cur.computed_at,
               res.ws_n, res.ws_s, res.ws_q, res.wx_n, res.wx_1, res.wx_2, res.wx_3, res.wx_4,
               res.wd_n, res.wd_p, res.wd_c, res.wd_pp, res.wd_pc, res.wd_d2,
               res.wr_n, res.wr_1, res.wr_2, res.wv_n, res.wv_1, res.wv_2,
               p_blocks_lo, p_blocks_hi, res.fb_mx, res.fb_mn, res.fb_dd,
               -- the slots for t + 5 min (0070): slot k there is slot k - 1 here; the row's own persistence
               res.sl_x[1:36], res.sl_sn[1:11], res.sl_ss[1:11], res.sl_m2[1:11], res.pers
          FROM res JOIN pg_temp.wl_factor_cur AS cur ON cur.exchange = res.exchange AND cur.symbol = res.symbol
        ON CONFLICT (exchange, symbol) DO UPDATE SET
            ts = EXCLUDED.ts, computed_at = EXCLUDED.computed_at,
            ws_n = EXCLUDED.ws_n, ws_s = EXCLUDED.ws_s, ws_q = EXCLUDED.ws_q, wx_n = EXCLUDED.wx_n,
            wx_1 = EXCLUDED.wx_1, wx_2 = EXCLUDED.wx_2, wx_3 = EXCLUDED.wx_3, wx_4 = EXCLUDED.wx_4,
            wd_n = EXCLUDED.wd_n, wd_p = EXCLUDED.wd_p, wd_c = EXCLUDED.wd_c, wd_pp = EXCLUDED.wd_pp,
            wd_pc = EXCLUDED.wd_pc, wd_d2 = EXCLUDED.wd_d2, wr_n = EXCLUDED.wr_n, wr_1 = EXCLUDED.wr_1, wr_2 = EXCLUDED.wr_2,
            wv_n = EXCLUDED.wv_n, wv_1 = EXCLUDED.wv_1, wv_2 = EXCLUDED.wv_2,
            fb_lo = EXCLUDED.fb_lo, fb_hi = EXCLUDED.fb_hi, fb_mx = EXCLUDED.fb_mx, fb_mn = EXCLUDED.fb_mn, fb_dd = EXCLUDED.fb_dd,
            r_x = EXCLUDED.r_x, r_sn = EXCLUDED.r_sn, r_ss = EXCLUDED.r_ss,
            r_m2 = EXCLUDED.r_m2, r_pers = EXCLUDED.r_pers;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.factor_write_step(timestamptz, timestamptz, timestamptz) FROM PUBLIC;
