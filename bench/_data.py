"""Shared bench data: EXCHANGES x SYMBOLS keys of 1-minute samples under the bench-only
exchange prefix 'bench', about 10% triggered in 10-minute runs, loaded server-side in
slices (INSERT ... SELECT generate_series), and removed again by cleanup()."""

from __future__ import annotations

import time
from datetime import datetime

LOAD_SQL = """
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel,
        funding_rate, funding_interval_hours, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low,
        volatility, range_1h, ingested_at, meta)
SELECT %(t0)s::timestamptz + make_interval(mins => m), 'bench' || e, 'B' || lpad(s::text, 4, '0'), 'A',
       ((m + s * 37 + e * 11) %% 100) < 10,
       0.002 + 0.001 * sin((m + s) / 17.0), 0.0001 * ((s %% 5) - 2), (ARRAY[1, 4, 8])[1 + s %% 3],
       %(t0)s::timestamptz + make_interval(mins => (m / ((ARRAY[1, 4, 8])[1 + s %% 3] * 60) + 1) * (ARRAY[1, 4, 8])[1 + s %% 3] * 60),
       0.002 + 0.001 * sin((m + s) / 17.0) - 0.00005, 0.002 + 0.001 * sin((m + s) / 17.0) + 0.00005,
       0.0005, 0.004,
       coalesce(%(ingested)s::timestamptz, %(t0)s::timestamptz + make_interval(mins => m)),
       jsonb_build_object('pairs_top', jsonb_build_array(jsonb_build_object('high_exch', 'okx', 'spread_pct', m)))
  FROM generate_series(0, %(exchanges)s - 1) e, generate_series(0, %(symbols)s - 1) s,
       generate_series(%(m_from)s, %(m_to)s - 1) m
"""

# the same rows in the order a live writer lays them down: minute by minute, so a key's
# consecutive rows lie EXCHANGES x SYMBOLS rows apart on the heap (LOAD_SQL's order puts a
# slice's minutes of one key side by side, a locality no live table has)
LIVE_ORDER = "\n ORDER BY m, e, s"


def load(
    conn,
    t0: datetime,
    exchanges: int,
    symbols: int,
    m_from: int,
    m_to: int,
    ingested: datetime | None = None,
    progress: bool = True,
    live_order: bool = False,
) -> float:
    """Insert minutes [m_from, m_to) for every key; returns seconds taken. live_order: lay
    the rows down minute by minute (LIVE_ORDER)."""
    keys = exchanges * symbols
    step = max(1, 240_000 // keys)
    t = time.perf_counter()
    for m in range(m_from, m_to, step):
        conn.execute(
            LOAD_SQL + (LIVE_ORDER if live_order else ""),
            {
                "t0": t0,
                "exchanges": exchanges,
                "symbols": symbols,
                "m_from": m,
                "m_to": min(m + step, m_to),
                "ingested": ingested,
            },
        )
        if progress:
            print(f"\r  loading {(min(m + step, m_to) - m_from) / (m_to - m_from):6.1%}", end="", flush=True)
    if progress:
        print("\r", end="")
    return time.perf_counter() - t


def cleanup(conn) -> None:
    # deleting from compressed chunks decompresses them; lift the per-transaction cap
    conn.execute("SET timescaledb.max_tuples_decompressed_per_dml_transaction = 0")
    conn.execute("DELETE FROM watchlist_data.watch_signal_event WHERE exchange LIKE 'bench%'")  # labels cascade
    # the ts bound changes nothing but the plan: on the embedded engine (TimescaleDB 2.23), a
    # DELETE whose only condition is a range on the segment-by column exchange fails on
    # compressed chunks with "btree index keys must be ordered by attribute" (seen after a
    # VACUUM (ANALYZE) of the table); with any condition on ts it runs
    conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE exchange LIKE 'bench%' AND ts > '-infinity'")
    conn.execute("DELETE FROM watchlist_data.job_state WHERE job IN ('merge_events', 'label_outcomes')")


# --- shared by the benchmarks: server CPU, paused jobs, a fresh database, machine-readable results

import contextlib as _contextlib  # noqa: E402 (after the shared set-up above)
import json as _json  # noqa: E402 (after the shared set-up above)
import os as _os  # noqa: E402 (after the shared set-up above)
import subprocess as _subprocess  # noqa: E402 (after the shared set-up above)
import sys as _sys  # noqa: E402 (after the shared set-up above)
from contextlib import contextmanager  # noqa: E402 (after the shared set-up above)
from datetime import timedelta as _timedelta  # noqa: E402 (after the shared set-up above)
from pathlib import Path as _Path  # noqa: E402 (after the shared set-up above)

import psycopg as _psycopg  # noqa: E402 (after the shared set-up above)
from psycopg import sql as _sql  # noqa: E402 (after the shared set-up above)

_TICK = _os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return _Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def proc_cpu(pid: int | None) -> float | None:
    """utime + stime of one process in seconds (None: not on this machine / not readable)."""
    f = _stat(pid) if pid else None
    return None if f is None else (int(f[11]) + int(f[12])) / _TICK


class ServerCpu:
    """CPU seconds of a local server, read from /proc: `backend` is the connection's own
    backend (pg_backend_pid()), `server` every process of the server (the postmaster's
    children alive now plus the exited ones the postmaster has reaped: cutime/cstime)."""

    def __init__(self, conn, embedded_pid: int | None = None):
        self.backend_pid = self.postmaster_pid = None
        if embedded_pid:  # the embedded engine: one node process
            self.backend_pid = self.postmaster_pid = embedded_pid if _stat(embedded_pid) else None
            self.tree = False
            return
        self.tree = True
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        f = _stat(pid)
        if f is not None:  # a local server: its backend is on this machine
            self.backend_pid, self.postmaster_pid = pid, int(f[1])

    def backend(self) -> float | None:
        return proc_cpu(self.backend_pid)

    def server(self) -> float | None:
        if self.postmaster_pid is None:
            return None
        f = _stat(self.postmaster_pid)
        if f is None:
            return None
        total = (int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if self.tree else 0)) / _TICK
        if self.tree:
            for d in _Path("/proc").iterdir():
                if d.name.isdigit():
                    c = _stat(int(d.name))
                    if c is not None and int(c[1]) == self.postmaster_pid:
                        total += (int(c[11]) + int(c[12])) / _TICK
        return total


@contextmanager
def jobs_paused(conn, procs: tuple[str, ...] | None = None):
    """Pause this database's scheduled watchlist jobs and refresh policies while a benchmark
    runs (they would otherwise merge, label and refresh the bench rows behind its back);
    restores the scheduled flag of each afterwards. procs: only the jobs running these
    procedures (e.g. ('job_merge_events',): the bench runs that job's work itself while
    the others keep running). A no-op where there is no scheduler."""
    try:
        ids = [
            r[0]
            for r in conn.execute(
                """SELECT job_id FROM timescaledb_information.jobs
                WHERE scheduled AND (proc_schema = 'watchlist_data' OR hypertable_schema = 'watchlist_data')
                  AND (%(procs)s::text[] IS NULL OR proc_name = ANY (%(procs)s::text[]))""",
                {"procs": list(procs) if procs else None},
            )
        ]
        for i in ids:
            conn.execute("SELECT alter_job(%s, scheduled => false)", (i,))
    except Exception:  # noqa: BLE001 - no permission / no scheduler: run with the jobs as they are
        ids = []
    try:
        yield
    finally:
        # a job re-created meanwhile (a setting change re-applies its policy) is scheduled
        # already and its old id gone
        for i in ids:
            conn.execute(
                "SELECT alter_job(job_id, scheduled => true) FROM timescaledb_information.jobs WHERE job_id = %s", (i,)
            )


@contextmanager
def session(target):
    """The bench's autocommit connection to ``target``, with this database's scheduled
    watchlist jobs paused while it is open (jobs_paused). On a server a second session
    pauses and restores them (the bench's own session switches role); the embedded engine
    takes one connection at a time and has no scheduler, so there it is the same session."""
    from watchlist_db import config

    with _contextlib.ExitStack() as stack:
        conn = stack.enter_context(config.connect(target, autocommit=True))
        jc = conn if target.embedded else stack.enter_context(config.connect(target))
        stack.enter_context(jobs_paused(jc))
        yield conn


@contextmanager
def fresh_database(target, label: str):
    """A new, migrated database on the server of ``target`` (a config.Target) for one bench
    run, dropped afterwards; yields the Target of the new database. For states that an
    earlier run leaves behind in a database: a refresh of a continuous aggregate moves its
    watermark to about now, so a second read bench within 13 hours could not set up
    "nothing materialised" there. Needs CREATEDB (a private server's superuser). A real
    server only: the embedded engine has one database."""
    from watchlist_db import config

    name = f"wldb_bench_{label}_{_os.getpid()}"
    fresh = _psycopg.conninfo.make_conninfo(target.conninfo, dbname=name)
    with _psycopg.connect(target.conninfo, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        print(f"  fresh database {name}: migrating ...", flush=True)
        _subprocess.run(
            [_sys.executable, "-m", "watchlist_db.cli", "--dsn", fresh, "migrate"],
            check=True,
            stdout=_subprocess.DEVNULL,
        )
        yield config.Target(fresh, False, f"fresh database on {target.source}")
    finally:
        with _psycopg.connect(target.conninfo, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def refresh(conn, cagg: str, lo, hi, slice_hours: float | None = 2) -> float:
    """CALL refresh_continuous_aggregate(cagg, lo, hi) in slices of slice_hours (one refresh
    over millions of rows runs the 32-bit embedded engine out of memory; a real server's
    refresh policy batches too), or in one call (slice_hours None); seconds taken. Needs an
    autocommit connection."""
    t = time.perf_counter()
    while lo < hi:
        to = hi if slice_hours is None else min(lo + _timedelta(hours=slice_hours), hi)
        conn.execute("CALL refresh_continuous_aggregate(%s::regclass, %s, %s)", (cagg, lo, to))
        lo = to
    return time.perf_counter() - t


def materialisations(conn) -> list[str]:
    """The continuous aggregates' materialisation hypertables (what their refreshes write)."""
    return [
        r[0]
        for r in conn.execute(
            """SELECT format('%I.%I', h.schema_name, h.table_name)
                 FROM _timescaledb_catalog.continuous_agg AS c
                 JOIN _timescaledb_catalog.hypertable AS h ON h.id = c.mat_hypertable_id
                WHERE c.user_view_schema = 'watchlist_data' ORDER BY 1"""
        )
    ]


def add_settle_option(ap) -> None:
    """The benches' --no-settle flag (see settle)."""
    ap.add_argument(
        "--no-settle",
        action="store_true",
        help="time the steady-state runs right after the bulk loads, without the VACUUM (ANALYZE) and "
        "CHECKPOINT that stand in for autovacuum and the checkpointer",
    )


def settle(conn, tables: tuple[str, ...]) -> str:
    """What autovacuum and the checkpointer do in a steady state, after a bench's bulk load:
    VACUUM (ANALYZE) each of ``tables`` (hint bits and the visibility map set, so that the
    timed runs do not set them and write the pages out themselves) and a CHECKPOINT (the
    load's dirty buffers written now, not by the timed runs' backends while they evict them).
    CHECKPOINT needs superuser or pg_checkpoint: without it, only the vacuum. Needs an
    autocommit connection; returns what it did and how long it took, to print."""
    t = time.perf_counter()
    for table in tables:
        conn.execute(f"VACUUM (ANALYZE) {table}")
    # as the session's own user: the bench sets the owner role, which may not checkpoint
    role = conn.execute("SELECT current_user").fetchone()[0]
    conn.execute("RESET ROLE")
    try:
        conn.execute("CHECKPOINT")
        done = "vacuumed, checkpoint"
    except _psycopg.errors.InsufficientPrivilege:
        done = "vacuumed (no privilege to CHECKPOINT)"
    finally:
        conn.execute(_sql.SQL("SET ROLE {}").format(_sql.Identifier(role)))
    return f"{done}: {time.perf_counter() - t:.1f} s"


def write_json(path: str | None, data: dict) -> None:
    """Results for bench/run.py's summary table."""
    if path:
        _Path(path).write_text(_json.dumps(data, default=str, indent=1))


def explain_nested(conn, sql: str, params=None, min_ms: float = 0.0) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one call runs, nested ones included
    (the API is plpgsql: a plain EXPLAIN shows one Function Scan): auto_explain, its plans
    sent to this client as notices. Statements under min_ms are left out. A real server
    only (auto_explain is a contrib module)."""
    plans: list[str] = []

    def keep(diag) -> None:
        if diag.message_primary and "plan:" in diag.message_primary:
            plans.append(diag.message_primary)

    role = conn.execute("SELECT current_user").fetchone()[0]
    conn.add_notice_handler(keep)
    conn.execute("RESET ROLE")  # LOAD and auto_explain's settings: the session's own (superuser) role
    try:
        conn.execute("LOAD 'auto_explain'")
        for k, v in (
            ("log_min_duration", f"{min_ms}ms"),
            ("log_analyze", "on"),
            ("log_buffers", "on"),
            ("log_timing", "on"),
            ("log_nested_statements", "on"),
            ("log_level", "notice"),
        ):
            conn.execute(f"SET auto_explain.{k} = '{v}'")
        conn.execute(f'SET ROLE "{role}"')
        conn.execute(sql, params).fetchall()
    finally:
        conn.execute("RESET ROLE")
        conn.execute("SET auto_explain.log_min_duration = -1")
        conn.execute(f'SET ROLE "{role}"')
        conn.remove_notice_handler(keep)
    return plans


def print_plans(title: str, plans: list[str]) -> None:
    print(f"\n---- EXPLAIN (ANALYZE, BUFFERS): {title} ({len(plans)} statement(s)) ----")
    for p in plans:
        print(p)
