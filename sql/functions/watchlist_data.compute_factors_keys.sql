-- watchlist_data.compute_factors_keys(p_from, p_to, p_keys): (re)computes the rows of
-- watchlist_data.factor_value at the 5-minute bucket ends t in (p_from, p_to], for every key
-- with raw rows (p_keys NULL) or only the keys in p_keys (a jsonb array of [exchange, symbol]).
-- Formulas: the column comments of sql/0020_factor_value.sql (the one place they live).
--   1. base: per key and bucket [t - 5 min, t), from watch_signal_raw (exact, late rows
--      included), plus the factors that need only the bucket; upserted (idempotent);
--   2. windowed factors, bucket end by bucket end in time order, from the stored rows of
--      factor_value at or before t (factors of a factor - MACD signal, ADX, vol of vol,
--      persistence - read the rows written by the previous steps). The 7-day funding window
--      is not read in steady state: its 168 hourly samples are kept per key (0060) with their
--      exact sums and sorted arrays, all rolled on the full hour (one term out, one in); a key
--      without them for the hour before reads its samples from the rows and sums them (both
--      give the same sums and arrays, and the factors come from those); between full hours the
--      funding factors come from the state kept on the row at the hour (0021).
--      The 12-hour window W(t, 12 h) is not read either (0022): its sums are the previous
--      bucket end's (watchlist_data.factor_window_state), plus the row at t, minus the row
--      leaving it (t - 12 h); its drawdown combines the hourly blocks kept on the rows on a
--      full hour with the rows before the first block and after the last. Only keys whose
--      state does not belong to the row at t - 5 min as it stands (first run, a gap, late
--      rows, a recomputed range), or that miss a block, read and sum their window. The sums
--      are exact (numeric), so both ways give the same values.
--      The short windows (3 hours 5 minutes at most) are not read either (0070): the values
--      they need of the key's last rows are slots kept in the same state, shifted by one at
--      each bucket end (the row at t enters as slot 1); the keys that read their window read
--      the slots from the rows too. Both give the same slots, and the factors come from them.
-- A row at t depends only on raw rows before t and on rows at or before t, so recomputing
-- any window gives the same rows, and rows after t never change it.
CREATE OR REPLACE FUNCTION watchlist_data.compute_factors_keys(p_from timestamptz, p_to timestamptz, p_keys jsonb DEFAULT NULL)
RETURNS TABLE (bucket_ends integer, base_rows bigint, factor_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The CTEs below are joined per key; the planner estimates them at one row and would
-- nest-loop them (quadratic in keys: 3 s instead of 0.3 s for 140 keys); hashes fit.
-- JIT compilation would cost more than these short statements. The 3-hour windows of
-- every key are sorted and hashed in memory (7 x 800 keys: about 0.2 M rows a bucket end);
-- the window partitions compare the keys bytewise (COLLATE "C": the same partitions, as text
-- equality is bytewise under any deterministic collation, without strcoll in the sorts).
SET enable_nestloop = off
-- nor merge them: with estimates of a few thousand rows for the 3-hour read (200k) the planner
-- sorted it twice for a merge join on (key, ts - 5 min) (0.9 s instead of 0.3 s hashed)
SET enable_mergejoin = off
SET jit = off
SET work_mem = '128MB'
-- Every read of a hypertable is bounded by plain values (v_*), planned for them (custom
-- plans): the planner leaves chunks outside the windows out of the plan and never locks
-- them (a lock on a chunk the retention policy is dropping deadlocks it).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    c_step  CONSTANT interval := INTERVAL '5 minutes';
    v_first timestamptz;
    v_last  timestamptz;
    v_t     timestamptz;
    v_base  timestamptz;
    v_t12   timestamptz;
    v_t12s  timestamptz;
    v_t7d   timestamptz;
    v_th    timestamptz;
    -- the windows' lower bounds, as plain values: `v_t - INTERVAL ...` inside a query is a
    -- stable expression, evaluated again for every row and aggregate
    v_t3d   timestamptz;
    v_tprev timestamptz;
    -- the drawdown's parts of W(t, 12 h): rows in (t - 12 h, v_ha], the hourly blocks in
    -- (v_ha, v_hb] (11 of them), rows in (v_hb, t]
    v_ha    timestamptz;
    v_hb    timestamptz;
    v_onh   boolean;
    -- the slots k = 1 .. v_nb (0070) are the rows in (v_hb, t]
    v_nb    integer;
    -- the funding samples' state (0060): the hour before t_h, and t_h in hours since the epoch
    v_th1   timestamptz;
    v_thk   bigint;
    -- the keys that read and sum their window (NULL: none); a key is read when both its
    -- exchange and its symbol are listed (a few more than needed: same values either way)
    v_fex   text[];
    v_fsym  text[];
    -- EMA weights l^k, k = 0 .. 144 (index k + 1), rounded at 40 decimal places
    v_p12   numeric[];
    v_p26   numeric[];
    v_p9    numeric[];
    v_n     bigint;
BEGIN
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to OR NOT isfinite(p_from) OR NOT isfinite(p_to) THEN
        RAISE EXCEPTION 'compute_factors: need finite p_from < p_to, got [%, %]', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_first := @extschema@.time_bucket(c_step, p_from) + c_step;
    v_last  := @extschema@.time_bucket(c_step, p_to);
    bucket_ends := 0; base_rows := 0; factor_rows := 0;
    IF v_last < v_first THEN
        RETURN NEXT;
        RETURN;
    END IF;
    bucket_ends := (extract(epoch FROM v_last - v_first) / 300)::integer + 1;
    v_base := v_first - c_step;

    -- 0. The funding samples kept for a full hour at or after the first bucket end recomputed
    --    here may include a row about to change: those keys read their samples again (0060).
    DELETE FROM watchlist_data.factor_funding_state AS s
     WHERE s.ts >= v_first
       AND (p_keys IS NULL OR (s.exchange, s.symbol) IN (SELECT k ->> 0, k ->> 1 FROM jsonb_array_elements(p_keys) AS k));

    -- 1. Base of each bucket, and the factors of the bucket alone.
    WITH keys AS (
        SELECT k ->> 0 AS exchange, k ->> 1 AS symbol FROM jsonb_array_elements(p_keys) AS k
    ), b AS (
        SELECT r.exchange, r.symbol, @extschema@.time_bucket(c_step, r.ts) + c_step AS t,
               count(*)::integer                                              AS n_rows,
               @extschema@.last(r.triggered, r.ts)                                        AS trig,
               @extschema@.last(r.spread_rel, r.ts) FILTER (WHERE r.spread_rel IS NOT NULL) AS x,
               max(r.spread_rel) AS hi, min(r.spread_rel) AS lo,
               count(r.spread_rel)::integer AS sn, sum(r.spread_rel) AS ss, var_pop(r.spread_rel) * count(r.spread_rel) AS m2,
               @extschema@.last(r.funding_rate, r.ts) FILTER (WHERE r.funding_rate IS NOT NULL) AS f,
               @extschema@.last(r.volume_quote, r.ts) FILTER (WHERE r.volume_quote IS NOT NULL) AS v,
               @extschema@.last(r.meta, r.ts) AS meta
          FROM watchlist_data.watch_signal_raw AS r
         WHERE r.ts >= v_base AND r.ts < v_last
           AND (p_keys IS NULL OR (r.exchange, r.symbol) IN (SELECT keys.exchange, keys.symbol FROM keys))
         GROUP BY 1, 2, 3
    ), m AS (
        SELECT b.*, x.term_slope, x.oi_vol, x.dom
          FROM b
         CROSS JOIN LATERAL (
            SELECT regr_slope((e ->> 'funding_rate')::float8, (e ->> 'funding_interval_hours')::float8)
                       FILTER (WHERE jsonb_typeof(e -> 'funding_rate') = 'number'
                                 AND jsonb_typeof(e -> 'funding_interval_hours') = 'number') AS term_slope,
                   sum((e ->> 'oi_usd')::float8) FILTER (WHERE e ->> 'kind' = 'perp' AND jsonb_typeof(e -> 'oi_usd') = 'number'
                                                          AND jsonb_typeof(e -> 'volume_24h_quote') = 'number')
                     / nullif(sum((e ->> 'volume_24h_quote')::float8) FILTER (WHERE e ->> 'kind' = 'perp'
                                 AND jsonb_typeof(e -> 'oi_usd') = 'number' AND jsonb_typeof(e -> 'volume_24h_quote') = 'number'), 0) AS oi_vol,
                   sum((e ->> 'oi_usd')::float8) FILTER (WHERE e ->> 'kind' = 'perp' AND jsonb_typeof(e -> 'oi_usd') = 'number'
                                                          AND e ->> 'name' = b.exchange)
                     / nullif(sum((e ->> 'oi_usd')::float8) FILTER (WHERE e ->> 'kind' = 'perp'
                                                                     AND jsonb_typeof(e -> 'oi_usd') = 'number'), 0) AS dom
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(b.meta -> 'exchanges') = 'array'
                                             THEN b.meta -> 'exchanges' ELSE '[]'::jsonb END) AS e
             WHERE jsonb_typeof(e) = 'object') AS x
    )
    INSERT INTO watchlist_data.factor_value AS fv (
        ts, exchange, symbol, computed_at, b_n_rows, b_on_hour, b_triggered_last, b_spread_close, b_spread_high, b_spread_low,
        b_spread_n, b_spread_sum, b_spread_m2, b_funding_close, b_volume_close,
        funding_term_slope, oi_to_volume, perp_oi_dominance, hour_of_day, session)
    SELECT m.t, m.exchange, m.symbol, now(), m.n_rows, extract(epoch FROM m.t) % 3600 = 0, m.trig, m.x, m.hi, m.lo, m.sn, m.ss, m.m2, m.f, m.v,
           m.term_slope, m.oi_vol, m.dom, hod.h,
           CASE WHEN hod.h >= 8 AND hod.h < 14 THEN 1 WHEN hod.h >= 14 AND hod.h < 22 THEN 2 ELSE 0 END
      FROM m CROSS JOIN LATERAL (SELECT extract(hour FROM (m.t - c_step) AT TIME ZONE 'UTC')::float8 AS h) AS hod
    ON CONFLICT (exchange, symbol, ts) DO UPDATE SET
        computed_at = EXCLUDED.computed_at, b_n_rows = EXCLUDED.b_n_rows, b_triggered_last = EXCLUDED.b_triggered_last,
        b_spread_close = EXCLUDED.b_spread_close, b_spread_high = EXCLUDED.b_spread_high,
        b_spread_low = EXCLUDED.b_spread_low, b_spread_n = EXCLUDED.b_spread_n, b_spread_sum = EXCLUDED.b_spread_sum,
        b_spread_m2 = EXCLUDED.b_spread_m2, b_funding_close = EXCLUDED.b_funding_close,
        b_volume_close = EXCLUDED.b_volume_close, funding_term_slope = EXCLUDED.funding_term_slope,
        oi_to_volume = EXCLUDED.oi_to_volume, perp_oi_dominance = EXCLUDED.perp_oi_dominance,
        hour_of_day = EXCLUDED.hour_of_day, session = EXCLUDED.session;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    base_rows := v_n;

    -- 2. Windowed factors, in time order.
    v_p12 := ARRAY[1::numeric]; v_p26 := ARRAY[1::numeric]; v_p9 := ARRAY[1::numeric];
    FOR k IN 1 .. 144 LOOP
        v_p12 := v_p12 || round(v_p12[k] * round(1 - 2::numeric(60, 50) / 13, 50), 40);
        v_p26 := v_p26 || round(v_p26[k] * round(1 - 2::numeric(60, 50) / 27, 50), 40);
        v_p9  := v_p9  || round(v_p9[k]  * round(1 - 2::numeric(60, 50) / 10, 50), 40);
    END LOOP;
    v_t := v_first;
    WHILE v_t <= v_last LOOP
        v_t12 := v_t - INTERVAL '12 hours';
        v_t12s := v_t - INTERVAL '12 hours 5 minutes';
        v_t7d := v_t - INTERVAL '7 days';
        v_th := @extschema@.time_bucket(INTERVAL '1 hour', v_t);
        v_t3d := v_t - INTERVAL '3 days';
        v_tprev := v_t - c_step;
        v_onh := v_th = v_t;
        v_th1 := v_th - INTERVAL '1 hour';
        v_thk := (extract(epoch FROM v_th) / 3600)::bigint;
        v_hb := CASE WHEN v_onh THEN v_t - INTERVAL '1 hour' ELSE v_th END;
        v_ha := CASE WHEN v_onh THEN v_t12 ELSE v_th - INTERVAL '11 hours' END;
        v_nb := (extract(epoch FROM v_t - v_hb) / 300)::integer;

        -- the keys that cannot roll their window forward: no state for the row at t - 5 min
        -- as it stands, or a block missing
        SELECT array_agg(DISTINCT c.exchange), array_agg(DISTINCT c.symbol) INTO v_fex, v_fsym
          FROM watchlist_data.factor_value AS c
          LEFT JOIN watchlist_data.factor_window_state AS s ON s.exchange = c.exchange AND s.symbol = c.symbol
          LEFT JOIN watchlist_data.factor_value AS p ON p.exchange = c.exchange AND p.symbol = c.symbol AND p.ts = v_tprev
         WHERE c.ts = v_t
           AND (p_keys IS NULL OR (c.exchange, c.symbol) IN (SELECT k ->> 0, k ->> 1 FROM jsonb_array_elements(p_keys) AS k))
           AND NOT coalesce(s.ts = v_tprev AND s.computed_at = p.computed_at AND s.r_x IS NOT NULL
                            AND (s.fb_lo = v_ha AND s.fb_hi = v_hb
                                 OR (SELECT count(*) FROM watchlist_data.factor_value AS h
                                      WHERE h.exchange = c.exchange AND h.symbol = c.symbol AND h.b_on_hour
                                        AND h.ts > v_ha AND h.ts <= v_hb AND h.b_blk_n IS NOT NULL) = 11), false);

        WITH keys AS (
            SELECT k ->> 0 AS exchange, k ->> 1 AS symbol FROM jsonb_array_elements(p_keys) AS k
        ), cur AS (
            SELECT c.exchange, c.symbol, c.computed_at, c.b_spread_close AS x, c.b_funding_close AS f, c.b_volume_close AS v,
                   c.b_triggered_last AS trig, c.b_spread_n AS sn, c.b_spread_sum AS ss, c.b_spread_m2 AS m2b,
                   c.b_spread_high AS hi, c.b_spread_low AS lo,
                   coalesce(c.exchange = ANY(v_fex) AND c.symbol = ANY(v_fsym), false) AS fullw
              FROM watchlist_data.factor_value AS c
             WHERE c.ts = v_t
               AND (p_keys IS NULL OR (c.exchange, c.symbol) IN (SELECT keys.exchange, keys.symbol FROM keys))
        ), hist AS (        -- keys that read their window: rows in (t - 12 h - 5 min, t], W(t, 12 h) and the step before it
            SELECT h.exchange, h.symbol, h.ts, h.b_spread_close AS x, h.b_spread_n AS sn, h.b_spread_sum AS ss,
                   h.b_spread_m2 AS m2b, h.b_volume_close AS v, h.spread_macd AS macd, h.rv_1h AS rv,
                   h.b_spread_high AS hi, h.b_spread_low AS lo, h.spread_dx_14 AS dx, h.signal_persistence_min AS pers,
                   (extract(epoch FROM v_t - h.ts) / 300)::integer + 1 AS k1,
                   lag(h.ts) OVER w AS pts, lag(h.b_spread_close) OVER w AS px,
                   max(h.b_spread_close) FILTER (WHERE h.ts > v_t12) OVER w AS runmax,
                   max(h.b_spread_close) FILTER (WHERE h.ts > v_ha AND h.ts <= v_hb) OVER w AS rmfb
              FROM watchlist_data.factor_value AS h
              JOIN cur ON cur.exchange = h.exchange AND cur.symbol = h.symbol AND cur.fullw
             WHERE h.ts > v_t12s AND h.ts <= v_t AND h.exchange = ANY(v_fex) AND h.symbol = ANY(v_fsym)
            WINDOW w AS (PARTITION BY h.exchange COLLATE "C", h.symbol COLLATE "C" ORDER BY h.ts)
        ), arr AS (         -- the slots of the short windows (0070): slot k = the key's row at t - (k - 1) x 5 min, NULL where
                            -- there is none; the row at t, then the state's slots (rolling keys), or read from the rows
            SELECT cur.exchange, cur.symbol, cur.x, cur.f, cur.v, cur.trig,
                   ARRAY[cur.x] || s.r_x AS sl_x, ARRAY[cur.hi] || s.r_hi AS sl_hi, ARRAY[cur.lo] || s.r_lo AS sl_lo,
                   ARRAY[cur.sn] || s.r_sn AS sl_sn, ARRAY[cur.ss] || s.r_ss AS sl_ss, ARRAY[cur.m2b] || s.r_m2 AS sl_m2,
                   ARRAY[NULL::float8] || s.r_dx AS sl_dx, s.r_pers AS pers_prev
              FROM cur JOIN watchlist_data.factor_window_state AS s ON s.exchange = cur.exchange AND s.symbol = cur.symbol
             WHERE NOT cur.fullw
            UNION ALL
            SELECT cur.exchange, cur.symbol, cur.x, cur.f, cur.v, cur.trig,
                   array_agg(hist.x ORDER BY g.k),
                   array_agg(hist.hi ORDER BY g.k) FILTER (WHERE g.k <= 15),
                   array_agg(hist.lo ORDER BY g.k) FILTER (WHERE g.k <= 15),
                   array_agg(hist.sn ORDER BY g.k) FILTER (WHERE g.k <= 12),
                   array_agg(hist.ss ORDER BY g.k) FILTER (WHERE g.k <= 12),
                   array_agg(hist.m2b ORDER BY g.k) FILTER (WHERE g.k <= 12),
                   array_agg(CASE WHEN g.k > 1 THEN hist.dx END ORDER BY g.k) FILTER (WHERE g.k <= 14),
                   max(hist.pers) FILTER (WHERE g.k = 2)
              FROM cur CROSS JOIN generate_series(1, 37) AS g(k)
              LEFT JOIN hist ON hist.exchange = cur.exchange AND hist.symbol = cur.symbol AND hist.k1 = g.k
             WHERE cur.fullw
             GROUP BY cur.exchange, cur.symbol, cur.x, cur.f, cur.v, cur.trig
        ), sa AS (          -- the short windows (100 minutes at most, 3 hours for the crossings), from each key's slots
                            -- (slot k <= 12: W(t, 1 h); k <= 14: W(t, 70 min); k <= 20: W(t, 100 min); k <= v_nb: (v_hb, t])
            SELECT arr.exchange, arr.symbol, arr.x, arr.f, arr.v, arr.trig, coalesce(arr.x, 0) AS x0, q.*,
                   arr.sl_x[4] AS x15, arr.sl_x[13] AS x60,
                   CASE WHEN arr.sl_x[1] IS NOT NULL AND arr.sl_x[2] IS NOT NULL THEN arr.sl_x[2] END AS own_px,
                   arr.pers_prev, c3.c3,
                   -- W(t, 3 h)'s steps (both rows in it) that cross its mean
                   CASE WHEN c3.c3 IS NOT NULL THEN
                       (SELECT count(*) FROM unnest(arr.sl_x[1:35], arr.sl_x[2:36]) AS u(x, px) WHERE (u.x - c3.c3) * (u.px - c3.c3) < 0) END AS cross3,
                   arr.sl_x, arr.sl_hi, arr.sl_lo, arr.sl_sn, arr.sl_ss, arr.sl_m2, arr.sl_dx
              FROM arr
             CROSS JOIN LATERAL (SELECT avg(u.x) AS c3 FROM unnest(arr.sl_x[1:36]) AS u(x)) AS c3
             CROSS JOIN LATERAL (
                SELECT sum(u.sn) FILTER (WHERE u.k <= 12) AS n1,
                       sum(u.ss) FILTER (WHERE u.k <= 12) AS s1,
                       -- centred sum of squares about x0: sum(m2_i + n_i (mean_i - x0)^2) (Chan et al.)
                       sum(u.m2b + u.sn * (u.ss / nullif(u.sn, 0) - coalesce(arr.x, 0)) ^ 2) FILTER (WHERE u.k <= 12 AND u.sn > 0) AS q1,
                       avg(u.x) AS bb_m,
                       stddev_samp(u.x) AS bb_sd,
                       sum(greatest(u.d, 0)) FILTER (WHERE u.step AND u.k <= 14) AS rsi_g,
                       sum(abs(u.d)) FILTER (WHERE u.step AND u.k <= 14) AS rsi_a,
                       sum(u.dmp) FILTER (WHERE u.step AND u.k <= 14) AS dmp,
                       sum(u.dmm) FILTER (WHERE u.step AND u.k <= 14) AS dmm,
                       sum(u.tr) FILTER (WHERE u.step AND u.k <= 14) AS tr,
                       sum(u.dx) FILTER (WHERE u.k >= 2 AND u.k <= 14) AS dx_sum,
                       count(u.dx) FILTER (WHERE u.k >= 2 AND u.k <= 14) AS dx_n,
                       sum(u.d ^ 2) FILTER (WHERE u.step AND u.k <= 12) AS d2_1,
                       count(*) FILTER (WHERE u.step AND u.k <= 12) AS dn_1,
                       -- the rows in (v_hb, t]: on the full hour the hour (t - 1 h, t], kept on the row
                       count(u.x) FILTER (WHERE u.k <= v_nb) AS hd_n,
                       max(u.x) FILTER (WHERE u.k <= v_nb) AS hd_mx,
                       min(u.x) FILTER (WHERE u.k <= v_nb) AS hd_mn,
                       -- and their largest fall from their running maximum
                       max(u.rm - u.x) FILTER (WHERE u.k <= v_nb) AS hd_dd
                  FROM (SELECT v.*, (v.x IS NOT NULL AND v.px IS NOT NULL) AS step, v.x - v.px AS d,
                               CASE WHEN v.hi - v.phi > v.plo - v.lo AND v.hi - v.phi > 0 THEN v.hi - v.phi ELSE 0 END AS dmp,
                               CASE WHEN v.plo - v.lo > v.hi - v.phi AND v.plo - v.lo > 0 THEN v.plo - v.lo ELSE 0 END AS dmm,
                               greatest(v.hi, v.px) - least(v.lo, v.px) AS tr,
                               max(v.x) FILTER (WHERE v.k <= v_nb) OVER (ORDER BY v.k DESC) AS rm
                          FROM unnest(arr.sl_x[1:20], arr.sl_x[2:21], arr.sl_hi[1:14], arr.sl_hi[2:15], arr.sl_lo[1:14], arr.sl_lo[2:15],
                                      arr.sl_sn, arr.sl_ss, arr.sl_m2, arr.sl_dx)
                               WITH ORDINALITY AS v(x, px, hi, phi, lo, plo, sn, ss, m2b, dx, k)) AS u) AS q
        ), tl AS (          -- rolling keys: rows in [t - 12 h - 5 min, v_ha]: the row leaving W and the step
                            -- leaving with it, and the rows of W before its first block
            SELECT h.exchange, h.symbol, h.ts, h.b_spread_close AS x, h.b_spread_n AS sn, h.b_spread_sum AS ss,
                   h.b_spread_m2 AS m2b, h.spread_macd AS macd, h.rv_1h AS rv, h.b_volume_close AS v,
                   lag(h.ts) OVER w AS pts, lag(h.b_spread_close) OVER w AS px,
                   max(h.b_spread_close) FILTER (WHERE h.ts > v_t12) OVER w AS rmt
              FROM watchlist_data.factor_value AS h
             WHERE h.ts >= v_t12s AND h.ts <= v_ha
               AND EXISTS (SELECT 1 FROM cur WHERE cur.exchange = h.exchange AND cur.symbol = h.symbol AND NOT cur.fullw)
            WINDOW w AS (PARTITION BY h.exchange COLLATE "C", h.symbol COLLATE "C" ORDER BY h.ts)
        ), tt AS (          -- the rows of W before its first block
            SELECT tl.exchange, tl.symbol, max(tl.x) AS tl_mx, min(tl.x) AS tl_mn, max(tl.rmt - tl.x) AS tl_dd
              FROM tl WHERE tl.ts > v_t12 GROUP BY 1, 2
        ), ta AS (          -- the row at t - 12 h: its terms of every sum
            SELECT tl.exchange, tl.symbol,
                   coalesce(tl.sn, 0) AS l_sn,
                   CASE WHEN tl.sn > 0 THEN tl.ss::numeric ELSE 0 END AS l_ss,
                   CASE WHEN tl.sn > 0 THEN tl.m2b::numeric + (tl.ss::numeric * tl.ss::numeric) / tl.sn ELSE 0 END AS l_sq,
                   (tl.x IS NOT NULL)::int AS l_xn,
                   coalesce(tl.x::numeric, 0) AS l_x1,
                   coalesce((tl.x::numeric * tl.x::numeric), 0) AS l_x2,
                   coalesce((tl.x::numeric * tl.x::numeric * tl.x::numeric), 0) AS l_x3,
                   coalesce((tl.x::numeric * tl.x::numeric * tl.x::numeric * tl.x::numeric), 0) AS l_x4,
                   (tl.pts = tl.ts - c_step AND tl.x IS NOT NULL AND tl.px IS NOT NULL)::int AS l_dn,
                   CASE WHEN tl.pts = tl.ts - c_step AND tl.x IS NOT NULL AND tl.px IS NOT NULL THEN tl.px::numeric ELSE 0 END AS l_dp,
                   CASE WHEN tl.pts = tl.ts - c_step AND tl.x IS NOT NULL AND tl.px IS NOT NULL THEN tl.x::numeric ELSE 0 END AS l_dc,
                   CASE WHEN tl.pts = tl.ts - c_step AND tl.x IS NOT NULL AND tl.px IS NOT NULL THEN (tl.px::numeric * tl.px::numeric) ELSE 0 END AS l_dpp,
                   CASE WHEN tl.pts = tl.ts - c_step AND tl.x IS NOT NULL AND tl.px IS NOT NULL THEN (tl.px::numeric * tl.x::numeric) ELSE 0 END AS l_dpc,
                   CASE WHEN tl.pts = tl.ts - c_step AND tl.x IS NOT NULL AND tl.px IS NOT NULL THEN ((tl.x - tl.px)::numeric * (tl.x - tl.px)::numeric) ELSE 0 END AS l_dd2,
                   (tl.macd IS NOT NULL)::int AS l_gn,
                   coalesce(tl.macd::numeric, 0) AS l_g,
                   (tl.rv IS NOT NULL)::int AS l_rn,
                   coalesce(tl.rv::numeric, 0) AS l_r1,
                   coalesce((tl.rv::numeric * tl.rv::numeric), 0) AS l_r2,
                   (tl.v IS NOT NULL)::int AS l_vn,
                   coalesce(tl.v::numeric, 0) AS l_v1,
                   coalesce((tl.v::numeric * tl.v::numeric), 0) AS l_v2
              FROM tl WHERE tl.ts = v_t12
        ), bparts AS (      -- rolling keys whose blocks changed (the hour turned): the 11 blocks, in time order
            SELECT h.exchange, h.symbol, h.ts, h.b_blk_mx AS mx, h.b_blk_mn AS mn, h.b_blk_dd AS dd
              FROM watchlist_data.factor_value AS h
             WHERE h.b_on_hour AND h.ts > v_ha AND h.ts <= v_hb
               AND EXISTS (SELECT 1 FROM cur JOIN watchlist_data.factor_window_state AS s
                                          ON s.exchange = cur.exchange AND s.symbol = cur.symbol
                            WHERE cur.exchange = h.exchange AND cur.symbol = h.symbol AND NOT cur.fullw
                              AND NOT coalesce(s.fb_lo = v_ha AND s.fb_hi = v_hb, false))
        ), fb AS (          -- their combination: largest fall within a block, or from an earlier block's maximum
            SELECT q.exchange, q.symbol, max(q.mx) AS fb_mx, min(q.mn) AS fb_mn, max(greatest(q.dd, q.pmx - q.mn)) AS fb_dd
              FROM (SELECT bparts.*, max(bparts.mx) OVER (PARTITION BY bparts.exchange COLLATE "C", bparts.symbol COLLATE "C" ORDER BY bparts.ts
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pmx
                      FROM bparts) AS q
             GROUP BY 1, 2
        ), rolled AS (      -- rolling keys: W(t - 5 min)'s sums + the row at t - the row at t - 12 h
            SELECT cur.exchange AS l_ex, cur.symbol AS l_sym,
                   s.ws_n + cur.sn - coalesce(ta.l_sn, 0) AS ws_n,
                   s.ws_s + CASE WHEN cur.sn > 0 THEN cur.ss::numeric ELSE 0 END - coalesce(ta.l_ss, 0) AS ws_s,
                   s.ws_q + CASE WHEN cur.sn > 0 THEN cur.m2b::numeric + (cur.ss::numeric * cur.ss::numeric) / cur.sn ELSE 0 END
                     - coalesce(ta.l_sq, 0) AS ws_q,
                   s.wx_n + (cur.x IS NOT NULL)::int - coalesce(ta.l_xn, 0)::int AS wx_n,
                   s.wx_1 + coalesce(cur.x::numeric, 0) - coalesce(ta.l_x1, 0) AS wx_1,
                   s.wx_2 + coalesce((cur.x::numeric * cur.x::numeric), 0) - coalesce(ta.l_x2, 0) AS wx_2,
                   s.wx_3 + coalesce((cur.x::numeric * cur.x::numeric * cur.x::numeric), 0) - coalesce(ta.l_x3, 0) AS wx_3,
                   s.wx_4 + coalesce((cur.x::numeric * cur.x::numeric * cur.x::numeric * cur.x::numeric), 0) - coalesce(ta.l_x4, 0) AS wx_4,
                   s.wd_n + (sa.own_px IS NOT NULL)::int - coalesce(ta.l_dn, 0)::int AS wd_n,
                   s.wd_p + coalesce(sa.own_px::numeric, 0) - coalesce(ta.l_dp, 0) AS wd_p,
                   s.wd_c + CASE WHEN sa.own_px IS NOT NULL THEN cur.x::numeric ELSE 0 END - coalesce(ta.l_dc, 0) AS wd_c,
                   s.wd_pp + coalesce((sa.own_px::numeric * sa.own_px::numeric), 0) - coalesce(ta.l_dpp, 0) AS wd_pp,
                   s.wd_pc + coalesce(sa.own_px::numeric * cur.x::numeric, 0) - coalesce(ta.l_dpc, 0) AS wd_pc,
                   s.wd_d2 + coalesce(((cur.x - sa.own_px)::numeric * (cur.x - sa.own_px)::numeric), 0) - coalesce(ta.l_dd2, 0) AS wd_d2,
                   round(v_p12[2] * s.we12_n, 60) + coalesce(cur.x::numeric, 0) - v_p12[145] * coalesce(ta.l_x1, 0) AS we12_n,
                   round(v_p12[2] * s.we12_d, 60) + (cur.x IS NOT NULL)::int - v_p12[145] * coalesce(ta.l_xn, 0) AS we12_d,
                   round(v_p26[2] * s.we26_n, 60) + coalesce(cur.x::numeric, 0) - v_p26[145] * coalesce(ta.l_x1, 0) AS we26_n,
                   round(v_p26[2] * s.we26_d, 60) + (cur.x IS NOT NULL)::int - v_p26[145] * coalesce(ta.l_xn, 0) AS we26_d,
                   round(v_p9[2] * s.wg_n, 60) - v_p9[145] * coalesce(ta.l_g, 0) AS wg_pn,
                   round(v_p9[2] * s.wg_d, 60) - v_p9[145] * coalesce(ta.l_gn, 0) AS wg_pd,
                   s.wr_n - coalesce(ta.l_rn, 0)::int AS wr_pn,
                   s.wr_1 - coalesce(ta.l_r1, 0) AS wr_p1,
                   s.wr_2 - coalesce(ta.l_r2, 0) AS wr_p2,
                   s.wv_n + (cur.v IS NOT NULL)::int - coalesce(ta.l_vn, 0)::int AS wv_n,
                   s.wv_1 + coalesce(cur.v::numeric, 0) - coalesce(ta.l_v1, 0) AS wv_1,
                   s.wv_2 + coalesce((cur.v::numeric * cur.v::numeric), 0) - coalesce(ta.l_v2, 0) AS wv_2,
                   -- drawdown: the rows before the first block, the blocks, the rows after the last
                   greatest(tt.tl_dd, fbx.dd, sa.hd_dd, tt.tl_mx - fbx.mn, tt.tl_mx - sa.hd_mn, fbx.mx - sa.hd_mn) AS dd12,
                   fbx.mx AS fb_mx, fbx.mn AS fb_mn, fbx.dd AS fb_dd
              FROM cur
              JOIN watchlist_data.factor_window_state AS s ON s.exchange = cur.exchange AND s.symbol = cur.symbol
              JOIN sa ON sa.exchange = cur.exchange AND sa.symbol = cur.symbol
              LEFT JOIN ta ON ta.exchange = cur.exchange AND ta.symbol = cur.symbol
              LEFT JOIN tt ON tt.exchange = cur.exchange AND tt.symbol = cur.symbol
              LEFT JOIN fb ON fb.exchange = cur.exchange AND fb.symbol = cur.symbol
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN s.fb_lo = v_ha AND s.fb_hi = v_hb THEN s.fb_mx ELSE fb.fb_mx END AS mx,
                         CASE WHEN s.fb_lo = v_ha AND s.fb_hi = v_hb THEN s.fb_mn ELSE fb.fb_mn END AS mn,
                         CASE WHEN s.fb_lo = v_ha AND s.fb_hi = v_hb THEN s.fb_dd ELSE fb.fb_dd END AS dd) AS fbx
             WHERE NOT cur.fullw
        ), summed AS (      -- the same sums, over the window itself
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
                   coalesce(sum(v_p12[hist.k1] * hist.x::numeric), 0) AS we12_n,
                   coalesce(sum(v_p12[hist.k1]) FILTER (WHERE hist.x IS NOT NULL), 0) AS we12_d,
                   coalesce(sum(v_p26[hist.k1] * hist.x::numeric), 0) AS we26_n,
                   coalesce(sum(v_p26[hist.k1]) FILTER (WHERE hist.x IS NOT NULL), 0) AS we26_d,
                   coalesce(sum(v_p9[hist.k1] * hist.macd::numeric) FILTER (WHERE hist.ts < v_t), 0) AS wg_pn,
                   coalesce(sum(v_p9[hist.k1]) FILTER (WHERE hist.ts < v_t AND hist.macd IS NOT NULL), 0) AS wg_pd,
                   count(hist.rv) FILTER (WHERE hist.ts < v_t)::int AS wr_pn,
                   coalesce(sum(hist.rv::numeric) FILTER (WHERE hist.ts < v_t), 0) AS wr_p1,
                   coalesce(sum((hist.rv::numeric * hist.rv::numeric)) FILTER (WHERE hist.ts < v_t), 0) AS wr_p2,
                   count(hist.v)::int AS wv_n,
                   coalesce(sum(hist.v::numeric), 0) AS wv_1,
                   coalesce(sum((hist.v::numeric * hist.v::numeric)), 0) AS wv_2,
                   max(hist.runmax - hist.x) AS dd12,
                   max(hist.x) FILTER (WHERE hist.ts > v_ha AND hist.ts <= v_hb) AS fb_mx,
                   min(hist.x) FILTER (WHERE hist.ts > v_ha AND hist.ts <= v_hb) AS fb_mn,
                   max(hist.rmfb - hist.x) FILTER (WHERE hist.ts > v_ha AND hist.ts <= v_hb) AS fb_dd
              FROM hist
             WHERE hist.ts > v_t12
             GROUP BY 1, 2
        ), lw AS (
            SELECT * FROM rolled UNION ALL SELECT * FROM summed
        ), fprev AS (       -- t between full hours: H(t, 7 d) = H(t_h, 7 d), kept on the row at t_h (0021)
            SELECT p.exchange, p.symbol, p.b_fstate_n AS n, p.b_fstate_mean AS m, p.b_fstate_q AS q,
                   p.funding_vol_7d AS sd, p.funding_trend_3d AS trend, p.funding_reversal_prob AS rev
              FROM watchlist_data.factor_value AS p
              JOIN cur ON cur.exchange = p.exchange AND cur.symbol = p.symbol
             WHERE p.ts = v_th AND v_th < v_t AND p.b_fstate_n IS NOT NULL
        ), fkeys AS (       -- the others (t on the hour, or no state at t_h): from the samples
            SELECT cur.exchange, cur.symbol, cur.f FROM cur
             WHERE NOT EXISTS (SELECT 1 FROM fprev WHERE fprev.exchange = cur.exchange AND fprev.symbol = cur.symbol)
        ), fst AS (         -- their samples H(t_h, 7 d) and statistics (0060): kept (t between full hours), or the
                            -- state of the hour before (t on the hour: rolled below); else read from the rows
            SELECT fkeys.exchange, fkeys.symbol, fkeys.f AS fcur, s.f AS sf,
                   CASE WHEN s.ts = v_th THEN 1 WHEN v_onh AND s.ts = v_th1 THEN 2 ELSE 0 END AS how,
                   s.n, s.s1, s.s2, s.tn, s.tk, s.tkk, s.tf, s.tkf, s.np, s.srt, s.up, s.dn
              FROM fkeys
              LEFT JOIN watchlist_data.factor_funding_state AS s ON s.exchange = fkeys.exchange AND s.symbol = fkeys.symbol
        ), fh AS (          -- keys without such a state: the hourly rows of H(t, 7 d), slot i at t_h - (168 - i) h
            SELECT h.exchange, h.symbol, 168 - (extract(epoch FROM v_th - h.ts) / 3600)::integer AS i, h.b_funding_close AS f
              FROM watchlist_data.factor_value AS h
              JOIN fst ON fst.exchange = h.exchange AND fst.symbol = h.symbol AND fst.how = 0
             WHERE h.ts > v_t7d AND h.ts <= v_t AND h.b_funding_close IS NOT NULL AND h.b_on_hour
        ), fhk AS (
            SELECT fh.exchange, fh.symbol, array_agg(fh.i ORDER BY fh.i) AS ia, array_agg(fh.f ORDER BY fh.i) AS fa
              FROM fh GROUP BY 1, 2
        ), fread AS (       -- their 168 slots, and the statistics summed over them
            SELECT fst.exchange, fst.symbol, fst.fcur, true AS fresh, x.arr, a.n, a.s1, a.s2, a.tn, a.tk, a.tkk, a.tf, a.tkf,
                   p.np, a.srt, p.up, p.dn
              FROM fst
              LEFT JOIN fhk ON fhk.exchange = fst.exchange AND fhk.symbol = fst.symbol
             CROSS JOIN LATERAL (SELECT array_agg(u.f ORDER BY g.i) AS arr
                                   FROM generate_series(1, 168) AS g(i)
                                   LEFT JOIN unnest(fhk.ia, fhk.fa) AS u(i, f) ON u.i = g.i) AS x
             CROSS JOIN LATERAL (   -- k = the sample's hour since the epoch (slot i: v_thk - (168 - i)); each sample
                                    -- converted once (OFFSET 0 keeps the conversions out of the sums)
                SELECT count(u.f)::integer AS n, coalesce(sum(u.fn), 0) AS s1, coalesce(sum(u.fn * u.fn), 0) AS s2,
                       count(u.f) FILTER (WHERE u.i > 96)::integer AS tn,
                       coalesce(sum(u.k) FILTER (WHERE u.i > 96 AND u.f IS NOT NULL), 0) AS tk,
                       coalesce(sum(u.k * u.k) FILTER (WHERE u.i > 96 AND u.f IS NOT NULL), 0) AS tkk,
                       coalesce(sum(u.fn) FILTER (WHERE u.i > 96), 0) AS tf,
                       coalesce(sum(u.k * u.fn) FILTER (WHERE u.i > 96), 0) AS tkf,
                       coalesce(array_agg(u.f ORDER BY u.f) FILTER (WHERE u.f IS NOT NULL), '{}') AS srt
                  FROM (SELECT v.f, v.i, v.f::numeric AS fn, (v_thk - (168 - v.i))::numeric AS k
                          FROM unnest(x.arr) WITH ORDINALITY AS v(f, i) OFFSET 0) AS u) AS a
             CROSS JOIN LATERAL (   -- consecutive hourly pairs (h_b, h_{b+1h}): rising ones by -h_b, falling ones by h_b
                SELECT count(*)::integer AS np,
                       coalesce(array_agg(-u.pf ORDER BY -u.pf) FILTER (WHERE u.f > u.pf), '{}') AS up,
                       coalesce(array_agg(u.pf ORDER BY u.pf) FILTER (WHERE u.f < u.pf), '{}') AS dn
                  FROM unnest(x.arr, array_prepend(NULL::float8, x.arr[1:167])) AS u(f, pf)
                 WHERE u.f IS NOT NULL AND u.pf IS NOT NULL) AS p
             WHERE fst.how = 0
        ), froll AS (       -- t on the hour, the state of the hour before rolled: slot 1 leaves, f_t enters as slot 168;
                            -- the 3 days lose old slot 97 (k = v_thk - 72), the pairs lose (slot 1, slot 2) and gain (slot 168, f_t);
                            -- each sorted array loses one value (array_position) and gains one (width_bucket: its place)
            SELECT fst.exchange, fst.symbol, fst.fcur, false AS fresh, fst.sf[2:168] || fst.fcur AS arr,
                   fst.n - (fst.sf[1] IS NOT NULL)::int + (fst.fcur IS NOT NULL)::int AS n,
                   fst.s1 - coalesce(fst.sf[1]::numeric, 0) + coalesce(fst.fcur::numeric, 0) AS s1,
                   fst.s2 - coalesce(fst.sf[1]::numeric * fst.sf[1]::numeric, 0) + coalesce(fst.fcur::numeric * fst.fcur::numeric, 0) AS s2,
                   fst.tn - (fst.sf[97] IS NOT NULL)::int + (fst.fcur IS NOT NULL)::int AS tn,
                   fst.tk - CASE WHEN fst.sf[97] IS NOT NULL THEN (v_thk - 72)::numeric ELSE 0 END
                          + CASE WHEN fst.fcur IS NOT NULL THEN v_thk::numeric ELSE 0 END AS tk,
                   fst.tkk - CASE WHEN fst.sf[97] IS NOT NULL THEN (v_thk - 72)::numeric * (v_thk - 72)::numeric ELSE 0 END
                           + CASE WHEN fst.fcur IS NOT NULL THEN v_thk::numeric * v_thk::numeric ELSE 0 END AS tkk,
                   fst.tf - coalesce(fst.sf[97]::numeric, 0) + coalesce(fst.fcur::numeric, 0) AS tf,
                   fst.tkf - coalesce((v_thk - 72)::numeric * fst.sf[97]::numeric, 0) + coalesce(v_thk::numeric * fst.fcur::numeric, 0) AS tkf,
                   fst.np - (fst.sf[1] IS NOT NULL AND fst.sf[2] IS NOT NULL)::int + (fst.sf[168] IS NOT NULL AND fst.fcur IS NOT NULL)::int AS np,
                   CASE WHEN ch.i_s IS NULL THEN rm.s ELSE rm.s[:width_bucket(ch.i_s, rm.s)] || ch.i_s || rm.s[width_bucket(ch.i_s, rm.s) + 1:] END AS srt,
                   CASE WHEN ch.i_u IS NULL THEN rm.u ELSE rm.u[:width_bucket(ch.i_u, rm.u)] || ch.i_u || rm.u[width_bucket(ch.i_u, rm.u) + 1:] END AS up,
                   CASE WHEN ch.i_d IS NULL THEN rm.d ELSE rm.d[:width_bucket(ch.i_d, rm.d)] || ch.i_d || rm.d[width_bucket(ch.i_d, rm.d) + 1:] END AS dn
              FROM fst
             CROSS JOIN LATERAL (SELECT fst.sf[1] AS r_s, fst.fcur AS i_s,
                                        CASE WHEN fst.sf[2] > fst.sf[1] THEN -fst.sf[1] END AS r_u,
                                        CASE WHEN fst.fcur > fst.sf[168] THEN -fst.sf[168] END AS i_u,
                                        CASE WHEN fst.sf[2] < fst.sf[1] THEN fst.sf[1] END AS r_d,
                                        CASE WHEN fst.fcur < fst.sf[168] THEN fst.sf[168] END AS i_d) AS ch
             CROSS JOIN LATERAL (SELECT array_position(fst.srt, ch.r_s) AS ps, array_position(fst.up, ch.r_u) AS pu,
                                        array_position(fst.dn, ch.r_d) AS pd) AS po
             CROSS JOIN LATERAL (SELECT CASE WHEN po.ps IS NULL THEN fst.srt ELSE fst.srt[:po.ps - 1] || fst.srt[po.ps + 1:] END AS s,
                                        CASE WHEN po.pu IS NULL THEN fst.up ELSE fst.up[:po.pu - 1] || fst.up[po.pu + 1:] END AS u,
                                        CASE WHEN po.pd IS NULL THEN fst.dn ELSE fst.dn[:po.pd - 1] || fst.dn[po.pd + 1:] END AS d) AS rm
             WHERE fst.how = 2
        ), farr AS (        -- every key's slots and statistics, the same either way
            SELECT * FROM fread
            UNION ALL
            SELECT * FROM froll
            UNION ALL
            SELECT fst.exchange, fst.symbol, fst.fcur, false, fst.sf, fst.n, fst.s1, fst.s2, fst.tn, fst.tk, fst.tkk, fst.tf, fst.tkf,
                   fst.np, fst.srt, fst.up, fst.dn
              FROM fst WHERE fst.how = 1
        ), fa AS (          -- mean, sd, the 3-day slope (x in days: 24 x the slope in hours), the quintile thresholds
                            -- s_ceil(k n / 5) of 0021 and the regime from them, the share of pairs moving toward the mean
                            -- (rising with h_b < m: h_b < m <=> -h_b > -m; falling with h_b > m); width_bucket(v, sorted) = #{<= v}
            SELECT farr.exchange, farr.symbol, st.m, st.sd, farr.n, st.trend,
                   CASE WHEN farr.np > 0 THEN ((cardinality(farr.up) - width_bucket(-st.m, farr.up))
                                               + (cardinality(farr.dn) - width_bucket(st.m, farr.dn)))::float8 / farr.np END AS rev,
                   1 + (st.q[1] < farr.fcur)::int + (st.q[2] < farr.fcur)::int + (st.q[3] < farr.fcur)::int
                     + (st.q[4] < farr.fcur)::int AS regime_q, st.q
              FROM farr
             CROSS JOIN LATERAL (
                SELECT CASE WHEN farr.n > 0 THEN (farr.s1 / farr.n)::float8 END AS m,
                       CASE WHEN farr.n >= 2 THEN sqrt(((farr.n * farr.s2 - farr.s1 * farr.s1) / (farr.n::numeric * (farr.n - 1)))::float8) END AS sd,
                       CASE WHEN farr.tn >= 2 THEN (24 * (farr.tn * farr.tkf - farr.tk * farr.tf) / (farr.tn * farr.tkk - farr.tk * farr.tk))::float8 END AS trend,
                       CASE WHEN farr.n > 0 THEN
                           ARRAY[farr.srt[ceil(farr.n / 5.0)::integer], farr.srt[ceil(2 * farr.n / 5.0)::integer],
                                 farr.srt[ceil(3 * farr.n / 5.0)::integer], farr.srt[ceil(4 * farr.n / 5.0)::integer]] END AS q) AS st
            UNION ALL       -- between full hours: from the row at t_h (see 0021)
            SELECT fprev.exchange, fprev.symbol, fprev.m, fprev.sd, fprev.n, fprev.trend, fprev.rev,
                   1 + (fprev.q[1] < cur.f)::int + (fprev.q[2] < cur.f)::int + (fprev.q[3] < cur.f)::int
                     + (fprev.q[4] < cur.f)::int, fprev.q
              FROM fprev JOIN cur ON cur.exchange = fprev.exchange AND cur.symbol = fprev.symbol
             WHERE fprev.n > 0
        ), mom AS MATERIALIZED (         -- from the exact sums: n^2 m2, n^3 m3, n^4 m4 of x over W(t, 12 h), the EMAs, ...
            SELECT sa.*, lw.*,
                   lw.wx_n * lw.wx_2 - (lw.wx_1 * lw.wx_1) AS a2,
                   (lw.wx_n * lw.wx_n) * lw.wx_3 - 3 * lw.wx_n * lw.wx_1 * lw.wx_2 + 2 * (lw.wx_1 * lw.wx_1 * lw.wx_1) AS a3,
                   (lw.wx_n * lw.wx_n * lw.wx_n) * lw.wx_4 - 4 * (lw.wx_n * lw.wx_n) * lw.wx_1 * lw.wx_3 + 6 * lw.wx_n * (lw.wx_1 * lw.wx_1) * lw.wx_2
                     - 3 * (lw.wx_1 * lw.wx_1 * lw.wx_1 * lw.wx_1) AS a4,
                   lw.ws_n * lw.ws_q - (lw.ws_s * lw.ws_s) AS zq,
                   lw.wd_n * lw.wd_pp - (lw.wd_p * lw.wd_p) AS hden,
                   lw.wv_n * lw.wv_2 - (lw.wv_1 * lw.wv_1) AS vq,
                   CASE WHEN lw.we12_d > 0 AND lw.we26_d > 0 THEN (lw.we12_n / lw.we12_d - lw.we26_n / lw.we26_d)::float8 END AS macd,
                   CASE WHEN sa.dmp + sa.dmm > 0 AND sa.tr > 0 THEN 100 * abs(sa.dmp - sa.dmm) / (sa.dmp + sa.dmm) END AS dx,
                   CASE WHEN sa.dn_1 > 0 THEN sqrt(sa.d2_1) END AS rv1
              FROM sa JOIN lw ON lw.l_ex = sa.exchange AND lw.l_sym = sa.symbol
        ), mom2 AS MATERIALIZED (        -- the sums that take the row's own MACD and rv_1h
            SELECT mom.*,
                   mom.wg_pn + coalesce(mom.macd::numeric, 0) AS wg_n,
                   mom.wg_pd + (mom.macd IS NOT NULL)::int AS wg_d,
                   mom.wr_pn + (mom.rv1 IS NOT NULL)::int AS wr_n,
                   mom.wr_p1 + coalesce(mom.rv1::numeric, 0) AS wr_1,
                   mom.wr_p2 + coalesce((mom.rv1::numeric * mom.rv1::numeric), 0) AS wr_2
              FROM mom
        ), res AS (
            SELECT mom2.*,
                   -- M2 = sum(m2_i + n_i (mean_i - x0)^2) - n (mean - x0)^2
                   CASE WHEN mom2.n1 >= 2 AND mom2.q1 - mom2.n1 * (mom2.s1 / nullif(mom2.n1, 0) - mom2.x0) ^ 2 > 0
                        THEN (mom2.x - mom2.s1 / mom2.n1)
                             / sqrt((mom2.q1 - mom2.n1 * (mom2.s1 / mom2.n1 - mom2.x0) ^ 2) / (mom2.n1 - 1)) END AS z1,
                   CASE WHEN mom2.ws_n >= 2 AND mom2.zq > 0
                        THEN (mom2.x::numeric - mom2.ws_s / mom2.ws_n)::float8
                             / sqrt((mom2.zq / (mom2.ws_n * (mom2.ws_n - 1)))::float8) END AS z12,
                   ph.phi,
                   CASE WHEN ph.phi > 0 AND ph.phi < 1 THEN 5 * ln(0.5) / ln(ph.phi) END AS hl,
                   mom2.x - mom2.x15 AS mo15, mom2.x - mom2.x60 AS mo60,
                   CASE WHEN mom2.wx_n >= 3 AND mom2.a2 > 0 THEN mom2.a3::float8 / mom2.a2::float8 ^ 1.5 END AS skew,
                   CASE WHEN mom2.wx_n >= 4 AND mom2.a2 > 0 THEN mom2.a4::float8 / mom2.a2::float8 ^ 2 - 3 END AS kurt,
                   CASE WHEN mom2.rsi_a > 0 THEN 100 * mom2.rsi_g / mom2.rsi_a END AS rsi,
                   CASE WHEN mom2.wg_d > 0 THEN (mom2.wg_n / mom2.wg_d)::float8 END AS sig,
                   CASE WHEN mom2.bb_sd > 0 THEN (mom2.x - (mom2.bb_m - 2 * mom2.bb_sd)) / (4 * mom2.bb_sd) END AS pctb,
                   CASE WHEN mom2.dx IS NOT NULL OR mom2.dx_n > 0 THEN
                       (coalesce(mom2.dx_sum, 0) + coalesce(mom2.dx, 0))
                       / (mom2.dx_n + CASE WHEN mom2.dx IS NOT NULL THEN 1 ELSE 0 END) END AS adx,
                   CASE WHEN fa.n >= 2 AND fa.sd > 0 THEN (mom2.f - fa.m) / fa.sd END AS fz,
                   fa.trend AS ftrend, fa.sd AS fvol,
                   CASE WHEN fa.n >= 1 AND mom2.f IS NOT NULL THEN fa.regime_q END AS regime,
                   fa.rev,
                   CASE WHEN mom2.wd_n > 0 THEN sqrt(mom2.wd_d2::float8) END AS rv12,
                   CASE WHEN mom2.dn_1 > 0 AND mom2.wd_d2 > 0 THEN sqrt(mom2.d2_1 / mom2.dn_1) / sqrt((mom2.wd_d2 / mom2.wd_n)::float8) END AS hvr,
                   CASE WHEN mom2.wr_n >= 2 THEN sqrt(((mom2.wr_n * mom2.wr_2 - (mom2.wr_1 * mom2.wr_1)) / (mom2.wr_n * (mom2.wr_n - 1)))::float8) END AS vov,
                   CASE WHEN mom2.wv_n >= 2 AND mom2.vq > 0 THEN
                       (mom2.v::numeric - mom2.wv_1 / mom2.wv_n)::float8 / sqrt((mom2.vq / (mom2.wv_n * (mom2.wv_n - 1)))::float8) END AS vz,
                   CASE WHEN mom2.trig THEN 5 + coalesce(mom2.pers_prev, 0) ELSE 0 END AS pers,
                   CASE WHEN fkeys.exchange IS NOT NULL THEN coalesce(fa.n, 0) END AS fs_n,
                   CASE WHEN fkeys.exchange IS NOT NULL THEN fa.m END AS fs_m,
                   CASE WHEN fkeys.exchange IS NOT NULL AND fa.n > 0 THEN fa.q END AS fs_q
              FROM mom2
              CROSS JOIN LATERAL (SELECT CASE WHEN mom2.hden > 0
                                              THEN ((mom2.wd_n * mom2.wd_pc - mom2.wd_p * mom2.wd_c) / mom2.hden)::float8 END AS phi) AS ph
              LEFT JOIN fa ON fa.exchange = mom2.exchange AND fa.symbol = mom2.symbol
              LEFT JOIN fkeys ON fkeys.exchange = mom2.exchange AND fkeys.symbol = mom2.symbol
        ), upd AS (
            UPDATE watchlist_data.factor_value AS fv SET
                spread_zscore_1h = res.z1, spread_zscore_12h = res.z12, spread_halflife_12h = res.hl,
                spread_momentum_15m = res.mo15, spread_momentum_60m = res.mo60,
                spread_skew_12h = res.skew, spread_kurt_12h = res.kurt, spread_drawdown_12h = res.dd12,
                spread_rsi_14 = res.rsi, spread_macd = res.macd, spread_macd_signal = res.sig,
                spread_bollinger_pct_b = res.pctb, spread_dx_14 = res.dx, spread_adx_14 = res.adx,
                funding_zscore_7d = res.fz, funding_trend_3d = res.ftrend, funding_vol_7d = res.fvol,
                funding_regime = res.regime, funding_reversal_prob = res.rev,
                rv_1h = res.rv1, rv_12h = res.rv12, hv_ratio = res.hvr, vol_of_vol_12h = res.vov,
                crossings_3h = res.cross3, tail_risk_score = abs(res.skew) + CASE WHEN res.kurt > 0 THEN res.kurt WHEN res.kurt <= 0 THEN 0 END,
                volume_spike_z_12h = res.vz, signal_persistence_min = res.pers,
                b_fstate_n = res.fs_n, b_fstate_mean = res.fs_m, b_fstate_q = res.fs_q,
                b_blk_n = CASE WHEN v_onh THEN res.hd_n END, b_blk_mx = CASE WHEN v_onh THEN res.hd_mx END,
                b_blk_mn = CASE WHEN v_onh THEN res.hd_mn END, b_blk_dd = CASE WHEN v_onh THEN res.hd_dd END
              FROM res
             WHERE fv.exchange = res.exchange AND fv.symbol = res.symbol AND fv.ts = v_t
        ), fsw AS (         -- the samples of H(t_h, 7 d) and their statistics, kept for the next bucket ends (0060)
            INSERT INTO watchlist_data.factor_funding_state AS s (exchange, symbol, ts, f, n, s1, s2, tn, tk, tkk, tf, tkf, np, srt, up, dn)
            SELECT farr.exchange, farr.symbol, v_th, farr.arr, farr.n, farr.s1, farr.s2, farr.tn, farr.tk, farr.tkk, farr.tf, farr.tkf,
                   farr.np, farr.srt, farr.up, farr.dn
              FROM farr WHERE v_onh OR farr.fresh
            ON CONFLICT (exchange, symbol) DO UPDATE SET ts = EXCLUDED.ts, f = EXCLUDED.f, n = EXCLUDED.n, s1 = EXCLUDED.s1,
                s2 = EXCLUDED.s2, tn = EXCLUDED.tn, tk = EXCLUDED.tk, tkk = EXCLUDED.tkk, tf = EXCLUDED.tf, tkf = EXCLUDED.tkf,
                np = EXCLUDED.np, srt = EXCLUDED.srt, up = EXCLUDED.up, dn = EXCLUDED.dn
        )
        INSERT INTO watchlist_data.factor_window_state AS s (exchange, symbol, ts, computed_at,
               ws_n, ws_s, ws_q, wx_n, wx_1, wx_2, wx_3, wx_4, wd_n, wd_p, wd_c, wd_pp, wd_pc, wd_d2,
               we12_n, we12_d, we26_n, we26_d, wg_n, wg_d, wr_n, wr_1, wr_2, wv_n, wv_1, wv_2,
               fb_lo, fb_hi, fb_mx, fb_mn, fb_dd, r_x, r_hi, r_lo, r_sn, r_ss, r_m2, r_dx, r_pers)
        SELECT res.exchange, res.symbol, v_t, cur.computed_at,
               res.ws_n, res.ws_s, res.ws_q, res.wx_n, res.wx_1, res.wx_2, res.wx_3, res.wx_4,
               res.wd_n, res.wd_p, res.wd_c, res.wd_pp, res.wd_pc, res.wd_d2,
               res.we12_n, res.we12_d, res.we26_n, res.we26_d, res.wg_n, res.wg_d,
               res.wr_n, res.wr_1, res.wr_2, res.wv_n, res.wv_1, res.wv_2,
               v_ha, v_hb, res.fb_mx, res.fb_mn, res.fb_dd,
               -- the slots for t + 5 min (0070): slot k there is slot k - 1 here; the row's own dx and persistence
               res.sl_x[1:36], res.sl_hi[1:14], res.sl_lo[1:14], res.sl_sn[1:11], res.sl_ss[1:11], res.sl_m2[1:11],
               ARRAY[res.dx] || res.sl_dx[2:13], res.pers
          FROM res JOIN cur ON cur.exchange = res.exchange AND cur.symbol = res.symbol
        ON CONFLICT (exchange, symbol) DO UPDATE SET
            ts = EXCLUDED.ts, computed_at = EXCLUDED.computed_at,
            ws_n = EXCLUDED.ws_n, ws_s = EXCLUDED.ws_s, ws_q = EXCLUDED.ws_q, wx_n = EXCLUDED.wx_n,
            wx_1 = EXCLUDED.wx_1, wx_2 = EXCLUDED.wx_2, wx_3 = EXCLUDED.wx_3, wx_4 = EXCLUDED.wx_4,
            wd_n = EXCLUDED.wd_n, wd_p = EXCLUDED.wd_p, wd_c = EXCLUDED.wd_c, wd_pp = EXCLUDED.wd_pp,
            wd_pc = EXCLUDED.wd_pc, wd_d2 = EXCLUDED.wd_d2, we12_n = EXCLUDED.we12_n, we12_d = EXCLUDED.we12_d,
            we26_n = EXCLUDED.we26_n, we26_d = EXCLUDED.we26_d, wg_n = EXCLUDED.wg_n, wg_d = EXCLUDED.wg_d,
            wr_n = EXCLUDED.wr_n, wr_1 = EXCLUDED.wr_1, wr_2 = EXCLUDED.wr_2,
            wv_n = EXCLUDED.wv_n, wv_1 = EXCLUDED.wv_1, wv_2 = EXCLUDED.wv_2,
            fb_lo = EXCLUDED.fb_lo, fb_hi = EXCLUDED.fb_hi, fb_mx = EXCLUDED.fb_mx, fb_mn = EXCLUDED.fb_mn, fb_dd = EXCLUDED.fb_dd,
            r_x = EXCLUDED.r_x, r_hi = EXCLUDED.r_hi, r_lo = EXCLUDED.r_lo, r_sn = EXCLUDED.r_sn, r_ss = EXCLUDED.r_ss,
            r_m2 = EXCLUDED.r_m2, r_dx = EXCLUDED.r_dx, r_pers = EXCLUDED.r_pers;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        factor_rows := factor_rows + v_n;
        v_t := v_t + c_step;
    END LOOP;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.compute_factors_keys(timestamptz, timestamptz, jsonb) FROM PUBLIC;
