-- watchlist.factor_leaderboard_by_delay(from, to, delays, period, min_events, signal_type,
-- exchange, factor): the factor lab's verdict at each entry delay, so a factor whose edge
-- vanishes with a minute of latency shows. One row per delay x factor x horizon, from
-- watchlist.factor_leaderboard (its columns, its statistics, each delay a run of its own,
-- recorded as trials) on the pnl metric: delay 0 is the leaderboard on 'pnl' (the stored
-- labels), delay d > 0 on 'pnl_delay_<d>' (watchlist.outcome_delays: entered d minutes after
-- the confirmation, factor values and direction still those at the confirmation; events
-- whose delayed trade is not covered drop out of that delay).
--   rank_ic_change   mean_rank_ic minus the same factor x horizon's at delay 0 (NULL without
--                    a delay 0 row)
-- Delays: whole minutes, 0 .. 1440 (default 0, 1, 2, 5); a delay listed twice is run once.
CREATE OR REPLACE FUNCTION watchlist.factor_leaderboard_by_delay(
    p_from timestamptz, p_to timestamptz, p_delays integer[] DEFAULT '{0,1,2,5}', p_period interval DEFAULT '1 day',
    p_min_events integer DEFAULT 5, p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL,
    p_factor text DEFAULT NULL)
RETURNS TABLE (delay_min integer, rank integer, factor text, horizon_min integer, eligible boolean,
               n_periods integer, n_events integer, eff_events double precision, mean_rank_ic double precision,
               ci_lo double precision, ci_hi double precision, hac_t double precision, p_value double precision,
               q_value double precision, discovery boolean, spread double precision, spread_t double precision,
               rank_ic_change double precision, run_id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_bad integer;
BEGIN
    IF p_delays IS NULL OR cardinality(p_delays) = 0 THEN
        RAISE EXCEPTION 'factor_leaderboard_by_delay: p_delays must list at least one delay in minutes'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT d INTO v_bad FROM unnest(p_delays) AS d WHERE d IS NULL OR d < 0 OR d > 1440 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'factor_leaderboard_by_delay: delay % is not a whole number of minutes in 0 .. 1440',
                        coalesce(v_bad::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH r AS (
        SELECT dl.d AS dm, l.*
          FROM (SELECT DISTINCT x AS d FROM unnest(p_delays) AS x) AS dl
         CROSS JOIN LATERAL watchlist.factor_leaderboard(
                p_from, p_to, CASE WHEN dl.d = 0 THEN 'pnl' ELSE 'pnl_delay_' || dl.d END, p_period, p_min_events,
                p_signal_type, p_exchange, p_factor) AS l
    )
    SELECT r.dm, r.rank, r.factor, r.horizon_min, r.eligible, r.n_periods, r.n_events, r.eff_events, r.mean_rank_ic,
           r.ci_lo, r.ci_hi, r.hac_t, r.p_value, r.q_value, r.discovery, r.spread, r.spread_t,
           r.mean_rank_ic - max(r.mean_rank_ic) FILTER (WHERE r.dm = 0) OVER (PARTITION BY r.factor, r.horizon_min),
           r.run_id
      FROM r
     ORDER BY r.factor, r.horizon_min, r.dm;
END
$$;
REVOKE ALL ON FUNCTION watchlist.factor_leaderboard_by_delay(timestamptz, timestamptz, integer[], interval, integer, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.factor_leaderboard_by_delay(timestamptz, timestamptz, integer[], interval, integer, text, text, text) TO wl_reader;
