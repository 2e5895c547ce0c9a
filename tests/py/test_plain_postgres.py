"""Against a plain PostgreSQL without TimescaleDB (Debian's postgresql-15, when installed):
`wldb migrate` must fail with a clear message and leave the cluster untouched."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import psycopg
import pytest

from watchlist_db import config, migrate

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def _run_as_postgres(args, **kw):
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def plain_pg():
    if not BIN:
        pytest.skip("no plain PostgreSQL server installed (Debian: postgresql-15)")
    bindir = os.path.dirname(BIN[-1])
    if os.geteuid() == 0:
        try:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            pytest.skip("no postgres OS user to run the server as")
    work = tempfile.mkdtemp(prefix="wldb-plainpg-")
    os.chmod(work, 0o777)
    data, sock = os.path.join(work, "data"), os.path.join(work, "sock")
    os.mkdir(sock)
    os.chmod(sock, 0o777)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _run_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust"])
    _run_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(work, "log"), "start",
                      "-o", f"-p {port} -k {sock} -c listen_addresses=''"])
    try:
        yield config.Target(f"host={sock} port={port} user=postgres dbname=postgres", False, "plain postgres")
    finally:
        _run_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-w", "-m", "fast", "stop"])
        shutil.rmtree(work, ignore_errors=True)


def test_missing_timescaledb_is_a_clear_error_and_touches_nothing(plain_pg):
    with pytest.raises(migrate.MigrationError) as err:
        migrate.migrate(plain_pg, echo=lambda *_: None)
    msg = str(err.value)
    with psycopg.connect(plain_pg.conninfo, autocommit=True) as c:
        available = c.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()[0]
    if available:   # installed on the machine but not preloaded by this server: TimescaleDB's own words
        assert 'extension "timescaledb" must be preloaded' in msg
    else:
        assert "needs the TimescaleDB extension" in msg and "not have it installed" in msg
    assert "shared_preload_libraries" in msg, "the hint says how to install it"
    with psycopg.connect(plain_pg.conninfo, autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'wl\\_%'").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'watchlist%'").fetchone()[0] == 0
