-- 0007: hourly Type A window statistics, a hierarchical continuous aggregate rolled up
-- from the 5-minute one. Same sufficient statistics, with the time sums shifted from each
-- 5-minute bucket's origin to the hour's origin (off = seconds from hour start to the
-- 5-minute bucket), so that 1 h / 12 h windows roll up exactly (formulas in 0006).
CREATE MATERIALIZED VIEW watchlist_data.typea_stats_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', bucket)                                      AS bucket,
    exchange,
    symbol,
    sum(n_rows)::bigint                                                                 AS n_rows,
    sum(n_triggered)::bigint                                                            AS n_triggered,
    sum(spread_n)::bigint                                                               AS spread_n,
    sum(spread_sum)                                                             AS spread_sum,
    sum(spread_sumsq)                                                           AS spread_sumsq,
    min(spread_min)                                                             AS spread_min,
    max(spread_max)                                                             AS spread_max,
    first(spread_first, bucket) FILTER (WHERE spread_first IS NOT NULL)         AS spread_first,
    last(spread_last, bucket) FILTER (WHERE spread_last IS NOT NULL)            AS spread_last,
    sum(t_sum + spread_n * extract(epoch FROM bucket - time_bucket(INTERVAL '1 hour', bucket))::float8)
                                                                                AS t_sum,
    sum(t_sumsq
        + 2 * extract(epoch FROM bucket - time_bucket(INTERVAL '1 hour', bucket))::float8 * t_sum
        + spread_n * (extract(epoch FROM bucket - time_bucket(INTERVAL '1 hour', bucket))::float8) ^ 2)
                                                                                AS t_sumsq,
    sum(ty_sum + extract(epoch FROM bucket - time_bucket(INTERVAL '1 hour', bucket))::float8 * spread_sum)
                                                                                AS ty_sum,
    sum(funding_sum)                                                            AS funding_sum,
    sum(funding_n)::bigint                                                              AS funding_n
FROM watchlist_data.watchlist_series_agg
GROUP BY 1, 2, 3
WITH NO DATA;

-- The reader reaches this aggregate only through the API (views and functions in schema
-- watchlist), but TimescaleDB checks a continuous aggregate's privileges as the querying
-- role even behind a view owned by wl_owner (timescale/timescaledb#2955), so the reader
-- needs SELECT on it; without USAGE on watchlist_data it still cannot name it directly.
GRANT SELECT ON watchlist_data.typea_stats_1h TO wl_reader;
