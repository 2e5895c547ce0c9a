-- watchlist_data.series_agg_watermark(): the end of the materialised part of the 5-minute
-- aggregate watchlist_data.watchlist_series_agg ('-infinity' before the first refresh):
-- buckets before it are read from the materialisation, buckets from it on are aggregated
-- from the raw rows (TimescaleDB's real-time aggregation, the same boundary the
-- aggregate's own view uses). See watchlist_data.series_agg_rows.
-- Generated: TimescaleDB identifies the aggregate by its materialisation's id, known only
-- once the aggregate exists, so the body is written here with the id looked up.
DO $do$
DECLARE
    v_id integer;
BEGIN
    SELECT c.mat_hypertable_id INTO STRICT v_id
      FROM _timescaledb_catalog.continuous_agg AS c
     WHERE c.user_view_schema = 'watchlist_data' AND c.user_view_name = 'watchlist_series_agg';
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION watchlist_data.series_agg_watermark()
        RETURNS timestamptz
        LANGUAGE sql STABLE
        AS $b$ SELECT coalesce(_timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(%s)),
                               '-infinity'::timestamptz) $b$$f$, v_id);
END
$do$;
REVOKE ALL ON FUNCTION watchlist_data.series_agg_watermark() FROM PUBLIC;
