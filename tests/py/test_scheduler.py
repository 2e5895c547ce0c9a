"""TimescaleDB's own scheduler drives the pipeline on a real server: rows in through the
Writer, jobs on their schedules, failures shown and retried.

Each test creates its own database on the WLDB_TEST_DSN server (a superuser), migrates it,
writes rows through the Writer only, and drops the database at the end (WITH (FORCE): the
TimescaleDB scheduler holds a connection to every database with the extension).

No CALL run_job and no `wldb worker` while the scheduler is under test: to avoid waiting for
the schedules, the tests move the project's jobs' next start to now() with alter_job (the
scheduler still starts them). Waits poll with a bound, never sleep a fixed time.

On the embedded engine these tests skip: it has no background scheduler (`wldb worker`
runs the jobs there, covered by the other tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dbwait import q, wait_for
from pgserver import PrivateServer, timescaledb_bindir
from watchlist_db import config, jobs, snapshot
from watchlist_db.migrate import migrate
from watchlist_db.writer import Writer

# The declared reasons these tests skip (CI checks skip reasons against a list).
NO_SCHEDULER_REASON = "the embedded engine has no job scheduler"
NO_PRIVATE_SERVER_REASON = "no local PostgreSQL with TimescaleDB to run a private server with few worker slots"

pytestmark = pytest.mark.skipif(not os.environ.get("WLDB_TEST_DSN"), reason=NO_SCHEDULER_REASON)


PROJECT_JOBS = """SELECT j.job_id, j.proc_name::text, coalesce(j.hypertable_name::text, j.proc_name::text)
                    FROM timescaledb_information.jobs AS j
                   WHERE j.hypertable_schema = 'watchlist_data' OR j.proc_schema = 'watchlist_data'
                   ORDER BY j.job_id"""


# --------------------------------------------------------------------------- helpers
@pytest.fixture
def fresh_db(tmp_path):
    """A new database on the test server, migrated; dropped afterwards."""
    admin = config.Target(os.environ["WLDB_TEST_DSN"], False, "WLDB_TEST_DSN")
    name = "wl_sched_" + uuid.uuid4().hex[:10]
    q(admin, f'CREATE DATABASE "{name}"')
    target = config.Target(psycopg.conninfo.make_conninfo(admin.conninfo, dbname=name), False, f"test database {name}")
    try:
        migrate(target, echo=lambda *a, **k: None)
        # the scheduler runs every new job once at start (the retention policies of the
        # compressed hypertables start 6 h later, see apply_policies): let that pass, so
        # what follows sees only the runs it causes
        wait_for(
            "the scheduler's first run of every new job due at start",
            lambda: (
                lambda rows: (
                    len(rows) == len(jobs.ALIASES)
                    and all(r[3] or ((r[1] or 0) >= 1 and r[2] == "Scheduled") for r in rows),
                    rows,
                )
            )(
                q(
                    target,
                    "SELECT j.job_id, s.total_runs, s.job_status, "
                    "       coalesce(s.total_runs, 0) = 0 AND j.initial_start > now() + INTERVAL '1 hour' AS later "
                    "  FROM timescaledb_information.jobs AS j "
                    "  LEFT JOIN timescaledb_information.job_stats AS s ON s.job_id = j.job_id "
                    f"WHERE j.job_id IN (SELECT job_id FROM ({PROJECT_JOBS}) AS j)",
                )
            ),
        )
        yield target
    finally:
        q(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def project_jobs(target) -> dict[str, int]:
    """{alias: job_id} of the project's jobs (aliases as in `wldb jobs run`)."""
    rows = q(target, PROJECT_JOBS)
    out = {}
    for alias, (proc, tgt) in jobs.ALIASES.items():
        found = [r[0] for r in rows if r[1] == proc and (tgt is None or r[2] == tgt)]
        assert len(found) == 1, (alias, rows)
        out[alias] = found[0]
    assert sorted(out.values()) == [r[0] for r in rows], "every project job has an alias"
    return out


def poke(target, job_ids) -> datetime:
    """Move the jobs' next start to now(): TimescaleDB's scheduler starts them."""
    with config.connect(target, autocommit=True) as c:
        t = c.execute("SELECT now()").fetchone()[0]
        for j in job_ids:
            c.execute("SELECT alter_job(%s, next_start => now())", (j,))
    return t


def minute_rows(symbol: str, exchange: str, start: datetime, minutes, triggered: set[int]) -> list[dict]:
    """One snapshot dict per minute offset, as the monitor has them (type A; triggered on
    the given offsets), with a spread path that moves so labels have something to measure."""
    out = []
    for m in minutes:
        out.append(
            {
                "ts": start + timedelta(minutes=m),
                "exchange": exchange,
                "symbol": symbol,
                "type_class": "A",
                "triggered": m in triggered,
                "status": "watching",
                "spread_rel": 0.002 + ((m * 7) % 23) / 10000,
                "funding_rate": 0.0001,
                "funding_interval_hours": 8,
                "next_funding_time": start + timedelta(hours=8),
                "best_buy_high_sell_low": 0.0021 + ((m * 7) % 23) / 10000,
                "best_sell_high_buy_low": 0.0019 + ((m * 7) % 23) / 10000,
                "factors": {"rsi_14": 40 + m % 20},
            }
        )
    return out


def write(target, spool: Path, snapshots: list[list[dict]]) -> dict:
    """Through the Writer only: one submit() per refresh, then close() (flushes)."""
    with Writer(target=target, spool_path=spool, max_delay_s=0.1) as w:
        for snap in snapshots:
            w.submit(snap)
    st = w.stats()
    assert st["pending"] == 0 and st["quarantined"] == 0 and st["dropped"] == 0, st
    return st


def by_minute(*keyed_rows: list[dict]) -> list[list[dict]]:
    """Group rows of several keys into one snapshot per timestamp, in time order."""
    snaps: dict[datetime, list[dict]] = {}
    for rows in keyed_rows:
        for r in rows:
            snaps.setdefault(r["ts"], []).append(r)
    return [snaps[t] for t in sorted(snaps)]


EVENT_COLS = "exchange, symbol, signal_type, start_ts, end_ts, n_samples, status, is_open"


def events(target, symbols, with_id=False):
    cols = ("id, " if with_id else "") + EVENT_COLS + ", duration_sec, features_agg"
    return q(
        target,
        f"SELECT {cols} FROM watchlist_data.watch_signal_event WHERE symbol = ANY(%s) "
        "ORDER BY exchange, symbol, signal_type, start_ts",
        (list(symbols),),
    )


def rebuilt_events(target, symbols, since: datetime):
    """The events a fresh rebuild gives (watchlist.merge_events over the window after
    deleting the keys' events), computed in a transaction that is rolled back."""
    with config.connect(target, autocommit=False) as c:
        c.execute("DELETE FROM watchlist_data.watch_signal_event WHERE symbol = ANY(%s)", (list(symbols),))
        c.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', now())", (since,))
        rows = c.execute(
            f"SELECT {EVENT_COLS}, duration_sec, features_agg FROM watchlist_data.watch_signal_event "
            "WHERE symbol = ANY(%s) ORDER BY exchange, symbol, signal_type, start_ts",
            (list(symbols),),
        ).fetchall()
        c.rollback()
    return rows


def expected_events(exchange, symbol, start, runs):
    """Hand-derived events: runs = [(first_minute, last_minute, n_samples)] of triggered
    samples merged by the rules (N = 2: confirmed once end - start >= 1 min; closed)."""
    return [
        (
            exchange,
            symbol,
            "A",
            start + timedelta(minutes=a),
            start + timedelta(minutes=b),
            n,
            "confirmed" if b - a >= 1 else "dropped",
            False,
        )
        for a, b, n in runs
    ]


def job_failures(target, job_ids):
    stats = q(
        target,
        "SELECT coalesce(sum(total_failures), 0) FROM timescaledb_information.job_stats WHERE job_id = ANY(%s)",
        (list(job_ids),),
    )[0][0]
    errors = q(
        target,
        "SELECT job_id, err_message FROM timescaledb_information.job_errors "
        "WHERE job_id = ANY(%s) AND err_message IS NOT NULL",
        (list(job_ids),),
    )
    return stats, errors


def wldb(target, *args, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WLDB_"))}
    return subprocess.run(
        [sys.executable, "-m", "watchlist_db.cli", "--dsn", target.conninfo, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def storage(target) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in q(
            target, "SELECT relation, chunks, compressed_chunks, materialized_until FROM watchlist.storage_report()"
        )
    }


# --------------------------------------------------------------------------- the pipeline
def test_scheduler_runs_the_pipeline(fresh_db, tmp_path):
    target = fresh_db
    ids = project_jobs(target)
    now = q(target, "SELECT now()")[0][0]
    t_end = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    start = t_end - timedelta(minutes=300)  # 1-minute samples over the last 5 hours
    mins = range(0, 301)
    trig = {
        ("binance", "SCHEDA"): {*range(10, 16), 40, 100, 101, 102},
        ("binance", "SCHEDB"): {20, 21, 60, 61, 62, 65, 66, 80, 81, 86},
        ("okx", "SCHEDC"): {*range(5, 10), 150, 151, 152, 153},
    }
    fresh = [minute_rows(s, e, start, mins, t) for (e, s), t in trig.items()]
    # a chunk past the compression age (2 days) and one past the raw retention (30 days)
    old_start = t_end - timedelta(days=3, hours=12)
    gone_start = t_end - timedelta(days=32)
    old = minute_rows("SCHEDOLD", "binance", old_start, range(0, 30), set())
    gone = minute_rows("SCHEDGONE", "binance", gone_start, range(0, 30), set())
    st = write(target, tmp_path / "spool.sqlite", by_minute(*fresh, old))
    n_rows = 3 * len(mins) + 30
    assert st["written"] == n_rows
    # The writer API refuses a ts older than raw_retention (docs/writer-input.md): the rows of
    # 32 days ago go in as the owner, as rows written while they were inside the window.
    good, bad = snapshot.to_raw_rows(gone)
    assert not bad
    q(target, "SELECT watchlist_data.raw_insert(%s::jsonb, now())", ("[" + ",".join(t for _, t in good) + "]",))
    symbols = ["SCHEDA", "SCHEDB", "SCHEDC", "SCHEDOLD", "SCHEDGONE"]
    counts = dict(
        q(
            target,
            "SELECT symbol, count(*) FROM watchlist_data.watch_signal_raw WHERE symbol = ANY(%s) GROUP BY 1",
            (symbols,),
        )
    )
    assert counts == {"SCHEDA": 301, "SCHEDB": 301, "SCHEDC": 301, "SCHEDOLD": 30, "SCHEDGONE": 30}, (
        "every row is stored, the 32-day-old ones included"
    )

    chunk_of = (
        "SELECT is_compressed FROM timescaledb_information.chunks WHERE hypertable_schema = 'watchlist_data' "
        "AND hypertable_name = 'watch_signal_raw' AND range_start <= %s AND range_end > %s"
    )
    assert q(target, chunk_of, (old_start, old_start)) == [(False,)]
    assert q(target, chunk_of, (gone_start, gone_start)) == [(False,)]
    before = storage(target)

    want_events = sorted(
        expected_events("binance", "SCHEDA", start, [(10, 15, 6), (40, 40, 1), (100, 102, 3)])
        + expected_events("binance", "SCHEDB", start, [(20, 21, 2), (60, 66, 5), (80, 81, 2), (86, 86, 1)])
        + expected_events("okx", "SCHEDC", start, [(5, 9, 5), (150, 153, 4)])
    )
    # labels: confirmed events x horizons the data reaches (start + h <= the last sample)
    want_labels = sorted(
        (e[1], e[3], h, True)
        for e in want_events
        if e[6] == "confirmed"
        for h in (30, 60, 180, 360)
        if e[3] + timedelta(minutes=h) <= t_end
    )
    assert {h for *_, h, _ in want_labels} == {30, 60, 180}

    def got_events():
        return sorted(r[:8] for r in events(target, symbols))

    def got_labels():
        return sorted(
            q(
                target,
                """SELECT e.symbol, e.start_ts, o.horizon_min, o.covered
                                     FROM watchlist_data.future_outcome AS o
                                     JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id
                                    WHERE e.symbol = ANY(%s)""",
                (symbols,),
            )
        )

    # TimescaleDB's scheduler, and nothing else, runs the jobs from here on. The raw
    # retention starts once the compression is done: started at the same instant, TimescaleDB
    # 2.28.3's policy_retention and policy_compression on the same hypertable deadlock
    # ("deadlock detected", the retention fails and is retried 5 minutes later); on their
    # own fixed schedules (compression every 12 h, retention daily 6 h after it; see
    # apply_policies) they never start together.
    poked_at = poke(target, [j for a, j in ids.items() if a != "retention-raw"])
    retention_poked = []
    series_min = poked_at.replace(second=0, microsecond=0) - timedelta(minutes=5)
    series_min -= timedelta(minutes=series_min.minute % 5)
    typea_min = poked_at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)

    def repoke(alias):
        """A job that ran before its input was ready (the labeller before the merge, the
        hourly aggregate before the 5-minute one it reads) waits for its next schedule:
        start it again (alter_job, not run_job) unless it is running or about to."""
        waiting = q(
            target,
            """SELECT job_status = 'Scheduled' AND next_start > now() + INTERVAL '5 seconds'
                                 FROM timescaledb_information.job_stats WHERE job_id = %s""",
            (ids[alias],),
        )[0][0]
        if waiting:
            poke(target, [ids[alias]])

    never = datetime.min.replace(tzinfo=UTC)

    def pipeline_done():
        ev, lab, sto = got_events(), got_labels(), storage(target)
        state = {
            "events": ev == want_events,
            "labels": lab == want_labels,
            "series": (sto["watchlist_data.watchlist_series_agg"][2] or never) >= series_min,
            "typea": (sto["watchlist_data.typea_stats_1h"][2] or never) >= typea_min,
            "compressed": q(target, chunk_of, (old_start, old_start)) == [(True,)],
            "dropped": q(target, chunk_of, (gone_start, gone_start)) == [],
        }
        if state["events"] and not state["labels"]:
            repoke("label")
        if state["series"] and not state["typea"]:
            repoke("refresh-typea")
        if state["compressed"] and not retention_poked:
            compressing = q(
                target, "SELECT job_status FROM timescaledb_information.job_stats WHERE job_id = %s", (ids["compress"],)
            )[0][0]
            if compressing == "Scheduled":
                retention_poked.append(poke(target, [ids["retention-raw"]]))
        state["watermarks"] = (sto["watchlist_data.watchlist_series_agg"][2], sto["watchlist_data.typea_stats_1h"][2])
        return all(v for k, v in state.items() if k != "watermarks"), state

    wait_for("the scheduler merges, labels, refreshes, compresses and drops", pipeline_done)

    # exactly the expected events and labels, every covered label with its numbers
    assert got_events() == want_events
    assert got_labels() == want_labels
    assert q(
        target,
        """SELECT count(*) FROM watchlist_data.future_outcome AS o
                          JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id
                         WHERE e.symbol = ANY(%s) AND o.covered AND o.pnl IS NOT NULL AND o.max_drawdown IS NOT NULL""",
        (symbols,),
    )[0][0] == len(want_labels)
    # the events equal a fresh rebuild over the window
    assert [r[:8] for r in rebuilt_events(target, symbols, start - timedelta(hours=1))] == want_events
    # aggregates: watermark advanced; materialised 5-minute buckets of a key = raw buckets below it
    after = storage(target)
    for rel in ("watchlist_data.watchlist_series_agg", "watchlist_data.typea_stats_1h"):
        assert after[rel][2] is not None and (before[rel][2] is None or after[rel][2] > before[rel][2]), rel
    mat = q(
        target,
        """SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)
                         FROM timescaledb_information.continuous_aggregates
                        WHERE view_schema = 'watchlist_data' AND view_name = 'watchlist_series_agg'""",
    )[0][0]
    series_wm = after["watchlist_data.watchlist_series_agg"][2]
    n_mat = q(target, f"SELECT count(*) FROM {mat} WHERE symbol = 'SCHEDA'")[0][0]
    n_raw_buckets = q(
        target,
        """SELECT count(DISTINCT time_bucket('5 minutes', ts)) FROM watchlist_data.watch_signal_raw
                                  WHERE symbol = 'SCHEDA' AND ts < %s""",
        (series_wm,),
    )[0][0]
    assert n_mat == n_raw_buckets > 0
    # the old chunk compressed (rows still read), the chunk past retention dropped
    counts = dict(
        q(
            target,
            "SELECT symbol, count(*) FROM watchlist_data.watch_signal_raw WHERE symbol = ANY(%s) GROUP BY 1",
            (symbols,),
        )
    )
    assert counts == {"SCHEDA": 301, "SCHEDB": 301, "SCHEDC": 301, "SCHEDOLD": 30}
    # zero failures of the project's jobs, nothing for job_health to report
    assert job_failures(target, ids.values()) == (0, [])
    assert q(target, "SELECT * FROM watchlist.job_health()") == []
    ran = dict(
        q(
            target,
            "SELECT job_id, total_runs FROM timescaledb_information.job_stats WHERE job_id = ANY(%s)",
            (list(ids.values()),),
        )
    )
    assert all(ran[j] >= 1 for j in ids.values()), ran
    assert q(target, "SELECT count(*) FROM watchlist_data.job_run_log")[0][0] == 0, "nothing but the scheduler ran jobs"

    # --- `wldb worker` and `wldb jobs run` next to the real scheduler change nothing
    snap_events = events(target, symbols, with_id=True)
    label_sql = """SELECT o.event_id, o.horizon_min, o.covered, o.pnl, o.spread_change, o.funding_change,
                          o.max_drawdown, o.volatility, o.label
                     FROM watchlist_data.future_outcome AS o JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id
                    WHERE e.symbol = ANY(%s) ORDER BY 1, 2"""
    snap_labels = q(target, label_sql, (symbols,))

    def raw_count():
        return q(target, "SELECT count(*) FROM watchlist_data.watch_signal_raw WHERE symbol = ANY(%s)", (symbols,))[0][
            0
        ]

    snap_raw = raw_count()
    stats_before = dict(
        q(
            target,
            "SELECT job_id, total_runs FROM timescaledb_information.job_stats WHERE job_id = ANY(%s)",
            (list(ids.values()),),
        )
    )
    poked_again = poke(target, ids.values())  # the scheduler runs every job again ...
    with jobs.connect_for_jobs(target) as c:  # ... while the glue runs each of them too
        runs = [jobs.run_job(c, j) for j in sorted(jobs.list_jobs(c), key=lambda j: jobs.ORDER.index(j["proc_name"]))]
    assert [r.error for r in runs] == [None] * len(ids)
    worker = wldb(target, "worker", "--once", cwd=tmp_path)
    assert worker.returncode == 0, worker.stdout + worker.stderr

    def scheduler_ran_all_again():
        rows = q(
            target,
            """SELECT job_id, total_runs, job_status, last_run_status, last_run_started_at >= %s
                              FROM timescaledb_information.job_stats WHERE job_id = ANY(%s)""",
            (poked_again, list(ids.values())),
        )
        return all(r[1] > stats_before[r[0]] and r[2] == "Scheduled" and r[3] == "Success" and r[4] for r in rows), rows

    wait_for("the scheduler runs every job again", scheduler_ran_all_again)
    assert events(target, symbols, with_id=True) == snap_events, "same events, same ids"
    assert q(target, label_sql, (symbols,)) == snap_labels, "same labels"
    assert raw_count() == snap_raw
    assert job_failures(target, ids.values()) == (0, [])
    assert q(target, "SELECT count(*) FROM watchlist_data.job_run_log WHERE NOT succeeded")[0][0] == 0


# --------------------------------------------------------------------------- failing jobs
def test_failing_job_is_reported_retried_and_catches_up(fresh_db, tmp_path):
    target = fresh_db
    ids = project_jobs(target)
    merge = ids["merge"]
    # TimescaleDB's retry policy: retry_period x consecutive failures (default 5 minutes for
    # this job); shortened so the test sees retries within its bounded wait.
    q(target, "SELECT alter_job(%s, retry_period => INTERVAL '2 seconds')", (merge,))
    now = q(target, "SELECT now()")[0][0]
    t_end = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    start = t_end - timedelta(minutes=180)
    spool = tmp_path / "spool.sqlite"
    trig = {*range(10, 15), *range(130, 134), 150}

    # 1. a good run: the first event
    write(target, spool, by_minute(minute_rows("FAILX", "binance", start, range(0, 121), trig)))
    poke(target, [merge])
    first = expected_events("binance", "FAILX", start, [(10, 14, 5)])
    wait_for(
        "the scheduler merges the first batch",
        lambda: (lambda ev: (ev == first, ev))([r[:8] for r in events(target, ["FAILX"])]),
    )
    first_id = events(target, ["FAILX"], with_id=True)[0][0]
    ok_runs = q(target, "SELECT total_successes FROM timescaledb_information.job_stats WHERE job_id = %s", (merge,))[0][
        0
    ]

    # 2. a setting made invalid behind the API's back (as the owner): the merge job fails at run time
    with config.connect(target, autocommit=True) as c:
        c.execute("SET ROLE wl_owner")
        c.execute("UPDATE watchlist_data.settings SET value = 'three' WHERE key = 'event_cooldown_minutes'")
    write(target, spool, by_minute(minute_rows("FAILX", "binance", start, range(121, 181), trig)))
    poke(target, [merge])
    stat_sql = """SELECT total_failures, total_successes, last_run_status, nullif(next_start, '-infinity'), job_status
                    FROM timescaledb_information.job_stats WHERE job_id = %s"""
    failed = wait_for(
        "the merge job fails",
        lambda: (lambda r: (r[0] >= 1 and r[2] == "Failed" and r[4] == "Scheduled", r))(
            q(target, stat_sql, (merge,))[0]
        ),
    )
    assert (
        failed[3]
        > q(target, "SELECT max(finish_time) FROM timescaledb_information.job_errors WHERE job_id = %s", (merge,))[0][0]
    ), "TimescaleDB scheduled a retry after the failure"

    # visible in `wldb status`, with its error, exit 1
    st = wldb(target, "status", cwd=tmp_path)
    assert st.returncode == 1, st.stdout + st.stderr
    assert f"[{merge}] job_merge_events" in st.stdout
    assert 'last error: invalid input syntax for type integer: "three" [22P02]' in st.stdout, st.stdout
    assert (
        f"job problem (failing): job {merge} job_merge_events (job_merge_events) failed: "
        'invalid input syntax for type integer: "three" [22P02]' in st.stdout
    ), st.stdout
    assert "TimescaleDB retries it at" in st.stdout
    health = q(target, "SELECT kind, job_id, fix FROM watchlist.job_health()")
    assert health == [("failing", merge, None)]

    # retried by the scheduler by itself (no poke from here on)
    wait_for("TimescaleDB retries the failed job", lambda: (lambda r: (r[0] >= 2, r))(q(target, stat_sql, (merge,))[0]))
    errs = q(
        target, "SELECT sqlerrcode, err_message FROM timescaledb_information.job_errors WHERE job_id = %s", (merge,)
    )
    assert len(errs) >= 2 and set(errs) == {("22P02", 'invalid input syntax for type integer: "three"')}
    assert [r[:8] for r in events(target, ["FAILX"])] == first, "a failed run changes nothing"

    # 3. the setting fixed: the next run (by the scheduler, on its retry schedule) catches up exactly
    with config.connect(target, autocommit=True) as c:
        c.execute("SET ROLE wl_owner")
        c.execute("UPDATE watchlist_data.settings SET value = '3' WHERE key = 'event_cooldown_minutes'")
    wait_for(
        "the next good run of the merge job",
        lambda: (lambda r: (r[1] > ok_runs and r[2] == "Success", r))(q(target, stat_sql, (merge,))[0]),
    )
    got = events(target, ["FAILX"], with_id=True)
    want = expected_events("binance", "FAILX", start, [(10, 14, 5), (130, 133, 4), (150, 150, 1)])
    assert [r[1:9] for r in got] == want
    assert got[0][0] == first_id, "the first event kept its id"
    assert [r[1:] for r in got] == rebuilt_events(target, ["FAILX"], start - timedelta(hours=1)), (
        "equal to a fresh rebuild"
    )

    st = wldb(target, "status", cwd=tmp_path)
    assert st.returncode == 0, st.stdout + st.stderr
    assert "job problem" not in st.stdout


# --------------------------------------------------------------------------- worker slots
@pytest.fixture
def private_server():
    """A private server with this machine's PostgreSQL + TimescaleDB (tests/py/pgserver.py),
    restarted with other worker settings by the test; destroyed afterwards."""
    bindir = timescaledb_bindir()
    if bindir is None:
        pytest.skip(NO_PRIVATE_SERVER_REASON)
    srv = PrivateServer(bindir)
    base = srv.conninfo.replace(" dbname=postgres", "")

    def restart(**settings):
        srv.stop()
        srv.settings.update({k: str(v) for k, v in settings.items()})
        srv.start()

    def new_db(name):
        with psycopg.connect(srv.conninfo, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        t = config.Target(f"{base} dbname={name}", False, f"private server, {name}")
        migrate(t, echo=lambda *a, **k: None)
        return t

    def drop_db(name):
        with psycopg.connect(srv.conninfo, autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    try:
        srv.start()
        yield restart, new_db, drop_db
    finally:
        srv.destroy()


def test_worker_slots_exhausted_are_diagnosed(private_server, tmp_path):
    restart, new_db, drop_db = private_server
    # 1. timescaledb.max_background_workers = 2: the launcher and ONE database's scheduler.
    #    That database's jobs never start ("out of background workers" is only logged);
    #    the other database has no scheduler at all.
    restart(**{"max_worker_processes": 16, "timescaledb.max_background_workers": 2})
    a, b = new_db("wl_slots_a"), new_db("wl_slots_b")
    fix = q(a, "SELECT watchlist_data.job_failure_fix('out of background workers')")[0][0]
    assert "raise max_worker_processes and timescaledb.max_background_workers" in fix

    def kinds():
        got = {
            t.conninfo: q(t, "SELECT kind, job_id, fix FROM watchlist.job_health(now(), INTERVAL '5 seconds')")
            for t in (a, b)
        }
        shapes = sorted((tuple(r[0] for r in rows)) for rows in got.values())
        return shapes == [("no_scheduler",), ("overdue",)], got

    got = wait_for("one database without a scheduler, the other with overdue jobs", kinds)
    for rows in got.values():
        assert rows[0][1] is None and "raise max_worker_processes and timescaledb.max_background_workers" in rows[0][2]
    no_sched = next(t for t in (a, b) if got[t.conninfo][0][0] == "no_scheduler")
    st = wldb(no_sched, "status", cwd=tmp_path)
    assert (
        st.returncode == 1 and "job problem (no_scheduler): TimescaleDB's job scheduler is not running" in st.stdout
    ), st.stdout

    # 2. max_worker_processes = 3: the launcher, the logical replication launcher and the
    #    database's scheduler; every job fails to start ("failed to start a background worker").
    drop_db("wl_slots_a")
    drop_db("wl_slots_b")
    restart(max_worker_processes=3, **{"timescaledb.max_background_workers": 16})
    c_ = new_db("wl_slots_c")
    wait_for(
        "every job fails to start, one line with the fix",
        lambda: (lambda rows: (rows == [("all_failing", None, fix)], rows))(
            q(c_, "SELECT kind, job_id, fix FROM watchlist.job_health()")
        ),
    )
    errs = q(
        c_,
        """SELECT DISTINCT sqlerrcode, left(err_message, 19) FROM timescaledb_information.job_errors AS e
                     JOIN watchlist.jobs() AS j USING (job_id)""",
    )
    assert errs == [("XX000", "failed to start job")]
    st = wldb(c_, "status", cwd=tmp_path)
    assert st.returncode == 1, st.stdout
    assert "job problem (all_failing): every watchlist-db job that ran fails the same way" in st.stdout, st.stdout
    assert f"fix: {fix}" in st.stdout
