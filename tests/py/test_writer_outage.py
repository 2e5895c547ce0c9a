"""The writer through an outage and through crashes, on a server the tests own and stop, kill
and restart: a private embedded engine when the suite runs on the embedded engine, a private
real PostgreSQL + TimescaleDB server (the machine's binaries) when it runs on a server
(WLDB_TEST_DSN). Every row whose submit() returned is stored exactly once, and submit()
never waits for the database."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pgserver import PrivateServer, timescaledb_bindir
from watchlist_db import config
from watchlist_db.engine import EmbeddedEngine, _pid_alive
from watchlist_db.migrate import migrate
from watchlist_db.spool import spool_summary
from watchlist_db.writer import Writer
from writer_helpers import (
    closed_port_target,
    free_port,
    keys_of,
    q,
    snapshot,
    stored_keys,
    up_engine,
    utc_minutes_ago,
    wait_until,
)

CHILD = Path(__file__).with_name("writer_child.py")


NO_REAL_SERVER = "no local PostgreSQL with TimescaleDB to run a private real server"


class OwnEmbedded:
    """A private embedded engine: down = clean stop, kill = SIGKILL of the engine process."""

    embedded = True

    def __init__(self, data_dir):
        self.eng = EmbeddedEngine(data_dir, free_port())

    def up(self):
        up_engine(self.eng)  # a first start moves to another port if this one was taken meanwhile

    def down(self):
        self.eng.down()

    def kill(self):
        pid = self.eng.status().pid
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not _pid_alive(pid), 30)

    def conninfo(self):
        return self.eng.conninfo()

    def close(self):
        self.eng.down()


class OwnReal:
    """A private PostgreSQL + TimescaleDB server: down = fast shutdown, kill = SIGKILL of the
    postmaster (the next start runs crash recovery)."""

    embedded = False

    def __init__(self, bindir):
        self.srv = PrivateServer(bindir)

    def up(self):
        if not self.srv.running():
            self.srv.start()

    def down(self):
        self.srv.stop()

    def kill(self):
        self.srv.kill()

    def conninfo(self):
        return self.srv.conninfo

    def close(self):
        self.srv.destroy()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    if os.environ.get("WLDB_TEST_DSN"):
        bindir = timescaledb_bindir()
        if bindir is None:
            pytest.skip(NO_REAL_SERVER)
        eng = OwnReal(bindir)
    else:
        eng = OwnEmbedded(tmp_path_factory.mktemp("outage") / "wldb")
    eng.up()
    try:
        migrate(config.Target(eng.conninfo(), eng.embedded, "outage server"), echo=lambda *_: None)
        yield eng
    finally:
        eng.close()


@pytest.fixture
def etarget(engine):
    engine.up()  # a test that failed half-way may have left it down
    return config.Target(engine.conninfo(), engine.embedded, "outage server")


class TimedWriter(Writer):
    """A Writer that remembers how long each submit() took."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.submit_s: list[float] = []

    def submit(self, *a, **kw):
        t = time.monotonic()
        try:
            return super().submit(*a, **kw)
        finally:
            self.submit_s.append(time.monotonic() - t)


def _table_state(target, symbol):
    return q(
        target,
        """SELECT count(*), count(DISTINCT (exchange, symbol, ts))
                          FROM watchlist_data.watch_signal_raw WHERE symbol = %s""",
        (symbol,),
    )[0]


def test_engine_outage_mid_stream_loses_nothing_and_adds_nothing(engine, etarget, tmp_path):
    t0 = utc_minutes_ago(120)
    submitted: list[dict] = []
    w = TimedWriter(
        target=etarget, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.05, connect_timeout_s=5, backoff_s=(0.2, 1)
    )
    try:

        def feed(n):
            for _ in range(n):
                rows = snapshot("WTOUT", t0 + timedelta(seconds=len(submitted)), 10, step_s=1)
                for r in rows:
                    r["ts"] = t0 + timedelta(seconds=len(submitted))
                    submitted.append(r)
                w.submit(rows)
                time.sleep(0.03)

        feed(20)
        assert wait_until(lambda: w.stats()["written"] > 0, 30)
        engine.down()
        feed(20)
        assert wait_until(lambda: not w.stats()["db_up"], 30), "the writer noticed the outage"
        feed(20)
        engine.up()
        feed(20)
        st = w.close(timeout=120)
    finally:
        w.close(timeout=1)
    assert len(submitted) == 800
    assert max(w.submit_s) < 5, "submit() never waited as long as a connection attempt"
    assert st["pending"] == 0 and st["dropped"] == 0 and st["failed"] == 0 and st["quarantined"] == 0
    assert st["spooled"] > 0 and st["replayed"] > 0
    assert st["written"] + st["duplicates"] >= 800
    assert _table_state(etarget, "WTOUT") == (800, 800)
    assert set(stored_keys(etarget, "WTOUT")) == keys_of(submitted)


def _run_child(spool, target, symbol, t0, per, stop_when, timeout=120):
    """Start a writer child, read its lines until stop_when(ok, stat) is true, kill -9 it.
    Returns the snapshot numbers whose submit() returned."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(CHILD),
            str(spool),
            target.conninfo,
            "1" if target.embedded else "0",
            symbol,
            str(t0.timestamp()),
            str(per),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=CHILD.parent,
    )
    ok: list[int] = []
    stat: dict = {}
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            if line.startswith("OK "):
                ok.append(int(line.split()[1]))
            elif line.startswith("STAT "):
                stat = json.loads(line[5:])
            if stop_when(ok, stat) or time.monotonic() > deadline:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # Lines already written to the pipe but not read yet are submits that returned too.
    for line in proc.stdout.read().splitlines():
        if line.startswith("OK "):
            ok.append(int(line.split()[1]))
    assert proc.returncode == -signal.SIGKILL
    return ok, stat


def _keys(symbol, t0, per, ks):
    return {("binance", symbol, t0 + timedelta(seconds=k * per + j)) for k in ks for j in range(per)}


def test_kill_9_writer_while_the_server_is_down_then_replay(engine, etarget, tmp_path):
    t0, per = utc_minutes_ago(100), 7
    spool = tmp_path / "spool.sqlite"
    engine.down()
    try:
        ok, _ = _run_child(spool, etarget, "WTKILL1", t0, per, lambda ok, st: len(ok) >= 60)
    finally:
        engine.up()
    assert len(ok) >= 60
    with Writer(target=etarget, spool_path=spool) as w:
        pass
    st = w.stats()
    assert st["pending"] == 0 and st["recovered"] >= 60 * per and st["replayed"] == st["recovered"]
    stored = set(stored_keys(etarget, "WTKILL1"))
    assert _keys("WTKILL1", t0, per, ok) <= stored, "every row whose submit() returned was recovered"
    assert stored <= _keys("WTKILL1", t0, per, range(max(ok) + 2)), "nothing that was never submitted"
    assert _table_state(etarget, "WTKILL1")[0] == len(stored)


def test_kill_9_while_replaying_loses_no_returned_submit(etarget, tmp_path):
    t0, per = utc_minutes_ago(80), 50
    spool = tmp_path / "spool.sqlite"
    backlog = snapshot("WTKILL2", t0 - timedelta(hours=1), 3000, step_s=1)
    w = Writer(target=closed_port_target(), spool_path=spool, max_batch_rows=500, connect_timeout_s=2)
    for i in range(0, 3000, 100):
        w.submit(backlog[i : i + 100])
    assert w.close(timeout=3)["pending"] == 3000
    # The child replays the backlog (oldest first, between its live batches) and is
    # killed after the first replayed batch, with more still waiting.
    ok, stat = _run_child(
        spool, etarget, "WTKILL2", t0, per, lambda ok, st: st.get("replayed", 0) >= 500 and st.get("pending", 0) > 1000
    )
    assert stat["replayed"] >= 500 and stat["pending"] > 1000, stat
    with Writer(target=etarget, spool_path=spool) as w:
        pass
    assert w.stats()["pending"] == 0
    stored = set(stored_keys(etarget, "WTKILL2"))
    assert keys_of(backlog) <= stored, "the whole spooled backlog"
    assert _keys("WTKILL2", t0, per, ok) <= stored, "every live row whose submit() returned"
    assert stored <= keys_of(backlog) | _keys("WTKILL2", t0, per, range(max(ok) + 2))
    assert spool_summary(spool)["pending_rows"] == 0


def test_a_torn_wal_tail_loses_only_the_torn_commit(tmp_path):
    spool = tmp_path / "live" / "spool.sqlite"
    t0 = utc_minutes_ago(50)
    w = Writer(target=closed_port_target(), spool_path=spool, start=False)
    snaps = [snapshot("WTTORN", t0 + timedelta(minutes=k), 5, step_s=1) for k in range(12)]
    for s in snaps:
        w.submit(s)  # one commit each, all still in the WAL (no checkpoint ran)
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal"):  # what a crash leaves on disk
        shutil.copyfile(f"{spool}{suffix}", f"{copy / 'spool.sqlite'}{suffix}")
    w.close(timeout=0)
    wal = copy / "spool.sqlite-wal"
    os.truncate(wal, wal.stat().st_size - 100)  # the last frame (the last commit's) is torn
    s = spool_summary(copy / "spool.sqlite")
    assert s["pending_rows"] == 11 * 5
    from watchlist_db.spool import Spool

    sp = Spool(copy / "spool.sqlite")
    got = sorted(r["ts"] for r in sp.waiting_rows())
    sp.close()
    assert got == sorted(r["ts"].isoformat() for snap in snaps[:11] for r in snap)


def test_server_sigkilled_mid_stream_recovers_and_loses_nothing(engine, etarget, tmp_path):
    """SIGKILL of the server (the postmaster on a real server: PostgreSQL crash recovery on
    the next start) while batches are being written; then restart and keep writing."""
    t0 = utc_minutes_ago(150)
    submitted: list[dict] = []
    w = TimedWriter(
        target=etarget,
        spool_path=tmp_path / "spool.sqlite",
        max_delay_s=0.02,
        max_batch_rows=400,
        connect_timeout_s=5,
        backoff_s=(0.2, 1),
    )
    try:

        def feed(n):
            for _ in range(n):
                rows = snapshot("WTCRASH", t0, 40, step_s=1)
                for j, r in enumerate(rows):
                    r["ts"] = t0 + timedelta(seconds=len(submitted) + j)
                submitted.extend(rows)
                w.submit(rows)

        feed(30)
        assert wait_until(lambda: w.stats()["written"] > 0, 60)
        feed(30)  # batches in flight when the server dies
        engine.kill()
        feed(30)
        assert wait_until(lambda: not w.stats()["db_up"], 30), "the writer noticed the crash"
        engine.up()  # crash recovery
        feed(30)
        st = w.close(timeout=180)
    finally:
        w.close(timeout=1)
    assert len(submitted) == 120 * 40
    assert max(w.submit_s) < 5, "submit() never waited as long as a connection attempt"
    assert st["pending"] == 0 and st["dropped"] == 0 and st["failed"] == 0 and st["quarantined"] == 0, st
    assert _table_state(etarget, "WTCRASH") == (4800, 4800), "every row exactly once"
    assert set(stored_keys(etarget, "WTCRASH")) == keys_of(submitted)
