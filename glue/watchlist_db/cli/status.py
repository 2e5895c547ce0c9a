"""`wldb status` (alias `doctor`): one screen, gathered by collect(), drawn by render()."""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass, field

import click
import psycopg

from .. import __version__, config
from ..api import ops as ops_api
from ..spool import default_spool_path, spool_summary
from .common import Failure, connect, target_of

# What a writer's last error looks like when the server's disk is full: PostgreSQL's
# disk_full (53100: a data file could not be extended), and its messages when it cannot
# write WAL or a file (it PANICs on WAL and restarts; the writer then sees the connection
# end, so the last error may instead be a connection error, see SERVER_DOWN_FIX).
DISK_FULL_MARKS = ("53100", "no space left on device", "could not extend file", "disk full")
DISK_FULL_FIX = (
    "free space on the database server's disk (its data directory, pg_wal, the tablespaces) or grow "
    "the filesystem; if PostgreSQL stopped (it shuts down when it cannot write WAL), start it again. "
    "The writer keeps every row in its spool meanwhile and replays it by itself (`wldb spool replay` "
    "for a spool no writer runs on); the jobs catch up on their next runs"
)
SERVER_DOWN_FIX = (
    "start the database server or restore the network path to it; if its log shows "
    '"No space left on device", free space on its disk first. The writer keeps every row in its '
    "spool meanwhile and replays it by itself"
)


def spool_problem(sp: dict, connected: bool = True) -> tuple[str, str] | None:
    """(problem, fix) when the spool's rows wait because of the database: its disk full, or
    (when status could not connect either) the server unreachable; None when nothing waits
    or nothing says why (a writer retrying after a short outage is no problem yet)."""
    if not sp.get("exists") or not sp.get("pending_rows"):
        return None
    err = (sp.get("last_error") or "").lower()
    if any(m in err for m in DISK_FULL_MARKS):
        return (
            f"the database server's disk is full: {sp['pending_rows']:,} rows wait in the writer's spool",
            DISK_FULL_FIX,
        )
    if not connected and (
        err.startswith(("08", "57p", "operationalerror", "connectiontimeout")) or "connection" in err
    ):
        return (
            f"the database was unreachable: {sp['pending_rows']:,} rows wait in the writer's spool",
            SERVER_DOWN_FIX,
        )
    return None


@dataclass
class Status:
    """Everything `wldb status` shows; ``bad`` when monitoring should alert."""

    database: str
    version: str = __version__
    versions: tuple | None = None
    tables: list[tuple] = field(default_factory=list)
    jobs: list[tuple] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    job_health: list[tuple] = field(default_factory=list)
    spool: dict = field(default_factory=dict)
    privileges: list[tuple] = field(default_factory=list)
    logins: list[tuple] = field(default_factory=list)
    owner_tcp: str | None = None  # where wl_owner logged in over TCP without a password

    @property
    def bad(self) -> bool:
        failed_job = any(j[5] is False for j in self.jobs)
        tot = self.spool.get("totals", {})
        spool_bad = bool(self.spool.get("exists") and (self.spool["dead_rows"] or tot.get("dropped")))
        # a role that could run code as wl_owner is a problem (migrate refuses it too); a
        # wl_owner reachable over TCP without a password (trust on loopback is common on
        # development hosts) and logins without timeouts are warnings
        spool_bad = spool_bad or spool_problem(self.spool) is not None
        return failed_job or bool(self.problems) or bool(self.job_health) or spool_bad or bool(self.privileges)


def owner_reachable_over_tcp(conn: psycopg.Connection) -> str | None:
    """host:port when wl_owner can log in over TCP to the server of ``conn`` with a wrong
    password (trust or a similar pg_hba rule), else None. Nothing to probe over a Unix socket."""
    host, port = conn.info.host, conn.info.port
    if not host or host.startswith("/"):
        return None
    probe = psycopg.conninfo.make_conninfo(
        host=host,
        port=port,
        dbname=conn.info.dbname,
        user="wl_owner",
        password=secrets.token_urlsafe(24),  # a random wrong one: it works only where none is checked
        passfile="/dev/null",
        connect_timeout=5,
    )
    try:
        with psycopg.connect(probe):
            return f"{host}:{port}"
    except psycopg.Error:
        return None


def collect(conn: psycopg.Connection, database: str = "", spool_path=None, *, probe_owner: bool = False) -> Status:
    """Read the status through the API (every query reads watchlist.*); with
    ``probe_owner``, also try logging in as wl_owner over TCP without its password."""
    st = Status(database=database)
    rows = ops_api.status(conn)
    st.versions, st.tables, st.jobs = rows["versions"], rows["tables"], rows["jobs"]
    st.problems = [r[0] for r in rows["problems"]]
    st.job_health, st.privileges, st.logins = rows["job_health"], rows["privileges"], rows["logins"]
    if probe_owner:
        st.owner_tcp = owner_reachable_over_tcp(conn)
    st.spool = spool_summary(spool_path or default_spool_path())
    return st


def _table_line(rel, kind, chunks, cchunks, size, before, after, est, mat_until, lag) -> str:
    if kind == "hypertable":
        extra = f"{chunks} chunks, {cchunks} compressed"
        if before and after:
            extra += f" ({before / 1024:.0f} -> {after / 1024:.0f} KiB, {before / after:.1f}x)"
    elif kind == "continuous aggregate":
        if mat_until:
            extra = f"materialised until {mat_until:%Y-%m-%d %H:%M} (lag {str(lag).split('.')[0]})"
        else:
            extra = "not materialised yet (real-time aggregation serves it)"
    else:
        # the planner's estimate; none where the table was never analysed (the embedded engine)
        extra = f"~{est:,} rows" if est is not None else ""
    return f"  {rel:<38} {size / 1024:>9.0f} KiB  {extra}".rstrip()


def render(st: Status) -> list[tuple[str, str | None]]:
    """(line, colour) pairs, colour None for plain lines."""
    out: list[tuple[str, str | None]] = [(f"watchlist-db {st.version}", None), (f"database: {st.database}", None)]
    pg, tsdb, n_migrations, latest = st.versions
    out.append((f"PostgreSQL {pg}, TimescaleDB {tsdb}, {n_migrations} migrations (latest {latest})", None))
    out.append(("\nstorage", None))
    out += [(_table_line(*t), None) for t in st.tables]
    out.append(("\njobs", None))
    for job_id, tgt, proc, every, last_at, last_ok, last_error, failures, due in st.jobs:
        last_txt = "never run" if last_at is None else f"{'ok' if last_ok else 'FAILED'} at {last_at:%Y-%m-%d %H:%M}"
        line = f"  [{job_id}] {proc:<36} {tgt:<22} every {every}  last: {last_txt}  failures 24h: {failures}"
        out.append((line + ("  (due)" if due else ""), None))
        if last_ok is False:
            out.append((f"      last error: {last_error}", "red"))
    for kind, _job_id, problem, fix in st.job_health:
        out.append((f"  job problem ({kind}): {problem}" + (f"\n      fix: {fix}" if fix else ""), "red"))
    out.append(("\npolicy consistency: " + ("ok" if not st.problems else ""), None))
    out += [(f"  problem: {p}", "red") for p in st.problems]
    out.append(("\nprivileges: " + ("ok" if not (st.privileges or st.owner_tcp or st.logins) else ""), None))
    for problem, fix in st.privileges:
        out.append((f"  problem: {problem}\n      fix: {fix}", "red"))
    if st.owner_tcp:
        out.append(
            (
                f"  warning: wl_owner logs in over TCP at {st.owner_tcp} without a password (it owns everything)\n"
                "      fix: in pg_hba.conf, before any trust line: host all wl_owner 0.0.0.0/0 reject and "
                "host all wl_owner ::/0 reject; then SELECT pg_reload_conf() (docs/security.md)",
                "yellow",
            )
        )
    for _login, problem, fix in st.logins:
        out.append((f"  warning: {problem}\n      fix: {fix}", "yellow"))
    return out + render_spool(st.spool)


def render_spool(sp: dict, connected: bool = True) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    if not sp.get("exists"):
        out.append((f"\nwriter spool: none at {sp.get('path')}", None))
    else:
        tot = sp.get("totals", {})
        out.append((f"\nwriter spool: {sp['path']} ({'in use' if sp.get('in_use') else 'idle'})", None))
        out.append(
            (
                f"  pending {sp['pending_rows']:,} rows (lag {sp['lag_s']:.0f} s), dead {sp['dead_rows']:,} rows; "
                f"totals: written {tot.get('written', 0):,}, quarantined {tot.get('quarantined', 0):,}, "
                f"dropped {tot.get('dropped', 0):,}",
                None,
            )
        )
        if sp.get("last_error"):
            out.append((f"  last error: {sp['last_error']}", "yellow"))
        problem = spool_problem(sp, connected)
        if problem:
            out.append((f"  problem: {problem[0]}\n      fix: {problem[1]}", "red"))
    return out


@click.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """One screen: versions, storage (chunks, compression, aggregate lag), jobs, policy
    consistency, the writer's spool. Exit 1 when something is wrong (monitoring can use it)."""
    target: config.Target = target_of(ctx)
    try:
        with connect(target) as conn:
            st = collect(conn, target.describe(), probe_owner=not target.embedded)
    except Failure as exc:
        missing = (psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName)
        if isinstance(exc.__cause__, missing):
            raise Failure("watchlist-db is not installed in this database: run `wldb migrate`") from exc
        # the database cannot answer (down, or its disk full): still say what waits in the
        # writer's spool, why and how to fix it
        sp = spool_summary(default_spool_path())
        if not sp.get("exists") or not sp.get("pending_rows"):
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        for line, colour in render_spool(sp, connected=False):
            click.secho(line, fg=colour) if colour else click.echo(line)
        sys.exit(1)
    for line, colour in render(st):
        click.secho(line, fg=colour) if colour else click.echo(line)
    sys.exit(1 if st.bad else 0)
