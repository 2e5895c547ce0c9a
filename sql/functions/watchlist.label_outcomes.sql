-- watchlist.label_outcomes(p_now, p_event_ids): write future_outcome labels — what
-- happened after each confirmed event, at every horizon of setting outcome_horizons_min.
-- Without p_event_ids it labels every (event, horizon) not labelled yet whose horizon has
-- passed (only events entered after p_started_after, when given; only horizons that
-- fell due after p_due_after, when given: the outcome job passes its previous reach so it
-- looks at the newly due (event, horizon) pairs only, through the entry_ts index); with
-- p_event_ids it (re)computes those events' labels (late data). p_quantiles = false skips
-- the quintile update (the job assigns quintiles itself, see label_outcomes_incremental).
--
-- Definitions (spreads are fractions, as spread_rel; t0 = the event's entry_ts, i.e. its
-- confirmed_at: the first moment a live system knows the event (see merge_events); the
-- trade cannot be entered at start_ts, which is known to be an event only later;
-- t1 = t0 + horizon):
--   entry row   the latest raw row of (exchange, symbol) at or before t0 with a spread
--               (looked for back to t0 - longest horizon - event_lookback):
--               nothing after t0 is used for the entry (no look-ahead).
--   exit row    the latest raw row at or before t1 with a spread.
--   written     once raw data of the symbol reaches t1 (a row at or after t1), or, when it
--               never does, once p_now passes t1 + event_lookback: then covered = false.
--   covered     entry and exit rows exist and the exit row is within event_max_sample_gap
--               of t1; an uncovered row carries no numbers, only label.reason.
--   direction   a convergence trade: short the spread when the entry spread >= 0 (sell
--               perp, buy spot), long it when < 0; s = -1 short, +1 long.
--   prices      executable where the row has them: selling the spread fills at
--               best_sell_high_buy_low, buying it at best_buy_high_sell_low (same signed
--               convention as spread_rel); else spread_rel.
--               entry_px = sell price (short) / buy price (long) of the entry row,
--               exit_px  = buy price (short) / sell price (long) of the exit row.
--   funding     for each funding time T with t0 < T <= t1 (the next_funding_time values of
--               the rows in [t0, t1], so the row's own interval, not an assumed 8 h), the
--               rate of the last row before T; the perp leg (long when s = +1) receives
--               -s * rate.
--   pnl         bps: 10000 * (s * (exit_px - entry_px) - s * sum(funding rates)) - outcome_cost_bps
--   spread_change   exit spread_rel - entry spread_rel (fraction)
--   funding_change  exit funding_rate - entry funding_rate (fraction per interval)
--   max_drawdown    bps, >= 0: worst adverse excursion of the spread leg marked at
--                   spread_rel over the rows in (t0, t1]: 10000 * max(0, -min(s * (spread - entry_px)))
--   volatility      stddev_samp of spread_rel over the rows in (t0, t1] (fraction)
--   entry_ts    column: t0 the label was computed for (the merge drops labels whose event's
--               entry moved since)
--   label       {"sign": -1|0|1 of pnl, "direction", "entry_px", "exit_px", "funding_times",
--                "quantile": 1..5 quintile of pnl among covered labels of the same horizon
--                whose events were entered the same UTC day (recomputed as the day fills)};
--               uncovered: {"reason"}
-- Each label's triple-barrier label: watchlist_data.label_barriers (same candidates).
-- Idempotent: unchanged labels are not rewritten.
DROP FUNCTION IF EXISTS watchlist.label_outcomes(timestamptz, bigint[]);
DROP FUNCTION IF EXISTS watchlist.label_outcomes(timestamptz, bigint[], timestamptz);
CREATE OR REPLACE FUNCTION watchlist.label_outcomes(p_now timestamptz DEFAULT now(), p_event_ids bigint[] DEFAULT NULL,
                                                    p_started_after timestamptz DEFAULT NULL,
                                                    p_due_after timestamptz DEFAULT NULL, p_quantiles boolean DEFAULT true)
RETURNS TABLE (candidates integer, written integer, uncovered integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
    v_max_gap        interval := watchlist_data.setting('event_max_sample_gap')::interval;
    v_grace    interval := watchlist_data.setting('event_lookback')::interval;
    v_cost     float8   := watchlist_data.setting('outcome_cost_bps')::float8;
    v_horizons int[]    := watchlist_data.setting('outcome_horizons_min')::int[];
    v_reach    interval := watchlist_data.longest_horizon() + watchlist_data.setting('event_lookback')::interval;
    v_lo       timestamptz;
    v_hi       timestamptz;
BEGIN
    -- Serialised with the event merge (its job lock, to the end of the transaction; the
    -- merge never waits for this one, so no cycle): the merge deletes and re-creates events,
    -- and a label for an event it deleted after the candidates were read would fail this
    -- whole statement on future_outcome's foreign key. Waiting for a running merge (a
    -- fraction of a second each minute) is cheaper than a failed run.
    PERFORM watchlist_data.take_job_lock('merge_events');
    -- The candidates first, so that every read of watch_signal_raw below carries constant
    -- time bounds (v_lo, v_hi): the planner then leaves chunks outside them out of the plan
    -- and never locks them (a lock on a chunk the retention policy is dropping deadlocks it).
    DROP TABLE IF EXISTS pg_temp.wl_cand;
    CREATE TEMP TABLE wl_cand ON COMMIT DROP AS
        SELECT e.id AS event_id, e.exchange, e.symbol, e.entry_ts AS t0, h AS horizon_min,
               e.entry_ts + make_interval(mins => h) AS t1
          FROM watchlist_data.watch_signal_event AS e
         CROSS JOIN unnest(v_horizons) AS h
         WHERE e.status = 'confirmed' AND e.entry_ts IS NOT NULL
           AND e.entry_ts <= p_now - make_interval(mins => h)
           AND e.entry_ts > coalesce(p_due_after, '-infinity') - make_interval(mins => h)
           AND (p_started_after IS NULL OR p_event_ids IS NOT NULL OR e.entry_ts > p_started_after)
           AND CASE WHEN p_event_ids IS NULL
                    THEN NOT EXISTS (SELECT 1 FROM watchlist_data.future_outcome AS o
                                      WHERE o.event_id = e.id AND o.horizon_min = h
                                     OFFSET 0)  -- a probe per candidate, not a hash of every label
                    ELSE e.id = ANY (p_event_ids) END;
    SELECT min(c.t0) - v_reach, max(c.t1) INTO v_lo, v_hi FROM wl_cand AS c;
    -- only the candidates to be written now (data reached t1, or the grace period is
    -- over) get their rows read; OFFSET 0 keeps the subquery whole, so its probe runs once
    -- per candidate (flattened, the planner copied it into the filter and the output: two)
    DROP TABLE IF EXISTS pg_temp.wl_cand_due;
    CREATE TEMP TABLE wl_cand_due ON COMMIT DROP AS
    SELECT x.* FROM (
        SELECT c.*, EXISTS (SELECT 1 FROM watchlist_data.watch_signal_raw AS r
                             WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts >= c.t1 AND r.ts >= v_lo) AS reached
          FROM wl_cand AS c
        OFFSET 0) AS x
     WHERE x.reached OR p_now > x.t1 + v_grace;
    DROP TABLE IF EXISTS pg_temp.wl_label;
    CREATE TEMP TABLE wl_label ON COMMIT DROP AS
    SELECT c.*, en.entry_ts, en.entry_spread, en.entry_funding, en.entry_buy, en.entry_sell,
           ex.exit_ts, ex.exit_spread, ex.exit_funding, ex.exit_buy, ex.exit_sell,
           pa.n_path, pa.vol, pa.lo, pa.hi,
           coalesce(fu.rate_sum, 0) AS rate_sum, coalesce(fu.n_times, 0) AS n_times,
           CASE WHEN en.entry_spread >= 0 THEN -1 WHEN en.entry_spread < 0 THEN 1 END AS s
      FROM wl_cand_due AS c
      LEFT JOIN LATERAL (
            SELECT r.ts AS entry_ts, r.spread_rel AS entry_spread, r.funding_rate AS entry_funding,
                   r.best_buy_high_sell_low AS entry_buy, r.best_sell_high_buy_low AS entry_sell
              FROM watchlist_data.watch_signal_raw AS r
             WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts <= c.t0 AND r.spread_rel IS NOT NULL
               AND r.ts >= c.t0 - v_reach AND r.ts >= v_lo AND r.ts <= v_hi
             ORDER BY r.ts DESC LIMIT 1) AS en ON true
      LEFT JOIN LATERAL (
            SELECT r.ts AS exit_ts, r.spread_rel AS exit_spread, r.funding_rate AS exit_funding,
                   r.best_buy_high_sell_low AS exit_buy, r.best_sell_high_buy_low AS exit_sell
              FROM watchlist_data.watch_signal_raw AS r
             WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts <= c.t1 AND r.ts > c.t0
               AND r.spread_rel IS NOT NULL AND r.ts >= v_lo AND r.ts <= v_hi
             ORDER BY r.ts DESC LIMIT 1) AS ex ON true
      LEFT JOIN LATERAL (
            SELECT count(r.spread_rel) AS n_path, stddev_samp(r.spread_rel) AS vol,
                   min(r.spread_rel) AS lo, max(r.spread_rel) AS hi
              FROM watchlist_data.watch_signal_raw AS r
             WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts > c.t0 AND r.ts <= c.t1
               AND r.ts >= v_lo AND r.ts <= v_hi) AS pa ON true
      LEFT JOIN LATERAL (
            SELECT sum(f.rate) AS rate_sum, count(*) AS n_times
              FROM (SELECT DISTINCT ON (r.next_funding_time) r.funding_rate AS rate
                      FROM watchlist_data.watch_signal_raw AS r
                     WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.ts >= c.t0 AND r.ts <= c.t1
                       AND r.ts >= v_lo AND r.ts <= v_hi AND r.next_funding_time > c.t0 AND r.next_funding_time <= c.t1
                       AND r.ts < r.next_funding_time AND r.funding_rate IS NOT NULL
                     ORDER BY r.next_funding_time, r.ts DESC) AS f) AS fu ON true;

    GET DIAGNOSTICS candidates = ROW_COUNT;

    WITH priced AS (
        SELECT l.*,
               l.entry_spread IS NOT NULL AND l.exit_ts IS NOT NULL AND l.reached AND l.t1 - l.exit_ts <= v_max_gap AS covered,
               CASE WHEN l.s = -1 THEN coalesce(l.entry_sell, l.entry_spread) ELSE coalesce(l.entry_buy, l.entry_spread) END AS entry_px,
               CASE WHEN l.s = -1 THEN coalesce(l.exit_buy, l.exit_spread) ELSE coalesce(l.exit_sell, l.exit_spread) END AS exit_px
          FROM wl_label AS l
    ), metrics AS (
        SELECT p.event_id, p.horizon_min, p.covered, p.t0,
               CASE WHEN p.covered THEN 10000 * (p.s * (p.exit_px - p.entry_px) - p.s * p.rate_sum) - v_cost END AS pnl,
               CASE WHEN p.covered THEN p.exit_spread - p.entry_spread END AS spread_change,
               CASE WHEN p.covered THEN p.exit_funding - p.entry_funding END AS funding_change,
               CASE WHEN p.covered THEN 10000 * greatest(0, CASE WHEN p.s = -1 THEN p.hi - p.entry_px ELSE p.entry_px - p.lo END) END AS max_drawdown,
               CASE WHEN p.covered THEN coalesce(p.vol, 0) END AS volatility,
               p.s, p.entry_px, p.exit_px, p.n_times,
               CASE WHEN p.entry_spread IS NULL THEN 'no spread at or before the entry'
                    WHEN NOT p.reached THEN 'no data at or after the horizon'
                    WHEN p.exit_ts IS NULL OR p.t1 - p.exit_ts > v_max_gap THEN 'hole in the data at the horizon' END AS why
          FROM priced AS p
    ), up AS (
        INSERT INTO watchlist_data.future_outcome AS o
               (event_id, horizon_min, covered, pnl, spread_change, funding_change, max_drawdown, volatility, label, computed_at,
                entry_ts)
        SELECT m.event_id, m.horizon_min, m.covered, m.pnl, m.spread_change, m.funding_change, m.max_drawdown, m.volatility,
               CASE WHEN m.covered
                    THEN jsonb_build_object('sign', sign(m.pnl)::int,
                                            'direction', CASE WHEN m.s = -1 THEN 'short_spread' ELSE 'long_spread' END,
                                            'entry_px', m.entry_px, 'exit_px', m.exit_px, 'funding_times', m.n_times)
                    ELSE jsonb_build_object('reason', m.why) END,
               now(), m.t0
          FROM metrics AS m
        ON CONFLICT (event_id, horizon_min) DO UPDATE
           SET covered = EXCLUDED.covered, pnl = EXCLUDED.pnl, spread_change = EXCLUDED.spread_change,
               funding_change = EXCLUDED.funding_change, max_drawdown = EXCLUDED.max_drawdown,
               volatility = EXCLUDED.volatility, label = EXCLUDED.label || (o.label - ARRAY['sign', 'direction', 'entry_px', 'exit_px', 'funding_times', 'reason']),
               computed_at = EXCLUDED.computed_at, entry_ts = EXCLUDED.entry_ts
         WHERE (o.covered, o.pnl, o.spread_change, o.funding_change, o.max_drawdown, o.volatility, o.label - 'quantile', o.entry_ts)
               IS DISTINCT FROM (EXCLUDED.covered, EXCLUDED.pnl, EXCLUDED.spread_change, EXCLUDED.funding_change,
                                 EXCLUDED.max_drawdown, EXCLUDED.volatility, EXCLUDED.label, EXCLUDED.entry_ts)
        RETURNING o.event_id, o.horizon_min, o.covered
    )
    SELECT count(*)::integer, count(*) FILTER (WHERE NOT up.covered)::integer INTO written, uncovered FROM up;
    PERFORM watchlist_data.label_barriers();   -- the barrier labels of the same candidates (wl_label)

    -- Quintiles of pnl per (horizon, UTC day of the event's entry), for the days touched.
    IF NOT p_quantiles THEN RETURN NEXT; RETURN; END IF;
    WITH days AS (
        SELECT DISTINCT l.horizon_min, date_trunc('day', l.t0, 'UTC') AS d FROM wl_label AS l
    ), q AS (
        SELECT o.id, ntile(5) OVER (PARTITION BY o.horizon_min, date_trunc('day', e.entry_ts, 'UTC') ORDER BY o.pnl, o.event_id) AS quintile
          FROM watchlist_data.future_outcome AS o
          JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id
          JOIN days ON days.horizon_min = o.horizon_min
           AND e.entry_ts >= days.d AND e.entry_ts < days.d + INTERVAL '24 hours'
         WHERE o.covered
    )
    UPDATE watchlist_data.future_outcome AS o SET label = o.label || jsonb_build_object('quantile', q.quintile)
      FROM q WHERE q.id = o.id AND (o.label -> 'quantile') IS DISTINCT FROM to_jsonb(q.quintile);
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.label_outcomes(timestamptz, bigint[], timestamptz, timestamptz, boolean) FROM PUBLIC;
