"""Where the database is: a configured server, or the embedded engine.

Precedence:
  1. an explicit DSN (``wldb --dsn``), then ``WLDB_DSN``;
  2. libpq's own environment (PGHOST, PGHOSTADDR, PGPORT, PGDATABASE or PGSERVICE set):
     libpq then reads PG*, the service file and .pgpass itself;
  3. otherwise the embedded TimescaleDB engine (``wldb db up``), on 127.0.0.1.

Credentials never come from this package: they come from libpq (PGPASSWORD is not
needed and not recommended: use .pgpass or a service file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

LIBPQ_TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE")
DEFAULT_PORT = 54329


PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The source checkout this package runs from (holds sql/bootstrap.sql), or None when
    it runs installed from a wheel."""
    root = PACKAGE_DIR.parents[1]
    return root if (root / "sql" / "bootstrap.sql").is_file() else None


def project_root() -> Path:
    """The checkout's root (holds sql/, docker/); WLDB_HOME overrides. Installed from a
    wheel there is none: the current directory stands in."""
    env = os.environ.get("WLDB_HOME")
    if env:
        return Path(env).resolve()
    return checkout_root() or Path.cwd()


def sql_dir() -> Path:
    """The SQL to migrate with: WLDB_SQL_DIR, else the checkout's sql/, else the copy the
    wheel carries (package data watchlist_db/sql, mapped from sql/ at build time)."""
    env = os.environ.get("WLDB_SQL_DIR")
    if env:
        return Path(env).resolve()
    if os.environ.get("WLDB_HOME"):
        return project_root() / "sql"
    root = checkout_root()
    return root / "sql" if root else PACKAGE_DIR / "sql"


def data_dir() -> Path:
    """The embedded engine's data (and the default spool): WLDB_DATA_DIR, else .wldb in the
    checkout, else .wldb in the current directory when installed from a wheel."""
    env = os.environ.get("WLDB_DATA_DIR")
    return Path(env).resolve() if env else project_root() / ".wldb"


def embedded_port() -> int:
    return int(os.environ.get("WLDB_PORT", DEFAULT_PORT))


@dataclass(frozen=True)
class Target:
    """A database to talk to. ``embedded`` targets need the engine running."""

    conninfo: str
    embedded: bool
    source: str  # human-readable: where this target came from

    def describe(self) -> str:
        shown = psycopg.conninfo.conninfo_to_dict(self.conninfo) if self.conninfo else {}
        shown.pop("password", None)
        parts = " ".join(f"{k}={v}" for k, v in shown.items()) or "(libpq defaults)"
        return f"{parts}  [{self.source}]"


def embedded_conninfo(port: int | None = None, ddir: Path | None = None) -> str:
    ddir = ddir or data_dir()
    port = port or embedded_port()
    return psycopg.conninfo.make_conninfo(
        host="127.0.0.1",
        port=str(port),
        user="postgres",
        dbname="postgres",
        sslmode="disable",
        gssencmode="disable",
        passfile=str(ddir / "pgpass"),
        connect_timeout="10",
        application_name="wldb",
    )


def resolve_target(dsn: str | None = None) -> Target:
    if dsn:
        return Target(dsn, False, "--dsn")
    env_dsn = os.environ.get("WLDB_DSN")
    if env_dsn:
        return Target(env_dsn, False, "WLDB_DSN")
    passfile = os.environ.get("PGPASSFILE")
    if passfile and Path(passfile).resolve() == (data_dir() / "pgpass").resolve():
        pass  # the PG* variables came from `wldb db env`: still the embedded engine
    elif any(os.environ.get(v) for v in LIBPQ_TARGET_VARS):
        return Target("", False, "libpq environment")
    return Target(embedded_conninfo(), True, f"embedded engine in {data_dir()}")


# libpq connection keywords and the environment variables libpq reads for them
# (https://www.postgresql.org/docs/current/libpq-envars.html).
LIBPQ_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "servicefile": "PGSERVICEFILE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "channel_binding": "PGCHANNELBINDING",
    "require_auth": "PGREQUIREAUTH",
}


def libpq_env(conninfo: str) -> dict[str, str]:
    """The libpq environment variables equivalent to a connection string (key=value or URI),
    so tools that take no connection string (pg_prove) reach the same server. A password in
    the string is refused: use .pgpass or a service file."""
    env: dict[str, str] = {}
    for key, value in psycopg.conninfo.conninfo_to_dict(conninfo).items():
        if key == "password":
            raise ValueError("the connection string holds a password; put it in ~/.pgpass or a service file instead")
        var = LIBPQ_ENV.get(key)
        if var is None:
            raise ValueError(
                f"connection keyword {key!r} has no libpq environment variable; use a service file (PGSERVICE)"
            )
        env[var] = str(value)
    return env


def connect(target: Target, *, autocommit: bool = True, **kwargs) -> psycopg.Connection:
    """Open one connection. On the embedded engine every connection shares one backend
    session, so automatic prepared statements are turned off there."""
    if target.embedded:
        kwargs.setdefault("prepare_threshold", None)
    return psycopg.connect(target.conninfo, autocommit=autocommit, **kwargs)
