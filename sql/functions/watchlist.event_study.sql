-- watchlist.event_study(from, to, factor, horizon_min, excess, signal_type, exchange,
-- cluster_period, min_history): the mean pnl path of the confirmed events entered in
-- [from, to), minute by minute from 60 minutes before the entry to horizon_min after it
-- (default: the longest of outcome_horizons_min), by quintile of a factor's value at the
-- entry (watchlist.event_factors: point in time), with a 95% band clustered by period.
-- The path is the label's pnl (watchlist.label_outcomes) with the exit at t0 + m, so at
-- every label horizon an event's pnl equals its label's and the mean excess path equals the
-- mean excess_pnl of watchlist.outcome_excess over the same events.
--
-- Per event (t0 = its entry_ts, its confirmed_at; s, entry_px as the label: the entry row is
-- the latest raw row at or before t0 with a spread, s = -1 short the spread when its
-- spread_rel >= 0, else +1; entry_px its executable price, else spread_rel):
--   mark row m   the latest raw row with a spread at or before t0 + m minutes (so after the
--                entry the label's exit row at t1 = t0 + m); mark_px its exit-side price
--                (buy price short / sell price long, else spread_rel)
--   convergence  10^4 * s * (mark_px - entry_px); for m < 0 the same against the earlier
--                mark: the spread's run-up into the event in the trade's direction
--   carry        m >= 1: -10^4 * s * the sum of the funding rates of the funding times in
--                (t0, t0 + m] (the label's rule); 0 before
--   cost         m >= 0: -outcome_cost_bps; 0 before (no trade yet)
--   pnl          convergence + carry + cost (at m = a label horizon: the label's pnl)
--   carried      no raw row with a spread in (t0 + m - 1 min, t0 + m]: the mark is carried
--                forward from an older row (counted in n_carried, never dropped)
--   reached      minute m (> 0) exists once raw data of the symbol reaches t0 + m (a row at
--                or after it), as a label is written; before that the future has not happened
--   bench        excess: the mean pnl at the same minute of the OTHER events of the universe
--                (every confirmed event entered in [from, to) with an entry row, whatever the
--                signal_type / exchange filter) entered in the same clock hour (time_bucket
--                1 h of t0), reached at that minute: leave-one-out, as outcome_excess's
--                bench_universe at the label horizons. An event alone in its hour has no
--                benchmark and is left out of the excess rows (it stays in excess = false)
-- Events whose factor value is NULL, or with no spread at or before the entry (no label
-- either), are not studied. Minutes -60..-1 without any earlier row are absent for that event
-- (n_events says how many events a minute holds).
-- quintile     known at entry: from the factor values of the studied events entered
--              strictly before this one in [from, to) (expanding window): with k >= min_history
--              of them, c_lt below and c_eq equal to the value,
--              quintile = least(5, 1 + floor(5 * (c_lt + c_eq / 2) / k)) (the prior empirical
--              quintiles); with fewer, quintile NULL (breakpoints not known yet: its own rows).
--              quintile 0 = every studied event (1..5 and NULL together).
-- Outputs per (quintile, minute): n_events, n_carried, n_clusters (periods with an event),
--   mean_pnl (excess: pnl - bench, else pnl) = mean_convergence + mean_carry + mean_cost -
--   mean_bench (mean_bench NULL when excess = false), and the band mean_pnl +- 1.96 se with
--   the cluster-robust se of a mean, clusters g = time_bucket(cluster_period, t0):
--     se^2 = G / (G - 1) * sum_g (sum_{i in g} (y_i - mean))^2 / n^2   (NULL when G < 2)
--   (the CR1 sandwich of an intercept-only regression; events of one period are not
--   assumed independent).
CREATE OR REPLACE FUNCTION watchlist.event_study(
    p_from timestamptz, p_to timestamptz, p_factor text, p_horizon_min integer DEFAULT NULL,
    p_excess boolean DEFAULT true, p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL,
    p_cluster_period interval DEFAULT INTERVAL '1 day', p_min_history integer DEFAULT 20)
RETURNS TABLE (quintile integer, minute integer, n_events integer, n_carried integer, n_clusters integer,
               mean_pnl double precision, ci_low double precision, ci_high double precision,
               mean_convergence double precision, mean_carry double precision, mean_cost double precision,
               mean_bench double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_h     integer := coalesce(p_horizon_min,
                                (SELECT max(x) FROM unnest(watchlist_data.setting('outcome_horizons_min')::int[]) AS x));
    v_cost  float8   := watchlist_data.setting('outcome_cost_bps')::float8;
    v_reach interval := watchlist_data.longest_horizon() + watchlist_data.setting('event_lookback')::interval;
    v_lo    timestamptz;
    v_hi    timestamptz;
BEGIN
    PERFORM watchlist_data.check_read_span('event_study', p_from, p_to);
    IF p_factor IS NULL OR v_h IS NULL OR v_h < 1 OR v_h > 1440 THEN
        RAISE EXCEPTION 'event_study: need a factor and a horizon of 1..1440 minutes, got % and %', p_factor, v_h
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_cluster_period IS NULL OR p_cluster_period <= INTERVAL '0' OR p_min_history IS NULL OR p_min_history < 1 THEN
        RAISE EXCEPTION 'event_study: need a positive cluster period and a min_history of at least 1, got % and %',
            p_cluster_period, p_min_history USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- constant time bounds for every raw read (chunks outside are left out of the plan)
    v_lo := p_from - v_reach - INTERVAL '60 minutes';
    v_hi := p_to + make_interval(mins => v_h);
    RETURN QUERY
    WITH uni AS (
        SELECT e.id, e.exchange, e.symbol, e.entry_ts AS t0,
               CASE WHEN en.spread >= 0 THEN -1 ELSE 1 END AS s,
               CASE WHEN en.spread >= 0 THEN coalesce(en.sell, en.spread) ELSE coalesce(en.buy, en.spread) END AS entry_px,
               EXISTS (SELECT 1 FROM watchlist_data.watch_signal_raw AS r
                        WHERE r.exchange = e.exchange AND r.symbol = e.symbol
                          AND r.ts >= e.entry_ts + make_interval(mins => v_h) AND r.ts >= v_lo) AS reached_all,
               (SELECT max(r.ts) FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = e.exchange AND r.symbol = e.symbol
                   AND r.ts >= e.entry_ts AND r.ts <= e.entry_ts + make_interval(mins => v_h)
                   AND r.ts >= v_lo AND r.ts <= v_hi) AS last_ts
          FROM watchlist_data.watch_signal_event AS e
         CROSS JOIN LATERAL (
                SELECT r.spread_rel AS spread, r.best_buy_high_sell_low AS buy, r.best_sell_high_buy_low AS sell
                  FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = e.exchange AND r.symbol = e.symbol AND r.ts <= e.entry_ts AND r.spread_rel IS NOT NULL
                   AND r.ts >= e.entry_ts - v_reach AND r.ts >= v_lo AND r.ts <= v_hi
                 ORDER BY r.ts DESC LIMIT 1) AS en
         WHERE e.status = 'confirmed' AND e.entry_ts >= p_from AND e.entry_ts < p_to
    ), fund AS (
        -- the label's funding: per funding time T in (t0, t0 + horizon], the rate of the
        -- latest row in [t0, T) that names T (a row naming T lies before T, so the rate does
        -- not depend on the exit minute as long as T <= it)
        SELECT DISTINCT ON (u.id, r.next_funding_time) u.id, r.next_funding_time AS ft, r.funding_rate AS rate
          FROM uni AS u
          JOIN watchlist_data.watch_signal_raw AS r
            ON r.exchange = u.exchange AND r.symbol = u.symbol AND r.ts >= u.t0 AND r.ts <= u.t0 + make_interval(mins => v_h)
           AND r.ts >= v_lo AND r.ts <= v_hi
           AND r.next_funding_time > u.t0 AND r.next_funding_time <= u.t0 + make_interval(mins => v_h)
           AND r.ts < r.next_funding_time AND r.funding_rate IS NOT NULL
         ORDER BY u.id, r.next_funding_time, r.ts DESC
    ), fund_by_event AS (
        SELECT f.id, array_agg(f.ft) AS fts, array_agg(f.rate) AS rates FROM fund AS f GROUP BY f.id
    ), path AS (
        SELECT u.id, u.t0, m.m, mk.ts AS mark_ts,
               1e4 * u.s * (CASE WHEN u.s = -1 THEN coalesce(mk.buy, mk.spread) ELSE coalesce(mk.sell, mk.spread) END
                            - u.entry_px) AS conv,
               CASE WHEN m.m >= 1
                    THEN -1e4 * u.s * coalesce((SELECT sum(x.rate) FROM unnest(fb.fts, fb.rates) AS x(ft, rate)
                                                 WHERE x.ft <= u.t0 + make_interval(mins => m.m)), 0)
                    ELSE 0 END AS carry,
               CASE WHEN m.m >= 0 THEN -v_cost ELSE 0 END AS cost
          FROM uni AS u
          LEFT JOIN fund_by_event AS fb ON fb.id = u.id
         CROSS JOIN LATERAL generate_series(-60, v_h) AS m(m)
         CROSS JOIN LATERAL (
                SELECT r.ts, r.spread_rel AS spread, r.best_buy_high_sell_low AS buy, r.best_sell_high_buy_low AS sell
                  FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = u.exchange AND r.symbol = u.symbol AND r.ts <= u.t0 + make_interval(mins => m.m)
                   AND r.spread_rel IS NOT NULL AND r.ts >= v_lo AND r.ts <= v_hi
                 ORDER BY r.ts DESC LIMIT 1) AS mk
         WHERE m.m <= 0 OR u.reached_all OR u.last_ts >= u.t0 + make_interval(mins => m.m)
    ), benched AS (
        SELECT p.*, p.conv + p.carry + p.cost AS pnl,
               (sum(p.conv + p.carry + p.cost) OVER hw - (p.conv + p.carry + p.cost))
                 / nullif(count(*) OVER hw - 1, 0) AS bench
          FROM path AS p
        WINDOW hw AS (PARTITION BY p.m, @extschema@.time_bucket(INTERVAL '1 hour', p.t0))
    ), studied AS (
        SELECT DISTINCT ON (f.event_id) f.event_id, f.entry_ts, f.value
          FROM watchlist.event_factors(p_from, p_to, p_signal_type, p_exchange) AS f
         WHERE f.factor = p_factor AND f.value IS NOT NULL AND EXISTS (SELECT 1 FROM uni AS u WHERE u.id = f.event_id)
         ORDER BY f.event_id
    ), ranked AS (
        SELECT a.event_id,
               CASE WHEN k.k >= p_min_history
                    THEN least(5, 1 + (10 * k.c_lt + 5 * k.c_eq) / (2 * k.k))::integer END AS q
          FROM studied AS a
         CROSS JOIN LATERAL (
                SELECT count(*) AS k, count(*) FILTER (WHERE b.value < a.value) AS c_lt,
                       count(*) FILTER (WHERE b.value = a.value) AS c_eq
                  FROM studied AS b WHERE b.entry_ts < a.entry_ts) AS k
    ), obs AS (
        SELECT g.qq, b.m, @extschema@.time_bucket(p_cluster_period, b.t0) AS c,
               CASE WHEN p_excess THEN b.pnl - b.bench ELSE b.pnl END AS y,
               b.conv, b.carry, b.cost, CASE WHEN p_excess THEN b.bench END AS bench,
               (b.mark_ts <= b.t0 + make_interval(mins => b.m - 1))::int AS carried
          FROM ranked AS rk
          JOIN benched AS b ON b.id = rk.event_id
         CROSS JOIN LATERAL (VALUES (rk.q), (0)) AS g(qq)
         WHERE NOT p_excess OR b.bench IS NOT NULL
    ), per_c AS (
        SELECT o.qq, o.m, o.c, sum(o.y) AS sy, count(*) AS n, sum(o.carried) AS nc,
               sum(o.conv) AS s_conv, sum(o.carry) AS s_carry, sum(o.cost) AS s_cost, sum(o.bench) AS s_bench
          FROM obs AS o
         GROUP BY o.qq, o.m, o.c
    ), agg AS (
        SELECT pc.qq, pc.m, sum(pc.n) AS n, sum(pc.nc) AS nc, count(*) AS g, sum(pc.sy) / sum(pc.n) AS ybar,
               sum(pc.s_conv) / sum(pc.n) AS conv, sum(pc.s_carry) / sum(pc.n) AS carry,
               sum(pc.s_cost) / sum(pc.n) AS cost, sum(pc.s_bench) / sum(pc.n) AS bench
          FROM per_c AS pc
         GROUP BY pc.qq, pc.m
    ), se AS (
        SELECT a.qq, a.m,
               CASE WHEN a.g >= 2
                    THEN sqrt(a.g::float8 / (a.g - 1) * sum((pc.sy - pc.n * a.ybar) ^ 2)) / a.n END AS se
          FROM agg AS a
          JOIN per_c AS pc ON pc.qq IS NOT DISTINCT FROM a.qq AND pc.m = a.m
         GROUP BY a.qq, a.m, a.g, a.n
    )
    SELECT a.qq, a.m, a.n::integer, a.nc::integer, a.g::integer, a.ybar,
           a.ybar - 1.96 * se.se, a.ybar + 1.96 * se.se, a.conv, a.carry, a.cost, a.bench
      FROM agg AS a
      JOIN se ON se.qq IS NOT DISTINCT FROM a.qq AND se.m = a.m
     ORDER BY a.qq NULLS LAST, a.m;
END
$$;
REVOKE ALL ON FUNCTION watchlist.event_study(timestamptz, timestamptz, text, integer, boolean, text, text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.event_study(timestamptz, timestamptz, text, integer, boolean, text, text, interval, integer) TO wl_reader;
