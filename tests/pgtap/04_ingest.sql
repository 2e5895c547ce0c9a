-- Writer API: watchlist.ingest_raw keeps good rows, quarantines bad ones with index, field and
-- reason, and is idempotent.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(34);
-- The rows below carry fixed dates (2026-03-01): the writer API accepts a ts no older than
-- the raw_retention setting, so this transaction widens it (rolled back at the end).
UPDATE watchlist_data.settings SET value = '36500 days' WHERE key = 'raw_retention';

CREATE TEMP TABLE good_batch AS
SELECT jsonb_build_array(
    jsonb_build_object('ts', '2026-03-01T10:00:00Z', 'exchange', 'binance', 'symbol', 'INGTEST', 'type_class', 'A',
                       'triggered', true, 'spread_rel', 0.0031, 'funding_rate', 0.0001, 'spot_price', 1.5, 'futures_price', 1.5046,
                       'crossings_1h', 4, 'next_funding_time', '2026-03-01T16:00:00+00:00',
                       'meta', jsonb_build_object('pairs_top', jsonb_build_array(jsonb_build_object('high_exch', 'bitget', 'low_exch', 'bybit', 'spread_pct', 0.00339)))),
    jsonb_build_object('ts', '2026-03-01T10:01:00+00:00', 'exchange', 'binance', 'symbol', 'INGTEST', 'signal_type', 'B', 'type_class', 'A',
                       'triggered', false, 'spread_rel', 0.0029),
    jsonb_build_object('ts', '2026-03-01T18:00:00+08:00', 'exchange', 'okx', 'symbol', 'INGTEST', 'signal_type', 'C', 'triggered', false)
) AS rows;

SELECT results_eq($$SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw((SELECT rows FROM good_batch), 'good-1')$$,
                  $$VALUES (3, 3, 0, 0, '[]'::jsonb)$$, 'a good batch of 3 rows inserts 3');
SELECT results_eq($$SELECT received, inserted, duplicates, rejected FROM watchlist.ingest_raw((SELECT rows FROM good_batch), 'good-2')$$,
                  $$VALUES (3, 0, 3, 0)$$, 'replaying the batch inserts nothing and reports 3 duplicates');
SELECT results_eq($$SELECT exchange, symbol, ts, signal_type, type_class, triggered, spread_rel, crossings_1h, next_funding_time,
                           meta -> 'pairs_top' -> 0 ->> 'high_exch'
                      FROM watchlist_data.watch_signal_raw WHERE symbol = 'INGTEST' ORDER BY exchange, ts$$,
                  $$VALUES ('binance', 'INGTEST', '2026-03-01T10:00:00Z'::timestamptz, 'A', 'A', true, 0.0031::float8, 4, '2026-03-01T16:00:00Z'::timestamptz, 'bitget'),
                           ('binance', 'INGTEST', '2026-03-01T10:01:00Z'::timestamptz, 'B', 'A', false, 0.0029::float8, NULL::int, NULL::timestamptz, NULL),
                           ('okx', 'INGTEST', '2026-03-01T10:00:00Z'::timestamptz, 'C', NULL, false, NULL::float8, NULL::int, NULL::timestamptz, NULL)$$,
                  'stored rows: signal_type defaults to type_class, offsets normalised to UTC, meta kept');
SELECT is((SELECT meta FROM watchlist_data.watch_signal_raw WHERE exchange = 'okx' AND symbol = 'INGTEST'), '{}'::jsonb,
          'a row without meta stores an empty object');

-- A mixed batch: one good row among every kind of bad one.
CREATE TEMP TABLE mixed_batch AS
SELECT jsonb_build_array(
    /* 0 good      */ jsonb_build_object('ts', '2026-03-01T11:00:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'spread_rel', 0.002),
    /* 1 NaN       */ jsonb_build_object('ts', '2026-03-01T11:01:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'spread_rel', 'NaN'),
    /* 2 missing   */ jsonb_build_object('ts', '2026-03-01T11:02:00Z', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
    /* 3 type      */ jsonb_build_object('ts', '2026-03-01T11:03:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', 'yes', 'funding_rate', '0.01'),
    /* 4 class     */ jsonb_build_object('ts', '2026-03-01T11:04:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'D', 'triggered', true),
    /* 5 naive ts  */ jsonb_build_object('ts', '2026-03-01 11:05:00', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
    /* 6 future    */ jsonb_build_object('ts', '2099-01-01T00:00:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
    /* 7 unknown   */ jsonb_build_object('ts', '2026-03-01T11:07:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'sprad_rel', 0.1),
    /* 8 status    */ jsonb_build_object('ts', '2026-03-01T11:08:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'status', 'sleeping'),
    /* 9 oversize  */ jsonb_build_object('ts', '2026-03-01T11:09:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'meta', jsonb_build_object('notes', repeat('x', 70000))),
    /* 10 dup of 0 */ jsonb_build_object('ts', '2026-03-01T12:00:00+01:00', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'B', 'triggered', false),
    /* 11 meta     */ jsonb_build_object('ts', '2026-03-01T11:11:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'meta', jsonb_build_array(1)),
    /* 12 price    */ jsonb_build_object('ts', '2026-03-01T11:12:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'spot_price', -1),
    /* 13 bad date */ jsonb_build_object('ts', '2026-02-30T11:13:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
    /* 14 int      */ jsonb_build_object('ts', '2026-03-01T11:14:00Z', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'crossings_1h', 2.5)
) AS rows;

CREATE TEMP TABLE mixed_result AS SELECT * FROM watchlist.ingest_raw((SELECT rows FROM mixed_batch), 'mixed-1');
SELECT results_eq('SELECT received, inserted, duplicates, rejected FROM mixed_result', $$VALUES (15, 1, 0, 14)$$,
                  'mixed batch: the one good row is written, 14 rows rejected');
SELECT results_eq($$SELECT (r ->> 'row')::int, r ->> 'field' FROM mixed_result, jsonb_array_elements(rejects) r ORDER BY 1, 2$$,
                  $$VALUES (1, 'spread_rel'), (2, 'exchange'), (3, 'funding_rate'), (3, 'triggered'), (4, 'signal_type'),
                           (5, 'ts'), (6, 'ts'), (7, 'sprad_rel'), (8, 'status'), (9, 'meta'), (10, 'ts'), (11, 'meta'),
                           (12, 'spot_price'), (13, 'ts'), (14, 'crossings_1h')$$,
                  'every problem is reported with its row index and field');
SELECT is((SELECT r ->> 'reason' FROM mixed_result, jsonb_array_elements(rejects) r WHERE (r ->> 'row')::int = 1),
          'not a finite number: NaN', 'NaN reason');
SELECT is((SELECT r ->> 'reason' FROM mixed_result, jsonb_array_elements(rejects) r WHERE (r ->> 'row')::int = 5),
          'timestamp has no UTC offset (naive): 2026-03-01 11:05:00', 'naive timestamp reason');
SELECT is((SELECT r ->> 'reason' FROM mixed_result, jsonb_array_elements(rejects) r WHERE (r ->> 'row')::int = 10),
          'duplicate key (exchange, symbol, ts) inside the batch: same as row 0', 'in-batch duplicate names the first occurrence');
SELECT is((SELECT r ->> 'reason' FROM mixed_result, jsonb_array_elements(rejects) r WHERE (r ->> 'row')::int = 3 AND r ->> 'field' = 'triggered'),
          'expected true or false, got string', 'wrong type reason');
SELECT is((SELECT r ->> 'reason' FROM mixed_result, jsonb_array_elements(rejects) r WHERE (r ->> 'row')::int = 13),
          'not a valid timestamp: 2026-02-30T11:13:00Z', 'impossible date reason');
SELECT is((SELECT count(*)::int FROM watchlist_data.watch_signal_raw WHERE exchange = 'bybit' AND symbol = 'INGTEST'), 1,
          'only the good row of the mixed batch is stored');
SELECT results_eq($$SELECT batch_id, row_index, field FROM watchlist.ingest_rejects WHERE batch_id = 'mixed-1' ORDER BY row_index, field$$,
                  $$SELECT 'mixed-1', (r ->> 'row')::int, r ->> 'field' FROM mixed_result, jsonb_array_elements(rejects) r ORDER BY 2, 3$$,
                  'the quarantine holds exactly the reported problems');
SELECT is((SELECT row_data ->> 'meta' FROM watchlist_data.ingest_quarantine WHERE batch_id = 'mixed-1' AND row_index = 9),
          '(dropped: oversize)', 'an oversize row is quarantined without its oversize meta');

-- The set-based fast test (watchlist_data.raw_row_clean) vouches for the good rows and for
-- no row with a problem, so every rejection above came from the exact per-field checks.
SELECT results_eq($$SELECT r.ord::int - 1, watchlist_data.raw_row_clean(r.val, now() - INTERVAL '36500 days', now() + INTERVAL '5 minutes')
                      FROM mixed_batch, jsonb_array_elements(rows) WITH ORDINALITY AS r(val, ord) ORDER BY 1$$,
                  $$VALUES (0, true), (1, false), (2, false), (3, false), (4, false), (5, false), (6, false), (7, false),
                           (8, false), (9, false), (10, true), (11, false), (12, false), (13, false), (14, false)$$,
                  'fast test: clean for the good row (and the in-batch duplicate, found by key), not for any bad one');
SELECT results_eq($$SELECT watchlist_data.raw_row_clean(r, now() - INTERVAL '36500 days', now() + INTERVAL '5 minutes') FROM good_batch, jsonb_array_elements(rows) AS r$$,
                  $$VALUES (true), (true), (true)$$, 'fast test: the good batch is clean');
SELECT results_eq($$SELECT v, watchlist_data.iso_ts_ok(to_jsonb(v))
                      FROM unnest(ARRAY['2028-02-29T00:00:00Z', '2027-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-12-31T23:59:59.123456-05:30',
                                        '2026-01-01 00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:00+15:00']) AS v$$,
                  $$VALUES ('2028-02-29T00:00:00Z', true), ('2027-02-29T00:00:00Z', false), ('2026-04-31T00:00:00Z', false),
                           ('2026-12-31T23:59:59.123456-05:30', true), ('2026-01-01 00:00:00Z', false),
                           ('2026-01-01T24:00:00Z', false), ('2026-01-01T00:00:00+15:00', false)$$,
                  'fast test: only canonical timestamps naming a real day (others go to the exact checks)');
SELECT results_eq($$SELECT received, inserted, rejected FROM watchlist.ingest_raw(jsonb_build_array(
                        jsonb_build_object('ts', '2026-03-01 11:30:00+00', 'exchange', 'bybit', 'symbol', 'INGTEST', 'signal_type', 'A',
                                           'triggered', true, 'spread_rel', 1e-29, 'crossings_1h', 3)), 'edge-1')$$,
                  $$VALUES (1, 1, 0)$$, 'a valid row the fast test cannot vouch for (space separator, a short offset) is still stored');

-- The whole-batch fast path (watchlist_data.raw_row_quick_ok, then one INSERT): its test
-- passes the rows whose problem the table refuses by itself, and no row whose problem the
-- INSERT would let through silently (missing field, wrong JSON type, naive or future ts,
-- unknown field, oversize meta).
SELECT results_eq($$SELECT r.ord::int - 1, watchlist_data.raw_row_quick_ok(r.val)
                             AND watchlist_data.raw_ts_quick_ok(r.val ->> 'ts', now() - INTERVAL '36500 days', now() + INTERVAL '5 minutes')
                             AND watchlist_data.raw_ts_quick_ok(r.val ->> 'next_funding_time', NULL, NULL)
                      FROM mixed_batch, jsonb_array_elements(rows) WITH ORDINALITY AS r(val, ord) WHERE r.ord <> 14 ORDER BY 1$$,
                  $$VALUES (0, true), (1, false), (2, false), (3, false), (4, true), (5, false), (6, false), (7, false),
                           (8, true), (9, false), (10, true), (11, true), (12, true), (14, true)$$,
                  'quick test: false for every problem the INSERT would not refuse, true where the table refuses the row');
SELECT results_eq($$SELECT v, watchlist_data.raw_ts_quick_ok(v, NULL, '2026-03-01T12:00:00Z')
                      FROM unnest(ARRAY[NULL, '2026-03-01T12:00:00Z', '2026-03-01T12:00:00.5+01:00', '2026-03-01T12:00:01Z',
                                        '2026-03-01 11:00:00Z', '2026-03-01T11:00:00', '1']) AS v$$,
                  $$VALUES (NULL, true), ('2026-03-01T12:00:00Z', true), ('2026-03-01T12:00:00.5+01:00', true),
                           ('2026-03-01T12:00:01Z', false), ('2026-03-01 11:00:00Z', false), ('2026-03-01T11:00:00', false), ('1', false)$$,
                  'quick timestamp test: canonical with an offset and not after the bound, or absent');
-- A batch every row of which passes the quick test, with rows the table refuses and a key
-- repeated in another spelling of the same instant: the fast INSERT is rolled back and the
-- exact path names each row and field, and keeps the good row.
CREATE TEMP TABLE quick_result AS SELECT * FROM watchlist.ingest_raw(jsonb_build_array(
    /* 0 good      */ jsonb_build_object('ts', '2026-03-01T13:00:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'spread_rel', 0.001),
    /* 1 dup of 0  */ jsonb_build_object('ts', '2026-03-01T14:00:00+01:00', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', false),
    /* 2 exchange  */ jsonb_build_object('ts', '2026-03-01T13:02:00Z', 'exchange', 'GATE', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
    /* 3 price     */ jsonb_build_object('ts', '2026-03-01T13:03:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'futures_price', 0),
    /* 4 bad date  */ jsonb_build_object('ts', '2026-02-29T13:04:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
    /* 5 overflow  */ jsonb_build_object('ts', '2026-03-01T13:05:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true, 'spread_rel', '1e400'::jsonb)
), 'quick-1');
SELECT results_eq($$SELECT received, inserted, duplicates, rejected, jsonb_path_query_array(rejects, '$[*] ? (@.row != 5)') FROM quick_result$$,
                  $$VALUES (6, 1, 0, 5, '[{"row": 1, "field": "ts", "reason": "duplicate key (exchange, symbol, ts) inside the batch: same as row 0"},
                                         {"row": 2, "field": "exchange", "reason": "exchange must be 1-32 characters of a-z 0-9 _ . -"},
                                         {"row": 3, "field": "futures_price", "reason": "must be > 0, got 0"},
                                         {"row": 4, "field": "ts", "reason": "not a valid timestamp: 2026-02-29T13:04:00Z"}]'::jsonb)$$,
                  'fast path refused: the exact path quarantines each bad row with its field and reason');
SELECT results_eq($$SELECT r ->> 'field', left(r ->> 'reason', 58) FROM quick_result, jsonb_array_elements(rejects) r WHERE (r ->> 'row')::int = 5$$,
                  $$VALUES ('spread_rel', 'not a finite number (out of the range of double precision)')$$,
                  'a number beyond double precision is a rejected field, not an error of the batch');
SELECT results_eq($$SELECT ts, triggered, spread_rel FROM watchlist_data.watch_signal_raw WHERE exchange = 'gate' AND symbol = 'INGTEST'$$,
                  $$VALUES ('2026-03-01T13:00:00Z'::timestamptz, true, 0.001::float8)$$,
                  'fast path refused: only the good row is stored, once');
SELECT results_eq($$SELECT received, inserted, duplicates, rejected FROM watchlist.ingest_raw(jsonb_build_array(
                        jsonb_build_object('ts', '2026-03-01T13:00:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
                        jsonb_build_object('ts', '2026-03-01T13:06:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true)), 'quick-2')$$,
                  $$VALUES (2, 1, 1, 0)$$, 'fast path: a row already stored counts as a duplicate, not a reject');

-- The meta limit is on the stored jsonb (pg_column_size), not its JSON text: 6,000 small
-- numbers are about 18 KB of text but about 72 KB stored, so the row is refused, with the
-- stored size in the reason, and the good row beside it is kept.
SELECT results_eq($$SELECT received, inserted, rejected, rejects FROM watchlist.ingest_raw(jsonb_build_array(
                        jsonb_build_object('ts', '2026-03-01T15:00:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true),
                        jsonb_build_object('ts', '2026-03-01T15:01:00Z', 'exchange', 'gate', 'symbol', 'INGTEST', 'signal_type', 'A', 'triggered', true,
                                           'meta', jsonb_build_object('n', (SELECT jsonb_agg(1) FROM generate_series(1, 6000))))), 'meta-size')$$,
                  $$VALUES (2, 1, 1, jsonb_build_array(jsonb_build_object('row', 1, 'field', 'meta', 'reason',
                           format('meta is %s bytes, over the 65536-byte limit',
                                  pg_column_size(jsonb_build_object('n', (SELECT jsonb_agg(1) FROM generate_series(1, 6000))))))))$$,
                  'meta over 64 KiB stored (under 64 KiB as text) is refused by its stored size; the good row is kept');

SELECT throws_ok($$SELECT * FROM watchlist.ingest_raw('{"ts": 1}', 'x')$$, '22023', 'watchlist.ingest_raw expects a JSON array of row objects, got object',
                 'a non-array payload is refused as a whole');
SELECT results_eq($$SELECT received, inserted, duplicates, rejected FROM watchlist.ingest_raw('[]', 'empty')$$,
                  $$VALUES (0, 0, 0, 0)$$, 'an empty batch is fine');

-- An error that is the server's state, not a row's, fails the call and quarantines nothing:
-- a disk filling mid-batch refuses some rows' inserts (53100) while others still fit, and
-- those rows must stay with the caller (the Writer's spool retries them), not be quarantined.
-- A trigger of this test's raises the chosen error for the rows of symbol INGFAULT.
CREATE FUNCTION public.ingest_fault_probe() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF NEW.symbol = 'INGFAULT' THEN
        RAISE EXCEPTION 'probe: %', current_setting('wl_test.fault') USING ERRCODE = current_setting('wl_test.fault');
    END IF;
    RETURN NEW;
END
$f$;
CREATE TRIGGER ingest_fault_probe BEFORE INSERT ON watchlist_data.watch_signal_raw
    FOR EACH ROW EXECUTE FUNCTION public.ingest_fault_probe();
CREATE TEMP TABLE fault_batch AS
SELECT jsonb_build_array(
    jsonb_build_object('ts', '2026-03-02T10:00:00Z', 'exchange', 'binance', 'symbol', 'INGFINE', 'signal_type', 'A', 'triggered', false),
    jsonb_build_object('ts', '2026-03-02T10:00:00Z', 'exchange', 'binance', 'symbol', 'INGFAULT', 'signal_type', 'A', 'triggered', false)
) AS rows;
SET LOCAL wl_test.fault = '53100';
SELECT throws_ok($$SELECT * FROM watchlist.ingest_raw((SELECT rows FROM fault_batch), 'fault-disk')$$, '53100', NULL,
                 'a disk-full error on one row fails the whole call (the caller keeps and retries the batch)');
SELECT is((SELECT count(*)::int FROM watchlist.ingest_rejects WHERE batch_id = 'fault-disk'), 0,
          'a disk-full error quarantines no row');
SELECT is((SELECT count(*)::int FROM watchlist_data.watch_signal_raw WHERE symbol IN ('INGFINE', 'INGFAULT')), 0,
          'nothing of the failed call is stored');
SET LOCAL wl_test.fault = '40P01';
SELECT throws_ok($$SELECT * FROM watchlist.ingest_raw_columns('fault-cols', ts => ARRAY['2026-03-02T10:00:00Z', '2026-03-02T10:00:00Z'],
                                                             exchange => ARRAY['binance', 'binance'], symbol => ARRAY['INGFINE', 'INGFAULT'],
                                                             triggered => ARRAY[false, false], signal_type => ARRAY['A', 'A'])$$,
                 '40P01', NULL, 'a deadlock on one row fails the column API''s call too (the writer retries it)');
SET LOCAL wl_test.fault = '22023';
SELECT results_eq($$SELECT received, inserted, rejected FROM watchlist.ingest_raw((SELECT rows FROM fault_batch), 'fault-row')$$,
                  $$VALUES (2, 1, 1)$$, 'a data error on one row still costs only that row');
SELECT results_eq($$SELECT row_index, field, reason FROM watchlist.ingest_rejects WHERE batch_id = 'fault-row'$$,
                  $$VALUES (1, '(row)', 'refused by the database: probe: 22023 [22023]')$$,
                  'the row the database refused is quarantined with its index and the error');
SELECT results_eq($$SELECT s, watchlist_data.is_row_fault(s) FROM unnest(ARRAY['22P02', '23505', '23514', '54000', 'P0001', '42804',
                                                                               '53100', '53200', '57014', '40001', '40P01', '55P03', '58030', '08006', 'XX000']) AS u(s)$$,
                  $$VALUES ('22P02', true), ('23505', true), ('23514', true), ('54000', true), ('P0001', true), ('42804', true),
                           ('53100', false), ('53200', false), ('57014', false), ('40001', false), ('40P01', false), ('55P03', false),
                           ('58030', false), ('08006', false), ('XX000', false)$$,
                  'is_row_fault: data and constraint errors are the row''s; resources, cancels, rollbacks, locks, I/O and internal errors are the server''s');
DROP TRIGGER ingest_fault_probe ON watchlist_data.watch_signal_raw;

SELECT * FROM finish();
ROLLBACK;
