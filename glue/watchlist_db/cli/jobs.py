"""`wldb jobs list | run | run-due` and `wldb worker`: TimescaleDB jobs from outside the scheduler."""

from __future__ import annotations

import signal
import sys
import time

import click
import psycopg

from .. import jobs as jobs_mod
from ..api import admin as admin_api
from ..api import ops as ops_api
from .common import connect, fail, target_of


@click.group()
def jobs() -> None:
    """TimescaleDB jobs: list them, run one, or run what is due (engines without a scheduler)."""


def print_run(run: jobs_mod.JobRun) -> None:
    mark = click.style("ok", fg="green") if run.ok else click.style("FAILED", fg="red")
    click.echo(
        f"  [{run.job_id}] {run.proc_name:<36} {run.target:<22} {run.seconds * 1000:8.0f} ms  {mark}"
        + ("" if run.ok else f"  {run.error}")
    )


@jobs.command("list")
@click.pass_context
def jobs_list(ctx: click.Context) -> None:
    """Every job with its schedule, last run and whether it is due."""
    with connect(target_of(ctx)) as conn:
        listed = jobs_mod.list_jobs(conn)
    for j in listed:
        last = f"{j['last_run_at']:%Y-%m-%d %H:%M:%S}" if j["last_run_at"] else "never"
        state = {True: "ok", False: "FAILED", None: "-"}[j["last_ok"]]
        click.echo(
            f"  [{j['job_id']}] {j['proc_name']:<36} {j['target']:<22} every {j['schedule_interval']}  "
            f"last {last} ({state})  failures 24h: {j['failures_24h']}  {'DUE' if j['due'] else ''}"
        )


@jobs.command("run")
@click.argument("name")
@click.option("--from", "from_", help="merge only: rebuild events for raw rows from this time (ISO 8601)")
@click.option("--to", "to_", default=None, help="merge only: ... up to this time (default: end of data)")
@click.pass_context
def jobs_run(ctx: click.Context, name: str, from_: str | None, to_: str | None) -> None:
    """Run one job now: merge, prune, label, refresh-series, refresh-typea, compress,
    retention-raw|series|typea, or an id.

    `wldb jobs run merge --from 2026-01-01T00:00Z` rebuilds events over an explicit window
    instead (late data older than the look-back, or after changing the rules)."""
    target = target_of(ctx)
    if from_:
        if name != "merge":
            fail("--from/--to apply to the merge job only")
        with connect(target) as conn, conn.transaction():
            admin_api.as_owner(conn, local=True)
            row = ops_api.merge_events(conn, from_, to_)
        click.echo(
            f"merged: {row[0]} keys, {row[1]} samples read, {row[2]} inserted, {row[3]} updated, "
            f"{row[4]} deleted, {row[5]} open"
        )
        return
    with connect(target) as conn:
        try:
            job = jobs_mod.resolve(conn, name)
        except LookupError as exc:
            fail(str(exc))
        run = jobs_mod.run_job(conn, job)
    print_run(run)
    sys.exit(0 if run.ok else 1)


@jobs.command("run-due")
@click.pass_context
def jobs_run_due(ctx: click.Context) -> None:
    """Run every job that is due now (what the scheduler would do), in data-flow order."""
    with connect(target_of(ctx)) as conn:
        runs = jobs_mod.run_due(conn)
    if not runs:
        click.echo("nothing due")
    for run in runs:
        print_run(run)
    sys.exit(0 if all(r.ok for r in runs) else 1)


@click.command()
@click.option("--every", default=30.0, show_default=True, help="Seconds between checks for due jobs.")
@click.option("--once", is_flag=True, help="Run what is due once and exit (like `wldb jobs run-due`).")
@click.option("--max-runs", type=int, default=None, help="Stop after this many checks (for scripts and tests).")
@click.pass_context
def worker(ctx: click.Context, every: float, once: bool, max_runs: int | None) -> None:
    """Run due jobs in a loop: the scheduler of engines that have none (the embedded one).

    Harmless next to a real TimescaleDB scheduler: jobs it ran recently are not due. One
    connection per check, so the embedded engine stays free between checks. Stops on
    Ctrl-C / SIGTERM after the current job."""
    stop = {"now": False}

    def _stop(*_args):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    target = target_of(ctx)
    checks, failures = 0, 0
    click.echo(f"worker: checking for due jobs every {every:g} s on {target.describe()}")
    while not stop["now"]:
        try:
            with jobs_mod.connect_for_jobs(target) as conn:
                runs = jobs_mod.run_due(conn)
        except psycopg.OperationalError as exc:
            runs = []
            first_line = str(exc).strip().splitlines()[0]
            click.secho(f"{time.strftime('%H:%M:%S')} database unavailable: {first_line}", fg="yellow")
        for run in runs:
            print_run(run)
            failures += not run.ok
        checks += 1
        if once or (max_runs is not None and checks >= max_runs):
            break
        deadline = time.monotonic() + every
        while not stop["now"] and time.monotonic() < deadline:
            time.sleep(min(0.5, every))
    click.echo(f"worker: stopped after {checks} check(s), {failures} failed job run(s)")
    sys.exit(1 if failures else 0)
