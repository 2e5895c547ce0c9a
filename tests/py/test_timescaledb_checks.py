"""`wldb migrate` against servers whose TimescaleDB is wrong, each a private real PostgreSQL
started for the test with the machine's binaries: not installed, installed but not
preloaded, older than supported. Each is a clear project message naming the fix, and
leaves nothing behind (no extension, role or schema)."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from pgserver import PrivateServer, pg_bindirs, relocated_install, timescaledb_bindir, workdir
from watchlist_db import config, migrate

NO_POSTGRES = "no PostgreSQL server binaries on this machine (Debian: postgresql-15)"
NO_TIMESCALEDB = "no local PostgreSQL has TimescaleDB installed"


@pytest.fixture(scope="module")
def bindir():
    b = timescaledb_bindir()
    if b is None:
        pytest.skip(NO_TIMESCALEDB if pg_bindirs() else NO_POSTGRES)
    return b


@pytest.fixture
def scratch():
    d = workdir("wldb-tscheck-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server_factory(scratch):
    made: list[PrivateServer] = []

    def make(bindir, **kw) -> PrivateServer:
        s = PrivateServer(bindir, scratch / f"pg{len(made)}", **kw).start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.destroy()


def _migrate_error(server: PrivateServer) -> str:
    with pytest.raises(migrate.MigrationError) as err:
        migrate.migrate(config.Target(server.conninfo, False, "private server"), echo=lambda *_: None)
    return str(err.value)


def _assert_nothing_left(server: PrivateServer) -> None:
    with psycopg.connect(server.conninfo, autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'wl\\_%'").fetchone()[0] == 0, "no role"
        assert c.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'watchlist%'").fetchone()[0] == 0, (
            "no schema"
        )
        assert c.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").fetchone()[0] == 0, (
            "no extension"
        )


def test_not_installed(bindir, server_factory, scratch):
    server = server_factory(relocated_install(scratch / "noext", bindir), preload_timescaledb=False)
    msg = _migrate_error(server)
    assert (
        "bootstrap failed: watchlist-db needs the TimescaleDB extension, and this server does not have it installed"
        in msg
    )
    assert "hint: Install TimescaleDB 2.13.0 or newer for PostgreSQL 1" in msg, msg
    assert "add timescaledb to shared_preload_libraries in " + str(server.data / "postgresql.conf") in msg, msg
    _assert_nothing_left(server)


def test_installed_but_not_preloaded(bindir, server_factory):
    server = server_factory(bindir, preload_timescaledb=False)
    msg = _migrate_error(server)
    assert (
        "bootstrap failed: TimescaleDB 2." in msg
        and "is installed but not preloaded: shared_preload_libraries = ''" in msg
    ), msg
    assert (
        "hint: Add timescaledb to shared_preload_libraries in "
        + str(server.data / "postgresql.conf")
        + " (e.g. shared_preload_libraries = 'timescaledb'), restart the server"
    ) in msg, msg
    _assert_nothing_left(server)
    # the fix named in the message works: preload, restart, migrate
    server.stop()
    server.settings["shared_preload_libraries"] = "'timescaledb'"
    server.start()
    report = migrate.migrate(config.Target(server.conninfo, False, "private server"), echo=lambda *_: None)
    assert report.applied, "migrations applied once TimescaleDB is preloaded"


def test_older_than_supported(bindir, server_factory, scratch):
    # No TimescaleDB older than 2.13 can be built here; a control file announcing 2.12.0 is
    # what such an installation shows the bootstrap before anything is created.
    control = "default_version = '2.12.0'\nmodule_pathname = '$libdir/timescaledb-2.12.0'\nrelocatable = false\n"
    server = server_factory(
        relocated_install(scratch / "old", bindir, timescaledb_control=control), preload_timescaledb=False
    )
    msg = _migrate_error(server)
    assert "bootstrap failed: TimescaleDB 2.12.0 is too old: watchlist-db needs 2.13.0 or newer" in msg, msg
    assert "hint: Install a newer TimescaleDB package on the server, restart it, and run wldb migrate again." in msg, (
        msg
    )
    _assert_nothing_left(server)
