-- watchlist_data.compute_factors_keys(p_from, p_to, p_keys): (re)computes the rows of
-- watchlist_data.factor_value at the 5-minute bucket ends t in (p_from, p_to], for every key
-- with raw rows (p_keys NULL) or only the keys in p_keys (a jsonb array of [exchange, symbol]).
-- Formulas: the column comments of sql/0020_factor_value.sql (the one place they live).
--   1. base: per key and bucket [t - 5 min, t), from watch_signal_raw (exact, late rows
--      included), plus the factors that need only the bucket; upserted (idempotent);
--   2. windowed factors, bucket end by bucket end in time order, from the stored rows of
--      factor_value at or before t (factors of a factor - MACD signal, ADX, vol of vol,
--      persistence - read the rows written by the previous steps). The 7-day funding window
--      is read only on the full hour (or for keys without a row there): between full hours
--      the funding factors come from the state kept on the row at the hour (0021).
-- A row at t depends only on raw rows before t and on rows at or before t, so recomputing
-- any window gives the same rows, and rows after t never change it.
CREATE OR REPLACE FUNCTION watchlist_data.compute_factors_keys(p_from timestamptz, p_to timestamptz, p_keys jsonb DEFAULT NULL)
RETURNS TABLE (bucket_ends integer, base_rows bigint, factor_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
-- The CTEs below are joined per key; the planner estimates them at one row and would
-- nest-loop them (quadratic in keys: 3 s instead of 0.3 s for 140 keys); hashes fit.
-- JIT compilation would cost more than these short statements. The 12-hour windows of
-- every key are sorted and hashed in memory (7 x 800 keys: about 0.8 M rows a bucket end).
SET enable_nestloop = off
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
    v_t3h   timestamptz;
    v_t100m timestamptz;
    v_t70m  timestamptz;
    v_t1h   timestamptz;
    v_t15m  timestamptz;
    v_tprev timestamptz;
    v_n     bigint;
BEGIN
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to OR NOT isfinite(p_from) OR NOT isfinite(p_to) THEN
        RAISE EXCEPTION 'compute_factors: need finite p_from < p_to, got [%, %]', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_first := time_bucket(c_step, p_from) + c_step;
    v_last  := time_bucket(c_step, p_to);
    bucket_ends := 0; base_rows := 0; factor_rows := 0;
    IF v_last < v_first THEN
        RETURN NEXT;
        RETURN;
    END IF;
    bucket_ends := (extract(epoch FROM v_last - v_first) / 300)::integer + 1;
    v_base := v_first - c_step;

    -- 1. Base of each bucket, and the factors of the bucket alone.
    WITH keys AS (
        SELECT k ->> 0 AS exchange, k ->> 1 AS symbol FROM jsonb_array_elements(p_keys) AS k
    ), b AS (
        SELECT r.exchange, r.symbol, time_bucket(c_step, r.ts) + c_step AS t,
               count(*)::integer                                              AS n_rows,
               last(r.triggered, r.ts)                                        AS trig,
               last(r.spread_rel, r.ts) FILTER (WHERE r.spread_rel IS NOT NULL) AS x,
               max(r.spread_rel) AS hi, min(r.spread_rel) AS lo,
               count(r.spread_rel)::integer AS sn, sum(r.spread_rel) AS ss, var_pop(r.spread_rel) * count(r.spread_rel) AS m2,
               last(r.funding_rate, r.ts) FILTER (WHERE r.funding_rate IS NOT NULL) AS f,
               last(r.volume_quote, r.ts) FILTER (WHERE r.volume_quote IS NOT NULL) AS v,
               last(r.meta, r.ts) AS meta
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
    v_t := v_first;
    WHILE v_t <= v_last LOOP
        v_t12 := v_t - INTERVAL '12 hours';
        v_t12s := v_t - INTERVAL '12 hours 5 minutes';
        v_t7d := v_t - INTERVAL '7 days';
        v_th := time_bucket(INTERVAL '1 hour', v_t);
        v_t3d := v_t - INTERVAL '3 days';
        v_t3h := v_t - INTERVAL '3 hours';
        v_t100m := v_t - INTERVAL '100 minutes';
        v_t70m := v_t - INTERVAL '70 minutes';
        v_t1h := v_t - INTERVAL '1 hour';
        v_t15m := v_t - INTERVAL '15 minutes';
        v_tprev := v_t - c_step;
        WITH keys AS (
            SELECT k ->> 0 AS exchange, k ->> 1 AS symbol FROM jsonb_array_elements(p_keys) AS k
        ), cur AS (
            SELECT c.exchange, c.symbol, c.b_spread_close AS x, c.b_funding_close AS f, c.b_volume_close AS v,
                   c.b_triggered_last AS trig,
                   -- shift of the moment sums (x_t, or the latest x before it): no cancellation
                   coalesce(c.b_spread_close,
                            (SELECT p.b_spread_close FROM watchlist_data.factor_value AS p
                              WHERE p.exchange = c.exchange AND p.symbol = c.symbol AND p.ts < v_t
                                AND p.ts > v_t12 AND p.b_spread_close IS NOT NULL
                              ORDER BY p.ts DESC LIMIT 1), 0) AS x0
              FROM watchlist_data.factor_value AS c
             WHERE c.ts = v_t
               AND (p_keys IS NULL OR (c.exchange, c.symbol) IN (SELECT keys.exchange, keys.symbol FROM keys))
        ), hist AS (        -- rows in (t - 12 h - 5 min, t]: W(t, 12 h) and the step before its first row
            SELECT h.exchange, h.symbol, h.ts, h.b_spread_close AS x, h.b_spread_high AS hi, h.b_spread_low AS lo,
                   h.b_spread_n AS sn, h.b_spread_sum AS ss, h.b_spread_m2 AS m2b, h.b_volume_close AS v,
                   h.spread_macd, h.spread_dx_14, h.rv_1h, h.signal_persistence_min,
                   cur.x AS cx, cur.f AS cf, cur.v AS cv, cur.trig AS ctrig, cur.x0,
                   lag(h.ts) OVER w AS pts, lag(h.b_spread_close) OVER w AS px,
                   lag(h.b_spread_high) OVER w AS phi, lag(h.b_spread_low) OVER w AS plo,
                   -- running maximum of x inside W(t, 12 h), for the drawdown (same window: one pass)
                   max(h.b_spread_close) FILTER (WHERE h.ts > v_t12) OVER w AS runmax
              FROM watchlist_data.factor_value AS h
              JOIN cur ON cur.exchange = h.exchange AND cur.symbol = h.symbol
             WHERE h.ts > v_t12s AND h.ts <= v_t
            WINDOW w AS (PARTITION BY h.exchange, h.symbol ORDER BY h.ts)
        ), st AS (          -- steps: d = x_b - x_{b-5}, with the DM/TR terms of the ADX
            SELECT hist.*, (hist.pts = hist.ts - c_step AND hist.x IS NOT NULL AND hist.px IS NOT NULL) AS step,
                   hist.x - hist.px AS d,
                   CASE WHEN hist.hi - hist.phi > hist.plo - hist.lo AND hist.hi - hist.phi > 0 THEN hist.hi - hist.phi ELSE 0 END AS dmp,
                   CASE WHEN hist.plo - hist.lo > hist.hi - hist.phi AND hist.plo - hist.lo > 0 THEN hist.plo - hist.lo ELSE 0 END AS dmm,
                   greatest(hist.hi, hist.px) - least(hist.lo, hist.px) AS tr,
                   -- EMA weights l^k, k = (t - b) / 5 min
                   power(1 - 2.0::float8 / 13, e.k) AS w12, power(1 - 2.0::float8 / 27, e.k) AS w26,
                   power(1 - 2.0::float8 / 10, e.k) AS w9
              FROM hist CROSS JOIN LATERAL (SELECT extract(epoch FROM v_t - hist.ts)::float8 / 300 AS k) AS e
             WHERE hist.ts > v_t12
        ), a AS (           -- one group per key, straight from the windows' (key, ts) order
            SELECT st.exchange, st.symbol, max(st.cx) AS x, max(st.cf) AS f, max(st.cv) AS v, bool_or(st.ctrig) AS trig,
                   max(st.x0) AS x0,
                   sum(st.sn) FILTER (WHERE st.ts > v_t1h) AS n1,
                   sum(st.ss) FILTER (WHERE st.ts > v_t1h) AS s1,
                   -- centred sum of squares about x0: sum(m2_i + n_i (mean_i - x0)^2) (Chan et al.)
                   sum(st.m2b + st.sn * (st.ss / nullif(st.sn, 0) - st.x0) ^ 2)
                       FILTER (WHERE st.ts > v_t1h AND st.sn > 0) AS q1,
                   sum(st.sn) AS n12, sum(st.ss) AS s12,
                   sum(st.m2b + st.sn * (st.ss / nullif(st.sn, 0) - st.x0) ^ 2) FILTER (WHERE st.sn > 0) AS q12,
                   regr_slope(st.x, st.px) FILTER (WHERE st.step) AS phi,
                   max(st.x) FILTER (WHERE st.ts = v_t15m) AS x15,
                   max(st.x) FILTER (WHERE st.ts = v_t1h) AS x60,
                   count(st.x) AS nx, max(st.runmax - st.x) AS dd12,
                   sum(st.x - st.x0) AS y1, sum((st.x - st.x0) ^ 2) AS y2,
                   sum((st.x - st.x0) ^ 3) AS y3, sum((st.x - st.x0) ^ 4) AS y4,
                   sum(st.w12 * st.x) FILTER (WHERE st.x IS NOT NULL)
                     / sum(st.w12) FILTER (WHERE st.x IS NOT NULL) AS ema12,
                   sum(st.w26 * st.x) FILTER (WHERE st.x IS NOT NULL)
                     / sum(st.w26) FILTER (WHERE st.x IS NOT NULL) AS ema26,
                   sum(st.w9 * st.spread_macd)
                       FILTER (WHERE st.ts < v_t AND st.spread_macd IS NOT NULL) AS sig_num,
                   sum(st.w9)
                       FILTER (WHERE st.ts < v_t AND st.spread_macd IS NOT NULL) AS sig_den,
                   avg(st.x) FILTER (WHERE st.ts > v_t100m) AS bb_m,
                   stddev_samp(st.x) FILTER (WHERE st.ts > v_t100m) AS bb_sd,
                   sum(greatest(st.d, 0)) FILTER (WHERE st.step AND st.ts > v_t70m) AS rsi_g,
                   sum(abs(st.d)) FILTER (WHERE st.step AND st.ts > v_t70m) AS rsi_a,
                   sum(st.dmp) FILTER (WHERE st.step AND st.ts > v_t70m) AS dmp,
                   sum(st.dmm) FILTER (WHERE st.step AND st.ts > v_t70m) AS dmm,
                   sum(st.tr) FILTER (WHERE st.step AND st.ts > v_t70m) AS tr,
                   sum(st.spread_dx_14) FILTER (WHERE st.ts < v_t AND st.ts > v_t70m) AS dx_sum,
                   count(st.spread_dx_14) FILTER (WHERE st.ts < v_t AND st.ts > v_t70m) AS dx_n,
                   sum(st.d ^ 2) FILTER (WHERE st.step AND st.ts > v_t1h) AS d2_1,
                   count(*) FILTER (WHERE st.step AND st.ts > v_t1h) AS dn_1,
                   sum(st.d ^ 2) FILTER (WHERE st.step) AS d2_12,
                   count(*) FILTER (WHERE st.step) AS dn_12,
                   array_agg(st.rv_1h) FILTER (WHERE st.ts < v_t AND st.rv_1h IS NOT NULL) AS rv_hist,
                   avg(st.x) FILTER (WHERE st.ts > v_t3h) AS c3,
                   -- the steps inside W(t, 3 h), counted against its mean c3 below
                   array_agg(st.x) FILTER (WHERE st.step AND st.pts > v_t3h) AS cx3,
                   array_agg(st.px) FILTER (WHERE st.step AND st.pts > v_t3h) AS cpx3,
                   avg(st.v) AS v_m, stddev_samp(st.v) AS v_sd,
                   max(st.signal_persistence_min) FILTER (WHERE st.ts = v_tprev) AS pers_prev
              FROM st
             GROUP BY st.exchange, st.symbol
        ), fprev AS (       -- t between full hours: H(t, 7 d) = H(t_h, 7 d), kept on the row at t_h (0021)
            SELECT p.exchange, p.symbol, p.b_fstate_n AS n, p.b_fstate_mean AS m, p.b_fstate_q AS q,
                   p.funding_vol_7d AS sd, p.funding_trend_3d AS trend, p.funding_reversal_prob AS rev
              FROM watchlist_data.factor_value AS p
              JOIN cur ON cur.exchange = p.exchange AND cur.symbol = p.symbol
             WHERE p.ts = v_th AND v_th < v_t AND p.b_fstate_n IS NOT NULL
        ), fkeys AS (       -- the others (t on the hour, or no state at t_h): from the samples
            SELECT cur.exchange, cur.symbol, cur.f FROM cur
             WHERE NOT EXISTS (SELECT 1 FROM fprev WHERE fprev.exchange = cur.exchange AND fprev.symbol = cur.symbol)
        ), fh AS (          -- hourly funding samples H(t, 7 d), with their mean and f_t
            SELECT h.exchange, h.symbol, h.ts, h.b_funding_close AS fh, fkeys.f AS fcur,
                   avg(h.b_funding_close) OVER (PARTITION BY h.exchange, h.symbol) AS m,
                   lag(h.ts) OVER w AS pts, lag(h.b_funding_close) OVER w AS pfh
              FROM watchlist_data.factor_value AS h
              JOIN fkeys ON fkeys.exchange = h.exchange AND fkeys.symbol = h.symbol
             WHERE h.ts > v_t7d AND h.ts <= v_t AND h.b_funding_close IS NOT NULL AND h.b_on_hour
            WINDOW w AS (PARTITION BY h.exchange, h.symbol ORDER BY h.ts)
        ), fa AS (
            SELECT fh.exchange, fh.symbol, avg(fh.fh) AS m, stddev_samp(fh.fh) AS sd, count(*) AS n,
                   regr_slope(fh.fh, extract(epoch FROM fh.ts)::float8 / 86400) FILTER (WHERE fh.ts > v_t3d) AS trend,
                   count(*) FILTER (WHERE fh.fh < fh.fcur) AS below,
                   avg(((fh.fh - fh.pfh) * (fh.pfh - fh.m) < 0)::int::float8) FILTER (WHERE fh.pts = fh.ts - INTERVAL '1 hour') AS rev,
                   NULL::integer AS regime_q, array_agg(fh.fh ORDER BY fh.fh) AS sorted
              FROM fh GROUP BY 1, 2
            UNION ALL       -- the regime from the quintile thresholds of H (see 0021)
            SELECT fprev.exchange, fprev.symbol, fprev.m, fprev.sd, fprev.n, fprev.trend, NULL, fprev.rev,
                   1 + (fprev.q[1] < cur.f)::int + (fprev.q[2] < cur.f)::int + (fprev.q[3] < cur.f)::int
                     + (fprev.q[4] < cur.f)::int, NULL
              FROM fprev JOIN cur ON cur.exchange = fprev.exchange AND cur.symbol = fprev.symbol
             WHERE fprev.n > 0
        ), mom AS (         -- central moments of x over W(t, 12 h), shifted by x_t
            SELECT a.*,
                   a.y2 / nullif(a.nx, 0) - (a.y1 / nullif(a.nx, 0)) ^ 2 AS m2,
                   a.y3 / nullif(a.nx, 0) - 3 * (a.y1 / nullif(a.nx, 0)) * (a.y2 / nullif(a.nx, 0))
                     + 2 * (a.y1 / nullif(a.nx, 0)) ^ 3 AS m3,
                   a.y4 / nullif(a.nx, 0) - 4 * (a.y1 / nullif(a.nx, 0)) * (a.y3 / nullif(a.nx, 0))
                     + 6 * (a.y1 / nullif(a.nx, 0)) ^ 2 * (a.y2 / nullif(a.nx, 0)) - 3 * (a.y1 / nullif(a.nx, 0)) ^ 4 AS m4,
                   CASE WHEN a.dmp + a.dmm > 0 AND a.tr > 0 THEN 100 * abs(a.dmp - a.dmm) / (a.dmp + a.dmm) END AS dx,
                   CASE WHEN a.dn_1 > 0 THEN sqrt(a.d2_1) END AS rv1,
                   a.ema12 - a.ema26 AS macd
              FROM a
        ), res AS (
            SELECT mom.exchange, mom.symbol,
                   -- M2 = sum(m2_i + n_i (mean_i - x0)^2) - n (mean - x0)^2
                   CASE WHEN mom.n1 >= 2 AND mom.q1 - mom.n1 * (mom.s1 / nullif(mom.n1, 0) - mom.x0) ^ 2 > 0
                        THEN (mom.x - mom.s1 / mom.n1)
                             / sqrt((mom.q1 - mom.n1 * (mom.s1 / mom.n1 - mom.x0) ^ 2) / (mom.n1 - 1)) END AS z1,
                   CASE WHEN mom.n12 >= 2 AND mom.q12 - mom.n12 * (mom.s12 / nullif(mom.n12, 0) - mom.x0) ^ 2 > 0
                        THEN (mom.x - mom.s12 / mom.n12)
                             / sqrt((mom.q12 - mom.n12 * (mom.s12 / mom.n12 - mom.x0) ^ 2) / (mom.n12 - 1)) END AS z12,
                   CASE WHEN mom.phi > 0 AND mom.phi < 1 THEN 5 * ln(0.5) / ln(mom.phi) END AS hl,
                   mom.x - mom.x15 AS mo15, mom.x - mom.x60 AS mo60,
                   CASE WHEN mom.nx >= 3 AND mom.m2 > 0 THEN mom.m3 / mom.m2 ^ 1.5 END AS skew,
                   CASE WHEN mom.nx >= 4 AND mom.m2 > 0 THEN mom.m4 / mom.m2 ^ 2 - 3 END AS kurt,
                   mom.dd12,
                   CASE WHEN mom.rsi_a > 0 THEN 100 * mom.rsi_g / mom.rsi_a END AS rsi,
                   mom.macd,
                   CASE WHEN mom.macd IS NOT NULL OR mom.sig_den IS NOT NULL THEN
                       (coalesce(mom.sig_num, 0) + coalesce(mom.macd, 0))
                       / (coalesce(mom.sig_den, 0) + CASE WHEN mom.macd IS NOT NULL THEN 1 ELSE 0 END) END AS sig,
                   CASE WHEN mom.bb_sd > 0 THEN (mom.x - (mom.bb_m - 2 * mom.bb_sd)) / (4 * mom.bb_sd) END AS pctb,
                   mom.dx,
                   CASE WHEN mom.dx IS NOT NULL OR mom.dx_n > 0 THEN
                       (coalesce(mom.dx_sum, 0) + coalesce(mom.dx, 0))
                       / (mom.dx_n + CASE WHEN mom.dx IS NOT NULL THEN 1 ELSE 0 END) END AS adx,
                   CASE WHEN fa.n >= 2 AND fa.sd > 0 THEN (mom.f - fa.m) / fa.sd END AS fz,
                   fa.trend AS ftrend, fa.sd AS fvol,
                   CASE WHEN fa.n >= 1 AND mom.f IS NOT NULL THEN coalesce(fa.regime_q, least(5, 1 + floor(5.0 * fa.below / fa.n))) END AS regime,
                   fa.rev,
                   mom.rv1,
                   CASE WHEN mom.dn_12 > 0 THEN sqrt(mom.d2_12) END AS rv12,
                   CASE WHEN mom.dn_1 > 0 AND mom.d2_12 > 0 THEN sqrt(mom.d2_1 / mom.dn_1) / sqrt(mom.d2_12 / mom.dn_12) END AS hvr,
                   (SELECT stddev_samp(u) FROM unnest(mom.rv_hist || mom.rv1) AS u) AS vov,
                   CASE WHEN mom.c3 IS NOT NULL THEN
                       (SELECT count(*) FROM unnest(mom.cx3, mom.cpx3) AS u(x, px) WHERE (u.x - mom.c3) * (u.px - mom.c3) < 0) END AS cross3,
                   CASE WHEN mom.v_sd > 0 THEN (mom.v - mom.v_m) / mom.v_sd END AS vz,
                   CASE WHEN mom.trig THEN 5 + coalesce(mom.pers_prev, 0) ELSE 0 END AS pers,
                   CASE WHEN fkeys.exchange IS NOT NULL THEN coalesce(fa.n, 0) END AS fs_n,
                   CASE WHEN fkeys.exchange IS NOT NULL THEN fa.m END AS fs_m,
                   CASE WHEN fkeys.exchange IS NOT NULL AND fa.n > 0 THEN
                       ARRAY[fa.sorted[ceil(fa.n / 5.0)::integer], fa.sorted[ceil(2 * fa.n / 5.0)::integer],
                             fa.sorted[ceil(3 * fa.n / 5.0)::integer], fa.sorted[ceil(4 * fa.n / 5.0)::integer]] END AS fs_q
              FROM mom
              LEFT JOIN fa ON fa.exchange = mom.exchange AND fa.symbol = mom.symbol
              LEFT JOIN fkeys ON fkeys.exchange = mom.exchange AND fkeys.symbol = mom.symbol
        )
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
            b_fstate_n = res.fs_n, b_fstate_mean = res.fs_m, b_fstate_q = res.fs_q
          FROM res
         WHERE fv.exchange = res.exchange AND fv.symbol = res.symbol AND fv.ts = v_t;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        factor_rows := factor_rows + v_n;
        v_t := v_t + c_step;
    END LOOP;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.compute_factors_keys(timestamptz, timestamptz, jsonb) FROM PUBLIC;
