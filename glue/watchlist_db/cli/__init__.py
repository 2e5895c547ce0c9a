"""wldb: the watchlist-db command line (thin: every command is a SQL call or engine step).

One module per command group; the work sits in plain functions the commands and the demo
both call (engine_up, run_migrate, load_jsonl, status.collect/render, write_chart, ...)."""

from __future__ import annotations

import click

from .. import __version__
from . import adopt, db, demo, factors, ingest, jobs, logins, migrate, outcomes, research, settings, status, trades
from .ingest import load_jsonl
from .trades import TRADE_FIELDS

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


COMMANDS = [
    db.db,
    migrate.migrate,
    adopt.adopt,
    settings.settings,
    jobs.jobs,
    jobs.worker,
    outcomes.outcomes,
    trades.trades,
    research.chart_cmd,
    research.ic_cmd,
    research.export_cmd,
    factors.factors,
    status.status,
    demo.demo,
    ingest.insert_cmd,
    ingest.spool,
    logins.grant_login_cmd,
]
for command in COMMANDS:
    main.add_command(command)
main.add_command(status.status, name="doctor")
