-- Writer API, typed columnar form: watchlist.ingest_raw_columns stores what ingest_raw stores
-- and rejects what it rejects, with the same index, field and reason, and is idempotent.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(12);
-- The rows below carry fixed dates (2026-03-01): the writer API accepts a ts no older than
-- the raw_retention setting, so this transaction widens it (rolled back at the end).
UPDATE watchlist_data.settings SET value = '36500 days' WHERE key = 'raw_retention';

-- A good batch: every row passes, signal_type defaults to type_class, a missing meta is {}.
SELECT results_eq($$SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw_columns('col-good-1',
                        ts => ARRAY['2026-03-01T10:00:00Z', '2026-03-01T10:01:00+00:00', '2026-03-01T18:00:00+08:00'],
                        exchange => ARRAY['binance', 'binance', 'okx'], symbol => ARRAY['COLTEST', 'COLTEST', 'COLTEST'],
                        signal_type => ARRAY[NULL, 'B', 'C'], type_class => ARRAY['A', 'A', NULL], triggered => ARRAY[true, false, false],
                        spread_rel => ARRAY[0.0031, 0.0029, NULL]::float8[], crossings_1h => ARRAY[4, NULL, NULL],
                        next_funding_time => ARRAY['2026-03-01T16:00:00+00:00', NULL, NULL],
                        meta => ARRAY['{"pairs_top": [{"high_exch": "bitget", "low_exch": "bybit"}], "x": null}', NULL, NULL]::jsonb[])$$,
                  $$VALUES (3, 3, 0, 0, '[]'::jsonb)$$, 'columns: a good batch of 3 rows inserts 3');
SELECT results_eq($$SELECT exchange, symbol, ts, signal_type, type_class, triggered, spread_rel, crossings_1h, next_funding_time, meta
                      FROM watchlist_data.watch_signal_raw WHERE symbol = 'COLTEST' ORDER BY exchange, ts$$,
                  $$VALUES ('binance', 'COLTEST', '2026-03-01T10:00:00Z'::timestamptz, 'A', 'A', true, 0.0031::float8, 4, '2026-03-01T16:00:00Z'::timestamptz,
                            '{"pairs_top": [{"high_exch": "bitget", "low_exch": "bybit"}], "x": null}'::jsonb),
                           ('binance', 'COLTEST', '2026-03-01T10:01:00Z'::timestamptz, 'B', 'A', false, 0.0029::float8, NULL::int, NULL::timestamptz, '{}'::jsonb),
                           ('okx', 'COLTEST', '2026-03-01T10:00:00Z'::timestamptz, 'C', NULL, false, NULL::float8, NULL::int, NULL::timestamptz, '{}'::jsonb)$$,
                  'columns: stored rows as ingest_raw stores them (signal_type default, UTC, meta kept with its nulls, {} when absent)');
SELECT results_eq($$SELECT received, inserted, duplicates, rejected FROM watchlist.ingest_raw_columns('col-good-2',
                        ts => ARRAY['2026-03-01T10:00:00Z', '2026-03-01T10:01:00+00:00', '2026-03-01T18:00:00+08:00'],
                        exchange => ARRAY['binance', 'binance', 'okx'], symbol => ARRAY['COLTEST', 'COLTEST', 'COLTEST'],
                        type_class => ARRAY['A', 'A', 'C'], triggered => ARRAY[true, false, false])$$,
                  $$VALUES (3, 0, 3, 0)$$, 'columns: replaying the batch inserts nothing and reports 3 duplicates');

-- A mixed batch: one good row among every kind of bad one a typed batch can carry. The
-- same rows as JSON objects go through ingest_raw under another symbol: the rejects must be
-- the same (one set of checks).
CREATE TEMP TABLE col_mixed (i int, ts text, exchange text, signal_type text, status text, spread_rel float8,
                             spot_price float8, crossings_1h int, meta jsonb, triggered boolean);
INSERT INTO col_mixed VALUES
    (0,  '2026-03-01T11:00:00Z',      'bybit', 'A', NULL,       0.002,      NULL, NULL, NULL, true),   -- good
    (1,  '2026-03-01T11:01:00Z',      'bybit', 'A', NULL,       'NaN',      NULL, NULL, NULL, true),   -- NaN
    (2,  '2026-03-01T11:02:00Z',      NULL,    'A', NULL,       NULL,       NULL, NULL, NULL, true),   -- missing exchange
    (3,  '2026-03-01T11:03:00Z',      'bybit', 'D', NULL,       NULL,       NULL, NULL, NULL, true),   -- class
    (4,  '2026-03-01 11:04:00',       'bybit', 'A', NULL,       NULL,       NULL, NULL, NULL, true),   -- naive ts
    (5,  '2099-01-01T00:00:00Z',      'bybit', 'A', NULL,       NULL,       NULL, NULL, NULL, true),   -- future
    (6,  '2026-03-01T11:06:00Z',      'bybit', 'A', 'sleeping', NULL,       NULL, NULL, NULL, true),   -- status
    (7,  '2026-03-01T11:07:00Z',      'bybit', 'A', NULL,       NULL,       NULL, NULL, jsonb_build_object('notes', repeat('x', 70000)), true),  -- oversize meta
    (8,  '2026-03-01T12:00:00+01:00', 'bybit', 'B', NULL,       NULL,       NULL, NULL, NULL, false),  -- dup of 0
    (9,  '2026-03-01T11:09:00Z',      'bybit', 'A', NULL,       NULL,       -1,   NULL, NULL, true),   -- price
    (10, '2026-02-30T11:10:00Z',      'bybit', 'A', NULL,       'Infinity', NULL, NULL, NULL, true),   -- bad date, inf
    (11, '2026-03-01T11:11:00Z',      'bybit', 'A', NULL,       NULL,       NULL, -3,   '[1]', true),  -- crossings, meta not an object
    (12, '2026-03-01T11:12:00Z',      'bybit', 'A', NULL,       NULL,       NULL, NULL, NULL, NULL);   -- missing triggered
CREATE TEMP TABLE col_mixed_result AS
SELECT * FROM watchlist.ingest_raw_columns('col-mixed-1',
    ts => (SELECT array_agg(ts ORDER BY i) FROM col_mixed), exchange => (SELECT array_agg(exchange ORDER BY i) FROM col_mixed),
    symbol => (SELECT array_agg('COLTEST'::text ORDER BY i) FROM col_mixed), signal_type => (SELECT array_agg(signal_type ORDER BY i) FROM col_mixed),
    status => (SELECT array_agg(status ORDER BY i) FROM col_mixed), spread_rel => (SELECT array_agg(spread_rel ORDER BY i) FROM col_mixed),
    spot_price => (SELECT array_agg(spot_price ORDER BY i) FROM col_mixed), crossings_1h => (SELECT array_agg(crossings_1h ORDER BY i) FROM col_mixed),
    meta => (SELECT array_agg(meta ORDER BY i) FROM col_mixed), triggered => (SELECT array_agg(triggered ORDER BY i) FROM col_mixed));
SELECT results_eq($$SELECT received, inserted, duplicates, rejected, rejects FROM col_mixed_result$$,
                  $$VALUES (13, 1, 0, 12, '[{"row": 1, "field": "spread_rel", "reason": "not a finite number: NaN"},
                                          {"row": 2, "field": "exchange", "reason": "required field is missing"},
                                          {"row": 3, "field": "signal_type", "reason": "must be A, B or C, got \"D\""},
                                          {"row": 4, "field": "ts", "reason": "timestamp has no UTC offset (naive): 2026-03-01 11:04:00"},
                                          {"row": 5, "field": "ts", "reason": "timestamp is in the future (2099-01-01 00:00:00+00 > now + 00:05:00)"},
                                          {"row": 6, "field": "status", "reason": "unknown status \"sleeping\" (known: watching, triggered, cooldown, paused, removed)"},
                                          {"row": 7, "field": "meta", "reason": "meta is 70021 bytes, over the 65536-byte limit"},
                                          {"row": 8, "field": "ts", "reason": "duplicate key (exchange, symbol, ts) inside the batch: same as row 0"},
                                          {"row": 9, "field": "spot_price", "reason": "must be > 0, got -1"},
                                          {"row": 10, "field": "spread_rel", "reason": "not a finite number: Infinity"},
                                          {"row": 10, "field": "ts", "reason": "not a valid timestamp: 2026-02-30T11:10:00Z"},
                                          {"row": 11, "field": "crossings_1h", "reason": "expected a non-negative whole number, got -3"},
                                          {"row": 11, "field": "meta", "reason": "meta must be a JSON object, got array"},
                                          {"row": 12, "field": "triggered", "reason": "required field is missing"}]'::jsonb)$$,
                  'columns, mixed batch: the good row is written, each bad row rejected with its index, field and reason');
SELECT results_eq($$SELECT r.rejects FROM watchlist.ingest_raw(
                        (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('ts', ts, 'exchange', exchange, 'symbol', 'COLJSON',
                                    'signal_type', signal_type, 'status', status, 'spread_rel', spread_rel, 'spot_price', spot_price,
                                    'crossings_1h', crossings_1h, 'triggered', triggered)) || CASE WHEN meta IS NULL THEN '{}' ELSE jsonb_build_object('meta', meta) END
                                    ORDER BY i) FROM col_mixed), 'col-mixed-json') AS r$$,
                  $$SELECT rejects FROM col_mixed_result$$,
                  'columns, mixed batch: the same rejects as ingest_raw gives for the same rows as JSON');
SELECT results_eq($$SELECT ts, triggered, spread_rel FROM watchlist_data.watch_signal_raw WHERE exchange = 'bybit' AND symbol = 'COLTEST'$$,
                  $$VALUES ('2026-03-01T11:00:00Z'::timestamptz, true, 0.002::float8)$$,
                  'columns, mixed batch: only the good row is stored');
SELECT results_eq($$SELECT row_index, field, row_data ->> 'ts' FROM watchlist.ingest_rejects WHERE batch_id = 'col-mixed-1' AND row_index IN (1, 8) ORDER BY 1$$,
                  $$VALUES (1, 'spread_rel', '2026-03-01T11:01:00Z'), (8, 'ts', '2026-03-01T12:00:00+01:00')$$,
                  'columns, mixed batch: the rejected rows are quarantined with the batch id, their index and their data');
SELECT results_eq($$SELECT count(*)::int, count(DISTINCT row_index)::int FROM watchlist.ingest_rejects WHERE batch_id = 'col-mixed-1'$$,
                  $$VALUES (14, 12)$$, 'columns, mixed batch: every problem of the 12 rejected rows is in the quarantine');

-- Problems the table would let through silently, each alone with a good row (so that only the
-- fast path's own checks can catch them): oversize meta, a future ts, a naive ts, a naive
-- next_funding_time.
SELECT results_eq($$SELECT t.what, r.inserted, r.rejected, r.rejects
                      FROM (VALUES ('meta', '2026-03-01T14:00:00Z', '{"notes": "' || repeat('y', 70000) || '"}', NULL),
                                   ('future', '2099-01-01T00:00:00Z', NULL, NULL),
                                   ('naive', '2026-03-01T14:02:00', NULL, NULL),
                                   ('nft', '2026-03-01T14:03:00Z', NULL, '2026-03-01T16:00:00')) AS t(what, ts, meta, nft)
                     CROSS JOIN LATERAL watchlist.ingest_raw_columns('col-alone-' || t.what,
                        ts => ARRAY['2026-03-01T14:10:00Z', t.ts], exchange => ARRAY['mexc', 'mexc'], symbol => ARRAY[upper(t.what), upper(t.what)],
                        signal_type => ARRAY['A', 'A'], triggered => ARRAY[true, true], meta => ARRAY[NULL, t.meta::jsonb],
                        next_funding_time => ARRAY[NULL, t.nft]) AS r$$,
                  $$VALUES ('meta', 1, 1, '[{"row": 1, "field": "meta", "reason": "meta is 70021 bytes, over the 65536-byte limit"}]'::jsonb),
                           ('future', 1, 1, '[{"row": 1, "field": "ts", "reason": "timestamp is in the future (2099-01-01 00:00:00+00 > now + 00:05:00)"}]'::jsonb),
                           ('naive', 1, 1, '[{"row": 1, "field": "ts", "reason": "timestamp has no UTC offset (naive): 2026-03-01T14:02:00"}]'::jsonb),
                           ('nft', 1, 1, '[{"row": 1, "field": "next_funding_time", "reason": "timestamp has no UTC offset (naive): 2026-03-01T16:00:00"}]'::jsonb)$$,
                  'columns: oversize meta, future or naive ts, naive next_funding_time, each alone next to a good row: rejected, the good row kept');

-- Shorter arrays leave their field absent in the last rows; a key repeated in the batch
-- that the table would skip silently (ON CONFLICT) is still rejected.
SELECT results_eq($$SELECT received, inserted, rejected, rejects FROM watchlist.ingest_raw_columns('col-short',
                        ts => ARRAY['2026-03-01T13:00:00Z', '2026-03-01T13:01:00Z'], exchange => ARRAY['gate', 'gate'],
                        symbol => ARRAY['COLTEST', 'COLTEST'], signal_type => ARRAY['A', 'A'], triggered => ARRAY[true])$$,
                  $$VALUES (2, 1, 1, '[{"row": 1, "field": "triggered", "reason": "required field is missing"}]'::jsonb)$$,
                  'columns: a shorter array leaves its field absent in the last rows (row 1 has no triggered)');
SELECT results_eq($$SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw_columns('col-dup',
                        ts => ARRAY['2026-03-01T13:00:00Z', '2026-03-01T13:05:00Z', '2026-03-01T13:05:00Z'], exchange => ARRAY['gate', 'gate', 'gate'],
                        symbol => ARRAY['COLTEST', 'COLTEST', 'COLTEST'], signal_type => ARRAY['A', 'A', 'A'], triggered => ARRAY[true, true, false])$$,
                  $$VALUES (3, 1, 1, 1, '[{"row": 2, "field": "ts", "reason": "duplicate key (exchange, symbol, ts) inside the batch: same as row 1"}]'::jsonb)$$,
                  'columns: a stored key counts as a duplicate, a key repeated inside the batch is rejected');
SELECT results_eq($$SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw_columns('col-empty')$$,
                  $$VALUES (0, 0, 0, 0, '[]'::jsonb)$$, 'columns: an empty batch is fine');

SELECT * FROM finish();
ROLLBACK;
