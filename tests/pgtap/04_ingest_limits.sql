-- Writer API limits: the accepted range of every number, the one timestamp form and the time
-- window, quarantined rows cut to their limit, and numbers in meta that the jobs read safely.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(25);

-- times relative to now (the window is now() - raw_retention .. now() + 5 minutes)
CREATE FUNCTION pg_temp.iso(p_ago interval) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT to_char((date_trunc('minute', now()) - p_ago) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
CREATE FUNCTION pg_temp.row(p_symbol text, p_ago interval, p_extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql STABLE AS
$$ SELECT jsonb_build_object('ts', pg_temp.iso(p_ago), 'exchange', 'binance', 'symbol', p_symbol, 'signal_type', 'A', 'triggered', true) || p_extra $$;

-- Numbers: outside the accepted range a row is refused with its index, field and reason, the
-- good rows beside it stored; the bounds themselves as documented.
CREATE TEMP TABLE range_result AS SELECT * FROM watchlist.ingest_raw(jsonb_build_array(
    /* 0 good       */ pg_temp.row('LIMNUM', '10 minutes', '{"spread_rel": 0.001}'),
    /* 1 1e200      */ pg_temp.row('LIMNUM', '9 minutes', '{"spread_rel": 1e200}'),
    /* 2 good       */ pg_temp.row('LIMNUM', '8 minutes', '{"spread_rel": 0.002}'),
    /* 3 funding    */ pg_temp.row('LIMNUM', '7 minutes', '{"funding_rate": -11}'),
    /* 4 price      */ pg_temp.row('LIMNUM', '6 minutes', '{"spot_price": 1e9}'),
    /* 5 interval   */ pg_temp.row('LIMNUM', '5 minutes', '{"funding_interval_hours": 169}'),
    /* 6 count      */ pg_temp.row('LIMNUM', '4 minutes', '{"crossings_1h": 1000001}'),
    /* 7 bounds ok  */ pg_temp.row('LIMNUM', '3 minutes', '{"volume_quote": 1e15, "spread_rel": 10, "funding_rate": -10, "funding_interval_hours": 168}'),
    /* 8 1e308      */ pg_temp.row('LIMNUM', '2 minutes', '{"funding_zscore_7d": 1e308, "rv_1h": 2e154}'),
    /* 9 subnormal  */ pg_temp.row('LIMNUM', '1 minute', '{"spread_rel": 5e-324}')
), 'limits-range');
SELECT results_eq($$SELECT received, inserted, rejected, rejects FROM range_result$$,
                  $$VALUES (10, 3, 7, '[{"row": 1, "field": "spread_rel", "reason": "must be <= 10, got 1e+200"},
                                       {"row": 3, "field": "funding_rate", "reason": "must be >= -10, got -11"},
                                       {"row": 4, "field": "spot_price", "reason": "must be < 1000000000, got 1000000000"},
                                       {"row": 5, "field": "funding_interval_hours", "reason": "must be <= 168, got 169"},
                                       {"row": 6, "field": "crossings_1h", "reason": "must be <= 1000000, got 1000001"},
                                       {"row": 8, "field": "funding_zscore_7d", "reason": "must be <= 1000000, got 1e+308"},
                                       {"row": 8, "field": "rv_1h", "reason": "must be <= 1000, got 2e+154"},
                                       {"row": 9, "field": "spread_rel", "reason": "must be 0 or at least 1e-30 from 0, got 5e-324"}]'::jsonb)$$,
                  'numbers out of range or subnormal: each refused with row, field and reason');
SELECT results_eq($$SELECT spread_rel, funding_rate, volume_quote FROM watchlist_data.watch_signal_raw WHERE symbol = 'LIMNUM' ORDER BY ts$$,
                  $$VALUES (0.001::float8, NULL::float8, NULL::float8), (0.002, NULL, NULL), (10, -10, 1e15)$$,
                  'numbers out of range: the good rows beside them are stored, the bounds themselves accepted');
SELECT results_eq($$SELECT watchlist_data.raw_rows_in_range(jsonb_build_array(pg_temp.row('X', '2 minutes', '{"spread_rel": 0.1}'), pg_temp.row('X', '1 minute', '{"spread_rel": 1e200}'))),
                           watchlist_data.raw_row_clean(pg_temp.row('X', '1 minute', '{"spread_rel": 1e200}'), now() - INTERVAL '1 day', now()),
                           watchlist_data.raw_rows_in_range(jsonb_build_array(pg_temp.row('X', '1 minute', '{"spread_rel": 10, "spot_price": 5, "crossings_1h": 1000000}'))),
                           watchlist_data.raw_rows_in_range(jsonb_build_array(pg_temp.row('X', '1 minute', '{"spot_price": 0}'))),
                           watchlist_data.raw_rows_in_range(jsonb_build_array(pg_temp.row('X', '1 minute', '{"crossings_1h": 1000001}'))),
                           watchlist_data.raw_rows_in_range(jsonb_build_array(pg_temp.row('X', '1 minute', '{"rv_1h": 5e-324, "spread_rel": 0}'))),
                           watchlist_data.raw_values_in_range('rv_1h', ARRAY[0, 5e-324])$$,
                  $$VALUES (false, false, true, false, false, false, false)$$, 'both fast tests send an out-of-range number to the exact checks');
SELECT results_eq($$SELECT watchlist_data.raw_values_in_range('spread_rel', ARRAY[0.1, NULL, 10]),
                           watchlist_data.raw_values_in_range('spread_rel', ARRAY[0.1, 1e200]),
                           watchlist_data.raw_values_in_range('spread_rel', ARRAY['NaN'::float8]),
                           watchlist_data.raw_values_in_range('spot_price', ARRAY[0::float8])$$,
                  $$VALUES (true, false, false, false)$$, 'the columnar fast test: a column inside its range, or not');
SELECT results_eq($$SELECT inserted, rejected, rejects FROM watchlist.ingest_raw_columns('limits-cols',
                        ts => ARRAY[pg_temp.iso('10 minutes'), pg_temp.iso('9 minutes')], exchange => ARRAY['okx', 'okx'],
                        symbol => ARRAY['LIMNUM', 'LIMNUM'], signal_type => ARRAY['A', 'A'], triggered => ARRAY[true, true],
                        spread_rel => ARRAY[0.001, 1e200])$$,
                  $$VALUES (1, 1, '[{"row": 1, "field": "spread_rel", "reason": "must be <= 10, got 1e+200"}]'::jsonb)$$,
                  'columns: 1e200 in spread_rel refused with row and field, the good row stored');
SELECT is((SELECT count(*)::int FROM watchlist_data.raw_field_range() r
            WHERE r.field = ANY (watchlist_data.raw_fields()) AND watchlist_data.raw_field_kind(r.field) IN ('number', 'integer')),
          (SELECT count(*)::int FROM unnest(watchlist_data.raw_fields()) f WHERE watchlist_data.raw_field_kind(f) IN ('number', 'integer')),
          'every numeric column has an accepted range');

-- Timestamps: one form (ISO 8601 with a numeric offset), a window; a bad one never costs the
-- good rows and never raises.
CREATE TEMP TABLE ts_rows AS
SELECT i, r FROM (VALUES
    (0, pg_temp.row('LIMTS', '30 minutes')),
    (1, pg_temp.row('LIMTS', '0', jsonb_build_object('ts', replace(left(pg_temp.iso('29 minutes'), 19), 'T', ' ') || ' EST-0500'))),
    (2, pg_temp.row('LIMTS', '0', jsonb_build_object('ts', replace(left(pg_temp.iso('28 minutes'), 19), 'T', ' ') || ' Foo/Bar+01'))),
    (3, pg_temp.row('LIMTS', '0', jsonb_build_object('ts', replace(left(pg_temp.iso('27 minutes'), 19), 'T', ' ') || ' BC+00'))),
    (4, pg_temp.row('LIMTS', '0', '{"ts": "1969-12-31T00:00:00Z"}')),
    (5, pg_temp.row('LIMTS', '0', '{"ts": "1800-01-01T00:00:00+00:00"}')),
    (6, pg_temp.row('LIMTS', '-1 hour')),
    (7, pg_temp.row('LIMTS', '26 minutes', '{"next_funding_time": "9999-12-31T00:00:00Z"}')),
    (8, pg_temp.row('LIMTS', '0', jsonb_build_object('ts', replace(pg_temp.iso('25 minutes'), 'Z', '+99:00')))),
    (9, pg_temp.row('LIMTS', '0', '{"ts": "2026-13-01T00:00:00Z"}')),
    (10, pg_temp.row('LIMTS', '0', jsonb_build_object('ts', replace(left(pg_temp.iso('24 minutes'), 16), 'T', ' ') || '+01'))),
    (11, pg_temp.row('LIMTS', '23 minutes', jsonb_build_object('next_funding_time', pg_temp.iso('-7 days'))))
) AS t(i, r);
CREATE TEMP TABLE ts_result AS
SELECT * FROM watchlist.ingest_raw((SELECT jsonb_agg(r ORDER BY i) FROM ts_rows), 'limits-ts');
SELECT results_eq($$SELECT received, inserted, rejected FROM ts_result$$, $$VALUES (12, 3, 9)$$,
                  'timestamps: 3 good rows stored, 9 refused, nothing raised');
SELECT results_eq($$SELECT (r ->> 'row')::int, r ->> 'field', split_part(r ->> 'reason', ' (', 1)
                      FROM ts_result, jsonb_array_elements(rejects) r ORDER BY 1, 2$$,
                  $$VALUES (1, 'ts', 'not an ISO 8601 timestamp with a numeric UTC offset'),
                           (2, 'ts', 'not an ISO 8601 timestamp with a numeric UTC offset'),
                           (3, 'ts', 'not an ISO 8601 timestamp with a numeric UTC offset'),
                           (4, 'ts', 'timestamp is older than the raw_retention window'),
                           (5, 'ts', 'timestamp is older than the raw_retention window'),
                           (6, 'ts', 'timestamp is in the future'),
                           (7, 'next_funding_time', 'must be within 1 day before and 8 days after ts, got ' || '9999-12-31T00:00:00Z'::timestamptz::text || ' for ts ' || (pg_temp.iso('26 minutes')::timestamptz)::text),
                           (8, 'ts', 'not a valid timestamp: ' || replace(pg_temp.iso('25 minutes'), 'Z', '+99:00')),
                           (9, 'ts', 'not a valid timestamp: 2026-13-01T00:00:00Z')$$,
                  'timestamps: a name or abbreviation of a zone, BC, before the window, after it, a next funding far off, an impossible offset or month');
SELECT results_eq($$SELECT ts FROM watchlist_data.watch_signal_raw WHERE symbol = 'LIMTS' ORDER BY ts$$,
                  $$VALUES (pg_temp.iso('24 minutes')::timestamptz - INTERVAL '1 hour'), (pg_temp.iso('30 minutes')::timestamptz),
                           (pg_temp.iso('23 minutes')::timestamptz)$$,
                  'timestamps: the good rows stored once, a +01 offset read as one hour east of UTC');
SELECT is((SELECT count(*)::int FROM watchlist.ingest_rejects WHERE batch_id = 'limits-ts'), 9, 'timestamps: the refused rows are quarantined');
SELECT results_eq($$SELECT received, inserted, rejected FROM watchlist.ingest_raw(jsonb_build_array(
                        pg_temp.row('LIMTS2', '5 minutes'),
                        pg_temp.row('LIMTS2', '0', jsonb_build_object('ts', replace(left(pg_temp.iso('4 minutes'), 19), 'T', ' ') || ' EST-0500'))), 'limits-est')$$,
                  $$VALUES (2, 1, 1)$$, 'a zone abbreviation (EST-0500) alone beside a good row: refused, the good row stored');
SELECT results_eq($$SELECT inserted, rejected, rejects -> 0 ->> 'field' FROM watchlist.ingest_raw_columns('limits-cols-ts',
                        ts => ARRAY[pg_temp.iso('10 minutes'), '1969-12-31T00:00:00Z'], exchange => ARRAY['okx', 'okx'],
                        symbol => ARRAY['LIMTS', 'LIMTS'], signal_type => ARRAY['A', 'A'], triggered => ARRAY[true, true])$$,
                  $$VALUES (1, 1, 'ts')$$, 'columns: a ts before the window refused, the good row stored');
SELECT results_eq($$SELECT watchlist_data.raw_ts_quick_ok('2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', NULL),
                           watchlist_data.raw_ts_quick_ok('2026-01-01T00:00:01Z', '2026-01-01T00:00:01Z', NULL),
                           watchlist_data.raw_ts_quick_ok('2026-01-01 00:00:01 EST', NULL, NULL)$$,
                  $$VALUES (false, true, false)$$, 'quick timestamp test: the window''s lower bound, and one form');

-- Quarantine: an oversize refused row is cut to watchlist_data.quarantine_row_max_bytes().
CREATE TEMP TABLE big_result AS SELECT * FROM watchlist.ingest_raw(jsonb_build_array(
    pg_temp.row('LIMBIG', '3 minutes'),
    pg_temp.row('LIMBIG', '2 minutes', jsonb_build_object('not_a_column', repeat('x', 200000))),
    pg_temp.row('LIMBIG', '1 minute', (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 20000) g))), 'limits-big');
SELECT results_eq($$SELECT inserted, rejected FROM big_result$$, $$VALUES (1, 2)$$, 'oversize unknown fields: refused, the good row kept');
SELECT results_eq($$SELECT count(*)::int, count(*) FILTER (WHERE r ->> 'field' = '(row)' AND r ->> 'reason' = '19990 more unknown fields')::int
                      FROM big_result, jsonb_array_elements(rejects) r WHERE (r ->> 'row')::int = 2$$,
                  $$VALUES (11, 1)$$, '20,000 unknown keys: the first 10 named, the rest counted in one problem');
SELECT is((SELECT max(octet_length(row_data::text)) <= watchlist_data.quarantine_row_max_bytes() FROM watchlist.ingest_rejects WHERE batch_id = 'limits-big'),
          true, 'every quarantined row is at most quarantine_row_max_bytes()');
SELECT results_eq($$SELECT row_data ->> 'not_a_column', row_data ->> 'symbol' FROM watchlist.ingest_rejects WHERE batch_id = 'limits-big' AND row_index = 1$$,
                  $$VALUES ('(dropped: oversize)', 'LIMBIG')$$, 'a huge field is dropped, the rest of the row kept');
SELECT results_eq($$SELECT DISTINCT row_data ? '(truncated)', (row_data ->> 'bytes')::int > 65536 FROM watchlist.ingest_rejects WHERE batch_id = 'limits-big' AND row_index = 2$$,
                  $$VALUES (true, true)$$, 'a row of many small fields is kept as the start of its text and its size');
SELECT results_eq($$SELECT watchlist_data.quarantine_row('{"a": 1}'), watchlist_data.quarantine_row(NULL)$$,
                  $$VALUES ('{"a": 1}'::jsonb, NULL::jsonb)$$, 'a small row is quarantined whole');

-- Meta: not range-checked at ingest, so 1e400 or 1e300 in meta.factors and in
-- meta.exchanges[].funding_rate is stored; the merge and the factors read it as NULL and
-- every key, that one included, still gets its events and factors.
SELECT results_eq($$SELECT x FROM (VALUES
                        (watchlist_data.jsonb_float8('1e400')), (watchlist_data.jsonb_float8('-1e300')), (watchlist_data.jsonb_float8('1e-400')),
                        (watchlist_data.jsonb_float8('"1"')), (watchlist_data.jsonb_float8('1.5')), (watchlist_data.jsonb_float8('0')),
                        (watchlist_data.jsonb_float8('1e15')), (watchlist_data.jsonb_float8(NULL))) AS v(x)$$,
                  $$VALUES (NULL::float8), (NULL), (NULL), (NULL), (1.5), (0), (1e15), (NULL)$$,
                  'jsonb_float8: out of range, not a number or NULL give NULL');
DELETE FROM watchlist_data.job_state;
CREATE TEMP TABLE meta_rows AS
SELECT s.symbol, g AS m,
       pg_temp.row(s.symbol, make_interval(mins => 40 - g), jsonb_build_object(
           'spread_rel', 0.003, 'funding_rate', 0.0001, 'funding_interval_hours', 8, 'volume_quote', 1000,
           'meta', jsonb_build_object('factors', jsonb_build_object('big', s.big, 'ok', 1.5),
                                      'exchanges', jsonb_build_array(jsonb_build_object('name', 'binance', 'kind', 'perp', 'funding_rate', s.big,
                                                                                        'funding_interval_hours', 8, 'oi_usd', 1e6, 'volume_24h_quote', 2e6),
                                                                     jsonb_build_object('name', 'okx', 'kind', 'perp', 'funding_rate', 0.0002,
                                                                                        'funding_interval_hours', 4, 'oi_usd', 1e6, 'volume_24h_quote', 2e6))))) AS r
  FROM (VALUES ('LIMMETA1', '1e400'::jsonb), ('LIMMETA2', '1e300'::jsonb), ('LIMMETA3', '2'::jsonb)) AS s(symbol, big),
       generate_series(0, 29) AS g;
SELECT results_eq($$SELECT inserted, rejected FROM watchlist.ingest_raw((SELECT jsonb_agg(r ORDER BY symbol, m) FROM meta_rows), 'limits-meta')$$,
                  $$VALUES (90, 0)$$, 'meta with 1e400 / 1e300 numbers is stored (meta is not range-checked)');
SELECT lives_ok($$SELECT * FROM watchlist.merge_events_incremental(now())$$, 'the incremental merge succeeds over meta with 1e400');
SELECT results_eq($$SELECT symbol, count(*)::int, bool_and(features_agg ? 'meta.ok'), bool_or(features_agg ? 'meta.big')
                      FROM watchlist_data.watch_signal_event WHERE symbol LIKE 'LIMMETA_' GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('LIMMETA1', 1, true, false), ('LIMMETA2', 1, true, false), ('LIMMETA3', 1, true, true)$$,
                  'every key gets its event; an out-of-range meta factor is left out of the features, the others kept');
SELECT lives_ok($$SELECT * FROM watchlist.compute_factors(now() - INTERVAL '1 hour', now())$$,
                'compute_factors succeeds over meta.exchanges[].funding_rate of 1e400');
SELECT results_eq($$SELECT symbol, count(*) > 0 FROM watchlist_data.factor_value WHERE symbol LIKE 'LIMMETA_' GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('LIMMETA1', true), ('LIMMETA2', true), ('LIMMETA3', true)$$,
                  'every key gets its factor rows');

SELECT * FROM finish();
ROLLBACK;
