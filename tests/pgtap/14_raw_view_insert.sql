-- A plain INSERT into the raw API view (how an app built before watchlist-db writes, with
-- search_path watchlist, public) goes through the writer API: same checks, idempotency and
-- quarantine as watchlist.ingest_raw; id accepted and ignored; a refused row never fails
-- the statement.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(11);
-- The fixture's fixed dates lie outside the writer's accepted window (now() - raw_retention),
-- so this transaction widens it (rolled back at the end).
UPDATE watchlist_data.settings SET value = '36500 days' WHERE key = 'raw_retention';

SELECT is((SELECT attname::text FROM pg_attribute WHERE attrelid = 'watchlist.watch_signal_raw'::regclass AND attnum > 0
            ORDER BY attnum DESC LIMIT 1), 'id', 'the raw view ends with the legacy key column id');

SET LOCAL ROLE wl_writer;
SET LOCAL search_path = watchlist, public;
CREATE TEMP TABLE ins_count (n integer);
SELECT lives_ok($$INSERT INTO watch_signal_raw (id, ts, exchange, symbol, signal_type, type_class, triggered, spread_rel, meta)
                  VALUES (DEFAULT, '2026-04-01T10:00:00Z', 'binance', 'VIEWINS', 'A', 'A', true, 0.002, '{"factors": {"z": 1}}'),
                         (42, '2026-04-01T10:01:00Z', 'binance', 'VIEWINS', NULL, 'B', false, 0.001, NULL),
                         (NULL, '2026-04-01T10:02:00Z', 'Binance', 'VIEWINS', 'A', 'A', true, 0.003, '{}'),
                         (NULL, '2026-04-01T10:03:00Z', 'binance', 'VIEWINS', 'A', 'A', true, 'Infinity', '{}')$$,
                'the writer''s plain INSERT of 4 rows (2 good, 2 refused) succeeds');
SELECT lives_ok($$INSERT INTO watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
                  VALUES ('2026-04-01T10:00:00Z', 'binance', 'VIEWINS', 'A', false, 0.9)$$,
                'inserting a stored minute again succeeds');
RESET ROLE;
SET LOCAL search_path = public, pg_catalog;

SELECT results_eq($$SELECT ts, signal_type COLLATE "default", type_class COLLATE "default", triggered, spread_rel, meta FROM watchlist_data.watch_signal_raw
                    WHERE symbol = 'VIEWINS' ORDER BY ts$$,
                  $$VALUES ('2026-04-01T10:00:00Z'::timestamptz, 'A', 'A', true, 0.002::float8, '{"factors": {"z": 1}}'::jsonb),
                           ('2026-04-01T10:01:00Z'::timestamptz, 'B', 'B', false, 0.001::float8, '{}'::jsonb)$$,
                  'the good rows are stored as ingest_raw stores them (signal_type from type_class, meta {}), the replay changed nothing');
SELECT results_eq($$SELECT batch_id COLLATE "default", row_index, field COLLATE "default", (row_data ->> 'ts') COLLATE "default" FROM watchlist.ingest_rejects
                    WHERE row_data ->> 'symbol' = 'VIEWINS' ORDER BY row_data ->> 'ts'$$,
                  $$VALUES (('sql-insert:' || session_user::text) COLLATE "default", 0, 'exchange', '2026-04-01T10:02:00+00:00'),
                           (('sql-insert:' || session_user::text) COLLATE "default", 0, 'spread_rel', '2026-04-01T10:03:00+00:00')$$,
                  'the refused rows are in ingest_rejects with field and the row, batch sql-insert:<login>');
SELECT ok((SELECT reason FROM watchlist.ingest_rejects WHERE row_data ->> 'symbol' = 'VIEWINS' AND field = 'exchange') ~ 'a-z',
          'the reject says why (the exchange rule)');
SELECT ok(NOT (SELECT row_data ? 'id' FROM watchlist.ingest_rejects WHERE row_data ->> 'symbol' = 'VIEWINS' LIMIT 1),
          'the ignored id is not part of the row sent to the writer API');

SET LOCAL ROLE wl_reader;
SELECT throws_ok($$INSERT INTO watchlist.watch_signal_raw (ts, exchange, symbol, signal_type, triggered) VALUES (now(), 'binance', 'VIEWINS', 'A', false)$$,
                 '42501', 'permission denied for view watch_signal_raw', 'the reader cannot insert through the view');
RESET ROLE;
SELECT lives_ok($$INSERT INTO watchlist.watch_signal_raw (ts, exchange, symbol, signal_type, triggered) VALUES ('2026-04-01T11:00:00Z', 'binance', 'VIEWINS', 'A', false)
                  ON CONFLICT DO NOTHING$$,
                'INSERT ... ON CONFLICT DO NOTHING (no target) goes through the trigger too');
SELECT throws_ok($$INSERT INTO watchlist.watch_signal_raw (ts, exchange, symbol, signal_type, triggered) VALUES ('2026-04-01T11:01:00Z', 'binance', 'VIEWINS', 'A', false)
                   ON CONFLICT (ts, id) DO NOTHING$$,
                 '42P10', NULL, 'INSERT ... ON CONFLICT (columns) on the view is refused: the view has no unique index (documented)');
SELECT is((SELECT count(*)::int FROM watchlist_data.watch_signal_raw WHERE symbol = 'VIEWINS'), 3, 'three VIEWINS rows stored in all');

SELECT * FROM finish();
ROLLBACK;
