-- watchlist.factor_walk_forward(from, to, folds, metric, period, min_events, signal_type,
-- exchange, factor, scheme): out-of-sample verdicts of the factor lab. The folds, purging and
-- embargo are watchlist.walk_forward_folds' (default: anchored walk-forward, an expanding
-- past-only training set). For each test fold the leaderboard's rule is applied to the
-- training labels only: per-period Spearman rank ICs (periods with fewer than min_events
-- training events or no variation skipped), watchlist_data.factor_verdict (Newey-West t,
-- fixed-b p, the minimum sample factor_lab_min_periods / factor_lab_min_eff_events with
-- effective events over the training labels, Benjamini-Hochberg q over that fold's eligible
-- rows); selected = eligible and q <= factor_lab_fdr. The test fold's labels are scored the
-- same way and never seen by the selection. Categorical factors (factor_lab_categorical) have
-- no IC and are left out.
-- Rows, one per factor x horizon and test fold (fold = the test fold), and one with fold NULL
-- pooling every test fold's periods:
--   train_*          the training verdict (rank IC mean, HAC t, q, rank; NULL on pooled rows)
--   selected         the training rule selected it (pooled: in at least one fold)
--   selected_folds   how many test folds selected it (per fold 0 or 1), selected_sign the sign
--                    of the training mean rank IC where selected (0 when the folds disagree)
--   n_periods .. eligible   the out-of-sample verdict: used / skipped test periods, events,
--                    effective events, mean and sd of the test periods' rank ICs, Newey-West
--                    t (lag ceil(horizon / period)), fixed-b p and 95% interval
--                    (watchlist_data.hac_mean_test on the by-period series), and eligible: the
--                    leaderboard's minimum sample on the test labels
--   confirmed        selected, eligible, and the 95% interval excludes 0 on the side of the
--                    training sign: found out of sample
-- Read-only: unlike the leaderboard it records no trials.
CREATE OR REPLACE FUNCTION watchlist.factor_walk_forward(
    p_from timestamptz, p_to timestamptz, p_folds integer DEFAULT 5, p_metric text DEFAULT 'pnl',
    p_period interval DEFAULT '1 day', p_min_events integer DEFAULT 5, p_signal_type text DEFAULT NULL,
    p_exchange text DEFAULT NULL, p_factor text DEFAULT NULL, p_scheme text DEFAULT 'anchored')
RETURNS TABLE (fold integer, test_from timestamptz, test_to timestamptz, factor text, horizon_min integer,
               train_n_periods integer, train_eff_events double precision, train_mean_rank_ic double precision,
               train_hac_t double precision, train_q_value double precision, train_rank integer,
               selected boolean, selected_folds integer, selected_sign integer,
               n_periods integer, skipped_periods integer, n_events integer, eff_events double precision,
               mean_rank_ic double precision, sd_rank_ic double precision, hac_lag integer, hac_t double precision,
               df double precision, p_value double precision, ci_lo double precision, ci_hi double precision,
               eligible boolean, confirmed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_min_periods integer := watchlist_data.setting('factor_lab_min_periods')::integer;
    v_min_eff     double precision := watchlist_data.setting('factor_lab_min_eff_events')::float8;
    v_alpha       double precision := watchlist_data.setting('factor_lab_fdr')::float8;
    v_cat         text[] := string_to_array(replace(watchlist_data.setting('factor_lab_categorical'), ' ', ''), ',');
    v_pm          double precision := extract(epoch FROM p_period) / 60;
    v_ps          double precision := extract(epoch FROM p_period);
BEGIN
    PERFORM watchlist_data.check_read_span('factor_walk_forward', p_from, p_to);
    IF p_min_events IS NULL OR p_min_events < 2 THEN
        RAISE EXCEPTION 'factor_walk_forward: min_events must be at least 2 (got %)', p_min_events
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH fo AS MATERIALIZED (
        SELECT w.test_fold AS tf, w.test_from AS lo, w.test_to AS hi, w.event_id, w.horizon_min AS h, w.entry_ts, w.role
          FROM watchlist.walk_forward_folds(p_from, p_to, p_folds, p_period, p_scheme, p_signal_type, p_exchange) AS w
         WHERE w.role IN ('train', 'test')
    ), obs AS MATERIALIZED (
        SELECT o.p, o.fac, o.h, o.exchange, o.symbol, o.event_id, o.x, o.y
          FROM watchlist_data.factor_observations(p_from, p_to, p_metric, p_period, p_signal_type, p_exchange, p_factor) AS o
         WHERE o.y IS NOT NULL AND NOT (o.fac = ANY (v_cat))
    ), sets AS MATERIALIZED (
        -- k: the test fold; the pooled test set is k = -1 (every period is in one test fold)
        SELECT fo.tf AS k, fo.role, obs.*, fo.entry_ts
          FROM obs JOIN fo ON fo.event_id = obs.event_id AND fo.h = obs.h
        UNION ALL
        SELECT -1, 'test', obs.*, fo.entry_ts
          FROM obs JOIN fo ON fo.event_id = obs.event_id AND fo.h = obs.h AND fo.role = 'test'
    ), ranked AS MATERIALIZED (
        -- per set x period x factor x horizon: average ranks (ties as scipy), and whether the
        -- period is used (min_events and variation in both), in one pass
        SELECT s.k, s.role, s.p, s.fac, s.h, s.x, s.y, s.exchange, s.symbol, s.entry_ts,
               rank() OVER w + (count(*) OVER (PARTITION BY s.k, s.role, s.p, s.fac, s.h, s.x) - 1) / 2.0 AS rx,
               rank() OVER (PARTITION BY s.k, s.role, s.p, s.fac, s.h ORDER BY s.y)
                 + (count(*) OVER (PARTITION BY s.k, s.role, s.p, s.fac, s.h, s.y) - 1) / 2.0 AS ry,
               (count(*) OVER g >= p_min_events AND stddev_pop(s.x) OVER g > 0 AND stddev_pop(s.y) OVER g > 0) AS ok
          FROM sets AS s
        WINDOW w AS (PARTITION BY s.k, s.role, s.p, s.fac, s.h ORDER BY s.x),
               g AS (PARTITION BY s.k, s.role, s.p, s.fac, s.h)
    ), per AS MATERIALIZED (
        SELECT r.k, r.role, r.fac, r.h, count(*)::integer AS n,
               floor(extract(epoch FROM r.p) / v_ps)::integer AS pn,
               CASE WHEN bool_and(r.ok) THEN corr(r.y, r.x) END AS ic,
               CASE WHEN bool_and(r.ok) THEN corr(r.ry::float8, r.rx::float8) END AS ric
          FROM ranked AS r GROUP BY r.k, r.role, r.p, r.fac, r.h
    ), used AS (
        SELECT r.k, r.role, r.fac, r.h, r.exchange, r.symbol,
               (extract(epoch FROM r.entry_ts) / (60.0 * r.h))::float8 AS tau
          FROM ranked AS r
         WHERE r.ok
    ), win AS (
        SELECT used.k, used.role, used.fac, used.h, used.tau,
               count(*) OVER bw AS a, sum(used.tau) OVER bw AS sa,
               count(*) OVER fw AS b, sum(used.tau) OVER fw AS sb,
               count(*) OVER (PARTITION BY used.k, used.role, used.fac, used.h, used.exchange, used.symbol, used.tau) AS m
          FROM used
        WINDOW bw AS (PARTITION BY used.k, used.role, used.fac, used.h, used.exchange, used.symbol ORDER BY used.tau
                      RANGE BETWEEN '1'::float8 PRECEDING AND CURRENT ROW),
               fw AS (PARTITION BY used.k, used.role, used.fac, used.h, used.exchange, used.symbol ORDER BY used.tau
                      RANGE BETWEEN CURRENT ROW AND '1'::float8 FOLLOWING)
    ), eff AS MATERIALIZED (
        -- effective events as the leaderboard counts them: 1 / (overlap weight sum) per event
        SELECT win.k, win.role, win.fac, win.h,
               sum(1 / ((win.a - (win.a * win.tau - win.sa)) + (win.b - (win.sb - win.b * win.tau)) - win.m)) AS eff
          FROM win GROUP BY 1, 2, 3, 4
    ), keys AS (
        SELECT DISTINCT per.k, per.role FROM per
    ), vd AS MATERIALIZED (
        SELECT keys.k, keys.role, v.*
          FROM keys
         CROSS JOIN LATERAL (
               SELECT array_agg(per.fac) AS f, array_agg(per.h) AS hh, array_agg(per.pn) AS pn, array_agg(per.n) AS n,
                      array_agg(per.ic) AS ic, array_agg(per.ric) AS ric
                 FROM per WHERE per.k = keys.k AND per.role = keys.role) AS a
         CROSS JOIN LATERAL (
               SELECT array_agg(eff.fac) AS f, array_agg(eff.h) AS hh, array_agg(eff.eff) AS eff,
                      array_agg(NULL::float8) AS gp
                 FROM eff WHERE eff.k = keys.k AND eff.role = keys.role) AS e
         CROSS JOIN LATERAL watchlist_data.factor_verdict(a.f, a.hh, a.pn, a.n, a.ic, a.ric, e.f, e.hh, e.eff, e.gp, e.gp,
                                                          v_pm, v_min_periods, v_min_eff) AS v
    ), tr AS (
        SELECT vd.k, vd.factor AS fac, vd.horizon_min AS h, vd.n_periods, vd.eff_events, vd.mean_rank_ic, vd.hac_t,
               vd.q_value, vd.rank,
               coalesce(vd.eligible AND vd.q_value <= v_alpha, false) AS sel
          FROM vd WHERE vd.role = 'train'
    ), te AS (
        SELECT vd.* FROM vd WHERE vd.role = 'test'
    ), bounds AS (
        SELECT DISTINCT fo.tf, fo.lo, fo.hi FROM fo
    ), pool AS (
        SELECT tr.fac, tr.h, count(*) FILTER (WHERE tr.sel)::integer AS nsel,
               CASE WHEN min(sign(tr.mean_rank_ic)) FILTER (WHERE tr.sel) = max(sign(tr.mean_rank_ic)) FILTER (WHERE tr.sel)
                    THEN min(sign(tr.mean_rank_ic)) FILTER (WHERE tr.sel) ELSE 0 END::integer AS sgn
          FROM tr GROUP BY 1, 2
    ), rw AS (
        SELECT nullif(te.k, -1) AS fold, bounds.lo, bounds.hi, te.factor, te.horizon_min,
               tr.n_periods AS tnp, tr.eff_events AS teff, tr.mean_rank_ic AS tm, tr.hac_t AS tt, tr.q_value AS tq,
               tr.rank AS trk,
               CASE WHEN te.k = -1 THEN coalesce(pool.nsel, 0) > 0 ELSE coalesce(tr.sel, false) END AS sel,
               CASE WHEN te.k = -1 THEN coalesce(pool.nsel, 0) ELSE coalesce(tr.sel, false)::integer END AS nsel,
               CASE WHEN te.k = -1 THEN coalesce(pool.sgn, 0)
                    WHEN tr.sel THEN sign(tr.mean_rank_ic)::integer ELSE 0 END AS sgn,
               te.n_periods, te.skipped_periods, te.n_events, te.eff_events, te.mean_rank_ic, te.sd_rank_ic, te.hac_lag,
               te.hac_t, te.df, te.p_value, te.ci_lo, te.ci_hi, te.eligible
          FROM te
          LEFT JOIN bounds ON bounds.tf = te.k
          LEFT JOIN tr ON tr.k = te.k AND tr.fac = te.factor AND tr.h = te.horizon_min
          LEFT JOIN pool ON pool.fac = te.factor AND pool.h = te.horizon_min
    )
    SELECT rw.fold, coalesce(rw.lo, (SELECT min(b.lo) FROM bounds AS b)), coalesce(rw.hi, (SELECT max(b.hi) FROM bounds AS b)),
           rw.factor, rw.horizon_min, rw.tnp, rw.teff, rw.tm, rw.tt, rw.tq, rw.trk,
           rw.sel, rw.nsel, rw.sgn,
           rw.n_periods, rw.skipped_periods, rw.n_events, rw.eff_events, rw.mean_rank_ic, rw.sd_rank_ic,
           rw.hac_lag, rw.hac_t, rw.df, rw.p_value, rw.ci_lo, rw.ci_hi, rw.eligible,
           coalesce(rw.sel AND rw.eligible AND ((rw.sgn > 0 AND rw.ci_lo > 0) OR (rw.sgn < 0 AND rw.ci_hi < 0)), false)
      FROM rw
     ORDER BY rw.horizon_min, rw.fold NULLS FIRST, rw.sel DESC, rw.trk NULLS LAST, rw.factor;
END
$$;
REVOKE ALL ON FUNCTION watchlist.factor_walk_forward(timestamptz, timestamptz, integer, text, interval, integer, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.factor_walk_forward(timestamptz, timestamptz, integer, text, interval, integer, text, text, text, text) TO wl_reader;
