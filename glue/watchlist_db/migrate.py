"""Apply sql/ to a database: bootstrap, numbered migrations, repeatable objects, policies.

Layout (see docs/operations.md, "Migrations"):
  sql/bootstrap.sql                      idempotent; extension check, roles, schemas, ledger
  sql/NNNN_*.sql                         numbered migrations, append-only
  sql/continuous_aggregates/NNNN_*.sql   numbered migrations too (same number sequence)
  sql/functions/*.sql, sql/policies/*.sql, sql/views/*.sql
                                         repeatable: one object per file, CREATE OR REPLACE,
                                         re-applied whenever the file's checksum changes
After every run: SELECT * FROM watchlist.apply_policies().
``@extschema@`` in a file stands for TimescaleDB's schema (pg_extension.extnamespace).

Transactions: each migration runs in its own transaction, as wl_owner. A file whose first
lines hold the directive ``-- wldb:no-transaction`` runs statement by statement in
autocommit instead (for what TimescaleDB refuses inside a transaction block:
refresh_continuous_aggregate, CALL run_job, CREATE MATERIALIZED VIEW ... WITH DATA).
A transactional file that contains one of those is refused before anything runs.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import sqlparse

from . import config

LOCK_KEY = 0x776C6462  # "wldb"
NO_TX_DIRECTIVE = re.compile(r"^\s*--\s*wldb:no-transaction\s*$", re.M)
NUMBERED = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
REPEATABLE_DIRS = ("functions", "policies", "views")
NON_TRANSACTIONAL = [
    (re.compile(r"\bCALL\s+(public\.)?refresh_continuous_aggregate\b", re.I), "CALL refresh_continuous_aggregate"),
    (re.compile(r"\bCALL\s+(public\.)?run_job\b", re.I), "CALL run_job"),
    (re.compile(r"timescaledb\.continuous[\s\S]*?\bWITH\s+DATA\b", re.I), "a continuous aggregate created WITH DATA"),
]


class MigrationError(RuntimeError):
    pass


@dataclass
class SqlFile:
    path: Path
    name: str  # ledger key, relative to sql/
    kind: str  # migration | repeatable
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def no_transaction(self) -> bool:
        head = "\n".join(self.text.splitlines()[:10])
        return bool(NO_TX_DIRECTIVE.search(head))


@dataclass
class Report:
    applied: list[str] = field(default_factory=list)
    reapplied: list[str] = field(default_factory=list)
    policies: list[tuple] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.reapplied or any(p[2] != "unchanged" for p in self.policies))


def _strip_comments(sql: str) -> str:
    return sqlparse.format(sql, strip_comments=True)


def collect(sql_root: Path | None = None) -> tuple[Path, list[SqlFile], list[SqlFile]]:
    root = sql_root or config.sql_dir()
    if not (root / "bootstrap.sql").is_file():
        raise MigrationError(f"{root} holds no bootstrap.sql: is WLDB_SQL_DIR right?")
    numbered: dict[str, SqlFile] = {}
    for sub in ("", "continuous_aggregates"):
        for path in sorted((root / sub).glob("*.sql")):
            m = NUMBERED.match(path.name)
            if not m:
                if sub or path.name != "bootstrap.sql":
                    raise MigrationError(f"{path}: migration files are named NNNN_lower_snake.sql")
                continue
            if m.group(1) in numbered:
                raise MigrationError(
                    f"migration number {m.group(1)} is used twice: {numbered[m.group(1)].name} and {path.relative_to(root)}"
                )
            numbered[m.group(1)] = SqlFile(path, str(path.relative_to(root)), "migration", path.read_text())
    migrations = [numbered[k] for k in sorted(numbered)]
    repeatables = [
        SqlFile(p, str(p.relative_to(root)), "repeatable", p.read_text())
        for d in REPEATABLE_DIRS
        for p in sorted((root / d).glob("*.sql"))
    ]
    for f in migrations + repeatables:
        if f.no_transaction:
            continue
        body = _strip_comments(f.text)
        for pattern, what in NON_TRANSACTIONAL:
            if pattern.search(body):
                raise MigrationError(
                    f"{f.name} contains {what}, which TimescaleDB refuses inside a transaction block; "
                    "put it in a file that starts with the line `-- wldb:no-transaction`"
                )
    return root, migrations, repeatables


EXTSCHEMA = "@extschema@"


def _sql_of(f: SqlFile, ext_schema: str) -> str:
    """The file's text with @extschema@ (as in extension scripts) replaced by the schema
    TimescaleDB is installed in: the SECURITY DEFINER functions call it schema-qualified,
    with only pg_catalog and pg_temp on their search_path (docs/security.md)."""
    return f.text.replace(EXTSCHEMA, ext_schema)


def _run_in_tx(conn: psycopg.Connection, f: SqlFile, ext_schema: str) -> int:
    """Run a file in one transaction with its ledger row; returns its duration in ms."""
    t0 = time.monotonic()
    with conn.transaction():
        conn.execute(_sql_of(f, ext_schema))
        duration_ms = _elapsed_ms(t0)
        _record(conn, f, duration_ms)
    return duration_ms


def _run_no_tx(conn: psycopg.Connection, f: SqlFile, ext_schema: str) -> int:
    """Run a file statement by statement in autocommit, then its ledger row."""
    t0 = time.monotonic()
    for stmt in sqlparse.split(_sql_of(f, ext_schema)):
        if _strip_comments(stmt).strip().rstrip(";").strip():
            conn.execute(stmt)
    duration_ms = _elapsed_ms(t0)
    with conn.transaction():
        _record(conn, f, duration_ms)
    return duration_ms


def _elapsed_ms(t0: float) -> int:
    return round((time.monotonic() - t0) * 1000)


def _record(conn: psycopg.Connection, f: SqlFile, duration_ms: int) -> None:
    conn.execute(
        """INSERT INTO watchlist_data.schema_migrations (filename, kind, checksum, applied_at, duration_ms)
           VALUES (%s, %s, %s, now(), %s)
           ON CONFLICT (filename) DO UPDATE
              SET checksum = EXCLUDED.checksum, applied_at = now(), duration_ms = EXCLUDED.duration_ms""",
        (f.name, f.kind, f.checksum, duration_ms),
    )


def migrate(
    target: config.Target | None = None, *, echo=print, sql_root: Path | None = None, dry_run: bool = False
) -> Report:
    target = target or config.resolve_target()
    root, migrations, repeatables = collect(sql_root)
    report = Report()
    with config.connect(target, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            try:
                with conn.transaction():
                    conn.execute((root / "bootstrap.sql").read_text())
            except psycopg.Error as exc:
                diag = exc.diag
                hint = f"\nhint: {diag.message_hint}" if diag.message_hint else ""
                raise MigrationError(f"bootstrap failed: {diag.message_primary or exc}{hint}") from exc
            # Everything from here on is created and recorded as the owner role.
            ext_schema = conn.execute(
                """SELECT quote_ident(n.nspname) FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
                    WHERE e.extname = 'timescaledb'"""
            ).fetchone()[0]
            conn.execute("SET ROLE wl_owner")
            ledger = dict(conn.execute("SELECT filename, checksum FROM watchlist_data.schema_migrations").fetchall())
            edited = [f.name for f in migrations if f.name in ledger and ledger[f.name] != f.checksum]
            if edited:
                raise MigrationError(
                    "refusing to migrate: landed migration(s) were edited after they were applied: "
                    + ", ".join(edited)
                    + ". Migrations are append-only: restore the file and add a new numbered migration."
                )
            known = {f.name for f in migrations}
            unknown = [n for n, _ in ledger.items() if n not in known and n.split("/")[0] not in REPEATABLE_DIRS]
            if unknown:
                echo(
                    f"warning: the database has migrations this checkout does not: {', '.join(sorted(unknown))} (newer code applied?)"
                )
            for f in migrations:
                if f.name in ledger:
                    continue
                if dry_run:
                    report.applied.append(f.name)
                    continue
                try:
                    duration_ms = (_run_no_tx if f.no_transaction else _run_in_tx)(conn, f, ext_schema)
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {f.name} failed, nothing of it was kept: {exc}") from exc
                report.applied.append(f.name)
                echo(f"  applied   {f.name}  ({duration_ms} ms)")
            for f in repeatables:
                if ledger.get(f.name) == f.checksum:
                    continue
                if dry_run:
                    report.reapplied.append(f.name)
                    continue
                try:
                    (_run_no_tx if f.no_transaction else _run_in_tx)(conn, f, ext_schema)
                except psycopg.Error as exc:
                    raise MigrationError(f"{f.name} failed: {exc}") from exc
                report.reapplied.append(f.name)
                echo(f"  replaced  {f.name}")
            if not dry_run:
                with conn.transaction():
                    rows = conn.execute(
                        "SELECT policy, target, action, detail FROM watchlist.apply_policies()"
                    ).fetchall()
                report.policies = rows
                for policy, tgt, action, detail in rows:
                    if action != "unchanged":
                        echo(f"  policy    {policy:<14} {tgt:<40} {action}: {detail}")
        finally:
            if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                conn.execute("RESET ROLE")
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return report
