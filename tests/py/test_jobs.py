"""The job runner the embedded engine depends on (watchlist.jobs() due logic,
watchlist.record_job_run, watchlist_db.jobs.run_job / run_due, `wldb jobs run-due`,
`wldb worker`), on committed state: CALL run_job cannot run inside a transaction.

Two probe jobs of the test's own (procedures in watchlist_data owned by wl_owner, like the
project's jobs, scheduled far in the future so a real server's scheduler leaves them to
us): one succeeds and writes a row each time it really runs, one fails with a known
message until told otherwise. They make a run-due pass do known work on any engine,
whatever the real jobs' state is (a real server's scheduler keeps those mostly not due)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from watchlist_db import config
from watchlist_db import jobs as jobs_mod
from watchlist_db.cli import main
from writer_helpers import q, wait_until

PROBE_DDL = """
SET ROLE wl_owner;
CREATE TABLE watchlist_data.wl_test_probe_runs (job_id integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE PROCEDURE watchlist_data.wl_test_probe(job_id integer, config jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (config ->> 'fail')::boolean THEN
        RAISE EXCEPTION 'probe failure %', config ->> 'tag' USING ERRCODE = 'P0001';
    END IF;
    INSERT INTO watchlist_data.wl_test_probe_runs (job_id) VALUES (job_id);
END
$$;
REVOKE ALL ON PROCEDURE watchlist_data.wl_test_probe(integer, jsonb) FROM PUBLIC;
RESET ROLE;
"""


def _drop_probes(target):
    with config.connect(target) as c:
        for (jid,) in c.execute("""SELECT job_id FROM timescaledb_information.jobs
                                    WHERE proc_schema = 'watchlist_data' AND proc_name = 'wl_test_probe'""").fetchall():
            c.execute("SELECT delete_job(%s)", (jid,))
        c.execute("DROP PROCEDURE IF EXISTS watchlist_data.wl_test_probe(integer, jsonb)")
        c.execute("DROP TABLE IF EXISTS watchlist_data.wl_test_probe_runs")


@pytest.fixture
def probes(target):
    """(ok_job_id, failing_job_id): the ok probe every hour, the failing one every second."""
    _drop_probes(target)  # leftovers of an interrupted run
    with config.connect(target) as c:
        c.execute(PROBE_DDL)
        c.execute("SET ROLE wl_owner")
        ok_id = c.execute("""SELECT add_job('watchlist_data.wl_test_probe', INTERVAL '1 hour',
                                            config => '{"fail": false, "tag": "ok"}',
                                            initial_start => now() + INTERVAL '30 days')""").fetchone()[0]
        bad_id = c.execute("""SELECT add_job('watchlist_data.wl_test_probe', INTERVAL '1 second',
                                             config => '{"fail": true, "tag": "bad"}',
                                             initial_start => now() + INTERVAL '30 days')""").fetchone()[0]
        c.execute("RESET ROLE")
    try:
        yield ok_id, bad_id
    finally:
        _drop_probes(target)
        q(target, "DELETE FROM watchlist_data.job_run_log WHERE job_id = ANY(%s)", ([ok_id, bad_id],))


def _cli(target, args):
    dsn = [] if target.embedded else ["--dsn", target.conninfo]
    return CliRunner().invoke(main, dsn + args, catch_exceptions=False)


def _job(target, job_id, at=None):
    with config.connect(target) as c:
        cur = c.execute("SELECT * FROM watchlist.jobs(coalesce(%s, now())) WHERE job_id = %s", (at, job_id))
        cols = [d.name for d in cur.description]
        row = cur.fetchone()
    return dict(zip(cols, row)) if row else None


def _log(target, job_id):
    return q(
        target,
        """SELECT started_at, finished_at, succeeded, error FROM watchlist_data.job_run_log
                         WHERE job_id = %s ORDER BY id""",
        (job_id,),
    )


def _probe_runs(target, job_id):
    return q(target, "SELECT count(*) FROM watchlist_data.wl_test_probe_runs WHERE job_id = %s", (job_id,))[0][0]


def test_jobs_lists_the_project_jobs_and_never_run_ones_are_due(target, probes):
    ok_id, bad_id = probes
    with config.connect(target) as c:
        listed = jobs_mod.list_jobs(c)
    procs = sorted({(j["proc_name"], j["target"]) for j in listed if j["job_id"] not in probes})
    assert procs == sorted(
        [
            ("job_compute_factors", "job_compute_factors"),
            ("job_label_outcomes", "job_label_outcomes"),
            ("job_merge_events", "job_merge_events"),
            ("job_prune_history", "job_prune_history"),
            ("policy_compression", "factor_value"),
            ("policy_compression", "watch_signal_raw"),
            ("policy_refresh_continuous_aggregate", "typea_stats_1h"),
            ("policy_refresh_continuous_aggregate", "watchlist_series_agg"),
            ("policy_retention", "factor_value"),
            ("policy_retention", "typea_stats_1h"),
            ("policy_retention", "watch_signal_raw"),
            ("policy_retention", "watchlist_series_agg"),
        ]
    )
    j = _job(target, ok_id)
    assert (
        j["proc_name"],
        j["scheduled"],
        j["last_run_at"],
        j["last_ok"],
        j["last_error"],
        j["failures_24h"],
        j["due"],
    ) == ("wl_test_probe", True, None, None, None, 0, True), "a job never run is due"
    with config.connect(target) as c:
        assert jobs_mod.resolve(c, str(ok_id))["job_id"] == ok_id
        assert jobs_mod.resolve(c, "merge")["proc_name"] == "job_merge_events"
        assert jobs_mod.resolve(c, "refresh-typea")["target"] == "typea_stats_1h"
        with pytest.raises(LookupError, match="no single job called 'wl_test_probe'"):
            jobs_mod.resolve(c, "wl_test_probe")  # two probes: ambiguous


def test_run_due_twice_logs_runs_and_due_turns_false(target, probes):
    ok_id, bad_id = probes
    # first pass: everything due runs, the probes included, in data-flow order
    res = _cli(target, ["jobs", "run-due"])
    assert res.exit_code == 1, res.output  # the failing probe fails the pass
    assert f"[{ok_id}] wl_test_probe" in res.output and f"[{bad_id}] wl_test_probe" in res.output
    assert "FAILED  probe failure bad [P0001]" in res.output
    assert res.output.count("FAILED") == 1, "every other due job succeeded"
    assert _probe_runs(target, ok_id) == 1, "the ok probe really ran once"
    log = _log(target, ok_id)
    assert len(log) == 1 and log[0][2] is True and log[0][3] is None
    started, finished = log[0][0], log[0][1]
    assert finished >= started
    # the run counts as the last run: not due until its schedule has passed
    j = _job(target, ok_id, finished)
    assert (j["last_run_at"], j["last_ok"], j["failures_24h"], j["due"]) == (started, True, 0, False)
    assert _job(target, ok_id, started + timedelta(minutes=59))["due"] is False
    assert _job(target, ok_id, started + timedelta(hours=1))["due"] is True
    # the failing probe: its error is recorded and shown
    bad = _log(target, bad_id)
    assert [(s, e) for _, _, s, e in bad] == [(False, "probe failure bad [P0001]")]
    j = _job(target, bad_id, bad[0][1])
    assert (j["last_ok"], j["last_error"], j["failures_24h"]) == (False, "probe failure bad [P0001]", 1)
    assert _job(target, bad_id, bad[0][0] + timedelta(milliseconds=500))["due"] is False
    assert _job(target, bad_id, bad[0][0] + timedelta(seconds=1))["due"] is True

    # second pass: the ok probe is not due any more and does not run again; the failing
    # one is retried once its 1-second schedule has passed
    assert wait_until(lambda: _job(target, bad_id)["due"], 30), "the failed job is due again after its schedule"
    with config.connect(target) as c:
        runs = jobs_mod.run_due(c)
    ran = [r.job_id for r in runs]
    assert ok_id not in ran and bad_id in ran
    assert _probe_runs(target, ok_id) == 1
    bad = _log(target, bad_id)
    assert [(s, e) for _, _, s, e in bad] == [(False, "probe failure bad [P0001]")] * 2, "retried and failed again"
    assert _job(target, bad_id, bad[-1][1])["failures_24h"] == 2

    # fixed: the next retry succeeds; the failures stay counted for 24 h
    q(target, """SELECT alter_job(%s, config => '{"fail": false, "tag": "bad"}')""", (bad_id,))
    assert wait_until(lambda: _job(target, bad_id)["due"], 30)
    with config.connect(target) as c:
        run = jobs_mod.run_job(c, jobs_mod.resolve(c, str(bad_id)))
    assert run.ok and run.error is None
    j = _job(target, bad_id, _log(target, bad_id)[-1][1])
    assert (j["last_ok"], j["last_error"], j["failures_24h"]) == (True, None, 2)
    assert _probe_runs(target, bad_id) == 1


def test_record_job_run_needs_a_known_job_and_keeps_the_error(target, probes):
    ok_id, _ = probes
    with config.connect(target) as c:
        t = c.execute("SELECT now() + interval '2 days'").fetchone()[0]
        rid = c.execute(
            "SELECT watchlist.record_job_run(%s, %s, %s, %s)", (ok_id, t, t + timedelta(seconds=3), "boom")
        ).fetchone()[0]
        assert rid is not None
        assert c.execute("SELECT watchlist.record_job_run(-42, now(), now())").fetchone()[0] is None, (
            "an unknown job id records nothing"
        )
        assert c.execute("SELECT count(*) FROM watchlist_data.job_run_log WHERE job_id = -42").fetchone()[0] == 0
    j = _job(target, ok_id, t + timedelta(seconds=3))
    assert (j["last_run_at"], j["last_ok"], j["last_error"], j["due"]) == (t, False, "boom", False)
    # failures_24h counts failed runs that started in the 24 h before p_now only
    assert _job(target, ok_id, t + timedelta(hours=23))["failures_24h"] == 1
    assert _job(target, ok_id, t + timedelta(hours=25))["failures_24h"] == 0


def test_worker_runs_due_jobs_in_bounded_loops(target, probes):
    ok_id, bad_id = probes
    # next_start again: TimescaleDB sets a never-run job's next start to "unset" when its
    # schedule_interval changes (last finish + interval), and a real server's scheduler runs
    # such a job at once, beside the worker under test (a second run seen on PG15)
    q(
        target,
        """SELECT alter_job(%s, config => '{"fail": false, "tag": "bad"}', schedule_interval => INTERVAL '1 hour',
                            next_start => now() + INTERVAL '30 days')""",
        (bad_id,),
    )
    res = _cli(target, ["worker", "--every", "0.2", "--max-runs", "2"])
    assert res.exit_code == 0, res.output
    assert "worker: stopped after 2 check(s), 0 failed job run(s)" in res.output
    # both probes were due at the first check and ran exactly once over two checks
    assert (_probe_runs(target, ok_id), _probe_runs(target, bad_id)) == (1, 1)
    assert [r[2] for r in _log(target, ok_id)] == [True]
    res = _cli(target, ["worker", "--once"])
    assert res.exit_code == 0 and "stopped after 1 check(s)" in res.output
    assert _probe_runs(target, ok_id) == 1, "not due again within the hour"


def test_worker_reports_failed_runs_in_its_exit_code(target, probes):
    ok_id, bad_id = probes
    res = _cli(target, ["worker", "--once"])
    assert res.exit_code == 1, res.output
    assert "probe failure bad [P0001]" in res.output and "1 failed job run(s)" in res.output


def test_job_procedures_do_their_unit_of_work(target):
    """CALL run_job of the project's own job procedures (merge, label, prune): each
    advances its job_state / deletes what it should, and the run is logged."""
    with config.connect(target) as c:
        before = dict(c.execute("SELECT job, last_run_at FROM watchlist_data.job_state").fetchall())
        res = {}
        for name in ("merge", "label", "prune"):
            res[name] = jobs_mod.run_job(c, jobs_mod.resolve(c, name))
        after = dict(c.execute("SELECT job, last_run_at FROM watchlist_data.job_state").fetchall())
        logged = c.execute(
            """SELECT proc_name, succeeded FROM watchlist_data.job_run_log
                               WHERE job_id = ANY(%s) AND started_at >= now() - interval '10 minutes'
                               ORDER BY id DESC LIMIT 3""",
            ([r.job_id for r in res.values()],),
        ).fetchall()
    assert all(r.ok for r in res.values()), {k: r.error for k, r in res.items()}
    for job in ("merge_events", "label_outcomes"):
        assert after[job] is not None and (job not in before or after[job] > before[job]), job
    assert sorted(logged) == [("job_label_outcomes", True), ("job_merge_events", True), ("job_prune_history", True)]
