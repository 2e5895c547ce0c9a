"""pytest fixtures: the database under test comes from the same resolution as the CLI
(tests/run points it at the fresh embedded engine, or at WLDB_TEST_DSN's server)."""
from __future__ import annotations

import os

import psycopg
import pytest

from watchlist_db import config


@pytest.fixture(scope="session")
def target() -> config.Target:
    if os.environ.get("WLDB_TEST_DSN"):
        return config.Target(os.environ["WLDB_TEST_DSN"], False, "WLDB_TEST_DSN")
    t = config.resolve_target()
    try:
        with config.connect(t) as c:
            c.execute("SELECT 1 FROM watchlist_data.schema_migrations LIMIT 1")
    except psycopg.Error as exc:  # pragma: no cover - guidance only
        pytest.exit(f"no migrated test database ({t.describe()}): run the suite with tests/run ({exc})", returncode=2)
    return t


@pytest.fixture
def conn(target):
    """One autocommit connection, closed after the test (the embedded engine serves one
    client at a time: never hold two)."""
    with config.connect(target, autocommit=True) as c:
        yield c
