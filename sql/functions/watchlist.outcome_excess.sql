-- watchlist.outcome_excess(from, to): benchmark-relative outcomes of every covered label of a
-- confirmed event entered in [from, to), computed from the stored labels (future_outcome).
-- Both benchmarks leave the event out (an event is never part of its own benchmark) and are
-- NULL when no other label qualifies; the excess is NULL with them.
--   bench_universe  mean pnl of the OTHER covered labels of the same horizon whose events were
--                   entered in [from, to) in the same hour (time_bucket 1 h of the entry
--                   time): leave-one-out, so an event alone in its hour has none
--                                                                      excess_pnl = pnl - it
--   bench_tod       point in time: mean pnl of the covered labels of the same horizon whose
--                   events were entered in [from, to) at the same UTC hour of day on an
--                   EARLIER UTC day than the event's, and whose outcome was known at the
--                   event's entry (their entry + horizon <= the event's entry; only matters
--                   for horizons over 23 h). NULL on the span's first day and whenever no
--                   earlier day has such a label (the unconditional trade at that time of day,
--                   as a live system could have known it)
--                                                                      excess_pnl_tod = pnl - it
--   sector, liquidity_tier  from watchlist_symbol_ref (NULL when unknown), for group-neutral IC
--                   (watchlist_data.factor_observations, metrics excess_pnl_sector / _tier)
-- The entry time is the event's entry_ts (its confirmed_at), as in watchlist.event_factors.
CREATE OR REPLACE FUNCTION watchlist.outcome_excess(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (event_id bigint, horizon_min integer, entry_ts timestamptz, exchange text, symbol text,
               sector text, liquidity_tier smallint, pnl double precision,
               bench_universe double precision, excess_pnl double precision,
               bench_tod double precision, excess_pnl_tod double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM watchlist_data.check_read_span('outcome_excess', p_from, p_to);
    RETURN QUERY
    WITH o AS (
        SELECT e.id, o.horizon_min AS h, e.entry_ts, e.exchange, e.symbol, o.pnl,
               date_trunc('day', e.entry_ts, 'UTC') AS d,
               extract(hour FROM e.entry_ts AT TIME ZONE 'UTC')::int AS hod
          FROM watchlist_data.watch_signal_event AS e
          JOIN watchlist_data.future_outcome AS o ON o.event_id = e.id AND o.covered AND o.pnl IS NOT NULL
         WHERE e.status = 'confirmed' AND e.entry_ts >= p_from AND e.entry_ts < p_to
    ), daily AS (
        -- per (horizon, hour of day, day): the day's labels, then running totals over the
        -- days strictly before it
        SELECT x.h, x.hod, x.d,
               sum(sum(x.pnl)) OVER w - sum(x.pnl) AS s_before,
               sum(count(*)) OVER w - count(*) AS n_before
          FROM o AS x
         GROUP BY x.h, x.hod, x.d
        WINDOW w AS (PARTITION BY x.h, x.hod ORDER BY x.d ROWS UNBOUNDED PRECEDING)
    ), b AS (
        SELECT o.*,
               sum(o.pnl) OVER (PARTITION BY o.h, @extschema@.time_bucket(INTERVAL '1 hour', o.entry_ts)) - o.pnl AS s_hour,
               count(*) OVER (PARTITION BY o.h, @extschema@.time_bucket(INTERVAL '1 hour', o.entry_ts)) - 1 AS n_hour
          FROM o
    ), t AS (
        -- earlier days' labels not yet known at the entry (entry + horizon > this entry)
        -- are taken back out: only the previous day can hold one (horizons are <= 24 h)
        SELECT b.*, dy.s_before - coalesce(late.s, 0) AS s_tod, dy.n_before - coalesce(late.n, 0) AS n_tod
          FROM b
          JOIN daily AS dy ON dy.h = b.h AND dy.hod = b.hod AND dy.d = b.d
          LEFT JOIN LATERAL (
                SELECT sum(p.pnl) AS s, count(*) AS n FROM o AS p
                 WHERE b.h > 1380 AND p.h = b.h AND p.hod = b.hod AND p.d < b.d
                   AND p.entry_ts + make_interval(mins => p.h) > b.entry_ts) AS late ON true
    )
    SELECT t.id, t.h, t.entry_ts, t.exchange, t.symbol, s.sector, s.liquidity_tier, t.pnl,
           t.s_hour / nullif(t.n_hour, 0), t.pnl - t.s_hour / nullif(t.n_hour, 0),
           t.s_tod / nullif(t.n_tod, 0), t.pnl - t.s_tod / nullif(t.n_tod, 0)
      FROM t
      LEFT JOIN watchlist_data.watchlist_symbol_ref AS s ON s.exchange = t.exchange AND s.symbol = t.symbol
     ORDER BY t.entry_ts, t.id, t.h;
END
$$;
REVOKE ALL ON FUNCTION watchlist.outcome_excess(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.outcome_excess(timestamptz, timestamptz) TO wl_reader;
