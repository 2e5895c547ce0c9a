-- watchlist.schema_version(): how far this database is migrated: the number of numbered
-- migrations applied and the latest one (by number), from the migration ledger. For
-- `wldb status` and any client that wants to check the schema it talks to.
CREATE OR REPLACE FUNCTION watchlist.schema_version()
RETURNS TABLE (migrations bigint, latest text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*),
           (SELECT m.filename FROM watchlist_data.schema_migrations AS m
             WHERE m.kind = 'migration'
             ORDER BY substring(m.filename FROM '(\d{4})_[^/]*$') DESC
             LIMIT 1)
      FROM watchlist_data.schema_migrations AS s
     WHERE s.kind = 'migration'
$$;
REVOKE ALL ON FUNCTION watchlist.schema_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.schema_version() TO wl_reader;
