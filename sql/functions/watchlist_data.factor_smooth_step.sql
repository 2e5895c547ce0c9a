-- watchlist_data.factor_smooth_step(): step 2.5 of watchlist_data.compute_factors_keys: the
-- textbook indicators of 0120 (RSI, MACD and signal, Bollinger %b, DX, ADX), one recursion step
-- along each key's run.
--   in:  pg_temp.wl_factor_cur (2.1: the row at t, and the row at t - 5 min's close, high, low
--        and state p_*, as that row stands); pg_temp.wl_factor_short (2.3: the slots sl_x, for
--        the EMA seeds, and the Bollinger mean and sd bb_m, bb_sd).
--   out: pg_temp.wl_factor_smooth, one row per key of wl_factor_cur: the row at t's state
--        (n = b_run_n and the columns b_rsi_gain .. b_adx, as 0120 comments them) and its
--        factors (NULL before their warm-up).
--   invariant: the state at t is a function of the row at t and the state of the row at
--        t - 5 min only, so rolling and reading give the same values, and a range recomputed
--        from any t starts from the state stored on the row before it. The operations follow
--        TA-Lib's order (RSI, MACD, BBANDS, DX, ADX), so the values equal TA-Lib's to rounding.
-- Two stages: 1. step: the run's length at t and the step into t (d, +DM, -DM, TR);
--             2. state: the recursions of 0120's comments, then the factors from them.
CREATE OR REPLACE FUNCTION watchlist_data.factor_smooth_step()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the staged output, kept until the caller's commit and emptied for each bucket end (a
    -- table dropped at every bucket end would hold its locks to the end of the transaction)
    IF to_regclass('pg_temp.wl_factor_smooth') IS NULL THEN
        CREATE TEMP TABLE wl_factor_smooth (
            exchange text,
            symbol   text,
            n        integer,           -- b_run_n: the rows of the run at t (0: x NULL)
            gain     double precision,  -- b_rsi_gain, b_rsi_loss, b_ema12, b_ema26, b_macd_sig,
            loss     double precision,  -- b_dm_plus, b_dm_minus, b_tr, b_adx of the row at t
            ema12    double precision,
            ema26    double precision,
            sig      double precision,
            dmp      double precision,
            dmm      double precision,
            tr       double precision,
            adx      double precision,
            rsi      double precision,  -- the factors: spread_rsi_14, spread_macd, spread_macd_signal,
            macd     double precision,  -- spread_bollinger_pct_b, spread_dx_14, spread_adx_14
            macd_sig double precision,
            pctb     double precision,
            dx       double precision,
            adx_f    double precision
        ) ON COMMIT DROP;
    ELSE
        TRUNCATE pg_temp.wl_factor_smooth;
    END IF;
    INSERT INTO pg_temp.wl_factor_smooth
        WITH step AS ( -- 1. i = n - 1 steps in the run; the step into t (i >= 1)
            SELECT cur.exchange, cur.symbol, cur.x, cur.p_gain, cur.p_loss, cur.p_ema12, cur.p_ema26, cur.p_sig,
                   cur.p_dmp, cur.p_dmm, cur.p_tr, cur.p_adx, short_win.sl_x, short_win.bb_m, short_win.bb_sd,
                   q.n, q.n - 1 AS i, d.d,
                   CASE WHEN d.dn > d.up AND d.dn > 0 THEN d.dn ELSE 0 END AS dm_m,
                   CASE WHEN d.up > d.dn AND d.up > 0 THEN d.up ELSE 0 END AS dm_p,
                   greatest(cur.hi, cur.p_x) - least(cur.lo, cur.p_x) AS tr_j
              FROM pg_temp.wl_factor_cur AS cur
              JOIN pg_temp.wl_factor_short AS short_win ON short_win.exchange = cur.exchange AND short_win.symbol = cur.symbol
             CROSS JOIN LATERAL (SELECT CASE WHEN cur.x IS NULL THEN 0
                                             WHEN cur.p_x IS NULL THEN 1
                                             ELSE coalesce(cur.p_n, 0) + 1 END AS n) AS q
             CROSS JOIN LATERAL (SELECT cur.x - cur.p_x AS d, cur.hi - cur.p_hi AS up, cur.p_lo - cur.lo AS dn) AS d
        ), state AS ( -- 2. the recursions (i: the step; the seeds at i = 13 .. 14, 25, 27, 33)
            SELECT step.exchange, step.symbol, step.n, step.x, step.bb_m, step.bb_sd, step.i,
                   CASE WHEN step.i < 0 THEN NULL WHEN step.i = 0 THEN 0
                        WHEN step.i < 14 THEN step.p_gain + greatest(step.d, 0)
                        WHEN step.i = 14 THEN (step.p_gain + greatest(step.d, 0)) / 14
                        ELSE (step.p_gain * 13 + greatest(step.d, 0)) / 14 END AS gain,
                   CASE WHEN step.i < 0 THEN NULL WHEN step.i = 0 THEN 0
                        WHEN step.i < 14 THEN step.p_loss + greatest(-step.d, 0)
                        WHEN step.i = 14 THEN (step.p_loss + greatest(-step.d, 0)) / 14
                        ELSE (step.p_loss * 13 + greatest(-step.d, 0)) / 14 END AS loss,
                   CASE WHEN step.i = 25 THEN (SELECT sum(step.sl_x[k]) FROM generate_series(12, 1, -1) AS k) / 12
                        WHEN step.i > 25 THEN ((step.x - step.p_ema12) * (2.0::float8 / 13)) + step.p_ema12 END AS ema12,
                   CASE WHEN step.i = 25 THEN (SELECT sum(step.sl_x[k]) FROM generate_series(26, 1, -1) AS k) / 26
                        WHEN step.i > 25 THEN ((step.x - step.p_ema26) * (2.0::float8 / 27)) + step.p_ema26 END AS ema26,
                   CASE WHEN step.i < 0 THEN NULL WHEN step.i = 0 THEN 0
                        WHEN step.i <= 13 THEN step.p_dmp + step.dm_p
                        ELSE step.p_dmp - step.p_dmp / 14 + step.dm_p END AS dmp,
                   CASE WHEN step.i < 0 THEN NULL WHEN step.i = 0 THEN 0
                        WHEN step.i <= 13 THEN step.p_dmm + step.dm_m
                        ELSE step.p_dmm - step.p_dmm / 14 + step.dm_m END AS dmm,
                   CASE WHEN step.i < 0 THEN NULL WHEN step.i = 0 THEN 0
                        WHEN step.i <= 13 THEN step.p_tr + step.tr_j
                        ELSE step.p_tr - step.p_tr / 14 + step.tr_j END AS tr,
                   step.p_sig, step.p_adx
              FROM step
        ), ind AS ( -- the MACD line (i >= 25) and DX (i >= 14) from the new state
            SELECT state.*, state.ema12 - state.ema26 AS macd_j,
                   CASE WHEN state.i >= 14 AND state.tr > 0 AND 100 * (state.dmm / state.tr) + 100 * (state.dmp / state.tr) > 0
                        THEN 100 * (abs(100 * (state.dmm / state.tr) - 100 * (state.dmp / state.tr))
                                    / (100 * (state.dmm / state.tr) + 100 * (state.dmp / state.tr))) END AS dx
              FROM state
        )
        SELECT ind.exchange, ind.symbol, ind.n, ind.gain, ind.loss, ind.ema12, ind.ema26,
               sig.sig, ind.dmp, ind.dmm, ind.tr, adx.adx,
               CASE WHEN ind.i >= 14 AND ind.gain + ind.loss > 0 THEN 100 * (ind.gain / (ind.gain + ind.loss)) END,
               CASE WHEN ind.i >= 33 THEN ind.macd_j END,
               CASE WHEN ind.i >= 33 THEN sig.sig END,
               CASE WHEN ind.i >= 19 AND ind.bb_sd > 0 THEN (ind.x - (ind.bb_m - 2 * ind.bb_sd)) / (4 * ind.bb_sd) END,
               ind.dx,
               CASE WHEN ind.i >= 27 THEN adx.adx END
          FROM ind
         CROSS JOIN LATERAL (
            SELECT CASE WHEN ind.i = 25 THEN ind.macd_j
                        WHEN ind.i > 25 AND ind.i < 33 THEN ind.p_sig + ind.macd_j
                        WHEN ind.i = 33 THEN (ind.p_sig + ind.macd_j) / 9
                        WHEN ind.i > 33 THEN ((ind.macd_j - ind.p_sig) * 0.2::float8) + ind.p_sig END AS sig) AS sig
         CROSS JOIN LATERAL (
            SELECT CASE WHEN ind.i = 14 THEN coalesce(ind.dx, 0)
                        WHEN ind.i > 14 AND ind.i < 27 THEN ind.p_adx + coalesce(ind.dx, 0)
                        WHEN ind.i = 27 THEN (ind.p_adx + coalesce(ind.dx, 0)) / 14
                        WHEN ind.i > 27 THEN coalesce((ind.p_adx * 13 + ind.dx) / 14, ind.p_adx) END AS adx) AS adx;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.factor_smooth_step() FROM PUBLIC;
