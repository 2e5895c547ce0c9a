-- watchlist_data.label_barriers(): the triple-barrier label (watchlist_data.barrier_outcome)
-- of every (event, horizon) that watchlist.label_outcomes has just (re)computed; returns
-- the rows written (unchanged labels are not rewritten).
-- Contract: called by label_outcomes inside its transaction, after its fixed labels are
-- written (a barrier label references its fixed label), so it follows them: newly due,
-- recomputed on late data or a merge, dropped with them. It reads label_outcomes' temp
-- table pg_temp.wl_label, one row per candidate: event_id, exchange, symbol, t0 (the
-- event's entry_ts), horizon_min, t1 = t0 + horizon, reached, the entry row (entry_ts,
-- entry_spread, entry_buy, entry_sell), the exit row (exit_ts, exit_spread, exit_buy,
-- exit_sell), the funding over (t0, t1] (rate_sum, n_times) and the direction s.
-- Rule (spreads are fractions, as spread_rel; entry row, direction s, executable prices,
-- funding and cost are the fixed label's, see label_outcomes):
--   sigma       stddev_samp, over consecutive raw rows of the symbol with a spread in
--               (t0 - barrier_sigma_window, t0] (nothing after t0: point in time), of
--               (spread_i - spread_i-1) / sqrt(minutes between the two rows): the sd of
--               1-minute spread changes (a change across a longer step scaled by the square
--               root of its length); needs 2 changes and sigma > 0, else uncovered.
--   move(r)     s * (spread_rel of row r - entry_spread): how far the spread moved in the
--               trade's favour (negative: against it).
--   take profit the first row r in (t0, t1] with a spread and move(r) >= take_profit =
--               least(|entry_spread|, barrier_take_profit_sigma * sigma): the spread reached
--               (or crossed) zero, or moved k sigma in the trade's favour.
--   stop loss   the first such row with move(r) <= -stop_loss = -barrier_stop_sigma * sigma.
--   timeout     neither by t1: hit_ts = t1, priced at the fixed label's exit row.
--   First touch wins (k, m > 0 and sigma > 0 keep both barriers off one row).
--   pnl         10000 * (s * (exit_px - entry_px) - s * funding) - outcome_cost_bps, exit_px
--               the hit row's buy price (short) / sell price (long), else its spread_rel;
--               funding: the rates of the funding times in (t0, hit_ts] (the fixed label's
--               rule); a timeout's pnl is the fixed label's pnl exactly.
--   sign        sign(pnl): mlfinlab's get_bins label (the return at the first touch).
--   covered     the fixed label is covered and sigma is defined; else reason (the fixed
--               label's reason, or the sigma's).
CREATE OR REPLACE FUNCTION watchlist_data.label_barriers()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
    v_k       numeric  := watchlist_data.setting('barrier_take_profit_sigma')::numeric;
    v_m       numeric  := watchlist_data.setting('barrier_stop_sigma')::numeric;
    v_win     interval := watchlist_data.setting('barrier_sigma_window')::interval;
    v_max_gap interval := watchlist_data.setting('event_max_sample_gap')::interval;
    v_cost    float8   := watchlist_data.setting('outcome_cost_bps')::float8;
    v_lo      timestamptz;
    v_hi      timestamptz;
    v_n       integer;
BEGIN
    -- constant time bounds on every read of watch_signal_raw (see label_outcomes)
    SELECT min(l.t0) - v_win, max(l.t1) INTO v_lo, v_hi FROM pg_temp.wl_label AS l;
    IF v_lo IS NULL THEN RETURN 0; END IF;
    WITH c AS (
        SELECT l.*,
               l.entry_spread IS NOT NULL AND l.exit_ts IS NOT NULL AND l.reached AND l.t1 - l.exit_ts <= v_max_gap AS fixed_covered,
               CASE WHEN l.s = -1 THEN coalesce(l.entry_sell, l.entry_spread) ELSE coalesce(l.entry_buy, l.entry_spread) END AS entry_px
          FROM pg_temp.wl_label AS l
    ), sg AS (   -- sigma, point in time
        SELECT c.*, sd.sigma, least(abs(c.entry_spread), v_k::float8 * sd.sigma) AS tp, v_m::float8 * sd.sigma AS sl
          FROM c
          LEFT JOIN LATERAL (
                SELECT stddev_samp(d.chg) AS sigma
                  FROM (SELECT (r.spread_rel - lag(r.spread_rel) OVER w)
                               / sqrt(extract(epoch FROM r.ts - lag(r.ts) OVER w)::float8 / 60) AS chg
                          FROM watchlist_data.watch_signal_raw AS r
                         WHERE r.exchange = c.exchange AND r.symbol = c.symbol AND r.spread_rel IS NOT NULL
                           AND r.ts > c.t0 - v_win AND r.ts <= c.t0 AND r.ts >= v_lo AND r.ts <= v_hi
                        WINDOW w AS (ORDER BY r.ts)) AS d) AS sd ON c.fixed_covered
    ), hit AS (   -- the first touch of either horizontal barrier
        SELECT sg.*, h.ts AS hit_row_ts, h.spread_rel AS hit_spread, h.buy AS hit_buy, h.sell AS hit_sell, h.move AS hit_move
          FROM sg
          LEFT JOIN LATERAL (
                SELECT r.ts, r.spread_rel, r.best_buy_high_sell_low AS buy, r.best_sell_high_buy_low AS sell,
                       sg.s * (r.spread_rel - sg.entry_spread) AS move
                  FROM watchlist_data.watch_signal_raw AS r
                 WHERE r.exchange = sg.exchange AND r.symbol = sg.symbol AND r.spread_rel IS NOT NULL
                   AND r.ts > sg.t0 AND r.ts <= sg.t1 AND r.ts >= v_lo AND r.ts <= v_hi
                   AND (sg.s * (r.spread_rel - sg.entry_spread) >= sg.tp OR sg.s * (r.spread_rel - sg.entry_spread) <= -sg.sl)
                 ORDER BY r.ts LIMIT 1) AS h ON sg.sigma > 0
    ), priced AS (
        SELECT hit.*, sg_ok AS covered,
               CASE WHEN NOT sg_ok THEN NULL WHEN hit.hit_row_ts IS NULL THEN 'timeout'
                    WHEN hit.hit_move >= hit.tp THEN 'take_profit' ELSE 'stop_loss' END AS barrier,
               CASE WHEN hit.hit_row_ts IS NULL
                    THEN CASE WHEN hit.s = -1 THEN coalesce(hit.exit_buy, hit.exit_spread) ELSE coalesce(hit.exit_sell, hit.exit_spread) END
                    ELSE CASE WHEN hit.s = -1 THEN coalesce(hit.hit_buy, hit.hit_spread) ELSE coalesce(hit.hit_sell, hit.hit_spread) END
               END AS exit_px,
               CASE WHEN hit.hit_row_ts IS NULL THEN hit.rate_sum ELSE coalesce(fu.rate_sum, 0) END AS b_rate_sum,
               CASE WHEN hit.hit_row_ts IS NULL THEN hit.n_times ELSE coalesce(fu.n_times, 0) END AS b_n_times
          FROM hit
         CROSS JOIN LATERAL (SELECT coalesce(hit.fixed_covered AND hit.sigma > 0, false) AS sg_ok) AS ok
          LEFT JOIN LATERAL (   -- the fixed label's funding rule, up to the touch
                SELECT sum(f.rate) AS rate_sum, count(*) AS n_times
                  FROM (SELECT DISTINCT ON (r.next_funding_time) r.funding_rate AS rate
                          FROM watchlist_data.watch_signal_raw AS r
                         WHERE r.exchange = hit.exchange AND r.symbol = hit.symbol AND r.ts >= hit.t0 AND r.ts <= hit.hit_row_ts
                           AND r.ts >= v_lo AND r.ts <= v_hi AND r.next_funding_time > hit.t0
                           AND r.next_funding_time <= hit.hit_row_ts
                           AND r.ts < r.next_funding_time AND r.funding_rate IS NOT NULL
                         ORDER BY r.next_funding_time, r.ts DESC) AS f) AS fu ON hit.hit_row_ts IS NOT NULL
    ), lab AS (
        SELECT p.event_id, p.horizon_min, p.t0, p.covered, p.barrier,
               CASE WHEN p.covered THEN coalesce(p.hit_row_ts, p.t1) END AS hit_ts,
               CASE WHEN p.covered THEN p.sigma END AS sigma, CASE WHEN p.covered THEN p.tp END AS tp,
               CASE WHEN p.covered THEN p.sl END AS sl, CASE WHEN p.covered THEN p.entry_px END AS entry_px,
               CASE WHEN p.covered THEN p.exit_px END AS exit_px, CASE WHEN p.covered THEN p.b_n_times END AS b_n_times,
               CASE WHEN p.covered THEN 10000 * (p.s * (p.exit_px - p.entry_px) - p.s * p.b_rate_sum) - v_cost END AS pnl,
               CASE WHEN p.entry_spread IS NULL THEN 'no spread at or before the entry'
                    WHEN NOT p.reached THEN 'no data at or after the horizon'
                    WHEN p.exit_ts IS NULL OR p.t1 - p.exit_ts > v_max_gap THEN 'hole in the data at the horizon'
                    WHEN p.sigma IS NULL THEN 'fewer than 2 spread changes in the sigma window'
                    WHEN NOT p.sigma > 0 THEN 'no spread change in the sigma window' END AS why
          FROM priced AS p
    ), up AS (
        INSERT INTO watchlist_data.barrier_outcome AS o
               (event_id, horizon_min, entry_ts, covered, barrier, hit_ts, sigma, take_profit, stop_loss, entry_px, exit_px,
                funding_times, pnl, sign, reason, k_sigma, m_sigma, sigma_window, computed_at)
        SELECT b.event_id, b.horizon_min, b.t0, b.covered, b.barrier, b.hit_ts,
               b.sigma, b.tp, b.sl, b.entry_px, b.exit_px, b.b_n_times, b.pnl, sign(b.pnl)::smallint,
               CASE WHEN NOT b.covered THEN b.why END, v_k, v_m, v_win, now()
          FROM lab AS b
        ON CONFLICT (event_id, horizon_min) DO UPDATE
           SET entry_ts = EXCLUDED.entry_ts, covered = EXCLUDED.covered, barrier = EXCLUDED.barrier, hit_ts = EXCLUDED.hit_ts,
               sigma = EXCLUDED.sigma, take_profit = EXCLUDED.take_profit, stop_loss = EXCLUDED.stop_loss,
               entry_px = EXCLUDED.entry_px, exit_px = EXCLUDED.exit_px, funding_times = EXCLUDED.funding_times,
               pnl = EXCLUDED.pnl, sign = EXCLUDED.sign, reason = EXCLUDED.reason, k_sigma = EXCLUDED.k_sigma,
               m_sigma = EXCLUDED.m_sigma, sigma_window = EXCLUDED.sigma_window, computed_at = EXCLUDED.computed_at
         WHERE (o.entry_ts, o.covered, o.barrier, o.hit_ts, o.sigma, o.take_profit, o.stop_loss, o.entry_px, o.exit_px,
                o.funding_times, o.pnl, o.sign, o.reason, o.k_sigma, o.m_sigma, o.sigma_window)
               IS DISTINCT FROM (EXCLUDED.entry_ts, EXCLUDED.covered, EXCLUDED.barrier, EXCLUDED.hit_ts, EXCLUDED.sigma,
                                 EXCLUDED.take_profit, EXCLUDED.stop_loss, EXCLUDED.entry_px, EXCLUDED.exit_px,
                                 EXCLUDED.funding_times, EXCLUDED.pnl, EXCLUDED.sign, EXCLUDED.reason, EXCLUDED.k_sigma,
                                 EXCLUDED.m_sigma, EXCLUDED.sigma_window)
        RETURNING 1
    )
    SELECT count(*)::integer INTO v_n FROM up;
    RETURN v_n;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.label_barriers() FROM PUBLIC;
