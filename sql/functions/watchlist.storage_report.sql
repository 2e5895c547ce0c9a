-- watchlist.storage_report(): disk use per table, chunks and compression of the
-- hypertables, and how far each continuous aggregate is materialised (watermark and lag
-- behind now; newer buckets are served by real-time aggregation). For `wldb status`.
-- The watermark comes from TimescaleDB internals (_timescaledb_functions.cagg_watermark);
-- where a version lacks them it is NULL rather than an error. est_rows is the planner's
-- estimate, NULL where the table was never analysed (the embedded engine never analyses).
CREATE OR REPLACE FUNCTION watchlist.storage_report()
RETURNS TABLE (relation text, kind text, chunks integer, compressed_chunks integer, total_bytes bigint,
               before_compression_bytes bigint, after_compression_bytes bigint, est_rows bigint,
               materialized_until timestamptz, lag interval)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid, c.relname::text AS name, nullif(c.reltuples, -1)::bigint AS est,
               EXISTS (SELECT 1 FROM timescaledb_information.hypertables h
                        WHERE h.hypertable_schema = 'watchlist_data' AND h.hypertable_name = c.relname) AS is_ht
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'watchlist_data' AND c.relkind IN ('r', 'p')
        UNION ALL
        SELECT NULL, ca.view_name::text, NULL, false
          FROM timescaledb_information.continuous_aggregates ca WHERE ca.view_schema = 'watchlist_data'
         ORDER BY 2
    LOOP
        relation := 'watchlist_data.' || r.name;
        chunks := NULL; compressed_chunks := NULL; before_compression_bytes := NULL; after_compression_bytes := NULL;
        materialized_until := NULL; lag := NULL; est_rows := r.est;
        IF r.oid IS NULL THEN
            kind := 'continuous aggregate';
            total_bytes := @extschema@.hypertable_size(relation::regclass);
            BEGIN
                EXECUTE $q$SELECT _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(ca.mat_hypertable_id))
                             FROM _timescaledb_catalog.continuous_agg ca
                            WHERE ca.user_view_schema = 'watchlist_data' AND ca.user_view_name = $1$q$
                   INTO materialized_until USING r.name;
                IF materialized_until < '1000-01-01'::timestamptz THEN materialized_until := NULL; END IF;
                lag := now() - materialized_until;
            EXCEPTION WHEN OTHERS THEN
                materialized_until := NULL;
            END;
        ELSIF r.is_ht THEN
            kind := 'hypertable';
            total_bytes := @extschema@.hypertable_size(r.oid::regclass);
            SELECT count(*)::integer, count(*) FILTER (WHERE ch.is_compressed)::integer INTO chunks, compressed_chunks
              FROM timescaledb_information.chunks ch
             WHERE ch.hypertable_schema = 'watchlist_data' AND ch.hypertable_name = r.name;
            SELECT s.before_compression_total_bytes, s.after_compression_total_bytes
              INTO before_compression_bytes, after_compression_bytes
              FROM @extschema@.hypertable_compression_stats(r.oid::regclass) AS s;
        ELSE
            kind := 'table';
            total_bytes := pg_total_relation_size(r.oid);
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION watchlist.storage_report() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.storage_report() TO wl_reader;
