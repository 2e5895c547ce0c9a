-- watchlist_data.typea_stats(exchange, symbol, last, first, watermark): the body of
-- watchlist.metrics (see there for the columns) at a time now: last =
-- time_bucket('5 minutes', now), the bucket holding now, first = last - 11 h 55 min, the
-- first of the 144 buckets of 12 h, watermark = watchlist_data.series_agg_watermark().
-- The callers compute all three as plain values: the planner then excludes the chunks
-- outside them (of the aggregate and of the raw rows its real-time part reads) and never
-- locks them; from an expression of now it would plan, and lock, every chunk.
-- A plain SQL function: no SECURITY DEFINER, no SET, one SELECT,
-- so PostgreSQL inlines it into the calling query. watchlist.metrics calls it for one key;
-- watchlist.watchlist_list joins it LATERAL to every member, so each member's 144 buckets
-- are read through the aggregates' (exchange, symbol, bucket) indexes in one plan.
-- Private (schema watchlist_data): reached only through those SECURITY DEFINER functions.
DROP FUNCTION IF EXISTS watchlist_data.typea_stats(text, text, timestamptz);
DROP FUNCTION IF EXISTS watchlist_data.typea_stats(text, text, timestamptz, timestamptz);
CREATE OR REPLACE FUNCTION watchlist_data.typea_stats(p_exchange text, p_symbol text, p_last timestamptz, p_first timestamptz,
                                                     p_wm timestamptz)
RETURNS TABLE (exchange text, symbol text, as_of timestamptz, type_class text, spread_latest double precision,
               mean_1h double precision, sigma_1h double precision, range_1h double precision, slope_1h double precision,
               mean_12h double precision, sigma_12h double precision, range_12h double precision, slope_12h double precision,
               zscore_12h double precision, crossings_1h integer, drift_ratio double precision,
               funding_rate double precision, funding_interval_hours double precision, next_funding_time timestamptz,
               n_1h bigint, n_12h bigint)
LANGUAGE sql STABLE
AS $$
    -- One pass over the 144 five-minute buckets of the last 12 h, one aggregate: the 1 h
    -- figures are the last 12 of them (FILTER), the latest bucket's own values come from
    -- last(value, at) (its latest row), so no second scan or sort of the buckets; the raw
    -- tail above the watermark enters row by row (watchlist_data.series_agg_rows), not
    -- grouped into buckets first. Sufficient statistics as in watchlist.window_stats (time sums shifted to a
    -- common origin, the window start). Only the columns used (the aggregate's rows are
    -- wide: its jsonb columns would be copied for nothing). Rows without a spread add
    -- 0 to n and NULL (ignored) to every sum, min and max, so they need no filter. No
    -- buckets: no row.
    SELECT p_exchange, p_symbol, w.as_of, w.type_class, w.spread_latest,
           w.sy1 / nullif(w.n1, 0),
           CASE WHEN w.n1 > 1 THEN sqrt(greatest((w.syy1 - w.sy1 * w.sy1 / w.n1) / (w.n1 - 1), 0)) END,
           w.hi1 - w.lo1,
           3600 * (w.n1 * w.sty1 - w.st1 * w.sy1) / nullif(w.n1 * w.stt1 - w.st1 * w.st1, 0),
           w.sy / nullif(w.n, 0),
           CASE WHEN w.n > 1 THEN sqrt(greatest((w.syy - w.sy * w.sy / w.n) / (w.n - 1), 0)) END,
           w.hi - w.lo,
           3600 * (w.n * w.sty - w.st * w.sy) / nullif(w.n * w.stt - w.st * w.st, 0),
           (w.spread_latest - w.sy / nullif(w.n, 0))
               / nullif(CASE WHEN w.n > 1 THEN sqrt(greatest((w.syy - w.sy * w.sy / w.n) / (w.n - 1), 0)) END, 0),
           w.crossings_1h, w.drift_ratio, w.funding_rate, w.funding_interval_hours, w.next_funding_time,
           coalesce(w.n1, 0)::bigint, coalesce(w.n, 0)::bigint
      FROM (
        SELECT count(*) AS buckets, max(b.bucket) AS as_of,
               @extschema@.last(b.type_class, b.at) AS type_class, @extschema@.last(b.spread_rel, b.at) AS spread_latest,
               @extschema@.last(b.crossings_1h, b.at) AS crossings_1h, @extschema@.last(b.drift_ratio, b.at) AS drift_ratio,
               @extschema@.last(b.funding_rate, b.at) AS funding_rate,
               @extschema@.last(b.funding_interval_hours, b.at) AS funding_interval_hours,
               @extschema@.last(b.next_funding_time, b.at) AS next_funding_time,
               sum(b.spread_n)::float8 AS n,
               sum(b.spread_sum) AS sy,
               sum(b.spread_sumsq) AS syy,
               sum(b.t_sum + b.spread_n * b.off) AS st,
               sum(b.t_sumsq + 2 * b.off * b.t_sum + b.spread_n * b.off * b.off) AS stt,
               sum(b.ty_sum + b.off * b.spread_sum) AS sty,
               min(b.spread_min) AS lo, max(b.spread_max) AS hi,
               sum(b.spread_n) FILTER (WHERE b.in_1h)::float8 AS n1,
               sum(b.spread_sum) FILTER (WHERE b.in_1h) AS sy1,
               sum(b.spread_sumsq) FILTER (WHERE b.in_1h) AS syy1,
               sum(b.t_sum + b.spread_n * b.off) FILTER (WHERE b.in_1h) AS st1,
               sum(b.t_sumsq + 2 * b.off * b.t_sum + b.spread_n * b.off * b.off) FILTER (WHERE b.in_1h) AS stt1,
               sum(b.ty_sum + b.off * b.spread_sum) FILTER (WHERE b.in_1h) AS sty1,
               min(b.spread_min) FILTER (WHERE b.in_1h) AS lo1,
               max(b.spread_max) FILTER (WHERE b.in_1h) AS hi1
          FROM (SELECT s.bucket, s.at, s.type_class, s.spread_rel, s.crossings_1h, s.drift_ratio, s.funding_rate,
                       s.funding_interval_hours, s.next_funding_time, s.spread_n, s.spread_sum, s.spread_sumsq,
                       s.t_sum, s.t_sumsq, s.ty_sum, s.spread_min, s.spread_max,
                       date_part('epoch', s.bucket - p_first) AS off,  -- float8 (extract() is numeric: slower)
                       s.bucket >= p_last - INTERVAL '55 minutes' AS in_1h
                  FROM watchlist_data.series_agg_rows(p_exchange, p_symbol, p_first, p_last + INTERVAL '5 minutes', p_wm) AS s
               ) AS b
      ) AS w
     WHERE w.buckets > 0
$$;
REVOKE ALL ON FUNCTION watchlist_data.typea_stats(text, text, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
