-- watchlist_data.setting(key): the current value of a setting, as text. Raises when the
-- key is unknown, so a typo in a caller never silently yields NULL.
CREATE OR REPLACE FUNCTION watchlist_data.setting(p_key text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_value text;
BEGIN
    SELECT s.value INTO v_value FROM watchlist_data.settings AS s WHERE s.key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown watchlist-db setting "%"', p_key
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT key FROM watchlist.settings lists them.';
    END IF;
    RETURN v_value;
END
$$;
