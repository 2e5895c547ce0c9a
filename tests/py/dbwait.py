"""Polling and pausing helpers for tests against a target whose scheduler may be running (a
real server): a bounded wait with the last thing seen, and the project's jobs paused while
a test keeps committed rows the jobs would re-derive (not a test module)."""

from __future__ import annotations

import contextlib
import time

import psycopg
import pytest

from watchlist_db import config
from writer_helpers import q  # noqa: F401 (re-exported: one statement, its rows or None)

WAIT_S = 300  # bound of every wait for the scheduler (a loaded 2-core machine has needed minutes)
PROJECT_JOBS = ("job_merge_events", "job_label_outcomes", "job_compute_factors")


def wait_for(what: str, cond, timeout: float = WAIT_S, poll: float = 0.5):
    """Poll cond() -> (done, seen) until done; fail with `what` and the last thing seen. A
    connection refused while a server starts counts as not done yet."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            done, seen = cond()
        except psycopg.OperationalError as exc:
            done, seen = False, exc
        if done:
            return seen
        time.sleep(poll)
    pytest.fail(f"within {timeout} s: {what} (last seen: {seen!r})")


@contextlib.contextmanager
def paused_jobs(target: config.Target, procs: tuple[str, ...] = PROJECT_JOBS, timeout: float = WAIT_S):
    """The project's scheduled jobs `procs` unscheduled, and none of them still running, for the
    body; each restored to its own `scheduled` afterwards. Rows a test commits straight into the
    tables (events without the raw minutes behind them) stay as written: the merge job would
    otherwise re-derive those keys' events from the raw rows. Without a scheduler (the embedded
    engine) nothing runs anyway, and alter_job still records the pause."""
    jobs = q(
        target,
        """SELECT job_id, scheduled FROM timescaledb_information.jobs
            WHERE proc_schema = 'watchlist_data' AND proc_name = ANY(%s)""",
        (list(procs),),
    )
    for job_id, _ in jobs:
        q(target, "SELECT alter_job(%s, scheduled => false)", (job_id,))
    names = [f"% [{job_id}]" for job_id, _ in jobs]
    wait_for(
        f"jobs {procs} finish their running run",
        lambda: (
            (
                n := q(target, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE ANY(%s)", (names,))[
                    0
                ][0]
            )
            == 0,
            n,
        ),
        timeout,
    )
    try:
        yield
    finally:
        for job_id, scheduled in jobs:
            q(target, "SELECT alter_job(%s, scheduled => %s)", (job_id, scheduled))
