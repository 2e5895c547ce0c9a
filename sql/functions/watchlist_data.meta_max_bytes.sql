-- watchlist_data.meta_max_bytes(): the largest meta object a raw row may carry, in bytes of
-- its stored jsonb (pg_column_size of the value, before TOAST compression: what the row
-- costs, not how the client spelled it); a bigger one is refused
-- (watchlist_data.raw_row_problems). Measured on the jsonb the server already holds, so no
-- check serialises meta back to JSON text (a cost per row the writer API does not pay;
-- figures in docs/benchmarks.md).
CREATE OR REPLACE FUNCTION watchlist_data.meta_max_bytes()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 65536
$$;
REVOKE ALL ON FUNCTION watchlist_data.meta_max_bytes() FROM PUBLIC;
