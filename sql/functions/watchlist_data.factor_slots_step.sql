-- watchlist_data.factor_slots_step(p_t, p_blocks_hi): step 2.3 of
-- watchlist_data.compute_factors_keys: the short windows (3 hours 5 minutes at most: z-score
-- 1 h, Cutler's RSI, the Bollinger mean and sd, momentum, realised vol 1 h, crossings 3 h, the
-- drawdown of the rows after the last hourly block).
--   in:  pg_temp.wl_factor_cur (step 2.1: the rows at t); for the keys that roll (NOT fullw)
--        the slots r_* of watchlist_data.factor_window_state, written at t - 5 min (0070); for
--        the others pg_temp.wl_factor_window_rows (step 2.2). p_blocks_hi: the end of the last
--        hourly block of W(t, 12 h); the rows after it are slots 1 .. (t - p_blocks_hi) / 5 min.
--   out: pg_temp.wl_factor_short, one row per key of wl_factor_cur: its slots (slot k = the
--        key's row at t - (k - 1) x 5 min, NULL where there is none) and the short-window sums
--        taken from them (the table's columns below).
--   invariant: the slots are the same whether shifted from the state (the row at t entering as
--        slot 1) or read from the rows, so every value computed from them is too.
-- Reads no hypertable; runs under the settings of compute_factors_keys (hash joins).
CREATE OR REPLACE FUNCTION watchlist_data.factor_slots_step(p_t timestamptz, p_blocks_hi timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the slots k = 1 .. v_n_after_blocks are the rows in (p_blocks_hi, p_t]
    v_n_after_blocks integer := (extract(epoch FROM p_t - p_blocks_hi) / 300)::integer;
BEGIN
    -- the staged output, one row per key at t, kept until the caller's commit and emptied for
    -- each bucket end (a table created and dropped at every bucket end would hold its locks to
    -- the end of the transaction: a backfill would exhaust the lock table)
    IF to_regclass('pg_temp.wl_factor_short') IS NULL THEN
        CREATE TEMP TABLE wl_factor_short (
            exchange  text,
            symbol    text,
            x         double precision,    -- b_spread_close, b_funding_close, b_volume_close,
            f         double precision,    -- b_triggered_last of the row at t
            v         double precision,
            trig      boolean,
            x0        double precision,    -- x, 0 when NULL: the centre of the 1-hour sums
            n1        bigint,              -- W(t, 1 h): raw spread samples, their sum, the centred
            s1        double precision,    -- sum of squares about x0
            q1        double precision,
            bb_m      double precision,    -- slots 1 .. 20: mean and population sd of x (Bollinger; the
            bb_sd     double precision,    -- last 20 rows of the run when it has 20)
            rsi_g     double precision,    -- the steps in W(t, 70 min): sum of gains, of |d| (Cutler's RSI)
            rsi_a     double precision,
            d2_1      double precision,    -- the steps in W(t, 1 h): sum of d^2, count
            dn_1      bigint,
            hd_n      bigint,              -- the rows after the last hourly block, (blocks_hi, t]: count, max,
            hd_mx     double precision,    -- min of x and the largest fall from its running maximum
            hd_mn     double precision,    -- (on a full hour: the hour's block, kept on the row)
            hd_dd     double precision,
            x15       double precision,    -- x at t - 15 min, t - 60 min
            x60       double precision,
            own_px    double precision,    -- x at t - 5 min when the step at t exists (both rows), else NULL
            pers_prev double precision,    -- signal_persistence_min of the row at t - 5 min
            c3        double precision,    -- W(t, 3 h): mean of x, and the steps crossing it
            cross3    bigint,
            sl_x      double precision[],  -- the slots: slot k = the row at t - (k - 1) x 5 min (0070)
            sl_sn     integer[],
            sl_ss     double precision[],
            sl_m2     double precision[]
        ) ON COMMIT DROP;
    ELSE
        TRUNCATE pg_temp.wl_factor_short;
    END IF;
    INSERT INTO pg_temp.wl_factor_short
        WITH slots AS ( -- the slots of the short windows (0070): slot k = the key's row at t - (k - 1) x 5 min, NULL where
                        -- there is none; the row at t, then the state's slots (rolling keys), or read from the rows
            SELECT cur.exchange, cur.symbol, cur.x, cur.f, cur.v, cur.trig,
                   ARRAY[cur.x] || s.r_x AS sl_x,
                   ARRAY[cur.sn] || s.r_sn AS sl_sn, ARRAY[cur.ss] || s.r_ss AS sl_ss, ARRAY[cur.m2b] || s.r_m2 AS sl_m2,
                   s.r_pers AS pers_prev
              FROM pg_temp.wl_factor_cur AS cur JOIN watchlist_data.factor_window_state AS s ON s.exchange = cur.exchange AND s.symbol = cur.symbol
             WHERE NOT cur.fullw
            UNION ALL
            SELECT cur.exchange, cur.symbol, cur.x, cur.f, cur.v, cur.trig,
                   array_agg(hist.x ORDER BY g.k),
                   array_agg(hist.sn ORDER BY g.k) FILTER (WHERE g.k <= 12),
                   array_agg(hist.ss ORDER BY g.k) FILTER (WHERE g.k <= 12),
                   array_agg(hist.m2b ORDER BY g.k) FILTER (WHERE g.k <= 12),
                   max(hist.pers) FILTER (WHERE g.k = 2)
              FROM pg_temp.wl_factor_cur AS cur CROSS JOIN generate_series(1, 37) AS g(k)
              LEFT JOIN pg_temp.wl_factor_window_rows AS hist ON hist.exchange = cur.exchange AND hist.symbol = cur.symbol AND hist.k1 = g.k
             WHERE cur.fullw
             GROUP BY cur.exchange, cur.symbol, cur.x, cur.f, cur.v, cur.trig
        ), short_win AS ( -- the short windows (100 minutes at most, 3 hours for the crossings), from each key's slots
                          -- (slot k <= 12: W(t, 1 h); k <= 14: W(t, 70 min); k <= 20: the Bollinger rows; k <= v_n_after_blocks: (p_blocks_hi, t])
            SELECT slots.exchange, slots.symbol, slots.x, slots.f, slots.v, slots.trig, coalesce(slots.x, 0) AS x0, q.*,
                   slots.sl_x[4] AS x15, slots.sl_x[13] AS x60,
                   CASE WHEN slots.sl_x[1] IS NOT NULL AND slots.sl_x[2] IS NOT NULL THEN slots.sl_x[2] END AS own_px,
                   slots.pers_prev, c3.c3,
                   -- W(t, 3 h)'s steps (both rows in it) that cross its mean
                   CASE WHEN c3.c3 IS NOT NULL THEN
                       (SELECT count(*) FROM unnest(slots.sl_x[1:35], slots.sl_x[2:36]) AS u(x, px) WHERE (u.x - c3.c3) * (u.px - c3.c3) < 0) END AS cross3,
                   slots.sl_x, slots.sl_sn, slots.sl_ss, slots.sl_m2
              FROM slots
             CROSS JOIN LATERAL (SELECT avg(u.x) AS c3 FROM unnest(slots.sl_x[1:36]) AS u(x)) AS c3
             CROSS JOIN LATERAL (
                SELECT sum(u.sn) FILTER (WHERE u.k <= 12) AS n1,
                       sum(u.ss) FILTER (WHERE u.k <= 12) AS s1,
                       -- centred sum of squares about x0: sum(m2_i + n_i (mean_i - x0)^2) (Chan et al.)
                       sum(u.m2b + u.sn * (u.ss / nullif(u.sn, 0) - coalesce(slots.x, 0)) ^ 2) FILTER (WHERE u.k <= 12 AND u.sn > 0) AS q1,
                       avg(u.x) AS bb_m,
                       stddev_pop(u.x) AS bb_sd,
                       sum(greatest(u.d, 0)) FILTER (WHERE u.step AND u.k <= 14) AS rsi_g,
                       sum(abs(u.d)) FILTER (WHERE u.step AND u.k <= 14) AS rsi_a,
                       sum(u.d ^ 2) FILTER (WHERE u.step AND u.k <= 12) AS d2_1,
                       count(*) FILTER (WHERE u.step AND u.k <= 12) AS dn_1,
                       -- the rows in (p_blocks_hi, t]: on the full hour the hour (t - 1 h, t], kept on the row
                       count(u.x) FILTER (WHERE u.k <= v_n_after_blocks) AS hd_n,
                       max(u.x) FILTER (WHERE u.k <= v_n_after_blocks) AS hd_mx,
                       min(u.x) FILTER (WHERE u.k <= v_n_after_blocks) AS hd_mn,
                       -- and their largest fall from their running maximum
                       max(u.rm - u.x) FILTER (WHERE u.k <= v_n_after_blocks) AS hd_dd
                  FROM (SELECT v.*, (v.x IS NOT NULL AND v.px IS NOT NULL) AS step, v.x - v.px AS d,
                               max(v.x) FILTER (WHERE v.k <= v_n_after_blocks) OVER (ORDER BY v.k DESC) AS rm
                          FROM unnest(slots.sl_x[1:20], slots.sl_x[2:21], slots.sl_sn, slots.sl_ss, slots.sl_m2)
                               WITH ORDINALITY AS v(x, px, sn, ss, m2b, k)) AS u) AS q
        )
        SELECT * FROM short_win;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.factor_slots_step(timestamptz, timestamptz) FROM PUBLIC;
