-- watchlist.purge_keys(keys, raw_notes): remove the stored history of some (exchange, symbol)
-- keys, for resetting sample or test data. Owner-only (not granted to wl_writer / wl_reader):
-- it deletes, which no writer or reader may.
--   keys       a JSON array of {"exchange": e, "symbol": s} objects.
--   raw_notes  when given, only raw rows whose meta.notes equals it are deleted (the demo
--              marks its rows 'sample', so a real key that happens to share a name keeps
--              its own rows); NULL deletes every raw row of the keys.
-- Events of the keys are deleted (their labels cascade), and so is their membership history.
-- The merge and label jobs' watermarks are reset, so their next runs read from scratch
-- instead of trusting state about rows that are gone. Returns the raw rows deleted.
CREATE OR REPLACE FUNCTION watchlist.purge_keys(p_keys jsonb, p_raw_notes text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_raw bigint := 0;
    v_n   bigint;
    k     record;
BEGIN
    IF p_keys IS NULL OR jsonb_typeof(p_keys) <> 'array' THEN
        RAISE EXCEPTION 'watchlist.purge_keys expects a JSON array of {"exchange", "symbol"} objects, got %',
            coalesce(jsonb_typeof(p_keys), 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT e ->> 'exchange' AS exchange, e ->> 'symbol' AS symbol, o - 1 AS i
               FROM jsonb_array_elements(p_keys) WITH ORDINALITY AS x(e, o) LOOP
        IF k.exchange IS NULL OR k.symbol IS NULL THEN
            RAISE EXCEPTION 'watchlist.purge_keys: key % has no exchange or no symbol', k.i
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        DELETE FROM watchlist_data.watch_signal_raw AS r
         WHERE r.exchange = k.exchange AND r.symbol = k.symbol
           AND (p_raw_notes IS NULL OR r.meta ->> 'notes' = p_raw_notes);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_raw := v_raw + v_n;
        DELETE FROM watchlist_data.watch_signal_event AS e WHERE e.exchange = k.exchange AND e.symbol = k.symbol;
        DELETE FROM watchlist_data.watchlist_membership AS m WHERE m.exchange = k.exchange AND m.symbol = k.symbol;
    END LOOP;
    DELETE FROM watchlist_data.job_state AS s WHERE s.job IN ('merge_events', 'label_outcomes');
    RETURN v_raw;
END
$$;
REVOKE ALL ON FUNCTION watchlist.purge_keys(jsonb, text) FROM PUBLIC;
