-- watchlist.export_frame(from, to, signal_type, exchange): one row per confirmed event
-- entered in [from, to) x horizon, the frame shape Alphalens-style tools take: event (with
-- entry_ts, its confirmed_at: the time the factor values and the outcome trade refer to),
-- factor values at its entry (point in time, jsonb {factor: value}), and that horizon's
-- outcome, entered at entry_ts (NULLs when uncovered).
-- `wldb export` writes it as CSV or Parquet for backtests outside the database.
-- It calls watchlist_data.check_read_span, which the migrator creates after this file (repeatable
-- files run in name order): its body is checked when called, not when created.
SET LOCAL check_function_bodies = off;
DROP FUNCTION IF EXISTS watchlist.export_frame(timestamptz, timestamptz, text, text);
CREATE FUNCTION watchlist.export_frame(p_from timestamptz, p_to timestamptz,
                                                  p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL)
RETURNS TABLE (event_id bigint, exchange text, symbol text, signal_type text, start_ts timestamptz, end_ts timestamptz,
               entry_ts timestamptz, duration_sec integer, horizon_min integer, covered boolean, pnl double precision,
               spread_change double precision, funding_change double precision, max_drawdown double precision,
               volatility double precision, label jsonb, factors jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH f AS (
        SELECT x.event_id, jsonb_object_agg(x.factor, x.value) AS factors
          FROM watchlist.event_factors(p_from, p_to, p_signal_type, p_exchange) AS x GROUP BY 1
    )
    SELECT e.id, e.exchange, e.symbol, e.signal_type, e.start_ts, e.end_ts, e.entry_ts, e.duration_sec, o.horizon_min, o.covered,
           o.pnl, o.spread_change, o.funding_change, o.max_drawdown, o.volatility, o.label, f.factors
      FROM f
      JOIN watchlist_data.watch_signal_event AS e ON e.id = f.event_id
      JOIN watchlist_data.future_outcome AS o ON o.event_id = e.id
     WHERE watchlist_data.check_read_span('export_frame', p_from, p_to)   -- a one-time filter: checked first
     ORDER BY e.entry_ts, e.id, o.horizon_min
$$;
REVOKE ALL ON FUNCTION watchlist.export_frame(timestamptz, timestamptz, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.export_frame(timestamptz, timestamptz, text, text) TO wl_reader;
