-- watchlist_data.all_finite(values): no NaN or +-Infinity among the values (NULLs allowed).
-- Behind the tables' "finite" CHECK constraints, so it runs for every inserted row: written
-- as one expression without a subquery and not STRICT, so that PostgreSQL inlines it into
-- the constraint instead of calling a SQL function per row (first defined in 0001 with a
-- NOT EXISTS subquery; same results: true, false, or true for a NULL array).
CREATE OR REPLACE FUNCTION watchlist_data.all_finite(p_values double precision[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(NOT ('NaN'::float8 = ANY (p_values) OR 'Infinity'::float8 = ANY (p_values)
                         OR '-Infinity'::float8 = ANY (p_values)), true)
$$;
