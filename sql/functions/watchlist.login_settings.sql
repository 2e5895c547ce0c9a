-- watchlist.login_settings(kind): the session settings a 'reader' or 'writer' login gets
-- in this database (`wldb grant-login` applies them with ALTER ROLE <login> IN DATABASE
-- ... SET), from the settings reader_* / writer_*, in milliseconds as the server takes them.
-- Per login because settings on the group roles wl_reader / wl_writer never reach their
-- member logins' sessions.
CREATE OR REPLACE FUNCTION watchlist.login_settings(p_kind text)
RETURNS TABLE (setting text, value text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('reader', 'writer') THEN
        RAISE EXCEPTION 'login_settings: kind must be reader or writer, got %', coalesce(p_kind, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT v.guc, (round(extract(epoch FROM s.value::interval) * 1000))::bigint || 'ms'
      FROM (VALUES (1, 'statement_timeout', 'statement_timeout'),
                   (2, 'idle_in_transaction_session_timeout', 'idle_in_transaction_timeout'),
                   (3, 'lock_timeout', 'lock_timeout')) AS v(o, guc, key)
      JOIN watchlist_data.settings AS s ON s.key = p_kind || '_' || v.key
     ORDER BY v.o;
END
$$;
REVOKE ALL ON FUNCTION watchlist.login_settings(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.login_settings(text) TO wl_reader;
