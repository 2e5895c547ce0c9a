-- watchlist.factor_leaderboard(from, to, metric, period, min_events, signal_type, exchange,
-- factor): the factor lab's verdicts, one row per factor x horizon for the outcome metric,
-- with statistics that hold when outcome windows overlap, and selection control. The
-- statistics, their assumptions and how to read a row: docs/factor-lab.md.
-- Periods and per-period ICs are watchlist.factor_ic_by_period's (skipped periods counted,
-- not used); the statistics are watchlist_data.factor_verdict's:
--   eff_events        events discounted for overlap: each event counts 1 / sum over the events
--                     of its symbol (itself included) of the share of its outcome window they
--                     overlap, max(0, 1 - |entry_i - entry_j| / horizon); evenly spaced events
--                     d apart count d / horizon each
--   hac_t, p_value, ci_lo, ci_hi   Newey-West t of the mean rank IC (Bartlett, lag ceil(horizon /
--                     period)), its fixed-b p-value and 95% interval (watchlist_data.hac_mean_test)
--   group_h, p_value  for the factors of the setting factor_lab_categorical: Kruskal-Wallis H
--                     across the categories over the used events, and its chi-square p-value
--                     with H discounted by eff_events / n_events for overlap
--   eligible, rank    ranked only with factor_lab_min_periods used periods and
--                     factor_lab_min_eff_events effective events; by q_value, then |hac_t|
--   q_value           Benjamini-Hochberg over this run's eligible rows; discovery = q_value <=
--                     the setting factor_lab_fdr
--   trials_in_window  distinct tests (factor x horizon x metric x period x filters x window) the
--                     database has recorded on windows overlapping [from, to), this run's
--                     included: the same query again adds none, another window or metric does
--   bonferroni_t, bonferroni_p   |hac_t| a row must beat for family-wise level factor_lab_fdr
--                     over those trials (kappa x the t(df) quantile at 1 - fdr / (2 trials),
--                     kappa the fixed-b factor of hac_mean_test), and p x trials
--   q1 .. q5          mean outcome by factor quintile (quintiles within each used period, ties by
--                     event id, pooled), q1_se .. q5_se the Newey-West standard errors of the
--                     per-period quintile means, spread = q5 - q1 and spread_t its Newey-West t
--                     (per-period q5 - q1); NULL for categorical factors
-- Records every row as a trial in watchlist_data.factor_trial (run_id), except in a read-only
-- transaction (a standby), where trials_in_window still counts this run.
CREATE OR REPLACE FUNCTION watchlist.factor_leaderboard(
    p_from timestamptz, p_to timestamptz, p_metric text DEFAULT 'pnl', p_period interval DEFAULT '1 day',
    p_min_events integer DEFAULT 5, p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL,
    p_factor text DEFAULT NULL)
RETURNS TABLE (rank integer, factor text, horizon_min integer, test text, n_periods integer, skipped_periods integer,
               n_events integer, eff_events double precision,
               mean_ic double precision, sd_ic double precision, icir double precision,
               mean_rank_ic double precision, sd_rank_ic double precision, rank_icir double precision,
               hac_lag integer, hac_t double precision, df double precision, kappa double precision, p_value double precision,
               ci_lo double precision, ci_hi double precision, ic_hac_t double precision, ic_p_value double precision,
               group_h double precision, eligible boolean, q_value double precision, discovery boolean,
               trials_in_window integer, bonferroni_t double precision, bonferroni_p double precision,
               q1 double precision, q2 double precision, q3 double precision, q4 double precision, q5 double precision,
               q1_se double precision, q2_se double precision, q3_se double precision, q4_se double precision,
               q5_se double precision, spread double precision, spread_t double precision, run_id bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_min_periods integer := watchlist_data.setting('factor_lab_min_periods')::integer;
    v_min_eff     double precision := watchlist_data.setting('factor_lab_min_eff_events')::float8;
    v_alpha       double precision := watchlist_data.setting('factor_lab_fdr')::float8;
    v_cat         text[] := string_to_array(replace(watchlist_data.setting('factor_lab_categorical'), ' ', ''), ',');
    v_pm          double precision := extract(epoch FROM p_period) / 60;
    v_ps          double precision := extract(epoch FROM p_period);
    v_rows        jsonb;
    v_run         bigint;
    v_m           integer;
BEGIN
    IF p_period IS NULL OR v_ps <= 0 THEN
        RAISE EXCEPTION 'factor_leaderboard: the period must be a positive interval (got %)', p_period
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WITH per AS (
        SELECT b.period_start, b.factor AS fac, b.horizon_min AS h, b.n_events AS n, b.ic, b.rank_ic, b.skipped,
               floor(extract(epoch FROM b.period_start) / v_ps)::integer AS pn
          FROM watchlist.factor_ic_by_period(p_from, p_to, p_metric, p_period, p_min_events,
                                             p_signal_type, p_exchange, p_factor) AS b
    ), used AS (
        SELECT o.p, o.fac, o.h, o.exchange, o.symbol, o.event_id, o.x, o.y, per.pn,
               (extract(epoch FROM e.entry_ts) / (60.0 * o.h))::float8 AS tau
          FROM watchlist_data.factor_observations(p_from, p_to, p_metric, p_period, p_signal_type, p_exchange, p_factor) AS o
          JOIN per ON per.period_start = o.p AND per.fac = o.fac AND per.h = o.h AND NOT per.skipped
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
    ), eff AS (
        -- overlap weight sum: sum_j (1 - |tau_i - tau_j|) over the events within one horizon
        SELECT win.fac, win.h,
               sum(1 / ((win.a - (win.a * win.tau - win.sa)) + (win.b - (win.sb - win.b * win.tau)) - win.k)) AS eff,
               count(*) AS n
          FROM win GROUP BY win.fac, win.h
    ), grp AS (
        SELECT g.fac, g.h, kw.h AS gh, kw.df AS gdf, kw.n AS gn
          FROM (SELECT used.fac, used.h, array_agg(used.x) AS xs, array_agg(used.y) AS ys
                  FROM used WHERE used.fac = ANY (v_cat) GROUP BY used.fac, used.h) AS g
         CROSS JOIN LATERAL watchlist_data.kruskal_wallis(g.xs, g.ys) AS kw
    ), keyed AS (
        SELECT eff.fac, eff.h, eff.eff,
               CASE WHEN eff.fac = ANY (v_cat) THEN
                   coalesce(CASE WHEN grp.gh IS NOT NULL AND grp.gdf > 0
                                 THEN watchlist_data.gamma_inc(grp.gdf / 2.0, greatest(grp.gh * eff.eff / eff.n, 0) / 2, true) END,
                            'NaN'::float8) END AS gp,
               grp.gh
          FROM eff LEFT JOIN grp ON grp.fac = eff.fac AND grp.h = eff.h
    ), v AS (
        SELECT vd.*
          FROM (SELECT array_agg(per.fac) AS f, array_agg(per.h) AS hh, array_agg(per.pn) AS pn, array_agg(per.n) AS n,
                       array_agg(per.ic) AS ic, array_agg(per.rank_ic) AS ric FROM per) AS a,
               (SELECT array_agg(keyed.fac) AS f, array_agg(keyed.h) AS hh, array_agg(keyed.eff) AS eff,
                       array_agg(keyed.gp) AS gp, array_agg(keyed.gh) AS gh FROM keyed) AS k,
               watchlist_data.factor_verdict(a.f, a.hh, a.pn, a.n, a.ic, a.ric, k.f, k.hh, k.eff, k.gp, k.gh,
                                             v_pm, v_min_periods, v_min_eff) AS vd
    ), quint AS (
        SELECT used.fac, used.h, used.pn, used.y,
               ntile(5) OVER (PARTITION BY used.p, used.fac, used.h ORDER BY used.x, used.event_id) AS q
          FROM used WHERE NOT (used.fac = ANY (v_cat))
    ), qpiv AS (
        -- per period: the mean outcome of each quintile
        SELECT quint.fac, quint.h, quint.pn,
               avg(quint.y) FILTER (WHERE quint.q = 1) AS m1, avg(quint.y) FILTER (WHERE quint.q = 2) AS m2,
               avg(quint.y) FILTER (WHERE quint.q = 3) AS m3, avg(quint.y) FILTER (WHERE quint.q = 4) AS m4,
               avg(quint.y) FILTER (WHERE quint.q = 5) AS m5
          FROM quint GROUP BY 1, 2, 3
    ), qser AS (
        -- the series over every period number from the first to the last (NULL where none)
        SELECT r.fac, r.h, watchlist_data.hac_lag(r.h, v_pm) AS lag,
               array_agg(v.m1 ORDER BY g.pn) AS a1, array_agg(v.m2 ORDER BY g.pn) AS a2,
               array_agg(v.m3 ORDER BY g.pn) AS a3, array_agg(v.m4 ORDER BY g.pn) AS a4,
               array_agg(v.m5 ORDER BY g.pn) AS a5, array_agg(v.m5 - v.m1 ORDER BY g.pn) AS sp
          FROM (SELECT qpiv.fac, qpiv.h, min(qpiv.pn) AS lo, max(qpiv.pn) AS hi FROM qpiv GROUP BY 1, 2) AS r
         CROSS JOIN LATERAL generate_series(r.lo, r.hi) AS g(pn)
          LEFT JOIN qpiv AS v ON v.fac = r.fac AND v.h = r.h AND v.pn = g.pn
         GROUP BY 1, 2, 3
    ), qst AS (
        SELECT qser.fac, qser.h, t1.se AS se1, t2.se AS se2, t3.se AS se3, t4.se AS se4, t5.se AS se5, ts.t AS spread_t
          FROM qser
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(qser.a1, qser.lag) AS t1
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(qser.a2, qser.lag) AS t2
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(qser.a3, qser.lag) AS t3
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(qser.a4, qser.lag) AS t4
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(qser.a5, qser.lag) AS t5
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(qser.sp, qser.lag) AS ts
    ), qm AS (
        SELECT quint.fac, quint.h,
               avg(quint.y) FILTER (WHERE quint.q = 1) AS a1, avg(quint.y) FILTER (WHERE quint.q = 2) AS a2,
               avg(quint.y) FILTER (WHERE quint.q = 3) AS a3, avg(quint.y) FILTER (WHERE quint.q = 4) AS a4,
               avg(quint.y) FILTER (WHERE quint.q = 5) AS a5
          FROM quint GROUP BY 1, 2
    )
    SELECT jsonb_agg(to_jsonb(v) || jsonb_build_object(
               'q1', qm.a1, 'q2', qm.a2, 'q3', qm.a3, 'q4', qm.a4, 'q5', qm.a5,
               'q1_se', qst.se1, 'q2_se', qst.se2, 'q3_se', qst.se3, 'q4_se', qst.se4, 'q5_se', qst.se5,
               'spread', qm.a5 - qm.a1, 'spread_t', qst.spread_t))
      INTO v_rows
      FROM v
      LEFT JOIN qm ON qm.fac = v.factor AND qm.h = v.horizon_min
      LEFT JOIN qst ON qst.fac = v.factor AND qst.h = v.horizon_min;

    v_rows := coalesce(v_rows, '[]'::jsonb);
    IF current_setting('transaction_read_only') = 'off' THEN
        v_run := nextval('watchlist_data.factor_trial_run_seq');
        INSERT INTO watchlist_data.factor_trial (run_id, window_from, window_to, metric, period, min_events, signal_type,
                                                 exchange, factor_filter, factor, horizon_min, test, n_periods, eff_events,
                                                 stat, p_value, q_value, eligible)
        SELECT v_run, p_from, p_to, p_metric, p_period, p_min_events, p_signal_type, p_exchange, p_factor,
               r.factor, r.horizon_min, r.test, r.n_periods, r.eff_events,
               CASE WHEN r.test = 'kruskal_wallis' THEN r.group_h ELSE r.hac_t END, r.p_value, r.q_value, r.eligible
          FROM jsonb_to_recordset(v_rows) AS r(factor text, horizon_min integer, test text, n_periods integer,
                                               eff_events float8, hac_t float8, group_h float8, p_value float8,
                                               q_value float8, eligible boolean);
    END IF;
    SELECT count(*)::integer INTO v_m FROM (
        SELECT t.factor, t.horizon_min, t.metric, t.period, coalesce(t.signal_type, ''), coalesce(t.exchange, ''),
               t.window_from, t.window_to
          FROM watchlist_data.factor_trial AS t
         WHERE t.window_from < p_to AND t.window_to > p_from AND t.p_value IS NOT NULL AND t.p_value <> 'NaN'
        UNION
        SELECT r.factor, r.horizon_min, p_metric, p_period, coalesce(p_signal_type, ''), coalesce(p_exchange, ''),
               p_from, p_to
          FROM jsonb_to_recordset(v_rows) AS r(factor text, horizon_min integer, p_value float8)
         WHERE r.p_value IS NOT NULL AND r.p_value <> 'NaN') AS d;

    RETURN QUERY
    SELECT r.rank, r.factor, r.horizon_min, r.test, r.n_periods, r.skipped_periods, r.n_events, r.eff_events,
           r.mean_ic, r.sd_ic, r.icir, r.mean_rank_ic, r.sd_rank_ic, r.rank_icir, r.hac_lag, r.hac_t, r.df, r.kappa,
           nullif(r.p_value, 'NaN'), r.ci_lo, r.ci_hi, r.ic_hac_t, r.ic_p_value, r.group_h, r.eligible, r.q_value,
           coalesce(r.eligible AND r.q_value <= v_alpha, false), v_m,
           CASE WHEN r.df > 0 AND v_m > 0 THEN r.kappa * watchlist_data.t_quantile(1 - v_alpha / (2 * v_m), r.df) END,
           least(1, nullif(r.p_value, 'NaN') * v_m),
           r.q1, r.q2, r.q3, r.q4, r.q5, r.q1_se, r.q2_se, r.q3_se, r.q4_se, r.q5_se, r.spread, r.spread_t, v_run
      FROM jsonb_to_recordset(v_rows) AS r(rank integer, factor text, horizon_min integer, test text, n_periods integer,
               skipped_periods integer, n_events integer, eff_events float8, mean_ic float8, sd_ic float8, icir float8,
               mean_rank_ic float8, sd_rank_ic float8, rank_icir float8, hac_lag integer, hac_t float8, df float8, kappa float8,
               p_value float8, ci_lo float8, ci_hi float8, ic_hac_t float8, ic_p_value float8, group_h float8,
               eligible boolean, q_value float8, q1 float8, q2 float8, q3 float8, q4 float8, q5 float8,
               q1_se float8, q2_se float8, q3_se float8, q4_se float8, q5_se float8, spread float8, spread_t float8)
     ORDER BY r.rank NULLS LAST, r.horizon_min, r.factor;
END
$$;
REVOKE ALL ON FUNCTION watchlist.factor_leaderboard(timestamptz, timestamptz, text, interval, integer, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.factor_leaderboard(timestamptz, timestamptz, text, interval, integer, text, text, text) TO wl_reader;
