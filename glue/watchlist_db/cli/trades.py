"""`wldb trades add | import`: executed trades next to the labels (watchlist.record_trades)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from dataclasses import dataclass, field
from typing import TextIO

import click

from .. import config, snapshot
from ..api import write as write_api
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
        return write_api.record_trades(conn, rows)


@dataclass
class ParsedTrades:
    """A trades CSV read line by line: the rows to send with the line each came from, and
    the lines refused before sending as (line, trade_ref or None, "field: reason")."""

    rows: list[dict] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)


_ASCII_DIGITS = re.compile(r"[0-9]+")


def _bad_text(value: str) -> str | None:
    """Why a cell cannot be sent as text (None: it can)."""
    if "\x00" in value:
        return "contains a NUL byte, which PostgreSQL refuses"
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return "is not valid UTF-8"
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def _parse_row(raw: dict, header: list[str]) -> dict:
    """One CSV record -> a trade object; raises ValueError("field: reason")."""
    extra = raw.pop(None, None)
    if extra:
        raise ValueError(f"(line): {len(extra)} cell(s) more than the header's {len(header)} column(s)")
    row = {k: v for k, v in raw.items() if v not in (None, "")}
    for k, v in row.items():
        why = _bad_text(v)
        if why:
            raise ValueError(f"{k}: {why}")
    for k in NUMERIC_FIELDS:
        if k in row:
            try:
                x = float(row[k])
            except ValueError:
                continue  # left as text: the database refuses the row, naming the field
            if not math.isfinite(x):
                raise ValueError(f"{k}: {row[k]!r} is not a finite number")
            row[k] = x
    if "trigger_id" in row and _ASCII_DIGITS.fullmatch(row["trigger_id"]):
        row["trigger_id"] = int(row["trigger_id"])
    if "labels" in row:
        try:
            row["labels"] = snapshot.clean(json.loads(row["labels"], parse_constant=_refuse_constant), "labels")
        except snapshot._Bad as bad:
            raise ValueError(f"{bad.path}: {bad.reason}") from None
        except RecursionError:
            raise ValueError("labels: nested too deeply") from None
        except ValueError as exc:
            raise ValueError(f"labels: not JSON ({exc})") from None
    return row


def parse_trades_csv(file: TextIO) -> ParsedTrades:
    """CSV with a header row -> trade objects (numbers as numbers, labels parsed as JSON),
    line by line: a line that cannot be sent (a non-finite number, a NUL byte, invalid
    UTF-8, labels that are not JSON, more cells than the header) is refused alone, with
    its line number, field and reason. A value of the wrong kind is left as text: the
    database refuses that row, naming the field. Read the file with
    errors="surrogateescape" so invalid UTF-8 is reported, not raised."""
    reader = csv.DictReader(file)
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        fail(f"line 1: the header cannot be read: {exc}")
    for name in header:
        if _bad_text(name):
            fail(f"line 1: column name {name!r} {_bad_text(name)}")
    unknown = sorted(set(header) - set(TRADE_FIELDS))
    if unknown:
        fail(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(TRADE_FIELDS)}")
    out = ParsedTrades()
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.errors.append((reader.line_num, None, f"(line): {exc}"))
            continue
        ref = raw.get("trade_ref") or None
        try:
            row = _parse_row(raw, header)
        except ValueError as exc:
            out.errors.append((reader.line_num, ref if ref and not _bad_text(ref) else None, str(exc)))
            continue
        out.rows.append(row)
        out.lines.append(reader.line_num)
    return out


def _report(res: list[tuple], lines: list[int] | None = None, refused: list | None = None) -> None:
    """Print what record_trades said (and what was refused before sending); exit 1 if any
    row was refused. With ``lines``, rows are named by their line in the file."""
    bad = [r for r in res if r[3]]
    problems = [(line, ref, msg) for line, ref, msg in refused or []]
    for idx, ref, _id, err in bad:
        problems.append((lines[idx] if lines else idx + 1, ref, err))
    problems.sort(key=lambda p: p[0])
    n_bad = len(problems)
    click.echo(f"recorded {len(res) - len(bad)} trade(s)" + (f", refused {n_bad}:" if n_bad else ""))
    for where, ref, err in problems:
        click.secho(f"  {'line' if lines is not None else 'row'} {where} ({ref or 'no trade_ref'}): {err}", fg="red")
    sys.exit(1 if n_bad else 0)


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
@click.argument("file", type=click.File("rb"))
@click.pass_context
def trades_import(ctx: click.Context, file) -> None:
    """Import trades from CSV (UTF-8) with a header row; columns among:
    trade_ref, trigger_id, exchange, symbol, opened_at, closed_at, pnl, max_drawdown,
    holding_hours, benchmark_return, labels (JSON), notes. Re-importing updates by trade_ref.
    A bad line is refused alone, named by its line number, field and reason; the other
    lines are recorded. Exit 1 when any line was refused."""
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="surrogateescape", newline="")
    parsed = parse_trades_csv(text)
    res = record_trades(target_of(ctx), parsed.rows) if parsed.rows else []
    _report(res, parsed.lines, parsed.errors)
