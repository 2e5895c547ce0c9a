-- Point-in-time watchlist membership and the history prune job.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(15);

-- Membership: enter, leave, re-enter, idempotent, stale replays ignored.
-- A snapshot is the whole watchlist and staleness is judged against the whole history, so
-- this transaction starts from an empty history (whatever a reused database holds; rolled back).
DELETE FROM watchlist_data.watchlist_membership;
SELECT results_eq($$SELECT entered, left_count, stale FROM watchlist.sync_membership(
                      '[{"exchange": "binance", "symbol": "MEMA"}, {"exchange": "binance", "symbol": "MEMB"}]', '2025-01-01T00:00:00Z')$$,
                  $$VALUES (2, 0, false)$$, 'two symbols enter the watchlist');
SELECT results_eq($$SELECT entered, left_count, stale FROM watchlist.sync_membership(
                      '[{"exchange": "binance", "symbol": "MEMA"}, {"exchange": "binance", "symbol": "MEMB"}]', '2025-01-01T00:01:00Z')$$,
                  $$VALUES (0, 0, false)$$, 'the same watchlist again changes nothing');
SELECT results_eq($$SELECT entered, left_count, stale FROM watchlist.sync_membership(
                      '[{"exchange": "binance", "symbol": "MEMA"}]', '2025-01-01T01:00:00Z')$$,
                  $$VALUES (0, 1, false)$$, 'MEMB leaves');
SELECT results_eq($$SELECT entered, left_count, stale FROM watchlist.sync_membership(
                      '[{"exchange": "binance", "symbol": "MEMA"}, {"exchange": "binance", "symbol": "MEMB"}]', '2025-01-01T00:30:00Z')$$,
                  $$VALUES (0, 0, true)$$, 'a late replay of an older snapshot is ignored as stale');
SELECT results_eq($$SELECT entered, left_count, stale FROM watchlist.sync_membership(
                      '[{"exchange": "binance", "symbol": "MEMA"}, {"exchange": "binance", "symbol": "MEMB"}]', '2025-01-01T02:00:00Z')$$,
                  $$VALUES (1, 0, false)$$, 'MEMB re-enters');
SELECT results_eq($$SELECT symbol, entered_at, left_at FROM watchlist.watchlist_membership WHERE symbol IN ('MEMA', 'MEMB') ORDER BY symbol, entered_at$$,
                  $$VALUES ('MEMA', '2025-01-01T00:00:00Z'::timestamptz, NULL::timestamptz),
                           ('MEMB', '2025-01-01T00:00:00Z'::timestamptz, '2025-01-01T01:00:00Z'::timestamptz),
                           ('MEMB', '2025-01-01T02:00:00Z'::timestamptz, NULL::timestamptz)$$,
                  'membership history holds each stay');
SELECT results_eq($$SELECT symbol FROM watchlist.watchlist_membership
                     WHERE symbol IN ('MEMA', 'MEMB') AND entered_at <= '2025-01-01T01:30:00Z'
                       AND coalesce(left_at, 'infinity') > '2025-01-01T01:30:00Z' ORDER BY symbol$$,
                  $$VALUES ('MEMA')$$, 'the universe as of 01:30 is MEMA alone');
-- A snapshot time in the future would make every later sync stale (the watchlist frozen):
-- infinity and anything later than now() + 5 minutes are refused, and nothing is recorded.
SELECT throws_ok($$SELECT * FROM watchlist.sync_membership('[{"exchange": "binance", "symbol": "MEMC"}]', 'infinity')$$, '22023',
                 'watchlist.sync_membership: the snapshot time infinity is later than now + 00:05:00 (or not finite)',
                 'a snapshot at infinity is refused');
SELECT throws_like($$SELECT * FROM watchlist.sync_membership('[{"exchange": "binance", "symbol": "MEMC"}]', now() + INTERVAL '6 minutes')$$,
                   'watchlist.sync_membership: the snapshot time % is later than now + 00:05:00 (or not finite)',
                   'a snapshot more than 5 minutes ahead of the server clock is refused');
SELECT results_eq($$SELECT entered, left_count, stale FROM watchlist.sync_membership(
                      '[{"exchange": "binance", "symbol": "MEMA"}, {"exchange": "binance", "symbol": "MEMB"}]', now())$$,
                  $$VALUES (0, 0, false)$$, 'after the refused snapshots a sync at now() is not stale (the membership is not frozen)');
SELECT throws_ok($$SELECT * FROM watchlist.sync_membership('{}', now())$$, '22023', 'watchlist.sync_membership expects a JSON array of {exchange, symbol}',
                 'a non-array watchlist is refused');

-- History prune: events older than history_retention go, with their labels; open events stay.
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, is_open)
VALUES ('binance', 'PRUNE', 'A', '2026-01-01T00:00:00Z', '2026-01-01T00:10:00Z', 600, 10, false),
       ('binance', 'PRUNE', 'A', '2026-01-02T00:00:00Z', '2026-01-02T00:10:00Z', 600, 10, true),
       ('binance', 'PRUNE', 'A', '2026-08-01T00:00:00Z', '2026-08-01T00:10:00Z', 600, 10, false);
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl)
SELECT id, 30, true, 1.0 FROM watchlist_data.watch_signal_event WHERE symbol = 'PRUNE';
INSERT INTO watchlist_data.watchlist_outcome (trade_ref, opened_at, closed_at, pnl)
VALUES ('prune-old', '2026-01-01T00:00:00Z', '2026-01-01T05:00:00Z', 3.0), ('prune-new', '2026-08-01T00:00:00Z', NULL, NULL);
INSERT INTO watchlist_data.ingest_quarantine (received_at, batch_id, row_index, field, reason)
VALUES ('2026-01-01T00:00:00Z', 'prune', 0, 'ts', 'old'), ('2026-09-01T00:00:00Z', 'prune', 0, 'ts', 'recent');

SELECT results_eq($$SELECT * FROM watchlist.prune_history('2026-09-15T00:00:00Z')$$,
                  $$VALUES (1::bigint, 1::bigint, 1::bigint, 0::bigint)$$,
                  'prune at 2026-09-15 (180 d / 30 d): one closed event, one trade, one quarantined row');
SELECT results_eq($$SELECT start_ts FROM watchlist_data.watch_signal_event WHERE symbol = 'PRUNE' ORDER BY start_ts$$,
                  $$VALUES ('2026-01-02T00:00:00Z'::timestamptz), ('2026-08-01T00:00:00Z'::timestamptz)$$,
                  'the open old event and the recent one remain');
SELECT is((SELECT count(*)::int FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
            WHERE e.symbol = 'PRUNE'), 2, 'labels of the pruned event went with it');
SELECT results_eq($$SELECT trade_ref FROM watchlist_data.watchlist_outcome WHERE trade_ref LIKE 'prune-%'$$,
                  $$VALUES ('prune-new')$$, 'the old trade is pruned, the recent one kept');

SELECT * FROM finish();
ROLLBACK;
