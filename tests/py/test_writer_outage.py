"""The writer through an outage and through crashes, on a private embedded engine that the
tests stop and start: the table ends up holding exactly the submitted rows."""
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

from watchlist_db import config
from watchlist_db.engine import EmbeddedEngine
from watchlist_db.migrate import migrate
from watchlist_db.spool import spool_summary
from watchlist_db.writer import Writer
from writer_helpers import (closed_port_target, free_port, keys_of, q, snapshot, stored_keys, up_engine, utc_minutes_ago,
                            wait_until)

CHILD = Path(__file__).with_name("writer_child.py")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    if os.environ.get("WLDB_TEST_DSN"):
        pytest.skip("stops and starts an embedded engine of its own")
    eng = EmbeddedEngine(tmp_path_factory.mktemp("outage") / "wldb", free_port())
    up_engine(eng)
    try:
        migrate(config.Target(eng.conninfo(), True, "outage engine"), echo=lambda *_: None)
        yield eng
    finally:
        eng.down()


@pytest.fixture
def etarget(engine):
    return config.Target(engine.conninfo(), True, "outage engine")


def _table_state(target, symbol):
    return q(target, """SELECT count(*), count(DISTINCT (exchange, symbol, ts))
                          FROM watchlist_data.watch_signal_raw WHERE symbol = %s""", (symbol,))[0]


def test_engine_outage_mid_stream_loses_nothing_and_adds_nothing(engine, etarget, tmp_path):
    t0 = utc_minutes_ago(120)
    submitted: list[dict] = []
    w = Writer(target=etarget, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.05, connect_timeout_s=2,
               backoff_s=(0.2, 1))
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
        engine.up(echo=lambda *_: None)
        feed(20)
        st = w.close(timeout=120)
    finally:
        w.close(timeout=1)
    assert len(submitted) == 800
    assert st["pending"] == 0 and st["dropped"] == 0 and st["failed"] == 0 and st["quarantined"] == 0
    assert st["spooled"] > 0 and st["replayed"] > 0
    assert st["written"] + st["duplicates"] >= 800
    assert _table_state(etarget, "WTOUT") == (800, 800)
    assert set(stored_keys(etarget, "WTOUT")) == keys_of(submitted)


def _run_child(spool, target, symbol, t0, per, stop_when, timeout=120):
    """Start a writer child, read its lines until stop_when(ok, stat) is true, kill -9 it.
    Returns the snapshot numbers whose submit() returned."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(spool), target.conninfo, "1" if target.embedded else "0",
                             symbol, str(t0.timestamp()), str(per)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=CHILD.parent)
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


def test_kill_9_while_spooling_loses_no_returned_submit(etarget, tmp_path):
    t0, per = utc_minutes_ago(100), 7
    spool = tmp_path / "spool.sqlite"
    ok, _ = _run_child(spool, closed_port_target(), "WTKILL1", t0, per, lambda ok, st: len(ok) >= 60)
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
        w.submit(backlog[i:i + 100])
    assert w.close(timeout=3)["pending"] == 3000
    # The child replays the backlog (oldest first, between its live batches) and is
    # killed after the first replayed batch, with more still waiting.
    ok, stat = _run_child(spool, etarget, "WTKILL2", t0, per,
                          lambda ok, st: st.get("replayed", 0) >= 500 and st.get("pending", 0) > 1000)
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
        w.submit(s)                    # one commit each, all still in the WAL (no checkpoint ran)
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal"):      # what a crash leaves on disk
        shutil.copyfile(f"{spool}{suffix}", f"{copy / 'spool.sqlite'}{suffix}")
    w.close(timeout=0)
    wal = copy / "spool.sqlite-wal"
    os.truncate(wal, wal.stat().st_size - 100)   # the last frame (the last commit's) is torn
    s = spool_summary(copy / "spool.sqlite")
    assert s["pending_rows"] == 11 * 5
    from watchlist_db.spool import Spool
    sp = Spool(copy / "spool.sqlite")
    got = sorted(r["ts"] for r in sp.waiting_rows())
    sp.close()
    assert got == sorted(r["ts"].isoformat() for snap in snaps[:11] for r in snap)
