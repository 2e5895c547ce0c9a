-- watchlist.metrics(exchange, symbol, now): the Type A statistics of the app's list page
-- (the seed's /api/watchlist/metrics), exact by rollup of the 5-minute continuous
-- aggregate's sufficient statistics over the last 1 h and 12 h of buckets (the same
-- formulas as watchlist.window_stats), plus the latest sample's values. No row when the
-- symbol has no data in the last 12 h.
--   spread_latest, type_class, funding_rate, funding_interval_hours, next_funding_time,
--   crossings_1h, drift_ratio      from the latest bucket (the monitor's own figures)
--   mean/sigma/range/slope _1h/_12h spread statistics (slope in spread units per hour)
--   zscore_12h                      (spread_latest - mean_12h) / sigma_12h
--   n_1h, n_12h                     samples behind them
-- Bucket-granular like watchlist.series: the 5-minute bucket holding p_now is included.
-- The statistics are computed by watchlist_data.typea_stats (shared with watchlist_list).
CREATE OR REPLACE FUNCTION watchlist.metrics(p_exchange text, p_symbol text, p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange text, symbol text, as_of timestamptz, type_class text, spread_latest double precision,
               mean_1h double precision, sigma_1h double precision, range_1h double precision, slope_1h double precision,
               mean_12h double precision, sigma_12h double precision, range_12h double precision, slope_12h double precision,
               zscore_12h double precision, crossings_1h integer, drift_ratio double precision,
               funding_rate double precision, funding_interval_hours double precision, next_funding_time timestamptz,
               n_1h bigint, n_12h bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_last  timestamptz := @extschema@.time_bucket(INTERVAL '5 minutes', p_now);
    v_first timestamptz := @extschema@.time_bucket(INTERVAL '5 minutes', p_now) - INTERVAL '11 hours 55 minutes';
    v_wm    timestamptz := watchlist_data.series_agg_watermark();
BEGIN
    -- planned for the window's bounds on every call (custom plans): only the chunks inside
    -- the 12 hours are in the plan and locked (see watchlist_data.typea_stats)
    RETURN QUERY SELECT * FROM watchlist_data.typea_stats(p_exchange, p_symbol, v_last, v_first, v_wm);
END
$$;
REVOKE ALL ON FUNCTION watchlist.metrics(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.metrics(text, text, timestamptz) TO wl_reader;
