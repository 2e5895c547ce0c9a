-- watchlist.policy_problems(): every rule fires on its own with its exact message (rule 11,
-- raw retention within horizon + look-back, is implied by rules 9/10 and fires with one of
-- them); the merge's step 5 (keys silent for the whole look-back get their open events
-- closed, 'new' ones dropped); watchlist.storage_report().
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(26);

-- Known starting point: the defaults (whatever a reused database holds).
UPDATE watchlist_data.settings AS s SET value = d.value
  FROM (VALUES ('raw_retention', '30 days'), ('raw_compress_after', '2 days'), ('series_retention', '7 days'),
               ('typea_stats_retention', '30 days'), ('series_refresh_start', '2 days'), ('series_refresh_end', '5 minutes'),
               ('typea_refresh_start', '2 days'), ('typea_refresh_end', '1 hour'), ('history_retention', '180 days'),
               ('event_lookback', '6 hours'), ('outcome_horizons_min', '{30,60,180,360}')) AS d(key, value)
 WHERE s.key = d.key;

-- p(settings) : the problems with these settings changed (and the rest as above)
CREATE FUNCTION pg_temp.p(p_changes jsonb) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    v_old jsonb;
BEGIN
    SELECT jsonb_object_agg(s.key, s.value) INTO v_old FROM watchlist_data.settings s WHERE p_changes ? s.key;
    UPDATE watchlist_data.settings s SET value = p_changes ->> s.key WHERE p_changes ? s.key;
    RETURN QUERY SELECT problem FROM watchlist.policy_problems() ORDER BY 1;
    UPDATE watchlist_data.settings s SET value = v_old ->> s.key WHERE v_old ? s.key;
END $$;

SELECT is_empty($$SELECT * FROM pg_temp.p('{}')$$, 'the defaults have no problem');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"series_retention": "60 days", "series_refresh_start": "30 days"}')$$,
    ARRAY['series_refresh_start (30 days) must be shorter than raw_retention (30 days)'],
    'rule 1: the 5-minute refresh window must stay inside raw retention');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"series_refresh_start": "7 days"}')$$,
    ARRAY['series_refresh_start (7 days) must be shorter than series_retention (7 days)'],
    'rule 2: the 5-minute refresh window must stay inside its own retention');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"typea_refresh_start": "7 days"}')$$,
    ARRAY['typea_refresh_start (7 days) must be shorter than series_retention (7 days), the retention of its source'],
    'rule 3: the hourly refresh window must stay inside the retention of its source');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"typea_stats_retention": "1 day"}')$$,
    ARRAY['typea_refresh_start (2 days) must be shorter than typea_stats_retention (1 day)'],
    'rule 4: the hourly refresh window must stay inside its own retention');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"series_refresh_end": "3 days"}')$$,
    ARRAY['a refresh window must end (end offset) after it starts (start offset)'],
    'rule 5: a refresh window ending before it starts (5-minute series)');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"typea_refresh_end": "2 days"}')$$,
    ARRAY['a refresh window must end (end offset) after it starts (start offset)'],
    'rule 5: ... and the hourly statistics (end offset = start offset)');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"typea_refresh_end": "30 minutes"}')$$,
    ARRAY['typea_refresh_end (00:30:00) must be at least one hourly bucket (1 hour)'],
    'rule 6: the hourly refresh must end at least one bucket back');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"series_retention": "6 hours", "series_refresh_start": "1 hour", "typea_refresh_start": "2 hours"}')$$,
    ARRAY['series_retention (06:00:00) must cover the 12 h chart'],
    'rule 7: the 5-minute series must cover the 12 h chart');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"typea_stats_retention": "6 hours", "typea_refresh_start": "2 hours"}')$$,
    ARRAY['typea_stats_retention (06:00:00) must cover the 12 h Type A window'],
    'rule 8: the hourly statistics must cover the 12 h window');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"raw_compress_after": "12 hours"}')$$,
    ARRAY['raw_compress_after (12:00:00) must exceed the longest outcome horizon (06:00:00) plus the merge look-back (06:00:00)'],
    'rule 9: compression exactly at the longest horizon + look-back is refused');
SELECT is_empty($$SELECT * FROM pg_temp.p('{"raw_compress_after": "12 hours 1 second"}')$$,
    'rule 9: one second beyond it is fine');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"outcome_horizons_min": "{30,2880}", "event_lookback": "1 hour"}')$$,
    ARRAY['raw_compress_after (2 days) must exceed the longest outcome horizon (48:00:00) plus the merge look-back (01:00:00)'],
    'rule 9 reads the longest horizon of the list and the look-back setting');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"raw_compress_after": "30 days"}')$$,
    ARRAY['raw_retention (30 days) must be longer than raw_compress_after (30 days)'],
    'rule 10: raw rows must be compressed before they are dropped');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"raw_retention": "12 hours", "series_refresh_start": "1 hour", "typea_refresh_start": "2 hours", "history_retention": "1 day"}')$$,
    ARRAY['raw_retention (12:00:00) must be longer than raw_compress_after (2 days)',
          'raw_retention (12:00:00) must exceed the longest outcome horizon plus the merge look-back'],
    'rule 11: raw retention within the longest horizon + look-back (with rule 10, which it implies)');
SELECT results_eq($$SELECT * FROM pg_temp.p('{"history_retention": "30 days"}')$$,
    ARRAY['history_retention (30 days) should be longer than raw_retention (30 days): events outlive their minutes'],
    'rule 12: events and labels must outlive their raw minutes');
UPDATE watchlist_data.settings SET value = '30 days' WHERE key = 'history_retention';
SELECT throws_like($$SELECT * FROM watchlist.apply_policies()$$,
    'inconsistent watchlist-db settings: history_retention (30 days) should be longer than raw_retention (30 days)%',
    'apply_policies() refuses to act on inconsistent settings, naming the problem');
UPDATE watchlist_data.settings SET value = '180 days' WHERE key = 'history_retention';

-- Merge step 5. Events stored without raw rows in the merged window (keys silent), far in
-- the past so that no other data in the database qualifies; p_now = 1990-01-01 12:00,
-- look-back 6 h: events that ended before 06:00 can no longer be extended.
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open)
VALUES ('stepfive', 'OLDCONF', 'A', '1990-01-01T04:58Z', '1990-01-01T05:00Z', 120, 3, 'confirmed', true),
       ('stepfive', 'OLDNEW',  'A', '1990-01-01T05:59Z', '1990-01-01T05:59Z', 0, 1, 'new', true),
       ('stepfive', 'EDGE',    'A', '1990-01-01T05:58Z', '1990-01-01T06:00Z', 120, 3, 'confirmed', true),
       ('stepfive', 'RECENT',  'B', '1990-01-01T07:58Z', '1990-01-01T08:00Z', 120, 3, 'confirmed', true),
       ('stepfive', 'CLOSED',  'A', '1990-01-01T01:00Z', '1990-01-01T01:02Z', 120, 3, 'confirmed', false),
       ('stepfive', 'TOUCHED', 'A', '1989-12-30T00:00Z', '1989-12-30T00:02Z', 120, 3, 'confirmed', true);
-- TOUCHED has a raw row in the merged window a day after its open event: the recompute
-- does not reach the event (it ended more than M + H before the row), but the row closes
-- it (its off time began at most H after its end). Kept open, it would stay open for as
-- long as the key kept sending rows (the key is never silent for the look-back).
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
VALUES ('1989-12-31T00:00Z', 'stepfive', 'TOUCHED', 'A', false, 0.001);
UPDATE watchlist_data.watch_signal_event SET updated_at = '2000-01-01' WHERE exchange = 'stepfive';

SELECT results_eq($$SELECT keys, inserted, updated, deleted
                      FROM watchlist.merge_events('1989-12-31T00:00Z', '1989-12-31T00:00:01Z', '1990-01-01T12:00Z')$$,
                  $$VALUES (1, 0, 3, 0)$$, 'step 5 closes three events (two silent keys, one touched key past reach); nothing inserted or deleted');
SELECT results_eq($$SELECT symbol, status, is_open, updated_at > '2000-01-01' FROM watchlist_data.watch_signal_event
                     WHERE exchange = 'stepfive' ORDER BY symbol$$,
                  $$VALUES ('CLOSED', 'confirmed', false, false), ('EDGE', 'confirmed', true, false),
                           ('OLDCONF', 'confirmed', false, true), ('OLDNEW', 'dropped', false, true),
                           ('RECENT', 'confirmed', true, false), ('TOUCHED', 'confirmed', false, true)$$,
                  'silent keys: a confirmed event is closed and stays confirmed, a new one is dropped; an event ending exactly at the look-back and a recent one stay open; the touched key''s event past reach is closed');
SELECT results_eq($$SELECT updated FROM watchlist.merge_events('1989-12-31T00:00Z', '1989-12-31T00:00:01Z', '1990-01-01T12:00Z')$$,
                  $$VALUES (0)$$, 'running step 5 again changes nothing');
SELECT results_eq($$SELECT updated FROM watchlist.merge_events('1989-12-31T00:00Z', '1989-12-31T00:00:01Z', '1990-01-01T14:00:01Z')$$,
                  $$VALUES (2)$$, 'two hours later the two remaining silent events have ended before the look-back');
SELECT results_eq($$SELECT symbol, is_open FROM watchlist_data.watch_signal_event WHERE exchange = 'stepfive' AND symbol IN ('EDGE', 'RECENT') ORDER BY 1$$,
                  $$VALUES ('EDGE', false), ('RECENT', false)$$, '... and are closed');

-- storage_report: the relations, their kinds, and a chunk compressed inside this transaction.
SELECT results_eq($$SELECT relation, kind FROM watchlist.storage_report() ORDER BY relation$$,
                  $$VALUES ('watchlist_data.barrier_outcome', 'table'),
                           ('watchlist_data.factor_funding_state', 'table'), ('watchlist_data.factor_trial', 'table'),
                           ('watchlist_data.factor_value', 'hypertable'),
                           ('watchlist_data.factor_window_state', 'table'),
                           ('watchlist_data.future_outcome', 'table'), ('watchlist_data.ingest_quarantine', 'table'),
                           ('watchlist_data.job_lock', 'table'), ('watchlist_data.job_run_log', 'table'), ('watchlist_data.job_state', 'table'),
                           ('watchlist_data.label_job_state', 'table'), ('watchlist_data.label_ranked_day', 'table'),
                           ('watchlist_data.schema_migrations', 'table'), ('watchlist_data.settings', 'table'),
                           ('watchlist_data.typea_stats_1h', 'continuous aggregate'),
                           ('watchlist_data.watch_signal_event', 'table'), ('watchlist_data.watch_signal_raw', 'hypertable'),
                           ('watchlist_data.watchlist_membership', 'table'), ('watchlist_data.watchlist_outcome', 'table'),
                           ('watchlist_data.watchlist_series_agg', 'continuous aggregate'),
                           ('watchlist_data.watchlist_symbol_ref', 'table')$$,
                  'storage_report lists every table and continuous aggregate of watchlist_data with its kind');
CREATE TEMP TABLE sr0 AS SELECT chunks, compressed_chunks FROM watchlist.storage_report() WHERE relation = 'watchlist_data.watch_signal_raw';
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel)
SELECT '1991-06-01T00:00Z'::timestamptz + make_interval(mins => k), 'storrep', 'SR' || (k % 3), 'A', false, 0.001 * k
  FROM generate_series(0, 299) AS k;
SELECT is((SELECT (r.chunks - sr0.chunks, r.compressed_chunks - sr0.compressed_chunks) FROM watchlist.storage_report() r, sr0
            WHERE r.relation = 'watchlist_data.watch_signal_raw'), (1, 0), 'rows on a new day add one uncompressed chunk');
SELECT is((SELECT count(*)::int FROM show_chunks('watchlist_data.watch_signal_raw', older_than => '1991-06-02'::timestamptz,
                                                 newer_than => '1991-05-31'::timestamptz) c, compress_chunk(c)), 1, 'that chunk compressed');
SELECT is((SELECT (r.chunks - sr0.chunks, r.compressed_chunks - sr0.compressed_chunks,
                   r.before_compression_bytes > 0 AND r.after_compression_bytes > 0, r.total_bytes > 0)
             FROM watchlist.storage_report() r, sr0 WHERE r.relation = 'watchlist_data.watch_signal_raw'),
          (1, 1, true, true), 'storage_report counts it compressed, with sizes before and after compression');

SELECT * FROM finish();
ROLLBACK;
