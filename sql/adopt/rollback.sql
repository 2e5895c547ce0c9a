-- Rollback of an adoption (`wldb adopt --rollback --apply`), one transaction, as the
-- superuser that adopted: puts the legacy schema back as watchlist with its owner and the
-- database's owner as they were, and removes what the adoption built: the TimescaleDB jobs
-- of watchlist-db, schemas watchlist (API) and watchlist_data (every row written since the
-- adoption goes with it: take a pg_dump first) and watchlist_adopt. Kept: the timescaledb
-- extension, role wl_owner and its default privileges, the CONNECT/TEMPORARY grants to
-- wl_writer / wl_reader.
DO $rollback$
DECLARE
    v_db_owner text;
    v_schema_owner text;
BEGIN
    IF to_regclass('watchlist_adopt.step') IS NULL
       OR NOT EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'move_aside') THEN
        RAISE EXCEPTION 'nothing to roll back: no adoption moved a legacy schema aside in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist_legacy') THEN
        RAISE EXCEPTION 'schema watchlist_legacy is gone: restore the pg_dump taken before the adoption instead'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT value INTO v_db_owner FROM watchlist_adopt.state WHERE key = 'db_owner';
    SELECT value INTO v_schema_owner FROM watchlist_adopt.state WHERE key = 'schema_owner';
    IF to_regclass('timescaledb_information.jobs') IS NOT NULL THEN
        PERFORM public.delete_job(j.job_id) FROM timescaledb_information.jobs j
          WHERE j.proc_schema IN ('watchlist', 'watchlist_data') AND j.job_id >= 1000;
    END IF;
    DROP SCHEMA IF EXISTS watchlist CASCADE;
    DROP SCHEMA IF EXISTS watchlist_data CASCADE;
    ALTER SCHEMA watchlist_legacy RENAME TO watchlist;
    EXECUTE format('ALTER SCHEMA watchlist OWNER TO %I', v_schema_owner);
    EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), v_db_owner);
    DROP SCHEMA watchlist_adopt CASCADE;
END
$rollback$;
