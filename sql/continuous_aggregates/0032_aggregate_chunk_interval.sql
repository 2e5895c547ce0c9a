-- 0032: chunk intervals for the continuous aggregates' materialisations. TimescaleDB gives a
-- materialisation 10x its source's chunk interval (10 days from the raw table's 1-day
-- chunks), and retention drops only whole chunks, so series_retention = 7 days kept the
-- 5-minute series for up to 17 days. With 1-day chunks a retention setting is kept to
-- within a day. Applies to chunks created from now on. (set_chunk_time_interval unqualified:
-- TimescaleDB lives in public on a server, in pg_catalog on the embedded engine.)
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT format('%I.%I', h.schema_name, h.table_name) AS mat
          FROM _timescaledb_catalog.continuous_agg AS c
          JOIN _timescaledb_catalog.hypertable AS h ON h.id = c.mat_hypertable_id
         WHERE c.user_view_schema = 'watchlist_data' AND c.user_view_name IN ('watchlist_series_agg', 'typea_stats_1h')
    LOOP
        PERFORM set_chunk_time_interval(r.mat::regclass, INTERVAL '1 day');
    END LOOP;
END
$$;
