-- watchlist.set_setting(key, value): change one setting, checked against its kind, then
-- re-apply the TimescaleDB policies so retention / compression / refresh follow at once.
-- Returns the policy actions taken. Owner-only (not granted to wl_writer / wl_reader).
CREATE OR REPLACE FUNCTION watchlist.set_setting(p_key text, p_value text)
RETURNS TABLE (policy text, target text, action text, detail text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kind text;
BEGIN
    SELECT s.kind INTO v_kind FROM watchlist_data.settings AS s WHERE s.key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown watchlist-db setting "%"', p_key USING ERRCODE = 'undefined_object';
    END IF;
    BEGIN
        CASE v_kind
            WHEN 'interval'  THEN PERFORM p_value::interval;
                IF p_value::interval <= INTERVAL '0' THEN RAISE EXCEPTION 'must be positive'; END IF;
            WHEN 'integer'   THEN
                IF p_value::integer < 1 THEN RAISE EXCEPTION 'must be at least 1'; END IF;
            WHEN 'integer[]' THEN
                IF cardinality(p_value::integer[]) = 0 OR EXISTS (SELECT 1 FROM unnest(p_value::integer[]) x WHERE x IS NULL OR x < 1) THEN
                    RAISE EXCEPTION 'must be a non-empty list of positive integers';
                END IF;
            WHEN 'numeric'   THEN
                IF p_value::numeric < 0 THEN RAISE EXCEPTION 'must not be negative'; END IF;
            ELSE NULL;
        END CASE;
        -- the barrier labels' multiples: 0 would put a barrier on the entry itself
        IF p_key IN ('barrier_take_profit_sigma', 'barrier_stop_sigma') AND p_value::numeric <= 0 THEN
            RAISE EXCEPTION 'must be positive';
        END IF;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'setting "%" takes a % value; "%" is not one: %', p_key, v_kind, p_value, SQLERRM
            USING ERRCODE = 'invalid_parameter_value';
    END;
    UPDATE watchlist_data.settings AS s SET value = p_value, updated_at = now() WHERE s.key = p_key;
    RETURN QUERY SELECT * FROM watchlist.apply_policies();
END
$$;
REVOKE ALL ON FUNCTION watchlist.set_setting(text, text) FROM PUBLIC;
