-- watchlist_data.incremental_overlap(): how far before its ingestion watermark an
-- incremental job (event merge, outcome labels) looks again, for rows of writers whose
-- transactions committed after a later row's: the one definition of that overlap.
CREATE OR REPLACE FUNCTION watchlist_data.incremental_overlap()
RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT INTERVAL '2 minutes'
$$;
REVOKE ALL ON FUNCTION watchlist_data.incremental_overlap() FROM PUBLIC;
