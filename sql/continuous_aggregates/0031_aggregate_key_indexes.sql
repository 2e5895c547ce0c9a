-- 0031: reads by key on the continuous aggregates. watchlist.series / metrics /
-- watchlist_list look up one (exchange, symbol) over a bucket range; TimescaleDB only
-- builds one index per group-by column (exchange, bucket) and (symbol, bucket), so a
-- lookup scanned every symbol of the exchange in the range. A composite index serves the
-- whole predicate.
CREATE INDEX IF NOT EXISTS watchlist_series_agg_key_bucket_idx
    ON watchlist_data.watchlist_series_agg (exchange, symbol, bucket DESC);
CREATE INDEX IF NOT EXISTS typea_stats_1h_key_bucket_idx
    ON watchlist_data.typea_stats_1h (exchange, symbol, bucket DESC);
