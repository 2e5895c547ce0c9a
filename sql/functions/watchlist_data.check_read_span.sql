-- watchlist_data.check_read_span(fn, from, to): true when the window [from, to) a read
-- call was given is at most the setting read_max_span long; raises otherwise, naming the
-- function, the window, its span, the limit and the setting. A NULL bound passes (such a
-- window selects nothing); an infinite one does not. Called at entry by the research and
-- window reads (SECURITY DEFINER, as wl_owner); private.
CREATE OR REPLACE FUNCTION watchlist_data.check_read_span(p_fn text, p_from timestamptz, p_to timestamptz)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_max interval := watchlist_data.setting('read_max_span')::interval;
BEGIN
    IF p_from IS NULL OR p_to IS NULL THEN
        RETURN true;
    END IF;
    IF NOT isfinite(p_from) OR NOT isfinite(p_to) OR p_to - p_from > v_max THEN
        RAISE EXCEPTION '%: the window p_from % .. p_to % spans %, more than read_max_span (%)',
                p_fn, p_from, p_to, CASE WHEN isfinite(p_from) AND isfinite(p_to) THEN (p_to - p_from)::text ELSE 'forever' END, v_max
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Ask for at most %s per call (split a longer range into windows), or have the owner raise the limit: '
                                'SELECT watchlist.set_setting(''read_max_span'', ''180 days'');', v_max);
    END IF;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.check_read_span(text, timestamptz, timestamptz) FROM PUBLIC;
