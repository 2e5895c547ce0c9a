"""wldb: the watchlist-db command line (thin: every command is a SQL call or engine step)."""
from __future__ import annotations

import os
import shutil
import sys

import click
import psycopg

from . import config, migrate as migrate_mod
from .engine import EmbeddedEngine, EngineError


def _target(ctx: click.Context) -> config.Target:
    return config.resolve_target(ctx.obj.get("dsn"))


def _fail(msg: str, code: int = 1) -> None:
    click.secho(f"error: {msg}", fg="red", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dsn", envvar=None, help="libpq connection string (default: WLDB_DSN, libpq PG* env, else the embedded engine)")
@click.version_option(package_name="watchlist-db")
@click.pass_context
def main(ctx: click.Context, dsn: str | None) -> None:
    """watchlist-db: TimescaleDB store for a crypto arbitrage watchlist."""
    ctx.ensure_object(dict)
    ctx.obj["dsn"] = dsn


# --------------------------------------------------------------------------- db
@main.group()
def db() -> None:
    """Run the embedded engine (when no server is configured)."""


def _engine_or_target(ctx: click.Context) -> EmbeddedEngine | None:
    target = _target(ctx)
    if not target.embedded:
        click.echo(f"a server is configured ({target.describe()}); the embedded engine is not used")
        return None
    return EmbeddedEngine()


@db.command("up")
@click.pass_context
def db_up(ctx: click.Context) -> None:
    """Start the embedded engine (or report the running one)."""
    eng = _engine_or_target(ctx)
    if eng is None:
        return
    before = eng.status()
    try:
        st = eng.up(echo=click.echo)
    except EngineError as exc:
        _fail(str(exc))
    if before.state == "running":
        click.echo(f"already running: {st.detail}")
    else:
        click.echo(f"started: {st.detail} (data in {eng.pgdata})")
    click.echo("connect with:  wldb db psql    or:  eval \"$(wldb db env)\"; psql")


@db.command("down")
@click.pass_context
def db_down(ctx: click.Context) -> None:
    """Stop the embedded engine cleanly."""
    eng = _engine_or_target(ctx)
    if eng is not None:
        click.echo(eng.down())


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """Is the embedded engine running? Exit 0 running, 1 crashed/unresponsive, 3 stopped."""
    eng = _engine_or_target(ctx)
    if eng is None:
        return
    st = eng.status()
    click.echo(f"{st.state}: {st.detail}")
    sys.exit({"running": 0, "stopped": 3}.get(st.state, 1))


@db.command("env")
@click.pass_context
def db_env(ctx: click.Context) -> None:
    """Print shell exports that point psql/pg_prove at the database."""
    target = _target(ctx)
    if target.embedded:
        for line in EmbeddedEngine().env_lines():
            click.echo(line)
    elif target.conninfo:
        click.echo(f"export PGDATABASE={_shell_quote(target.conninfo)}")
    # libpq environment: nothing to add


def _shell_quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


@db.command("psql", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def db_psql(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Open psql on the database (extra arguments go to psql)."""
    psql = shutil.which("psql")
    if not psql:
        _fail("psql is not on PATH (Debian: apt-get install postgresql-client)")
    target = _target(ctx)
    os.execvp(psql, [psql, "-X", "-d", target.conninfo, *args] if target.conninfo else [psql, "-X", *args])


# ---------------------------------------------------------------------- migrate
@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be applied; change nothing.")
@click.pass_context
def migrate(ctx: click.Context, dry_run: bool) -> None:
    """Apply sql/ (bootstrap, migrations, functions/views, policies). Re-running is a no-op."""
    target = _target(ctx)
    click.echo(f"migrating {target.describe()}")
    try:
        report = migrate_mod.migrate(target, echo=click.echo, dry_run=dry_run)
    except migrate_mod.MigrationError as exc:
        _fail(str(exc))
    except psycopg.OperationalError as exc:
        _fail(f"cannot connect: {str(exc).strip()}" + ("\n(start the embedded engine with `wldb db up`)" if target.embedded else ""))
    if dry_run:
        click.echo(f"would apply {len(report.applied)} migration(s), {len(report.reapplied)} repeatable file(s)")
        for name in report.applied + report.reapplied:
            click.echo(f"  {name}")
    elif report.changed:
        click.echo(f"done: {len(report.applied)} migration(s), {len(report.reapplied)} repeatable file(s) applied")
    else:
        click.echo("up to date: nothing to apply")


# --------------------------------------------------------------------- settings
@main.group(invoke_without_command=True)
@click.pass_context
def settings(ctx: click.Context) -> None:
    """Show the settings (retention, windows, event rules, horizons)."""
    if ctx.invoked_subcommand:
        return
    with config.connect(_target(ctx)) as conn:
        for key, value, desc in conn.execute("SELECT key, value, description FROM watchlist.settings ORDER BY key"):
            click.echo(f"{key:<24} {value:<18} {desc}")


@settings.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_context
def settings_set(ctx: click.Context, key: str, value: str) -> None:
    """Change a setting and re-apply the policies (as the owner)."""
    try:
        with config.connect(_target(ctx)) as conn, conn.transaction():
            conn.execute("SET LOCAL ROLE wl_owner")
            rows = conn.execute("SELECT * FROM watchlist.set_setting(%s, %s)", (key, value)).fetchall()
    except psycopg.Error as exc:
        _fail(exc.diag.message_primary or str(exc))
    click.echo(f"{key} = {value}")
    for policy, tgt, action, detail in rows:
        if action != "unchanged":
            click.echo(f"  policy {policy} {tgt}: {action} ({detail})")


# ------------------------------------------------------------------------- jobs
@main.group()
def jobs() -> None:
    """TimescaleDB jobs: list them, run one, or run what is due (engines without a scheduler)."""


def _print_run(run) -> None:
    mark = click.style("ok", fg="green") if run.ok else click.style("FAILED", fg="red")
    click.echo(f"  [{run.job_id}] {run.proc_name:<36} {run.target:<22} {run.seconds * 1000:8.0f} ms  {mark}"
               + ("" if run.ok else f"  {run.error}"))


@jobs.command("list")
@click.pass_context
def jobs_list(ctx: click.Context) -> None:
    """Every job with its schedule, last run and whether it is due."""
    from . import jobs as jobs_mod
    with config.connect(_target(ctx)) as conn:
        for j in jobs_mod.list_jobs(conn):
            last = f"{j['last_run_at']:%Y-%m-%d %H:%M:%S}" if j["last_run_at"] else "never"
            state = {True: "ok", False: "FAILED", None: "-"}[j["last_ok"]]
            click.echo(f"  [{j['job_id']}] {j['proc_name']:<36} {j['target']:<22} every {j['schedule_interval']}  "
                       f"last {last} ({state})  failures 24h: {j['failures_24h']}  {'DUE' if j['due'] else ''}")


@jobs.command("run")
@click.argument("name")
@click.option("--from", "from_", help="merge only: rebuild events for raw rows from this time (ISO 8601)")
@click.option("--to", "to_", default=None, help="merge only: ... up to this time (default: end of data)")
@click.pass_context
def jobs_run(ctx: click.Context, name: str, from_: str | None, to_: str | None) -> None:
    """Run one job now: merge, prune, refresh-series, refresh-typea, compress, retention-raw|series|typea, or an id.

    `wldb jobs run merge --from 2026-01-01T00:00Z` rebuilds events over an explicit window
    instead (late data older than the look-back, or after changing the rules)."""
    from . import jobs as jobs_mod
    target = _target(ctx)
    if from_:
        if name != "merge":
            _fail("--from/--to apply to the merge job only")
        with config.connect(target) as conn, conn.transaction():
            conn.execute("SET LOCAL ROLE wl_owner")
            row = conn.execute("SELECT * FROM watchlist.merge_events(%s, coalesce(%s::timestamptz, 'infinity'))",
                               (from_, to_)).fetchone()
        click.echo(f"merged: {row[0]} keys, {row[1]} samples read, {row[2]} inserted, {row[3]} updated, "
                   f"{row[4]} deleted, {row[5]} open")
        return
    with jobs_mod.connect_for_jobs(target) as conn:
        try:
            job = jobs_mod.resolve(conn, name)
        except LookupError as exc:
            _fail(str(exc))
        run = jobs_mod.run_job(conn, job)
    _print_run(run)
    sys.exit(0 if run.ok else 1)


@jobs.command("run-due")
@click.pass_context
def jobs_run_due(ctx: click.Context) -> None:
    """Run every job that is due now (what the scheduler would do), in data-flow order."""
    from . import jobs as jobs_mod
    with jobs_mod.connect_for_jobs(_target(ctx)) as conn:
        runs = jobs_mod.run_due(conn)
    if not runs:
        click.echo("nothing due")
    for run in runs:
        _print_run(run)
    sys.exit(0 if all(r.ok for r in runs) else 1)


# --------------------------------------------------------------- outcomes, trades
@main.group()
def outcomes() -> None:
    """Outcome labels: what happened after each event (future_outcome)."""


@outcomes.command("run")
@click.pass_context
def outcomes_run(ctx: click.Context) -> None:
    """Label every event whose horizons have passed, and recompute labels hit by late rows
    (the outcome job's unit of work; recorded in the job log like `wldb jobs run`)."""
    from . import jobs as jobs_mod
    with jobs_mod.connect_for_jobs(_target(ctx)) as conn:
        job = jobs_mod.resolve(conn, "label")
        run = jobs_mod.run_job(conn, job)
        if run.ok:
            stats = conn.execute("SELECT last_stats FROM watchlist_data.job_state WHERE job = 'label_outcomes'").fetchone()
            s = stats[0] if stats else {}
            click.echo(f"labelled: {s.get('written', 0)} label(s) written ({s.get('uncovered', 0)} without data coverage) "
                       f"of {s.get('candidates', 0)} candidate(s); {s.get('recomputed_events', 0)} event(s) re-examined for late rows")
        else:
            _print_run(run)
        summary = conn.execute("""SELECT horizon_min, count(*), count(*) FILTER (WHERE covered),
                                         round(avg(pnl)::numeric, 2), round((avg((pnl > 0)::int) * 100)::numeric, 1)
                                    FROM watchlist_data.future_outcome GROUP BY 1 ORDER BY 1""").fetchall()
    if summary:
        click.echo(f"{'horizon':>8} {'labels':>7} {'covered':>8} {'mean pnl bps':>13} {'win %':>6}")
        for h, n, cov, mean, win in summary:
            click.echo(f"{h:>7}m {n:>7} {cov:>8} {mean if mean is not None else '-':>13} {win if win is not None else '-':>6}")
    sys.exit(0 if run.ok else 1)


@main.group()
def trades() -> None:
    """Executed trades (watchlist_outcome), next to the labels."""


def _record_trades(ctx: click.Context, rows: list[dict]) -> None:
    from psycopg.types.json import Jsonb
    with config.connect(_target(ctx)) as conn:
        res = conn.execute("SELECT row_index, trade_ref, id, error FROM watchlist.record_trades(%s)", (Jsonb(rows),)).fetchall()
    bad = [r for r in res if r[3]]
    click.echo(f"recorded {len(res) - len(bad)} trade(s)" + (f", refused {len(bad)}:" if bad else ""))
    for idx, ref, _id, err in bad:
        click.secho(f"  row {idx + 1} ({ref or 'no trade_ref'}): {err}", fg="red")
    sys.exit(1 if bad else 0)


TRADE_FIELDS = ["trade_ref", "trigger_id", "exchange", "symbol", "opened_at", "closed_at", "pnl", "max_drawdown",
                "holding_hours", "benchmark_return", "labels", "notes"]


@trades.command("add")
@click.option("--ref", "trade_ref", required=True, help="Your unique id of the trade (re-adding it updates it).")
@click.option("--event", "trigger_id", type=int, help="The event id (watch_signal_event.id) that triggered it.")
@click.option("--exchange")
@click.option("--symbol")
@click.option("--opened", "opened_at", required=True, help="ISO 8601 with offset, e.g. 2026-03-01T10:00:00Z")
@click.option("--closed", "closed_at", help="ISO 8601 with offset")
@click.option("--pnl", type=float)
@click.option("--max-drawdown", type=float)
@click.option("--benchmark-return", type=float)
@click.option("--notes")
@click.pass_context
def trades_add(ctx: click.Context, **kw) -> None:
    """Record one executed trade."""
    _record_trades(ctx, [{k: v for k, v in kw.items() if v is not None}])


@trades.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.pass_context
def trades_import(ctx: click.Context, file) -> None:
    """Import trades from CSV with a header row; columns among:
    trade_ref, trigger_id, exchange, symbol, opened_at, closed_at, pnl, max_drawdown,
    holding_hours, benchmark_return, labels (JSON), notes. Re-importing updates by trade_ref."""
    import csv
    import json as _json
    reader = csv.DictReader(file)
    unknown = sorted(set(reader.fieldnames or []) - set(TRADE_FIELDS))
    if unknown:
        _fail(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(TRADE_FIELDS)}")
    rows = []
    for line_no, raw in enumerate(reader, start=2):
        row = {k: v for k, v in raw.items() if v not in (None, "")}
        for k in ("pnl", "max_drawdown", "holding_hours", "benchmark_return"):
            if k in row:
                try:
                    row[k] = float(row[k])
                except ValueError:
                    pass  # left as text: the database refuses it for that row, naming the field
        if "trigger_id" in row and row["trigger_id"].isdigit():
            row["trigger_id"] = int(row["trigger_id"])
        if "labels" in row:
            try:
                row["labels"] = _json.loads(row["labels"])
            except ValueError:
                _fail(f"line {line_no}: labels is not JSON")
        rows.append(row)
    _record_trades(ctx, rows)


@main.command()
@click.option("--every", default=30.0, show_default=True, help="Seconds between checks for due jobs.")
@click.option("--once", is_flag=True, help="Run what is due once and exit (like `wldb jobs run-due`).")
@click.option("--max-runs", type=int, default=None, help="Stop after this many checks (for scripts and tests).")
@click.pass_context
def worker(ctx: click.Context, every: float, once: bool, max_runs: int | None) -> None:
    """Run due jobs in a loop: the scheduler of engines that have none (the embedded one).

    Harmless next to a real TimescaleDB scheduler: jobs it ran recently are not due. One
    connection per check, so the embedded engine stays free between checks. Stops on
    Ctrl-C / SIGTERM after the current job."""
    import signal as _signal
    import time as _time
    from . import jobs as jobs_mod
    stop = {"now": False}

    def _stop(*_a):
        stop["now"] = True
    _signal.signal(_signal.SIGTERM, _stop)
    _signal.signal(_signal.SIGINT, _stop)
    target = _target(ctx)
    checks, failures = 0, 0
    click.echo(f"worker: checking for due jobs every {every:g} s on {target.describe()}")
    while not stop["now"]:
        try:
            with jobs_mod.connect_for_jobs(target) as conn:
                runs = jobs_mod.run_due(conn)
        except psycopg.OperationalError as exc:
            runs = []
            click.secho(f"{_time.strftime('%H:%M:%S')} database unavailable: {str(exc).strip().splitlines()[0]}", fg="yellow")
        for run in runs:
            _print_run(run)
            failures += not run.ok
        checks += 1
        if once or (max_runs is not None and checks >= max_runs):
            break
        deadline = _time.monotonic() + every
        while not stop["now"] and _time.monotonic() < deadline:
            _time.sleep(min(0.5, every))
    click.echo(f"worker: stopped after {checks} check(s), {failures} failed job run(s)")
    sys.exit(1 if failures else 0)


# ----------------------------------------------------------------------- status
STATUS_SQL = {
    "versions": """SELECT current_setting('server_version') AS postgres,
                          (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb,
                          (SELECT count(*) FROM watchlist_data.schema_migrations WHERE kind = 'migration') AS migrations,
                          (SELECT filename FROM watchlist_data.schema_migrations WHERE kind = 'migration'
                            ORDER BY substring(filename FROM '(\d{4})_[^/]*$') DESC LIMIT 1) AS latest""",
    "tables": """SELECT relation, kind, chunks, compressed_chunks, total_bytes, before_compression_bytes,
                        after_compression_bytes, est_rows, materialized_until, lag
                   FROM watchlist.storage_report()""",
    "jobs": """SELECT job_id, target, proc_name, schedule_interval, last_run_at, last_ok, last_error, failures_24h, due
                 FROM watchlist.jobs(now())""",
    "problems": "SELECT problem FROM watchlist.policy_problems()",
}


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """One screen: versions, storage (chunks, compression, aggregate lag), jobs, policy
    consistency, the writer's spool. Exit 1 when something is wrong (monitoring can use it)."""
    target = _target(ctx)
    click.echo(f"database: {target.describe()}")
    bad = False
    try:
        with config.connect(target) as conn:
            v = conn.execute(STATUS_SQL["versions"]).fetchone()
            click.echo(f"PostgreSQL {v[0]}, TimescaleDB {v[1]}, {v[2]} migrations (latest {v[3]})")
            click.echo("\nstorage")
            for rel, kind, chunks, cchunks, size, before, after, est, mat_until, lag in conn.execute(STATUS_SQL["tables"]):
                extra = ""
                if kind == "hypertable":
                    extra = f"{chunks} chunks, {cchunks} compressed"
                    if before and after:
                        extra += f" ({before / 1024:.0f} -> {after / 1024:.0f} KiB, {before / after:.1f}x)"
                elif kind == "continuous aggregate":
                    extra = ("materialised until " + f"{mat_until:%Y-%m-%d %H:%M}" + f" (lag {str(lag).split('.')[0]})"
                             if mat_until else "not materialised yet (real-time aggregation serves it)")
                else:
                    extra = f"~{max(est or 0, 0)} rows"
                click.echo(f"  {rel:<38} {size / 1024:>9.0f} KiB  {extra}")
            click.echo("\njobs")
            for job_id, tgt, proc, every, last_at, last_ok, last_error, failures, due in conn.execute(STATUS_SQL["jobs"]):
                last_txt = "never run" if last_at is None else f"{'ok' if last_ok else 'FAILED'} at {last_at:%Y-%m-%d %H:%M}"
                click.echo(f"  [{job_id}] {proc:<36} {tgt:<22} every {every}  last: {last_txt}  failures 24h: {failures}"
                           + ("  (due)" if due else ""))
                if last_ok is False:
                    bad = True
                    click.secho(f"      last error: {last_error}", fg="red")
            problems = [r[0] for r in conn.execute(STATUS_SQL["problems"])]
    except psycopg.OperationalError as exc:
        _fail(f"cannot connect: {str(exc).strip()}" + ("\n(start the embedded engine with `wldb db up`)" if target.embedded else ""))
    except psycopg.errors.UndefinedTable:
        _fail("watchlist-db is not installed in this database: run `wldb migrate`")
    click.echo("\npolicy consistency: " + ("ok" if not problems else ""))
    for p in problems:
        click.secho(f"  problem: {p}", fg="red")
    bad |= bool(problems)
    sys.exit(1 if bad else 0)


# ------------------------------------------------------------------------- demo
@main.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """The main job on the embedded engine: start it, migrate, show the status."""
    target = _target(ctx)
    if target.embedded:
        ctx.invoke(db_up)
    ctx.invoke(migrate)
    ctx.invoke(status)


if __name__ == "__main__":  # pragma: no cover
    main()
