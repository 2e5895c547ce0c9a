-- watchlist_data.series_agg_rows(exchange, symbol, from, to, watermark): the rows a read of
-- the 5-minute aggregate watchlist_data.watchlist_series_agg aggregates, for one key and the
-- buckets in [from, to), with the columns the read API uses (those of its covering index,
-- 0040):
--   * buckets before the watermark (watchlist_data.series_agg_watermark()): the
--     materialised bucket, one row each, at = bucket;
--   * from the watermark on: each raw row as a bucket of one sample (n_rows 1, its values,
--     spread_n 1 or 0, sum = min = max = its spread, t_sum / t_sumsq / ty_sum from its
--     seconds into the bucket), at = ts.
-- Grouped by bucket (count = sum(n_rows), values = last(value, at), sums, min, max) they are
-- the aggregate's real-time rows; the statistics over a window need no grouping at all
-- (watchlist_data.typea_stats). Cheaper than the aggregate's own view, and than grouping the
-- raw tail here:
--   * planned as two plain index reads: the view's union, with its own watermark lookup
--     and a group-by of every aggregate column, cost more to plan than the read itself;
--   * the caller passes the watermark as a plain value, so both parts are bounded by
--     constants: chunks outside them are left out of the plan and never locked (see
--     watchlist_data.typea_stats), and the raw part is only the unmaterialised tail.
-- A plain SQL function with one SELECT: PostgreSQL inlines it into the calling query.
-- Generated: the materialisation hypertable's name is known only once the aggregate
-- exists; TimescaleDB's time_bucket is qualified with the extension's schema.
DROP FUNCTION IF EXISTS watchlist_data.series_agg_rows(text, text, timestamptz, timestamptz, timestamptz);
DO $do$
DECLARE
    v_mat  text;
    v_tsdb text;
BEGIN
    SELECT format('%I.%I', h.schema_name, h.table_name) INTO STRICT v_mat
      FROM _timescaledb_catalog.continuous_agg AS c
      JOIN _timescaledb_catalog.hypertable AS h ON h.id = c.mat_hypertable_id
     WHERE c.user_view_schema = 'watchlist_data' AND c.user_view_name = 'watchlist_series_agg';
    SELECT quote_ident(n.nspname) INTO STRICT v_tsdb
      FROM pg_extension AS x JOIN pg_namespace AS n ON n.oid = x.extnamespace WHERE x.extname = 'timescaledb';
    EXECUTE replace(replace($f$
        CREATE OR REPLACE FUNCTION watchlist_data.series_agg_rows(p_exchange text, p_symbol text, p_from timestamptz,
                                                                  p_to timestamptz, p_wm timestamptz)
        RETURNS TABLE (bucket timestamptz, at timestamptz, n_rows bigint, type_class text, spot_price double precision,
                       futures_price double precision, spread_rel double precision, funding_rate double precision,
                       funding_interval_hours double precision, next_funding_time timestamptz, crossings_1h integer,
                       drift_ratio double precision, spread_n bigint, spread_sum double precision,
                       spread_sumsq double precision, spread_min double precision, spread_max double precision,
                       t_sum double precision, t_sumsq double precision, ty_sum double precision)
        LANGUAGE sql STABLE
        AS $b$
            SELECT m.bucket, m.bucket, m.n_rows, m.type_class, m.spot_price, m.futures_price, m.spread_rel, m.funding_rate,
                   m.funding_interval_hours, m.next_funding_time, m.crossings_1h, m.drift_ratio, m.spread_n,
                   m.spread_sum, m.spread_sumsq, m.spread_min, m.spread_max, m.t_sum, m.t_sumsq, m.ty_sum
              FROM @MAT@ AS m
             WHERE m.exchange = p_exchange AND m.symbol = p_symbol
               AND m.bucket >= p_from AND m.bucket < p_to AND m.bucket < p_wm
            UNION ALL
            -- the aggregate's expressions (0006) for a bucket of one row; the seconds into the
            -- bucket as date_part's float8 (the same value as extract()'s numeric cast to
            -- float8: an interval under a day, one correctly rounded division; numeric is slower)
            SELECT x.b, r.ts, 1::bigint, r.type_class, r.spot_price, r.futures_price, r.spread_rel, r.funding_rate,
                   r.funding_interval_hours, r.next_funding_time, r.crossings_1h, r.drift_ratio,
                   (r.spread_rel IS NOT NULL)::int::bigint, r.spread_rel, r.spread_rel * r.spread_rel, r.spread_rel, r.spread_rel,
                   CASE WHEN r.spread_rel IS NOT NULL THEN x.tau END, CASE WHEN r.spread_rel IS NOT NULL THEN x.tau ^ 2 END,
                   x.tau * r.spread_rel
              FROM watchlist_data.watch_signal_raw AS r
             CROSS JOIN LATERAL (SELECT @TS@.time_bucket(INTERVAL '5 minutes', r.ts) AS b,
                                        date_part('epoch', r.ts - @TS@.time_bucket(INTERVAL '5 minutes', r.ts)) AS tau) AS x
             WHERE r.exchange = p_exchange AND r.symbol = p_symbol
               AND r.ts >= p_from AND r.ts < p_to AND r.ts >= p_wm
        $b$$f$, '@MAT@', v_mat), '@TS@', v_tsdb);
END
$do$;
REVOKE ALL ON FUNCTION watchlist_data.series_agg_rows(text, text, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
