"""Run watchlist-db's TimescaleDB jobs from outside the scheduler.

A real server's background scheduler runs the jobs by itself; the embedded engine has
none. ``run_job`` runs one job in the foreground (CALL run_job, in autocommit: it cannot
run inside a transaction block) and records the run in watchlist_data.job_run_log;
``run_due`` runs every job whose schedule says it is due (watchlist.jobs()). Next to a
real scheduler this is harmless: jobs the scheduler ran recently are not due.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from . import config
from .api import ops as ops_api

ALIASES = {
    "merge": ("job_merge_events", None),
    "prune": ("job_prune_history", None),
    "label": ("job_label_outcomes", None),
    "factors": ("job_compute_factors", None),
    "compress-factors": ("policy_compression", "factor_value"),
    "retention-factors": ("policy_retention", "factor_value"),
    "refresh-series": ("policy_refresh_continuous_aggregate", "watchlist_series_agg"),
    "refresh-typea": ("policy_refresh_continuous_aggregate", "typea_stats_1h"),
    "compress": ("policy_compression", "watch_signal_raw"),
    "retention-raw": ("policy_retention", "watch_signal_raw"),
    "retention-series": ("policy_retention", "watchlist_series_agg"),
    "retention-typea": ("policy_retention", "typea_stats_1h"),
}
# Order in which due jobs run: data first flows raw -> aggregates -> factors -> events -> labels.
ORDER = [
    "policy_refresh_continuous_aggregate",
    "job_compute_factors",
    "job_merge_events",
    "job_label_outcomes",
    "policy_compression",
    "policy_retention",
    "job_prune_history",
]


@dataclass
class JobRun:
    job_id: int
    proc_name: str
    target: str
    seconds: float
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def list_jobs(conn: psycopg.Connection) -> list[dict]:
    return ops_api.jobs(conn)


def resolve(conn: psycopg.Connection, name: str) -> dict:
    jobs = list_jobs(conn)
    if name.isdigit():
        found = [j for j in jobs if j["job_id"] == int(name)]
    else:
        proc, target = ALIASES.get(name, (name, None))
        found = [j for j in jobs if j["proc_name"] == proc and (target is None or j["target"] == target)]
    if len(found) != 1:
        known = ", ".join(sorted(ALIASES)) + " or a job id from `wldb jobs list`"
        raise LookupError(f"no single job called {name!r} (known: {known})")
    return found[0]


def run_job(conn: psycopg.Connection, job: dict) -> JobRun:
    """conn must be in autocommit mode."""
    started = datetime.now(UTC)
    t0 = time.monotonic()
    error = None
    try:
        ops_api.run_job(conn, job["job_id"])
    except psycopg.Error as exc:
        error = (exc.diag.message_primary or str(exc)).strip()
        if exc.diag.sqlstate:
            error += f" [{exc.diag.sqlstate}]"
    finished = datetime.now(UTC)
    ops_api.record_job_run(conn, job["job_id"], started, finished, error)
    return JobRun(job["job_id"], job["proc_name"], job["target"], time.monotonic() - t0, error)


def run_due(conn: psycopg.Connection) -> list[JobRun]:
    due = [j for j in list_jobs(conn) if j["due"]]
    due.sort(key=lambda j: (ORDER.index(j["proc_name"]) if j["proc_name"] in ORDER else len(ORDER), j["job_id"]))
    return [run_job(conn, j) for j in due]


def connect_for_jobs(target: config.Target) -> psycopg.Connection:
    return config.connect(target, autocommit=True)
