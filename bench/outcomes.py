#!/usr/bin/env python3
"""Benchmark: outcome labelling. Prints figures; it is not a test.

Loads DAY_HOURS of events plus the longest horizon (6 h) of 1-minute samples for
EXCHANGES x SYMBOLS keys (bench-only exchange prefix), laid down minute by minute as a live
writer lays them (--layout), merges the events, then measures:
  full run        watchlist.label_outcomes over every confirmed event x horizon of the day
  baseline        one watchlist.label_outcomes call per event (what a per-event worker
                  loop would do), timed on a sample of events and scaled up
  steady state    after each new minute of data (--minutes of them): the merge job's unit
                  (watchlist.merge_events_incremental), then the outcome job's
                  (watchlist.label_outcomes_incremental); median and max per run, first with
                  the loaded day as the only history, then with 7 days of history (6 more
                  days of events and labels: the day's, shifted back 1..6 days; raw rows are
                  kept for the newest day + horizon only, as older raw rows do not enter a
                  steady-state run). Before each history length's runs the tables the loads
                  wrote are vacuumed and a CHECKPOINT taken (what autovacuum and the
                  checkpointer do in a steady state: otherwise the timed runs set the hint
                  bits of millions of just-inserted rows and write the load's dirty buffers
                  out themselves); --no-settle times them right after the loads
Everything it inserts is deleted at the end. Embedded engine by default, or --dsn / WLDB_DSN.

    python bench/outcomes.py                    # 7 x 100 keys, a 24 h day
    python bench/outcomes.py --symbols 800      # the full 7 x 800 scale
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from psycopg.types.json import Jsonb  # noqa: E402

import _data  # noqa: E402
from watchlist_db import config  # noqa: E402

# Older history for the steady-state runs: the bench day's events and labels again, shifted
# back 1..days days (bench keys only), every time shifted (the events' confirmation, so their
# entry_ts, and the labels' entry_ts and computed_at), so the history sits in the entry_ts
# indexes the jobs read as real history would.
HISTORY_SQL = """
WITH ins AS (
    INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec,
                n_samples, features_agg, reason, status, is_open, confirmed_at, created_at, updated_at)
    SELECT s.exchange, s.symbol, s.signal_type, s.start_ts - %(shift)s, s.end_ts - %(shift)s,
           s.duration_sec, s.n_samples, s.features_agg, s.reason, s.status, false, s.confirmed_at - %(shift)s,
           s.created_at - %(shift)s, s.updated_at - %(shift)s
      FROM watchlist_data.watch_signal_event s
     WHERE s.exchange LIKE 'bench%%' AND s.start_ts >= %(t0)s AND s.start_ts < %(t1)s
    RETURNING id, exchange, symbol, signal_type, start_ts
)
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl, spread_change, funding_change,
            max_drawdown, volatility, label, computed_at, entry_ts)
SELECT i.id, o.horizon_min, o.covered, o.pnl, o.spread_change, o.funding_change, o.max_drawdown, o.volatility,
       o.label, o.computed_at - %(shift)s, o.entry_ts - %(shift)s
  FROM ins i
  JOIN watchlist_data.watch_signal_event s ON s.exchange = i.exchange AND s.symbol = i.symbol
   AND s.signal_type = i.signal_type AND s.start_ts = i.start_ts + %(shift)s
  JOIN watchlist_data.future_outcome o ON o.event_id = s.id
"""

# written by the loads above; vacuumed before the steady-state runs (_data.settle)
SETTLE = (
    "watchlist_data.watch_signal_raw",
    "watchlist_data.watch_signal_event",
    "watchlist_data.future_outcome",
    "watchlist_data.job_state",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--exchanges", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--day-hours", type=int, default=24)
    ap.add_argument("--sample", type=int, default=50, help="events timed one by one for the baseline")
    ap.add_argument("--keep", action="store_true", help="leave the bench rows in place (to EXPLAIN a run)")
    ap.add_argument("--minutes", type=int, default=3, help="steady-state runs per history length")
    ap.add_argument("--json", default=None, help="also write the figures to this file (bench/run.py)")
    ap.add_argument(
        "--layout",
        choices=("live", "slices"),
        default="live",
        help="live (default): rows laid down minute by minute as a live writer does, a key's rows "
        "one heap page apart; slices: a slice's minutes of a key side by side (optimistic: a "
        "label's path reads a few pages)",
    )
    _data.add_settle_option(ap)
    ap.add_argument(
        "--explain",
        action="store_true",
        help="print EXPLAIN (ANALYZE, BUFFERS) of the statements over 2 ms of one more steady-state run",
    )
    args = ap.parse_args()

    target = config.resolve_target(args.dsn)
    keys = args.exchanges * args.symbols
    minutes = (args.day_hours + 6) * 60 + 5
    # The simulated clock moves a minute per steady-state run (about a second of wall time)
    # and must stay behind the wall clock: a label's computed_at is the wall clock's now(),
    # and a row ingested (simulated ingested_at) after a label was computed is late data that
    # makes the job recompute that label. So the bench's now starts behind the wall clock by
    # every simulated minute it will add.
    ahead = 2 * args.minutes + 4
    t0 = (datetime.now(UTC) - timedelta(minutes=minutes + 2 + ahead)).replace(second=0, microsecond=0)
    print(f"engine: {target.describe()}")
    live = args.layout == "live"
    print(f"scale: {keys} keys, {args.day_hours} h of events + 6 h of horizon = {keys * minutes:,} rows")
    with _data.session(target) as conn:
        conn.execute("SET ROLE wl_owner")
        _data.cleanup(conn)
        load_s = _data.load(conn, t0, args.exchanges, args.symbols, 0, minutes, live_order=live)
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
        ids = [
            r[0]
            for r in conn.execute(
                """SELECT id FROM watchlist_data.watch_signal_event
                                              WHERE exchange LIKE 'bench%%' AND status = 'confirmed'
                                              ORDER BY random() LIMIT %s""",
                (args.sample,),
            )
        ]
        t = time.perf_counter()
        for i in ids:
            conn.execute("SELECT * FROM watchlist.label_outcomes(%s, %s)", (now, [i]))
        per_event = (time.perf_counter() - t) / max(len(ids), 1)
        conn.execute("DELETE FROM watchlist_data.future_outcome WHERE event_id = ANY(%s)", (ids,))

        t = time.perf_counter()
        full = conn.execute("SELECT * FROM watchlist.label_outcomes(%s)", (now,)).fetchone()
        full_s = time.perf_counter() - t
        print(f"  labelled: {full[1]:,} labels ({full[2]:,} uncovered) in {full_s:.2f} s")

        for job in ("label_outcomes", "merge_events"):
            conn.execute(
                """INSERT INTO watchlist_data.job_state (job, watermark, last_stats) VALUES (%s, %s, %s)
                            ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark, last_stats = EXCLUDED.last_stats""",
                (job, now, Jsonb({})),
            )
        conn.execute(
            """INSERT INTO watchlist_data.label_job_state (job, prev_now) VALUES ('label_outcomes', %s)
               ON CONFLICT (job) DO UPDATE SET prev_now = EXCLUDED.prev_now, pending_event_ids = '{}',
                                               pending_from = NULL, ranks_days = false""",
            (now,),
        )
        # two untimed runs: the job's state as a running job leaves it (the second ranks the open days)
        for _ in range(2):
            conn.execute("SELECT * FROM watchlist.label_outcomes_incremental(%s)", (now,)).fetchone()
        steady = {}
        m = minutes
        for hist in (1,) if args.keep else (1, 7):
            if hist == 7:
                t = time.perf_counter()
                for d in range(1, 7):
                    conn.execute(HISTORY_SQL, {"shift": timedelta(days=d), "t0": t0, "t1": day_end})
                n_hist = conn.execute("""SELECT count(*) FROM watchlist_data.watch_signal_event
                                          WHERE exchange LIKE 'bench%%'""").fetchone()[0]
                n_lab = conn.execute("""SELECT count(*) FROM watchlist_data.future_outcome o
                                          JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                                         WHERE e.exchange LIKE 'bench%%'""").fetchone()[0]
                if args.no_settle:
                    conn.execute("ANALYZE watchlist_data.watch_signal_event")
                    conn.execute("ANALYZE watchlist_data.future_outcome")
                print(
                    f"  7 days of history: {n_hist:,} events, {n_lab:,} labels (added in {time.perf_counter() - t:.1f} s)"
                )
            if not args.no_settle:
                print(f"  settled before the {hist} d runs: {_data.settle(conn, SETTLE)}")
            runs = []
            for _ in range(args.minutes):
                at = t0 + timedelta(minutes=m + 1)
                _data.load(conn, t0, args.exchanges, args.symbols, m, m + 1, ingested=at, progress=False)
                m += 1
                t = time.perf_counter()
                conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (at,)).fetchone()
                merge_s = time.perf_counter() - t
                t = time.perf_counter()
                inc = conn.execute("SELECT * FROM watchlist.label_outcomes_incremental(%s)", (at,)).fetchone()
                runs.append(
                    {
                        "merge_ms": merge_s * 1000,
                        "label_ms": (time.perf_counter() - t) * 1000,
                        "candidates": inc[0],
                        "written": inc[1],
                        "recomputed": inc[3],
                    }
                )
                print(
                    f"  {hist} d history, minute {len(runs)}: merge {runs[-1]['merge_ms']:.0f} ms, "
                    f"labels {runs[-1]['label_ms']:.0f} ms ({inc[0]} candidates, {inc[1]} written, {inc[3]} re-examined)"
                )
            steady[hist] = runs
            if args.explain:
                at = t0 + timedelta(minutes=m + 1)
                _data.load(conn, t0, args.exchanges, args.symbols, m, m + 1, ingested=at, progress=False)
                m += 1
                _data.print_plans(
                    f"merge job, {hist} d history",
                    _data.explain_nested(conn, "SELECT * FROM watchlist.merge_events_incremental(%s)", (at,), 2.0),
                )
                _data.print_plans(
                    f"outcome job, {hist} d history",
                    _data.explain_nested(conn, "SELECT * FROM watchlist.label_outcomes_incremental(%s)", (at,), 2.0),
                )
        # the hourly pass that re-ranks the open days' quintiles (forced by forgetting when it ran)
        conn.execute("DELETE FROM watchlist_data.label_ranked_day")
        at = t0 + timedelta(minutes=m + 1)
        _data.load(conn, t0, args.exchanges, args.symbols, m, m + 1, ingested=at, progress=False)
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (at,)).fetchone()
        t = time.perf_counter()
        conn.execute("SELECT * FROM watchlist.label_outcomes_incremental(%s)", (at,)).fetchone()
        rank_ms = (time.perf_counter() - t) * 1000
        print(f"  7 d history, with the hourly quintile ranking of the open days: labels {rank_ms:.0f} ms")
        if not args.keep:
            _data.cleanup(conn)

    baseline = per_event * n_events
    print()
    print(f"{'measure':<44}{'time':>10}{'baseline':>12}{'ratio':>8}")
    print(
        f"{'label ' + format(n_events, ',') + ' events (' + format(full[1], ',') + ' labels)':<44}{full_s:>9.2f}s{baseline:>11.1f}s{baseline / full_s:>7.1f}x"
    )
    for hist, runs in steady.items():
        lab = sorted(r["label_ms"] for r in runs)
        mer = sorted(r["merge_ms"] for r in runs)
        print(
            f"{'label job, 1 new minute, ' + str(hist) + ' d history':<44}{lab[len(lab) // 2]:>8.0f}ms"
            f"   (max {lab[-1]:.0f} ms of {len(lab)} runs; merge job {mer[len(mer) // 2]:.0f} ms, max {mer[-1]:.0f} ms)"
        )
    print(f"{'label job run that re-ranks the open days':<44}{rank_ms:>8.0f}ms   (at most hourly)")
    _data.write_json(
        args.json,
        {
            "rank_ms": rank_ms,
            "keys": keys,
            "events": n_events,
            "labels": full[1],
            "full_s": full_s,
            "baseline_s": baseline,
            "steady": steady,
        },
    )
    print(f"baseline = one label_outcomes call per event ({per_event * 1000:.1f} ms each, timed on {len(ids)} events)")
    if target.embedded:
        print("note: embedded engine (WASM, single session): timings say nothing about a real server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
