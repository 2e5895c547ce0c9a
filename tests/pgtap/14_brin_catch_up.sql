-- The BRIN index on ingested_at after a bulk load: watchlist_data.raw_brin_catch_up()
-- summarises the page ranges that have no summary (autovacuum drops the autosummarize
-- requests that do not fit its queue), and the jobs that find new rows through that index
-- call it first. Rows are written in a chunk of their own, in 2033, so the counts are this
-- file's alone.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(6);

SELECT ok(NOT has_function_privilege('wl_writer', 'watchlist_data.raw_brin_catch_up(timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('wl_reader', 'watchlist_data.raw_brin_catch_up(timestamptz)', 'EXECUTE'),
          'raw_brin_catch_up is private: neither the writer nor the reader can call it');

-- 1. A new chunk: its BRIN index, built when the chunk is created, summarises the first page
--    range at once (an empty summary the inserts then widen); autosummarize asks for the
--    later ranges only once they are full; the last, partial range waits for a vacuum.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at, meta)
SELECT '2033-03-03T00:00:00Z'::timestamptz + make_interval(mins => i), 'binance', 'BRINUSDT', 'A', false, 0.001 * i,
       '2033-03-03T00:00:00Z'::timestamptz + make_interval(mins => i, secs => 1), '{}'::jsonb
  FROM generate_series(0, 4) AS i;
SELECT is(watchlist_data.raw_brin_catch_up('2033-03-03T00:00:00Z'), 0,
          'a new chunk with rows in its first page range only: nothing to summarise');
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at, meta)
SELECT '2033-03-03T00:00:00Z'::timestamptz + make_interval(secs => 5 * i), 'okx', 'BRINUSDT', 'A', false, 0.001 * i,
       '2033-03-03T00:00:00Z'::timestamptz + make_interval(secs => 5 * i + 1), '{}'::jsonb
  FROM generate_series(0, 5000) AS i;
SELECT is(watchlist_data.raw_brin_catch_up('2033-03-04T00:00:00Z'), 0,
          'chunks that end at or before p_from are left alone');
SELECT cmp_ok(watchlist_data.raw_brin_catch_up('2033-03-03T00:00:00Z'), '>=', 1,
              '5,001 rows more (several page ranges): the ranges without a summary are summarised, the last, partial one at least');
SELECT is(watchlist_data.raw_brin_catch_up('2033-03-03T00:00:00Z'), 0,
          'called again: nothing left to summarise');

-- 2. The merge job summarises what a load left before it reads the new rows.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at, meta)
SELECT '2033-03-03T01:00:00Z'::timestamptz + make_interval(secs => 5 * i), 'bybit', 'BRINUSDT', 'A', i < 3, 0.001 * i,
       '2033-03-03T01:00:00Z'::timestamptz + make_interval(secs => 5 * i + 1), '{}'::jsonb
  FROM generate_series(0, 5000) AS i;
DO $$ BEGIN PERFORM watchlist.merge_events_incremental('2033-03-03T06:00:00Z'); END $$;
SELECT is(watchlist_data.raw_brin_catch_up('2033-03-03T00:00:00Z'), 0,
          'after the merge job''s run every page range of the chunk has a summary');

SELECT * FROM finish();
ROLLBACK;
