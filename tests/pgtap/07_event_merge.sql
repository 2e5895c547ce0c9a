-- Event merging (gaps and islands): exact expected events for the rule's edge cases,
-- at 30 s, 1 min and 5 min sampling; open events extended; late data; idempotency.
-- Defaults: N = 2 minutes, M = 3 minutes, max sample gap H = 10 minutes, look-back 6 h.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(25);

CREATE TEMP TABLE t AS SELECT '2030-01-01T00:00:00Z'::timestamptz AS t0;

-- pattern: one character per sample step: T triggered, F not triggered, . no sample
CREATE FUNCTION pg_temp.put(p_ex text, p_sym text, p_start timestamptz, p_step interval, p_pattern text,
                            p_ingested timestamptz DEFAULT '2030-01-01T00:00:00Z', p_type text DEFAULT 'A')
RETURNS void LANGUAGE sql AS $$
    INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at, meta)
    SELECT p_start + p_step * (i - 1), p_ex, p_sym, p_type, c = 'T', 0.001 * i, p_ingested,
           jsonb_build_object('pairs_top', jsonb_build_array(jsonb_build_object('i', i)))
      FROM unnest(string_to_array(p_pattern, NULL)) WITH ORDINALITY AS x(c, i)
     WHERE c <> '.'
$$;
-- events of a key as (start minute, end minute, samples, status, open), minutes from t0
CREATE FUNCTION pg_temp.ev(p_sym text, p_ex text DEFAULT 'binance')
RETURNS TABLE (s numeric, e numeric, n integer, status text, open boolean) LANGUAGE sql AS $$
    SELECT round((extract(epoch FROM start_ts - t0) / 60)::numeric, 1), round((extract(epoch FROM end_ts - t0) / 60)::numeric, 1),
           n_samples, status, is_open
      FROM watchlist_data.watch_signal_event, t
     WHERE exchange = p_ex AND symbol = p_sym ORDER BY start_ts
$$;

-- 1-minute sampling
SELECT pg_temp.put('binance', 'EXACTN',  t0, '1 minute', 'FTTFFFFF') FROM t;
SELECT pg_temp.put('binance', 'NMINUS1', t0, '1 minute', 'FTFFFFFF') FROM t;
SELECT pg_temp.put('binance', 'GAPM',    t0, '1 minute', 'TTFFFTTFFFFF') FROM t;
SELECT pg_temp.put('binance', 'GAPM1',   t0, '1 minute', 'TTFFFFTTFFFFF') FROM t;
SELECT pg_temp.put('binance', 'HOLE',    t0, '1 minute', 'TT...........TTFFFF') FROM t;
SELECT pg_temp.put('binance', 'SHORTHOLE', t0, '1 minute', 'TT..TTFFFF') FROM t;
-- interleaved: the same symbol on another exchange and another signal type
SELECT pg_temp.put('okx',     'EXACTN',  t0, '1 minute', 'TTTTTFFFF') FROM t;
SELECT pg_temp.put('binance', 'TYPEB',   t0, '1 minute', 'TTTFFFF', p_type => 'B') FROM t;
-- 30 s sampling: 3 triggered samples span 1 minute (N reached), 2 span 30 s (not)
SELECT pg_temp.put('binance', 'S30OK',   t0, '30 seconds', 'TTTFFFFFFFF') FROM t;
SELECT pg_temp.put('binance', 'S30SHORT', t0, '30 seconds', 'TTFFFFFFFFF') FROM t;
SELECT pg_temp.put('binance', 'S30GAP',  t0, '30 seconds', 'TTTFFFFFFFTTTFFFFFFFF') FROM t;
SELECT pg_temp.put('binance', 'S30GAPM', t0, '30 seconds', 'TTTFFFFFFTTTFFFFFFFF') FROM t;
-- 5 min sampling: consecutive triggered samples stay together; one untriggered sample (5 min off) splits
SELECT pg_temp.put('binance', 'M5',      t0, '5 minutes', 'TTTFTTFF') FROM t;
SELECT pg_temp.put('binance', 'M5SINGLE', t0, '5 minutes', 'TFTFF') FROM t;

SELECT results_eq($$SELECT keys, samples, inserted, updated, deleted FROM watchlist.merge_events((SELECT t0 FROM t), 'infinity', (SELECT t0 + interval '2 hours' FROM t))$$,
                  $$VALUES (14, 149::bigint, 19, 0, 0)$$, 'first merge: 14 keys, 149 samples read, 19 events (runs)');

SELECT results_eq($$SELECT * FROM pg_temp.ev('EXACTN')$$, $$VALUES (1.0, 2.0, 2, 'confirmed', false)$$,
                  'exactly N (2 consecutive triggered minutes) is a confirmed event, closed after M untriggered minutes');
SELECT results_eq($$SELECT * FROM pg_temp.ev('NMINUS1')$$, $$VALUES (1.0, 1.0, 1, 'dropped', false)$$,
                  'N-1 triggered minutes is kept as a dropped run, not an event');
SELECT results_eq($$SELECT * FROM pg_temp.ev('GAPM')$$, $$VALUES (0.0, 6.0, 4, 'confirmed', false)$$,
                  'gap = M (3 untriggered minutes) keeps one event');
SELECT results_eq($$SELECT * FROM pg_temp.ev('GAPM1')$$, $$VALUES (0.0, 1.0, 2, 'confirmed', false), (6.0, 7.0, 2, 'confirmed', false)$$,
                  'gap = M+1 splits into two events');
SELECT results_eq($$SELECT * FROM pg_temp.ev('HOLE')$$, $$VALUES (0.0, 1.0, 2, 'confirmed', false), (13.0, 14.0, 2, 'confirmed', false)$$,
                  'a hole in the data longer than H splits even without untriggered samples');
SELECT results_eq($$SELECT * FROM pg_temp.ev('SHORTHOLE')$$, $$VALUES (0.0, 5.0, 4, 'confirmed', false)$$,
                  'a short hole (3 min, under H) between triggered samples does not split');
SELECT results_eq($$SELECT * FROM pg_temp.ev('EXACTN', 'okx')$$, $$VALUES (0.0, 4.0, 5, 'confirmed', false)$$,
                  'the same symbol on another exchange has its own event');
SELECT results_eq($$SELECT signal_type, start_ts - t0 FROM watchlist_data.watch_signal_event, t WHERE symbol = 'TYPEB'$$,
                  $$VALUES ('B', interval '0')$$, 'events are keyed by signal type too');
SELECT results_eq($$SELECT * FROM pg_temp.ev('S30OK')$$, $$VALUES (0.0, 1.0, 3, 'confirmed', false)$$,
                  '30 s sampling: 3 samples spanning 1 minute reach N');
SELECT results_eq($$SELECT * FROM pg_temp.ev('S30SHORT')$$, $$VALUES (0.0, 0.5, 2, 'dropped', false)$$,
                  '30 s sampling: 2 samples spanning 30 s do not');
SELECT results_eq($$SELECT * FROM pg_temp.ev('S30GAP')$$, $$VALUES (0.0, 1.0, 3, 'confirmed', false), (5.0, 6.0, 3, 'confirmed', false)$$,
                  '30 s sampling: 7 untriggered samples = 3.5 min off > M splits');
SELECT results_eq($$SELECT * FROM pg_temp.ev('S30GAPM')$$, $$VALUES (0.0, 5.5, 6, 'confirmed', false)$$,
                  '30 s sampling: 6 untriggered samples = 3 min off = M keeps one event');
SELECT results_eq($$SELECT * FROM pg_temp.ev('M5')$$, $$VALUES (0.0, 10.0, 3, 'confirmed', false), (20.0, 25.0, 2, 'confirmed', false)$$,
                  '5 min sampling: consecutive samples stay one event; one untriggered sample (5 min off) splits');
SELECT results_eq($$SELECT * FROM pg_temp.ev('M5SINGLE')$$, $$VALUES (0.0, 0.0, 1, 'dropped', false), (10.0, 10.0, 1, 'dropped', false)$$,
                  '5 min sampling: a single triggered sample is not an event');
SELECT is((SELECT features_agg -> 'spread_rel' FROM watchlist_data.watch_signal_event WHERE symbol = 'GAPM'),
          '{"first": 0.001, "last": 0.007, "mean": 0.004, "min": 0.001, "max": 0.007}'::jsonb,
          'features_agg holds first/last/mean/min/max of the triggered samples');
SELECT is((SELECT features_agg -> 'pairs_top_last' FROM watchlist_data.watch_signal_event WHERE symbol = 'GAPM'),
          '[{"i": 7}]'::jsonb, 'features_agg keeps the last pairs_top snapshot');

-- Re-running any window changes nothing.
SELECT results_eq($$SELECT inserted, updated, deleted FROM watchlist.merge_events((SELECT t0 + interval '3 minutes' FROM t), 'infinity', (SELECT t0 + interval '2 hours' FROM t))$$,
                  $$VALUES (0, 0, 0)$$, 're-running a window inside the data changes nothing');

-- An event open at the end of the data, extended by the next (incremental) run, same id.
SELECT pg_temp.put('binance', 'OPEN', t0 + interval '1 day', '1 minute', 'FTT', t0 + interval '1 day 3 minutes') FROM t;
SELECT results_eq($$SELECT inserted FROM watchlist.merge_events_incremental((SELECT t0 + interval '1 day 3 minutes' FROM t))$$,
                  $$VALUES (1)$$, 'incremental run picks up the new key');
SELECT results_eq($$SELECT s - 1440, e - 1440, n, status, open FROM pg_temp.ev('OPEN')$$, $$VALUES (1.0, 2.0, 2, 'confirmed', true)$$,
                  'the event at the end of the data is open');
CREATE TEMP TABLE open_id AS SELECT id FROM watchlist_data.watch_signal_event WHERE symbol = 'OPEN';
SELECT pg_temp.put('binance', 'OPEN', t0 + interval '1 day 3 minutes', '1 minute', 'TTFFFF', t0 + interval '1 day 10 minutes') FROM t;
SELECT results_eq($$SELECT inserted, updated FROM watchlist.merge_events_incremental((SELECT t0 + interval '1 day 10 minutes' FROM t))$$,
                  $$VALUES (0, 1)$$, 'the next incremental run updates one event and inserts none');
SELECT results_eq($$SELECT id, round((extract(epoch FROM end_ts - start_ts) / 60)::numeric, 1), n_samples, is_open
                      FROM watchlist_data.watch_signal_event WHERE symbol = 'OPEN'$$,
                  $$SELECT id, 3.0, 4, false FROM open_id$$,
                  'the next run extends the same event (same id) and closes it after the cooldown');

-- Late data: inside the look-back it is merged as if on time; outside it is not.
SELECT pg_temp.put('binance', 'LATE', t0 + interval '1 day', '1 minute', 'TTFFFFTTFFFF', t0 + interval '1 day 12 minutes') FROM t;
SELECT pg_temp.put('binance', 'LATEOLD', t0, '1 minute', 'TTFFFFTTFFFF', t0 + interval '1 day 12 minutes') FROM t;
SELECT * FROM watchlist.merge_events_incremental((SELECT t0 + interval '1 day 12 minutes' FROM t));
SELECT * FROM watchlist.merge_events((SELECT t0 FROM t), (SELECT t0 + interval '1 hour' FROM t), (SELECT t0 + interval '1 day 12 minutes' FROM t));
SELECT results_eq($$SELECT s - 1440, e - 1440, n FROM pg_temp.ev('LATE')$$, $$VALUES (0.0, 1.0, 2), (6.0, 7.0, 2)$$,
                  'before the late rows: two events');
-- the missing middle minutes arrive late: 2..5 become triggered
UPDATE watchlist_data.watch_signal_raw SET triggered = true, ingested_at = (SELECT t0 + interval '1 day 20 minutes' FROM t)
 WHERE symbol IN ('LATE', 'LATEOLD') AND ts - date_trunc('day', ts) BETWEEN interval '2 minutes' AND interval '3 minutes';
SELECT * FROM watchlist.merge_events_incremental((SELECT t0 + interval '1 day 20 minutes' FROM t));
SELECT results_eq($$SELECT s - 1440, e - 1440, n FROM pg_temp.ev('LATE')$$, $$VALUES (0.0, 7.0, 6)$$,
                  'late rows inside the look-back bridge the two events into one');
SELECT results_eq($$SELECT s, e, n FROM pg_temp.ev('LATEOLD')$$, $$VALUES (0.0, 1.0, 2), (6.0, 7.0, 2)$$,
                  'late rows older than the look-back are left for an explicit rebuild');

SELECT * FROM finish();
ROLLBACK;
