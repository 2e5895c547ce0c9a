"""The main job end to end on sample data (``wldb demo``): stream a few days of a realistic
watchlist through the real insert hook, run the jobs as the scheduler would, and summarise.

Simulated time: the sample ends at the current minute; the data is streamed one simulated
hour at a time and after each hour the event merge and the outcome labelling run with
p_now = the end of that hour, exactly as their jobs would have at that moment. Then the
continuous aggregates are refreshed, chunks past the compression age are compressed and
the remaining due jobs run. A previous demo's rows (meta.notes = 'sample') are removed first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from psycopg.types.json import Jsonb

from . import config, sample
from . import jobs as jobs_mod
from .writer import Writer


@dataclass
class DemoResult:
    rows_submitted: int = 0
    writer: dict = field(default_factory=dict)
    raw_rows: int = 0
    events: dict = field(default_factory=dict)
    labels: list = field(default_factory=list)
    compression: tuple | None = None
    top_factors: list = field(default_factory=list)
    seconds: float = 0.0


def _clear_previous(conn) -> int:
    """Remove an earlier demo's data through the owner-only API (events cascade to labels)."""
    keys = [{"exchange": p.exchange, "symbol": p.symbol} for p in sample.pairs()]
    return conn.execute("SELECT watchlist.purge_keys(%s, 'sample')", (Jsonb(keys),)).fetchone()[0]


def run(target: config.Target, days: float = 3.0, echo=click.echo, spool_path: Path | None = None) -> DemoResult:
    t_start = time.monotonic()
    res = DemoResult()
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=int(days * 1440))
    pairs = sample.pairs()
    with config.connect(target) as conn:
        conn.execute("SET ROLE wl_owner")
        removed = _clear_previous(conn)
    if removed:
        echo(f"removed {removed:,} rows of an earlier demo")

    from .spool import default_spool_path

    spool = spool_path or default_spool_path()
    hours = int(days * 24)
    total_minutes = int(days * 1440)
    writer = Writer(target=target, spool_path=spool, max_delay_s=0.5, max_batch_rows=2400)
    dropped_symbol = pairs[3]
    try:
        writer.submit_symbol_refs(
            [
                {
                    "exchange": p.exchange,
                    "symbol": p.symbol,
                    "base": p.symbol[:-4],
                    "quote": "USDT",
                    "liquidity_tier": 1 + i % 5,
                }
                for i, p in enumerate(pairs)
            ]
        )
        members = [{"exchange": p.exchange, "symbol": p.symbol} for p in pairs]
        writer.submit_membership(members, start)
        gen = sample.generate(days=days, start=start)
        label = f"streaming {len(pairs)} pairs x {total_minutes:,} minutes through the insert hook"
        with click.progressbar(length=hours, label=label, show_eta=True, show_pos=True) as bar:
            for h in range(hours):
                hour_end = start + timedelta(hours=h + 1)
                for _ in range(60):
                    minute, snap = next(gen)
                    res.rows_submitted += writer.submit(snap, at=minute)
                # the watchlist changes: one pair leaves for a day and comes back
                if h == 24:
                    writer.submit_membership(
                        [
                            m
                            for m in members
                            if m["symbol"] != dropped_symbol.symbol or m["exchange"] != dropped_symbol.exchange
                        ],
                        hour_end,
                    )
                if h == 48:
                    writer.submit_membership(members, hour_end)
                if not writer.drain(timeout=120):
                    echo("\nwarning: the writer could not flush within 120 s (see `wldb spool status`)")
                with config.connect(target) as conn:
                    conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (hour_end,))
                    conn.execute("SELECT * FROM watchlist.label_outcomes_incremental(%s)", (hour_end,))
                bar.update(1)
    finally:
        res.writer = writer.close(timeout=60)

    echo("refreshing continuous aggregates, compressing old chunks, running due jobs ...")
    with jobs_mod.connect_for_jobs(target) as conn:
        for view in ("watchlist_series_agg", "typea_stats_1h"):
            conn.execute(
                f"CALL refresh_continuous_aggregate('watchlist_data.{view}', %s, %s)",
                (start - timedelta(hours=1), end - timedelta(minutes=5)),
            )
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(now())")
        conn.execute("SELECT * FROM watchlist.label_outcomes_incremental(now())")
        runs = jobs_mod.run_due(conn)
        # compress what is past the compression age now, due or not, to show the ratio
        runs.append(jobs_mod.run_job(conn, jobs_mod.resolve(conn, "compress")))
        failed = [r for r in runs if not r.ok]
        for r in failed:
            echo(f"job {r.proc_name} failed: {r.error}")
        res.raw_rows = conn.execute(
            """SELECT count(*) FROM watchlist.watch_signal_raw
                                        WHERE ts >= %s AND meta ->> 'notes' = 'sample'""",
            (start,),
        ).fetchone()[0]
        res.events = dict(
            conn.execute(
                """SELECT status, count(*) FROM watchlist.watch_signal_event
                                           WHERE start_ts >= %s GROUP BY 1""",
                (start,),
            ).fetchall()
        )
        res.labels = conn.execute(
            """SELECT o.horizon_min, count(*), count(*) FILTER (WHERE o.covered),
                                            avg(o.pnl), avg((o.pnl > 0)::int)
                                       FROM watchlist.future_outcome o
                                       JOIN watchlist.watch_signal_event e ON e.id = o.event_id
                                      WHERE e.start_ts >= %s GROUP BY 1 ORDER BY 1""",
            (start,),
        ).fetchall()
        comp = conn.execute("""SELECT compressed_chunks, chunks, before_compression_bytes, after_compression_bytes
                                 FROM watchlist.storage_report() WHERE relation = 'watchlist_data.watch_signal_raw'""").fetchone()
        res.compression = comp
        res.top_factors = conn.execute(
            """
            SELECT horizon_min, factor, mean_ic, ir, mean_rank_ic, n_periods, n_events
              FROM (SELECT f.*, row_number() OVER (PARTITION BY horizon_min ORDER BY abs(ir) DESC NULLS LAST) AS k
                      FROM watchlist.factor_ic(%s, %s, 'pnl', '4 hours', 5) f) x
             WHERE k <= 3 ORDER BY horizon_min, k""",
            (start, end),
        ).fetchall()
    res.seconds = time.monotonic() - t_start
    return res


def summary(res: DemoResult, files: dict[str, Path | None]) -> str:
    w = res.writer
    lines = [
        "",
        "watchlist-db demo summary",
        "=" * 25,
        f"rows streamed through the hook : {res.rows_submitted:,} (written {w.get('written', 0):,}, "
        f"duplicates {w.get('duplicates', 0):,}, quarantined {w.get('quarantined', 0):,}, dropped {w.get('dropped', 0):,})",
        f"raw rows stored                : {res.raw_rows:,}",
        "events                         : " + ", ".join(f"{n:,} {s}" for s, n in sorted(res.events.items())),
    ]
    if res.compression:
        cc, ch, before, after = res.compression
        ratio = (
            f"{before / after:.1f}x ({before / 1024 / 1024:.1f} MiB -> {after / 1024 / 1024:.1f} MiB)"
            if before and after
            else "n/a"
        )
        lines.append(f"compression                    : {cc} of {ch} raw chunks compressed, ratio {ratio}")
    lines.append("outcome labels (pnl in bps)    :")
    for h, n, cov, mean, win in res.labels:
        mean_txt = f"{mean:8.2f}" if mean is not None else "       -"
        win_txt = f"{100 * float(win):5.1f}%" if win is not None else "    -"
        lines.append(f"   {h:>4} min: {n:>6,} labels, {cov:>6,} covered, mean pnl {mean_txt}, win rate {win_txt}")
    lines.append("top factors by |IR| (4-hour periods):")
    for h, fac, ic, ir, ric, npd, nev in res.top_factors:
        ir_txt = f"{ir:6.2f}" if ir is not None else "     -"
        lines.append(
            f"   {h:>4} min  {fac:<26} IC {ic if ic is not None else float('nan'):+.3f}  IR {ir_txt}  "
            f"rank IC {ric if ric is not None else float('nan'):+.3f}  ({npd} periods, {nev} events)"
        )
    for what, path in files.items():
        lines.append(f"{what:<31}: {path if path else 'not written'}")
    lines.append(f"took {res.seconds:.0f} s")
    return "\n".join(lines)
