#!/usr/bin/env python3
"""Benchmark: event merging. Prints figures; it is not a test.

Loads a day of 1-minute samples for EXCHANGES x SYMBOLS keys (about 10% triggered, in
runs) into watch_signal_raw under a bench-only exchange prefix, then measures, side by side:
  full rebuild     watchlist.merge_events over the whole day
  per-minute run   after each new minute of data:
                   incremental  watchlist.merge_events_incremental (ingestion watermark)
                   baseline     watchlist.merge_events over the whole look-back window
                                (what a job without a watermark would have to do)
The scheduled jobs are paused while the day is loaded and rebuilt; then the other jobs are
brought to their steady state as if they had kept up with that day (the aggregates
refreshed over it, the factor and label jobs' watermarks set to its end: their one-time
backfill of a bulk-loaded day, half an hour of factor work at 7 x 800, is not what is
measured) and the scheduler runs them again while the minutes are measured; the bench runs
the merge job's work itself, so only the merge job's own schedule stays paused
(--jobs-paused keeps every job paused). Everything it inserts is deleted at the end, and the two jobs' states are put
back. Runs against the embedded engine by default, or any server given by --dsn / WLDB_DSN.

    python bench/merge.py                        # 7 x 100 keys, 24 h  (~1M rows)
    python bench/merge.py --symbols 800          # the full 7 x 800 x 1 day (~8M rows)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
from watchlist_db import config  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402


def steady(conn, t0: datetime, end: datetime) -> None:
    """The other scheduled jobs as if they had kept up with the loaded day: the aggregates
    refreshed over it (in 2-hour slices, as the refresh policy batches), the factor job's
    and the label job's watermarks at its end (their next runs do one period's work)."""
    lo = t0.replace(minute=0)
    while lo < end:
        hi = min(lo + timedelta(hours=2), end.replace(minute=0) + timedelta(hours=1))
        conn.execute("CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', %s, %s)", (lo, hi))
        lo = hi
    conn.execute(
        "CALL refresh_continuous_aggregate('watchlist_data.typea_stats_1h', %s, %s)",
        (t0.replace(minute=0), end.replace(minute=0) + timedelta(hours=1)),
    )
    bucket = end.replace(minute=end.minute - end.minute % 5)
    for job, stats in (
        ("compute_factors", {"to_ts": bucket.isoformat()}),
        ("label_outcomes", {}),
    ):
        conn.execute(
            """INSERT INTO watchlist_data.job_state (job, watermark, last_run_at, last_stats)
               VALUES (%s, %s, now(), %s)
               ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark, last_stats = EXCLUDED.last_stats""",
            (job, end, Jsonb(stats)),
        )
    conn.execute(
        """INSERT INTO watchlist_data.label_job_state (job, prev_now, ranks_days) VALUES ('label_outcomes', %s, true)
           ON CONFLICT (job) DO UPDATE SET prev_now = EXCLUDED.prev_now, pending_event_ids = '{}',
                                           pending_from = NULL, ranks_days = true""",
        (end,),
    )


def restore(conn, saved, saved_label) -> None:
    """Put the factor and label jobs' states back as they were before the bench."""
    conn.execute("DELETE FROM watchlist_data.job_state WHERE job IN ('compute_factors', 'label_outcomes')")
    for row in saved:
        conn.execute(
            "INSERT INTO watchlist_data.job_state (job, watermark, last_run_at, last_stats) VALUES (%s, %s::timestamptz, %s, %s)",
            (row[0], row[1], row[2], Jsonb(row[3]) if row[3] is not None else None),
        )
    for row in saved_label:
        conn.execute(
            """INSERT INTO watchlist_data.label_job_state (job, prev_now, pending_event_ids, pending_from, ranks_days)
               VALUES (%s, %s, %s, %s, %s)""",
            row,
        )


def measure(conn, args, t0: datetime, total_min: int) -> tuple[list[float], list[float]]:
    inc, base = [], []
    lookback = conn.execute("SELECT watchlist_data.setting('event_lookback')::interval").fetchone()[0]
    for i in range(args.minutes):
        m = total_min + i
        now = t0 + timedelta(minutes=m + 1)
        _data.load(conn, t0, args.exchanges, args.symbols, m, m + 1, ingested=now, progress=False)
        t = time.perf_counter()
        r = conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (now,)).fetchone()
        inc.append(time.perf_counter() - t)
        t = time.perf_counter()
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (now - lookback, now)).fetchone()
        base.append(time.perf_counter() - t)
        print(
            f"  minute {i + 1}: incremental {inc[-1] * 1000:7.0f} ms ({r[0]} keys, {r[1]:,} samples read)"
            f"   look-back re-merge {base[-1] * 1000:7.0f} ms"
        )
    return inc, base


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--exchanges", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--minutes", type=int, default=5, help="steady-state minutes to measure")
    ap.add_argument("--jobs-paused", action="store_true", help="keep the scheduled jobs paused while measuring")
    args = ap.parse_args()

    target = config.resolve_target(args.dsn)
    keys = args.exchanges * args.symbols
    total_min = args.hours * 60
    t0 = (datetime.now(UTC) - timedelta(hours=args.hours + 1)).replace(second=0, microsecond=0)
    print(f"engine: {target.describe()}")
    print(
        f"scale: {args.exchanges} exchanges x {args.symbols} symbols = {keys} keys, {args.hours} h at 1 min "
        f"= {keys * total_min:,} rows"
    )
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(config.connect(target))
        # a second session pauses the jobs (as the superuser the bench connects as); the
        # embedded engine takes one connection at a time and has no scheduler anyway
        jc = conn if target.embedded else stack.enter_context(config.connect(target))
        conn.execute("SET ROLE wl_owner")
        _data.cleanup(conn)
        saved = conn.execute(
            """SELECT job, watermark::text, last_run_at, last_stats FROM watchlist_data.job_state
                WHERE job IN ('compute_factors', 'label_outcomes')"""
        ).fetchall()
        saved_label = conn.execute(
            "SELECT job, prev_now, pending_event_ids, pending_from, ranks_days FROM watchlist_data.label_job_state"
        ).fetchall()
        end = t0 + timedelta(minutes=total_min)
        with _data.jobs_paused(jc):
            load_s = _data.load(conn, t0, args.exchanges, args.symbols, 0, total_min)
            print(f"\r  loaded {keys * total_min:,} rows in {load_s:.1f} s")

            t = time.perf_counter()
            full = conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (t0, end)).fetchone()
            full_s = time.perf_counter() - t
            print(f"  full rebuild: {full[0]} keys, {full[1]:,} samples, {full[2]:,} events in {full_s:.2f} s")
            conn.execute(
                """INSERT INTO watchlist_data.job_state (job, watermark) VALUES ('merge_events', %s)
                            ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark""",
                (end,),
            )
            if not args.jobs_paused and not target.embedded:
                t = time.perf_counter()
                steady(conn, t0, end)
                print(f"  other jobs brought to steady state over the loaded day in {time.perf_counter() - t:.1f} s")
        # the bench runs the merge job's work itself: the scheduled merge job is paused (two
        # mergers would queue on the merge lock and measure each other); with --jobs-paused
        # every job is
        with _data.jobs_paused(jc, None if args.jobs_paused else ("job_merge_events",)):
            print(
                "  scheduled jobs while measuring: "
                + ("paused" if args.jobs_paused else "running (the merge job's own schedule paused: the bench runs it)")
            )
            inc, base = measure(conn, args, t0, total_min)

        _data.cleanup(conn)
        restore(conn, saved, saved_label)

    med_inc, med_base = statistics.median(inc), statistics.median(base)
    print()
    print(f"{'measure':<38}{'time':>12}{'baseline':>14}{'ratio':>9}")
    print(f"{'full rebuild (' + format(keys * total_min, ',') + ' rows)':<38}{full_s:>11.2f}s{'':>14}{'':>9}")
    print(
        f"{'per-minute run, median of ' + str(len(inc)):<38}{med_inc * 1000:>10.0f}ms{med_base * 1000:>12.0f}ms"
        f"{med_base / med_inc:>8.1f}x"
    )
    print("baseline = re-merging the whole look-back window each minute (no watermark)")
    if target.embedded:
        print("note: embedded engine (WASM, single session): timings say nothing about a real server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
