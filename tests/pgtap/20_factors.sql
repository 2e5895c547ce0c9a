-- Database factors (watchlist_data.factor_value): table, policies and job; hand-computed
-- rows of a tiny fixture; the factor lab's view of them (event_factors as of the entry
-- time, factor_catalog); benchmark-relative outcomes (outcome_excess; the event study is in
-- 32_event_study.sql) and the group-neutral metrics; privileges under SET ROLE.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(35);

-- table, hypertable, compression, policies, job
SELECT col_is_pk('watchlist_data', 'factor_value', ARRAY['exchange', 'symbol', 'ts'], 'factor_value key (exchange, symbol, ts)');
SELECT is((SELECT count(*)::int FROM timescaledb_information.hypertables
            WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'factor_value' AND compression_enabled),
          1, 'factor_value is a hypertable with compression enabled');
SELECT results_eq($$SELECT attname::text COLLATE "default", segmentby_column_index, orderby_column_index
                      FROM timescaledb_information.compression_settings
                     WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'factor_value' ORDER BY 1$$,
                  $$VALUES ('exchange', 1::smallint, NULL::smallint), ('symbol', 2::smallint, NULL::smallint),
                           ('ts', NULL::smallint, 1::smallint)$$,
                  'factor_value compressed by exchange, symbol, ordered by ts');
SELECT results_eq($$SELECT j.proc_name::text COLLATE "default", coalesce(j.config ->> 'compress_after', j.config ->> 'drop_after')::interval
                      FROM timescaledb_information.jobs AS j
                     WHERE j.hypertable_schema = 'watchlist_data' AND j.hypertable_name = 'factor_value' ORDER BY 1$$,
                  $$VALUES ('policy_compression', INTERVAL '8 days'), ('policy_retention', INTERVAL '30 days')$$,
                  'factor_value compressed after factor_compress_after, dropped after factor_retention');
SELECT is((SELECT j.schedule_interval FROM timescaledb_information.jobs AS j
            WHERE j.proc_schema = 'watchlist_data' AND j.proc_name = 'job_compute_factors'),
          INTERVAL '5 minutes', 'the factor job runs every compute_factors_every (5 minutes)');
SELECT results_eq($$SELECT policy, target, action FROM watchlist.set_setting('compute_factors_every', '10 minutes') WHERE action <> 'unchanged'$$,
                  $$VALUES ('job', 'watchlist_data.job_compute_factors', 'changed')$$,
                  'set_setting(compute_factors_every) changes exactly the factor job');
SELECT is((SELECT j.schedule_interval FROM timescaledb_information.jobs AS j
            WHERE j.proc_schema = 'watchlist_data' AND j.proc_name = 'job_compute_factors'),
          INTERVAL '10 minutes', 'the factor job now runs every 10 minutes');

-- fixture: one key, four raw rows in three 5-minute buckets ending T+5, T+10, T+15
-- T = 01:00 UTC yesterday: the fixture's events fall in one UTC day (one IC period)
CREATE TEMP TABLE wl_fx AS SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - INTERVAL '23 hours' AS t;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate, meta)
SELECT wl_fx.t + v.m * INTERVAL '1 minute', 'pgtapfx', 'FX1', 'A', v.trig, v.s, 0.0001, v.meta::jsonb
  FROM wl_fx, (VALUES
    (1,  false, 0.001, '{}'),
    (2,  false, 0.003, '{}'),
    (6,  true,  0.002, '{}'),
    (11, true,  0.004, '{"exchanges": [
        {"name": "pgtapfx", "kind": "perp", "funding_rate": 0.0001, "funding_interval_hours": 8, "oi_usd": 2000000, "volume_24h_quote": 10000000},
        {"name": "other", "kind": "perp", "funding_rate": 0.0004, "funding_interval_hours": 4, "oi_usd": 1000000, "volume_24h_quote": 5000000},
        {"name": "spotx", "kind": "spot", "price_bid": 1.0}]}')) AS v(m, trig, s, meta);
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
SELECT 'pgtapfx', 'FX1', t - INTERVAL '1 day' FROM wl_fx;

SELECT results_eq($$SELECT bucket_ends, base_rows, factor_rows FROM wl_fx, watchlist.compute_factors(t, t + INTERVAL '15 minutes')$$,
                  $$VALUES (3, 3::bigint, 3::bigint)$$, 'compute_factors: 3 bucket ends, 3 rows of the fixture');
SELECT results_eq($$SELECT f.ts - wl_fx.t, f.b_n_rows, f.b_spread_close, f.b_spread_high, f.b_spread_low, f.b_triggered_last
                      FROM watchlist_data.factor_value AS f, wl_fx WHERE f.exchange = 'pgtapfx' ORDER BY f.ts$$,
                  $$VALUES (INTERVAL '5 minutes', 2, 0.003::float8, 0.003::float8, 0.001::float8, false),
                           (INTERVAL '10 minutes', 1, 0.002::float8, 0.002::float8, 0.002::float8, true),
                           (INTERVAL '15 minutes', 1, 0.004::float8, 0.004::float8, 0.004::float8, true)$$,
                  'bases: last spread of each bucket [t - 5 min, t), its high and low, triggered state of its last row');
SELECT results_eq($$SELECT f.ts - wl_fx.t, round(f.spread_zscore_1h::numeric, 6), round(f.spread_rsi_sma_14::numeric, 6),
                           round(f.rv_1h::numeric, 9), round(f.spread_drawdown_12h::numeric, 9), f.spread_momentum_15m,
                           f.signal_persistence_min
                      FROM watchlist_data.factor_value AS f, wl_fx WHERE f.exchange = 'pgtapfx' ORDER BY f.ts$$,
                  $$VALUES (INTERVAL '5 minutes',  0.707107, NULL::numeric,  NULL::numeric, 0.000000000, NULL::float8, 0::float8),
                           (INTERVAL '10 minutes', 0.000000, 0.000000,  0.001000000, 0.001000000, NULL, 5),
                           (INTERVAL '15 minutes', 1.161895, 66.666667, 0.002236068, 0.001000000, NULL, 10)$$,
                  'hand-computed z-score 1 h, RSI (simple averages), realised vol, drawdown, momentum (no row 15 min back), persistence');
SELECT results_eq($$SELECT s.ts - wl_fx.t, s.ws_n, s.wx_n, s.wx_1, s.wx_2, s.wd_n, s.wd_d2
                      FROM watchlist_data.factor_window_state AS s, wl_fx WHERE s.exchange = 'pgtapfx' AND s.symbol = 'FX1'$$,
                  $$VALUES (INTERVAL '15 minutes', 4::bigint, 3, 0.009::numeric, 0.000029::numeric, 2, 0.000005::numeric)$$,
                  'window state carried to the last bucket end: 4 raw samples, x = 0.003, 0.002, 0.004 (sum, sum of squares), 2 steps (sum of d^2)');
SELECT results_eq($$SELECT s.r_x[1:4], array_length(s.r_x, 1), s.r_sn[1:4], array_length(s.r_sn, 1), s.r_pers
                      FROM watchlist_data.factor_window_state AS s WHERE s.exchange = 'pgtapfx' AND s.symbol = 'FX1'$$,
                  $$VALUES (ARRAY[0.004, 0.002, 0.003, NULL]::float8[], 36, ARRAY[1, 1, 2, NULL], 11, 10::float8)$$,
                  'window state slots (0070): slot k = the row at T+15 - (k - 1) x 5 min, newest first, NULL before the first row');
SELECT results_eq($$SELECT round(f.funding_term_slope::numeric, 9), round(f.oi_to_volume::numeric, 9),
                           round(f.perp_oi_dominance::numeric, 9), f.hour_of_day,
                           f.session = CASE WHEN f.hour_of_day >= 8 AND f.hour_of_day < 14 THEN 1
                                            WHEN f.hour_of_day >= 14 AND f.hour_of_day < 22 THEN 2 ELSE 0 END
                      FROM watchlist_data.factor_value AS f, wl_fx
                     WHERE f.exchange = 'pgtapfx' AND f.ts = wl_fx.t + INTERVAL '15 minutes'$$,
                  $$SELECT -0.000075000::numeric, 0.200000000::numeric, 0.666666667::numeric,
                           extract(hour FROM wl_fx.t AT TIME ZONE 'UTC')::float8, true FROM wl_fx$$,
                  'meta.exchanges: term slope across intervals, OI / volume, own OI dominance; hour and session of the bucket');
SELECT is((SELECT count(*)::int FROM watchlist_data.factor_value AS f, wl_fx
            WHERE f.exchange = 'pgtapfx' AND f.ts > wl_fx.t + INTERVAL '15 minutes'), 0,
          'no row for a bucket that has not ended at p_to');
SELECT results_eq($$SELECT bucket_ends, base_rows, factor_rows FROM wl_fx, watchlist.compute_factors(t, t + INTERVAL '15 minutes')$$,
                  $$VALUES (3, 3::bigint, 3::bigint)$$, 'recomputing the window rewrites the same 3 rows');
SELECT is((SELECT count(*)::int FROM watchlist_data.factor_value WHERE exchange = 'pgtapfx'), 3, 'still 3 rows (idempotent)');
-- the engine's steps (docs/factor-engine.md): staged per bucket end, created once per transaction
SELECT results_eq($$SELECT c.exchange, c.symbol, c.x, c.fullw FROM pg_temp.wl_factor_cur AS c$$,
                  $$VALUES ('pgtapfx', 'FX1', 0.004::float8, false)$$,
                  'the staged rows at t (step 2.1) hold the last bucket end only: FX1 at T+15, rolling its state');
SELECT results_eq($$SELECT count(*)::int, sum(l.fb_mx IS NULL::int)::int FROM pg_temp.wl_factor_w12 AS l$$,
                  $$VALUES (1, 1)$$, 'the staged 12-hour sums (step 2.4): one key, no hourly block yet');
SELECT results_eq($$SELECT bucket_ends, factor_rows FROM wl_fx,
                           watchlist.compute_factors(t - INTERVAL '10 days', t - INTERVAL '10 days' + INTERVAL '5 hours')$$,
                  $$VALUES (60, 0::bigint)$$, 'an empty window: 60 bucket ends, no rows');
SELECT is((SELECT count(*)::int FROM pg_locks AS l
            WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND NOT EXISTS (SELECT 1 FROM pg_class AS c WHERE c.oid = l.relation)),
          0, 'the staged tables are reused, not dropped per bucket end (a dropped table keeps its locks to the commit)');
SELECT is((SELECT count(*)::int FROM pg_proc AS p CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
            WHERE p.pronamespace = 'watchlist_data'::regnamespace AND p.proname IN ('compute_factors_keys', 'factor_base_step',
                  'factor_slots_step', 'factor_window_step', 'factor_funding_step', 'factor_write_step')
              AND a.privilege_type = 'EXECUTE' AND a.grantee IN (0, 'wl_writer'::regrole, 'wl_reader'::regrole)), 0,
          'the engine''s step functions are executable by neither PUBLIC, the writer nor the reader');
SELECT is((SELECT string_agg(c.relname || '.' || a.attname, ', ' ORDER BY 1)
             FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'watchlist_data'::regnamespace AND c.relname IN ('factor_window_state', 'factor_funding_state')
              AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN ('exchange', 'symbol')
              AND col_description(c.oid, a.attnum) IS NULL), NULL,
          'every column of the state tables but the key says what it holds (COMMENT ON COLUMN)');
SELECT throws_ok($$SELECT * FROM watchlist.compute_factors(now(), now() - INTERVAL '1 hour')$$, '22023', NULL,
                 'compute_factors refuses an empty window');

-- factor lab: a confirmed event entered (confirmed_at = entry_ts) at T+12 sees the row of T+10, never T+15's
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, confirmed_at, duration_sec, n_samples, status, is_open)
SELECT 'pgtapfx', 'FX1', 'A', t + INTERVAL '12 minutes', t + INTERVAL '13 minutes', t + INTERVAL '12 minutes', 60, 2, 'confirmed', false FROM wl_fx;
SELECT results_eq($$SELECT f.factor, round(f.value::numeric, 9) FROM wl_fx, watchlist.event_factors(t, t + INTERVAL '1 hour', NULL, 'pgtapfx') AS f
                     WHERE f.factor IN ('db.signal_persistence_min', 'db.spread_rsi_sma_14', 'db.rv_1h', 'spread_rel') ORDER BY 1$$,
                  $$VALUES ('db.rv_1h', 0.001000000), ('db.signal_persistence_min', 5.000000000), ('db.spread_rsi_sma_14', 0.000000000),
                           ('spread_rel', 0.004000000)$$,
                  'event_factors: database factors as db.<column> from the row at or before the entry time, next to the app''s');
SELECT is((SELECT count(*)::int FROM wl_fx, watchlist.event_factors(t, t + INTERVAL '1 hour', NULL, 'pgtapfx') AS f
            WHERE f.factor LIKE 'db.b\_%'), 0, 'the bucket bases (b_*) are not factors');
SELECT results_eq($$SELECT c.source, c.n_rows, c.n_values, round(c.coverage::numeric, 6), c.definition LIKE 'RSI with simple averages%'
                      FROM wl_fx, watchlist.factor_catalog(t, t + INTERVAL '20 minutes') AS c WHERE c.factor = 'db.spread_rsi_sma_14'$$,
                  $$VALUES ('database', 3::bigint, 2::bigint, 0.666667, true)$$,
                  'factor_catalog: source, coverage and the definition from the column comment');
SELECT results_eq($$SELECT c.source, c.n_rows, c.n_values FROM wl_fx, watchlist.factor_catalog(t, t + INTERVAL '20 minutes') AS c
                     WHERE c.factor IN ('spread_rel', 'spread_zscore_1h') ORDER BY c.factor$$,
                  $$VALUES ('app', 4::bigint, 4::bigint), ('app', 4::bigint, 0::bigint)$$,
                  'factor_catalog: the app''s columns with their coverage over raw rows');
SELECT is((SELECT count(*)::int FROM watchlist.factor_catalog() WHERE source = 'database'),
          (SELECT count(*)::int FROM pg_attribute WHERE attrelid = 'watchlist_data.factor_value'::regclass AND attnum > 0
              AND NOT attisdropped AND col_description(attrelid, attnum) LIKE 'factor: %'),
          'every database factor column is listed, and each has its definition');

-- benchmark-relative outcomes: two events in one hour (pnl 10, 20), one two hours later (40)
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, confirmed_at, duration_sec, n_samples, status, is_open)
SELECT 'pgtapfx', v.s, 'A', t + v.m * INTERVAL '1 minute', t + v.m * INTERVAL '1 minute', t + v.m * INTERVAL '1 minute', 0, 1, 'confirmed', false
  FROM wl_fx, (VALUES ('FX2', 20), ('FX3', 140)) AS v(s, m);
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
SELECT t + v.m * INTERVAL '1 minute', 'pgtapfx', v.s, 'A', true, 0.001 FROM wl_fx, (VALUES ('FX2', 20), ('FX3', 140)) AS v(s, m);
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
SELECT 'pgtapfx', s, t - INTERVAL '1 day' FROM wl_fx, unnest(ARRAY['FX2', 'FX3']) AS s;
INSERT INTO watchlist_data.watchlist_symbol_ref (exchange, symbol, sector, liquidity_tier)
VALUES ('pgtapfx', 'FX1', 'l1', 1), ('pgtapfx', 'FX2', 'l1', 2), ('pgtapfx', 'FX3', 'defi', 2);
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl)
SELECT e.id, 30, true, CASE e.symbol WHEN 'FX1' THEN 10 WHEN 'FX2' THEN 20 ELSE 40 END
  FROM watchlist_data.watch_signal_event AS e WHERE e.exchange = 'pgtapfx';
SELECT results_eq($$SELECT x.symbol, x.sector, x.pnl, x.bench_universe, x.excess_pnl, x.bench_tod, x.excess_pnl_tod
                      FROM wl_fx, watchlist.outcome_excess(t, t + INTERVAL '1 day') AS x ORDER BY x.symbol$$,
                  $$VALUES ('FX1', 'l1', 10::float8, 20::float8, -10::float8, NULL::float8, NULL::float8),
                           ('FX2', 'l1', 20::float8, 10::float8, 10::float8, NULL, NULL),
                           ('FX3', 'defi', 40::float8, NULL, NULL, NULL, NULL)$$,
                  'outcome_excess: pnl minus the mean of the other events of the hour (none for FX3); one day: no earlier hour of day');
SELECT results_eq($$SELECT o.symbol, o.y FROM wl_fx,
                           watchlist_data.factor_observations(t, t + INTERVAL '1 day', 'excess_pnl_sector', INTERVAL '1 day',
                                                              NULL, 'pgtapfx', 'spread_rel') AS o ORDER BY o.symbol$$,
                  $$VALUES ('FX1', -5::float8), ('FX2', 5::float8), ('FX3', 0::float8)$$,
                  'sector-neutral pnl: minus the mean of the period''s events of its sector');
SELECT results_eq($$SELECT o.symbol, o.y FROM wl_fx,
                           watchlist_data.factor_observations(t, t + INTERVAL '1 day', 'excess_pnl_tier', INTERVAL '1 day',
                                                              NULL, 'pgtapfx', 'spread_rel') AS o ORDER BY o.symbol$$,
                  $$VALUES ('FX1', 0::float8), ('FX2', -10::float8), ('FX3', 10::float8)$$,
                  'tier-neutral pnl: minus the mean of the period''s events of its liquidity tier');
SELECT throws_ok($$SELECT * FROM watchlist_data.factor_observations(now() - INTERVAL '1 day', now(), 'excess_alpha', INTERVAL '1 day',
                                                                      NULL, NULL, NULL)$$,
                 '22023', NULL, 'an unknown metric is refused');

-- privileges
SET LOCAL ROLE wl_reader;
SELECT lives_ok($$SELECT * FROM watchlist.factor_catalog(now() - INTERVAL '1 hour', now())$$, 'the reader lists the factors');
SELECT throws_ok($$SELECT * FROM watchlist.compute_factors(now() - INTERVAL '1 hour', now())$$, '42501', NULL,
                 'the reader cannot compute factors');
RESET ROLE;
SET LOCAL ROLE wl_writer;
SELECT throws_ok($$SELECT * FROM watchlist.compute_factors(now() - INTERVAL '1 hour', now())$$, '42501', NULL,
                 'the writer cannot compute factors');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
