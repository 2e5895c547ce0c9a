-- Least privilege: exact grants per role, then behaviour under SET ROLE.
-- Adding a table, view or function without deciding (and testing) its privileges fails here.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(41);

SELECT has_role('wl_owner', 'owner role exists');
SELECT has_role('wl_writer', 'writer role exists');
SELECT has_role('wl_reader', 'reader role exists');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'wl_writer'), false, 'wl_writer is a NOLOGIN group role');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'wl_reader'), false, 'wl_reader is a NOLOGIN group role');
SELECT is((SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'wl_owner'), false,
          'wl_owner has no superuser, createrole or createdb');
SELECT CASE WHEN has_table_privilege('pg_catalog.pg_authid', 'SELECT')
            THEN is((SELECT rolpassword IS NULL FROM pg_catalog.pg_authid WHERE rolname = 'wl_owner'), true, 'wl_owner has no password')
            ELSE skip('reading pg_authid needs a superuser; wl_owner''s password not checked', 1) END;

-- Every relation in both schemas is owned by wl_owner.
SELECT is_empty($$SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname IN ('watchlist', 'watchlist_data') AND pg_get_userbyid(c.relowner) <> 'wl_owner'$$,
                'every table, view and sequence belongs to wl_owner');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname IN ('watchlist', 'watchlist_data') AND pg_get_userbyid(p.proowner) <> 'wl_owner'$$,
                'every function and procedure belongs to wl_owner');

-- Exact relation privileges of wl_writer, wl_reader and PUBLIC in both schemas.
SELECT results_eq($$
    SELECT n.nspname::text COLLATE "default", c.relname::text COLLATE "default",
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END::text COLLATE "default",
           a.privilege_type::text COLLATE "default"
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a
     WHERE n.nspname IN ('watchlist', 'watchlist_data') AND c.relkind IN ('r', 'v', 'm', 'p', 'S')
       AND (a.grantee = 0 OR pg_get_userbyid(a.grantee) IN ('wl_writer', 'wl_reader'))
     ORDER BY 1, 2, 3, 4$$,
    $$VALUES ('watchlist', 'barrier_outcome',      'wl_reader', 'SELECT'),
             ('watchlist', 'future_outcome',       'wl_reader', 'SELECT'),
             ('watchlist', 'ingest_rejects',       'wl_reader', 'SELECT'),
             ('watchlist', 'settings',             'wl_reader', 'SELECT'),
             ('watchlist', 'watch_signal_event',   'wl_reader', 'SELECT'),
             ('watchlist', 'watch_signal_raw',     'wl_reader', 'SELECT'),
             ('watchlist', 'watch_signal_raw',     'wl_writer', 'INSERT'),
             ('watchlist', 'watchlist_membership', 'wl_reader', 'SELECT'),
             ('watchlist', 'watchlist_outcome',    'wl_reader', 'SELECT'),
             ('watchlist', 'watchlist_series_agg', 'wl_reader', 'SELECT'),
             ('watchlist', 'watchlist_symbol_ref', 'wl_reader', 'SELECT'),
             ('watchlist_data', 'typea_stats_1h',       'wl_reader', 'SELECT'),
             ('watchlist_data', 'watchlist_series_agg', 'wl_reader', 'SELECT')$$,
    'relation grants: the reader selects the API views (and the caggs behind them, timescaledb#2955), the writer inserts into the raw view (through the writer API); nothing else to anyone');

-- Exact EXECUTE grants on functions and procedures in both schemas.
SELECT results_eq($$
    SELECT p.oid::regprocedure::text COLLATE "default",
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END::text COLLATE "default"
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
     WHERE n.nspname IN ('watchlist', 'watchlist_data')
       AND (a.grantee = 0 OR pg_get_userbyid(a.grantee) IN ('wl_writer', 'wl_reader'))
     ORDER BY 1, 2$$,
    $$VALUES ('watchlist.event_factors(timestamp with time zone,timestamp with time zone,text,text)', 'wl_reader'),
             ('watchlist.event_study(timestamp with time zone,timestamp with time zone,text,integer,boolean,text,text,interval,integer)', 'wl_reader'),
             ('watchlist.export_frame(timestamp with time zone,timestamp with time zone,text,text)', 'wl_reader'),
             ('watchlist.factor_catalog(timestamp with time zone,timestamp with time zone)', 'wl_reader'),
             ('watchlist.factor_ic(timestamp with time zone,timestamp with time zone,text,interval,integer,text,text,text)', 'wl_reader'),
             ('watchlist.factor_ic_by_period(timestamp with time zone,timestamp with time zone,text,interval,integer,text,text,text)', 'wl_reader'),
             ('watchlist.factor_leaderboard(timestamp with time zone,timestamp with time zone,text,interval,integer,text,text,text)', 'wl_reader'),
             ('watchlist.factor_leaderboard_by_delay(timestamp with time zone,timestamp with time zone,integer[],interval,integer,text,text,text)', 'wl_reader'),
             ('watchlist.factor_pbo(timestamp with time zone,timestamp with time zone,integer,text,interval,integer,text,text,text)', 'wl_reader'),
             ('watchlist.factor_walk_forward(timestamp with time zone,timestamp with time zone,integer,text,interval,integer,text,text,text,text)', 'wl_reader'),
             ('watchlist.ingest_raw(jsonb,text)', 'wl_writer'),
             ('watchlist.ingest_raw_columns(text,text[],text[],text[],boolean[],text[],text[],text[],text[],integer[],jsonb[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[],double precision[])', 'wl_writer'),
             ('watchlist.job_health(timestamp with time zone,interval)', 'wl_reader'),
             ('watchlist.jobs(timestamp with time zone)', 'wl_reader'),
             ('watchlist.login_problems()', 'wl_reader'),
             ('watchlist.login_settings(text)', 'wl_reader'),
             ('watchlist.metrics(text,text,timestamp with time zone)', 'wl_reader'),
             ('watchlist.outcome_delays(timestamp with time zone,timestamp with time zone,integer[])', 'wl_reader'),
             ('watchlist.outcome_excess(timestamp with time zone,timestamp with time zone)', 'wl_reader'),
             ('watchlist.policy_problems()', 'wl_reader'),
             ('watchlist.privilege_problems()', 'wl_reader'),
             ('watchlist.record_trades(jsonb)', 'wl_writer'),
             ('watchlist.schema_version()', 'wl_reader'),
             ('watchlist.series(text,text,integer,timestamp with time zone)', 'wl_reader'),
             ('watchlist.series_minute(text,text,integer,timestamp with time zone)', 'wl_reader'),
             ('watchlist.storage_report()', 'wl_reader'),
             ('watchlist.sync_membership(jsonb,timestamp with time zone)', 'wl_writer'),
             ('watchlist.upsert_symbol_refs(jsonb)', 'wl_writer'),
             ('watchlist.walk_forward_folds(timestamp with time zone,timestamp with time zone,integer,interval,text,text,text)', 'wl_reader'),
             ('watchlist.watchlist_list(timestamp with time zone,text)', 'wl_reader'),
             ('watchlist.window_stats(text,text,timestamp with time zone,timestamp with time zone)', 'wl_reader')$$,
    'function grants: writer API to wl_writer, read API to wl_reader, nothing to PUBLIC');

SELECT ok(NOT has_schema_privilege('wl_writer', 'watchlist_data', 'USAGE'), 'writer cannot even look into watchlist_data');
SELECT ok(NOT has_schema_privilege('wl_reader', 'watchlist_data', 'USAGE'), 'reader cannot even look into watchlist_data');
SELECT ok(has_schema_privilege('wl_writer', 'watchlist', 'USAGE') AND NOT has_schema_privilege('wl_writer', 'watchlist', 'CREATE'),
          'writer uses the API schema and cannot create in it');
SELECT ok(has_schema_privilege('wl_reader', 'watchlist', 'USAGE') AND NOT has_schema_privilege('wl_reader', 'watchlist', 'CREATE'),
          'reader uses the API schema and cannot create in it');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'watchlist' AND p.prosecdef
              AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')), 0,
          'every SECURITY DEFINER function pins its search_path');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname IN ('watchlist', 'watchlist_data')
                     AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                                  WHERE c LIKE 'search_path=%' AND c <> 'search_path=pg_catalog, pg_temp')$$,
                'every pinned search_path is exactly pg_catalog, pg_temp (no schema a caller could create in)');
SELECT is_empty($$SELECT problem FROM watchlist.privilege_problems()$$,
                'no role but wl_owner, its members and superusers can create in public, watchlist or watchlist_data');

-- Behaviour as wl_writer. The rows below carry fixed dates (2026-01-01): the writer API
-- accepts a ts no older than raw_retention, widened for this transaction (rolled back).
UPDATE watchlist_data.settings SET value = '36500 days' WHERE key = 'raw_retention';
SET LOCAL ROLE wl_writer;
SELECT is((SELECT inserted FROM watchlist.ingest_raw(
              '[{"ts": "2026-01-01T00:00:00Z", "exchange": "binance", "symbol": "PRIVTEST", "signal_type": "A", "triggered": false}]', 'privtest')),
          1, 'writer inserts raw rows through the writer API');
SELECT results_eq($$SELECT inserted, rejected FROM watchlist.ingest_raw_columns('privtest-c', ts => ARRAY['2026-01-01T00:01:00Z'],
                        exchange => ARRAY['binance'], symbol => ARRAY['PRIVTEST'], signal_type => ARRAY['A'], triggered => ARRAY[false])$$,
                  $$VALUES (1, 0)$$, 'writer inserts raw rows through the typed form of the writer API');
SELECT is(watchlist.upsert_symbol_refs('[{"exchange": "binance", "symbol": "PRIVTEST", "base": "PRIV", "quote": "USDT"}]'), 1,
          'writer upserts symbol reference rows through the API (one row)');
SELECT results_eq($$SELECT entered, stale FROM watchlist.sync_membership('[{"exchange": "binance", "symbol": "PRIVTEST"}]', now())$$,
                  $$VALUES (1, false)$$, 'writer records watchlist membership through the API (PRIVTEST entered)');
SELECT throws_ok($$SELECT * FROM watchlist.watch_signal_raw$$, '42501', 'permission denied for view watch_signal_raw', 'writer cannot read the raw view');
SELECT throws_ok($$INSERT INTO watchlist.watch_signal_raw (ts, exchange, symbol, signal_type, triggered) VALUES (now(), 'binance', 'PRIVTEST', 'A', false) RETURNING ts$$,
                 '42501', 'permission denied for view watch_signal_raw', 'writer inserts into the raw view but cannot read it back (RETURNING)');
SELECT throws_ok($$SELECT * FROM watchlist_data.watch_signal_raw$$, '42501', 'permission denied for schema watchlist_data', 'writer cannot read the raw table');
SELECT throws_ok($$UPDATE watchlist_data.watch_signal_raw SET triggered = true$$, '42501', 'permission denied for schema watchlist_data', 'writer cannot UPDATE raw rows');
SELECT throws_ok($$DELETE FROM watchlist_data.watch_signal_raw$$, '42501', 'permission denied for schema watchlist_data', 'writer cannot DELETE raw rows');
SELECT throws_ok($$TRUNCATE watchlist_data.watch_signal_raw$$, '42501', 'permission denied for schema watchlist_data', 'writer cannot TRUNCATE raw');
SELECT throws_ok($$SELECT watchlist.set_setting('raw_retention', '1 day')$$, '42501', 'permission denied for function set_setting', 'writer cannot change settings');
RESET ROLE;

-- Behaviour as wl_reader.
SET LOCAL ROLE wl_reader;
SELECT is((SELECT count(*)::int FROM watchlist.watch_signal_raw WHERE symbol = 'PRIVTEST'), 2, 'reader reads the raw view (the rows of both writer calls)');
SELECT lives_ok($$SELECT * FROM watchlist.watchlist_series_agg LIMIT 1$$, 'reader reads the 5-minute series view');
SELECT lives_ok($$SELECT * FROM watchlist.window_stats('binance', 'PRIVTEST', now() - interval '12 hours', now())$$, 'reader calls the read API');
SELECT lives_ok($$SELECT * FROM watchlist.watchlist_list(now())$$, 'reader calls the one-call list read');
SELECT lives_ok($$SELECT * FROM watchlist.job_health()$$, 'reader calls watchlist.job_health() (wldb status)');
SELECT ok((SELECT migrations > 0 AND latest ~ '(^|/)\d{4}_[a-z0-9_]+\.sql$' FROM watchlist.schema_version()),
          'reader sees how far the schema is migrated (watchlist.schema_version)');
SELECT ok((SELECT count(*) > 0 FROM watchlist.jobs() WHERE proc_name = 'job_label_outcomes'),
          'reader lists the jobs, the incremental ones with their last figures (watchlist.jobs)');
SELECT throws_ok($$SELECT * FROM watchlist_data.job_state$$, '42501', 'permission denied for schema watchlist_data',
                 'reader cannot read the job state table itself');
SELECT throws_ok($$SELECT watchlist.ingest_raw('[]', 'x')$$, '42501', 'permission denied for function ingest_raw', 'reader cannot call the writer API');
SELECT throws_ok($$SELECT watchlist.ingest_raw_columns('x')$$, '42501', 'permission denied for function ingest_raw_columns',
                 'reader cannot call the typed form of the writer API');
SELECT throws_ok($$INSERT INTO watchlist.watch_signal_raw (ts, exchange, symbol, signal_type, triggered) VALUES (now(), 'binance', 'X', 'A', false)$$,
                 '42501', 'permission denied for view watch_signal_raw', 'reader cannot insert through the views');
SELECT throws_ok($$SELECT watchlist.apply_policies()$$, '42501', 'permission denied for function apply_policies', 'reader cannot touch policies');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
