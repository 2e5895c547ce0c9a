-- watchlist.window_stats(exchange, symbol, from, to): exact statistics of spread_rel over the
-- 5-minute buckets that start in [from, to), rolled up from the continuous aggregates' sufficient
-- statistics: whole hours from watchlist_data.typea_stats_1h, the ragged edges from
-- watchlist_data.watchlist_series_agg (both real-time, so the newest minutes count too).
--   n             samples with a spread
--   mean          sum / n
--   sigma         sample standard deviation, sqrt((sumsq - sum^2/n) / (n-1))
--   min, max, range (= max - min), first, last
--   slope_per_hour least-squares slope of spread_rel on time, in spread units per hour
-- Equal to the same aggregates computed over the raw rows (tested to 1e-9).
CREATE OR REPLACE FUNCTION watchlist.window_stats(
    p_exchange text, p_symbol text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (n bigint, mean double precision, sigma double precision,
               min double precision, max double precision, range double precision,
               first double precision, last double precision, slope_per_hour double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- planned for the window's bounds on every call: a generic plan (chosen after a few calls
-- in a session) would hold every chunk of the hypertables and lock them all, deadlocking
-- the retention policy that drops the oldest
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_h_from timestamptz := @extschema@.time_bucket(INTERVAL '1 hour', p_from)
                            + CASE WHEN @extschema@.time_bucket(INTERVAL '1 hour', p_from) < p_from THEN INTERVAL '1 hour' ELSE INTERVAL '0' END;
    v_h_to   timestamptz := @extschema@.time_bucket(INTERVAL '1 hour', p_to);
BEGIN
    PERFORM watchlist_data.check_read_span('window_stats', p_from, p_to);
    IF v_h_to < v_h_from THEN v_h_to := v_h_from; END IF;
    RETURN QUERY
    WITH parts AS (
        SELECT h.bucket AS b, extract(epoch FROM h.bucket - p_from)::float8 AS off,
               h.spread_n::float8 AS cnt, h.spread_sum AS sy, h.spread_sumsq AS syy,
               h.t_sum AS st, h.t_sumsq AS stt, h.ty_sum AS sty,
               h.spread_min AS lo, h.spread_max AS hi, h.spread_first AS f, h.spread_last AS l
          FROM watchlist_data.typea_stats_1h AS h
         WHERE h.exchange = p_exchange AND h.symbol = p_symbol
           AND h.bucket >= v_h_from AND h.bucket < v_h_to
        UNION ALL
        SELECT s.bucket, extract(epoch FROM s.bucket - p_from)::float8,
               s.spread_n::float8, s.spread_sum, s.spread_sumsq,
               s.t_sum, s.t_sumsq, s.ty_sum,
               s.spread_min, s.spread_max, s.spread_first, s.spread_last
          FROM watchlist_data.watchlist_series_agg AS s
         WHERE s.exchange = p_exchange AND s.symbol = p_symbol
           AND s.bucket >= p_from AND s.bucket < p_to
           AND NOT (s.bucket >= v_h_from AND s.bucket < v_h_to)
    ), sums AS (
        SELECT sum(cnt) AS nn, sum(sy) AS sy, sum(syy) AS syy,
               sum(st + cnt * off) AS st,
               sum(stt + 2 * off * st + cnt * off * off) AS stt,
               sum(sty + off * sy) AS sty,
               min(lo) AS lo, max(hi) AS hi,
               (array_agg(f ORDER BY b) FILTER (WHERE f IS NOT NULL))[1] AS f,
               (array_agg(l ORDER BY b DESC) FILTER (WHERE l IS NOT NULL))[1] AS l
          FROM parts WHERE cnt > 0
    )
    SELECT coalesce(sums.nn, 0)::bigint,
           sums.sy / nullif(sums.nn, 0),
           CASE WHEN sums.nn > 1 THEN sqrt(greatest((sums.syy - sums.sy * sums.sy / sums.nn) / (sums.nn - 1), 0)) END,
           sums.lo, sums.hi, sums.hi - sums.lo, sums.f, sums.l,
           3600 * (sums.nn * sums.sty - sums.st * sums.sy) / nullif(sums.nn * sums.stt - sums.st * sums.st, 0)
      FROM sums;
END
$$;
REVOKE ALL ON FUNCTION watchlist.window_stats(text, text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.window_stats(text, text, timestamptz, timestamptz) TO wl_reader;
