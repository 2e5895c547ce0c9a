-- watchlist.factor_ic(from, to, metric, period, min_events, signal_type, exchange, factor):
-- which factors predict outcomes, one row per factor x horizon (see factor_ic_by_period for
-- the per-period ICs it summarises):
--   n_periods / skipped_periods  periods used / skipped (too few events, no variation)
--   n_events                     events in the used periods
--   mean_ic, std_ic, ir, t_stat  Pearson IC across periods: ir = mean/std (sample std),
--                                t_stat = ir * sqrt(n_periods)
--   hit_rate                     share of used periods whose IC has the sign of mean_ic
--   mean_rank_ic, std_rank_ic, rank_ir, rank_t_stat, rank_hit_rate   the same for rank IC
--   q1 .. q5, top_minus_bottom   mean outcome by factor quintile (quintiles within each
--                                used period, ties broken by event id, pooled), and q5 - q1
--   rank_autocorr                factor rank autocorrelation (turnover): per symbol, the
--                                period's mean factor value ranked across symbols, correlated
--                                with the previous period's ranks, averaged over periods
-- Not a verdict: t_stat assumes independent periods (overlapping outcome windows make it too
-- large) and nothing here ranks; watchlist.factor_leaderboard is the ranking (docs/factor-lab.md).
-- Rows in horizon, factor order.
CREATE OR REPLACE FUNCTION watchlist.factor_ic(
    p_from timestamptz, p_to timestamptz, p_metric text DEFAULT 'pnl', p_period interval DEFAULT '1 day',
    p_min_events integer DEFAULT 5, p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL,
    p_factor text DEFAULT NULL)
RETURNS TABLE (factor text, horizon_min integer, n_periods integer, skipped_periods integer, n_events integer,
               mean_ic double precision, std_ic double precision, ir double precision, t_stat double precision,
               hit_rate double precision, mean_rank_ic double precision, std_rank_ic double precision,
               rank_ir double precision, rank_t_stat double precision, rank_hit_rate double precision,
               q1 double precision, q2 double precision, q3 double precision, q4 double precision, q5 double precision,
               top_minus_bottom double precision, rank_autocorr double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM watchlist_data.check_read_span('factor_ic', p_from, p_to);
    RETURN QUERY
    WITH per AS (
        SELECT * FROM watchlist.factor_ic_by_period(p_from, p_to, p_metric, p_period, p_min_events,
                                                    p_signal_type, p_exchange, p_factor)
    ), summ AS (
        SELECT per.factor AS fac, per.horizon_min AS h,
               count(*) FILTER (WHERE NOT per.skipped)::integer AS np,
               count(*) FILTER (WHERE per.skipped)::integer AS sp,
               coalesce(sum(per.n_events) FILTER (WHERE NOT per.skipped), 0)::integer AS ne,
               avg(per.ic) AS m, stddev_samp(per.ic) AS s,
               avg(per.rank_ic) AS rm, stddev_samp(per.rank_ic) AS rs
          FROM per GROUP BY 1, 2
    ), hits AS (
        SELECT per.factor AS fac, per.horizon_min AS h,
               avg((sign(per.ic) = sign(summ.m))::int)::float8 AS hr,
               avg((sign(per.rank_ic) = sign(summ.rm))::int)::float8 AS rhr
          FROM per JOIN summ ON summ.fac = per.factor AND summ.h = per.horizon_min
         WHERE NOT per.skipped GROUP BY 1, 2
    ), obs AS (
        SELECT * FROM watchlist_data.factor_observations(p_from, p_to, p_metric, p_period, p_signal_type, p_exchange, p_factor)
    ), used AS (
        SELECT obs.* FROM obs
          JOIN per ON per.period_start = obs.p AND per.factor = obs.fac AND per.horizon_min = obs.h AND NOT per.skipped
         WHERE obs.y IS NOT NULL
    ), quint AS (
        SELECT u.fac, u.h, ntile(5) OVER (PARTITION BY u.p, u.fac, u.h ORDER BY u.x, u.event_id) AS q, u.y FROM used AS u
    ), qs AS (
        SELECT quint.fac, quint.h,
               avg(quint.y) FILTER (WHERE q = 1) AS a1, avg(quint.y) FILTER (WHERE q = 2) AS a2,
               avg(quint.y) FILTER (WHERE q = 3) AS a3, avg(quint.y) FILTER (WHERE q = 4) AS a4,
               avg(quint.y) FILTER (WHERE q = 5) AS a5
          FROM quint GROUP BY 1, 2
    ), sym AS (
        SELECT o.p, o.fac, o.h, o.exchange, o.symbol,
               percent_rank() OVER (PARTITION BY o.p, o.fac, o.h ORDER BY avg(o.x)) AS r
          FROM obs AS o GROUP BY o.p, o.fac, o.h, o.exchange, o.symbol
    ), ac AS (
        SELECT a.fac, a.h, a.p, corr(a.r, b.r) AS c
          FROM sym AS a
          JOIN sym AS b ON b.fac = a.fac AND b.h = a.h AND b.exchange = a.exchange AND b.symbol = a.symbol
                       AND b.p = a.p - p_period
         GROUP BY 1, 2, 3
    ), acs AS (
        SELECT ac.fac, ac.h, avg(ac.c) AS c FROM ac GROUP BY 1, 2
    )
    SELECT summ.fac, summ.h, summ.np, summ.sp, summ.ne,
           summ.m, summ.s, summ.m / nullif(summ.s, 0), summ.m / nullif(summ.s, 0) * sqrt(summ.np),
           hits.hr, summ.rm, summ.rs, summ.rm / nullif(summ.rs, 0), summ.rm / nullif(summ.rs, 0) * sqrt(summ.np),
           hits.rhr, qs.a1, qs.a2, qs.a3, qs.a4, qs.a5, qs.a5 - qs.a1, acs.c
      FROM summ
      LEFT JOIN hits ON hits.fac = summ.fac AND hits.h = summ.h
      LEFT JOIN qs ON qs.fac = summ.fac AND qs.h = summ.h
      LEFT JOIN acs ON acs.fac = summ.fac AND acs.h = summ.h
     ORDER BY summ.h, summ.fac;
END
$$;
REVOKE ALL ON FUNCTION watchlist.factor_ic(timestamptz, timestamptz, text, interval, integer, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.factor_ic(timestamptz, timestamptz, text, interval, integer, text, text, text) TO wl_reader;
