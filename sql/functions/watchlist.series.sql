-- watchlist.series(exchange, symbol, hours, now): the app's watchlist chart (the seed's
-- /api/watchlist/series): one row per 5-minute bucket over [now - hours, now), gap-filled
-- (time_bucket_gapfill + locf over the real-time continuous aggregate, read through
-- watchlist_data.series_agg_fetch, so buckets without samples repeat the last known value
-- and the chart has no holes), with
--   spot_price, futures_price, spread_rel (bucket's last), funding_rate, funding interval,
--   next_funding_time, filled (true = no sample in the bucket: values carried forward, or
--   NULL before the window's first sample),
--   midline_15m   mean spread over the last 15 minutes (3 buckets, sample-weighted),
--   baseline      mean spread over the whole window (exact: sum of the buckets' spread sums
--                 over their sample counts),
--   markers       events opening / closing and funding times inside the bucket:
--                 [{"kind": "event_open"|"event_close"|"funding", "at": ts, "event_id", "status"}]
-- Bucket-granular: the 5-minute bucket holding p_now is included (live use: its newest
-- samples); with a historical p_now that bucket may hold samples up to 5 minutes later.
CREATE OR REPLACE FUNCTION watchlist.series(p_exchange text, p_symbol text, p_hours integer DEFAULT 12,
                                            p_now timestamptz DEFAULT now())
RETURNS TABLE (ts timestamptz, spot_price double precision, futures_price double precision,
               spread_rel double precision, funding_rate double precision, funding_interval_hours double precision,
               next_funding_time timestamptz, filled boolean, midline_15m double precision,
               baseline double precision, markers jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- The hypertables are read only through watchlist_data.series_agg_fetch, which plans its
-- read for the window's bounds on every call (a generic plan of a hypertable read would
-- hold every chunk and lock them all, deadlocking the retention policy that drops the
-- oldest); this statement (gap-filling, windows, markers from the plain event table) is
-- planned once per session: a generic plan (planning it cost as much as running it).
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_to   timestamptz := @extschema@.time_bucket(INTERVAL '5 minutes', p_now) + INTERVAL '5 minutes';
    v_from timestamptz := @extschema@.time_bucket(INTERVAL '5 minutes', p_now) + INTERVAL '5 minutes' - make_interval(hours => p_hours);
    v_wm   timestamptz := watchlist_data.series_agg_watermark();
BEGIN
    IF p_hours IS NULL OR p_hours < 1 OR p_hours > 24 * 7 THEN
        RAISE EXCEPTION 'series: hours must be between 1 and 168, got %', p_hours USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH g AS (
        SELECT @extschema@.time_bucket_gapfill(INTERVAL '5 minutes', s.bucket, v_from, v_to) AS b,
               @extschema@.locf(@extschema@.last(s.spot_price, s.at)) AS spot, @extschema@.locf(@extschema@.last(s.futures_price, s.at)) AS fut,
               @extschema@.locf(@extschema@.last(s.spread_rel, s.at)) AS spread, @extschema@.locf(@extschema@.last(s.funding_rate, s.at)) AS fr,
               @extschema@.locf(@extschema@.last(s.funding_interval_hours, s.at)) AS fih, @extschema@.locf(@extschema@.last(s.next_funding_time, s.at)) AS nft,
               sum(s.n_rows) AS n, sum(s.spread_sum) AS ssum, sum(s.spread_n) AS sn
          FROM watchlist_data.series_agg_fetch(p_exchange, p_symbol, v_from, v_to, v_wm) AS s
         GROUP BY 1
    ), m AS (
        SELECT x.b, jsonb_agg(jsonb_build_object('kind', x.kind, 'at', x.at, 'event_id', x.event_id, 'status', x.status)
                              ORDER BY x.at, x.kind) AS mk
          FROM (SELECT @extschema@.time_bucket(INTERVAL '5 minutes', e.start_ts) AS b, 'event_open' AS kind, e.start_ts AS at, e.id AS event_id, e.status
                  FROM watchlist_data.watch_signal_event AS e
                 WHERE e.exchange = p_exchange AND e.symbol = p_symbol AND e.start_ts >= v_from AND e.start_ts < v_to
                UNION ALL
                SELECT @extschema@.time_bucket(INTERVAL '5 minutes', e.end_ts), 'event_close', e.end_ts, e.id, e.status
                  FROM watchlist_data.watch_signal_event AS e
                 WHERE e.exchange = p_exchange AND e.symbol = p_symbol AND NOT e.is_open AND e.end_ts >= v_from AND e.end_ts < v_to
                UNION ALL
                SELECT DISTINCT @extschema@.time_bucket(INTERVAL '5 minutes', g.nft), 'funding', g.nft, NULL::bigint, NULL::text
                  FROM g WHERE g.nft >= v_from AND g.nft < v_to) AS x
         GROUP BY x.b
    )
    SELECT g.b, g.spot, g.fut, g.spread, g.fr, g.fih, g.nft, g.n IS NULL,
           sum(g.ssum) OVER w15 / nullif(sum(g.sn) OVER w15, 0),
           sum(g.ssum) OVER () / nullif(sum(g.sn) OVER (), 0), m.mk
      FROM g LEFT JOIN m ON m.b = g.b
    WINDOW w15 AS (ORDER BY g.b ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
     ORDER BY g.b;
END
$$;
REVOKE ALL ON FUNCTION watchlist.series(text, text, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.series(text, text, integer, timestamptz) TO wl_reader;
