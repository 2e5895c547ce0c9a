"""`pip install <checkout>` (not editable) into a fresh virtual environment, then `wldb
migrate`: the wheel carries the SQL and the console script works without the checkout.

Kept fast and offline: the wheel is installed with --no-deps into a fresh venv that sees
the current environment's site-packages through a .pth line (so the dependencies come
from here; the editable install's finder is not activated, only our wheel's package is
importable as watchlist_db). The lean dependency set is checked on the wheel's metadata."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import psycopg
import pytest

from watchlist_db import __version__, config

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{args}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(ROOT)])
    (wheel,) = (tmp / "dist").glob("watchlist_db-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)])
    # only now (pip must not see, let alone touch, the outer environment's packages)
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (purelib / "zz_outer_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheel, venv


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WLDB_"))}
    env.update(extra)
    return env


def test_the_wheel_carries_the_sql_and_a_lean_core(installed):
    wheel, _venv = installed
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    shipped = {n.removeprefix("watchlist_db/sql/") for n in names if n.startswith("watchlist_db/sql/")}
    in_repo = {str(p.relative_to(ROOT / "sql")) for p in (ROOT / "sql").rglob("*.sql")}
    assert shipped == in_repo, "the wheel's SQL differs from sql/"
    assert "watchlist_db/engine/server.mjs" in names
    core = [line for line in meta.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [line for line in core if "matplotlib" in line or "pyarrow" in line], core
    assert any("matplotlib" in line and "research" in line for line in meta.splitlines())
    assert f"Version: {__version__}" in meta


def test_the_installed_package_migrates_a_database(installed, target, tmp_path):
    _wheel, venv = installed
    py, wldb = venv / "bin" / "python", venv / "bin" / "wldb"
    where = _run([str(py), "-c", "import watchlist_db.config as c; print(c.__file__); print(c.sql_dir())"],
                 cwd=tmp_path, env=_clean_env()).stdout.split()  # fmt: skip
    assert where[0].startswith(str(venv)), "the wheel's package must be the one imported"
    assert where[1].startswith(str(venv)) and where[1].endswith("watchlist_db/sql")
    assert _run([str(wldb), "--version"], cwd=tmp_path, env=_clean_env()).stdout.strip().endswith(__version__)

    if target.embedded:
        # the embedded engine holds one database: migrate the suite's own (already
        # migrated from the checkout: the wheel's SQL must be byte for byte the same)
        env = _clean_env(WLDB_DATA_DIR=str(config.data_dir()), WLDB_PORT=str(config.embedded_port()))
        out = _run([str(wldb), "migrate"], cwd=tmp_path, env=env).stdout
        assert "up to date: nothing to apply" in out, out
        return
    # a real server: a fresh database, migrated from nothing by the installed package
    dbname = "wl_wheel_test"
    with psycopg.connect(target.conninfo, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {dbname}")
        c.execute(f"CREATE DATABASE {dbname}")
    dsn = psycopg.conninfo.make_conninfo(target.conninfo, dbname=dbname)
    try:
        out = _run([str(wldb), "--dsn", dsn, "migrate"], cwd=tmp_path, env=_clean_env()).stdout
        assert "done:" in out and "applied   0001_settings_and_helpers.sql" in out, out
        with psycopg.connect(dsn) as c:
            n, latest = c.execute("SELECT * FROM watchlist.schema_version()").fetchone()
        assert n == len(list((ROOT / "sql").glob("[0-9]*.sql")) + list((ROOT / "sql").glob("*/[0-9]*.sql")))
        out = _run([str(wldb), "--dsn", dsn, "migrate"], cwd=tmp_path, env=_clean_env()).stdout
        assert "up to date: nothing to apply" in out, out
    finally:
        with psycopg.connect(target.conninfo, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
