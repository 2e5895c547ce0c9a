-- Shape: schemas, tables, views, keys, constraints, hypertable and continuous aggregates.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(39);

SELECT has_schema('watchlist', 'API schema watchlist exists');
SELECT has_schema('watchlist_data', 'private schema watchlist_data exists');
SELECT schema_owner_is('watchlist', 'wl_owner', 'watchlist is owned by wl_owner');
SELECT schema_owner_is('watchlist_data', 'wl_owner', 'watchlist_data is owned by wl_owner');

SELECT tables_are('watchlist_data', ARRAY[
    'watch_signal_raw', 'watch_signal_event', 'future_outcome', 'watchlist_outcome',
    'watchlist_symbol_ref', 'watchlist_membership', 'ingest_quarantine', 'settings', 'schema_migrations', 'job_state', 'job_run_log', 'job_lock',
    'factor_value', 'factor_window_state', 'factor_funding_state', 'label_job_state', 'label_ranked_day', 'factor_trial',
    'barrier_outcome'],
    'watchlist_data holds exactly the expected tables');
SELECT tables_are('watchlist', ARRAY[]::name[], 'the API schema holds no tables');
SELECT views_are('watchlist', ARRAY[
    'watch_signal_raw', 'watch_signal_event', 'future_outcome', 'watchlist_outcome',
    'watchlist_symbol_ref', 'watchlist_membership', 'watchlist_series_agg', 'settings', 'ingest_rejects', 'barrier_outcome'],
    'watchlist exposes exactly the expected views');

-- raw: natural key, core columns, types
SELECT col_is_pk('watchlist_data', 'watch_signal_raw', ARRAY['exchange', 'symbol', 'ts'], 'raw primary key is (exchange, symbol, ts)');
SELECT columns_are('watchlist_data', 'watch_signal_raw', ARRAY[
    'ts', 'exchange', 'symbol', 'signal_type', 'type_class', 'triggered', 'status',
    'spot_price', 'futures_price', 'spread_rel', 'funding_rate', 'funding_interval_hours', 'next_funding_time',
    'range_1h', 'range_12h', 'volatility', 'slope_3m', 'crossings_1h', 'drift_ratio',
    'best_buy_high_sell_low', 'best_sell_high_buy_low', 'volume_quote', 'sweep_impact', 'book_imbalance',
    'bid_ask_spread', 'spread_zscore_1h', 'spread_zscore_12h', 'spread_momentum_15m', 'funding_zscore_7d',
    'funding_trend_3d', 'funding_vol_7d', 'funding_diff_max', 'funding_term_slope', 'rv_1h', 'rv_12h',
    'hv_ratio', 'premium_index_diff', 'oi_jump_around_funding', 'meta', 'ingested_at'],
    'raw has the seed''s core scalar columns plus meta');
SELECT col_type_is('watchlist_data', 'watch_signal_raw', 'ts', 'timestamp with time zone', 'raw.ts is timestamptz');
SELECT col_type_is('watchlist_data', 'watch_signal_raw', 'next_funding_time', 'timestamp with time zone', 'raw.next_funding_time is timestamptz');
SELECT col_type_is('watchlist_data', 'watch_signal_raw', 'spread_rel', 'double precision', 'raw.spread_rel is double precision');
SELECT col_type_is('watchlist_data', 'watch_signal_raw', 'crossings_1h', 'integer', 'raw.crossings_1h is integer');
SELECT col_type_is('watchlist_data', 'watch_signal_raw', 'meta', 'jsonb', 'raw.meta is jsonb');
SELECT col_not_null('watchlist_data', 'watch_signal_raw', 'triggered', 'raw.triggered is NOT NULL');

-- every unique key (including primary keys) is made of NOT NULL columns
SELECT is_empty($$
    SELECT c.conrelid::regclass::text || '.' || a.attname
      FROM pg_constraint c
      JOIN pg_namespace n ON n.oid = c.connamespace
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
     WHERE n.nspname = 'watchlist_data' AND c.contype IN ('p', 'u') AND NOT a.attnotnull
$$, 'every column of every primary/unique key is NOT NULL');
SELECT col_is_unique('watchlist_data', 'watch_signal_event', ARRAY['exchange', 'symbol', 'signal_type', 'start_ts'], 'events have a natural key');
SELECT col_is_unique('watchlist_data', 'future_outcome', ARRAY['event_id', 'horizon_min'], 'one label per event and horizon');
SELECT col_is_unique('watchlist_data', 'watchlist_outcome', ARRAY['trade_ref'], 'trades are keyed by the operator''s trade_ref');
SELECT col_is_pk('watchlist_data', 'watchlist_membership', ARRAY['exchange', 'symbol', 'entered_at'], 'membership key (exchange, symbol, entered_at)');
SELECT fk_ok('watchlist_data', 'future_outcome', 'event_id', 'watchlist_data', 'watch_signal_event', 'id', 'labels reference events');
SELECT has_index('watchlist_data', 'watch_signal_event', 'watch_signal_event_start_idx', 'events indexed by start_ts');
SELECT is((SELECT count(*)::integer
             FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_am AS am ON am.oid = c.relam
            WHERE i.indrelid = 'watchlist_data.watch_signal_raw'::regclass AND am.amname = 'brin'),
          0,
          'raw rows: no BRIN index (0170: a range left mid-summary makes every later range match)');
SELECT is((SELECT pg_get_indexdef('watchlist_data.watch_signal_raw_ingested_idx'::regclass)),
          'CREATE INDEX watch_signal_raw_ingested_idx ON watchlist_data.watch_signal_raw USING btree (ingested_at)',
          'raw rows: the jobs find the rows ingested since their last run through a btree on ingested_at (0170)');
SELECT is((SELECT pg_get_indexdef('watchlist_data.watch_signal_raw_path_idx'::regclass)),
          'CREATE INDEX watch_signal_raw_path_idx ON watchlist_data.watch_signal_raw USING btree (exchange, symbol, ts) '
          'INCLUDE (spread_rel, funding_rate, best_buy_high_sell_low, best_sell_high_buy_low, next_funding_time)',
          'raw rows: the label reads'' covering index, key then time, with the six columns they read (0160)');
-- a chunk created now (a row far from any other) carries the vacuum settings that keep the
-- label reads index-only
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered)
VALUES ('1999-06-01 00:00+00', 'pgtapschema', 'VAC', 'A', false);
SELECT is((SELECT c.reloptions FROM pg_class AS c
            WHERE c.oid = (SELECT format('%I.%I', ch.chunk_schema, ch.chunk_name)::regclass
                             FROM timescaledb_information.chunks AS ch
                            WHERE ch.hypertable_name = 'watch_signal_raw' AND ch.range_start <= '1999-06-01 00:00+00'
                              AND ch.range_end > '1999-06-01 00:00+00')),
          ARRAY['autovacuum_vacuum_insert_threshold=50000', 'autovacuum_vacuum_insert_scale_factor=0'],
          'a new raw chunk is vacuumed every 50,000 inserted rows, whatever its size (0160)');

-- CHECK constraints reject what must not be stored
SELECT throws_like($$INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
                   VALUES (now(), 'binance', 'BTCUSDT', 'A', false, 'NaN')$$,
                 '%violates check constraint "watch_signal_raw_finite"', 'NaN spread is refused');
SELECT throws_like($$INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, funding_rate)
                   VALUES (now(), 'binance', 'BTCUSDT', 'A', false, '-Infinity')$$,
                 '%violates check constraint "watch_signal_raw_finite"', 'infinite funding rate is refused');
SELECT throws_like($$INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered)
                   VALUES (now(), 'binance', 'BTCUSDT', 'D', false)$$,
                 '%violates check constraint "watch_signal_raw_signal_type_check"', 'signal type outside A/B/C is refused');
SELECT throws_ok($$INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status)
                   VALUES ('binance', 'BTCUSDT', 'A', now(), now(), 0, 1, 'maybe')$$,
                 '23514', 'new row for relation "watch_signal_event" violates check constraint "watch_signal_event_status_check"', 'unknown event status is refused');
SELECT throws_ok($$INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl) VALUES (-1, 30, false, 1.0)$$,
                 '23514', 'new row for relation "future_outcome" violates check constraint "future_outcome_uncovered_empty"', 'an uncovered horizon cannot carry a made-up pnl');

-- TimescaleDB: hypertable, chunking, compression settings, continuous aggregates
SELECT is((SELECT count(*)::int FROM timescaledb_information.hypertables
            WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw'), 1,
          'watch_signal_raw is a hypertable');
SELECT is((SELECT time_interval FROM timescaledb_information.dimensions
            WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw' AND column_name = 'ts'),
          INTERVAL '1 day', 'raw chunks are 1 day wide');
SELECT is((SELECT compression_enabled FROM timescaledb_information.hypertables
            WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw'), true,
          'raw has compression (columnstore) enabled');
SELECT is((SELECT replace(segmentby, ' ', '') FROM timescaledb_information.hypertable_compression_settings
            WHERE hypertable = 'watchlist_data.watch_signal_raw'::regclass),
          'exchange,symbol', 'raw is compressed segmented by exchange, symbol');
SELECT results_eq($$SELECT view_name::text COLLATE "default", materialized_only FROM timescaledb_information.continuous_aggregates
                     WHERE view_schema = 'watchlist_data' ORDER BY view_name$$,
                  $$VALUES ('typea_stats_1h', false), ('watchlist_series_agg', false)$$,
                  'both continuous aggregates exist with real-time aggregation on');
SELECT ok((SELECT view_definition ~ 'watchlist_data\.watchlist_series_agg' FROM timescaledb_information.continuous_aggregates
            WHERE view_schema = 'watchlist_data' AND view_name = 'typea_stats_1h'),
          'the hourly Type A statistics roll up from the 5-minute aggregate (hierarchical)');
SELECT has_column('watchlist_data', 'watchlist_series_agg', 'ty_sum', 'the 5-minute aggregate keeps the time cross-product sum for exact slopes');
SELECT has_column('watchlist_data', 'typea_stats_1h', 't_sumsq', 'the hourly aggregate keeps the time sum of squares');

SELECT * FROM finish();
ROLLBACK;
