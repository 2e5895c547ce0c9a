-- watchlist_data.jsonb_float8(value): a JSON value as a double precision number the SQL can
-- compute with, or NULL: NULL unless it is a JSON number of magnitude at most 1e15 (and 0 or
-- at least 1e-30). Every number taken out of a raw row's meta (meta.factors,
-- meta.exchanges[]) goes through it: meta is not range-checked at ingest (a deep scan of
-- every row), so it may hold 1e400, which a plain ::float8 refuses with an error that stops a
-- job for every key, or 1e300, which a sum of squares turns into an overflow. 1e15 is the
-- largest bound of watchlist_data.raw_field_range(), for the same reason.
-- IMMUTABLE, one expression: inlined where it is used. (0081 creates a first version, because
-- repeatable files that are applied before this one use it; this file replaces it.)
CREATE OR REPLACE FUNCTION watchlist_data.jsonb_float8(p_val jsonb)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN jsonb_typeof(p_val) = 'number'
                 AND abs(p_val::numeric) <= 1e15
                 AND (p_val::numeric = 0 OR abs(p_val::numeric) >= 1e-30)
                THEN p_val::numeric::double precision END
$$;
