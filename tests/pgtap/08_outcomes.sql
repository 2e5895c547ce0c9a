-- Outcome labels with hand-computed values: a short and a long convergence trade, a
-- funding time crossed (8 h and 1 h intervals), a hole at the horizon, a horizon the data
-- never reaches, a late row recomputing a label, a re-merge moving an event's entry;
-- plus recorded trades.
-- Settings for the fixture: horizons {10, 20} minutes, cost 2 bps; N = 2, M = 3, H = 10 min.
-- Every event is triggered at t0 and t0+1: confirmed at t0+1, so the trade is entered at
-- t0+1 (entry_ts = confirmed_at: no look-ahead) and the horizons end at t0+11 / t0+21.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(39);

SELECT count(*) FROM watchlist.set_setting('outcome_horizons_min', '{10,20}');
SELECT count(*) FROM watchlist.set_setting('outcome_cost_bps', '2');
CREATE TEMP TABLE t AS SELECT '2032-01-01T00:00:00Z'::timestamptz AS t0;

-- A: short the spread. spread 0.0030 at t0 falling 0.0001/min, a spike to 0.0036 at t0+3;
-- executable: sell = spread - 0.0001, buy = spread + 0.0001; funding 0.0001 every 8 h,
-- next funding at t0+5. The row at t0+11 arrives late.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate,
            funding_interval_hours, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low, ingested_at)
SELECT t0 + make_interval(mins => k), 'binance', 'OUTS', 'A', k IN (0, 1), sp, 0.0001, 8,
       CASE WHEN k < 5 THEN t0 + interval '5 minutes' ELSE t0 + interval '8 hours 5 minutes' END,
       sp - 0.0001, sp + 0.0001, t0 + interval '30 minutes'
  FROM t, generate_series(-2, 25) AS k,
       LATERAL (SELECT CASE WHEN k = 3 THEN 0.0036 ELSE 0.0030 - 0.0001 * k END AS sp) AS x
 WHERE k <> 11;
-- B: long the spread. spread -0.0020 rising 0.0001/min, no executable columns; funding
-- -0.0002 every hour, next funding at t0+2 then t0+62.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate,
            funding_interval_hours, next_funding_time, ingested_at)
SELECT t0 + make_interval(mins => k), 'okx', 'OUTL', 'B', k IN (0, 1), -0.0020 + 0.0001 * k, -0.0002, 1,
       CASE WHEN k < 2 THEN t0 + interval '2 minutes' ELSE t0 + interval '62 minutes' END, t0 + interval '30 minutes'
  FROM t, generate_series(-2, 25) AS k;
-- C: flat spread 0.003; rows until t0+2, then a hole until t0+25.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at)
SELECT t0 + make_interval(mins => k), 'binance', 'OUTH', 'A', k IN (0, 1), 0.003, t0 + interval '30 minutes'
  FROM t, unnest(ARRAY[-1, 0, 1, 2, 25]) AS k;
-- D: the data stops at t0+5.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at)
SELECT t0 + make_interval(mins => k), 'binance', 'OUTD', 'A', k IN (0, 1), 0.003, t0 + interval '30 minutes'
  FROM t, generate_series(0, 5) AS k;

SELECT results_eq($$SELECT keys, deleted FROM watchlist.merge_events((SELECT t0 - interval '1 hour' FROM t), (SELECT t0 + interval '1 hour' FROM t), (SELECT t0 + interval '30 minutes' FROM t))$$,
                  $$VALUES (4, 0)$$, 'the fixture events are merged: four keys');
SELECT is((SELECT count(*)::int FROM watchlist_data.watch_signal_event WHERE symbol LIKE 'OUT_' AND status = 'confirmed'), 4,
          'four confirmed events');

-- The labelling job's counts are database-wide: as if its previous run had been at t0
-- (watermark just before the fixture's rows), so only the fixture's events are candidates
-- on a reused database too.
INSERT INTO watchlist_data.job_state (job, watermark, last_run_at)
SELECT 'label_outcomes', t0 - interval '1 day', t0 FROM t
ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark, last_run_at = EXCLUDED.last_run_at;
INSERT INTO watchlist_data.label_job_state (job, prev_now)
SELECT 'label_outcomes', t0 FROM t
ON CONFLICT (job) DO UPDATE SET prev_now = EXCLUDED.prev_now, pending_event_ids = '{}', pending_from = NULL, ranks_days = false;

CREATE FUNCTION pg_temp.lab(p_sym text, p_h int) RETURNS watchlist_data.future_outcome LANGUAGE sql AS $$
    SELECT o.* FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
     WHERE e.symbol = p_sym AND o.horizon_min = p_h
$$;

SELECT results_eq($$SELECT candidates, written, uncovered, recomputed_events FROM watchlist.label_outcomes_incremental((SELECT t0 + interval '30 minutes' FROM t))$$,
                  $$VALUES (6, 6, 1, 0)$$, 'first run: A, B, C at both horizons (C at 20 min uncovered); D waits for data');
SELECT results_eq($$SELECT l.prev_now, l.pending_event_ids, l.ranks_days FROM watchlist_data.label_job_state AS l$$,
                  $$SELECT t0 + interval '30 minutes', ARRAY(SELECT id FROM watchlist_data.watch_signal_event WHERE symbol = 'OUTD'), true FROM t$$,
                  'the job carries its state typed: this run''s p_now, D (waiting for data) for the next run, days ranked from now on');
SELECT is((SELECT last_stats ? 'p_now' OR last_stats ? 'pending' FROM watchlist_data.job_state WHERE job = 'label_outcomes'), false,
          'last_stats holds only the run''s figures');
-- A at 10 min, before the late row: entry at t0+1 (spread 0.0029, sell 0.0028), exit at
-- t0+10 (buy 0.0021): 10000*(0.0028 - 0.0021 + 0.0001) - 2 = 6
SELECT ok(abs((pg_temp.lab('OUTS', 10)).pnl - 6) < 1e-9, 'A 10 min before the late row: pnl 6 bps (exit at t0+10)');

-- The row at t0+11 arrives late.
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate,
            funding_interval_hours, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low, ingested_at)
SELECT t0 + interval '11 minutes', 'binance', 'OUTS', 'A', false, 0.0019, 0.0001, 8, t0 + interval '8 hours 5 minutes',
       0.0018, 0.0020, t0 + interval '35 minutes' FROM t;
SELECT results_eq($$SELECT written, recomputed_events FROM watchlist.label_outcomes_incremental((SELECT t0 + interval '40 minutes' FROM t))$$,
                  $$VALUES (2, 3)$$, 'the late row rewrites both labels of event A and nothing else (3 events re-examined: the 2-minute watermark overlap)');

-- A, short, 10 min: entry at t0+1 sell 0.0028, exit at t0+11 buy 0.0020, funding at t0+5
-- (+0.0001): 10000 * (0.0028 - 0.0020 + 0.0001) - 2 = 7
SELECT ok(abs((pg_temp.lab('OUTS', 10)).pnl - 7) < 1e-9, 'A 10 min: pnl 7 bps');
SELECT ok(abs((pg_temp.lab('OUTS', 10)).spread_change - (-0.0010)) < 1e-12, 'A 10 min: spread change -0.0010 (0.0019 - 0.0029)');
SELECT is((pg_temp.lab('OUTS', 10)).funding_change, 0::float8, 'A 10 min: funding unchanged');
-- adverse excursion: the spike to 0.0036 against a 0.0028 entry = 8 bps
SELECT ok(abs((pg_temp.lab('OUTS', 10)).max_drawdown - 8) < 1e-9, 'A 10 min: max drawdown 8 bps (the spike)');
SELECT ok(abs((pg_temp.lab('OUTS', 10)).volatility
              - (SELECT stddev_samp(v) FROM unnest(ARRAY[0.0028, 0.0036, 0.0026, 0.0025, 0.0024, 0.0023, 0.0022, 0.0021, 0.0020, 0.0019]::float8[]) v)) < 1e-15,
          'A 10 min: volatility = sigma of the spread over (t0+1, t0+11]');
SELECT is((pg_temp.lab('OUTS', 10)).label - 'quantile',
          '{"sign": 1, "direction": "short_spread", "entry_px": 0.0028, "exit_px": 0.0020, "funding_times": 1}'::jsonb,
          'A 10 min: label, entered at confirmed_at t0+1 (the start row t0 would have sold at 0.0029: look-ahead)');
SELECT is((SELECT confirmed_at - start_ts FROM watchlist_data.watch_signal_event WHERE symbol = 'OUTS'), interval '1 minute',
          'A: confirmed one minute after its start');
SELECT is((SELECT count(*)::int FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
            WHERE e.symbol LIKE 'OUT_' AND o.entry_ts IS DISTINCT FROM e.start_ts + interval '1 minute'), 0,
          'every label records the entry it was computed for: confirmed_at, t0+1');
-- A, 20 min: exit at t0+21 buy 0.0010: 10000 * (0.0028 - 0.0010 + 0.0001) - 2 = 17
SELECT ok(abs((pg_temp.lab('OUTS', 20)).pnl - 17) < 1e-9, 'A 20 min: pnl 17 bps, one funding time crossed (next is 8 h later)');

-- B, long, 10 min: entry at t0+1 -0.0019, exit at t0+11 -0.0009; funding time t0+2 (rate
-- -0.0002 of the row at t0+1, the perp long receives 0.0002): 10000 * (0.0010 + 0.0002) - 2 = 10
SELECT ok(abs((pg_temp.lab('OUTL', 10)).pnl - 10) < 1e-9, 'B 10 min: pnl 10 bps');
SELECT is((pg_temp.lab('OUTL', 10)).max_drawdown, 0::float8, 'B 10 min: the spread never went against the long');
SELECT is((pg_temp.lab('OUTL', 10)).label ->> 'direction', 'long_spread', 'B is a long-spread trade');
-- B, 20 min: exit 0.0001 (t0+21), funding at t0+2 only (t0+62 is beyond): 10000 * (0.0020 + 0.0002) - 2 = 20
SELECT ok(abs((pg_temp.lab('OUTL', 20)).pnl - 20) < 1e-9, 'B 20 min: pnl 20 bps, hourly funding crossed once');

-- C: 10 min covered (exit t0+2 is 9 min before the horizon t0+11, within H = 10), 20 min is not.
SELECT ok(abs((pg_temp.lab('OUTH', 10)).pnl - (-2)) < 1e-9, 'C 10 min: flat spread, pnl = -cost');
SELECT results_eq($$SELECT covered, pnl, spread_change, max_drawdown, label FROM pg_temp.lab('OUTH', 20)$$,
                  $$VALUES (false, NULL::float8, NULL::float8, NULL::float8, '{"reason": "hole in the data at the horizon"}'::jsonb)$$,
                  'C 20 min: a hole at the horizon is flagged, with no made-up numbers');

-- Quintiles per (horizon, day): at 10 min C (-2) < A (7) < B (10).
SELECT results_eq($$SELECT e.symbol, (o.label ->> 'quantile')::int FROM watchlist_data.future_outcome o
                      JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id WHERE o.horizon_min = 10 ORDER BY 2$$,
                  $$VALUES ('OUTH', 1), ('OUTS', 2), ('OUTL', 3)$$, 'pnl quintiles within the day');

-- D: nothing until the grace period (event_lookback) has passed, then an uncovered row.
SELECT is((SELECT count(*)::int FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
            WHERE e.symbol = 'OUTD'), 0, 'D: no label while the data may still reach the horizon');
SELECT results_eq($$SELECT written, uncovered FROM watchlist.label_outcomes_incremental((SELECT t0 + interval '7 hours' FROM t))$$,
                  $$VALUES (2, 2)$$, 'D: after the grace period both horizons are written as uncovered');
SELECT is((pg_temp.lab('OUTD', 10)).label, '{"reason": "no data at or after the horizon"}'::jsonb, 'D: the reason says why');
SELECT results_eq($$SELECT written FROM watchlist.label_outcomes_incremental((SELECT t0 + interval '7 hours' FROM t))$$,
                  $$VALUES (0)$$, 're-running writes nothing');

-- R, a day later: triggered at T, T+2, T+3 (T+1 not): confirmed at T+3, labelled from there.
-- Then T+1 turns out triggered (late): the re-merge confirms it at T+1; its labels are
-- stale (entered at T+3), dropped by the merge and written again by the label job.
CREATE TEMP TABLE r AS SELECT t0 + interval '1 day' AS t FROM t;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at)
SELECT r.t + make_interval(mins => k), 'binance', 'OUTR', 'A', k IN (0, 2, 3), 0.0030 - 0.0001 * k, r.t + interval '45 minutes'
  FROM r, generate_series(-2, 40) AS k;
SELECT * FROM watchlist.merge_events((SELECT t - interval '1 hour' FROM r), 'infinity', (SELECT t + interval '45 minutes' FROM r));
SELECT * FROM watchlist.label_outcomes_incremental((SELECT t + interval '45 minutes' FROM r));
SELECT results_eq($$SELECT o.horizon_min, o.entry_ts - r.t, o.label -> 'entry_px' FROM watchlist_data.future_outcome o
                      JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id, r WHERE e.symbol = 'OUTR' ORDER BY 1$$,
                  $$VALUES (10, interval '3 minutes', '0.0027'::jsonb), (20, interval '3 minutes', '0.0027'::jsonb)$$,
                  'R: entered at T+3, where the run T+2..T+3 confirmed it (spread 0.0027)');
UPDATE watchlist_data.watch_signal_raw SET triggered = true, ingested_at = (SELECT t + interval '50 minutes' FROM r)
 WHERE symbol = 'OUTR' AND ts = (SELECT t + interval '1 minute' FROM r);
SELECT * FROM watchlist.merge_events((SELECT t - interval '1 hour' FROM r), 'infinity', (SELECT t + interval '50 minutes' FROM r));
SELECT results_eq($$SELECT e.confirmed_at - r.t, (SELECT count(*)::int FROM watchlist_data.future_outcome o WHERE o.event_id = e.id)
                      FROM watchlist_data.watch_signal_event e, r WHERE e.symbol = 'OUTR'$$,
                  $$VALUES (interval '1 minute', 0)$$, 'R re-merged: confirmed at T+1 now, its stale labels are gone');
SELECT results_eq($$SELECT written FROM watchlist.label_outcomes_incremental((SELECT t + interval '55 minutes' FROM r))$$,
                  $$VALUES (2)$$, 'the label job writes R''s two labels again');
SELECT results_eq($$SELECT o.horizon_min, o.entry_ts - r.t, o.label -> 'entry_px', o.spread_change FROM watchlist_data.future_outcome o
                      JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id, r WHERE e.symbol = 'OUTR' ORDER BY 1$$,
                  $$VALUES (10, interval '1 minute', '0.0029'::jsonb, 0.0019::float8 - 0.0029::float8),
                           (20, interval '1 minute', '0.0029'::jsonb, 0.0009::float8 - 0.0029::float8)$$,
                  'R: entered at T+1 now (spread 0.0029), horizons from there');

-- Executed trades.
SELECT results_eq($$SELECT row_index, trade_ref, id IS NOT NULL, error IS NULL FROM watchlist.record_trades(jsonb_build_array(
        jsonb_build_object('trade_ref', 'T-1', 'trigger_id', (SELECT id FROM watchlist_data.watch_signal_event WHERE symbol = 'OUTS'),
                           'opened_at', '2032-01-01T00:01:00Z', 'closed_at', '2032-01-01T03:01:00Z', 'pnl', 12.5, 'notes', 'filled'),
        jsonb_build_object('trade_ref', 'T-2', 'opened_at', '2032-01-01 00:01:00', 'pnl', 1)))$$,
    $$VALUES (0, 'T-1', true, true), (1, 'T-2', false, false)$$,
    'a good trade is recorded, a naive timestamp is refused without costing the other');
SELECT results_eq($$SELECT e.symbol, o.holding_hours, o.pnl FROM watchlist.watchlist_outcome o
                      JOIN watchlist.watch_signal_event e ON e.id = o.trigger_id WHERE o.trade_ref = 'T-1'$$,
                  $$VALUES ('OUTS', 3::float8, 12.5::float8)$$, 'the trade sits next to its event, holding hours derived');
SELECT results_eq($$SELECT count(*)::int FROM watchlist.record_trades('[{"trade_ref": "T-1", "opened_at": "2032-01-01T00:01:00Z", "pnl": 13}]') WHERE error IS NULL$$,
                  $$VALUES (1)$$, 're-importing a trade_ref updates it');
SELECT is((SELECT count(*)::int FROM watchlist_data.watchlist_outcome WHERE trade_ref LIKE 'T-%'), 1, 'still one row for T-1');

-- A key that is not a field (a typo) would be dropped silently: its row is refused, naming
-- the key, and the other rows are recorded.
SELECT results_eq($$SELECT row_index, trade_ref, id IS NOT NULL, error FROM watchlist.record_trades(jsonb_build_array(
        jsonb_build_object('trade_ref', 'T-3', 'opened_at', '2032-01-01T00:01:00Z', 'pnll', 5),
        jsonb_build_object('trade_ref', 'T-4', 'opened_at', '2032-01-01T00:01:00Z', 'pnl', 5)))$$,
    $$VALUES (0, 'T-3', false, 'unknown field: pnll (a trade''s fields are the columns of watchlist.watchlist_outcome) [22023]'),
             (1, 'T-4', true, NULL)$$,
    'a trade with an unknown key is refused naming the key; the other trade is recorded');
SELECT is(watchlist.upsert_symbol_refs('[{"exchange": "binance", "symbol": "REFOK"}, {"exchange": "binance", "symbol": "REFTYPO", "sectr": "x"}, 7]'), 1,
          'symbol references: the good row is written next to a row with an unknown key and a row that is no object');
SELECT results_eq($$SELECT symbol FROM watchlist.watchlist_symbol_ref WHERE symbol IN ('REFOK', 'REFTYPO') ORDER BY 1$$,
                  $$VALUES ('REFOK'::text)$$, 'only the good symbol reference is stored');
SELECT results_eq($$SELECT row_index, field, reason FROM watchlist_data.ingest_quarantine
                     WHERE batch_id = 'symbol_refs:' || session_user ORDER BY id DESC LIMIT 2$$,
                  $$VALUES (2, '(row)'::text, 'a symbol reference row must be a JSON object, got number'::text),
                           (1, 'sectr', 'unknown field: sectr')$$,
                  'each refused symbol reference is kept with its index, field and reason');

SELECT * FROM finish();
ROLLBACK;
