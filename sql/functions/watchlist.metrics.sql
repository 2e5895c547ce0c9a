-- watchlist.metrics(exchange, symbol, now): the Type A statistics of the app's list page
-- (the seed's /api/watchlist/metrics), exact by rollup of the continuous aggregates'
-- sufficient statistics (watchlist.window_stats) over the last 1 h and 12 h of 5-minute
-- buckets, plus the latest sample's values.
--   spread_latest, type_class, funding_rate, funding_interval_hours, next_funding_time,
--   crossings_1h, drift_ratio      from the latest bucket (the monitor's own figures)
--   mean/sigma/range/slope _1h/_12h spread statistics (slope in spread units per hour)
--   zscore_12h                      (spread_latest - mean_12h) / sigma_12h
--   n_1h, n_12h                     samples behind them
-- Bucket-granular like watchlist.series: the 5-minute bucket holding p_now is included.
CREATE OR REPLACE FUNCTION watchlist.metrics(p_exchange text, p_symbol text, p_now timestamptz DEFAULT now())
RETURNS TABLE (exchange text, symbol text, as_of timestamptz, type_class text, spread_latest double precision,
               mean_1h double precision, sigma_1h double precision, range_1h double precision, slope_1h double precision,
               mean_12h double precision, sigma_12h double precision, range_12h double precision, slope_12h double precision,
               zscore_12h double precision, crossings_1h integer, drift_ratio double precision,
               funding_rate double precision, funding_interval_hours double precision, next_funding_time timestamptz,
               n_1h bigint, n_12h bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_to timestamptz := time_bucket(INTERVAL '5 minutes', p_now) + INTERVAL '5 minutes';
    a record;
    b record;
    l record;
BEGIN
    SELECT * INTO a FROM watchlist.window_stats(p_exchange, p_symbol, v_to - INTERVAL '1 hour', v_to);
    SELECT * INTO b FROM watchlist.window_stats(p_exchange, p_symbol, v_to - INTERVAL '12 hours', v_to);
    SELECT s.bucket, s.type_class, s.spread_rel, s.crossings_1h, s.drift_ratio, s.funding_rate,
           s.funding_interval_hours, s.next_funding_time
      INTO l
      FROM watchlist_data.watchlist_series_agg AS s
     WHERE s.exchange = p_exchange AND s.symbol = p_symbol AND s.bucket < v_to AND s.bucket >= v_to - INTERVAL '12 hours'
     ORDER BY s.bucket DESC LIMIT 1;
    IF l IS NULL THEN
        RETURN;   -- no data in the last 12 h: no row
    END IF;
    exchange := p_exchange; symbol := p_symbol; as_of := l.bucket; type_class := l.type_class;
    spread_latest := l.spread_rel;
    mean_1h := a.mean; sigma_1h := a.sigma; range_1h := a.range; slope_1h := a.slope_per_hour;
    mean_12h := b.mean; sigma_12h := b.sigma; range_12h := b.range; slope_12h := b.slope_per_hour;
    zscore_12h := (l.spread_rel - b.mean) / nullif(b.sigma, 0);
    crossings_1h := l.crossings_1h; drift_ratio := l.drift_ratio; funding_rate := l.funding_rate;
    funding_interval_hours := l.funding_interval_hours; next_funding_time := l.next_funding_time;
    n_1h := a.n; n_12h := b.n;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.metrics(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.metrics(text, text, timestamptz) TO wl_reader;
