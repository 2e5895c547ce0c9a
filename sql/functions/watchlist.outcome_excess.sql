-- watchlist.outcome_excess(from, to): benchmark-relative outcomes of every covered label of a
-- confirmed event entered in [from, to), computed from the stored labels (future_outcome):
--   bench_universe  mean pnl of the same horizon's labels over the universe entered in the
--                   same hour (time_bucket 1 h of the entry time)      excess_pnl = pnl - it
--   bench_tod       mean pnl of the same horizon's labels entered at the same UTC hour of day
--                   over [from, to) (the unconditional trade at that time of day)
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
        SELECT e.id, o.horizon_min AS h, e.entry_ts, e.exchange, e.symbol, o.pnl
          FROM watchlist_data.watch_signal_event AS e
          JOIN watchlist_data.future_outcome AS o ON o.event_id = e.id AND o.covered AND o.pnl IS NOT NULL
         WHERE e.status = 'confirmed' AND e.entry_ts >= p_from AND e.entry_ts < p_to
    ), b AS (
        SELECT o.*,
               avg(o.pnl) OVER (PARTITION BY o.h, @extschema@.time_bucket(INTERVAL '1 hour', o.entry_ts)) AS bu,
               avg(o.pnl) OVER (PARTITION BY o.h, extract(hour FROM o.entry_ts AT TIME ZONE 'UTC')) AS bt
          FROM o
    )
    SELECT b.id, b.h, b.entry_ts, b.exchange, b.symbol, s.sector, s.liquidity_tier, b.pnl,
           b.bu, b.pnl - b.bu, b.bt, b.pnl - b.bt
      FROM b
      LEFT JOIN watchlist_data.watchlist_symbol_ref AS s ON s.exchange = b.exchange AND s.symbol = b.symbol
     ORDER BY b.entry_ts, b.id, b.h;
END
$$;
REVOKE ALL ON FUNCTION watchlist.outcome_excess(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.outcome_excess(timestamptz, timestamptz) TO wl_reader;
