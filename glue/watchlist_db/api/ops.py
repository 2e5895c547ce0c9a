"""Operations: the job table and runs, the event merge and labelling, status and health
reports, settings, purging keys. The owner-only calls need the caller to act as the owner
first (admin.as_owner)."""

from __future__ import annotations

from datetime import datetime

from psycopg.types.json import Jsonb

STATUS_SQL = {
    "versions": """SELECT current_setting('server_version') AS postgres,
                          (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb,
                          v.migrations, v.latest
                     FROM watchlist.schema_version() AS v""",
    "tables": """SELECT relation, kind, chunks, compressed_chunks, total_bytes, before_compression_bytes,
                        after_compression_bytes, est_rows, materialized_until, lag
                   FROM watchlist.storage_report()""",
    "jobs": """SELECT job_id, target, proc_name, schedule_interval, last_run_at, last_ok, last_error,
                      failures_24h, due
                 FROM watchlist.jobs(now())""",
    "problems": "SELECT problem FROM watchlist.policy_problems()",
    "job_health": "SELECT kind, job_id, problem, fix FROM watchlist.job_health()",
    "privileges": "SELECT problem, fix FROM watchlist.privilege_problems()",
    "logins": "SELECT login, problem, fix FROM watchlist.login_problems()",
}


def ping(conn) -> None:
    """Raises when the database does not answer a query."""
    conn.execute("SELECT 1")


# ------------------------------------------------------------------ jobs
def jobs(conn) -> list[dict]:
    """Every job (watchlist.jobs(now())) as a dict per job."""
    cur = conn.execute("SELECT * FROM watchlist.jobs(now())")
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def run_job(conn, job_id: int) -> None:
    """Run one job now (TimescaleDB's run_job); the connection must be in autocommit mode."""
    conn.execute("CALL run_job(%s)", (job_id,))


def record_job_run(conn, job_id: int, started: datetime, finished: datetime, error: str | None) -> None:
    conn.execute("SELECT watchlist.record_job_run(%s, %s, %s, %s)", (job_id, started, finished, error))


def refresh_continuous_aggregate(conn, view: str, start: datetime, end: datetime) -> None:
    """Refresh watchlist_data.<view> over [start, end) (outside a transaction)."""
    conn.execute(f"CALL refresh_continuous_aggregate('watchlist_data.{view}', %s, %s)", (start, end))


# ------------------------------------------------------------------ events and labels
def merge_events(conn, from_: str, to_: str | None) -> tuple:
    """Owner only. Rebuild events over [from_, to_ or the end of data): (keys, samples read,
    inserted, updated, deleted, open)."""
    return conn.execute(
        "SELECT * FROM watchlist.merge_events(%s, coalesce(%s::timestamptz, 'infinity'))", (from_, to_)
    ).fetchone()


def _as_of(conn, function: str, now: datetime | None) -> None:
    """SELECT * FROM <function>(now), the database's now() when ``now`` is None."""
    if now is None:
        conn.execute(f"SELECT * FROM {function}(now())")
    else:
        conn.execute(f"SELECT * FROM {function}(%s)", (now,))


def merge_events_incremental(conn, now: datetime | None) -> None:
    """The merge job's unit of work as of ``now`` (None: the database's now())."""
    _as_of(conn, "watchlist.merge_events_incremental", now)


def label_outcomes_incremental(conn, now: datetime | None) -> None:
    """The label job's unit of work as of ``now`` (None: the database's now())."""
    _as_of(conn, "watchlist.label_outcomes_incremental", now)


def compute_factors(conn, start: datetime, end: datetime) -> int:
    """Compute the database factors over [start, end); returns the factor rows written."""
    return conn.execute(
        "SELECT coalesce(sum(factor_rows), 0) FROM watchlist.compute_factors(%s, %s)", (start, end)
    ).fetchone()[0]


# ------------------------------------------------------------------ status
def status(conn) -> dict[str, list]:
    """The rows of each STATUS_SQL report ("versions": one row, the others: lists)."""
    out = {name: conn.execute(q).fetchall() for name, q in STATUS_SQL.items()}
    out["versions"] = out["versions"][0] if out["versions"] else None
    return out


def storage_report(conn, relation: str) -> tuple | None:
    """(compressed_chunks, chunks, before_compression_bytes, after_compression_bytes) of one relation."""
    return conn.execute(
        """SELECT compressed_chunks, chunks, before_compression_bytes, after_compression_bytes
             FROM watchlist.storage_report() WHERE relation = %s""",
        (relation,),
    ).fetchone()


# ------------------------------------------------------------------ settings
def settings(conn) -> list[tuple]:
    """(key, value, description) of every setting, by key."""
    return conn.execute("SELECT key, value, description FROM watchlist.settings ORDER BY key").fetchall()


def set_setting(conn, key: str, value: str) -> list[tuple]:
    """Owner only. Change a setting; (policy, target, action, detail) of the policies re-applied."""
    return conn.execute("SELECT * FROM watchlist.set_setting(%s, %s)", (key, value)).fetchall()


def factor_lab_thresholds(conn) -> tuple[int, float]:
    """(factor_lab_min_periods, factor_lab_min_eff_events)."""
    return conn.execute(
        "SELECT watchlist_data.setting('factor_lab_min_periods')::int, "
        "watchlist_data.setting('factor_lab_min_eff_events')::float8"
    ).fetchone()


# ------------------------------------------------------------------ data
def purge_keys(conn, keys: list[dict], notes: str) -> int:
    """Owner only. Remove the rows of these {exchange, symbol} keys whose meta.notes is
    ``notes`` (events cascade to labels); returns the raw rows removed."""
    return conn.execute("SELECT watchlist.purge_keys(%s, %s)", (Jsonb(keys), notes)).fetchone()[0]
