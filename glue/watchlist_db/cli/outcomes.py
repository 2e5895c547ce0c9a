"""`wldb outcomes run`: the outcome job's unit of work, through the API."""

from __future__ import annotations

import sys

import click

from .. import jobs as jobs_mod
from ..api import read as read_api
from .common import connect, target_of
from .jobs import print_run


@click.group()
def outcomes() -> None:
    """Outcome labels: what happened after each event (future_outcome)."""


@outcomes.command("run")
@click.pass_context
def outcomes_run(ctx: click.Context) -> None:
    """Label every event whose horizons have passed, and recompute labels hit by late rows
    (the outcome job's unit of work; recorded in the job log like `wldb jobs run`)."""
    with connect(target_of(ctx)) as conn:
        job = jobs_mod.resolve(conn, "label")
        run = jobs_mod.run_job(conn, job)
        stats = jobs_mod.resolve(conn, "label")["last_stats"] or {}
        summary = read_api.outcome_summary(conn)
    if run.ok:
        click.echo(
            f"labelled: {stats.get('written', 0)} label(s) written ({stats.get('uncovered', 0)} without data "
            f"coverage) of {stats.get('candidates', 0)} candidate(s); "
            f"{stats.get('recomputed_events', 0)} event(s) re-examined for late rows"
        )
    else:
        print_run(run)
    if summary:
        click.echo(f"{'horizon':>8} {'labels':>7} {'covered':>8} {'mean pnl bps':>13} {'win %':>6}")
        for h, n, cov, mean, win in summary:
            mean_txt = mean if mean is not None else "-"
            win_txt = win if win is not None else "-"
            click.echo(f"{h:>7}m {n:>7} {cov:>8} {mean_txt:>13} {win_txt:>6}")
    sys.exit(0 if run.ok else 1)
