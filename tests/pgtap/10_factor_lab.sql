-- Factor lab on fixtures with known ranks: Pearson and Spearman IC per period, ties,
-- skipped small periods, IR / t-stat / hit rate, quintiles, point-in-time factor values.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(15);

-- day d, event i: factor x (meta.factors.f1, and spread_rel = x / 1000) at the event's entry
-- (confirmed_at = entry_ts, one minute after its start), outcome y (pnl, 30 min)
CREATE TEMP TABLE fx (d int, i int, x float8, y float8);
INSERT INTO fx VALUES
  (1, 1, 1, 2), (1, 2, 2, 4), (1, 3, 3, 6), (1, 4, 4, 8), (1, 5, 5, 10), (1, 6, 6, 12),    -- IC 1
  (2, 1, 1, 1), (2, 2, 2, 3), (2, 3, 3, 2), (2, 4, 4, 5), (2, 5, 5, 4), (2, 6, 6, 6),      -- IC 31/35
  (3, 1, 1, 1), (3, 2, 1, 2), (3, 3, 2, 3), (3, 4, 3, 4), (3, 5, 4, 5), (3, 6, 5, 6),      -- ties in x
  (4, 1, 1, 1), (4, 2, 2, 2);                                                              -- too few
CREATE TEMP TABLE fx_ev AS
SELECT fx.*, '2035-01-01T00:00:00Z'::timestamptz + make_interval(days => d - 1, hours => i) AS entry_ts, 'F' || i AS symbol FROM fx;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, meta)
SELECT entry_ts, 'lab', symbol, 'A', true, x / 1000, jsonb_build_object('factors', jsonb_build_object('f1', x, 'note', 'text ignored'))
  FROM fx_ev;
-- a row one minute AFTER each entry with a wild factor value: must never be used (no look-ahead)
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, meta)
SELECT entry_ts + interval '1 minute', 'lab', symbol, 'A', true, 999, '{"factors": {"f1": -999}}' FROM fx_ev;
-- the event's first sample, one minute BEFORE the entry: superseded by the entry row
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, meta)
SELECT entry_ts - interval '1 minute', 'lab', symbol, 'A', true, 0.5, '{"factors": {"f1": 500}}' FROM fx_ev;
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'lab', symbol, 'A', entry_ts - interval '1 minute', entry_ts + interval '1 minute', 120, 3, 'confirmed', false, entry_ts FROM fx_ev;
-- the symbols are on the watchlist (whatever memberships the database holds for others)
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
SELECT DISTINCT 'lab', symbol, '2034-12-01T00:00:00Z'::timestamptz FROM fx_ev;
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl)
SELECT e.id, 30, true, fx_ev.y FROM fx_ev JOIN watchlist_data.watch_signal_event e ON e.exchange = 'lab' AND e.entry_ts = fx_ev.entry_ts;

CREATE TEMP TABLE per AS
SELECT * FROM watchlist.factor_ic_by_period('2035-01-01', '2035-01-05', 'pnl', '1 day', 5, NULL, 'lab', 'meta.f1');
SELECT is((SELECT count(*)::int FROM per), 4, 'four daily periods for meta.f1');
SELECT ok((SELECT abs(ic - 1) < 1e-12 AND abs(rank_ic - 1) < 1e-12 FROM per WHERE period_start = '2035-01-01'), 'day 1: IC = rank IC = 1');
SELECT ok((SELECT abs(ic - 31.0 / 35) < 1e-12 AND abs(rank_ic - 31.0 / 35) < 1e-12 FROM per WHERE period_start = '2035-01-02'),
          'day 2: IC = rank IC = 31/35');
SELECT ok((SELECT abs(rank_ic - 17 / sqrt(17 * 17.5)) < 1e-12 AND abs(ic - (SELECT corr(y, x) FROM fx WHERE d = 3)) < 1e-12
             FROM per WHERE period_start = '2035-01-03'),
          'day 3: tied factor values get average ranks (Spearman = 17 / sqrt(17 * 17.5)); Pearson on the values');
SELECT results_eq($$SELECT n_events, ic, rank_ic, skipped FROM per WHERE period_start = '2035-01-04'$$,
                  $$VALUES (2, NULL::float8, NULL::float8, true)$$, 'day 4: two events, skipped with no IC');

CREATE TEMP TABLE s AS
SELECT * FROM watchlist.factor_ic('2035-01-01', '2035-01-05', 'pnl', '1 day', 5, NULL, 'lab', 'meta.f1');
SELECT results_eq($$SELECT n_periods, skipped_periods, n_events FROM s$$, $$VALUES (3, 1, 18)$$,
                  'summary: 3 periods used, 1 skipped, 18 events');
SELECT ok((SELECT abs(mean_ic - k.mu) < 1e-12 AND abs(std_ic - k.sd) < 1e-12
             FROM s, (SELECT avg(v) mu, stddev_samp(v) sd FROM unnest(ARRAY[1, 31.0 / 35, (SELECT corr(y, x) FROM fx WHERE d = 3)]::float8[]) v) k),
          'mean and sample std of the period ICs');
SELECT ok((SELECT abs(s.ir - k.mu / k.sd) < 1e-9 AND abs(s.t_stat - k.mu / k.sd * sqrt(3)) < 1e-9 AND s.hit_rate = 1
             FROM s, (SELECT avg(v) mu, stddev_samp(v) sd FROM unnest(ARRAY[1, 31.0 / 35, (SELECT corr(y, x) FROM fx WHERE d = 3)]::float8[]) v) k),
          'IR = mean/std and t = IR * sqrt(periods) of the independently computed period ICs; every period positive');
SELECT ok((SELECT abs(ir - 15.5569108714) < 1e-8 AND abs(t_stat - 26.9453600380) < 1e-8 FROM s),
          'IR and t-stat equal figures computed outside the database (numpy: ICs 1, 31/35, 0.98198...; IR 15.55691, t 26.94536)');

-- quintiles pooled over days 1-2 (ntile(5) of 6 events: 2,1,1,1,1)
CREATE TEMP TABLE s2 AS
SELECT * FROM watchlist.factor_ic('2035-01-01', '2035-01-03', 'pnl', '1 day', 5, NULL, 'lab', 'meta.f1');
SELECT results_eq($$SELECT q1, q2, q3, q4, q5, top_minus_bottom FROM s2$$,
                  $$VALUES (2.5::float8, 4::float8, 6.5::float8, 7::float8, 9::float8, 6.5::float8)$$,
                  'mean outcome by factor quintile and top minus bottom');
SELECT ok((SELECT abs(rank_autocorr - 1) < 1e-12 FROM s2), 'factor ranks identical day to day: rank autocorrelation 1');

-- point in time and factor discovery
SELECT is((SELECT count(*)::int FROM watchlist.event_factors('2035-01-01', '2035-01-05', NULL, 'lab') WHERE value < 0), 0,
          'values recorded after the entry are never used');
SELECT results_eq($$SELECT f.symbol, f.entry_ts, f.start_ts, f.value FROM watchlist.event_factors('2035-01-01', '2035-01-05', NULL, 'lab') AS f
                     WHERE f.factor = 'meta.f1' ORDER BY f.entry_ts, f.symbol$$,
                  $$SELECT symbol, entry_ts, entry_ts - interval '1 minute', x FROM fx_ev ORDER BY entry_ts, symbol$$,
                  'factor values are those of the entry (confirmed_at), not of the event start one minute earlier');
SELECT results_eq($$SELECT DISTINCT factor FROM watchlist.event_factors('2035-01-01', '2035-01-05', NULL, 'lab') ORDER BY 1$$,
                  $$VALUES ('meta.f1'), ('spread_rel')$$, 'core columns and numeric meta.factors keys are factors; text keys are not');
SELECT throws_ok($$SELECT * FROM watchlist.factor_ic_by_period('2035-01-01', '2035-01-05', 'profit')$$, '22023',
                 'unknown outcome metric "profit" (pnl, spread_change, funding_change, max_drawdown, volatility, excess_pnl, excess_pnl_tod, excess_pnl_sector, excess_pnl_tier)',
                 'an unknown outcome metric is refused');

SELECT * FROM finish();
ROLLBACK;
