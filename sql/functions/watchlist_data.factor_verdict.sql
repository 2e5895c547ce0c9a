-- watchlist_data.factor_verdict(...): the factor leaderboard's statistics, from per-period
-- IC series; one row per factor x horizon. watchlist.factor_leaderboard feeds it the
-- database's periods; bench/calibration.py and the calibration test feed it generated ones
-- (so the calibration measures this very function).
-- Period rows (parallel arrays): factor, horizon (minutes), period number (consecutive
-- integers, period start / period length; a number missing is a period without events),
-- events, Pearson IC and Spearman rank IC (NULL when the period was skipped).
-- Key rows (parallel arrays): factor, horizon, effective events, and for a categorical factor
-- the p-value and H of its group test (NULL otherwise).
-- Per factor x horizon:
--   hac_lag = ceil(horizon / period length): a label entered near a period's end runs that
--   many periods into the following ones, so ICs up to hac_lag periods apart share outcome
--   time; beyond it they do not (and the factor's own persistence is what remains).
--   (watchlist_data.hac_lag). hac_t / p_value / ci_lo / ci_hi: watchlist_data.hac_mean_test
--   of the rank IC series (Newey-West, Bartlett, that lag, fixed-b p and 95% interval);
--   ic_hac_t / ic_p_value the same for the Pearson IC.
--   test = 'rank_ic_hac', or 'kruskal_wallis' for a categorical factor (p_value is then its
--   group p-value, the IC columns NULL).
--   eligible: at least p_min_periods used periods and p_min_eff_events effective events and
--   a p-value; q_value: Benjamini-Hochberg over the eligible rows of this call;
--   rank: eligible rows by q_value, then |hac_t| (largest first); NULL for the others.
CREATE OR REPLACE FUNCTION watchlist_data.factor_verdict(
    p_fac text[], p_h integer[], p_period_no integer[], p_n_events integer[],
    p_ic double precision[], p_rank_ic double precision[],
    p_key_fac text[], p_key_h integer[], p_key_eff_events double precision[],
    p_key_group_p double precision[], p_key_group_h double precision[],
    p_period_minutes double precision, p_min_periods integer, p_min_eff_events double precision)
RETURNS TABLE (factor text, horizon_min integer, test text, n_periods integer, skipped_periods integer,
               n_events integer, eff_events double precision,
               mean_ic double precision, sd_ic double precision, icir double precision,
               mean_rank_ic double precision, sd_rank_ic double precision, rank_icir double precision,
               hac_lag integer, hac_t double precision, df double precision, kappa double precision, p_value double precision,
               ci_lo double precision, ci_hi double precision, ic_hac_t double precision, ic_p_value double precision,
               group_h double precision, eligible boolean, q_value double precision, rank integer)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_period_minutes IS NULL OR p_period_minutes <= 0 THEN
        RAISE EXCEPTION 'factor_verdict: the period length must be positive (got % minutes)', p_period_minutes
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH per AS (
        SELECT u.fac, u.h, u.pn, u.n, u.ic, u.ric
          FROM unnest(p_fac, p_h, p_period_no, p_n_events, p_ic, p_rank_ic) AS u(fac, h, pn, n, ic, ric)
    ), keys AS (
        SELECT per.fac, per.h, min(per.pn) AS lo, max(per.pn) AS hi,
               count(per.ric)::integer AS np, (count(*) - count(per.ric))::integer AS sp,
               coalesce(sum(per.n) FILTER (WHERE per.ric IS NOT NULL), 0)::integer AS ne,
               avg(per.ic) AS m, stddev_samp(per.ic) AS s, avg(per.ric) AS rm, stddev_samp(per.ric) AS rs,
               watchlist_data.hac_lag(per.h, p_period_minutes) AS lag
          FROM per GROUP BY per.fac, per.h
    ), series AS (
        -- every period number from the first to the last, NULL where nothing was used
        SELECT keys.fac, keys.h,
               array_agg(per.ic ORDER BY g.pn) AS ics, array_agg(per.ric ORDER BY g.pn) AS rics
          FROM keys
         CROSS JOIN LATERAL generate_series(keys.lo, keys.hi) AS g(pn)
          LEFT JOIN per ON per.fac = keys.fac AND per.h = keys.h AND per.pn = g.pn
         GROUP BY keys.fac, keys.h
    ), kx AS (
        SELECT u.fac, u.h, u.eff, u.gp, u.gh
          FROM unnest(p_key_fac, p_key_h, p_key_eff_events, p_key_group_p, p_key_group_h) AS u(fac, h, eff, gp, gh)
    ), st AS (
        SELECT keys.*, kx.eff, kx.gp, kx.gh, (kx.gp IS NOT NULL) AS is_group, r.t AS rt, r.df AS rdf, r.kappa AS rk, r.p_value AS rp,
               r.ci_lo AS lo95, r.ci_hi AS hi95, i.t AS it, i.p_value AS ip
          FROM keys
          JOIN series ON series.fac = keys.fac AND series.h = keys.h
          LEFT JOIN kx ON kx.fac = keys.fac AND kx.h = keys.h
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(series.rics, keys.lag) AS r
         CROSS JOIN LATERAL watchlist_data.hac_mean_test(series.ics, keys.lag) AS i
    ), el AS (
        SELECT st.*, CASE WHEN st.is_group THEN nullif(st.gp, 'NaN') ELSE st.rp END AS pv,
               (st.np >= p_min_periods AND coalesce(st.eff, 0) >= p_min_eff_events
                AND CASE WHEN st.is_group THEN nullif(st.gp, 'NaN') ELSE st.rp END IS NOT NULL) AS ok
          FROM st
    ), qa AS (
        SELECT array_agg(el.fac ORDER BY el.fac, el.h) AS f, array_agg(el.h ORDER BY el.fac, el.h) AS hh,
               watchlist_data.bh_q(array_agg(el.pv ORDER BY el.fac, el.h)) AS q
          FROM el WHERE el.ok
    ), qs AS (
        SELECT u.fac, u.h, u.q FROM qa CROSS JOIN LATERAL unnest(qa.f, qa.hh, qa.q) AS u(fac, h, q)
    )
    SELECT el.fac, el.h, CASE WHEN el.is_group THEN 'kruskal_wallis' ELSE 'rank_ic_hac' END,
           el.np, el.sp, el.ne, el.eff,
           CASE WHEN NOT el.is_group THEN el.m END, CASE WHEN NOT el.is_group THEN el.s END,
           CASE WHEN NOT el.is_group THEN el.m / nullif(el.s, 0) END,
           CASE WHEN NOT el.is_group THEN el.rm END, CASE WHEN NOT el.is_group THEN el.rs END,
           CASE WHEN NOT el.is_group THEN el.rm / nullif(el.rs, 0) END,
           el.lag,
           CASE WHEN NOT el.is_group THEN el.rt END, CASE WHEN NOT el.is_group THEN el.rdf END,
           CASE WHEN NOT el.is_group THEN el.rk END,
           el.pv,
           CASE WHEN NOT el.is_group THEN el.lo95 END, CASE WHEN NOT el.is_group THEN el.hi95 END,
           CASE WHEN NOT el.is_group THEN el.it END, CASE WHEN NOT el.is_group THEN el.ip END,
           el.gh, el.ok, qs.q,
           (CASE WHEN el.ok THEN row_number() OVER (PARTITION BY el.ok
                                                    ORDER BY qs.q, abs(CASE WHEN el.is_group THEN NULL ELSE el.rt END) DESC NULLS LAST,
                                                             el.h, el.fac) END)::integer
      FROM el LEFT JOIN qs ON qs.fac = el.fac AND qs.h = el.h
     ORDER BY 26 NULLS LAST, el.h, el.fac;
END
$$;
