"""`wldb factors`: every factor the factor lab ranks (watchlist.factor_catalog): name as
`wldb ic` shows it, source (app / database), coverage over a window, and definition."""

from __future__ import annotations

import csv
import sys

import click

from ..api import read as read_api
from .common import connect, target_of


@click.command("factors")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1), help="Coverage over the last HOURS.")
@click.option("--source", type=click.Choice(["app", "database"]), default=None, help="Only this source.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.pass_context
def factors(ctx: click.Context, hours: int, source: str | None, fmt: str) -> None:
    """List every factor: name as `wldb ic` shows it, source, coverage, definition.

    \b
    app       columns of the raw rows and meta.factors keys (meta.<key>), as the monitor sends them
    database  watchlist_data.factor_value (db.<column>), computed by the factor job every 5 minutes"""
    with connect(target_of(ctx)) as conn:
        rows = read_api.factor_catalog(conn, hours, source)
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["factor", "source", "rows", "values", "coverage", "definition"])
        w.writerows(rows)
        return
    width = max([len(r[0]) for r in rows] + [6])
    click.echo(f"{'factor':<{width}}  {'source':<8}  {'coverage':>8}  definition   (coverage over the last {hours} h)")
    for f, src, _n, _v, cov, d in rows:
        c = "-" if cov is None else f"{cov:8.1%}"
        click.echo(f"{f:<{width}}  {src:<8}  {c:>8}  {d}")
