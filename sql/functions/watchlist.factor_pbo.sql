-- watchlist.factor_pbo(from, to, blocks, metric, period, min_events, signal_type, exchange,
-- factor): the probability of backtest overfitting of the factor lab's selection, by
-- combinatorially symmetric cross-validation (Bailey, Borwein, Lopez de Prado and Zhu 2015),
-- per horizon. One row per horizon x combination.
-- The matrix: rows are the periods of [from, to) (UTC time_bucket(period, ...); T of them,
-- empty periods included), columns the N strategies = the factors at that horizon that meet
-- the leaderboard's minimum sample over the whole window (factor_lab_min_periods used periods
-- and factor_lab_min_eff_events effective events; categorical factors left out), cells the
-- period's Spearman rank IC (watchlist.factor_ic_by_period; skipped periods empty).
-- The rows are cut into S = blocks contiguous blocks (period i of T in block floor(i S / T));
-- each of the C(S, S/2) combinations of S/2 blocks is a training set J, its complement the
-- test set. Performance metric: the rank-IC information ratio (mean / sample sd of the
-- rank ICs present in the set; NULL with fewer than 2 or no variation). A strategy trades the
-- sign of its training mean, so its in-sample performance is |IR_J| and its out-of-sample
-- performance sign(mean_J) x IR_test (NULL ranks lowest). The in-sample best n* (largest
-- |IR_J|, ties by factor name) gets its out-of-sample rank among the N (1 = worst, ties
-- averaged), omega = rank / (N + 1), logit = ln(omega / (1 - omega)); pbo = the share of the
-- combinations (with a best) whose logit <= 0: how often the in-sample winner is at or
-- below the median out of sample. train_blocks lists J (0-based); combination numbers follow
-- the bitmask sum 2^b over J, ascending. Horizons with fewer than 2 strategies give no rows.
-- Raises unless blocks is even, 2 .. 16, and at most the number of periods.
CREATE OR REPLACE FUNCTION watchlist.factor_pbo(
    p_from timestamptz, p_to timestamptz, p_blocks integer DEFAULT 8, p_metric text DEFAULT 'pnl',
    p_period interval DEFAULT '1 day', p_min_events integer DEFAULT 5, p_signal_type text DEFAULT NULL,
    p_exchange text DEFAULT NULL, p_factor text DEFAULT NULL)
RETURNS TABLE (horizon_min integer, n_blocks integer, n_periods integer, n_strategies integer, n_combinations integer,
               combination integer, train_blocks integer[], best_factor text, is_ir double precision,
               oos_ir double precision, oos_rank double precision, omega double precision, logit double precision,
               pbo double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_min_periods integer := watchlist_data.setting('factor_lab_min_periods')::integer;
    v_min_eff     double precision := watchlist_data.setting('factor_lab_min_eff_events')::float8;
    v_cat         text[] := string_to_array(replace(watchlist_data.setting('factor_lab_categorical'), ' ', ''), ',');
    v_ps          double precision := extract(epoch FROM p_period);
    v_first       timestamptz;
    v_np          integer;
BEGIN
    PERFORM watchlist_data.check_read_span('factor_pbo', p_from, p_to);
    IF p_period IS NULL OR v_ps <= 0 THEN
        RAISE EXCEPTION 'factor_pbo: the period must be a positive interval (got %)', p_period
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'factor_pbo: empty window [%, %)', p_from, p_to USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_first := @extschema@.time_bucket(p_period, p_from);
    v_np := floor((extract(epoch FROM @extschema@.time_bucket(p_period, p_to - interval '1 microsecond'))
                   - extract(epoch FROM v_first)) / v_ps)::integer + 1;
    IF p_blocks IS NULL OR p_blocks < 2 OR p_blocks > 16 OR p_blocks % 2 <> 0 OR p_blocks > v_np THEN
        RAISE EXCEPTION 'factor_pbo: blocks must be even, 2 .. 16 and at most the % period(s) of % in the window (got %)',
                        v_np, p_period, p_blocks
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH per AS (
        SELECT b.period_start AS p, b.factor AS fac, b.horizon_min AS h, b.rank_ic AS ric,
               (floor((extract(epoch FROM b.period_start) - extract(epoch FROM v_first)) / v_ps)::integer * p_blocks / v_np) AS blk
          FROM watchlist.factor_ic_by_period(p_from, p_to, p_metric, p_period, p_min_events,
                                             p_signal_type, p_exchange, p_factor) AS b
         WHERE NOT (b.factor = ANY (v_cat)) AND NOT b.skipped
    ), used AS (
        SELECT o.fac, o.h, o.exchange, o.symbol, (extract(epoch FROM e.entry_ts) / (60.0 * o.h))::float8 AS tau
          FROM watchlist_data.factor_observations(p_from, p_to, p_metric, p_period, p_signal_type, p_exchange, p_factor) AS o
          JOIN per ON per.p = o.p AND per.fac = o.fac AND per.h = o.h
          JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id
         WHERE o.y IS NOT NULL
    ), win AS (
        SELECT used.fac, used.h, used.tau,
               count(*) OVER bw AS a, sum(used.tau) OVER bw AS sa,
               count(*) OVER fw AS b, sum(used.tau) OVER fw AS sb,
               count(*) OVER (PARTITION BY used.fac, used.h, used.exchange, used.symbol, used.tau) AS k
          FROM used
        WINDOW bw AS (PARTITION BY used.fac, used.h, used.exchange, used.symbol ORDER BY used.tau
                      RANGE BETWEEN '1'::float8 PRECEDING AND CURRENT ROW),
               fw AS (PARTITION BY used.fac, used.h, used.exchange, used.symbol ORDER BY used.tau
                      RANGE BETWEEN CURRENT ROW AND '1'::float8 FOLLOWING)
    ), strat AS (
        -- the leaderboard's minimum sample over the whole window
        SELECT win.fac, win.h
          FROM win GROUP BY win.fac, win.h
        HAVING sum(1 / ((win.a - (win.a * win.tau - win.sa)) + (win.b - (win.sb - win.b * win.tau)) - win.k)) >= v_min_eff
           AND (SELECT count(*) FROM per WHERE per.fac = win.fac AND per.h = win.h) >= v_min_periods
    ), nstrat AS (
        SELECT strat.h, count(*)::integer AS n FROM strat GROUP BY strat.h HAVING count(*) >= 2
    ), blk AS (
        SELECT per.fac, per.h, per.blk, count(*)::float8 AS n, sum(per.ric) AS s, sum(per.ric * per.ric) AS ss
          FROM per JOIN strat ON strat.fac = per.fac AND strat.h = per.h
         GROUP BY 1, 2, 3
    ), combo AS (
        SELECT g.m, row_number() OVER (ORDER BY g.m)::integer AS c,
               ARRAY(SELECT b FROM generate_series(0, p_blocks - 1) AS b WHERE (g.m >> b) & 1 = 1) AS j
          FROM generate_series(0, (1 << p_blocks) - 1) AS g(m)
         WHERE length(replace((g.m::bit(16))::text, '0', '')) = p_blocks / 2
    ), sums AS (
        SELECT combo.c, strat.fac, strat.h,
               coalesce(sum(blk.n) FILTER (WHERE (combo.m >> blk.blk) & 1 = 1), 0) AS n1,
               sum(blk.s) FILTER (WHERE (combo.m >> blk.blk) & 1 = 1) AS s1,
               sum(blk.ss) FILTER (WHERE (combo.m >> blk.blk) & 1 = 1) AS ss1,
               coalesce(sum(blk.n) FILTER (WHERE (combo.m >> blk.blk) & 1 = 0), 0) AS n2,
               sum(blk.s) FILTER (WHERE (combo.m >> blk.blk) & 1 = 0) AS s2,
               sum(blk.ss) FILTER (WHERE (combo.m >> blk.blk) & 1 = 0) AS ss2
          FROM combo CROSS JOIN strat
          LEFT JOIN blk ON blk.fac = strat.fac AND blk.h = strat.h
         GROUP BY 1, 2, 3
    ), ir AS (
        SELECT sums.c, sums.fac, sums.h,
               CASE WHEN sums.n1 >= 2 AND sums.ss1 - sums.s1 * sums.s1 / sums.n1 > 0
                    THEN (sums.s1 / sums.n1) / sqrt((sums.ss1 - sums.s1 * sums.s1 / sums.n1) / (sums.n1 - 1)) END AS ir1,
               CASE WHEN sums.n2 >= 2 AND sums.ss2 - sums.s2 * sums.s2 / sums.n2 > 0
                    THEN (sums.s2 / sums.n2) / sqrt((sums.ss2 - sums.s2 * sums.s2 / sums.n2) / (sums.n2 - 1)) END AS ir2
          FROM sums
    ), perf AS (
        SELECT ir.c, ir.fac, ir.h, abs(ir.ir1) AS is_perf, ir.ir1,
               coalesce(sign(ir.ir1) * ir.ir2, '-Infinity'::float8) AS oos_perf
          FROM ir
    ), best AS (
        SELECT DISTINCT ON (perf.h, perf.c) perf.h, perf.c, perf.fac, perf.ir1, perf.oos_perf
          FROM perf WHERE perf.is_perf IS NOT NULL
         ORDER BY perf.h, perf.c, perf.is_perf DESC, perf.fac
    ), rk AS (
        SELECT best.h, best.c, best.fac, best.ir1, best.oos_perf,
               count(*) FILTER (WHERE perf.oos_perf < best.oos_perf)
                 + (count(*) FILTER (WHERE perf.oos_perf = best.oos_perf) + 1) / 2.0 AS r
          FROM best JOIN perf ON perf.h = best.h AND perf.c = best.c
         GROUP BY 1, 2, 3, 4, 5
    ), res AS (
        SELECT nstrat.h, nstrat.n, combo.c, combo.j, rk.fac, rk.ir1, rk.oos_perf, rk.r::float8 AS r,
               rk.r::float8 / (nstrat.n + 1) AS om
          FROM nstrat CROSS JOIN combo
          LEFT JOIN rk ON rk.h = nstrat.h AND rk.c = combo.c
    )
    SELECT res.h, p_blocks, v_np, res.n, (SELECT count(*)::integer FROM combo), res.c, res.j, res.fac, abs(res.ir1),
           nullif(res.oos_perf, '-Infinity'::float8), res.r, res.om, ln(res.om / (1 - res.om)),
           (avg(CASE WHEN res.om IS NOT NULL THEN (res.om <= 0.5)::integer END) OVER (PARTITION BY res.h))::float8
      FROM res ORDER BY res.h, res.c;
END
$$;
REVOKE ALL ON FUNCTION watchlist.factor_pbo(timestamptz, timestamptz, integer, text, interval, integer, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.factor_pbo(timestamptz, timestamptz, integer, text, interval, integer, text, text, text) TO wl_reader;
