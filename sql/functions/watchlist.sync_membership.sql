-- watchlist.sync_membership(members, at): record the watchlist as it is at instant `at`.
-- members is a JSON array of {exchange, symbol}: the complete current watchlist. Pairs not
-- open yet are entered (entered_at = at); open pairs missing from members are closed
-- (left_at = at). Idempotent: the same call twice changes nothing. A snapshot older than
-- the newest recorded change (a late replay) is ignored and reported as stale, so history
-- is never rewritten out of order. `at` must be finite and no later than now() + 5 minutes.
CREATE OR REPLACE FUNCTION watchlist.sync_membership(p_members jsonb, p_at timestamptz)
RETURNS TABLE (entered integer, left_count integer, stale boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_latest timestamptz;
BEGIN
    IF p_members IS NULL OR jsonb_typeof(p_members) <> 'array' THEN
        RAISE EXCEPTION 'watchlist.sync_membership expects a JSON array of {exchange, symbol}' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_at IS NULL THEN
        RAISE EXCEPTION 'watchlist.sync_membership needs the snapshot time' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- a snapshot from the future (or infinity) would make every later sync stale and freeze
    -- the membership: refused, with the writer API's clock skew (watchlist_data.raw_input_bound)
    IF NOT isfinite(p_at) OR p_at > now() + watchlist_data.raw_input_bound('future_skew') THEN
        RAISE EXCEPTION 'watchlist.sync_membership: the snapshot time % is later than now + % (or not finite)',
            p_at, watchlist_data.raw_input_bound('future_skew')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM watchlist_data.take_job_lock('membership');
    SELECT max(greatest(m.entered_at, coalesce(m.left_at, m.entered_at))) INTO v_latest FROM watchlist_data.watchlist_membership AS m;
    IF v_latest IS NOT NULL AND p_at < v_latest THEN
        entered := 0; left_count := 0; stale := true; RETURN NEXT; RETURN;
    END IF;
    stale := false;

    WITH wanted AS (
        SELECT DISTINCT x ->> 'exchange' AS exchange, x ->> 'symbol' AS symbol
          FROM jsonb_array_elements(p_members) AS x
    ), closed AS (
        UPDATE watchlist_data.watchlist_membership AS m SET left_at = p_at
         WHERE m.left_at IS NULL AND m.entered_at < p_at
           AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.exchange = m.exchange AND w.symbol = m.symbol)
        RETURNING 1
    )
    SELECT count(*)::integer INTO left_count FROM closed;

    INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at, reason)
    SELECT w.exchange, w.symbol, p_at, 'sync'
      FROM (SELECT DISTINCT x ->> 'exchange' AS exchange, x ->> 'symbol' AS symbol
              FROM jsonb_array_elements(p_members) AS x) AS w
     WHERE NOT EXISTS (SELECT 1 FROM watchlist_data.watchlist_membership m
                        WHERE m.exchange = w.exchange AND m.symbol = w.symbol AND m.left_at IS NULL)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS entered = ROW_COUNT;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.sync_membership(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.sync_membership(jsonb, timestamptz) TO wl_writer;
