-- 0006: the 5-minute series behind the app's 12 h chart, and the sufficient statistics
-- of the spread from which any window (1 h, 12 h, ...) gets exact mean, sigma, range and
-- slope by rollup:
--   n = sum(spread_n), mean = sum(spread_sum)/n,
--   sigma^2 = (sum(spread_sumsq) - sum(spread_sum)^2/n) / (n-1)       (sample variance)
--   slope of spread on time, least squares, with tau = seconds since the bucket start:
--     shift each bucket's tau sums to a common origin (off = bucket - origin in seconds):
--       St = t_sum + n*off, Stt = t_sumsq + 2*off*t_sum + n*off^2, Sty = ty_sum + off*spread_sum
--     slope = (n*Sty - St*Sy) / (n*Stt - St^2)   [spread units per second]
-- Created WITH NO DATA inside the migration's transaction (allowed); materialisation is
-- the refresh policy's job (sql/policies/), and real-time aggregation serves buckets
-- newer than the last refresh, so the chart is fresh without a refresh in a transaction.
CREATE MATERIALIZED VIEW watchlist_data.watchlist_series_agg
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '5 minutes', ts)                                   AS bucket,
    exchange,
    symbol,
    count(*)                                                                AS n_rows,
    count(*) FILTER (WHERE triggered)                                       AS n_triggered,
    last(signal_type, ts)                                                   AS signal_type,
    last(type_class, ts)                                                    AS type_class,
    last(spot_price, ts)                                                    AS spot_price,
    last(futures_price, ts)                                                 AS futures_price,
    last(spread_rel, ts)                                                    AS spread_rel,
    last(funding_rate, ts)                                                  AS funding_rate,
    last(funding_interval_hours, ts)                                        AS funding_interval_hours,
    last(next_funding_time, ts)                                             AS next_funding_time,
    last(crossings_1h, ts)                                                  AS crossings_1h,
    last(drift_ratio, ts)                                                   AS drift_ratio,
    last(slope_3m, ts)                                                      AS slope_3m,
    -- sufficient statistics of spread_rel (rows with a spread only)
    count(spread_rel)                                                       AS spread_n,
    sum(spread_rel)                                                         AS spread_sum,
    sum(spread_rel * spread_rel)                                            AS spread_sumsq,
    min(spread_rel)                                                         AS spread_min,
    max(spread_rel)                                                         AS spread_max,
    first(spread_rel, ts) FILTER (WHERE spread_rel IS NOT NULL)             AS spread_first,
    last(spread_rel, ts) FILTER (WHERE spread_rel IS NOT NULL)              AS spread_last,
    sum(extract(epoch FROM ts - time_bucket(INTERVAL '5 minutes', ts))::float8)
        FILTER (WHERE spread_rel IS NOT NULL)                               AS t_sum,
    sum((extract(epoch FROM ts - time_bucket(INTERVAL '5 minutes', ts))::float8) ^ 2)
        FILTER (WHERE spread_rel IS NOT NULL)                               AS t_sumsq,
    sum(extract(epoch FROM ts - time_bucket(INTERVAL '5 minutes', ts))::float8 * spread_rel)
                                                                            AS ty_sum,
    -- funding and price statistics for the chart's baseline
    sum(funding_rate)                                                       AS funding_sum,
    count(funding_rate)                                                     AS funding_n,
    -- top-1 cross-exchange pair and funding difference at the bucket's last sample
    -- (the series' series_meta; kept as two columns so the view stays immutable)
    last(meta -> 'pairs_top' -> 0, ts)                                      AS pair_top1,
    last(meta -> 'funding_diff_top' -> 0, ts)                               AS funding_diff_top1
FROM watchlist_data.watch_signal_raw
GROUP BY 1, 2, 3
WITH NO DATA;

-- The reader reaches this aggregate only through the API (views and functions in schema
-- watchlist), but TimescaleDB checks a continuous aggregate's privileges as the querying
-- role even behind a view owned by wl_owner (timescale/timescaledb#2955), so the reader
-- needs SELECT on it; without USAGE on watchlist_data it still cannot name it directly.
GRANT SELECT ON watchlist_data.watchlist_series_agg TO wl_reader;
