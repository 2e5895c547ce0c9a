#!/usr/bin/env python3
"""Benchmark: event merging (issue 4). Prints figures; it is not a test.

Loads a day of 1-minute samples for EXCHANGES x SYMBOLS keys (about 10% triggered, in
runs) into watch_signal_raw under a bench-only exchange prefix, then measures, side by side:
  full rebuild     watchlist.merge_events over the whole day
  per-minute run   after each new minute of data:
                   incremental  watchlist.merge_events_incremental (ingestion watermark)
                   baseline     watchlist.merge_events over the whole look-back window
                                (what a job without a watermark would have to do)
Everything it inserts is deleted at the end. Runs against the embedded engine by default,
or any server given by --dsn / WLDB_DSN.

    python bench/merge.py                        # 7 x 100 keys, 24 h  (~1M rows)
    python bench/merge.py --symbols 800          # the full 7 x 800 x 1 day (~8M rows)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
from watchlist_db import config  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--exchanges", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--minutes", type=int, default=5, help="steady-state minutes to measure")
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
    with config.connect(target) as conn:
        conn.execute("SET ROLE wl_owner")
        _data.cleanup(conn)
        load_s = _data.load(conn, t0, args.exchanges, args.symbols, 0, total_min)
        print(f"\r  loaded {keys * total_min:,} rows in {load_s:.1f} s")

        end = t0 + timedelta(minutes=total_min)
        t = time.perf_counter()
        full = conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (t0, end)).fetchone()
        full_s = time.perf_counter() - t
        print(f"  full rebuild: {full[0]} keys, {full[1]:,} samples, {full[2]:,} events in {full_s:.2f} s")
        conn.execute(
            """INSERT INTO watchlist_data.job_state (job, watermark) VALUES ('merge_events', %s)
                        ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark""",
            (end,),
        )

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

        _data.cleanup(conn)

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
