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


# ------------------------------------------------------------------ access control
def _startup_packet(user: str = "postgres") -> bytes:
    body = f"user\0{user}\0database\0postgres\0\0".encode()
    return (8 + len(body)).to_bytes(4, "big") + (196608).to_bytes(4, "big") + body


def _recv_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return out
        if not chunk:
            return out
        out += chunk


def test_a_client_without_the_token_is_refused(engine):
    up_engine(engine)
    base = psycopg.conninfo.make_conninfo(
        host="127.0.0.1",
        port=str(engine.port),
        user="postgres",
        dbname="postgres",
        sslmode="disable",
        connect_timeout="10",
    )
    # a wrong password: the server refuses it
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "postgres"'):
        psycopg.connect(base + " password=not-the-token", autocommit=True)
    # any user name: the same
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "mallory"'):
        psycopg.connect(base.replace("user=postgres", "user=mallory") + " password=x", autocommit=True)
    # no password at all (libpq gives up when the server asks for one)
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(base + f" passfile={engine.data_dir / 'absent'}", autocommit=True)
    # a client that skips the password and sends a query gets no answer but a FATAL error
    with socket.create_connection(("127.0.0.1", engine.port)) as s:
        s.sendall(_startup_packet())
        query = b"SELECT 'leaked'\0"
        s.sendall(b"Q" + (4 + len(query)).to_bytes(4, "big") + query)
        reply = _recv_all(s)
    assert reply[:1] == b"R" and int.from_bytes(reply[5:9], "big") == 5, "the server asks for an MD5 password"
    assert b"expected a password message" in reply and b"leaked" not in reply
    assert b"R\0\0\0\x08\0\0\0\0" not in reply, "never AuthenticationOk"
    # the token's holder still gets in
    assert _query(engine, "SELECT current_user") == [("postgres",)]
    assert "auth-refused" in engine.log_file.read_text()


def test_the_data_directory_and_its_files_are_private(engine, tmp_path):
    from watchlist_db.writer import Writer

    up_engine(engine)
    spool = engine.data_dir / "spool.sqlite"
    w = Writer(target=_target(engine), spool_path=spool, max_delay_s=0.05)
    w.submit([{"exchange": "ex", "symbol": "PERM", "ts": "2026-03-01T00:00:00Z", "meta": {}}])
    w.drain(timeout=30)
    names = {p.name for p in engine.data_dir.iterdir()}
    assert {"engine.log", "engine.json", "pgpass", "pgdata", "spool.sqlite", "spool.sqlite.lock"} <= names
    assert engine.data_dir.stat().st_mode & 0o777 == 0o700
    loose = [
        f"{p.relative_to(engine.data_dir)} {p.stat().st_mode & 0o777:o}"
        for p in [engine.data_dir, *engine.data_dir.rglob("*")]
        if not p.is_symlink() and p.stat().st_mode & 0o777 != (0o700 if p.is_dir() else 0o600)
    ]
    w.close()
    assert loose == [], "every directory 0700 and every file 0600"
    # a spool outside the data directory, in a new directory: the same
    other = tmp_path / "new" / "dir" / "spool.sqlite"
    with Writer(target=_target(engine), spool_path=other, start=False) as w2:
        w2.submit([{"exchange": "ex", "symbol": "PERM2", "ts": "2026-03-01T00:00:00Z"}])
        modes = {p.name: p.stat().st_mode & 0o777 for p in other.parent.iterdir()}
    assert other.parent.stat().st_mode & 0o777 == 0o700
    assert modes and set(modes.values()) == {0o600}, modes


def _target(engine):
    from watchlist_db import config

    return config.Target(engine.conninfo(), True, "test engine")


def test_an_idle_client_is_closed_and_the_next_one_gets_in(engine, monkeypatch):
    monkeypatch.setenv("WLDB_ENGINE_IDLE_TIMEOUT_S", "2")
    up_engine(engine)
    idle = psycopg.connect(engine.conninfo(), autocommit=True, prepare_threshold=None)
    # a query that runs longer than the bound is not idleness
    idle.execute("SELECT pg_sleep(3)")
    t0 = time.monotonic()
    with psycopg.connect(engine.conninfo(), autocommit=True, prepare_threshold=None) as other:
        waited = time.monotonic() - t0
        assert other.execute("SELECT 42").fetchone() == (42,)
    # (without the bound it would wait until its connect_timeout, 10 s, and fail)
    assert 1.0 <= waited < 9.0, f"the next client waited {waited:.1f}s (bound 2 s)"
    with pytest.raises(psycopg.OperationalError, match="idle-session timeout"):
        idle.execute("SELECT 1")
    idle.close()
    assert '"idle-closed"' in engine.log_file.read_text()
