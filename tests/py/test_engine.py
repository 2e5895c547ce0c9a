"""The embedded engine's life cycle: up, up again, status, crash detection, down, persistence."""

from __future__ import annotations

import os
import signal
import socket
import time

import psycopg
import pytest

from watchlist_db.engine import EmbeddedEngine, _pid_alive
from writer_helpers import free_port, up_engine


@pytest.fixture
def engine(tmp_path):
    eng = EmbeddedEngine(tmp_path / "wldb", free_port())
    yield eng
    eng.down()


def _query(eng, sql):
    with psycopg.connect(eng.conninfo(), autocommit=True, prepare_threshold=None) as c:
        cur = c.execute(sql)
        return cur.fetchall() if cur.description else None


def test_up_status_second_up_and_down(engine):
    assert engine.status().state == "stopped"
    st = up_engine(engine)
    assert st.state == "running" and st.port == engine.port
    assert _query(engine, "SELECT name FROM pg_available_extensions WHERE name = 'timescaledb'") == [("timescaledb",)]
    again = engine.up(echo=lambda *_: None)
    assert again.pid == st.pid, "a second up reports the running engine instead of starting another"
    assert engine.passfile.stat().st_mode & 0o077 == 0, "the passfile is private"
    msg = engine.down()
    assert "stopped cleanly" in msg
    assert not _pid_alive(st.pid)
    assert engine.status().state == "stopped"
    assert engine.down() == "not running"


def test_crash_is_detected_and_up_recovers_with_the_data(engine):
    st = up_engine(engine)
    _query(engine, "CREATE TABLE public.persisted (x int); INSERT INTO public.persisted VALUES (42)")
    engine.down()
    st = engine.up(echo=lambda *_: None)
    assert _query(engine, "SELECT x FROM public.persisted") == [(42,)], "data survives down/up"
    os.kill(st.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _pid_alive(st.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    crashed = engine.status()
    assert crashed.state == "crashed" and str(st.pid) in crashed.detail
    notes = []
    restarted = engine.up(echo=notes.append)
    assert restarted.state == "running" and restarted.pid != st.pid
    assert any("gone" in n for n in notes), "up says the previous engine had crashed"


def test_clients_queue_and_never_inherit_session_state(engine):
    up_engine(engine)
    # A client that leaves mid-transaction, with a SET and a temp table...
    c1 = psycopg.connect(engine.conninfo(), prepare_threshold=None)
    c1.execute("SET application_name = 'leaky'")
    c1.execute("CREATE TEMP TABLE leak (x int)")
    c1.execute("SELECT 1")  # transaction open
    c1.close()
    # ...leaves nothing behind for the next one, which connects at once.
    for _ in range(30):
        rows = _query(
            engine,
            "SELECT current_setting('application_name'), to_regclass('pg_temp.leak') IS NULL, "
            "(SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction')",
        )
        assert rows[0][1] is True, "no temp table inherited"
        assert rows[0][2] == 0, "no session left idle in transaction"
    assert rows[0][0] != "leaky"


def test_port_taken_by_another_program_is_reported(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        eng = EmbeddedEngine(tmp_path / "wldb", s.getsockname()[1])
        with pytest.raises(Exception, match="already taken"):
            eng.up(echo=lambda *_: None)
