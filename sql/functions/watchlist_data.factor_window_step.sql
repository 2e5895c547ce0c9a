-- watchlist_data.factor_window_step(p_t, p_blocks_lo, p_blocks_hi): step 2.4 of
-- watchlist_data.compute_factors_keys: the 12-hour window W(t, 12 h) (z-score 12 h, half-life,
-- skew, kurtosis, drawdown, realised vol 12 h, vol of vol, volume spike).
--   in:  pg_temp.wl_factor_cur (2.1) and pg_temp.wl_factor_short (2.3: own_px, hd_*);
--        for the keys that roll (NOT fullw): their watchlist_data.factor_window_state (the
--        sums at t - 5 min, 0022), their rows of factor_value in [t - 12 h - 5 min, p_blocks_lo]
--        and, when the blocks moved (the hour turned), the hourly blocks b_blk_* kept on the
--        full-hour rows in (p_blocks_lo, p_blocks_hi]; for the others
--        pg_temp.wl_factor_window_rows (2.2).
--   out: pg_temp.wl_factor_w12, one row per key of wl_factor_cur: the sums of W(t, 12 h), its
--        drawdown dd12 and the summary fb_* of the blocks.
--   invariant: the sums are exact (numeric), so rolling and summing give the same values.
-- One statement in five stages; each states what it yields:
--   1. tail_rows  (rolling keys) the rows in [t - 12 h - 5 min, p_blocks_lo], each with the row
--                 before it and the running maximum of x from t - 12 h; tail_part: max, min
--                 and largest fall of x over those in W(t, 12 h), before its first block.
--   2. leaving    (rolling keys) the terms of the row at t - 12 h (leaving W) in every sum,
--                 its step's included; no row when the key has none there.
--   3. blocks     (rolling keys whose state's blocks are not (p_blocks_lo, p_blocks_hi]) the
--                 11 hourly blocks; blocks_sum: their max, min and largest fall, combined in
--                 time order.
--   4. rolled     (rolling keys) state + the row at t - the row leaving, and the drawdown
--                 from the parts: the tail, the blocks, the rows after them (hd_* of 2.3).
--   5. summed     (fullw keys) the same columns summed over their rows in W(t, 12 h).
CREATE OR REPLACE FUNCTION watchlist_data.factor_window_step(p_t timestamptz, p_blocks_lo timestamptz, p_blocks_hi timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- Every read of a hypertable is bounded by the parameters, planned for their values (custom
-- plans): chunks outside the windows stay out of the plan and are never locked (a lock on a
-- chunk the retention policy is dropping deadlocks it).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    c_step        CONSTANT interval := INTERVAL '5 minutes';
    -- the bounds as plain values: `p_t - INTERVAL ...` inside a query is a stable expression,
    -- evaluated again for every row and aggregate
    v_w12_lo      timestamptz := p_t - INTERVAL '12 hours';            -- W(t, 12 h) = (v_w12_lo, t]
    v_w12_step_lo timestamptz := p_t - INTERVAL '12 hours 5 minutes';  -- and the step into its first row
BEGIN
    -- the staged output, one row per key at t, kept until the caller's commit and emptied for
    -- each bucket end (a table created and dropped at every bucket end would hold its locks to
    -- the end of the transaction: a backfill would exhaust the lock table)
    IF to_regclass('pg_temp.wl_factor_w12') IS NULL THEN
        CREATE TEMP TABLE wl_factor_w12 (
            l_ex   text,              -- the key
            l_sym  text,
            ws_n   bigint,            -- the sums of W(t, 12 h), as the columns of factor_window_state
            ws_s   numeric,           -- (0022, commented in 0105) ...
            ws_q   numeric,
            wx_n   integer,
            wx_1   numeric,
            wx_2   numeric,
            wx_3   numeric,
            wx_4   numeric,
            wd_n   integer,
            wd_p   numeric,
            wd_c   numeric,
            wd_pp  numeric,
            wd_pc  numeric,
            wd_d2  numeric,
            wr_pn  integer,           -- ... but for the row at t, whose rv_1h step 2.7 computes:
            wr_p1  numeric,           -- wr_n, wr_1, wr_2 without its term
            wr_p2  numeric,
            wv_n   integer,
            wv_1   numeric,
            wv_2   numeric,
            dd12   double precision,  -- spread_drawdown_12h
            fb_mx  double precision,  -- the summary of the 11 hourly blocks in (blocks_lo, blocks_hi]
            fb_mn  double precision,
            fb_dd  double precision
        ) ON COMMIT DROP;
    ELSE
        TRUNCATE pg_temp.wl_factor_w12;
    END IF;
    INSERT INTO pg_temp.wl_factor_w12
        WITH tail_rows AS ( -- 1. rolling keys: rows in [t - 12 h - 5 min, p_blocks_lo]: the row leaving W and the step
                            -- leaving with it, and the rows of W before its first block
            SELECT h.exchange, h.symbol, h.ts, h.b_spread_close AS x, h.b_spread_n AS sn, h.b_spread_sum AS ss,
                   h.b_spread_m2 AS m2b, h.rv_1h AS rv, h.b_volume_close AS v,
                   lag(h.ts) OVER w AS pts, lag(h.b_spread_close) OVER w AS px,
                   max(h.b_spread_close) FILTER (WHERE h.ts > v_w12_lo) OVER w AS rmt
              FROM watchlist_data.factor_value AS h
             WHERE h.ts >= v_w12_step_lo AND h.ts <= p_blocks_lo
               AND EXISTS (SELECT 1 FROM pg_temp.wl_factor_cur AS cur WHERE cur.exchange = h.exchange AND cur.symbol = h.symbol AND NOT cur.fullw)
            WINDOW w AS (PARTITION BY h.exchange COLLATE "C", h.symbol COLLATE "C" ORDER BY h.ts)
        ), tail_part AS ( -- the rows of W before its first block
            SELECT tail_rows.exchange, tail_rows.symbol, max(tail_rows.x) AS tl_mx, min(tail_rows.x) AS tl_mn, max(tail_rows.rmt - tail_rows.x) AS tl_dd
              FROM tail_rows WHERE tail_rows.ts > v_w12_lo GROUP BY 1, 2
        ), leaving AS ( -- 2. the row at t - 12 h: its terms of every sum
            SELECT tail_rows.exchange, tail_rows.symbol,
                   coalesce(tail_rows.sn, 0) AS l_sn,
                   CASE WHEN tail_rows.sn > 0 THEN tail_rows.ss::numeric ELSE 0 END AS l_ss,
                   CASE WHEN tail_rows.sn > 0 THEN tail_rows.m2b::numeric + (tail_rows.ss::numeric * tail_rows.ss::numeric) / tail_rows.sn ELSE 0 END AS l_sq,
                   (tail_rows.x IS NOT NULL)::int AS l_xn,
                   coalesce(tail_rows.x::numeric, 0) AS l_x1,
                   coalesce((tail_rows.x::numeric * tail_rows.x::numeric), 0) AS l_x2,
                   coalesce((tail_rows.x::numeric * tail_rows.x::numeric * tail_rows.x::numeric), 0) AS l_x3,
                   coalesce((tail_rows.x::numeric * tail_rows.x::numeric * tail_rows.x::numeric * tail_rows.x::numeric), 0) AS l_x4,
                   (tail_rows.pts = tail_rows.ts - c_step AND tail_rows.x IS NOT NULL AND tail_rows.px IS NOT NULL)::int AS l_dn,
                   CASE WHEN tail_rows.pts = tail_rows.ts - c_step AND tail_rows.x IS NOT NULL AND tail_rows.px IS NOT NULL THEN tail_rows.px::numeric ELSE 0 END AS l_dp,
                   CASE WHEN tail_rows.pts = tail_rows.ts - c_step AND tail_rows.x IS NOT NULL AND tail_rows.px IS NOT NULL THEN tail_rows.x::numeric ELSE 0 END AS l_dc,
                   CASE WHEN tail_rows.pts = tail_rows.ts - c_step AND tail_rows.x IS NOT NULL AND tail_rows.px IS NOT NULL THEN (tail_rows.px::numeric * tail_rows.px::numeric) ELSE 0 END AS l_dpp,
                   CASE WHEN tail_rows.pts = tail_rows.ts - c_step AND tail_rows.x IS NOT NULL AND tail_rows.px IS NOT NULL THEN (tail_rows.px::numeric * tail_rows.x::numeric) ELSE 0 END AS l_dpc,
                   CASE WHEN tail_rows.pts = tail_rows.ts - c_step AND tail_rows.x IS NOT NULL AND tail_rows.px IS NOT NULL THEN ((tail_rows.x - tail_rows.px)::numeric * (tail_rows.x - tail_rows.px)::numeric) ELSE 0 END AS l_dd2,
                   (tail_rows.rv IS NOT NULL)::int AS l_rn,
                   coalesce(tail_rows.rv::numeric, 0) AS l_r1,
                   coalesce((tail_rows.rv::numeric * tail_rows.rv::numeric), 0) AS l_r2,
                   (tail_rows.v IS NOT NULL)::int AS l_vn,
                   coalesce(tail_rows.v::numeric, 0) AS l_v1,
                   coalesce((tail_rows.v::numeric * tail_rows.v::numeric), 0) AS l_v2
              FROM tail_rows WHERE tail_rows.ts = v_w12_lo
        ), blocks AS ( -- 3. rolling keys whose blocks changed (the hour turned): the 11 blocks, in time order
            SELECT h.exchange, h.symbol, h.ts, h.b_blk_mx AS mx, h.b_blk_mn AS mn, h.b_blk_dd AS dd
              FROM watchlist_data.factor_value AS h
             WHERE h.b_on_hour AND h.ts > p_blocks_lo AND h.ts <= p_blocks_hi
               AND EXISTS (SELECT 1 FROM pg_temp.wl_factor_cur AS cur JOIN watchlist_data.factor_window_state AS s
                                          ON s.exchange = cur.exchange AND s.symbol = cur.symbol
                            WHERE cur.exchange = h.exchange AND cur.symbol = h.symbol AND NOT cur.fullw
                              AND NOT coalesce(s.fb_lo = p_blocks_lo AND s.fb_hi = p_blocks_hi, false))
        ), blocks_sum AS ( -- their combination: largest fall within a block, or from an earlier block's maximum
            SELECT q.exchange, q.symbol, max(q.mx) AS fb_mx, min(q.mn) AS fb_mn, max(greatest(q.dd, q.pmx - q.mn)) AS fb_dd
              FROM (SELECT blocks.*, max(blocks.mx) OVER (PARTITION BY blocks.exchange COLLATE "C", blocks.symbol COLLATE "C" ORDER BY blocks.ts
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pmx
                      FROM blocks) AS q
             GROUP BY 1, 2
        ), rolled AS ( -- 4. rolling keys: W(t - 5 min)'s sums + the row at t - the row at t - 12 h
            SELECT cur.exchange AS l_ex, cur.symbol AS l_sym,
                   s.ws_n + cur.sn - coalesce(leaving.l_sn, 0) AS ws_n,
                   s.ws_s + CASE WHEN cur.sn > 0 THEN cur.ss::numeric ELSE 0 END - coalesce(leaving.l_ss, 0) AS ws_s,
                   s.ws_q + CASE WHEN cur.sn > 0 THEN cur.m2b::numeric + (cur.ss::numeric * cur.ss::numeric) / cur.sn ELSE 0 END
                     - coalesce(leaving.l_sq, 0) AS ws_q,
                   s.wx_n + (cur.x IS NOT NULL)::int - coalesce(leaving.l_xn, 0)::int AS wx_n,
                   s.wx_1 + coalesce(cur.x::numeric, 0) - coalesce(leaving.l_x1, 0) AS wx_1,
                   s.wx_2 + coalesce((cur.x::numeric * cur.x::numeric), 0) - coalesce(leaving.l_x2, 0) AS wx_2,
                   s.wx_3 + coalesce((cur.x::numeric * cur.x::numeric * cur.x::numeric), 0) - coalesce(leaving.l_x3, 0) AS wx_3,
                   s.wx_4 + coalesce((cur.x::numeric * cur.x::numeric * cur.x::numeric * cur.x::numeric), 0) - coalesce(leaving.l_x4, 0) AS wx_4,
                   s.wd_n + (short_win.own_px IS NOT NULL)::int - coalesce(leaving.l_dn, 0)::int AS wd_n,
                   s.wd_p + coalesce(short_win.own_px::numeric, 0) - coalesce(leaving.l_dp, 0) AS wd_p,
                   s.wd_c + CASE WHEN short_win.own_px IS NOT NULL THEN cur.x::numeric ELSE 0 END - coalesce(leaving.l_dc, 0) AS wd_c,
                   s.wd_pp + coalesce((short_win.own_px::numeric * short_win.own_px::numeric), 0) - coalesce(leaving.l_dpp, 0) AS wd_pp,
                   s.wd_pc + coalesce(short_win.own_px::numeric * cur.x::numeric, 0) - coalesce(leaving.l_dpc, 0) AS wd_pc,
                   s.wd_d2 + coalesce(((cur.x - short_win.own_px)::numeric * (cur.x - short_win.own_px)::numeric), 0) - coalesce(leaving.l_dd2, 0) AS wd_d2,
                   s.wr_n - coalesce(leaving.l_rn, 0)::int AS wr_pn,
                   s.wr_1 - coalesce(leaving.l_r1, 0) AS wr_p1,
                   s.wr_2 - coalesce(leaving.l_r2, 0) AS wr_p2,
                   s.wv_n + (cur.v IS NOT NULL)::int - coalesce(leaving.l_vn, 0)::int AS wv_n,
                   s.wv_1 + coalesce(cur.v::numeric, 0) - coalesce(leaving.l_v1, 0) AS wv_1,
                   s.wv_2 + coalesce((cur.v::numeric * cur.v::numeric), 0) - coalesce(leaving.l_v2, 0) AS wv_2,
                   -- drawdown: the rows before the first block, the blocks, the rows after the last
                   greatest(tail_part.tl_dd, fbx.dd, short_win.hd_dd, tail_part.tl_mx - fbx.mn, tail_part.tl_mx - short_win.hd_mn, fbx.mx - short_win.hd_mn) AS dd12,
                   fbx.mx AS fb_mx, fbx.mn AS fb_mn, fbx.dd AS fb_dd
              FROM pg_temp.wl_factor_cur AS cur
              JOIN watchlist_data.factor_window_state AS s ON s.exchange = cur.exchange AND s.symbol = cur.symbol
              JOIN pg_temp.wl_factor_short AS short_win ON short_win.exchange = cur.exchange AND short_win.symbol = cur.symbol
              LEFT JOIN leaving ON leaving.exchange = cur.exchange AND leaving.symbol = cur.symbol
              LEFT JOIN tail_part ON tail_part.exchange = cur.exchange AND tail_part.symbol = cur.symbol
              LEFT JOIN blocks_sum ON blocks_sum.exchange = cur.exchange AND blocks_sum.symbol = cur.symbol
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN s.fb_lo = p_blocks_lo AND s.fb_hi = p_blocks_hi THEN s.fb_mx ELSE blocks_sum.fb_mx END AS mx,
                         CASE WHEN s.fb_lo = p_blocks_lo AND s.fb_hi = p_blocks_hi THEN s.fb_mn ELSE blocks_sum.fb_mn END AS mn,
                         CASE WHEN s.fb_lo = p_blocks_lo AND s.fb_hi = p_blocks_hi THEN s.fb_dd ELSE blocks_sum.fb_dd END AS dd) AS fbx
             WHERE NOT cur.fullw
        ), summed AS ( -- 5. the same sums, over the window itself
            SELECT hist.exchange AS l_ex, hist.symbol AS l_sym,
                   coalesce(sum(hist.sn), 0) AS ws_n,
                   coalesce(sum(hist.ss::numeric) FILTER (WHERE hist.sn > 0), 0) AS ws_s,
                   coalesce(sum(hist.m2b::numeric + (hist.ss::numeric * hist.ss::numeric) / hist.sn) FILTER (WHERE hist.sn > 0), 0) AS ws_q,
                   count(hist.x)::int AS wx_n,
                   coalesce(sum(hist.x::numeric), 0) AS wx_1,
                   coalesce(sum((hist.x::numeric * hist.x::numeric)), 0) AS wx_2,
                   coalesce(sum((hist.x::numeric * hist.x::numeric * hist.x::numeric)), 0) AS wx_3,
                   coalesce(sum((hist.x::numeric * hist.x::numeric * hist.x::numeric * hist.x::numeric)), 0) AS wx_4,
                   count(*) FILTER (WHERE hist.pts = hist.ts - c_step AND hist.x IS NOT NULL AND hist.px IS NOT NULL)::int AS wd_n,
                   coalesce(sum(hist.px::numeric) FILTER (WHERE hist.pts = hist.ts - c_step AND hist.x IS NOT NULL), 0) AS wd_p,
                   coalesce(sum(hist.x::numeric) FILTER (WHERE hist.pts = hist.ts - c_step AND hist.px IS NOT NULL), 0) AS wd_c,
                   coalesce(sum((hist.px::numeric * hist.px::numeric)) FILTER (WHERE hist.pts = hist.ts - c_step AND hist.x IS NOT NULL), 0) AS wd_pp,
                   coalesce(sum(hist.px::numeric * hist.x::numeric) FILTER (WHERE hist.pts = hist.ts - c_step), 0) AS wd_pc,
                   coalesce(sum(((hist.x - hist.px)::numeric * (hist.x - hist.px)::numeric)) FILTER (WHERE hist.pts = hist.ts - c_step), 0) AS wd_d2,
                   count(hist.rv) FILTER (WHERE hist.ts < p_t)::int AS wr_pn,
                   coalesce(sum(hist.rv::numeric) FILTER (WHERE hist.ts < p_t), 0) AS wr_p1,
                   coalesce(sum((hist.rv::numeric * hist.rv::numeric)) FILTER (WHERE hist.ts < p_t), 0) AS wr_p2,
                   count(hist.v)::int AS wv_n,
                   coalesce(sum(hist.v::numeric), 0) AS wv_1,
                   coalesce(sum((hist.v::numeric * hist.v::numeric)), 0) AS wv_2,
                   max(hist.runmax - hist.x) AS dd12,
                   max(hist.x) FILTER (WHERE hist.ts > p_blocks_lo AND hist.ts <= p_blocks_hi) AS fb_mx,
                   min(hist.x) FILTER (WHERE hist.ts > p_blocks_lo AND hist.ts <= p_blocks_hi) AS fb_mn,
                   max(hist.rmfb - hist.x) FILTER (WHERE hist.ts > p_blocks_lo AND hist.ts <= p_blocks_hi) AS fb_dd
              FROM pg_temp.wl_factor_window_rows AS hist
             WHERE hist.ts > v_w12_lo
             GROUP BY 1, 2
        )
        SELECT * FROM rolled UNION ALL SELECT * FROM summed;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.factor_window_step(timestamptz, timestamptz, timestamptz) FROM PUBLIC;
