-- 0081: watchlist_data.jsonb_float8, the safe cast of a meta number (its home is the
-- repeatable file sql/functions/watchlist_data.jsonb_float8.sql). Created here as well, with
-- the same body, because repeatable files applied before it (watchlist.event_factors,
-- LANGUAGE sql) refer to it and are checked when created.
CREATE OR REPLACE FUNCTION watchlist_data.jsonb_float8(p_val jsonb)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN jsonb_typeof(p_val) = 'number'
                 AND abs(p_val::numeric) <= 1e15
                 AND (p_val::numeric = 0 OR abs(p_val::numeric) >= 1e-30)
                THEN p_val::numeric::double precision END
$$;
