-- watchlist_data.meta_max_bytes(): the largest meta object a raw row may carry (bytes of
-- its JSON text); a bigger one is refused (watchlist_data.raw_row_problems).
CREATE OR REPLACE FUNCTION watchlist_data.meta_max_bytes()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 65536
$$;
REVOKE ALL ON FUNCTION watchlist_data.meta_max_bytes() FROM PUBLIC;
