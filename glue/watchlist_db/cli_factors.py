"""`wldb factors`: every factor the factor lab ranks (watchlist.factor_catalog): name,
source (app / database), coverage over a window, and definition. Registered on `main` by
cli.py; kept in its own module."""
from __future__ import annotations

import sys

import click
import psycopg

from . import config


@click.command("factors")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1), help="Coverage over the last HOURS.")
@click.option("--source", type=click.Choice(["app", "database"]), default=None, help="Only this source.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.pass_context
def factors(ctx: click.Context, hours: int, source: str | None, fmt: str) -> None:
    """List every factor: name as `wldb ic` shows it, source, coverage, definition."""
    target = config.resolve_target((ctx.obj or {}).get("dsn"))
    try:
        with config.connect(target) as conn:
            rows = conn.execute("""SELECT factor, source, n_rows, n_values, coverage, definition
                                     FROM watchlist.factor_catalog(now() - make_interval(hours => %s), now())
                                    WHERE %s::text IS NULL OR source = %s
                                    ORDER BY source DESC, factor""", (hours, source, source)).fetchall()
    except psycopg.Error as exc:
        click.secho(f"error: {(exc.diag.message_primary or str(exc)).strip()}", fg="red", err=True)
        sys.exit(1)
    if fmt == "csv":
        import csv
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["factor", "source", "rows", "values", "coverage", "definition"])
        w.writerows(rows)
        return
    width = max([len(r[0]) for r in rows] + [6])
    click.echo(f"{'factor':<{width}}  {'source':<8}  {'coverage':>8}  definition   (last {hours} h)")
    for f, src, n, v, cov, d in rows:
        c = "-" if cov is None else f"{cov:8.1%}"
        click.echo(f"{f:<{width}}  {src:<8}  {c:>8}  {d}")
