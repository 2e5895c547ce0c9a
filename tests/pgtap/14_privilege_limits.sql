-- Privilege limits: the read windows (read_max_span), the per-login timeouts a reader or
-- writer login gets, the job locks only the owner can take, and the definer functions'
-- TimescaleDB calls (schema-qualified, public off their search_path).
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(24);

-- 1. Every research and window read refuses a window longer than read_max_span (90 days),
--    naming itself, the window, its span, the limit and the setting; 90 days pass.
SELECT is((SELECT value FROM watchlist.settings WHERE key = 'read_max_span'), '90 days', 'read_max_span is 90 days by default');
SET LOCAL timezone = 'UTC';
SELECT throws_ok($$SELECT * FROM watchlist.event_study('2016-01-01', '2026-01-01', 'spread_rel')$$, '22023',
                 'event_study: the window p_from 2016-01-01 00:00:00+00 .. p_to 2026-01-01 00:00:00+00 spans 3653 days, more than read_max_span (90 days)',
                 'event_study refuses 10 years, naming the window, its span, the limit and the setting');
SELECT throws_like($$SELECT * FROM watchlist.factor_ic('2025-01-01', '2025-04-01 00:00:01')$$,
                   'factor_ic: the window p_from % spans 90 days 00:00:01, more than read_max_span (90 days)', 'factor_ic refuses 90 days and a second');
SELECT throws_like($$SELECT * FROM watchlist.factor_ic_by_period('2025-01-01', '2026-01-01')$$,
                   'factor_ic_by_period: the window % spans 365 days, more than read_max_span (90 days)', 'factor_ic_by_period refuses a year');
SELECT throws_like($$SELECT * FROM watchlist.export_frame('2025-01-01', '2026-01-01')$$,
                   'export_frame: the window % spans 365 days, %', 'export_frame refuses a year, in its own name');
SELECT throws_like($$SELECT * FROM watchlist.event_factors('2025-01-01', '2026-01-01')$$,
                   'event_factors: the window % spans 365 days, %', 'event_factors refuses a year');
SELECT throws_like($$SELECT * FROM watchlist.outcome_excess('2025-01-01', '2026-01-01')$$,
                   'outcome_excess: the window % spans 365 days, %', 'outcome_excess refuses a year');
SELECT throws_like($$SELECT * FROM watchlist.window_stats('binance', 'X', '2025-01-01', '2026-01-01')$$,
                   'window_stats: the window % spans 365 days, %', 'window_stats refuses a year');
SELECT throws_like($$SELECT * FROM watchlist.event_study('-infinity', '2026-01-01', 'spread_rel')$$,
                   'event_study: the window p_from -infinity .. p_to % spans forever, more than read_max_span (90 days)',
                   'an unbounded window is refused too');
SELECT lives_ok($$SELECT * FROM watchlist.event_study('2025-01-01', '2025-04-01', 'spread_rel')$$, 'event_study takes exactly 90 days');
SELECT lives_ok($$SELECT * FROM watchlist.export_frame('2025-01-01', '2025-04-01')$$, 'export_frame takes exactly 90 days');
SELECT lives_ok($$SELECT * FROM watchlist.window_stats('binance', 'X', '2025-01-01', '2025-04-01')$$, 'window_stats takes exactly 90 days');
SELECT is((SELECT count(*)::int FROM watchlist.event_factors(NULL, '2026-01-01')), 0, 'a NULL bound selects nothing, as before');
SELECT lives_ok($$SELECT watchlist.set_setting('read_max_span', '400 days')$$, 'the owner raises the limit');
SELECT lives_ok($$SELECT * FROM watchlist.factor_ic_by_period('2025-01-01', '2026-01-01')$$, '... and a year passes');
SELECT throws_ok($$SELECT * FROM watchlist.outcome_excess('2020-01-01', '2026-01-01')$$, '22023', NULL, '... six years still do not');

-- 2. The session timeouts a login gets from `wldb grant-login`, in the server's units.
SELECT results_eq($$SELECT setting, value FROM watchlist.login_settings('reader')$$,
                  $$VALUES ('statement_timeout', '60000ms'), ('idle_in_transaction_session_timeout', '60000ms'), ('lock_timeout', '10000ms')$$,
                  'reader logins: 60 s statements, 60 s idle in a transaction, 10 s lock waits');
SELECT results_eq($$SELECT setting, value FROM watchlist.login_settings('writer')$$,
                  $$VALUES ('statement_timeout', '600000ms'), ('idle_in_transaction_session_timeout', '300000ms'), ('lock_timeout', '120000ms')$$,
                  'writer logins: generous (10 min, 5 min, 2 min)');
SELECT throws_ok($$SELECT * FROM watchlist.login_settings('owner')$$, '22023', 'login_settings: kind must be reader or writer, got owner',
                 'only reader and writer logins have settings');

-- 3. Job locks: rows only the owner can lock; an unknown name is an error.
SELECT results_eq($$SELECT name FROM watchlist_data.job_lock ORDER BY 1$$,
                  $$VALUES ('compute_factors'), ('label_outcomes'), ('membership'), ('merge_events')$$, 'one job lock per serialised activity');
SELECT throws_ok($$SELECT watchlist_data.take_job_lock('merge_event')$$, '42704', 'unknown watchlist-db job lock "merge_event"',
                 'a misspelt job lock is an error, not a lock on nothing');
SET LOCAL ROLE wl_reader;
SELECT throws_ok($$SELECT FROM watchlist_data.job_lock FOR UPDATE$$, '42501', 'permission denied for schema watchlist_data',
                 'a reader cannot lock the job locks');
RESET ROLE;
SET LOCAL ROLE wl_writer;
SELECT throws_ok($$SELECT FROM watchlist_data.job_lock FOR UPDATE$$, '42501', 'permission denied for schema watchlist_data',
                 'a writer cannot lock the job locks');
RESET ROLE;

-- 4. No function in the two schemas calls TimescaleDB unqualified (a definer function
--    runs with search_path = pg_catalog, pg_temp, so an unqualified call would fail; this
--    names the file to fix before a caller meets it).
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname IN ('watchlist', 'watchlist_data') AND p.prokind IN ('f', 'p')
                     AND regexp_replace(p.prosrc, '--[^\n]*', '', 'g')
                         ~ '(^|[^._a-z0-9])(time_bucket|time_bucket_gapfill|locf|interpolate|first|last|hypertable_size|hypertable_compression_stats|show_chunks|add_job|alter_job|add_compression_policy|add_retention_policy|add_continuous_aggregate_policy|remove_compression_policy|remove_retention_policy|remove_continuous_aggregate_policy|set_chunk_time_interval)\s*\('$$,
                'every TimescaleDB call in watchlist / watchlist_data is schema-qualified (public.<name>)');

SELECT * FROM finish();
ROLLBACK;
