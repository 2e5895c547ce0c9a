-- Adoption of a watchlist database built before watchlist-db (the seed plan's live database:
-- schema watchlist owned by wl_writer holding watch_signal_raw, watch_signal_event,
-- future_outcome, watchlist_outcome, watchlist_symbol_ref, watchlist_series_agg; raw and
-- series RANGE-partitioned by day; LOGIN roles wl_writer / wl_reader with passwords).
--
-- Run by `wldb adopt` as an administrator (a superuser: it renames a schema it does not
-- own and changes the database's owner). This file only (re)defines schema
-- watchlist_adopt: its state tables and the functions below; it changes nothing else.
-- `wldb adopt` runs it and reads watchlist_adopt.plan() inside a transaction it rolls
-- back (the plan changes nothing); `wldb adopt --apply` commits it and calls, each in its
-- own transaction, so an interrupted run resumes where it stopped:
--   watchlist_adopt.preflight()        refuses (raises) while something blocks adoption
--   watchlist_adopt.move_aside()       schema watchlist -> watchlist_legacy (intact)
--   (wldb migrate)                     the project's schemas, roles, tables, API, jobs
--   watchlist_adopt.import_refs()      legacy symbol refs -> watchlist.upsert_symbol_refs
--   watchlist_adopt.raw_batches()      the (day, pass) batches of legacy raw rows, then
--   watchlist_adopt.import_raw(d, p)   each through watchlist.ingest_raw (pass p holds the
--                                      p-th write of a (exchange, symbol, ts): a minute
--                                      written twice is a duplicate of the stored one)
--   watchlist_adopt.import_trades()    legacy watchlist_outcome -> watchlist.record_trades
--   watchlist_adopt.rederive()         events merged from the imported raw span, then labels
--   watchlist_adopt.take_ownership()   database and legacy schema -> wl_owner; CONNECT kept
--   watchlist_adopt.summary()          counts per outcome (they add up to the legacy rows)
-- Every step is recorded in watchlist_adopt.step; a recorded step is not run again.
-- Nothing legacy is dropped or altered: the legacy tables keep their rows, owners,
-- partitions and default privileges in watchlist_legacy (see docs/adopting.md: rollback).

CREATE SCHEMA IF NOT EXISTS watchlist_adopt;
REVOKE ALL ON SCHEMA watchlist_adopt FROM PUBLIC;

CREATE TABLE IF NOT EXISTS watchlist_adopt.step (
    step    text        PRIMARY KEY,
    done_at timestamptz NOT NULL DEFAULT now(),
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE TABLE IF NOT EXISTS watchlist_adopt.state (
    key   text PRIMARY KEY,
    value text
);
CREATE TABLE IF NOT EXISTS watchlist_adopt.raw_batch (
    day        date    NOT NULL,
    pass       integer NOT NULL,
    batch_id   text    NOT NULL,
    received   integer NOT NULL,
    inserted   integer NOT NULL,
    duplicates integer NOT NULL,
    rejected   integer NOT NULL,
    PRIMARY KEY (day, pass)
);
CREATE TABLE IF NOT EXISTS watchlist_adopt.refused (
    tbl       text NOT NULL,
    legacy_id text,
    reason    text NOT NULL
);

-- The legacy tables and what becomes of each.
CREATE OR REPLACE FUNCTION watchlist_adopt.legacy_tables()
RETURNS TABLE (tbl text, fate text)
LANGUAGE sql IMMUTABLE
AS $$
    VALUES ('watch_signal_raw',     'import'),
           ('watchlist_symbol_ref', 'import'),
           ('watchlist_outcome',    'import'),
           ('watch_signal_event',   're-derive'),
           ('future_outcome',       're-derive'),
           ('watchlist_series_agg', 're-derive')
$$;

-- The schema holding the legacy tables: watchlist_legacy once moved aside, watchlist
-- while it is still in the way (not owned by wl_owner, or holding tables), else NULL.
CREATE OR REPLACE FUNCTION watchlist_adopt.legacy_schema()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist_legacy') THEN 'watchlist_legacy'
        WHEN EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = 'watchlist'
                        AND (pg_get_userbyid(n.nspowner) <> 'wl_owner'
                             OR EXISTS (SELECT FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'f'))))
             THEN 'watchlist' END
$$;

CREATE OR REPLACE FUNCTION watchlist_adopt.has_table(p_schema text, p_table text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT p_schema IS NOT NULL AND to_regclass(format('%I.%I', p_schema, p_table)) IS NOT NULL $$;

CREATE OR REPLACE FUNCTION watchlist_adopt.row_count(p_schema text, p_table text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE n bigint;
BEGIN
    IF NOT watchlist_adopt.has_table(p_schema, p_table) THEN RETURN NULL; END IF;
    EXECUTE format('SELECT count(*) FROM %I.%I', p_schema, p_table) INTO n;
    RETURN n;
EXCEPTION WHEN insufficient_privilege THEN
    RETURN NULL;  -- the plan of a user who may not read it (blocked anyway: not a superuser)
END
$$;

-- The fields a raw row may carry (watchlist_data.raw_fields() once migrated; before that
-- the same list, which a test compares with it).
CREATE OR REPLACE FUNCTION watchlist_adopt.raw_fields()
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE v text[];
BEGIN
    IF to_regprocedure('watchlist_data.raw_fields()') IS NOT NULL THEN
        EXECUTE 'SELECT watchlist_data.raw_fields()' INTO v;
        RETURN v;
    END IF;
    RETURN ARRAY['ts', 'next_funding_time', 'exchange', 'symbol', 'signal_type', 'type_class', 'status',
                 'triggered', 'crossings_1h', 'meta', 'spot_price', 'futures_price', 'spread_rel', 'funding_rate',
                 'funding_interval_hours', 'range_1h', 'range_12h', 'volatility', 'slope_3m', 'drift_ratio',
                 'best_buy_high_sell_low', 'best_sell_high_buy_low', 'volume_quote', 'sweep_impact',
                 'book_imbalance', 'bid_ask_spread', 'spread_zscore_1h', 'spread_zscore_12h',
                 'spread_momentum_15m', 'funding_zscore_7d', 'funding_trend_3d', 'funding_vol_7d',
                 'funding_diff_max', 'funding_term_slope', 'rv_1h', 'rv_12h', 'hv_ratio',
                 'premium_index_diff', 'oi_jump_around_funding'];
END
$$;

-- Legacy raw columns the writer API has no field for (besides id): imported into
-- meta.legacy_columns; an app INSERT naming one of them would fail against the new view.
CREATE OR REPLACE FUNCTION watchlist_adopt.extra_raw_columns(p_schema text)
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
      FROM pg_attribute a
     WHERE p_schema IS NOT NULL
       AND a.attrelid = to_regclass(format('%I.watch_signal_raw', p_schema))
       AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname <> ALL (watchlist_adopt.raw_fields() || ARRAY['id', 'ingested_at'])
$$;

-- What blocks adoption right now (empty: nothing).
CREATE OR REPLACE FUNCTION watchlist_adopt.blockers()
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_legacy text := watchlist_adopt.legacy_schema();
BEGIN
    IF NOT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RETURN NEXT format('TimescaleDB is not installed on this server (PostgreSQL %s): install timescaledb 2.x for it '
                           '(image timescale/timescaledb:2.x-pg%s on the same data volume, or the package), then preload it',
                           current_setting('server_version'), current_setting('server_version_num')::int / 10000);
    ELSIF NOT EXISTS (SELECT FROM pg_settings WHERE name = 'timescaledb.disable_load') THEN
        RETURN NEXT format('TimescaleDB is installed but not preloaded: set shared_preload_libraries = ''timescaledb'' in %s and restart',
                           coalesce((SELECT setting FROM pg_settings WHERE name = 'config_file'), 'postgresql.conf'));
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NEXT format('user %s is not a superuser: adoption renames a schema owned by another role and changes the database owner; '
                           'run wldb adopt as the server''s superuser (e.g. postgres)', current_user);
    END IF;
    IF v_legacy IS NULL AND NOT EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'move_aside') THEN
        RETURN NEXT 'no legacy watchlist schema here: nothing to adopt (a fresh database needs only wldb migrate)';
    END IF;
    IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'watchlist_legacy')
       AND NOT EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'move_aside') THEN
        RETURN NEXT 'a schema watchlist_legacy exists already and no adoption moved it there: rename it out of the way first';
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'wl_owner' AND NOT rolcanlogin) THEN
        RETURN NEXT 'role wl_owner exists without LOGIN (TimescaleDB runs jobs only for owners that may log in): ALTER ROLE wl_owner LOGIN first';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION watchlist_adopt.preflight()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE v text;
BEGIN
    SELECT string_agg(b, E'\n  ') INTO v FROM watchlist_adopt.blockers() AS b;
    IF v IS NOT NULL THEN
        RAISE EXCEPTION E'adoption is blocked, nothing was changed:\n  %', v USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

-- The plan: what exists, what will be moved, imported, re-derived, granted, kept, and what
-- the app must change. Read-only. After (part of) an apply, done steps say so.
CREATE OR REPLACE FUNCTION watchlist_adopt.plan()
RETURNS TABLE (section text, item text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_legacy text := watchlist_adopt.legacy_schema();
    v_db_owner text := (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database());
    v_extra text[] := watchlist_adopt.extra_raw_columns(watchlist_adopt.legacy_schema());
    r record;
    n bigint;
    v_password boolean;
BEGIN
    FOR r IN SELECT b FROM watchlist_adopt.blockers() AS b LOOP
        section := 'BLOCKED'; item := 'preflight'; detail := r.b; RETURN NEXT;
    END LOOP;
    section := 'exists'; item := 'server';
    detail := format('PostgreSQL %s; TimescaleDB %s', current_setting('server_version'),
                     coalesce('installed ' || (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
                              'available ' || (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') || ', created by the apply',
                              'NOT installed'));
    RETURN NEXT;
    item := format('database %s', current_database()); detail := format('owner %s', v_db_owner); RETURN NEXT;
    IF v_legacy IS NOT NULL THEN
        item := format('schema %s', v_legacy);
        detail := format('owner %s', (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = v_legacy));
        RETURN NEXT;
        FOR r IN SELECT t.tbl, t.fate FROM watchlist_adopt.legacy_tables() AS t LOOP
            item := format('table %s.%s', v_legacy, r.tbl);
            IF watchlist_adopt.has_table(v_legacy, r.tbl) THEN
                detail := format('%s rows%s', watchlist_adopt.row_count(v_legacy, r.tbl),
                    (SELECT CASE WHEN count(*) > 0 THEN format(', %s partitions', count(*)) ELSE '' END
                       FROM pg_inherits WHERE inhparent = to_regclass(format('%I.%I', v_legacy, r.tbl))));
            ELSE
                detail := 'absent';
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
    FOR r IN SELECT rolname, rolcanlogin, rolsuper,
                    (SELECT string_agg(array_to_string(s.setconfig, ', '), '; ') FROM pg_db_role_setting s WHERE s.setrole = pr.oid) AS settings
               FROM pg_roles pr WHERE rolname IN ('wl_owner', 'wl_writer', 'wl_reader') ORDER BY rolname LOOP
        v_password := NULL;  -- whether a password is set: only a superuser may read pg_authid
        IF has_table_privilege('pg_catalog.pg_authid', 'SELECT') THEN
            EXECUTE 'SELECT rolpassword IS NOT NULL FROM pg_catalog.pg_authid WHERE rolname = $1' INTO v_password USING r.rolname;
        END IF;
        item := format('role %s', r.rolname);
        detail := format('%s%s%s', CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                         CASE WHEN v_password THEN ', password set' ELSE '' END,
                         coalesce(', settings: ' || r.settings, ''));
        RETURN NEXT;
    END LOOP;
    SELECT count(*) INTO n FROM pg_default_acl d JOIN pg_roles pr ON pr.oid = d.defaclrole
     WHERE pr.rolname IN ('wl_writer', 'wl_reader');
    IF n > 0 THEN item := 'default privileges'; detail := format('%s entries of wl_writer / wl_reader', n); RETURN NEXT; END IF;

    -- What the apply does.
    section := 'create';
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb') THEN
        item := 'extension timescaledb'; detail := 'CREATE EXTENSION timescaledb (by wldb migrate)'; RETURN NEXT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wl_owner') THEN
        item := 'role wl_owner'; detail := 'LOGIN without password, owns every watchlist-db object'; RETURN NEXT;
    END IF;
    IF NOT EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'migrate') THEN
        item := 'schemas watchlist (API), watchlist_data (tables)'; detail := 'wldb migrate: hypertables, views, functions, jobs'; RETURN NEXT;
    END IF;

    section := CASE WHEN EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'move_aside') THEN 'done' ELSE 'move' END;
    item := 'schema watchlist -> watchlist_legacy';
    detail := 'ALTER SCHEMA RENAME: every legacy table, partition, index, sequence and default privilege kept intact, nothing dropped';
    RETURN NEXT;

    IF v_legacy IS NOT NULL THEN
        section := CASE WHEN EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'import_refs') THEN 'done' ELSE 'import' END;
        item := 'watchlist_symbol_ref';
        detail := format('%s rows -> watchlist.upsert_symbol_refs', coalesce(watchlist_adopt.row_count(v_legacy, 'watchlist_symbol_ref'), 0));
        RETURN NEXT;
        section := CASE WHEN EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'import_raw') THEN 'done' ELSE 'import' END;
        item := 'watch_signal_raw';
        IF watchlist_adopt.has_table(v_legacy, 'watch_signal_raw') THEN
            EXECUTE format('SELECT format(%L, count(*), count(DISTINCT date_trunc(''day'', ts, ''UTC'')), min(ts), max(ts)) FROM %I.watch_signal_raw',
                           '%s rows over %s days (%s .. %s) -> watchlist.ingest_raw, a batch per day: each stored, a duplicate of a stored minute, or in watchlist.ingest_rejects with its reason',
                           v_legacy) INTO detail;
            IF cardinality(v_extra) > 0 THEN
                detail := detail || format('; columns without a field (%s) go into meta.legacy_columns', array_to_string(v_extra, ', '));
            END IF;
        ELSE
            detail := 'absent';
        END IF;
        RETURN NEXT;
        section := CASE WHEN EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'import_trades') THEN 'done' ELSE 'import' END;
        item := 'watchlist_outcome';
        detail := format('%s rows -> watchlist.record_trades (trade_ref legacy-<id>)', coalesce(watchlist_adopt.row_count(v_legacy, 'watchlist_outcome'), 0));
        RETURN NEXT;
        section := CASE WHEN EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'rederive') THEN 'done' ELSE 're-derive' END;
        item := 'watch_signal_event';
        detail := format('%s legacy rows (%s) kept aside for comparison; events re-derived from the imported raw rows by watchlist.merge_events over their span',
                         coalesce(watchlist_adopt.row_count(v_legacy, 'watch_signal_event'), 0),
                         CASE WHEN watchlist_adopt.has_table(v_legacy, 'watch_signal_event') THEN 'see watchlist_legacy' ELSE 'absent' END);
        RETURN NEXT;
        item := 'future_outcome';
        detail := format('%s legacy rows kept aside; labels written by watchlist.label_outcomes for the re-derived events',
                         coalesce(watchlist_adopt.row_count(v_legacy, 'future_outcome'), 0));
        RETURN NEXT;
        item := 'watchlist_series_agg';
        detail := format('%s legacy rows kept aside; the series is a continuous aggregate of the imported raw rows',
                         coalesce(watchlist_adopt.row_count(v_legacy, 'watchlist_series_agg'), 0));
        RETURN NEXT;
    END IF;

    section := 'keep';
    item := 'roles wl_writer, wl_reader';
    detail := 'attributes, passwords and settings (search_path) unchanged; bootstrap uses them as they are';
    RETURN NEXT;
    section := 'grant';
    item := 'wl_writer'; detail := 'the writer API (ingest_raw, upsert_symbol_refs, record_trades, ...) and INSERT on watchlist.watch_signal_raw; CONNECT'; RETURN NEXT;
    item := 'wl_reader'; detail := 'SELECT on the API views and the read API; CONNECT'; RETURN NEXT;
    section := CASE WHEN EXISTS (SELECT FROM watchlist_adopt.step WHERE step = 'take_ownership') THEN 'done' ELSE 'own' END;
    item := format('database %s', current_database()); detail := format('owner %s -> wl_owner', coalesce((SELECT value FROM watchlist_adopt.state WHERE key = 'db_owner'), v_db_owner)); RETURN NEXT;
    item := 'schema watchlist_legacy'; detail := 'owner -> wl_owner (its tables keep their owner; the app no longer reaches them)'; RETURN NEXT;

    section := 'app';
    item := 'INSERT INTO watch_signal_raw (...)';
    detail := CASE WHEN cardinality(v_extra) = 0
                   THEN 'no change: search_path watchlist, public resolves it to the view watchlist.watch_signal_raw, whose INSERT goes through the writer API (an id column is accepted and ignored; a refused row lands in watchlist.ingest_rejects with a WARNING, the statement succeeds; no RETURNING, no ON CONFLICT with a target)'
                   ELSE format('must drop the column(s) %s from its INSERT: the writer API has no field for them (or put them in meta)', array_to_string(v_extra, ', ')) END;
    RETURN NEXT;
    item := 'events, labels, series';
    detail := 'written by the TimescaleDB jobs now: turn off the app''s own event merge writes (its tables are gone from its search_path)';
    RETURN NEXT;
    item := 'cron';
    detail := 'remove the crontab line running scripts/manage_watchlist_partitions.sh (daily 00:05 UTC): chunks and retention are TimescaleDB policies now; a leftover run fails harmlessly (it cannot create partitions of a view)';
    RETURN NEXT;
    item := 'during --apply';
    detail := 'the app''s writes fail for the seconds between the move and the migrate (its dual-write falls back); pause them if you prefer';
    RETURN NEXT;
END
$$;

CREATE OR REPLACE FUNCTION watchlist_adopt.mark(p_step text, p_detail jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ INSERT INTO watchlist_adopt.step (step, detail) VALUES (p_step, p_detail) ON CONFLICT (step) DO NOTHING $$;

CREATE OR REPLACE FUNCTION watchlist_adopt.done(p_step text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT EXISTS (SELECT FROM watchlist_adopt.step WHERE step = p_step) $$;

-- Step: move the legacy schema aside, recording the owners for the rollback.
CREATE OR REPLACE FUNCTION watchlist_adopt.move_aside()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF watchlist_adopt.done('move_aside') THEN RETURN 'already done'; END IF;
    PERFORM watchlist_adopt.preflight();
    INSERT INTO watchlist_adopt.state VALUES
        ('db_owner', (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())),
        ('schema_owner', (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'watchlist')),
        ('adopted_at', now()::text)
    ON CONFLICT (key) DO NOTHING;
    ALTER SCHEMA watchlist RENAME TO watchlist_legacy;
    PERFORM watchlist_adopt.mark('move_aside');
    RETURN 'schema watchlist renamed to watchlist_legacy';
END
$$;

-- Step: symbol refs, one row at a time so a refused row is reported and costs no other.
CREATE OR REPLACE FUNCTION watchlist_adopt.import_refs()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record; v_ok integer := 0; v_bad integer := 0; v_row jsonb;
BEGIN
    IF watchlist_adopt.done('import_refs') THEN RETURN 'already done'; END IF;
    IF watchlist_adopt.has_table('watchlist_legacy', 'watchlist_symbol_ref') THEN
        FOR r IN SELECT to_jsonb(s) AS j FROM watchlist_legacy.watchlist_symbol_ref s ORDER BY 1 LOOP
            v_row := r.j - 'updated_at' - 'id';
            IF jsonb_typeof(v_row -> 'listed') IS DISTINCT FROM 'string' THEN v_row := v_row - 'listed'; END IF;
            -- a refused row is kept in ingest_rejects by upsert_symbol_refs and written as 0
            IF watchlist.upsert_symbol_refs(jsonb_build_array(v_row)) = 1 THEN
                v_ok := v_ok + 1;
            ELSE
                v_bad := v_bad + 1;
                INSERT INTO watchlist_adopt.refused
                SELECT 'watchlist_symbol_ref', concat_ws(' ', r.j ->> 'exchange', r.j ->> 'symbol'),
                       coalesce((SELECT q.field || ': ' || q.reason FROM watchlist_data.ingest_quarantine AS q
                                  WHERE q.batch_id = 'symbol_refs:' || session_user ORDER BY q.id DESC LIMIT 1), 'refused');
            END IF;
        END LOOP;
    END IF;
    PERFORM watchlist_adopt.mark('import_refs', jsonb_build_object('imported', v_ok, 'refused', v_bad));
    RETURN format('symbol refs: %s imported, %s refused', v_ok, v_bad);
END
$$;

-- The raw batches still to import: one per UTC day and pass (the pass-th write of a key).
CREATE OR REPLACE FUNCTION watchlist_adopt.raw_batches()
RETURNS TABLE (day date, pass integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF watchlist_adopt.done('import_raw') OR NOT watchlist_adopt.has_table('watchlist_legacy', 'watch_signal_raw') THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT d.day, d.pass FROM (
        SELECT (k.ts AT TIME ZONE 'UTC')::date AS day, generate_series(1, max(k.n))::integer AS pass
          FROM (SELECT r.ts, count(*) AS n FROM watchlist_legacy.watch_signal_raw r
                 GROUP BY r.exchange, r.symbol, r.ts) AS k
         GROUP BY 1) AS d
     WHERE NOT EXISTS (SELECT FROM watchlist_adopt.raw_batch b WHERE b.day = d.day AND b.pass = d.pass)
     ORDER BY d.pass, d.day;
END
$$;

-- One raw batch through the writer API, recorded in the same transaction.
CREATE OR REPLACE FUNCTION watchlist_adopt.import_raw(p_day date, p_pass integer)
RETURNS watchlist_adopt.raw_batch
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_fields text[] := watchlist_adopt.raw_fields();
    v_rows   jsonb;
    v_batch  text := format('adopt:watch_signal_raw:%s:%s', p_day, p_pass);
    b        watchlist_adopt.raw_batch;
BEGIN
    SELECT * INTO b FROM watchlist_adopt.raw_batch WHERE day = p_day AND pass = p_pass;
    IF FOUND THEN RETURN b; END IF;
    -- fields the API knows as they are; other legacy columns (not id) into meta.legacy_columns
    SELECT coalesce(jsonb_agg(
               (SELECT coalesce(jsonb_object_agg(e.key, e.value) FILTER (WHERE e.key = ANY (v_fields)), '{}'::jsonb)
                  FROM jsonb_each(x.j) AS e)
               || CASE WHEN x.j - v_fields - 'id' - 'ingested_at' = '{}'::jsonb THEN '{}'::jsonb
                       ELSE jsonb_build_object('meta', coalesce(nullif(x.j -> 'meta', 'null'::jsonb), '{}'::jsonb)
                                                       || jsonb_build_object('legacy_columns', jsonb_strip_nulls(x.j - v_fields - 'id' - 'ingested_at')))
                  END
               ORDER BY x.id), '[]'::jsonb)
      INTO v_rows
      FROM (SELECT to_jsonb(r) AS j, r.id,
                   row_number() OVER (PARTITION BY r.exchange, r.symbol, r.ts ORDER BY r.id) AS n
              FROM watchlist_legacy.watch_signal_raw r
             WHERE r.ts >= p_day::timestamp AT TIME ZONE 'UTC' AND r.ts < (p_day + 1)::timestamp AT TIME ZONE 'UTC') AS x
     WHERE x.n = p_pass;
    SELECT p_day, p_pass, v_batch, i.received, i.inserted, i.duplicates, i.rejected
      INTO b
      FROM watchlist.ingest_raw(v_rows, v_batch) AS i;
    INSERT INTO watchlist_adopt.raw_batch SELECT b.*;
    RETURN b;
END
$$;

CREATE OR REPLACE FUNCTION watchlist_adopt.finish_raw()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE v jsonb;
BEGIN
    IF EXISTS (SELECT FROM watchlist_adopt.raw_batches()) THEN
        RAISE EXCEPTION 'raw batches are still to import' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT jsonb_build_object('received', coalesce(sum(received), 0), 'inserted', coalesce(sum(inserted), 0),
                              'duplicates', coalesce(sum(duplicates), 0), 'rejected', coalesce(sum(rejected), 0))
      INTO v FROM watchlist_adopt.raw_batch;
    PERFORM watchlist_adopt.mark('import_raw', v);
    RETURN format('raw rows: %s', v);
END
$$;

-- Step: trades. The legacy trigger_id pointed at a legacy event; the trade keeps it as
-- labels.legacy_trigger_id and takes exchange / symbol from that event.
CREATE OR REPLACE FUNCTION watchlist_adopt.import_trades()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rows jsonb; v_ok integer := 0; v_bad integer := 0; r record;
    v_has_event boolean := watchlist_adopt.has_table('watchlist_legacy', 'watch_signal_event');
BEGIN
    IF watchlist_adopt.done('import_trades') THEN RETURN 'already done'; END IF;
    IF watchlist_adopt.has_table('watchlist_legacy', 'watchlist_outcome') THEN
        EXECUTE format($q$
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'trade_ref', 'legacy-' || (j ->> 'id'),
                       'exchange', coalesce(j ->> 'exchange', ev ->> 'exchange'),
                       'symbol', coalesce(j ->> 'symbol', ev ->> 'symbol'),
                       'opened_at', j -> 'opened_at', 'closed_at', j -> 'closed_at', 'pnl', j -> 'pnl',
                       'max_drawdown', j -> 'max_drawdown', 'holding_hours', j -> 'holding_hours',
                       'benchmark_return', j -> 'benchmark_return', 'notes', j -> 'notes',
                       'labels', coalesce(nullif(j -> 'labels', 'null'::jsonb), '{}'::jsonb)
                                 || CASE WHEN j ->> 'trigger_id' IS NULL THEN '{}'::jsonb
                                         ELSE jsonb_build_object('legacy_trigger_id', j -> 'trigger_id') END)
                   ORDER BY (j ->> 'id')), '[]'::jsonb)
              FROM (SELECT to_jsonb(o) AS j, %s AS ev FROM watchlist_legacy.watchlist_outcome o) AS t$q$,
            CASE WHEN v_has_event
                 THEN '(SELECT to_jsonb(e) FROM watchlist_legacy.watch_signal_event e WHERE e.id::text = to_jsonb(o) ->> ''trigger_id'')'
                 ELSE 'NULL::jsonb' END)
          INTO v_rows;
        FOR r IN SELECT * FROM watchlist.record_trades(v_rows) LOOP
            IF r.error IS NULL THEN
                v_ok := v_ok + 1;
            ELSE
                v_bad := v_bad + 1;
                INSERT INTO watchlist_adopt.refused VALUES ('watchlist_outcome', r.trade_ref, r.error);
            END IF;
        END LOOP;
    END IF;
    PERFORM watchlist_adopt.mark('import_trades', jsonb_build_object('imported', v_ok, 'refused', v_bad));
    RETURN format('trades: %s imported, %s refused', v_ok, v_bad);
END
$$;

-- Step: events merged over the imported span, then labels.
CREATE OR REPLACE FUNCTION watchlist_adopt.rederive()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_from timestamptz; v_to timestamptz; m record; l record;
BEGIN
    IF watchlist_adopt.done('rederive') THEN RETURN 'already done'; END IF;
    IF watchlist_adopt.has_table('watchlist_legacy', 'watch_signal_raw') THEN
        SELECT min(ts), max(ts) + INTERVAL '1 minute' INTO v_from, v_to FROM watchlist_legacy.watch_signal_raw;
    END IF;
    IF v_from IS NOT NULL THEN
        SELECT * INTO m FROM watchlist.merge_events(v_from, v_to, now());
        SELECT * INTO l FROM watchlist.label_outcomes(now());
    END IF;
    PERFORM watchlist_adopt.mark('rederive', jsonb_build_object(
        'from', v_from, 'to', v_to, 'events_inserted', m.inserted, 'events_updated', m.updated,
        'open_events', m.open_events, 'labels_written', l.written));
    RETURN format('events: %s inserted, %s updated, %s open; labels: %s written',
                  coalesce(m.inserted, 0), coalesce(m.updated, 0), coalesce(m.open_events, 0), coalesce(l.written, 0));
END
$$;

-- Step: ownership, before the migration: a database owned by the app's login lets it create
-- in public (owned by pg_database_owner on PostgreSQL 15+), which `wldb migrate` refuses
-- (watchlist.privilege_problems). wl_owner is created here when missing, with the attributes
-- the bootstrap gives it. The login roles keep CONNECT explicitly (the database owner had it
-- implicitly).
CREATE OR REPLACE FUNCTION watchlist_adopt.take_ownership()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF watchlist_adopt.done('take_ownership') THEN RETURN 'already done'; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wl_owner') THEN
        CREATE ROLE wl_owner LOGIN NOINHERIT;
    END IF;
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO wl_writer, wl_reader', current_database());
    EXECUTE format('ALTER DATABASE %I OWNER TO wl_owner', current_database());
    ALTER SCHEMA watchlist_legacy OWNER TO wl_owner;
    PERFORM watchlist_adopt.mark('take_ownership');
    RETURN format('database %s and schema watchlist_legacy now owned by wl_owner', current_database());
END
$$;

-- Counts per outcome after (or during) the apply.
CREATE OR REPLACE FUNCTION watchlist_adopt.summary()
RETURNS TABLE (item text, legacy_rows bigint, stored bigint, duplicates bigint, refused bigint, note text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    item := 'watch_signal_raw';
    legacy_rows := watchlist_adopt.row_count('watchlist_legacy', 'watch_signal_raw');
    SELECT sum(b.inserted), sum(b.duplicates), sum(b.rejected) INTO stored, duplicates, refused FROM watchlist_adopt.raw_batch b;
    note := 'refused rows: watchlist.ingest_rejects, batch_id adopt:watch_signal_raw:<day>:<pass>';
    RETURN NEXT;
    item := 'watchlist_symbol_ref';
    legacy_rows := watchlist_adopt.row_count('watchlist_legacy', 'watchlist_symbol_ref');
    stored := (SELECT (detail ->> 'imported')::bigint FROM watchlist_adopt.step WHERE step = 'import_refs');
    duplicates := 0;
    refused := (SELECT (detail ->> 'refused')::bigint FROM watchlist_adopt.step WHERE step = 'import_refs');
    note := 'refused rows: watchlist_adopt.refused';
    RETURN NEXT;
    item := 'watchlist_outcome';
    legacy_rows := watchlist_adopt.row_count('watchlist_legacy', 'watchlist_outcome');
    stored := (SELECT (detail ->> 'imported')::bigint FROM watchlist_adopt.step WHERE step = 'import_trades');
    refused := (SELECT (detail ->> 'refused')::bigint FROM watchlist_adopt.step WHERE step = 'import_trades');
    RETURN NEXT;
    item := 'watch_signal_event';
    legacy_rows := watchlist_adopt.row_count('watchlist_legacy', 'watch_signal_event');
    stored := (SELECT count(*) FROM watchlist.watch_signal_event);
    duplicates := NULL; refused := NULL;
    note := 're-derived by the merge; the legacy rows stay in watchlist_legacy';
    RETURN NEXT;
    item := 'future_outcome';
    legacy_rows := watchlist_adopt.row_count('watchlist_legacy', 'future_outcome');
    stored := (SELECT count(*) FROM watchlist.future_outcome);
    note := 'labels of the re-derived events';
    RETURN NEXT;
END
$$;
