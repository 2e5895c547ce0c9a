-- watchlist.series_minute(exchange, symbol, hours, now): the app's chart at 1-minute
-- resolution (the seed plan's minute-level chart), straight from the raw rows: one row per
-- minute over [now - hours, now) (the minute holding p_now included), gap-filled with
-- time_bucket_gapfill + locf like watchlist.series, with the same columns:
--   spot_price, futures_price, spread_rel (the minute's last sample), funding_rate,
--   funding_interval_hours, next_funding_time, filled (no sample in the minute),
--   midline_15m   mean spread of the samples in the last 15 minutes (this one included),
--   baseline      mean spread of the window's samples,
--   markers       event opening / closing and funding times in the minute (as in series).
-- watchlist.series (5-minute buckets from the continuous aggregate) stays the default read;
-- this one reads up to 60 raw rows an hour, so it is limited to 24 hours.
CREATE OR REPLACE FUNCTION watchlist.series_minute(p_exchange text, p_symbol text, p_hours integer DEFAULT 12,
                                                   p_now timestamptz DEFAULT now())
RETURNS TABLE (ts timestamptz, spot_price double precision, futures_price double precision,
               spread_rel double precision, funding_rate double precision, funding_interval_hours double precision,
               next_funding_time timestamptz, filled boolean, midline_15m double precision,
               baseline double precision, markers jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- planned for the window's bounds on every call: a generic plan (chosen after a few calls
-- in a session) would hold every chunk of the hypertables and lock them all, deadlocking
-- the retention policy that drops the oldest
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_to   timestamptz := @extschema@.time_bucket(INTERVAL '1 minute', p_now) + INTERVAL '1 minute';
    v_from timestamptz := @extschema@.time_bucket(INTERVAL '1 minute', p_now) + INTERVAL '1 minute' - make_interval(hours => p_hours);
BEGIN
    IF p_hours IS NULL OR p_hours < 1 OR p_hours > 24 THEN
        RAISE EXCEPTION 'series_minute: hours must be between 1 and 24, got %', p_hours USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH g AS (
        SELECT @extschema@.time_bucket_gapfill(INTERVAL '1 minute', r.ts, v_from, v_to) AS b,
               @extschema@.locf(@extschema@.last(r.spot_price, r.ts)) AS spot, @extschema@.locf(@extschema@.last(r.futures_price, r.ts)) AS fut,
               @extschema@.locf(@extschema@.last(r.spread_rel, r.ts)) AS spread, @extschema@.locf(@extschema@.last(r.funding_rate, r.ts)) AS fr,
               @extschema@.locf(@extschema@.last(r.funding_interval_hours, r.ts)) AS fih, @extschema@.locf(@extschema@.last(r.next_funding_time, r.ts)) AS nft,
               count(*) AS n, sum(r.spread_rel) AS ssum, count(r.spread_rel) AS sn
          FROM watchlist_data.watch_signal_raw AS r
         WHERE r.exchange = p_exchange AND r.symbol = p_symbol AND r.ts >= v_from AND r.ts < v_to
         GROUP BY 1
    ), m AS (
        SELECT x.b, jsonb_agg(jsonb_build_object('kind', x.kind, 'at', x.at, 'event_id', x.event_id, 'status', x.status)
                              ORDER BY x.at, x.kind) AS mk
          FROM (SELECT @extschema@.time_bucket(INTERVAL '1 minute', e.start_ts) AS b, 'event_open' AS kind, e.start_ts AS at, e.id AS event_id, e.status
                  FROM watchlist_data.watch_signal_event AS e
                 WHERE e.exchange = p_exchange AND e.symbol = p_symbol AND e.start_ts >= v_from AND e.start_ts < v_to
                UNION ALL
                SELECT @extschema@.time_bucket(INTERVAL '1 minute', e.end_ts), 'event_close', e.end_ts, e.id, e.status
                  FROM watchlist_data.watch_signal_event AS e
                 WHERE e.exchange = p_exchange AND e.symbol = p_symbol AND NOT e.is_open AND e.end_ts >= v_from AND e.end_ts < v_to
                UNION ALL
                SELECT DISTINCT @extschema@.time_bucket(INTERVAL '1 minute', g.nft), 'funding', g.nft, NULL::bigint, NULL::text
                  FROM g WHERE g.nft >= v_from AND g.nft < v_to) AS x
         GROUP BY x.b
    )
    SELECT g.b, g.spot, g.fut, g.spread, g.fr, g.fih, g.nft, g.n IS NULL,
           sum(g.ssum) OVER w15 / nullif(sum(g.sn) OVER w15, 0),
           sum(g.ssum) OVER () / nullif(sum(g.sn) OVER (), 0), m.mk
      FROM g LEFT JOIN m ON m.b = g.b
    WINDOW w15 AS (ORDER BY g.b ROWS BETWEEN 14 PRECEDING AND CURRENT ROW)
     ORDER BY g.b;
END
$$;
REVOKE ALL ON FUNCTION watchlist.series_minute(text, text, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.series_minute(text, text, integer, timestamptz) TO wl_reader;
