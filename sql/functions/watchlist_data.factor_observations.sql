-- watchlist_data.factor_observations(...): the observation set of the factor lab, defined
-- once for watchlist.factor_ic_by_period and watchlist.factor_ic: one row per confirmed
-- event x factor x covered horizon, with the period (time_bucket of the event's entry_ts),
-- the factor value at its entry (watchlist.event_factors: point in time, universe as it
-- was) and the chosen outcome metric (pnl, spread_change, funding_change, max_drawdown,
-- volatility; benchmark-relative (watchlist.outcome_excess): excess_pnl (minus the mean pnl of
-- the other events entered in the same hour), excess_pnl_tod (minus the mean pnl entered at
-- the same hour of day on earlier days; both NULL without a benchmark), and group-neutral
-- excess_pnl_sector / excess_pnl_tier (pnl minus the mean pnl of the period's events of the
-- same sector / liquidity tier of watchlist_symbol_ref, unknown as one group); pnl_delay_<d>:
-- the pnl entered d minutes after the confirmation; anything else raises).
CREATE OR REPLACE FUNCTION watchlist_data.factor_observations(
    p_from timestamptz, p_to timestamptz, p_metric text, p_period interval,
    p_signal_type text, p_exchange text, p_factor text)
RETURNS TABLE (p timestamptz, fac text, h integer, exchange text, symbol text, event_id bigint,
               x double precision, y double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- pnl_delay_<d>: the pnl of a trade entered d minutes after the confirmation
    -- (watchlist.outcome_delays), the factor value still the one at the confirmation
    IF p_metric ~ '^pnl_delay_[0-9]{1,4}$' THEN
        RETURN QUERY
        SELECT @extschema@.time_bucket(p_period, f.entry_ts), f.factor, d.horizon_min, f.exchange, f.symbol, f.event_id,
               f.value, d.pnl
          FROM watchlist.event_factors(p_from, p_to, p_signal_type, p_exchange) AS f
          JOIN watchlist.outcome_delays(p_from, p_to, ARRAY[substr(p_metric, 11)::integer]) AS d
            ON d.event_id = f.event_id AND d.covered
         WHERE p_factor IS NULL OR f.factor = p_factor;
        RETURN;
    END IF;
    IF p_metric IS NULL OR p_metric NOT IN ('pnl', 'spread_change', 'funding_change', 'max_drawdown', 'volatility',
                                            'excess_pnl', 'excess_pnl_tod', 'excess_pnl_sector', 'excess_pnl_tier') THEN
        RAISE EXCEPTION 'unknown outcome metric "%" (pnl, spread_change, funding_change, max_drawdown, volatility, excess_pnl, excess_pnl_tod, excess_pnl_sector, excess_pnl_tier)', p_metric
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_metric LIKE 'excess\_%' THEN
        RETURN QUERY
        SELECT q.p, q.factor, q.horizon_min, q.exchange, q.symbol, q.event_id, q.value,
               CASE p_metric WHEN 'excess_pnl' THEN q.excess_pnl WHEN 'excess_pnl_tod' THEN q.excess_pnl_tod
                    WHEN 'excess_pnl_sector' THEN q.pnl - avg(q.pnl) OVER (PARTITION BY q.p, q.factor, q.horizon_min, q.sector)
                    ELSE q.pnl - avg(q.pnl) OVER (PARTITION BY q.p, q.factor, q.horizon_min, q.liquidity_tier) END
          FROM (SELECT @extschema@.time_bucket(p_period, f.entry_ts) AS p, f.factor, x.horizon_min, f.exchange, f.symbol, f.event_id,
                       f.value, x.pnl, x.excess_pnl, x.excess_pnl_tod, x.sector, x.liquidity_tier
                  FROM watchlist.event_factors(p_from, p_to, p_signal_type, p_exchange) AS f
                  JOIN watchlist.outcome_excess(p_from, p_to) AS x ON x.event_id = f.event_id
                 WHERE p_factor IS NULL OR f.factor = p_factor) AS q;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT @extschema@.time_bucket(p_period, f.entry_ts), f.factor, o.horizon_min, f.exchange, f.symbol, f.event_id, f.value,
           CASE p_metric WHEN 'pnl' THEN o.pnl WHEN 'spread_change' THEN o.spread_change
                         WHEN 'funding_change' THEN o.funding_change WHEN 'max_drawdown' THEN o.max_drawdown
                         ELSE o.volatility END
      FROM watchlist.event_factors(p_from, p_to, p_signal_type, p_exchange) AS f
      JOIN watchlist_data.future_outcome AS o ON o.event_id = f.event_id AND o.covered
     WHERE p_factor IS NULL OR f.factor = p_factor;
END
$$;
