-- Policy audit: the TimescaleDB jobs match the settings, and the settings are consistent
-- (every refresh window inside the retention of its source, compression and retention
-- beyond the longest outcome horizon plus the merge look-back).
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(33);

CREATE TEMP VIEW wl_jobs AS
SELECT j.proc_name::text AS proc, j.hypertable_name::text AS rel, j.config, j.schedule_interval, j.owner::text AS owner
  FROM timescaledb_information.jobs j
 WHERE j.hypertable_schema = 'watchlist_data' OR j.proc_schema = 'watchlist_data';

SELECT is_empty('SELECT * FROM watchlist.policy_problems()', 'the default settings are consistent');

-- Each policy exists once, with the configured values.
SELECT is((SELECT (config ->> 'drop_after')::interval FROM wl_jobs WHERE proc = 'policy_retention' AND rel = 'watch_signal_raw'),
          INTERVAL '30 days', 'raw retention is 30 days');
SELECT is((SELECT (config ->> 'compress_after')::interval FROM wl_jobs WHERE proc = 'policy_compression' AND rel = 'watch_signal_raw'),
          INTERVAL '2 days', 'raw chunks are compressed after 2 days');
SELECT is((SELECT (config ->> 'drop_after')::interval FROM wl_jobs WHERE proc = 'policy_retention' AND rel = 'watchlist_series_agg'),
          INTERVAL '7 days', 'the 5-minute series is kept 7 days');
SELECT is((SELECT (config ->> 'drop_after')::interval FROM wl_jobs WHERE proc = 'policy_retention' AND rel = 'typea_stats_1h'),
          INTERVAL '30 days', 'hourly Type A statistics are kept 30 days');
SELECT results_eq($$SELECT rel COLLATE "default", (config ->> 'start_offset')::interval, (config ->> 'end_offset')::interval, schedule_interval
                      FROM wl_jobs WHERE proc = 'policy_refresh_continuous_aggregate' ORDER BY rel$$,
                  $$VALUES ('typea_stats_1h', INTERVAL '2 days', INTERVAL '1 hour', INTERVAL '30 minutes'),
                           ('watchlist_series_agg', INTERVAL '2 days', INTERVAL '5 minutes', INTERVAL '5 minutes')$$,
                  'refresh policies of both continuous aggregates');
SELECT results_eq($$SELECT key, value FROM watchlist.settings
                     WHERE key IN ('prune_history_every', 'merge_events_every', 'label_outcomes_every') ORDER BY key$$,
                  $$VALUES ('label_outcomes_every', '5 minutes'), ('merge_events_every', '1 minute'),
                           ('prune_history_every', '1 day')$$,
                  'the job schedules are settings, with the schedules the jobs always had');
SELECT is((SELECT count(*)::int FROM wl_jobs WHERE proc = 'job_prune_history' AND schedule_interval = INTERVAL '1 day'), 1,
          'the history prune job runs daily');
SELECT is((SELECT count(*)::int FROM wl_jobs WHERE proc = 'job_merge_events' AND schedule_interval = INTERVAL '1 minute'), 1,
          'the event merge job runs every minute');
SELECT is((SELECT count(*)::int FROM wl_jobs WHERE proc = 'job_label_outcomes' AND schedule_interval = INTERVAL '5 minutes'), 1,
          'the outcome labelling job runs every 5 minutes');
SELECT is((SELECT array_agg(DISTINCT owner) FROM wl_jobs), ARRAY['wl_owner'], 'every job runs as wl_owner');

-- The audit itself, on the live job configurations rather than the settings.
SELECT ok((SELECT (r.config ->> 'drop_after')::interval > (f.config ->> 'start_offset')::interval
             FROM wl_jobs r, wl_jobs f
            WHERE r.proc = 'policy_retention' AND r.rel = 'watch_signal_raw'
              AND f.proc = 'policy_refresh_continuous_aggregate' AND f.rel = 'watchlist_series_agg'),
          'raw retention is longer than the 5-minute refresh window (no re-materialising dropped data)');
SELECT ok((SELECT (r.config ->> 'drop_after')::interval > (f.config ->> 'start_offset')::interval
             FROM wl_jobs r, wl_jobs f
            WHERE r.proc = 'policy_retention' AND r.rel = 'watchlist_series_agg'
              AND f.proc = 'policy_refresh_continuous_aggregate' AND f.rel = 'typea_stats_1h'),
          'series retention is longer than the hourly refresh window');
SELECT ok((SELECT (config ->> 'drop_after')::interval
             > watchlist_data.longest_horizon()
           FROM wl_jobs WHERE proc = 'policy_retention' AND rel = 'watch_signal_raw'),
          'raw retention is longer than every outcome horizon');
SELECT ok((SELECT (config ->> 'compress_after')::interval
             > watchlist_data.longest_horizon() + watchlist_data.setting('event_lookback')::interval
           FROM wl_jobs WHERE proc = 'policy_compression' AND rel = 'watch_signal_raw'),
          'raw compression waits past the longest horizon plus the merge look-back');

-- Re-applying is a no-op.
SELECT is((SELECT count(*)::int FROM watchlist.apply_policies() WHERE action <> 'unchanged'), 0,
          'apply_policies() with unchanged settings changes nothing');

-- Changing a setting moves the policy; an inconsistent one is refused and changes nothing.
SELECT results_eq($$SELECT policy, target, action FROM watchlist.set_setting('raw_retention', '45 days') WHERE action <> 'unchanged'$$,
                  $$VALUES ('retention', 'watchlist_data.watch_signal_raw', 'replaced')$$,
                  'set_setting(raw_retention) replaces exactly the raw retention policy');
SELECT is((SELECT (config ->> 'drop_after')::interval FROM wl_jobs WHERE proc = 'policy_retention' AND rel = 'watch_signal_raw'),
          INTERVAL '45 days', 'the raw retention job now drops after 45 days');
SELECT results_eq($$SELECT policy, action FROM watchlist.set_setting('series_refresh_every', '10 minutes') WHERE action <> 'unchanged'$$,
                  $$VALUES ('refresh', 'replaced')$$, 'changing a refresh schedule replaces that refresh policy');
SELECT results_eq($$SELECT policy, target, action, detail FROM watchlist.set_setting('label_outcomes_every', '10 minutes')
                     WHERE action <> 'unchanged'$$,
                  $$VALUES ('job', 'watchlist_data.job_label_outcomes', 'changed', 'every 00:10:00')$$,
                  'set_setting(label_outcomes_every) reschedules exactly the outcome job');
SELECT is((SELECT schedule_interval FROM wl_jobs WHERE proc = 'job_label_outcomes'), INTERVAL '10 minutes',
          'the outcome job now runs every 10 minutes');
SELECT is((SELECT schedule_interval FROM watchlist.jobs() WHERE proc_name = 'job_label_outcomes'), INTERVAL '10 minutes',
          'watchlist.jobs() shows the new schedule');
SELECT throws_ok($$SELECT * FROM watchlist.set_setting('merge_events_every', '0 minutes')$$, '22023',
                 'setting "merge_events_every" takes a interval value; "0 minutes" is not one: must be positive',
                 'a job schedule must be positive');
SELECT throws_ok($$SELECT * FROM watchlist.set_setting('raw_retention', '1 day')$$, '22023',
                 'inconsistent watchlist-db settings: series_refresh_start (2 days) must be shorter than raw_retention (1 day); raw_retention (1 day) must be longer than raw_compress_after (2 days)',
                 'a raw retention shorter than the refresh window and horizons is refused');
SELECT is(watchlist_data.setting('raw_retention'), '45 days', 'the refused change left the setting as it was');
SELECT throws_ok($$SELECT * FROM watchlist.set_setting('series_refresh_start', '10 days')$$, '22023',
                 'inconsistent watchlist-db settings: series_refresh_start (10 days) must be shorter than series_retention (7 days)',
                 'a refresh window reaching past series retention is refused');
SELECT throws_ok($$SELECT * FROM watchlist.set_setting('raw_retention', 'soon')$$, '22023',
                 'setting "raw_retention" takes a interval value; "soon" is not one: invalid input syntax for type interval: "soon"',
                 'a value of the wrong kind is refused');
SELECT throws_ok($$SELECT * FROM watchlist.set_setting('no_such_key', '1')$$, '42704', 'unknown watchlist-db setting "no_such_key"', 'an unknown key is refused');
SELECT throws_ok($$SELECT * FROM watchlist.set_setting('outcome_horizons_min', '{30,0}')$$, '22023',
                 'setting "outcome_horizons_min" takes a integer[] value; "{30,0}" is not one: must be a non-empty list of positive integers',
                 'a zero horizon is refused');
SELECT is((SELECT count(*)::int FROM watchlist.set_setting('outcome_horizons_min', '{15,720,60}') WHERE action <> 'unchanged'),
          0, 'changing the horizons moves no policy');
SELECT is(watchlist_data.longest_horizon(), INTERVAL '12 hours',
          'the longest horizon is the largest of outcome_horizons_min, in any order');

-- Compression and retention of one hypertable never start together (TimescaleDB 2.28.3's
-- two policies deadlock then): fixed schedules, retention 6 hours after a compression start;
-- after set_setting('raw_retention') above re-added the retention policy too.
SELECT is((SELECT string_agg(format('%s %s %s %s', c.hypertable_name,
                                     mod(extract(epoch FROM r.initial_start - c.initial_start)::numeric, 43200) / 3600,
                                     c.schedule_interval, c.fixed_schedule AND r.fixed_schedule),
                              ', ' ORDER BY c.hypertable_name)
             FROM timescaledb_information.jobs AS c
             JOIN timescaledb_information.jobs AS r
               ON r.hypertable_schema = c.hypertable_schema AND r.hypertable_name = c.hypertable_name
              AND r.proc_name = 'policy_retention'
            WHERE c.proc_name = 'policy_compression' AND c.hypertable_schema = 'watchlist_data'),
          'factor_value 6.0000000000000000 12:00:00 t, watch_signal_raw 6.0000000000000000 12:00:00 t',
          'retention of a compressed hypertable starts 6 hours (mod 12) after its compression, every 12 h, both on fixed schedules');
SELECT is((SELECT count(*)::int FROM timescaledb_information.jobs
            WHERE hypertable_schema = 'watchlist_data' AND proc_name IN ('policy_compression', 'policy_retention')
              AND initial_start IS NULL),
          0, 'every compression and retention policy has a fixed schedule');

SELECT * FROM finish();
ROLLBACK;
