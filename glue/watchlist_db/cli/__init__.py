"""wldb: the watchlist-db command line (thin: every command is a SQL call or engine step).

One module per command group; the work sits in plain functions the commands and the demo
both call (engine_up, run_migrate, load_jsonl, status.collect/render, write_chart, ...)."""

from __future__ import annotations

import click

from .. import __version__
from .db import db
from .demo import demo
from .ingest import insert_cmd, load_jsonl, spool
from .jobs import jobs, worker
from .migrate import migrate
from .outcomes import outcomes
from .research import chart_cmd, export_cmd, ic_cmd
from .settings import settings
from .status import status
from .trades import TRADE_FIELDS, trades

__all__ = ["main", "load_jsonl", "TRADE_FIELDS"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--dsn",
    envvar=None,
    help="libpq connection string (default: WLDB_DSN, libpq PG* env, else the embedded engine)",
)
@click.version_option(__version__, prog_name="wldb", message="%(prog)s (watchlist-db) %(version)s")
@click.pass_context
def main(ctx: click.Context, dsn: str | None) -> None:
    """watchlist-db: TimescaleDB store for a crypto arbitrage watchlist."""
    ctx.ensure_object(dict)
    ctx.obj["dsn"] = dsn


for command in (db, migrate, settings, jobs, worker, outcomes, trades, chart_cmd, ic_cmd, export_cmd, status,
                demo, insert_cmd, spool):  # fmt: skip
    main.add_command(command)
main.add_command(status, name="doctor")
