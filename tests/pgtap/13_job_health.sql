-- Job health: watchlist_data.job_failure_fix() maps known job errors to their fix;
-- watchlist.job_health() reports failing jobs, and one line with the fix when every job
-- fails the same way. Runs are logged in watchlist_data.job_run_log an hour and more in
-- the future, so they are the latest run of every job whatever a real scheduler does
-- meanwhile; job_health() is asked "as of" those times. Only the kinds about failed runs
-- are compared (a scheduler's 'overdue' / 'no_scheduler' lines depend on the server).
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(19);

-- The pure helper on the known messages (as watchlist.jobs() shows them: text [SQLSTATE]).
SELECT alike(watchlist_data.job_failure_fix('cannot drop portal "" while it is being set up [24000]'),
            '%pin PostgreSQL 15.18 or use a TimescaleDB release that supports your PostgreSQL minor',
            'PostgreSQL 15.20 + TimescaleDB 2.28.3 portal error: pin 15.18 or a matching TimescaleDB');
SELECT alike(watchlist_data.job_failure_fix('failed to start job Job 1007 ("User-Defined Action [1007]") failed to start [XX000]'),
            '%raise max_worker_processes and timescaledb.max_background_workers (each database with TimescaleDB holds one scheduler worker%',
            'TimescaleDB''s recorded "failed to start job": raise the worker settings');
SELECT alike(watchlist_data.job_failure_fix('failed to launch job 1007 "User-Defined Action [1007]": failed to start a background worker'),
            '%raise max_worker_processes and timescaledb.max_background_workers%',
            '"failed to start a background worker": raise the worker settings');
SELECT alike(watchlist_data.job_failure_fix('failed to launch job 1007 "User-Defined Action [1007]": out of background workers'),
            '%raise max_worker_processes and timescaledb.max_background_workers%',
            '"out of background workers": raise the worker settings');
SELECT alike(watchlist_data.job_failure_fix('canceling statement due to lock timeout [55P03]'),
            '%lock_timeout: TimescaleDB retries the job%', 'lock timeout: retried, look for long transactions');
SELECT alike(watchlist_data.job_failure_fix('could not extend file "base/16384/17240": No space left on device. Check free disk space. [53100]'),
            '%disk is full: free space on its data directory, pg_wal and tablespaces%',
            'disk full: free space, the job is retried');
SELECT is(watchlist_data.job_failure_fix('invalid input syntax for type integer: "three" [22P02]'), NULL,
          'an unknown error has no canned fix');
SELECT is(watchlist_data.job_failure_fix(NULL), NULL, 'no error, no fix');

CREATE TEMP TABLE wl_jh_jobs ON COMMIT DROP AS SELECT job_id, proc_name FROM watchlist.jobs();
CREATE TEMP TABLE wl_jh_fix ON COMMIT DROP AS
SELECT watchlist_data.job_failure_fix('cannot drop portal "" while it is being set up') AS portal,
       watchlist_data.job_failure_fix('out of background workers') AS workers,
       watchlist_data.job_failure_fix('lock timeout') AS lock;
SELECT ok((SELECT count(*) FROM wl_jh_jobs) >= 2, 'the fixture has the project''s jobs to fail');

-- 1. Every job fails at start with the portal error (the PostgreSQL 15.20 + TimescaleDB 2.28.3 pairing).
INSERT INTO watchlist_data.job_run_log (job_id, proc_name, started_at, finished_at, succeeded, error)
SELECT job_id, proc_name, now() + INTERVAL '1 hour', now() + INTERVAL '1 hour', false,
       'cannot drop portal "" while it is being set up [24000]'
  FROM wl_jh_jobs;
SELECT results_eq(
    $$SELECT kind, job_id, fix FROM watchlist.job_health(now() + INTERVAL '61 minutes') WHERE kind IN ('failing', 'all_failing')$$,
    $$SELECT 'all_failing'::text, NULL::integer, portal FROM wl_jh_fix$$,
    'every job failing with the portal error: one line naming the fix');
SELECT alike((SELECT problem FROM watchlist.job_health(now() + INTERVAL '61 minutes') WHERE kind = 'all_failing'),
            format('every watchlist-db job that ran fails the same way (%s jobs), e.g.: cannot drop portal "" while it is being set up [24000]',
                   (SELECT count(*) FROM wl_jh_jobs)),
            'the line says every job fails the same way, with the error');

-- 2. Every job fails to start for want of a worker slot (texts differ by job id: same cause).
INSERT INTO watchlist_data.job_run_log (job_id, proc_name, started_at, finished_at, succeeded, error)
SELECT job_id, proc_name, now() + INTERVAL '2 hours', now() + INTERVAL '2 hours', false,
       format('failed to start job Job %s ("User-Defined Action [%s]") failed to start [XX000]', job_id, job_id)
  FROM wl_jh_jobs;
SELECT results_eq(
    $$SELECT kind, job_id, fix FROM watchlist.job_health(now() + INTERVAL '121 minutes') WHERE kind IN ('failing', 'all_failing')$$,
    $$SELECT 'all_failing'::text, NULL::integer, workers FROM wl_jh_fix$$,
    'every job failing to start: one line naming the worker settings');

-- 3. One job recovers: the others are listed one by one, each with the fix.
INSERT INTO watchlist_data.job_run_log (job_id, proc_name, started_at, finished_at, succeeded, error)
SELECT job_id, proc_name, now() + INTERVAL '3 hours', now() + INTERVAL '3 hours', true, NULL
  FROM wl_jh_jobs WHERE proc_name = 'job_merge_events';
SELECT results_eq(
    $$SELECT kind, job_id, fix FROM watchlist.job_health(now() + INTERVAL '181 minutes') WHERE kind IN ('failing', 'all_failing') ORDER BY job_id$$,
    $$SELECT 'failing'::text, j.job_id, f.workers FROM wl_jh_jobs AS j, wl_jh_fix AS f WHERE j.proc_name <> 'job_merge_events' ORDER BY j.job_id$$,
    'one job ran fine: one line per failing job, each with its fix');
SELECT alike((SELECT problem FROM watchlist.job_health(now() + INTERVAL '181 minutes') AS h
              JOIN wl_jh_jobs AS j USING (job_id) WHERE j.proc_name = 'job_label_outcomes'),
            (SELECT format('job %s job_label_outcomes (job_label_outcomes) failed: failed to start job Job %s ("User-Defined Action [%s]") failed to start [XX000]; 2 failure(s) in 24 h%%',
                           job_id, job_id, job_id) FROM wl_jh_jobs WHERE proc_name = 'job_label_outcomes'),
            'a failing job''s line: id, procedure, target, error, failures in 24 h');
SELECT is((SELECT last_ok FROM watchlist.jobs(now() + INTERVAL '181 minutes') AS j JOIN wl_jh_jobs USING (job_id)
            WHERE wl_jh_jobs.proc_name = 'job_merge_events'), true, 'the recovered job''s last run is ok');

-- 4. Different causes: per-job lines, each with its own fix (or none).
INSERT INTO watchlist_data.job_run_log (job_id, proc_name, started_at, finished_at, succeeded, error)
SELECT job_id, proc_name, now() + INTERVAL '4 hours', now() + INTERVAL '4 hours', false,
       CASE proc_name WHEN 'job_merge_events' THEN 'canceling statement due to lock timeout [55P03]'
                      ELSE 'invalid input syntax for type integer: "three" [22P02]' END
  FROM wl_jh_jobs WHERE proc_name IN ('job_merge_events', 'job_label_outcomes');
SELECT results_eq(
    $$SELECT kind, job_id, fix FROM watchlist.job_health(now() + INTERVAL '241 minutes') WHERE kind IN ('failing', 'all_failing') ORDER BY job_id$$,
    $$SELECT 'failing'::text, j.job_id,
             CASE j.proc_name WHEN 'job_merge_events' THEN f.lock WHEN 'job_label_outcomes' THEN NULL ELSE f.workers END
        FROM wl_jh_jobs AS j, wl_jh_fix AS f ORDER BY j.job_id$$,
    'three different causes: one line per job, the lock timeout and worker fixes where known, none for the bad value');
SELECT is((SELECT last_error FROM watchlist.jobs(now() + INTERVAL '241 minutes') AS j JOIN wl_jh_jobs USING (job_id)
            WHERE wl_jh_jobs.proc_name = 'job_label_outcomes'),
          'invalid input syntax for type integer: "three" [22P02]', 'watchlist.jobs() shows the last run''s error');

-- 5. Every job fails with the same unknown error: still one line, pointing at the server log.
INSERT INTO watchlist_data.job_run_log (job_id, proc_name, started_at, finished_at, succeeded, error)
SELECT job_id, proc_name, now() + INTERVAL '5 hours', now() + INTERVAL '5 hours', false, 'permission denied for table x [42501]'
  FROM wl_jh_jobs;
SELECT results_eq(
    $$SELECT kind, job_id, fix FROM watchlist.job_health(now() + INTERVAL '301 minutes') WHERE kind IN ('failing', 'all_failing')$$,
    $$VALUES ('all_failing'::text, NULL::integer, 'no known cause for this error: read the server log around the failures'::text)$$,
    'every job failing with the same unknown error: one line, no canned fix');

-- 6. All recovered: nothing about failed runs.
INSERT INTO watchlist_data.job_run_log (job_id, proc_name, started_at, finished_at, succeeded, error)
SELECT job_id, proc_name, now() + INTERVAL '6 hours', now() + INTERVAL '6 hours', true, NULL FROM wl_jh_jobs;
SELECT is_empty(
    $$SELECT * FROM watchlist.job_health(now() + INTERVAL '361 minutes') WHERE kind IN ('failing', 'all_failing')$$,
    'every job''s last run ok: no failure line');

SELECT * FROM finish();
ROLLBACK;
