-- watchlist-db bootstrap: run by `wldb migrate` before every migration run, as the
-- connecting (administrative) user. Idempotent; touches only watchlist-db's own objects:
-- the timescaledb extension in this database, the roles wl_owner / wl_writer / wl_reader,
-- the schemas watchlist (API) and watchlist_data (private storage), and the migrations
-- ledger. Nothing else in the cluster is read or changed.
--
-- Roles
--   wl_owner  owns every object. It is LOGIN because TimescaleDB refuses to run background
--             jobs (policies, add_job) for a hypertable owner without LOGIN ("Hypertable
--             owner must have LOGIN permission to run background tasks"). It has no
--             password: nobody logs in as it unless the operator gives it a way (peer, cert,
--             .pgpass); migrations reach it with SET ROLE.
--   wl_writer NOLOGIN group role for the app's writer: calls the writer API only.
--   wl_reader NOLOGIN group role for dashboards and research: reads the API views and
--             calls the read API only.
-- The operator grants wl_writer / wl_reader to login users of their own.

DO $bootstrap$
DECLARE
    v_min_version CONSTANT int[] := ARRAY[2, 13, 0];
    v_installed   text;
    v_available   text;
BEGIN
    -- 1. TimescaleDB: present, or creatable here, and recent enough.
    SELECT extversion INTO v_installed FROM pg_extension WHERE extname = 'timescaledb';
    IF v_installed IS NULL THEN
        SELECT default_version INTO v_available
          FROM pg_available_extensions WHERE name = 'timescaledb';
        IF v_available IS NULL THEN
            RAISE EXCEPTION 'watchlist-db needs the TimescaleDB extension, and this server does not have it installed'
                USING ERRCODE = 'feature_not_supported',
                      HINT = 'Install TimescaleDB 2.13 or newer on the server (e.g. the timescale/timescaledb image) and add timescaledb to shared_preload_libraries.';
        END IF;
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'TimescaleDB % is available but not created in database % and user % may not create it',
                v_available, current_database(), current_user
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Ask a superuser to run: CREATE EXTENSION timescaledb; in this database, then run wldb migrate again.';
        END;
        SELECT extversion INTO v_installed FROM pg_extension WHERE extname = 'timescaledb';
    END IF;
    IF (SELECT array_agg(x::int ORDER BY o)
          FROM unnest((regexp_match(v_installed, '^(\d+)\.(\d+)\.(\d+)'))::text[]) WITH ORDINALITY AS u(x, o))
       < v_min_version THEN
        RAISE EXCEPTION 'TimescaleDB % is too old: watchlist-db needs 2.13.0 or newer', v_installed
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'ALTER EXTENSION timescaledb UPDATE; after installing a newer TimescaleDB on the server.';
    END IF;

    -- 2. Roles (cluster-wide, so created only when missing and never altered otherwise).
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wl_owner') THEN
        CREATE ROLE wl_owner LOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wl_writer') THEN
        CREATE ROLE wl_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wl_reader') THEN
        CREATE ROLE wl_reader NOLOGIN;
    END IF;
    -- The migrating user must be able to SET ROLE wl_owner.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'wl_owner',
               CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) THEN
        IF current_setting('server_version_num')::int >= 160000 THEN
            EXECUTE format('GRANT wl_owner TO %I WITH SET TRUE, INHERIT FALSE', current_user);
        ELSE
            EXECUTE format('GRANT wl_owner TO %I', current_user);
        END IF;
    END IF;

    -- 3. Schemas: watchlist is the API, watchlist_data is private storage.
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist') THEN
        CREATE SCHEMA watchlist AUTHORIZATION wl_owner;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist_data') THEN
        CREATE SCHEMA watchlist_data AUTHORIZATION wl_owner;
    END IF;
END
$bootstrap$;

-- 4. The migrations ledger (owned by wl_owner like everything else).
SET ROLE wl_owner;
CREATE TABLE IF NOT EXISTS watchlist_data.schema_migrations (
    filename    text        NOT NULL PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('migration', 'repeatable')),
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL DEFAULT 0
);
RESET ROLE;
