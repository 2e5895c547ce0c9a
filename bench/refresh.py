#!/usr/bin/env python3
"""Benchmark: the continuous aggregates' refresh policies in steady state. Prints
figures; it is not a test.

For EXCHANGES x SYMBOLS keys of 1-minute samples (bench-only exchange prefix 'bench'), in
simulated time (the bench's own clock, an hour behind the wall clock, so every window is
in the past):
  history       1 day of raw rows, materialised in both aggregates (the 5-minute series and
                the hourly Type A statistics); later 6 more days before it (7 in all), with the
                raw chunks older than 2 days compressed, as the compression policy would
  steady state  RUNS times: 5 more minutes of raw rows, then what each refresh policy does
                when it runs at that simulated now: CALL refresh_continuous_aggregate over
                its window (start_offset 2 days, end_offset 5 minutes for the series, 1 hour
                for the hourly statistics, as in sql/policies). TimescaleDB materialises only
                the invalidated ranges and the new buckets above the watermark, so a run
                should cost what arrived, at 1 day and at 7 days of history alike.
  baseline      materialising the policy's whole 2-day window from nothing (what a refresh
                without invalidation tracking, e.g. a cron job re-aggregating the window,
                would cost every run)
Before each history length's runs the raw table and both materialisations are vacuumed and
a CHECKPOINT taken (what autovacuum and the checkpointer do in a steady state; otherwise the
timed runs pay for the bulk load's hint bits and dirty buffers); --no-settle skips that.
On a server it runs in a fresh database (created, migrated, dropped: needs CREATEDB;
--same-db to use the given one, with the scheduled jobs paused); on the embedded engine in
its one database, deleting its rows at the end.

    python bench/refresh.py                       # 7 x 100 keys
    python bench/refresh.py --dsn ... --symbols 800
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
from watchlist_db import config  # noqa: E402

SERIES = "watchlist_data.watchlist_series_agg"
HOURLY = "watchlist_data.typea_stats_1h"
RAW = "watchlist_data.watch_signal_raw"


def policy_windows(conn) -> dict[str, tuple[timedelta, timedelta]]:
    """(start_offset, end_offset) of each aggregate's refresh policy, as installed."""
    rows = conn.execute(
        """SELECT format('%I.%I', view_schema, view_name), (config ->> 'start_offset')::interval,
                  (config ->> 'end_offset')::interval
             FROM timescaledb_information.jobs AS j
             JOIN timescaledb_information.continuous_aggregates AS c
               ON c.materialization_hypertable_name = (SELECT h.table_name FROM _timescaledb_catalog.hypertable AS h
                                                        WHERE h.id = (j.config ->> 'mat_hypertable_id')::int)
            WHERE j.proc_name = 'policy_refresh_continuous_aggregate'"""
    ).fetchall()
    got = {r[0]: (r[1], r[2]) for r in rows}
    # the installed policies (sql/policies); the defaults only where none is found
    return {
        SERIES: got.get(SERIES, (timedelta(days=2), timedelta(minutes=5))),
        HOURLY: got.get(HOURLY, (timedelta(days=2), timedelta(hours=1))),
    }


def show(d: timedelta) -> str:
    m = int(d.total_seconds() // 60)
    return f"{m // 1440} d" if m % 1440 == 0 else f"{m // 60} h" if m % 60 == 0 else f"{m} min"


def steady_runs(conn, args, t0: datetime, m_next: int, windows, label: str, results: dict) -> int:
    """RUNS steady-state runs from minute m_next after t0; returns the next minute."""
    per = []
    for r in range(args.runs):
        _data.load(conn, t0, args.exchanges, args.symbols, m_next, m_next + 5, progress=False)
        m_next += 5
        sim_now = t0 + timedelta(minutes=m_next)
        times = {}
        for cagg, (start, end) in windows.items():
            times[cagg] = _data.refresh(conn, cagg, sim_now - start, sim_now - end, None)
        per.append(times)
        print(
            f"  {label}, run {r + 1}: 5 min of rows ({5 * args.exchanges * args.symbols:,}), refresh "
            + ", ".join(f"{c.split('.')[1]} {s * 1000:.0f} ms" for c, s in times.items())
        )
    wm = conn.execute("SELECT watchlist_data.series_agg_watermark()").fetchone()[0]
    print(
        f"  {label}: watchlist_series_agg materialised up to {wm:%m-%d %H:%M} (the last run's now - 5 min: "
        f"{sim_now - windows[SERIES][1]:%m-%d %H:%M})"
    )
    for cagg in windows:
        xs = [p[cagg] * 1000 for p in per]
        results[(label, cagg)] = (statistics.median(xs), max(xs))
    return m_next


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--exchanges", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3, help="steady-state runs per history length")
    ap.add_argument("--same-db", action="store_true", help="on a server, use the given database (jobs paused)")
    ap.add_argument("--json", default=None, help="also write the figures to this file (bench/run.py)")
    _data.add_settle_option(ap)
    args = ap.parse_args()
    target = config.resolve_target(args.dsn)
    if not target.embedded and not args.same_db:
        with _data.fresh_database(target, "refresh") as fresh:
            return run(args, fresh, fresh=True)
    return run(args, target, fresh=False)


def run(args, target, fresh: bool) -> int:
    keys = args.exchanges * args.symbols
    wall = datetime.now(UTC).replace(second=0, microsecond=0)
    # the bench's clock: an hour behind the wall clock, on the hour; the 1-day history ends there
    t0 = (wall - timedelta(hours=2)).replace(minute=0) - timedelta(days=1)
    day = 24 * 60
    print(f"engine: {target.describe()}")
    print(f"scale: {keys} keys, 1-minute samples; {args.runs} steady-state runs of 5 minutes per history length")
    results: dict = {}
    with _data.session(target) as conn:
        conn.execute("SET ROLE wl_owner")
        if not fresh:
            _data.cleanup(conn)
        windows = policy_windows(conn)
        print(
            "  policy windows: "
            + "; ".join(f"{c.split('.')[1]} [now - {show(s)}, now - {show(e)})" for c, (s, e) in windows.items())
        )
        try:
            s = _data.load(conn, t0, args.exchanges, args.symbols, 0, day)
            print(f"  1 day of history: {keys * day:,} rows in {s:.1f} s")
            sim_now = t0 + timedelta(days=1)
            # the baseline: the series policy's 2-day window materialised from nothing (here
            # the 1 day it holds), then the hourly statistics over theirs
            base = _data.refresh(conn, SERIES, sim_now - windows[SERIES][0], sim_now - windows[SERIES][1], 6)
            base_h = _data.refresh(conn, HOURLY, sim_now - windows[HOURLY][0], sim_now - windows[HOURLY][1], 6)
            print(f"  materialised from nothing: watchlist_series_agg {base:.1f} s, typea_stats_1h {base_h:.1f} s")
            settle = (RAW, *_data.materialisations(conn))
            if not args.no_settle:
                print(f"  settled before the 1 d runs: {_data.settle(conn, settle)}")
            m_next = steady_runs(conn, args, t0, day, windows, "1 d history", results)

            # 6 more days before the first: 7 days of history in all
            t_old = t0 - timedelta(days=6)
            s = _data.load(conn, t_old, args.exchanges, args.symbols, 0, 6 * day)
            print(f"  6 more days of history before it: {keys * 6 * day:,} rows in {s:.1f} s")
            t = time.perf_counter()
            _data.refresh(conn, SERIES, t_old, t0, 6)
            _data.refresh(conn, HOURLY, t_old, t0, 6)
            n = conn.execute(
                """SELECT count(compress_chunk(c, if_not_compressed => true))
                     FROM show_chunks('watchlist_data.watch_signal_raw', older_than => %s::timestamptz) AS c""",
                (t0 + timedelta(minutes=m_next) - timedelta(days=2),),
            ).fetchone()[0]
            if args.no_settle:
                conn.execute(f"VACUUM (ANALYZE) {RAW}")
            print(
                f"  materialised, {n} raw chunk(s) older than 2 days compressed"
                f"{', vacuumed' if args.no_settle else ''}: {time.perf_counter() - t:.1f} s"
            )
            if not args.no_settle:
                print(f"  settled before the 7 d runs: {_data.settle(conn, settle)}")
            steady_runs(conn, args, t0, m_next, windows, "7 d history", results)
        finally:
            if not fresh:
                _data.cleanup(conn)
                for cagg in windows:
                    _data.refresh(conn, cagg, t0 - timedelta(days=7), t0 + timedelta(days=2), 6)

    print()
    print(f"{'measure':<52}{'median':>10}{'max':>10}")
    for (label, cagg), (med, mx) in results.items():
        print(f"{'refresh ' + cagg.split('.')[1] + ', ' + label:<52}{med:>8.0f}ms{mx:>8.0f}ms")
    print(f"{'baseline: watchlist_series_agg window from nothing':<52}{base * 1000:>8.0f}ms")
    print(f"{'baseline: typea_stats_1h window from nothing':<52}{base_h * 1000:>8.0f}ms")
    _data.write_json(
        args.json,
        {
            "keys": keys,
            "runs": [
                {"history": label, "aggregate": cagg.split(".")[1], "median_ms": med, "max_ms": mx}
                for (label, cagg), (med, mx) in results.items()
            ],
            "baseline_s": {SERIES.split(".")[1]: base, HOURLY.split(".")[1]: base_h},
        },
    )
    if target.embedded:
        print("note: embedded engine (WASM, single session): timings say nothing about a real server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
