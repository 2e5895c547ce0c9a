-- watchlist.outcome_delays(from, to, delays): the fixed-horizon label of each labelled
-- (confirmed event, horizon) entered in [from, to), re-priced as if the trade were entered
-- `delay` minutes after the confirmation (default 0, 1, 2 and 5): how much of an edge
-- survives the latency of a live monitor. Delay 0 is the stored label (future_outcome)
-- exactly. Only the entry moves, by d minutes (te = t0 + d): the decision (the event, its
-- factor values, and the direction s, from the spread at t0) stays at the confirmation t0.
--   entry row   the latest raw row at or before te with a spread (back to te - longest
--               horizon - event_lookback, as the labels)
--   exit row    the latest raw row in (te, tx] with a spread, tx = te + horizon (the same
--               holding period)
--   covered     the rows at t0, te and the exit exist, data reaches tx and the exit row is
--               within event_max_sample_gap of tx; else reason (the labels' reasons)
--   pnl         the labels' formula on (te, tx]: 10000 * (s * (exit_px - entry_px) - s *
--               funding of the times in (te, tx]) - outcome_cost_bps, executable prices
-- Delays: whole minutes, 0 .. 1440. Reads check their span (read_max_span).
CREATE OR REPLACE FUNCTION watchlist.outcome_delays(p_from timestamptz, p_to timestamptz,
                                                    p_delays integer[] DEFAULT '{0,1,2,5}')
RETURNS TABLE (event_id bigint, horizon_min integer, delay_min integer, entry_ts timestamptz, exit_ts timestamptz,
               covered boolean, pnl double precision, direction text, entry_px double precision,
               exit_px double precision, funding_times integer, reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
    v_max_gap interval := watchlist_data.setting('event_max_sample_gap')::interval;
    v_cost    float8   := watchlist_data.setting('outcome_cost_bps')::float8;
    v_reach   interval := watchlist_data.longest_horizon() + watchlist_data.setting('event_lookback')::interval;
    v_bad     integer;
    v_lo      timestamptz;
    v_hi      timestamptz;
BEGIN
    PERFORM watchlist_data.check_read_span('outcome_delays', p_from, p_to);
    IF p_delays IS NULL OR cardinality(p_delays) = 0 THEN
        RAISE EXCEPTION 'outcome_delays: p_delays must list at least one delay in minutes'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT d INTO v_bad FROM unnest(p_delays) AS d WHERE d IS NULL OR d < 0 OR d > 1440 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'outcome_delays: delay % is not a whole number of minutes in 0 .. 1440', coalesce(v_bad::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- constant time bounds on every read of watch_signal_raw (see label_outcomes)
    v_lo := p_from - v_reach;
    v_hi := p_to + watchlist_data.longest_horizon() + make_interval(mins => (SELECT max(d) FROM unnest(p_delays) AS d))
            + v_max_gap;
    RETURN QUERY
    WITH c AS (
        SELECT o.event_id, o.horizon_min, e.exchange, e.symbol, e.entry_ts AS t0, d.d AS delay_min,
               e.entry_ts + make_interval(mins => d.d) AS te, e.entry_ts + make_interval(mins => d.d + o.horizon_min) AS tx
          FROM watchlist_data.watch_signal_event AS e
          JOIN watchlist_data.future_outcome AS o ON o.event_id = e.id
         CROSS JOIN (SELECT DISTINCT x AS d FROM unnest(p_delays) AS x) AS d
         WHERE e.entry_ts >= p_from AND e.entry_ts < p_to AND e.status = 'confirmed'
    ), rw AS (
        SELECT c.*, de.spread AS decision_spread, en.en_ts, en.spread AS entry_spread, en.buy AS entry_buy, en.sell AS entry_sell,
               ex.ex_ts, ex.spread AS exit_spread, ex.buy AS exit_buy, ex.sell AS exit_sell,
               EXISTS (SELECT 1 FROM watchlist_data.watch_signal_raw AS r
                        WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts >= c.tx AND r.ts >= v_lo) AS reached,
               coalesce(fu.rate_sum, 0) AS rate_sum, coalesce(fu.n_times, 0) AS n_times,
               CASE WHEN de.spread >= 0 THEN -1 WHEN de.spread < 0 THEN 1 END AS s
          FROM c
          LEFT JOIN LATERAL (   -- the decision: the spread known at the confirmation
                SELECT r.spread_rel AS spread FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts <= c.t0 AND r.spread_rel IS NOT NULL
                   AND r.ts >= c.t0 - v_reach AND r.ts >= v_lo AND r.ts <= v_hi
                 ORDER BY r.ts DESC LIMIT 1) AS de ON true
          LEFT JOIN LATERAL (
                SELECT r.ts AS en_ts, r.spread_rel AS spread, r.best_buy_high_sell_low AS buy, r.best_sell_high_buy_low AS sell
                  FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts <= c.te AND r.spread_rel IS NOT NULL
                   AND r.ts >= c.te - v_reach AND r.ts >= v_lo AND r.ts <= v_hi
                 ORDER BY r.ts DESC LIMIT 1) AS en ON true
          LEFT JOIN LATERAL (
                SELECT r.ts AS ex_ts, r.spread_rel AS spread, r.best_buy_high_sell_low AS buy, r.best_sell_high_buy_low AS sell
                  FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts <= c.tx AND r.ts > c.te
                   AND r.spread_rel IS NOT NULL AND r.ts >= v_lo AND r.ts <= v_hi
                 ORDER BY r.ts DESC LIMIT 1) AS ex ON true
          LEFT JOIN LATERAL (
                SELECT sum(f.rate) AS rate_sum, count(*) AS n_times
                  FROM (SELECT DISTINCT ON (r.next_funding_time) r.funding_rate AS rate
                          FROM watchlist_data.watch_signal_raw AS r
                         WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts >= c.te AND r.ts <= c.tx
                           AND r.ts >= v_lo AND r.ts <= v_hi AND r.next_funding_time > c.te AND r.next_funding_time <= c.tx
                           AND r.ts < r.next_funding_time AND r.funding_rate IS NOT NULL
                         ORDER BY r.next_funding_time, r.ts DESC) AS f) AS fu ON true
    ), priced AS (
        SELECT w.*,
               w.decision_spread IS NOT NULL AND w.entry_spread IS NOT NULL AND w.ex_ts IS NOT NULL AND w.reached
                   AND w.tx - w.ex_ts <= v_max_gap AS ok,
               CASE WHEN w.s = -1 THEN coalesce(w.entry_sell, w.entry_spread) ELSE coalesce(w.entry_buy, w.entry_spread) END AS en_px,
               CASE WHEN w.s = -1 THEN coalesce(w.exit_buy, w.exit_spread) ELSE coalesce(w.exit_sell, w.exit_spread) END AS ex_px
          FROM rw AS w
    )
    SELECT p.event_id, p.horizon_min, p.delay_min, p.te, p.tx, p.ok,
           CASE WHEN p.ok THEN 10000 * (p.s * (p.ex_px - p.en_px) - p.s * p.rate_sum) - v_cost END,
           CASE WHEN NOT p.ok THEN NULL WHEN p.s = -1 THEN 'short_spread' ELSE 'long_spread' END,
           CASE WHEN p.ok THEN p.en_px END, CASE WHEN p.ok THEN p.ex_px END,
           CASE WHEN p.ok THEN p.n_times::integer END,
           CASE WHEN p.decision_spread IS NULL OR p.entry_spread IS NULL THEN 'no spread at or before the entry'
                WHEN NOT p.reached THEN 'no data at or after the horizon'
                WHEN p.ex_ts IS NULL OR p.tx - p.ex_ts > v_max_gap THEN 'hole in the data at the horizon' END
      FROM priced AS p
     ORDER BY p.event_id, p.horizon_min, p.delay_min;
END
$$;
REVOKE ALL ON FUNCTION watchlist.outcome_delays(timestamptz, timestamptz, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.outcome_delays(timestamptz, timestamptz, integer[]) TO wl_reader;
