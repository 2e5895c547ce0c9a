#!/usr/bin/env python3
"""Benchmark: outcome labelling (issue 5). Prints figures; it is not a test.

Loads DAY_HOURS of events plus the longest horizon (6 h) of 1-minute samples for
EXCHANGES x SYMBOLS keys (bench-only exchange prefix), merges the events, then measures:
  full run        watchlist.label_outcomes over every confirmed event x horizon of the day
  baseline        one watchlist.label_outcomes call per event (what a per-event worker
                  loop would do), timed on a sample of events and scaled up
  steady state    watchlist.label_outcomes_incremental after one more minute of data
Everything it inserts is deleted at the end. Embedded engine by default, or --dsn / WLDB_DSN.

    python bench/outcomes.py                    # 7 x 100 keys, a 24 h day
    python bench/outcomes.py --symbols 800      # the full 7 x 800 scale
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from watchlist_db import config  # noqa: E402
import _data  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--exchanges", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--day-hours", type=int, default=24)
    ap.add_argument("--sample", type=int, default=50, help="events timed one by one for the baseline")
    args = ap.parse_args()

    target = config.resolve_target(args.dsn)
    keys = args.exchanges * args.symbols
    minutes = (args.day_hours + 6) * 60 + 5
    t0 = (datetime.now(timezone.utc) - timedelta(minutes=minutes + 2)).replace(second=0, microsecond=0)
    print(f"engine: {target.describe()}")
    print(f"scale: {keys} keys, {args.day_hours} h of events + 6 h of horizon = {keys * minutes:,} rows")
    with config.connect(target) as conn:
        conn.execute("SET ROLE wl_owner")
        _data.cleanup(conn)
        load_s = _data.load(conn, t0, args.exchanges, args.symbols, 0, minutes)
        print(f"  loaded in {load_s:.1f} s")
        day_end = t0 + timedelta(hours=args.day_hours)
        now = t0 + timedelta(minutes=minutes)
        t = time.perf_counter()
        conn.execute("SELECT * FROM watchlist.merge_events(%s, %s, %s)", (t0, day_end, now))
        merge_s = time.perf_counter() - t
        n_events = conn.execute("""SELECT count(*) FROM watchlist_data.watch_signal_event
                                    WHERE exchange LIKE 'bench%%' AND status = 'confirmed'""").fetchone()[0]
        print(f"  merged {n_events:,} confirmed events in {merge_s:.1f} s")

        # baseline: one call per event on a sample (then the sample's labels are removed again)
        ids = [r[0] for r in conn.execute("""SELECT id FROM watchlist_data.watch_signal_event
                                              WHERE exchange LIKE 'bench%%' AND status = 'confirmed'
                                              ORDER BY random() LIMIT %s""", (args.sample,))]
        t = time.perf_counter()
        for i in ids:
            conn.execute("SELECT * FROM watchlist.label_outcomes(%s, %s)", (now, [i]))
        per_event = (time.perf_counter() - t) / max(len(ids), 1)
        conn.execute("DELETE FROM watchlist_data.future_outcome WHERE event_id = ANY(%s)", (ids,))

        t = time.perf_counter()
        full = conn.execute("SELECT * FROM watchlist.label_outcomes(%s)", (now,)).fetchone()
        full_s = time.perf_counter() - t
        print(f"  labelled: {full[1]:,} labels ({full[2]:,} uncovered) in {full_s:.2f} s")

        conn.execute("""INSERT INTO watchlist_data.job_state (job, watermark) VALUES ('label_outcomes', %s)
                        ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark""", (now,))
        _data.load(conn, t0, args.exchanges, args.symbols, minutes, minutes + 1,
                   ingested=now + timedelta(minutes=1), progress=False)
        t = time.perf_counter()
        inc = conn.execute("SELECT * FROM watchlist.label_outcomes_incremental(%s)", (now + timedelta(minutes=1),)).fetchone()
        inc_s = time.perf_counter() - t
        _data.cleanup(conn)

    baseline = per_event * n_events
    print()
    print(f"{'measure':<44}{'time':>10}{'baseline':>12}{'ratio':>8}")
    print(f"{'label ' + format(n_events, ',') + ' events (' + format(full[1], ',') + ' labels)':<44}{full_s:>9.2f}s{baseline:>11.1f}s{baseline / full_s:>7.1f}x")
    print(f"{'steady state (incremental, 1 new minute)':<44}{inc_s * 1000:>8.0f}ms{'':>12}{'':>8}"
          f"  ({inc[1]} written, {inc[3]} re-examined)")
    print(f"baseline = one label_outcomes call per event ({per_event * 1000:.1f} ms each, timed on {len(ids)} events)")
    if target.embedded:
        print("note: embedded engine (WASM, single session): timings say nothing about a real server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
