-- watchlist.upsert_symbol_refs(rows): writer API for symbol reference data. rows is a JSON
-- array of {exchange, symbol, base, quote, sector, industry, listed, status, liquidity_tier};
-- each is inserted or, when (exchange, symbol) exists, updated (updated_at = now()).
-- Returns the number of rows written. A bad row (a key that is not a column, a value the
-- table refuses) never costs the rows next to it: it is kept in watchlist.ingest_rejects
-- (batch_id 'symbol_refs:<login>', its 0-based index, the field and the reason) and named
-- in a WARNING; the other rows are written.
CREATE OR REPLACE FUNCTION watchlist.upsert_symbol_refs(p_rows jsonb)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer := 0;
    v_row   jsonb;
    v_ord   bigint;
    v_unknown text;
    v_field  text;
    v_reason text;
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' THEN
        RAISE EXCEPTION 'watchlist.upsert_symbol_refs expects a JSON array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_row, v_ord IN SELECT r.val, r.ord FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord) LOOP
        v_unknown := NULL;
        BEGIN
            IF jsonb_typeof(v_row) IS DISTINCT FROM 'object' THEN
                RAISE EXCEPTION 'a symbol reference row must be a JSON object, got %', coalesce(jsonb_typeof(v_row), 'NULL')
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            -- a key that is not a column would be dropped silently (a typo stores NULL)
            v_unknown := (SELECT string_agg(k.key, ', ' ORDER BY k.key)
                            FROM jsonb_object_keys(v_row - ARRAY(SELECT jsonb_object_keys(to_jsonb(
                                     jsonb_populate_record(NULL::watchlist_data.watchlist_symbol_ref, '{}'::jsonb))))) AS k(key));
            IF v_unknown IS NOT NULL THEN
                RAISE EXCEPTION 'unknown field: %', v_unknown USING ERRCODE = 'invalid_parameter_value';
            END IF;
            INSERT INTO watchlist_data.watchlist_symbol_ref AS s
                   (exchange, symbol, base, quote, sector, industry, listed, status, liquidity_tier, updated_at)
            SELECT x.exchange, x.symbol, x.base, x.quote, x.sector, x.industry, x.listed,
                   coalesce(x.status, 'active'), x.liquidity_tier, now()
              FROM jsonb_populate_record(NULL::watchlist_data.watchlist_symbol_ref, v_row) AS x
            ON CONFLICT (exchange, symbol) DO UPDATE
               SET base = EXCLUDED.base, quote = EXCLUDED.quote, sector = EXCLUDED.sector,
                   industry = EXCLUDED.industry, listed = EXCLUDED.listed, status = EXCLUDED.status,
                   liquidity_tier = EXCLUDED.liquidity_tier, updated_at = now();
            v_count := v_count + 1;
        EXCEPTION WHEN OTHERS THEN
            IF NOT watchlist_data.is_row_fault(SQLSTATE) THEN
                RAISE;  -- the server's state, not the row's: the whole call fails
            END IF;
            GET STACKED DIAGNOSTICS v_field = COLUMN_NAME;
            v_reason := SQLERRM;
            INSERT INTO watchlist_data.ingest_quarantine (batch_id, row_index, field, reason, row_data)
            VALUES ('symbol_refs:' || session_user, v_ord - 1,
                    coalesce(nullif(v_field, ''), CASE WHEN v_unknown IS NOT NULL THEN v_unknown ELSE '(row)' END),
                    v_reason, watchlist_data.quarantine_row(v_row));
            RAISE WARNING 'symbol reference row % (% %) refused: % (kept in watchlist.ingest_rejects)', v_ord - 1,
                coalesce(v_row ->> 'exchange', '?'), coalesce(v_row ->> 'symbol', '?'), v_reason;
        END;
    END LOOP;
    RETURN v_count;
END
$$;
REVOKE ALL ON FUNCTION watchlist.upsert_symbol_refs(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.upsert_symbol_refs(jsonb) TO wl_writer;
