"""Faults while the whole pipeline runs on a real server with its scheduler on: the server
SIGKILLed mid-write, and its disk filling up. Each test owns a private PostgreSQL +
TimescaleDB server (the machine's binaries: WLDB_TEST_PG_BINDIR, WLDB_REAL_TIMESCALEDB, or
a local installation), writes realistic rows (watchlist_db.sample) through the Writer only,
and checks afterwards: every acknowledged row stored exactly once, the jobs running again on
their own schedules (no manual step), and no event, label or factor row missing or doubled
against a rebuild of the same window.

The disk-full test puts the server's data directory on a tmpfs of fixed size (needs root
to mount; it skips where mounting is not permitted) and fills it with a ballast file.

On the embedded engine these tests skip: it has no scheduler and is not a server to kill.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dbwait import WAIT_S, q, wait_for
from pgserver import PrivateServer, private_bindir, workdir
from watchlist_db import config, sample
from watchlist_db.migrate import migrate
from watchlist_db.writer import Writer

NO_SERVER_REASON = "the fault tests need a real server (WLDB_TEST_DSN): the embedded engine has no scheduler"
pytestmark = pytest.mark.skipif(not os.environ.get("WLDB_TEST_DSN"), reason=NO_SERVER_REASON)

MINUTES = 150  # minutes of sample rows written (20 pairs each)
FAST_SCHEDULES = {  # the jobs' schedules shortened, so that "back on schedule" is seen within the test
    "merge_events_every": "30 seconds",
    "label_outcomes_every": "30 seconds",
    "compute_factors_every": "30 seconds",
}


def _need_bindir() -> Path:
    """The PostgreSQL bin directory for a private server; fails the test without one."""
    bindir = private_bindir()
    if bindir is None:
        pytest.fail("no PostgreSQL with TimescaleDB to start a private server (set WLDB_REAL_TIMESCALEDB)")
    return bindir


def start_db(srv: PrivateServer) -> config.Target:
    with psycopg.connect(srv.conninfo, autocommit=True) as c:
        c.execute("CREATE DATABASE wl")
    target = config.Target(psycopg.conninfo.make_conninfo(srv.conninfo, dbname="wl"), False, "fault server")
    migrate(target, echo=lambda *a, **k: None)
    for key, value in FAST_SCHEDULES.items():
        q(target, "SELECT * FROM watchlist.set_setting(%s, %s)", (key, value))
    return target


def snapshots(start: datetime, minutes: int) -> list[list[dict]]:
    """The sample generator's 20 pairs, one snapshot per minute from `start`."""
    return [snap for _, snap in sample.generate(minutes / 1440, start)]


def wait_drained(w: Writer, what: str) -> None:
    """The writer has sent everything (drain() returns at once while the database is down)."""
    wait_for(what, lambda: (lambda st: (st["pending"] == 0 and st["db_up"], st))(w.stats()))


def stored(target) -> tuple[int, int]:
    return tuple(
        q(target, "SELECT count(*), count(DISTINCT (exchange, symbol, ts)) FROM watchlist_data.watch_signal_raw")[0]
    )


def assert_all_stored(target, st: dict, acked: int) -> None:
    """Every snapshot acknowledged, the writer left nothing pending, dropped, failed or
    quarantined, and every acknowledged row is stored exactly once."""
    assert acked == 20 * MINUTES
    assert st["pending"] == 0 and st["dropped"] == 0 and st["failed"] == 0 and st["quarantined"] == 0, st
    assert stored(target) == (acked, acked), "every acknowledged row stored exactly once"


def job_ids(target) -> dict[str, int]:
    return {
        r[1]: r[0]
        for r in q(
            target,
            "SELECT job_id, proc_name::text FROM timescaledb_information.jobs "
            "WHERE proc_schema = 'watchlist_data' AND proc_name IN ('job_merge_events', 'job_label_outcomes', 'job_compute_factors')",
        )
    }


def wait_jobs_ran_since(target, since: datetime, what: str, timeout: float = WAIT_S) -> None:
    """Every incremental job (merge, label, factors) started a run after `since` and
    finished it successfully, started by the scheduler alone. A run that merely finished
    after `since` may have read the tables before it: a factor run that began while the
    writer's replay was committing finished after the drain without the replayed rows, and
    the comparison that followed found the window's factor rows missing (the next run wrote
    them)."""
    ids = job_ids(target)

    def done():
        rows = q(
            target,
            "SELECT job_id, coalesce(last_run_started_at > %s AND last_successful_finish >= last_run_started_at, false),"
            " total_failures FROM timescaledb_information.job_stats WHERE job_id = ANY(%s)",
            (since, list(ids.values())),
        )
        return len(rows) == len(ids) and all(r[1] for r in rows), rows

    wait_for(what, done, timeout)


EVENT_COLS = "exchange, symbol, signal_type, start_ts, end_ts, n_samples, status, is_open, confirmed_at"


def pipeline_vs_rebuild(target, since: datetime, until: datetime, created: datetime) -> dict[str, tuple[list, list]]:
    """(stored, rebuilt) of the events, labels and factor rows of the window: the rebuild
    (events deleted and merged again, labels computed again for those events, factor rows
    computed again over the window) runs in a transaction that is rolled back."""
    ev_sql = f"SELECT {EVENT_COLS} FROM watchlist_data.watch_signal_event WHERE start_ts >= %s ORDER BY 1, 2, 3, 4"
    lab_sql = f"""SELECT {EVENT_COLS}, o.horizon_min, o.covered, o.pnl FROM watchlist_data.future_outcome AS o
                   JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id
                  WHERE e.start_ts >= %s AND e.confirmed_at + make_interval(mins => o.horizon_min) > %s
                  ORDER BY 1, 2, 3, 4, 10"""
    fac_sql = """SELECT exchange, symbol, ts, b_n_rows, b_spread_close FROM watchlist_data.factor_value
                  WHERE ts > %s AND ts <= %s ORDER BY 1, 2, 3"""
    with config.connect(target, autocommit=False) as c:
        # the factor job recomputes late rows only inside factor_lookback (its contract): the
        # rows were written up to 150 minutes late, so factor rows are compared inside it
        f_since = c.execute(
            "SELECT greatest(%s, now() - watchlist_data.setting('factor_lookback')::interval + INTERVAL '10 minutes')",
            (since,),
        ).fetchone()[0]
        got = {
            "events": c.execute(ev_sql, (since,)).fetchall(),
            "labels": c.execute(lab_sql, (since, created)).fetchall(),
            "factors": c.execute(fac_sql, (f_since, until)).fetchall(),
        }
        # the jobs' own horizon: what they had processed when the stored rows were read
        label_now = c.execute(
            "SELECT prev_now FROM watchlist_data.label_job_state WHERE job = 'label_outcomes'"
        ).fetchone()[0]
        merge_now = c.execute("SELECT watermark FROM watchlist_data.job_state WHERE job = 'merge_events'").fetchone()[0]
        c.execute("DELETE FROM watchlist_data.watch_signal_event WHERE start_ts >= %s", (since,))
        c.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (since - timedelta(hours=1), merge_now))
        ids = [
            r[0] for r in c.execute("SELECT id FROM watchlist_data.watch_signal_event WHERE start_ts >= %s", (since,))
        ]
        c.execute("SELECT * FROM watchlist.label_outcomes(%s, %s)", (label_now, ids))
        c.execute("DELETE FROM watchlist_data.factor_value WHERE ts > %s AND ts <= %s", (since, until))
        c.execute("SELECT * FROM watchlist.compute_factors(%s, %s)", (since, until))
        want = {
            "events": c.execute(ev_sql, (since,)).fetchall(),
            "labels": c.execute(lab_sql, (since, created)).fetchall(),
            "factors": c.execute(fac_sql, (f_since, until)).fetchall(),
        }
        c.rollback()
    return {k: (got[k], want[k]) for k in got}


def assert_matches_rebuild(target, since, until, created) -> None:
    """Events and factor rows of the window, and the labels whose horizon ended after the
    database was created (the label job labels horizons as they end: one that had ended
    before its first run, as rows written hours late make it, is a backfill's work)."""
    for what, (got, want) in pipeline_vs_rebuild(target, since, until, created).items():
        assert len(got) == len(set(got)), f"{what}: doubled rows"
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        assert not missing and not extra, (
            f"{what}: missing {missing[:3]} ({len(missing)}), not in the rebuild {extra[:3]} ({len(extra)})"
        )
        assert want or what == "labels", f"{what}: the window produced nothing to compare"


@pytest.fixture
def server():
    bindir = _need_bindir()
    srv = PrivateServer(bindir).start()
    try:
        yield srv
    finally:
        srv.destroy()


# --------------------------------------------------------------------------- crash
def test_server_killed_mid_write_loses_and_doubles_nothing(server, tmp_path):
    target = start_db(server)
    created = datetime.now(UTC)
    t_end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    start = t_end - timedelta(minutes=MINUTES - 1)
    snaps = snapshots(start, MINUTES)
    acked = 0
    w = Writer(target=target, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.1, max_batch_rows=200)
    try:
        for i, snap in enumerate(snaps):
            acked += w.submit(snap)
            if i == MINUTES // 3:
                time.sleep(0.3)  # a batch in flight
                server.kill()  # SIGKILL of the postmaster, mid-write
                killed = datetime.now(UTC)
            elif i == 2 * MINUTES // 3:
                assert not server.running()
                assert w.stats()["pending"] > 0, "rows written while the server was down wait in the spool"
                server.start()  # crash recovery
        wait_drained(w, "the writer replays its spool after the restart")
    finally:
        st = w.close(timeout=60)
    assert_all_stored(target, st, acked)
    # the scheduler starts the jobs again by itself; then it has caught up to the newest minute
    wait_jobs_ran_since(target, datetime.now(UTC), "merge, label and factor jobs ran after the restart")
    assert killed < datetime.now(UTC)
    assert_matches_rebuild(
        target, start + timedelta(hours=1), t_end.replace(minute=t_end.minute - t_end.minute % 5), created
    )


# --------------------------------------------------------------------------- scheduler failure
SCHEDULER_SQL = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND 'TimescaleDB Background Worker Scheduler' IN (backend_type, application_name)"
)


def test_failed_scheduler_restarts_by_itself_with_the_recommended_setting(tmp_path):
    """A database's TimescaleDB scheduler that fails (here terminated, as a failure on a full
    disk ends it) is reported by `wldb status` with both fixes, and with the setting it
    recommends (timescaledb.bgw_scheduler_restart_time = 60) comes back by itself: the jobs
    run again with no manual step."""
    bindir = _need_bindir()
    srv = PrivateServer(bindir, settings={"timescaledb.bgw_scheduler_restart_time": "60"}).start()
    try:
        target = start_db(srv)
        first = wait_for("the database's scheduler runs", lambda: (lambda r: (bool(r), r))(q(target, SCHEDULER_SQL)))
        q(target, "SELECT pg_terminate_backend(%s)", (first[0][0],))
        kinds = wait_for(
            "job_health reports the missing scheduler",
            lambda: (lambda k: ("no_scheduler" in k, k))(
                [r[0] for r in q(target, "SELECT kind FROM watchlist.job_health()")]
            ),
            30,
        )
        assert "no_scheduler" in kinds
        out = wldb_status(target, tmp_path / "spool.sqlite")
        assert out.returncode == 1, out.stdout + out.stderr
        assert "job problem (no_scheduler)" in out.stdout, out.stdout
        assert "start_background_workers()" in out.stdout and "bgw_scheduler_restart_time = 60" in out.stdout, (
            out.stdout
        )
        gone = datetime.now(UTC)
        again = wait_for(
            "the launcher restarts the scheduler (about 60 s)",
            lambda: (lambda r: (bool(r) and r[0][0] != first[0][0], r))(q(target, SCHEDULER_SQL)),
            150,
        )
        assert again[0][0] != first[0][0]
        wait_jobs_ran_since(target, gone, "merge, label and factor jobs ran after the scheduler came back")
        assert [r[0] for r in q(target, "SELECT kind FROM watchlist.job_health()")] == []
    finally:
        srv.destroy()


# --------------------------------------------------------------------------- long reader
POLICY_JOBS_SQL = """SELECT proc_name::text, job_id FROM timescaledb_information.jobs
                      WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw'
                        AND proc_name IN ('policy_retention', 'policy_compression')"""
RAW_CHUNKS_SQL = """SELECT chunk_name::text, range_end, is_compressed FROM timescaledb_information.chunks
                     WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw'
                     ORDER BY range_start"""


def test_long_reader_holds_back_compression_and_retention_not_the_app(server, tmp_path):
    """A reader's transaction open across a compression and a retention run (it has read
    every chunk, so it holds a lock on each): the two jobs wait for it, the app's reads of the
    last 12 h and the writer's next rows do not; the reader keeps its snapshot; once it ends,
    both jobs finish, the chunk past the retention is gone, the one past raw_compress_after is
    compressed, and every other acknowledged row is still there."""
    target = start_db(server)
    q(target, "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE job_id >= 1000")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # the two old windows sit at noon, each inside one daily chunk whatever the time of day
    # (a window begun at 23:45 would span two chunks)
    noon = now.replace(hour=12, minute=0)
    windows = {
        "old": noon - timedelta(days=10),
        "compress": noon - timedelta(days=4),
        "recent": now - timedelta(minutes=40),
    }
    acked = {}
    w = Writer(target=target, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.1, max_batch_rows=200)
    try:
        for name, start in windows.items():
            acked[name] = sum(w.submit(snap) for snap in snapshots(start, 30))
        wait_drained(w, "the writer stored the three windows")
    finally:
        w.close(timeout=60)
    with config.connect(target, autocommit=False) as c:
        # the setting re-creates the retention policy as a new, scheduled job: paused in the
        # same transaction, so that the scheduler never sees it scheduled
        c.execute("SELECT * FROM watchlist.set_setting('raw_retention', '5 days')")
        c.execute("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE job_id >= 1000")
        c.commit()
    jobs_ = dict(q(target, POLICY_JOBS_SQL))
    assert set(jobs_) == {"policy_retention", "policy_compression"}, jobs_
    chunks0 = q(target, RAW_CHUNKS_SQL)
    assert sum(1 for _, end, _ in chunks0 if end <= now - timedelta(days=5)) == 1, chunks0
    key = q(
        target,
        "SELECT exchange, symbol FROM watchlist_data.watch_signal_raw WHERE ts >= %s LIMIT 1",
        (windows["recent"],),
    )[0]

    reader = psycopg.connect(target.conninfo, application_name="long-reader")
    reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    finished: dict[str, float] = {}
    errors: list[str] = []

    deadlocks: list[str] = []

    def run(name: str, job_id: int) -> None:
        # the two policies, released together, can deadlock each other (seen here about one
        # run in two: retention waits for compression's lock and the reverse); the loser
        # fails and runs again, as TimescaleDB's scheduler retries a failed job
        t = time.monotonic()
        for _ in range(3):
            try:
                with psycopg.connect(target.conninfo, autocommit=True, application_name=f"run-{name}") as c:
                    c.execute("CALL run_job(%s)", (job_id,))
                finished[name] = time.monotonic() - t
                return
            except psycopg.errors.DeadlockDetected:
                deadlocks.append(name)
                time.sleep(1)
            except psycopg.Error as exc:
                errors.append(f"{name}: {exc}")
                return

    threads = []
    try:
        seen = reader.execute("SELECT count(*) FROM watchlist.watch_signal_raw").fetchone()[0]
        assert seen == sum(acked.values())
        threads = [threading.Thread(target=run, args=(n, j), daemon=True) for n, j in jobs_.items()]
        for t in threads:
            t.start()
        waiting = wait_for(
            "the retention run waits for the reader's lock",
            lambda: (lambda r: (r[0][0] > 0, r))(
                q(
                    target,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'run-policy_retention' AND wait_event_type = 'Lock'",
                )
            ),
            30,
        )
        assert waiting[0][0] == 1 and "policy_retention" not in finished
        # the app meanwhile: the 12 h series and metrics of a key, and the next minute's rows
        t = time.monotonic()
        assert q(target, "SELECT count(*) FROM watchlist.series(%s, %s, 12)", key)[0][0] > 0
        assert q(target, "SELECT count(*) FROM watchlist.metrics(%s, %s)", key)[0][0] == 1
        read_s = time.monotonic() - t
        t = time.monotonic()
        w2 = Writer(target=target, spool_path=tmp_path / "spool2.sqlite", max_delay_s=0.1)
        try:
            extra = sum(w2.submit(snap) for snap in snapshots(now, 1))
            assert w2.drain(timeout=30), w2.stats()
        finally:
            w2.close(timeout=30)
        write_s = time.monotonic() - t
        assert read_s < 10 and write_s < 30, (read_s, write_s)
        assert reader.execute("SELECT count(*) FROM watchlist.watch_signal_raw").fetchone()[0] == seen, (
            "the snapshot holds"
        )
        assert "policy_retention" not in finished, "retention waited for the reader"
    finally:
        reader.rollback()
        reader.close()
        for t in threads:
            t.join(120)
    assert not errors, errors
    assert set(finished) == {"policy_retention", "policy_compression"}, finished
    print(
        f"long reader: app read {read_s:.2f} s, next minute written {write_s:.2f} s; "
        f"job run times {finished}; deadlocks between the two jobs {deadlocks}"
    )
    chunks1 = q(target, RAW_CHUNKS_SQL)
    assert not [c for c in chunks1 if c[1] <= now - timedelta(days=5)], chunks1
    assert [c[2] for c in chunks1 if c[1] <= now - timedelta(days=2)] == [True], chunks1
    counts = dict(
        q(
            target,
            "SELECT CASE WHEN ts < %s THEN 'compress' ELSE 'recent' END, count(*) FROM watchlist_data.watch_signal_raw GROUP BY 1",
            (now - timedelta(days=1),),
        )
    )
    assert counts == {"compress": acked["compress"], "recent": acked["recent"] + extra}, counts


# --------------------------------------------------------------------------- disk full
def _mount_tmpfs(path: Path, size_mb: int) -> bool:
    if os.geteuid() != 0:
        return False
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0777", "tmpfs", str(path)], capture_output=True, text=True
    )
    return out.returncode == 0


NO_TMPFS_REASON = "cannot mount a tmpfs here (needs root and permission to mount)"


def wldb_status(target, spool: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WLDB_"))}
    env["WLDB_SPOOL"] = str(spool)
    return subprocess.run(
        [sys.executable, "-m", "watchlist_db.cli", "--dsn", target.conninfo, "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_disk_full_keeps_rows_in_the_spool_and_catches_up(tmp_path):
    bindir = _need_bindir()
    work = workdir("wldb-diskfull-")
    mnt = work / "fs"
    mnt.mkdir()
    if not _mount_tmpfs(mnt, 160):
        pytest.skip(NO_TMPFS_REASON)
    srv = None
    try:
        # small WAL bounds so that the 160 MB hold the server with room to fill; the
        # scheduler restart time that `wldb status` recommends (TimescaleDB's default never
        # restarts a scheduler that failed itself, as it can on a full disk)
        srv = PrivateServer(
            bindir,
            mnt,
            settings={
                "max_wal_size": "'48MB'",
                "min_wal_size": "'32MB'",
                "timescaledb.bgw_scheduler_restart_time": "60",
            },
        ).start()
        target = start_db(srv)
        created = datetime.now(UTC)
        t_end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        start = t_end - timedelta(minutes=MINUTES - 1)
        snaps = snapshots(start, MINUTES)
        spool = tmp_path / "spool.sqlite"
        w = Writer(target=target, spool_path=spool, max_delay_s=0.1, max_batch_rows=200, backoff_s=(0.2, 2.0))
        acked = 0
        try:
            for snap in snaps[:20]:
                acked += w.submit(snap)
            assert w.drain(timeout=120), w.stats()
            # fill the filesystem but for 2 MB: the next rows cannot all be stored
            free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
            ballast = mnt / "ballast"
            with open(ballast, "wb") as f:
                f.truncate(0)
                chunk = b"\0" * (1 << 20)
                for _ in range(max(0, free - (2 << 20)) >> 20):
                    f.write(chunk)
            for snap in snaps[20:]:
                acked += w.submit(snap)
            wait_for(
                "the writer meets the full disk and keeps the rows in its spool",
                lambda: (lambda s: (s["pending"] > 0 and s["last_error"] is not None, s))(w.stats()),
                timeout=120,
            )
            time.sleep(3)  # a few retries against the full disk
            st = w.stats()
            assert st["pending"] > 0 and st["dropped"] == 0 and st["failed"] == 0, st
            out = wldb_status(target, spool)
            text = out.stdout + out.stderr
            assert out.returncode == 1, text
            assert "disk" in text.lower() and "full" in text.lower(), text
            assert "fix:" in text and "free space" in text, text
            assert f"{st['pending']:,}" in text or "pending" in text, text
            # space freed: the server (started again if it stopped) and the writer catch up alone
            ballast.unlink()
            if not srv.running():
                srv.start()
            wait_drained(w, "the writer replays its spool once space is freed")
            # a run that read before the replay ended may finish after it: count runs from here
            freed = datetime.now(UTC)
        finally:
            st = w.close(timeout=60)
        assert_all_stored(target, st, acked)
        # TimescaleDB's scheduler of this database may have failed itself on the full disk
        # (recording a job's failure): `wldb status` says so and names both fixes; with
        # timescaledb.bgw_scheduler_restart_time set, the launcher starts it again by itself
        # (no manual step: nothing below starts it)
        health = [r[0] for r in q(target, "SELECT kind FROM watchlist.job_health()")]
        if "no_scheduler" in health:
            out = wldb_status(target, spool)
            assert out.returncode == 1, out.stdout + out.stderr
            assert "job problem (no_scheduler)" in out.stdout and "start_background_workers()" in out.stdout, out.stdout
            assert "bgw_scheduler_restart_time" in out.stdout, out.stdout
            print("disk full: TimescaleDB's scheduler had stopped; waiting for its launcher to restart it")
        try:
            # a job whose worker died with the scheduler counts as crashed: TimescaleDB starts
            # it again no sooner than 5 minutes later
            wait_jobs_ran_since(target, freed, "merge, label and factor jobs ran after space was freed", WAIT_S + 180)
        except BaseException:
            workers = q(target, "SELECT backend_type, application_name, state, wait_event FROM pg_stat_activity")
            stats = q(target, "SELECT * FROM timescaledb_information.job_stats")
            print(f"server processes: {workers}\njob stats: {stats}\nserver log:\n{srv.log_tail(80)}")
            raise
        assert_matches_rebuild(
            target, start + timedelta(hours=1), t_end.replace(minute=t_end.minute - t_end.minute % 5), created
        )
    finally:
        if srv is not None:
            srv.destroy()
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        subprocess.run(["rm", "-rf", str(work)], capture_output=True)
