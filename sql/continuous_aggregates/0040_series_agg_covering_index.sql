-- 0040: index-only reads of the 5-minute aggregate. watchlist.series, watchlist.metrics
-- and watchlist.watchlist_list read one key's 144 buckets of the last 12 h. The
-- materialised rows of one key lie on 144 different heap pages (each refresh writes every
-- key's newest buckets side by side), so the (exchange, symbol, bucket) index of 0031
-- still fetched one page per bucket. This index carries the columns those reads use, so
-- they are answered from the index alone wherever the visibility map says the page is
-- all-visible; it replaces the index of 0031 (same key, same order).
-- Cost: about 150 bytes per aggregate row (7 x 800 keys x 288 buckets a day).
CREATE INDEX IF NOT EXISTS watchlist_series_agg_key_cover_idx
    ON watchlist_data.watchlist_series_agg (exchange, symbol, bucket DESC)
    INCLUDE (n_rows, type_class, spot_price, futures_price, spread_rel, funding_rate, funding_interval_hours,
             next_funding_time, crossings_1h, drift_ratio, spread_n, spread_sum, spread_sumsq, spread_min,
             spread_max, t_sum, t_sumsq, ty_sum);

-- The index of 0031, wherever TimescaleDB put it (the materialisation's schema), and the
-- visibility map: the refresh policy only inserts, and PostgreSQL's default insert
-- threshold (20% of the table) would leave hours of new buckets unvacuumed, so not
-- all-visible, so read from the heap again. 1% of a chunk (a few thousand rows, about a
-- quarter of an hour of refreshes at 7 x 800) keeps the recent buckets index-only.
-- Set on the materialisation hypertable (new chunks take its storage parameters) and on
-- its existing chunks.
DO $$
DECLARE
    v_mat   regclass;
    v_idx   regclass;
    v_chunk regclass;
BEGIN
    SELECT format('%I.%I', h.schema_name, h.table_name)::regclass INTO v_mat
      FROM _timescaledb_catalog.continuous_agg AS c
      JOIN _timescaledb_catalog.hypertable AS h ON h.id = c.mat_hypertable_id
     WHERE c.user_view_schema = 'watchlist_data' AND c.user_view_name = 'watchlist_series_agg';
    SELECT i.indexrelid::regclass INTO v_idx
      FROM pg_index AS i JOIN pg_class AS ic ON ic.oid = i.indexrelid
     WHERE i.indrelid = v_mat AND ic.relname = 'watchlist_series_agg_key_bucket_idx';
    IF v_idx IS NOT NULL THEN
        EXECUTE format('DROP INDEX %s', v_idx);
    END IF;
    EXECUTE format('ALTER TABLE %s SET (autovacuum_vacuum_insert_scale_factor = 0.01)', v_mat);
    FOR v_chunk IN SELECT format('%I.%I', ch.chunk_schema, ch.chunk_name)::regclass
                     FROM timescaledb_information.chunks AS ch
                    WHERE format('%I.%I', ch.hypertable_schema, ch.hypertable_name)::regclass = v_mat
    LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_vacuum_insert_scale_factor = 0.01)', v_chunk);
    END LOOP;
END
$$;
