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

-- 5. The schemas that SECURITY DEFINER code runs against must be writable only by trusted
--    roles. Every definer function pins search_path = pg_catalog, pg_temp and calls
--    TimescaleDB qualified with the schema it is installed in (the files say
--    @extschema@.<name>(...); `wldb migrate` puts in pg_extension's extnamespace: public
--    on a server, pg_catalog on the embedded engine). A qualified call is still resolved
--    among every function of that name in the schema: a role that can create there can
--    add an overload with a better-matching signature (say public.last(float8, timestamptz)
--    beside TimescaleDB's last(anyelement, "any")) and have it run as wl_owner; migrations,
--    which run as wl_owner with the default search_path, would run it too. So migrating
--    refuses, before any migration, a database where watchlist.privilege_problems()
--    reports a problem. `wldb status` shows the same list. See docs/security.md.
SET ROLE wl_owner;
-- watchlist.privilege_problems(): one row per way a role other than a superuser, wl_owner
-- or a member of wl_owner (the migrating admin) could get its code run as wl_owner, with
-- the statement that fixes it: CREATE in public, TimescaleDB's schema, watchlist or
-- watchlist_data (granted to PUBLIC or to the role, or by owning the schema, or, on
-- PostgreSQL 15+ where public belongs to pg_database_owner, by owning the database), or a
-- function such a role owns in public or TimescaleDB's schema that is not TimescaleDB's.
-- Defined here, not in sql/functions/, because the bootstrap must check before the first
-- migration runs.
CREATE OR REPLACE FUNCTION watchlist.privilege_problems()
RETURNS TABLE (problem text, fix text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH s AS (
        SELECT n.oid, n.nspname, n.nspowner, pg_get_userbyid(n.nspowner) AS schema_owner,
               EXISTS (SELECT FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) AS a
                        WHERE a.grantee = 0 AND a.privilege_type = 'CREATE') AS public_create
          FROM pg_namespace AS n
         WHERE n.nspname IN ('public', 'watchlist', 'watchlist_data')
            OR n.oid = (SELECT e.extnamespace FROM pg_extension AS e WHERE e.extname = 'timescaledb')
    )
    SELECT format('every role (PUBLIC) may CREATE in schema %s', s.nspname),
           format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC;', s.nspname)
      FROM s WHERE s.public_create
    UNION ALL
    SELECT format('role %s may CREATE in schema %s%s', ro.rolname, s.nspname,
                  CASE WHEN s.schema_owner = 'pg_database_owner' AND pg_has_role(ro.oid, s.nspowner, 'USAGE')
                       THEN format(' (%s database %s, and schema %s belongs to pg_database_owner)',
                                   CASE WHEN ro.oid = (SELECT d.datdba FROM pg_database AS d WHERE d.datname = current_database())
                                        THEN 'it owns' ELSE 'it is a member of the owner of' END,
                                   current_database(), s.nspname)
                       WHEN pg_has_role(ro.oid, s.nspowner, 'USAGE') THEN ' (it owns the schema, or is a member of its owner)' ELSE '' END),
           CASE WHEN pg_has_role(ro.oid, s.nspowner, 'USAGE') THEN format('ALTER SCHEMA %I OWNER TO wl_owner;', s.nspname)
                ELSE format('REVOKE CREATE ON SCHEMA %I FROM %I;', s.nspname, ro.rolname) END
      FROM s CROSS JOIN pg_roles AS ro
     WHERE NOT s.public_create
       AND ro.rolname !~ '^pg_'
       AND NOT pg_has_role(ro.oid, 'wl_owner', 'MEMBER')
       AND has_schema_privilege(ro.oid, s.oid, 'CREATE')
    UNION ALL
    SELECT format('%s %s in schema %s belongs to %s, not to TimescaleDB', lower(k.kind), p.oid::regprocedure,
                  p.pronamespace::regnamespace, pg_get_userbyid(p.proowner)),
           format('DROP %s %s;', k.kind, p.oid::regprocedure)
      FROM pg_proc AS p
     CROSS JOIN LATERAL (SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind) AS k
     WHERE (p.pronamespace = 'public'::regnamespace
            OR p.pronamespace = (SELECT e.extnamespace FROM pg_extension AS e WHERE e.extname = 'timescaledb'))
       AND NOT pg_has_role(p.proowner, 'wl_owner', 'MEMBER')
       AND NOT EXISTS (SELECT FROM pg_depend AS d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ORDER BY 1
$$;
REVOKE ALL ON FUNCTION watchlist.privilege_problems() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.privilege_problems() TO wl_reader;
RESET ROLE;

DO $trust$
DECLARE
    v_problems   text;
    v_fixes      text;
BEGIN
    SELECT string_agg(DISTINCT p.problem, '; '), string_agg(DISTINCT p.fix, ' ')
      INTO v_problems, v_fixes
      FROM watchlist.privilege_problems() AS p;
    IF v_problems IS NOT NULL THEN
        RAISE EXCEPTION 'refusing to migrate database %: roles other than wl_owner could have their code run as wl_owner: %',
                current_database(), v_problems
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('As a superuser (or the schema''s owner) in database %s run: %s Then run wldb migrate again. See docs/security.md.',
                                current_database(), v_fixes);
    END IF;
END
$trust$;
