"""`wldb db env`: the exports psql and pg_prove use must reach the same database as the CLI,
for a server given by a connection string as well as for the embedded engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from watchlist_db import config
from watchlist_db.cli import main


def _env_of(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(main, [*args, "db", "env"], catch_exceptions=False)
    return res.exit_code, res.output


def test_a_key_value_dsn_becomes_one_variable_per_keyword():
    code, out = _env_of(["--dsn", "host=db.example port=6543 user=app dbname='my db' sslmode=require"])
    assert code == 0, out
    lines = out.splitlines()
    assert "export PGHOST='db.example'" in lines
    assert "export PGPORT='6543'" in lines
    assert "export PGUSER='app'" in lines
    assert "export PGDATABASE='my db'" in lines
    assert "export PGSSLMODE='require'" in lines
    # nothing exported holds the whole connection string, and stale variables are cleared
    assert not any("host=" in line for line in lines)
    assert "unset PGSERVICE" in lines and "unset PGHOSTADDR" in lines


def test_a_uri_dsn_is_split_too():
    code, out = _env_of(["--dsn", "postgresql://app@db.example:6543/watch?application_name=x"])
    assert code == 0, out
    assert {
        "export PGHOST='db.example'",
        "export PGPORT='6543'",
        "export PGUSER='app'",
        "export PGDATABASE='watch'",
        "export PGAPPNAME='x'",
    } <= set(out.splitlines())


def test_a_dsn_with_a_password_is_refused_without_echoing_it():
    res = CliRunner().invoke(main, ["--dsn", "host=h dbname=d password=zq-9!k", "db", "env"])
    assert res.exit_code == 1
    assert "password" in res.output and "~/.pgpass" in res.output
    assert "zq-9!k" not in res.output


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_after_eval_reaches_the_database_under_test(target):
    """The path tests/run takes: eval "$(wldb db env)"; psql. The database and port psql
    reports must be the CLI's (the connection is closed first: the embedded engine serves
    one client at a time)."""
    with config.connect(target) as c:
        expected = c.execute("SELECT current_database(), inet_server_port()").fetchone()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if not target.embedded:
        env["WLDB_DSN"] = target.conninfo
    script = (
        f'eval "$({sys.executable} -m watchlist_db.cli db env)" && '
        "psql -X -At -c \"SELECT current_database() || '|' || coalesce(inet_server_port()::text, '')\""
    )
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    db, port = out.stdout.strip().split("|")
    assert db == expected[0], "psql reached another database than the CLI"
    if expected[1] is not None and port:
        assert int(port) == expected[1], "psql reached another server than the CLI"
