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
-- The operator grants wl_writer / wl_reader to login users of their own. An existing
-- wl_writer / wl_reader (e.g. LOGIN roles with passwords of a database adopted with
-- `wldb adopt`) is used as it is: roles are never altered here.

DO $bootstrap$
DECLARE
    v_min_text    CONSTANT text := '2.13.0';   -- the oldest TimescaleDB supported
    v_installed   text;
    v_available   text;
    -- superuser-only settings: pg_settings hides them from other users instead of failing
    v_conf        text := coalesce((SELECT setting FROM pg_settings WHERE name = 'config_file'), 'postgresql.conf');
    v_preload     text := coalesce((SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'), '(not visible to this user)');
BEGIN
    -- 1. TimescaleDB: installed on the server, preloaded, recent enough, and created here
    --    (created when allowed). Checked in that order so the message names the first fix.
    SELECT extversion INTO v_installed FROM pg_extension WHERE extname = 'timescaledb';
    SELECT default_version INTO v_available FROM pg_available_extensions WHERE name = 'timescaledb';
    IF v_installed IS NULL AND v_available IS NULL THEN
        RAISE EXCEPTION 'watchlist-db needs the TimescaleDB extension, and this server does not have it installed'
            USING ERRCODE = 'feature_not_supported',
                  HINT = format('Install TimescaleDB %s or newer for PostgreSQL %s on the server (packages or the timescale/timescaledb image), '
                                'add timescaledb to shared_preload_libraries in %s, restart the server and run wldb migrate again.',
                                v_min_text, current_setting('server_version'), v_conf);
    END IF;
    IF (SELECT array_agg(x::int ORDER BY o)
          FROM unnest(regexp_match(coalesce(v_installed, v_available), '^(\d+)\.(\d+)\.(\d+)')) WITH ORDINALITY AS u(x, o))
       < string_to_array(v_min_text, '.')::int[] THEN
        RAISE EXCEPTION 'TimescaleDB % is too old: watchlist-db needs % or newer', coalesce(v_installed, v_available), v_min_text
            USING ERRCODE = 'feature_not_supported',
                  HINT = CASE WHEN v_installed IS NULL
                              THEN 'Install a newer TimescaleDB package on the server, restart it, and run wldb migrate again.'
                              ELSE 'Install a newer TimescaleDB package on the server, restart it, run ALTER EXTENSION timescaledb UPDATE; '
                                   'in a fresh session in this database, then wldb migrate again.' END;
    END IF;
    -- The library defines its settings when it is loaded; without them any use of the
    -- extension ends the session with a FATAL error instead of a message.
    IF NOT EXISTS (SELECT FROM pg_settings WHERE name = 'timescaledb.disable_load') THEN   -- defined by the loader, and by the embedded build's LOAD
        RAISE EXCEPTION 'TimescaleDB % is installed but not preloaded: shared_preload_libraries = %',
                coalesce(v_installed, v_available), quote_literal(v_preload)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Add timescaledb to shared_preload_libraries in %s (e.g. shared_preload_libraries = ''timescaledb''), '
                                'restart the server, then run wldb migrate again.', v_conf);
    END IF;
    -- 2. Nothing in the way, checked before anything is created (this whole file is one
    --    transaction, so a refusal here or below leaves the database as it was).
    --    A schema watchlist that is not ours (another owner, or tables in it: ours holds
    --    only views and functions) is a database built before watchlist-db: adopt it.
    IF EXISTS (SELECT FROM pg_namespace n
                WHERE n.nspname = 'watchlist'
                  AND (pg_get_userbyid(n.nspowner) <> 'wl_owner'
                       OR EXISTS (SELECT FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'f')))) THEN
        RAISE EXCEPTION 'schema watchlist is in the way: it belongs to % and holds % table(s) (%) that watchlist-db did not create',
                (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'watchlist'),
                (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'watchlist' AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition),
                coalesce((SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'watchlist' AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition), 'none')
            USING ERRCODE = 'duplicate_schema',
                  HINT = 'This looks like a database built before watchlist-db. Nothing was changed. '
                         'Run `wldb adopt` to see the plan that moves it aside and imports its rows, then `wldb adopt --apply`.';
    END IF;
    -- Roles are never altered: one that exists with attributes the project needs otherwise
    -- is a refusal. wl_owner must be able to log in (TimescaleDB runs its jobs as it);
    -- wl_writer / wl_reader may be LOGIN roles of an existing installation (kept as they are).
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'wl_owner' AND NOT rolcanlogin) THEN
        RAISE EXCEPTION 'role wl_owner exists without LOGIN; TimescaleDB runs the jobs of a hypertable owner only when it may log in'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Nothing was changed. wldb never alters existing roles: run ALTER ROLE wl_owner LOGIN; as an administrator, then wldb migrate again.';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        IF NOT (SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user)
           AND EXISTS (SELECT FROM unnest(ARRAY['wl_owner', 'wl_writer', 'wl_reader']) AS r(n)
                        WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.n)) THEN
            RAISE EXCEPTION 'user % may not create the roles wl_owner, wl_writer, wl_reader', current_user
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Nothing was changed. Run wldb migrate as a superuser or a user WITH CREATEROLE.';
        END IF;
        IF NOT has_database_privilege(current_database(), 'CREATE')
           AND (NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist')
                OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist_data')) THEN
            RAISE EXCEPTION 'user % may not create schemas in database %', current_user, current_database()
                USING ERRCODE = 'insufficient_privilege',
                      HINT = format('Nothing was changed. Run GRANT CREATE ON DATABASE %I TO %I; as its owner, or migrate as a superuser.',
                                    current_database(), current_user);
        END IF;
    END IF;

    IF v_installed IS NULL THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'TimescaleDB % is available but not created in database % and user % may not create it',
                v_available, current_database(), current_user
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Ask a superuser to run: CREATE EXTENSION timescaledb; in this database, then run wldb migrate again.';
        END;
    END IF;

    -- 3. Roles (cluster-wide, so created only when missing and never altered otherwise).
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

    -- 4. Schemas: watchlist is the API, watchlist_data is private storage.
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist') THEN
        CREATE SCHEMA watchlist AUTHORIZATION wl_owner;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist_data') THEN
        CREATE SCHEMA watchlist_data AUTHORIZATION wl_owner;
    END IF;
END
$bootstrap$;

-- 5. The migrations ledger (owned by wl_owner like everything else).
SET ROLE wl_owner;
CREATE TABLE IF NOT EXISTS watchlist_data.schema_migrations (
    filename    text        NOT NULL PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('migration', 'repeatable')),
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL DEFAULT 0
);
RESET ROLE;
