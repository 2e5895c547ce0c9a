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


# --------------------------------------------------------------------- skips on CI
# On CI (CI=true) a skipped test is a failure unless its reason is declared here as
# expected on the engine under test: CI must not go green on a silent skip (a tool that
# failed to install, a fixture that could not start). This is the one allow-list.
EXPECTED_SKIPS = {
    # WLDB_TEST_DSN: a real server
    "server": {
        "cannot mount a tmpfs here (needs root and permission to mount)",  # test_faults (NO_TMPFS_REASON)
    },
    # the embedded engine tests/run starts
    "embedded": {
        "the embedded engine has one database",  # test_cli_commands
        "only a configured server is refused",  # test_cli_commands
        "the embedded engine has no job scheduler",  # test_scheduler (NO_SCHEDULER_REASON)
        "the upgrade test needs a server that can create a database (WLDB_TEST_DSN)",  # test_upgrade_0011
        "the hot-standby test needs a real server (WLDB_TEST_DSN): the embedded engine has no replication",  # test_standby
        "the embedded engine serves one connection at a time (two sessions needed)",  # test_label_merge_lock
        "the adoption test needs a real server (WLDB_TEST_DSN): it starts a private PostgreSQL with LOGIN roles",  # test_adopt
        "the privilege tests need a real server with login roles (WLDB_TEST_DSN)",  # test_privilege_boundaries
        "the fault tests need a real server (WLDB_TEST_DSN): the embedded engine has no scheduler",  # test_faults
    },
}


def _engine() -> str:
    return "server" if os.environ.get("WLDB_TEST_DSN") else "embedded"


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not (_on_ci() and rep.skipped and not hasattr(rep, "wasxfail")):
        return
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if reason not in EXPECTED_SKIPS[_engine()]:
        rep.outcome = "failed"
        rep.longrepr = (
            f"skipped on CI, and this skip is not declared expected for the {_engine()} engine "
            f"(tests/py/conftest.py EXPECTED_SKIPS): {reason}"
        )


# ----------------------------------------------------------------------- hypothesis
# CI: derandomized (the same examples every run). Locally: a random seed, printed in the
# header; rerun with --hypothesis-seed=N to explore the same examples again.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    import random

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.register_profile("dev", print_blob=True)
    if _on_ci():
        settings.load_profile("ci")
    else:
        settings.load_profile("dev")
        if config.getoption("hypothesis_seed", None) is None:
            config.option.hypothesis_seed = str(random.getrandbits(32))


def pytest_report_header(config):
    if _on_ci():
        return (
            f"CI: hypothesis derandomized; skips allowed on the {_engine()} engine: {sorted(EXPECTED_SKIPS[_engine()])}"
        )
    return f"hypothesis seed {config.getoption('hypothesis_seed', None)} (rerun with --hypothesis-seed=N)"
