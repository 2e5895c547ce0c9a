"""`wldb insert` and `wldb spool status | replay`: the app's writer from the command line.
The JSON Lines loop is load_jsonl(), usable without click."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

import click

from ..spool import OwnerLock, Spool, SpoolBusy, default_spool_path, spool_summary
from ..writer import Writer
from .common import fail, target_of

# keep the spool small while the database keeps up: past BACKLOG_HIGH batches waiting,
# wait until fewer than BACKLOG_LOW are left
BACKLOG_HIGH, BACKLOG_LOW = 10, 4
MAX_BAD_LINES_SHOWN = 20
# the (exchange, symbol, ts) -> line map that names the line of a row the database
# quarantined holds at most this many rows (past it such a row is named by its key)
MAX_LINES_TRACKED = 200_000


@dataclass
class LoadReport:
    """What load_jsonl read: lines, lines that were not JSON objects (by reason), the first
    few problems as "line N: field: reason" (``first_bad``: lines that were not JSON objects,
    rows the writer refused before sending and rows the database quarantined, by line), the
    writer's stats after close, its reject reasons."""

    lines: int = 0
    seconds: float = 0.0
    bad_lines: dict = field(default_factory=dict)
    first_bad: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    reasons: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        s = self.stats
        return not (s["quarantined"] or s["failed"] or s["pending"] or s["dropped"])


def _hashable_key(obj: dict, at: datetime | None) -> tuple | None:
    ts = obj.get("ts")
    if ts is None and at is not None:
        ts = at.isoformat()
    key = (obj.get("exchange"), obj.get("symbol"), ts)
    return key if all(v is None or type(v) in (str, int, float, bool) for v in key) else None


def load_jsonl(
    writer: Writer,
    lines: Iterable[bytes | str],
    *,
    at: datetime | None = None,
    chunk: int = 1000,
    timeout: float = 120.0,
    progress=None,
) -> LoadReport:
    """Submit JSON Lines (one watchlist row per line) through ``writer`` in chunks of
    ``chunk`` rows, then close it. Rows without "ts" take ``at`` (without ``at`` they are
    quarantined). Blank lines are skipped; a line that is not a JSON object (or nests too
    deep to parse) is counted as quarantined, with its line number; so is a row the writer
    or the database refuses, with its field and reason. A bad line never costs the others.
    ``progress(n_bytes)`` is called per line."""
    rep = LoadReport()
    problems: list[tuple[int, str]] = []  # (line, message), the first MAX_BAD_LINES_SHOWN in line order
    line_of: dict[tuple, int] = {}

    def note(line_no: int, msg: str) -> None:
        if len(problems) < MAX_BAD_LINES_SHOWN:
            problems.append((line_no, msg))

    def submit(batch: list[dict], batch_lines: list[int]) -> None:
        refused: list = []
        writer.submit(batch, at=at, stamp_missing_ts=at is not None, rejected=refused)
        for r in refused:
            note(batch_lines[r.row], f"{r.field}: {r.reason}")
        if writer.backlog() > BACKLOG_HIGH * writer.max_batch_rows:
            writer.drain(below=BACKLOG_LOW * writer.max_batch_rows)

    t0 = time.monotonic()
    batch: list[dict] = []
    batch_lines: list[int] = []
    for line in lines:
        rep.lines += 1
        if progress:
            progress(len(line))
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError(f"expected an object, got {type(obj).__name__}")
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                exc = ValueError("nested too deeply to parse")
            elif isinstance(exc, UnicodeDecodeError):
                exc = ValueError(f"not valid UTF-8: byte {exc.start + 1} ({exc.reason})")
            key = ("(line)", f"not a JSON object: {str(exc).split(':')[0]}")
            rep.bad_lines[key] = rep.bad_lines.get(key, 0) + 1
            note(rep.lines, str(exc))
            continue
        if len(line_of) < MAX_LINES_TRACKED:
            k = _hashable_key(obj, at)
            if k is not None:
                line_of.setdefault(k, rep.lines)
        batch.append(obj)
        batch_lines.append(rep.lines)
        if len(batch) >= chunk:
            submit(batch, batch_lines)
            batch, batch_lines = [], []
    if batch:
        submit(batch, batch_lines)
    rep.stats = writer.close(timeout=timeout)
    rep.reasons = writer.reject_reasons()
    rep.stats["quarantined"] += sum(rep.bad_lines.values())
    # rows the database quarantined: named by their line when their key maps to one
    for r in writer.rejects(limit=MAX_BAD_LINES_SHOWN * 5):
        if r["batch_id"] is None:
            continue
        key = tuple(r["key"]) if r["key"] else None
        n = line_of.get(key) if key else None
        msg = f"{r['field']}: {r['reason']}"
        if n is None:
            problems.append((10**18, f"row {key}: {msg}"))
        else:
            problems.append((n, msg))
    problems.sort(key=lambda p: p[0])
    rep.first_bad = [msg if n == 10**18 else f"line {n}: {msg}" for n, msg in problems[:MAX_BAD_LINES_SHOWN]]
    rep.seconds = time.monotonic() - t0
    return rep


def print_writer_summary(st: dict, reasons: list, extra_reasons: dict) -> None:
    click.echo(
        f"written: {st['written']}   duplicates skipped: {st['duplicates']}   quarantined: {st['quarantined']}"
        f"   failed: {st['failed']}   dropped: {st['dropped']}   left in the spool: {st['pending']}"
    )
    if st.get("recovered"):
        click.echo(f"(includes {st['recovered']} row(s) found in the spool from an earlier run)")
    merged = dict(reasons)
    for key, n in extra_reasons.items():
        merged[key] = merged.get(key, 0) + n
    if merged:
        click.echo("quarantined, top reasons:")
        for (fld, reason), n in sorted(merged.items(), key=lambda kv: -kv[1])[:10]:
            click.echo(f"  {n:>8}  {fld}: {reason}")
    if st["last_error"] and (st["pending"] or st["failed"]):
        click.secho(f"last error: {st['last_error']}", fg="red", err=True)


def _log_to_stderr(verbose: bool) -> None:
    logging.basicConfig(format="wldb: %(message)s", level=logging.INFO if verbose else logging.ERROR)


def _aware_time(_ctx, _param, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value}") from None
    if t.tzinfo is None:
        raise click.BadParameter("give the UTC offset, e.g. 2026-03-01T10:00:00Z")
    return t


def _spool_path(path: str | None):
    return path or default_spool_path()


_spool_option = click.option(
    "--spool",
    "spool_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Writer spool file (default: WLDB_SPOOL, else spool.sqlite in the data directory).",
)


@click.command("insert")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--at",
    callback=_aware_time,
    default=None,
    help='Time for rows without "ts" (ISO 8601 with offset); without it such rows are quarantined.',
)
@click.option("--chunk", default=1000, show_default=True, help="Rows per submit().")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the last batches at the end.")
@click.option("-v", "--verbose", is_flag=True, help="Log every quarantined batch and retry.")
@_spool_option
@click.pass_context
def insert_cmd(ctx, file, at, chunk: int, timeout: float, verbose: bool, spool_path: str | None) -> None:
    """Insert watchlist rows from JSON Lines (FILE, or - for stdin) through the app's writer.

    \b
    One JSON object per line: one symbol's row, as the monitor has it, e.g.
      {"ts": "2026-03-01T10:00:00Z", "exchange": "binance", "symbol": "BTCUSDT",
       "type_class": "A", "triggered": true, "spread_rel": 0.0031,
       "pairs_top": [...], "exchanges": [...], "factors": {"rsi_14": 61.2}}
    Column keys stay columns; pairs_top, funding_diff_top, exchanges, matrix, notes and
    unknown keys go to meta, factors and unknown numbers to meta.factors (see
    watchlist_db.snapshot). Blank lines are skipped; a line that is not a JSON object, or
    a row refused (by the writer or the database) is quarantined and shown with its line
    number, field and reason (the first 20); the other lines are stored.

    Rows go through the same path as the app's: validated in SQL, written in batches with
    watchlist.ingest_raw (replaying a file inserts nothing twice), spooled when the
    database is unavailable. Exit status 0 when every row is stored (written now or
    already there), 1 when some were quarantined, failed or are left in the spool.
    """
    _log_to_stderr(verbose)
    try:
        w = Writer(target=target_of(ctx), spool_path=_spool_path(spool_path), max_delay_s=0.5)
    except SpoolBusy as exc:
        fail(f"{exc}; give another --spool")
    size = None
    try:
        size = os.fstat(file.fileno()).st_size if os.path.isfile(file.name) else None
    except (OSError, AttributeError, ValueError):
        pass
    show_bar = size and sys.stderr.isatty()
    with click.progressbar(length=size, label="inserting", file=sys.stderr) if show_bar else nullcontext() as bar:
        rep = load_jsonl(w, file, at=at, chunk=chunk, timeout=timeout, progress=bar.update if bar else None)
    click.echo(f"read {rep.lines} line(s) in {rep.seconds:.1f}s")
    for msg in rep.first_bad:
        click.echo(f"  {msg}")
    print_writer_summary(rep.stats, rep.reasons, rep.bad_lines)
    if rep.stats["pending"]:
        click.echo(
            f"{rep.stats['pending']} row(s) wait in the spool {w.spool_path}: "
            "`wldb spool replay` once the database is back"
        )
    sys.exit(0 if rep.ok else 1)


@click.group()
def spool() -> None:
    """The writer's local spool: rows waiting for the database, dead letters."""


@spool.command("status")
@_spool_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def spool_status(spool_path: str | None, as_json: bool) -> None:
    """Counts in the spool: pending, spooled and dead rows, totals, last error."""
    s = spool_summary(_spool_path(spool_path))
    if as_json:
        click.echo(json.dumps(s, indent=2, default=str))
        return
    if not s["exists"]:
        click.echo(f"no spool at {s['path']}")
        return
    in_use = "in use by a writer" if s["in_use"] else "no writer running"
    click.echo(f"spool {s['path']}  ({s['file_bytes'] / 1024:.0f} KiB, {in_use})")
    click.echo(
        f"  pending rows      {s['pending_rows']}  (not yet batched {s['unbatched_rows']}, "
        f"spooled {s['spooled_rows']} in {s['spooled_batches']} batch(es))"
    )
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
    path = _spool_path(spool_path)
    if not os.path.exists(path):
        click.echo(f"no spool at {path}")
        return
    if OwnerLock(path).held_by_other():
        fail(f"a writer is running on {path}; it replays the spool by itself")
    _log_to_stderr(False)
    if dead:
        sp = Spool(path)
        try:
            click.echo(f"re-queued {sp.requeue_dead()} dead-letter row(s)")
        finally:
            sp.close()
    w = Writer(target=target_of(ctx), spool_path=path)
    st = w.close(timeout=timeout)
    click.echo(f"replayed {st['replayed']} row(s)")
    print_writer_summary(st, w.reject_reasons(), {})
    sys.exit(1 if st["pending"] else 0)
