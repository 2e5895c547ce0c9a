"""`wldb trades add | import`: executed trades next to the labels (watchlist.record_trades)."""

from __future__ import annotations

import csv
import json
import sys
from typing import TextIO

import click
from psycopg.types.json import Jsonb

from .. import config
from .common import connect, fail, target_of

# The columns watchlist.record_trades takes (the writable columns of watchlist.watchlist_outcome;
# tests/py/test_cli.py checks them against the view).
TRADE_FIELDS = [
    "trade_ref",
    "trigger_id",
    "exchange",
    "symbol",
    "opened_at",
    "closed_at",
    "pnl",
    "max_drawdown",
    "holding_hours",
    "benchmark_return",
    "labels",
    "notes",
]
NUMERIC_FIELDS = ("pnl", "max_drawdown", "holding_hours", "benchmark_return")


@click.group()
def trades() -> None:
    """Executed trades (watchlist_outcome), next to the labels."""


def record_trades(target: config.Target, rows: list[dict]) -> list[tuple]:
    """Send rows to watchlist.record_trades; returns (row_index, trade_ref, id, error) per row."""
    with connect(target) as conn:
        return conn.execute(
            "SELECT row_index, trade_ref, id, error FROM watchlist.record_trades(%s)", (Jsonb(rows),)
        ).fetchall()


def parse_trades_csv(file: TextIO) -> list[dict]:
    """CSV with a header row -> trade objects (numbers as numbers, labels parsed as JSON).
    A value of the wrong kind is left as text: the database refuses that row, naming the field."""
    reader = csv.DictReader(file)
    unknown = sorted(set(reader.fieldnames or []) - set(TRADE_FIELDS))
    if unknown:
        fail(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(TRADE_FIELDS)}")
    rows = []
    for line_no, raw in enumerate(reader, start=2):
        row = {k: v for k, v in raw.items() if v not in (None, "")}
        for k in NUMERIC_FIELDS:
            if k in row:
                try:
                    row[k] = float(row[k])
                except ValueError:
                    pass
        if "trigger_id" in row and row["trigger_id"].isdigit():
            row["trigger_id"] = int(row["trigger_id"])
        if "labels" in row:
            try:
                row["labels"] = json.loads(row["labels"])
            except ValueError:
                fail(f"line {line_no}: labels is not JSON")
        rows.append(row)
    return rows


def _report(res: list[tuple]) -> None:
    bad = [r for r in res if r[3]]
    click.echo(f"recorded {len(res) - len(bad)} trade(s)" + (f", refused {len(bad)}:" if bad else ""))
    for idx, ref, _id, err in bad:
        click.secho(f"  row {idx + 1} ({ref or 'no trade_ref'}): {err}", fg="red")
    sys.exit(1 if bad else 0)


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
    _report(record_trades(target_of(ctx), [{k: v for k, v in kw.items() if v is not None}]))


@trades.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.pass_context
def trades_import(ctx: click.Context, file) -> None:
    """Import trades from CSV with a header row; columns among:
    trade_ref, trigger_id, exchange, symbol, opened_at, closed_at, pnl, max_drawdown,
    holding_hours, benchmark_return, labels (JSON), notes. Re-importing updates by trade_ref."""
    _report(record_trades(target_of(ctx), parse_trades_csv(file)))
