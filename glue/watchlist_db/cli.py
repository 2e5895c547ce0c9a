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
        try:
            env = config.libpq_env(target.conninfo)
        except ValueError as exc:
            _fail(str(exc))
        # variables the connection string does not set are unset, so a stale PGHOST or
        # PGDATABASE from the shell cannot mix with the target
        for var in sorted(set(config.LIBPQ_ENV.values()) - set(env)):
            click.echo(f"unset {var}")
        for var, value in env.items():
            click.echo(f"export {var}={_shell_quote(value)}")
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


# ------------------------------------------------------------ chart, ic, export
def _time_option(value: str | None):
    from .research import parse_time
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _research_range(from_: str | None, to_: str | None, days: int):
    from .research import time_range
    try:
        return time_range(from_, to_, days)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _read_api_error(target: config.Target, exc: psycopg.Error) -> None:
    if isinstance(exc, psycopg.OperationalError):
        _fail(f"cannot connect: {str(exc).strip()}" + ("\n(start the embedded engine with `wldb db up`)" if target.embedded else ""))
    if isinstance(exc, (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName)):
        _fail(f"{exc.diag.message_primary}: is watchlist-db installed and up to date? run `wldb migrate`")
    _fail(exc.diag.message_primary or str(exc).strip())


@main.command("chart")
@click.argument("exchange")
@click.argument("symbol")
@click.option("--hours", default=12, show_default=True, type=click.IntRange(1, 168), help="Window length.")
@click.option("--out", "out_png", type=click.Path(dir_okay=False), default=None,
              help="PNG to write (default: chart_EXCHANGE_SYMBOL.png, unless only --html is given).")
@click.option("--html", "out_html", type=click.Path(dir_okay=False), default=None,
              help="Also write a self-contained HTML page: the PNG embedded plus a table of the metrics.")
@click.option("--now", "now", callback=lambda _c, _p, v: _time_option(v), default=None,
              help="End of the window (ISO 8601; default: the database's now()). Naive times are UTC.")
@click.pass_context
def chart_cmd(ctx: click.Context, exchange: str, symbol: str, hours: int, out_png: str | None,
              out_html: str | None, now) -> None:
    """The app's watchlist chart of one symbol, as PNG (and HTML).

    \b
    From watchlist.series (5-minute buckets, gap-filled) and watchlist.metrics:
      spread_rel (gap-filled buckets shaded, drawn lighter), 15-minute midline,
      window baseline, spot and futures prices (lower panel), event open/close
      points and funding times; the title carries latest spread, mean/sigma 12 h,
      z-score, slope and next funding."""
    from . import charts
    exchange, symbol = exchange.lower(), symbol.upper()
    target = _target(ctx)
    try:
        with config.connect(target) as conn:
            at = now or charts.fetch_now(conn)
            series = charts.fetch_series(conn, exchange, symbol, hours, at)
            metrics = charts.fetch_metrics(conn, exchange, symbol, at)
    except psycopg.Error as exc:
        _read_api_error(target, exc)
    if not any(not r["filled"] for r in series):
        _fail(f"no samples of {exchange} {symbol} in the {hours} h to {at:%Y-%m-%d %H:%M} UTC "
              "(check the spelling; --now for an older window)")
    png = charts.render_chart(series, metrics, exchange, symbol, hours, at)
    if out_png is None and out_html is None:
        out_png = f"chart_{exchange}_{symbol.replace('/', '-').replace(':', '-')}.png"
    n_filled = sum(1 for r in series if r["filled"])
    n_marks = sum(len(r["markers"] or []) for r in series)
    click.echo(f"{exchange} {symbol}: {len(series)} buckets ({n_filled} gap-filled), {n_marks} marker(s)")
    if out_png:
        p = charts.write_bytes(out_png, png)
        w, h = charts.CHART_SIZE_PX
        click.echo(f"wrote {p} ({w}x{h} PNG, {len(png) // 1024} KiB)")
    if out_html:
        p = charts.write_bytes(out_html, charts.chart_html(png, metrics, series, exchange, symbol, hours, at).encode("utf-8"))
        click.echo(f"wrote {p} (HTML with the chart embedded and the metrics table)")


_range_options = [
    click.option("--from", "from_", default=None, help="Events starting at or after (ISO 8601 date or time; naive = UTC)."),
    click.option("--to", "to_", default=None, help="... and before (default: now)."),
    click.option("--days", default=30, show_default=True, type=click.IntRange(1), help="Range length when --from is not given."),
    click.option("--signal-type", type=click.Choice(["A", "B", "C"]), default=None, help="Only events of this signal type."),
    click.option("--exchange", default=None, help="Only events of this exchange."),
]


def _with_range_options(f):
    for opt in reversed(_range_options):
        f = opt(f)
    return f


@main.command("ic")
@_with_range_options
@click.option("--metric", type=click.Choice(["pnl", "spread_change", "funding_change", "max_drawdown", "volatility",
                                             "excess_pnl", "excess_pnl_tod", "excess_pnl_sector", "excess_pnl_tier"]),
              default="pnl", show_default=True, help="Outcome the factors are correlated with.")
@click.option("--period", default="1 day", show_default=True, help="IC period (a PostgreSQL interval).")
@click.option("--min-events", default=5, show_default=True, type=click.IntRange(2), help="Fewer events in a period: skipped.")
@click.option("--factor", default=None, help="Only this factor (e.g. spread_zscore_1h, meta.rsi_14).")
@click.option("--horizon", "horizons", type=int, multiple=True, help="Only this horizon in minutes (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Write the output here instead of stdout.")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Also draw a PNG: mean IC by horizon, cumulative IC over time, quintile outcomes.")
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 10), help="Factors shown in --report.")
@click.pass_context
def ic_cmd(ctx: click.Context, from_, to_, days, signal_type, exchange, metric, period, min_events, factor,
           horizons, fmt, out, report, top) -> None:
    """Which factors predict outcomes: watchlist.factor_ic, one row per factor x horizon.

    \b
    table: one table per horizon ranked by |IR| (IC mean, IR, t, hit %, rank IC,
    rank IR, periods used/skipped, events, top-bottom quintile, rank autocorrelation);
    csv / json: every column of watchlist.factor_ic."""
    from . import research
    rng = _research_range(from_, to_, days)
    target = _target(ctx)
    horizons = tuple(horizons)
    try:
        with config.connect(target) as conn:
            cols, all_rows = research.fetch_ic(conn, rng, metric, period, min_events, signal_type, exchange, factor)
            rows = [r for r in all_rows if not horizons or r["horizon_min"] in horizons]
            per = []
            if rows and report:
                per = research.fetch_ic_by_period(conn, rng, metric, period, min_events, signal_type, exchange, factor, horizons)
            summary = None if all_rows else research.labelled_summary(conn, rng, signal_type, exchange)
    except psycopg.Error as exc:
        _read_api_error(target, exc)
    if not all_rows:
        _fail(research.no_data_message(summary, rng, "factor IC"))
    if not rows:
        _fail(f"no factor IC at horizon(s) {', '.join(map(str, horizons))} min; the labels have "
              f"{', '.join(str(h) for h in sorted({r['horizon_min'] for r in all_rows}))} (setting outcome_horizons_min)")
    if fmt == "table":
        text = research.format_ic_table(rows, rng, metric, period, min_events)
    elif fmt == "csv":
        text = research.rows_csv(cols, rows)
    else:
        text = research.rows_json(cols, rows)
    if out:
        from pathlib import Path
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} row(s) ({fmt}) to {out}")
    else:
        click.echo(text, nl=False)
    if report:
        from . import charts
        title = f"factor IC of {metric}, events {rng}, period {period}"
        png = charts.render_ic_report(rows, per, top, title, f"mean {metric} ({research.METRIC_UNITS[metric]})")
        p = charts.write_bytes(report, png)
        click.echo(f"wrote report {p}", err=fmt != "table" and not out)   # keep csv/json on stdout parseable


@main.command("export")
@_with_range_options
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="FILE.csv or FILE.parquet")
@click.pass_context
def export_cmd(ctx: click.Context, from_, to_, days, signal_type, exchange, out) -> None:
    """Write the research frame: one row per confirmed event x horizon (watchlist.export_frame),
    factors expanded to factor_<name> columns and the label to label_<key> columns.
    Parquet needs pyarrow (the `parquet` extra)."""
    from pathlib import Path
    from . import research
    try:
        kind = research.export_format(out)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            _fail("writing Parquet needs pyarrow: pip install 'watchlist-db[parquet]' (or write CSV: --out FILE.csv)")
    rng = _research_range(from_, to_, days)
    target = _target(ctx)
    try:
        with config.connect(target) as conn:
            rows = research.fetch_export(conn, rng, signal_type, exchange)
            summary = None if rows else research.labelled_summary(conn, rng, signal_type, exchange)
    except psycopg.Error as exc:
        _read_api_error(target, exc)
    if not rows:
        _fail(research.no_data_message(summary, rng, "the export", need_covered=False))
    cols, recs = research.expand_frame(rows)
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        research.write_export_csv(path, cols, recs)
    else:
        research.write_export_parquet(path, cols, recs)
    n_events = len({r["event_id"] for r in recs})
    n_factors = sum(1 for c in cols if c.startswith("factor_"))
    click.echo(f"wrote {len(recs)} row(s) x {len(cols)} column(s) to {path} ({kind}): {n_events} event(s), "
               f"{len({r['horizon_min'] for r in recs})} horizon(s), {n_factors} factor column(s)")


# ----------------------------------------------------------------------- status
STATUS_SQL = {
    "versions": """SELECT current_setting('server_version') AS postgres,
                          (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb,
                          (SELECT count(*) FROM watchlist_data.schema_migrations WHERE kind = 'migration') AS migrations,
                          (SELECT filename FROM watchlist_data.schema_migrations WHERE kind = 'migration'
                            ORDER BY substring(filename FROM '(\\d{4})_[^/]*$') DESC LIMIT 1) AS latest""",
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
    from .spool import default_spool_path, spool_summary
    sp = spool_summary(default_spool_path())
    if not sp.get("exists"):
        click.echo(f"\nwriter spool: none at {sp['path']}")
    else:
        tot = sp.get("totals", {})
        click.echo(f"\nwriter spool: {sp['path']} ({'in use' if sp.get('in_use') else 'idle'})")
        click.echo(f"  pending {sp['pending_rows']:,} rows (lag {sp['lag_s']:.0f} s), dead {sp['dead_rows']:,} rows; "
                   f"totals: written {tot.get('written', 0):,}, quarantined {tot.get('quarantined', 0):,}, "
                   f"dropped {tot.get('dropped', 0):,}")
        if sp.get("last_error"):
            click.secho(f"  last error: {sp['last_error']}", fg="yellow")
        bad |= bool(sp["dead_rows"] or tot.get("dropped"))
    sys.exit(1 if bad else 0)


main.add_command(status, name="doctor")


# ------------------------------------------------------------------------- demo
@main.command()
@click.option("--days", default=3.0, show_default=True, help="Days of 1-minute sample data to stream.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True,
              help="Where the chart PNG and the IC report go.")
@click.option("--allow-server", is_flag=True, help="Run on a configured server too (it writes and replaces sample rows there).")
@click.pass_context
def demo(ctx: click.Context, days: float, out_dir: str, allow_server: bool) -> None:
    """The main job on sample data: start the embedded engine, migrate, stream a realistic
    sample through the insert hook, run the jobs as the scheduler would, and summarise."""
    from pathlib import Path
    from . import demo as demo_mod
    target = _target(ctx)
    if not target.embedded and not allow_server:
        _fail(f"a server is configured ({target.describe()}); the demo writes sample rows: pass --allow-server to run it there")
    if target.embedded:
        ctx.invoke(db_up)
    ctx.invoke(migrate)
    res = demo_mod.run(target, days=days)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pair = demo_mod.sample.pairs()[0]
    files = {"chart (PNG)": out / "chart.png", "chart (HTML)": out / "chart.html",
             "IC report (PNG)": out / "ic_report.png", "IC table (CSV)": out / "ic.csv",
             "event x horizon frame (CSV)": out / "events.csv"}
    steps = [
        (chart_cmd, dict(exchange=pair.exchange, symbol=pair.symbol, out_png=str(files["chart (PNG)"]),
                         out_html=str(files["chart (HTML)"]))),
        (ic_cmd, dict(days=int(days) + 1, period="4 hours", fmt="csv", out=str(files["IC table (CSV)"]),
                      report=str(files["IC report (PNG)"]))),
        (export_cmd, dict(days=int(days) + 1, out=str(files["event x horizon frame (CSV)"]))),
    ]
    for cmd, params in steps:
        try:
            ctx.invoke(cmd, **params)
        except SystemExit as exc:
            if exc.code:
                click.echo(f"({cmd.name} did not complete: exit {exc.code})")
    files = {k: (v if v.exists() else None) for k, v in files.items()}
    click.echo(demo_mod.summary(res, files))


# ---------------------------------------------------------------- insert, spool
def _spool_path(path: str | None):
    from .spool import default_spool_path
    return path or default_spool_path()


_spool_option = click.option("--spool", "spool_path", type=click.Path(dir_okay=False), default=None,
                             help="Writer spool file (default: WLDB_SPOOL, else spool.sqlite in the data directory).")


def _print_writer_summary(st: dict, reasons: list, extra_reasons: dict) -> None:
    click.echo(f"written: {st['written']}   duplicates skipped: {st['duplicates']}   quarantined: {st['quarantined']}"
               f"   failed: {st['failed']}   dropped: {st['dropped']}   left in the spool: {st['pending']}")
    if st.get("recovered"):
        click.echo(f"(includes {st['recovered']} row(s) found in the spool from an earlier run)")
    merged = dict(((f, r), n) for (f, r), n in reasons)
    for key, n in extra_reasons.items():
        merged[key] = merged.get(key, 0) + n
    if merged:
        click.echo("quarantined, top reasons:")
        for (field, reason), n in sorted(merged.items(), key=lambda kv: -kv[1])[:10]:
            click.echo(f"  {n:>8}  {field}: {reason}")
    if st["last_error"] and (st["pending"] or st["failed"]):
        click.secho(f"last error: {st['last_error']}", fg="red", err=True)


@main.command("insert")
@click.argument("file", type=click.File("rb"))
@click.option("--at", callback=lambda _c, _p, v: _aware_time(v), default=None,
              help="Time for rows without \"ts\" (ISO 8601 with offset); without it such rows are quarantined.")
@click.option("--chunk", default=1000, show_default=True, help="Rows per submit().")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the last batches at the end.")
@click.option("-v", "--verbose", is_flag=True, help="Log every quarantined batch and retry.")
@_spool_option
@click.pass_context
def insert_cmd(ctx: click.Context, file, at, chunk: int, timeout: float, verbose: bool, spool_path: str | None) -> None:
    """Insert watchlist rows from JSON Lines (FILE, or - for stdin) through the app's writer.

    \b
    One JSON object per line: one symbol's row, as the monitor has it, e.g.
      {"ts": "2026-03-01T10:00:00Z", "exchange": "binance", "symbol": "BTCUSDT",
       "type_class": "A", "triggered": true, "spread_rel": 0.0031,
       "pairs_top": [...], "exchanges": [...], "factors": {"rsi_14": 61.2}}
    Column keys stay columns; pairs_top, funding_diff_top, exchanges, matrix, notes and
    unknown keys go to meta, factors and unknown numbers to meta.factors (see
    watchlist_db.snapshot). Blank lines are skipped; a line that is not a JSON object is
    quarantined with its line number.

    Rows go through the same path as the app's: validated in SQL, written in batches with
    watchlist.ingest_raw (replaying a file inserts nothing twice), spooled when the
    database is unavailable. Exit status 0 when every row is stored (written now or
    already there), 1 when some were quarantined, failed or are left in the spool.
    """
    import json as _json
    import time as _time
    from .spool import SpoolBusy
    from .writer import Writer

    _log_to_stderr(verbose)
    try:
        w = Writer(target=_target(ctx), spool_path=_spool_path(spool_path), max_delay_s=0.5)
    except SpoolBusy as exc:
        _fail(f"{exc}; give another --spool")
    size = None
    try:
        size = os.fstat(file.fileno()).st_size if os.path.isfile(file.name) else None
    except (OSError, AttributeError, ValueError):
        pass
    bad_lines: dict = {}
    first_bad: list[str] = []
    n_lines = 0

    def submit(batch):
        w.submit(batch, at=at, stamp_missing_ts=at is not None)
        if w.backlog() > 10 * w.max_batch_rows:       # keep the spool small while the database keeps up
            w.drain(below=4 * w.max_batch_rows)

    t0 = _time.monotonic()
    with click.progressbar(length=size, label="inserting", file=sys.stderr) if size and sys.stderr.isatty() else _nullbar() as bar:
        batch = []
        for line in file:
            n_lines += 1
            bar.update(len(line))
            if not line.strip():
                continue
            try:
                obj = _json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError(f"expected an object, got {type(obj).__name__}")
            except ValueError as exc:
                key = ("(line)", f"not a JSON object: {str(exc).split(':')[0]}")
                bad_lines[key] = bad_lines.get(key, 0) + 1
                if len(first_bad) < 5:
                    first_bad.append(f"line {n_lines}: {exc}")
                continue
            batch.append(obj)
            if len(batch) >= chunk:
                submit(batch)
                batch = []
        if batch:
            submit(batch)
    st = w.close(timeout=timeout)
    reasons = w.reject_reasons()
    st["quarantined"] += sum(bad_lines.values())
    click.echo(f"read {n_lines} line(s) in {_time.monotonic() - t0:.1f}s")
    for msg in first_bad:
        click.echo(f"  {msg}")
    _print_writer_summary(st, reasons, bad_lines)
    if st["pending"]:
        click.echo(f"{st['pending']} row(s) wait in the spool {w.spool_path}: `wldb spool replay` once the database is back")
    sys.exit(1 if st["quarantined"] or st["failed"] or st["pending"] or st["dropped"] else 0)


def _log_to_stderr(verbose: bool) -> None:
    import logging
    logging.basicConfig(format="wldb: %(message)s", level=logging.INFO if verbose else logging.ERROR)


def _aware_time(value: str | None):
    from datetime import datetime
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value}") from None
    if t.tzinfo is None:
        raise click.BadParameter("give the UTC offset, e.g. 2026-03-01T10:00:00Z")
    return t


class _nullbar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


@main.group()
def spool() -> None:
    """The writer's local spool: rows waiting for the database, dead letters."""


@spool.command("status")
@_spool_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def spool_status(spool_path: str | None, as_json: bool) -> None:
    """Counts in the spool: pending, spooled and dead rows, totals, last error."""
    import json as _json
    from .spool import Spool, spool_summary
    s = spool_summary(_spool_path(spool_path))
    if as_json:
        click.echo(_json.dumps(s, indent=2, default=str))
        return
    if not s["exists"]:
        click.echo(f"no spool at {s['path']}")
        return
    click.echo(f"spool {s['path']}  ({s['file_bytes'] / 1024:.0f} KiB, {'in use by a writer' if s['in_use'] else 'no writer running'})")
    click.echo(f"  pending rows      {s['pending_rows']}  (not yet batched {s['unbatched_rows']}, spooled {s['spooled_rows']} in {s['spooled_batches']} batch(es))")
    click.echo(f"  pending calls     {s['pending_calls']}  (membership / symbol references)")
    click.echo(f"  oldest waiting    {s['lag_s']:.1f} s ago")
    click.echo(f"  dead letters      {s['dead_rows']} row(s) in {s['dead_batches']} batch(es)")
    click.echo("  totals            " + "  ".join(f"{k} {v}" for k, v in s["totals"].items()))
    if s["last_error"]:
        click.echo(f"  last error        {s['last_error']}")
    if s["dead_batches"]:
        sp = Spool(s["path"])
        try:
            for d in sp.dead_letters(5):
                click.echo(f"  dead {d['batch_id']} ({d['kind']}, {d['rows']} rows): {d['error']}")
        finally:
            sp.close()


@spool.command("replay")
@_spool_option
@click.option("--dead", is_flag=True, help="Re-queue the dead letters first (after fixing their cause).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to keep replaying.")
@click.pass_context
def spool_replay(ctx: click.Context, spool_path: str | None, dead: bool, timeout: float) -> None:
    """Send what waits in the spool now (oldest first). A running writer does this by
    itself; this is for a spool left behind. Exit 1 when rows are still waiting."""
    from .spool import OwnerLock, Spool
    from .writer import Writer
    path = _spool_path(spool_path)
    if not os.path.exists(path):
        click.echo(f"no spool at {path}")
        return
    if OwnerLock(path).held_by_other():
        _fail(f"a writer is running on {path}; it replays the spool by itself")
    _log_to_stderr(False)
    if dead:
        sp = Spool(path)
        try:
            click.echo(f"re-queued {sp.requeue_dead()} dead-letter row(s)")
        finally:
            sp.close()
    w = Writer(target=_target(ctx), spool_path=path)
    st = w.close(timeout=timeout)
    click.echo(f"replayed {st['replayed']} row(s)")
    _print_writer_summary(st, w.reject_reasons(), {})
    sys.exit(1 if st["pending"] else 0)


from .cli_factors import factors as _factors_cmd  # noqa: E402  (own module: `wldb factors`)

main.add_command(_factors_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
