-- watchlist.purge_keys: the owner-only reset of some keys' history (the demo's reset).
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(9);

INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, meta)
SELECT date_trunc('minute', now()) - make_interval(mins => m), 'purgex', sym, 'A', false,
       jsonb_build_object('notes', CASE WHEN m % 2 = 0 THEN 'sample' ELSE 'live' END)
  FROM generate_series(1, 6) AS m, unnest(ARRAY['PA', 'PB']) AS sym;
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, is_open)
VALUES ('purgex', 'PA', 'A', now() - interval '5 minutes', now() - interval '3 minutes', 120, 3, false),
       ('purgex', 'PB', 'A', now() - interval '5 minutes', now() - interval '3 minutes', 120, 3, false);
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl)
SELECT id, 30, false, NULL FROM watchlist_data.watch_signal_event WHERE exchange = 'purgex';
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
VALUES ('purgex', 'PA', now() - interval '1 hour'), ('purgex', 'PB', now() - interval '1 hour');

SELECT is(watchlist.purge_keys('[{"exchange": "purgex", "symbol": "PA"}]', 'sample'), 3::bigint,
          'purge_keys returns the raw rows it deleted: the three marked rows of PA');
SELECT results_eq($$SELECT symbol, meta ->> 'notes', count(*) FROM watchlist_data.watch_signal_raw
                     WHERE exchange = 'purgex' GROUP BY 1, 2 ORDER BY 1, 2$$,
                  $$VALUES ('PA'::text, 'live'::text, 3::bigint), ('PB', 'live', 3), ('PB', 'sample', 3)$$,
                  'only the key''s raw rows with the given notes are gone; the other key and other rows stay');
SELECT results_eq($$SELECT symbol FROM watchlist_data.watch_signal_event WHERE exchange = 'purgex' ORDER BY 1$$,
                  $$VALUES ('PB'::text)$$, 'the key''s events are gone, the other key''s stay');
SELECT is((SELECT count(*) FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
            WHERE e.exchange = 'purgex'), 1::bigint, 'the labels of the purged events went with them');
SELECT results_eq($$SELECT symbol FROM watchlist_data.watchlist_membership WHERE exchange = 'purgex' ORDER BY 1$$,
                  $$VALUES ('PB'::text)$$, 'the key''s membership history is gone');
SELECT is(watchlist.purge_keys('[{"exchange": "purgex", "symbol": "PB"}]'), 6::bigint,
          'without notes every raw row of the key is deleted');
SELECT throws_ok($$SELECT watchlist.purge_keys('[{"exchange": "purgex"}]')$$, '22023',
                 'watchlist.purge_keys: key 0 has no exchange or no symbol', 'a key without a symbol is refused by index');

SET LOCAL ROLE wl_writer;
SELECT throws_ok($$SELECT watchlist.purge_keys('[]')$$, '42501', 'permission denied for function purge_keys',
                 'a writer cannot purge');
RESET ROLE;
SET LOCAL ROLE wl_reader;
SELECT throws_ok($$SELECT watchlist.purge_keys('[]')$$, '42501', 'permission denied for function purge_keys',
                 'a reader cannot purge');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
