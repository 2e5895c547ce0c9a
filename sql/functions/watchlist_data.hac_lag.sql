-- watchlist_data.hac_lag(horizon_min, period_minutes): the Newey-West bandwidth of the factor
-- lab, ceil(horizon / period): a label entered near a period's end runs that many periods into
-- the following ones, so per-period statistics up to that many periods apart share outcome
-- time and beyond it they do not. One place for watchlist_data.factor_verdict and the
-- leaderboard's quintile statistics.
CREATE OR REPLACE FUNCTION watchlist_data.hac_lag(p_horizon_min integer, p_period_minutes double precision)
RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ceil(p_horizon_min / p_period_minutes)::integer
$$;
