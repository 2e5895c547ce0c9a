-- watchlist.watchlist_series_agg: the seed's 5-minute series (12 h chart source) over the
-- continuous aggregate watchlist_data.watchlist_series_agg, real-time (fresh to the minute).
-- ts is the bucket start; values are the bucket's last sample, spread_mean its mean.
CREATE OR REPLACE VIEW watchlist.watchlist_series_agg AS
SELECT s.bucket                 AS ts,
       s.exchange,
       s.symbol,
       s.spot_price,
       s.futures_price,
       s.spread_rel,
       s.funding_rate,
       s.funding_interval_hours,
       s.next_funding_time,
       s.spread_sum / nullif(s.spread_n, 0) AS spread_mean,
       s.spread_min,
       s.spread_max,
       s.n_rows,
       s.n_triggered,
       s.signal_type,
       s.type_class,
       jsonb_strip_nulls(jsonb_build_object('pair_top1', s.pair_top1, 'funding_diff_top1', s.funding_diff_top1)) AS series_meta
  FROM watchlist_data.watchlist_series_agg AS s;
REVOKE ALL ON watchlist.watchlist_series_agg FROM PUBLIC;
GRANT SELECT ON watchlist.watchlist_series_agg TO wl_reader;
