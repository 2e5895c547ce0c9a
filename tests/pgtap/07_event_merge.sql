-- Event merging (gaps and islands): exact expected events for the rule's edge cases,
-- at 30 s, 1 min and 5 min sampling; the confirmation rule (a run of N consecutive
-- minutes inside the island; confirmed_at) at default and other N, M, H; features_agg;
-- open events extended; late data; idempotency.
-- Defaults: N = 2 minutes, M = 3 minutes, max sample gap H = 10 minutes, look-back 6 h.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(54);

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

-- events of a key with confirmed_at: (start, end, samples, status, open, confirmed_at), minutes from p_at
CREATE FUNCTION pg_temp.evc(p_sym text, p_at timestamptz)
RETURNS TABLE (s numeric, e numeric, n integer, status text, open boolean, c numeric) LANGUAGE sql AS $$
    SELECT round((extract(epoch FROM start_ts - p_at) / 60)::numeric, 1), round((extract(epoch FROM end_ts - p_at) / 60)::numeric, 1),
           n_samples, status, is_open, round((extract(epoch FROM confirmed_at - p_at) / 60)::numeric, 1)
      FROM watchlist_data.watch_signal_event
     WHERE exchange = 'binance' AND symbol = p_sym ORDER BY start_ts
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

SELECT results_eq($$SELECT keys, samples, inserted, deleted FROM watchlist.merge_events((SELECT t0 FROM t), 'infinity', (SELECT t0 + interval '2 hours' FROM t))$$,
                  $$VALUES (14, 149::bigint, 19, 0)$$, 'first merge: 14 keys, 149 samples read, 19 events (runs)');

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

-- The confirmation rule: a RUN of consecutive triggered samples spanning N - 1
-- minutes inside the island; confirmed_at = the sample that completes the first such run.
-- Patterns at t0 + 3 days (T1 below), defaults N = 2, M = 3, H = 10 min.
CREATE TEMP TABLE t1 AS SELECT t0 + interval '3 days' AS t1 FROM t;
SELECT pg_temp.put('binance', 'BLIP',     t1, '1 minute', 'TFFFTFFFF') FROM t1;
SELECT pg_temp.put('binance', 'LATERUN',  t1, '1 minute', 'TFFTTFFFF') FROM t1;
SELECT pg_temp.put('binance', 'TWOBLIPS', t1, '1 minute', 'TFFTFTTTFFFF') FROM t1;
SELECT pg_temp.put('binance', 'CONFBLIP', t1, '1 minute', 'TTFFFTFFFF') FROM t1;
SELECT pg_temp.put('binance', 'HOLERUN',  t1, '1 minute', 'T.....TFFFF') FROM t1;
SELECT pg_temp.put('binance', 'OPENBLIP', t1, '1 minute', 'FFTFT') FROM t1;
SELECT pg_temp.put('binance', 'S30SPLIT', t1, '30 seconds', 'TTFTTFFFFFFFF') FROM t1;
SELECT pg_temp.put('binance', 'S30LATE',  t1, '30 seconds', 'TTFTTTFFFFFFFF') FROM t1;
SELECT pg_temp.put('binance', 'M5PAIR',   t1, '5 minutes', 'FTTFF') FROM t1;
SELECT results_eq($$SELECT keys, inserted FROM watchlist.merge_events((SELECT t1 FROM t1), 'infinity', (SELECT t1 + interval '1 hour' FROM t1))$$,
                  $$VALUES (9, 9)$$, 'rule patterns: 9 keys, one island each');
SELECT results_eq($$SELECT * FROM pg_temp.evc('BLIP', (SELECT t1 FROM t1))$$,
                  $$VALUES (0.0, 4.0, 2, 'dropped', false, NULL::numeric)$$,
                  'blip / 3 quiet minutes / blip: one island (gap = M) but never 2 consecutive triggered minutes: dropped, no confirmed_at');
SELECT results_eq($$SELECT * FROM pg_temp.evc('LATERUN', (SELECT t1 FROM t1))$$,
                  $$VALUES (0.0, 4.0, 3, 'confirmed', false, 4.0)$$,
                  'a run after an early blip: the island starts at the blip, confirmed_at is the run''s 2nd sample (minute 4)');
SELECT results_eq($$SELECT * FROM pg_temp.evc('TWOBLIPS', (SELECT t1 FROM t1))$$,
                  $$VALUES (0.0, 7.0, 5, 'confirmed', false, 6.0)$$,
                  'blip, blip, then a run of 3: confirmed when the run first spans N - 1 (minute 6), not at its end');
SELECT results_eq($$SELECT * FROM pg_temp.evc('CONFBLIP', (SELECT t1 FROM t1))$$,
                  $$VALUES (0.0, 5.0, 3, 'confirmed', false, 1.0)$$,
                  'a blip within M after a confirmed run extends the event; confirmed_at stays at the run');
SELECT results_eq($$SELECT * FROM pg_temp.evc('HOLERUN', (SELECT t1 FROM t1))$$,
                  $$VALUES (0.0, 6.0, 2, 'confirmed', false, 6.0)$$,
                  'two triggered samples across a 6-minute hole (<= H, nothing untriggered between): one run spanning 6 min');
SELECT results_eq($$SELECT * FROM pg_temp.evc('OPENBLIP', (SELECT t1 FROM t1))$$,
                  $$VALUES (2.0, 4.0, 2, 'new', true, NULL::numeric)$$,
                  'blip / quiet / blip still inside the cooldown: new and open, not confirmed');
-- (removed again: later merges with a later p_now would close it as silent)
DELETE FROM watchlist_data.watch_signal_event WHERE symbol = 'OPENBLIP';
DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'OPENBLIP';
SELECT results_eq($$SELECT * FROM pg_temp.evc('S30SPLIT', (SELECT t1 FROM t1))$$,
                  $$VALUES (0.0, 2.0, 4, 'dropped', false, NULL::numeric)$$,
                  '30 s: two runs of 2 samples (30 s each) split by one untriggered sample: never a minute, dropped');
SELECT results_eq($$SELECT * FROM pg_temp.evc('S30LATE', (SELECT t1 FROM t1))$$,
                  $$VALUES (0.0, 2.5, 5, 'confirmed', false, 2.5)$$,
                  '30 s: the second run of 3 samples spans 1 minute: confirmed at its 3rd sample');
SELECT results_eq($$SELECT * FROM pg_temp.evc('M5PAIR', (SELECT t1 FROM t1))$$,
                  $$VALUES (5.0, 10.0, 2, 'confirmed', false, 10.0)$$,
                  '5 min: two consecutive triggered samples confirm at the second');
SELECT is((SELECT count(*)::int FROM watchlist_data.watch_signal_event
            WHERE symbol IN ('BLIP', 'LATERUN', 'TWOBLIPS', 'CONFBLIP', 'HOLERUN', 'S30SPLIT', 'S30LATE', 'M5PAIR')
              AND entry_ts IS DISTINCT FROM confirmed_at), 0, 'entry_ts is confirmed_at');
SELECT is((SELECT confirmed_at FROM watchlist.watch_signal_event WHERE symbol = 'LATERUN'),
          (SELECT t1 + interval '4 minutes' FROM t1), 'the read view exposes confirmed_at');

-- Read straight from the plan ("连续 N 分钟满足阈值才生成 event（默认 N=2）；冷静期 M 分钟内重复满足
-- 视为同一 event"; start_ts = "首次满足时间"), where another reading would answer differently:
SELECT results_eq($$SELECT status, confirmed_at IS NULL FROM watchlist_data.watch_signal_event WHERE symbol = 'BLIP'$$,
                  $$VALUES ('dropped', true)$$,
                  'plan: "N consecutive minutes" - two single minutes 4 apart are not 2 consecutive minutes (reading end - start across the cooldown would confirm it)');
SELECT results_eq($$SELECT start_ts - t1, confirmed_at - t1 FROM watchlist_data.watch_signal_event, t1 WHERE symbol = 'LATERUN'$$,
                  $$VALUES (interval '0', interval '4 minutes')$$,
                  'plan: re-triggering within M is the same event and start_ts is the first time the threshold was met: the blip, not the run (a run-only reading would start at minute 3)');
SELECT results_eq($$SELECT status, confirmed_at - t1 FROM watchlist_data.watch_signal_event, t1 WHERE symbol = 'S30LATE'$$,
                  $$VALUES ('confirmed', interval '2 minutes 30 seconds')$$,
                  'plan: N = 2 minutes at 30 s sampling is 3 samples spanning 1 minute (a "4 samples = 2 whole minutes" reading would leave it unconfirmed)');

-- features_agg: every numeric column of the raw table and every numeric meta.factors key.
SELECT pg_temp.put('binance', 'FEAT', t1 + interval '2 hours', '1 minute', 'TTTFFFF') FROM t1;
UPDATE watchlist_data.watch_signal_raw AS r
   SET crossings_1h = 10 - x.i, rv_1h = CASE WHEN x.i = 2 THEN NULL ELSE 0.01 * x.i END, spot_price = 100 + x.i,
       meta = r.meta || jsonb_build_object('factors', jsonb_build_object('rsi', 50 + x.i, 'tag', 'x'),
                                           'funding_diff_top', jsonb_build_array(x.i))
  FROM (SELECT t1 + interval '2 hours' + make_interval(mins => i) AS ts, i + 1 AS i FROM t1, generate_series(0, 2) AS i) AS x
 WHERE r.exchange = 'binance' AND r.symbol = 'FEAT' AND r.ts = x.ts;
SELECT * FROM watchlist.merge_events((SELECT t1 + interval '2 hours' FROM t1), 'infinity', (SELECT t1 + interval '3 hours' FROM t1));
SELECT is((SELECT features_agg - ARRAY['spread_rel', 'pairs_top_first', 'pairs_top_last'] FROM watchlist_data.watch_signal_event WHERE symbol = 'FEAT'),
          '{"crossings_1h": {"first": 9, "last": 7, "mean": 8, "min": 7, "max": 9},
            "rv_1h": {"first": 0.01, "last": 0.03, "mean": 0.02, "min": 0.01, "max": 0.03},
            "spot_price": {"first": 101, "last": 103, "mean": 102, "min": 101, "max": 103},
            "meta.rsi": {"first": 51, "last": 53, "mean": 52, "min": 51, "max": 53},
            "funding_diff_top_first": [1], "funding_diff_top_last": [3]}'::jsonb,
          'features_agg: integer and float columns, first/last skip NULLs, numeric meta.factors keys (non-numeric ignored), funding_diff_top snapshots');
SELECT is((SELECT count(*)::int FROM jsonb_object_keys((SELECT features_agg FROM watchlist_data.watch_signal_event WHERE symbol = 'FEAT'))),
          9, 'no key for columns without values (spread_rel, 3 set columns, meta.rsi, 4 snapshots)');

-- meta.factors keys both ways (watchlist.merge_events step 4b): as columns of the samples up to
-- 64 distinct keys in a merge, as rows above. FEATKEYS (3 keys) takes the columns; FEATWIDE
-- (the same three keys' values plus 67 keys w01..w67) takes the rows. A key missing from a
-- sample or not a number there is skipped: 'a' is 1.5, (none), 2.5, 5; 'b' is 'x', 4, true, 4;
-- 'c' only 7 in the last. Expected by hand: a first 1.5, last 5, mean 9 / 3 = 3, min 1.5, max 5.
SELECT pg_temp.put('binance', 'FEATKEYS', t1 + interval '5 hours', '1 minute', 'TTTTFFFF') FROM t1;
SELECT pg_temp.put('binance', 'FEATWIDE', t1 + interval '7 hours', '1 minute', 'TTTTFFFF') FROM t1;
UPDATE watchlist_data.watch_signal_raw AS r
   SET meta = r.meta || jsonb_build_object('factors',
                 CASE x.i WHEN 1 THEN '{"a": 1.5, "b": "x"}'::jsonb WHEN 2 THEN '{"b": 4}'::jsonb
                          WHEN 3 THEN '{"a": 2.5, "b": true}'::jsonb ELSE '{"a": 5, "b": 4, "c": 7}'::jsonb END
                 || CASE WHEN r.symbol = 'FEATWIDE'
                         THEN (SELECT jsonb_object_agg(format('w%s', lpad(k::text, 2, '0')), k * x.i) FROM generate_series(1, 67) AS k)
                         ELSE '{}'::jsonb END)
  FROM (SELECT i, make_interval(mins => i - 1) AS off FROM generate_series(1, 4) AS i) AS x, t1
 WHERE r.exchange = 'binance'
   AND ((r.symbol = 'FEATKEYS' AND r.ts = t1 + interval '5 hours' + x.off)
        OR (r.symbol = 'FEATWIDE' AND r.ts = t1 + interval '7 hours' + x.off));
SELECT * FROM watchlist.merge_events((SELECT t1 + interval '5 hours' FROM t1), (SELECT t1 + interval '6 hours' FROM t1),
                                     (SELECT t1 + interval '6 hours' FROM t1));
SELECT * FROM watchlist.merge_events((SELECT t1 + interval '7 hours' FROM t1), (SELECT t1 + interval '8 hours' FROM t1),
                                     (SELECT t1 + interval '8 hours' FROM t1));
SELECT is((SELECT jsonb_object_agg(k.key, k.value) FROM watchlist_data.watch_signal_event AS e, jsonb_each(e.features_agg) AS k
            WHERE e.symbol = 'FEATKEYS' AND k.key LIKE 'meta.%'),
          '{"meta.a": {"first": 1.5, "last": 5, "mean": 3, "min": 1.5, "max": 5},
            "meta.b": {"first": 4, "last": 4, "mean": 4, "min": 4, "max": 4},
            "meta.c": {"first": 7, "last": 7, "mean": 7, "min": 7, "max": 7}}'::jsonb,
          'meta.factors as columns (3 keys): a key absent from a sample or not a number there is skipped');
SELECT is((SELECT jsonb_object_agg(k.key, k.value) FROM watchlist_data.watch_signal_event AS e, jsonb_each(e.features_agg) AS k
            WHERE e.symbol = 'FEATWIDE' AND k.key IN ('meta.a', 'meta.b', 'meta.c', 'meta.w02')),
          '{"meta.a": {"first": 1.5, "last": 5, "mean": 3, "min": 1.5, "max": 5},
            "meta.b": {"first": 4, "last": 4, "mean": 4, "min": 4, "max": 4},
            "meta.c": {"first": 7, "last": 7, "mean": 7, "min": 7, "max": 7},
            "meta.w02": {"first": 2, "last": 8, "mean": 5, "min": 2, "max": 8}}'::jsonb,
          'meta.factors as rows (70 keys): the same statistics as the columns give; w02 = 2, 4, 6, 8');
SELECT is((SELECT count(*)::int FROM watchlist_data.watch_signal_event AS e, jsonb_object_keys(e.features_agg) AS k
            WHERE e.symbol = 'FEATWIDE' AND k LIKE 'meta.%'),
          70, 'meta.factors as rows: every numeric key of the 70 has its statistics');

-- Other settings: N = 3, M = 5 minutes, H = 90 s (keys removed again afterwards).
UPDATE watchlist_data.settings SET value = CASE key WHEN 'event_min_minutes' THEN '3' WHEN 'event_cooldown_minutes' THEN '5'
                                                    ELSE '90 seconds' END
 WHERE key IN ('event_min_minutes', 'event_cooldown_minutes', 'event_max_sample_gap');
CREATE TEMP TABLE t2 AS SELECT t0 + interval '4 days' AS t2 FROM t;
SELECT pg_temp.put('binance', 'N3SHORT', t2, '1 minute', 'TTFTTTFFFFFFF') FROM t2;
SELECT pg_temp.put('binance', 'M5GAP',   t2, '1 minute', 'TTFFFFFTTTFFFFFF') FROM t2;
SELECT pg_temp.put('binance', 'M5SPLIT', t2, '1 minute', 'TTTFFFFFFTTFFFFFF') FROM t2;
SELECT pg_temp.put('binance', 'H90',     t2, '1 minute', 'TT.TTTFFFFFF') FROM t2;
SELECT pg_temp.put('binance', 'H90RUN',  t2, '1 minute', 'TTT.TFFFFFF') FROM t2;
SELECT pg_temp.put('binance', 'N3M5MIN', t2, '5 minutes', 'TTFFF') FROM t2;
SELECT * FROM watchlist.merge_events((SELECT t2 FROM t2), 'infinity', (SELECT t2 + interval '1 hour' FROM t2));
SELECT results_eq($$SELECT * FROM pg_temp.evc('N3SHORT', (SELECT t2 FROM t2))$$,
                  $$VALUES (0.0, 5.0, 5, 'confirmed', false, 5.0)$$,
                  'N = 3: a run of 2 is not enough; the run of 3 after it confirms at its 3rd minute');
SELECT results_eq($$SELECT * FROM pg_temp.evc('M5GAP', (SELECT t2 FROM t2))$$,
                  $$VALUES (0.0, 9.0, 5, 'confirmed', false, 9.0)$$,
                  'M = 5: 5 untriggered minutes keep one island; N = 3 reached by the second run');
SELECT results_eq($$SELECT * FROM pg_temp.evc('M5SPLIT', (SELECT t2 FROM t2))$$,
                  $$VALUES (0.0, 2.0, 3, 'confirmed', false, 2.0), (9.0, 10.0, 2, 'dropped', false, NULL::numeric)$$,
                  'M = 5: 6 untriggered minutes split; the second island (2 minutes) is short of N = 3');
SELECT results_eq($$SELECT * FROM pg_temp.evc('H90', (SELECT t2 FROM t2))$$,
                  $$VALUES (0.0, 5.0, 5, 'confirmed', false, 5.0)$$,
                  'H = 90 s: a 2-minute hole breaks the run (0-1 is short of N) but not the island (off 2 min <= M); the run 3-5 confirms');
SELECT results_eq($$SELECT * FROM pg_temp.evc('H90RUN', (SELECT t2 FROM t2))$$,
                  $$VALUES (0.0, 4.0, 4, 'confirmed', false, 2.0)$$,
                  'H = 90 s: the run 0-2 confirms before the hole');
SELECT results_eq($$SELECT * FROM pg_temp.evc('N3M5MIN', (SELECT t2 FROM t2))$$,
                  $$VALUES (0.0, 5.0, 2, 'dropped', false, NULL::numeric)$$,
                  '5 min sampling with H = 90 s: every step is a hole, so no two samples are consecutive: one island (off 5 min <= M), never confirmed');
UPDATE watchlist_data.settings SET value = CASE key WHEN 'event_min_minutes' THEN '2' WHEN 'event_cooldown_minutes' THEN '3'
                                                    ELSE '10 minutes' END
 WHERE key IN ('event_min_minutes', 'event_cooldown_minutes', 'event_max_sample_gap');
DELETE FROM watchlist_data.watch_signal_event WHERE symbol IN ('N3SHORT', 'M5GAP', 'M5SPLIT', 'H90', 'H90RUN', 'N3M5MIN');
DELETE FROM watchlist_data.watch_signal_raw WHERE symbol IN ('N3SHORT', 'M5GAP', 'M5SPLIT', 'H90', 'H90RUN', 'N3M5MIN');

-- Re-running any window changes nothing: not a value, and not a stored row's header either
-- (an ON CONFLICT DO UPDATE that skips a row still locks it: a new xmax, a dirtied page).
CREATE TEMP TABLE ev_before AS SELECT e.id, e.ctid::text AS c, e.xmax::text AS x FROM watchlist_data.watch_signal_event AS e;
SELECT results_eq($$SELECT inserted, updated, deleted FROM watchlist.merge_events((SELECT t0 + interval '3 minutes' FROM t), 'infinity', (SELECT t0 + interval '2 hours' FROM t))$$,
                  $$VALUES (0, 0, 0)$$, 're-running a window inside the data changes nothing');
SELECT is((SELECT count(*)::int FROM watchlist_data.watch_signal_event AS e JOIN ev_before AS b
            ON b.id = e.id AND b.c = e.ctid::text AND b.x = e.xmax::text),
          (SELECT count(*)::int FROM ev_before),
          're-running a window neither rewrites nor locks a stored event (same ctid and xmax for every event)');

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

-- A rebuild of many keys reads the window in one pass (0071, merge_bulk_min_keys): the same
-- events as the per-key scans, field for field.
DELETE FROM watchlist_data.watch_signal_event;
UPDATE watchlist_data.settings SET value = '1000000' WHERE key = 'merge_bulk_min_keys';
SELECT * FROM watchlist.merge_events((SELECT t0 - interval '1 day' FROM t), 'infinity', (SELECT t0 + interval '1 day 20 minutes' FROM t));
CREATE TEMP TABLE wl_ev_scan AS SELECT exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, features_agg, reason, status, is_open, confirmed_at
  FROM watchlist_data.watch_signal_event;
DELETE FROM watchlist_data.watch_signal_event;
UPDATE watchlist_data.settings SET value = '1' WHERE key = 'merge_bulk_min_keys';
SELECT results_eq($$SELECT keys > 3, inserted = (SELECT count(*)::int FROM wl_ev_scan) AND inserted > 5
                      FROM watchlist.merge_events((SELECT t0 - interval '1 day' FROM t), 'infinity', (SELECT t0 + interval '1 day 20 minutes' FROM t))$$,
                  $$VALUES (true, true)$$, 'a one-pass rebuild of every key writes as many events as the per-key rebuild');
SELECT set_eq($$SELECT exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, features_agg, reason, status, is_open, confirmed_at
                  FROM watchlist_data.watch_signal_event$$,
              $$SELECT * FROM wl_ev_scan$$,
              'the one-pass rebuild gives the same events as the per-key scans (bounds, counts, features, status)');

SELECT * FROM finish();
ROLLBACK;
