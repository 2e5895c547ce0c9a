#!/usr/bin/env python3
"""Benchmark: the read API. Prints figures; it is not a test.

Loads HOURS of 1-minute samples for EXCHANGES x SYMBOLS keys (bench-only exchange
prefix), merges their events (so the chart's markers have something to find), then times,
per call on random keys, p50 and p99 of
  series    watchlist.series(exchange, symbol, 12, now): the 12 h chart (gap-filled
            5-minute buckets, midline, baseline, markers) over the continuous aggregate
  raw       the same 12 h as a time_bucket('5 minutes') GROUP BY straight over
            watchlist_data.watch_signal_raw (last values per bucket; no gap-filling, no
            midline, baseline or markers)
  metrics   watchlist.metrics(exchange, symbol, now): 1 h / 12 h statistics rolled up from
            the aggregates' sufficient statistics
  raw       count/avg/stddev_samp/range/regr_slope over the raw rows of the last 1 h and
            12 h, plus the latest sample
in three states of the 5-minute aggregate: nothing materialised for the new rows (real-time
aggregation over the whole 12 h: the API reads every raw row, as after an outage of the
refresh policy or on a fresh database); steady state, materialised up to --tail-minutes
(default 10) before the current bucket's end, as the refresh policy leaves it between runs
(series_refresh_end 5 min, every 5 min), so only the newest minutes come from the raw rows;
its materialised buckets vacuumed but for the newest --unvacuumed-minutes (default 20), as
autovacuum leaves them with the insert scale factor 0040 installs; and fully materialised,
after CALL refresh_continuous_aggregate (autocommit) over the whole window. Everything it inserts is deleted at the end and the aggregates are refreshed again
over the same window, so no materialised bench rows stay behind; those refreshes leave the
aggregate materialised up to about the window's end, so a second run in the same database
within 13 hours skips the nothing-materialised state (it says so): --fresh-db runs in a new
database on the server (created, migrated, dropped). Embedded engine by default, or --dsn /
WLDB_DSN. Before the timed states the loaded raw rows and events are vacuumed and a
CHECKPOINT is taken, as autovacuum and the checkpointer would have done by then
(--no-settle skips both, and the steady state's vacuum).

    python bench/read.py                    # 7 x 100 keys x 13 h
    python bench/read.py --symbols 800      # the full 7 x 800 scale
    python bench/read.py --dsn ... --symbols 800 --fresh-db
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
from watchlist_db import config  # noqa: E402

RAW = "watchlist_data.watch_signal_raw"
EVENTS = "watchlist_data.watch_signal_event"
SERIES = "SELECT * FROM watchlist.series(%s, %s, 12, %s)"
RAW_SERIES = """
SELECT time_bucket('5 minutes', ts) AS bucket, last(spot_price, ts), last(futures_price, ts), last(spread_rel, ts),
       last(funding_rate, ts), last(funding_interval_hours, ts), last(next_funding_time, ts), count(*)
  FROM watchlist_data.watch_signal_raw
 WHERE exchange = %s AND symbol = %s AND ts >= %s AND ts < %s
 GROUP BY 1 ORDER BY 1"""
METRICS = "SELECT * FROM watchlist.metrics(%s, %s, %s)"
RAW_METRICS = """
SELECT count(spread_rel), avg(spread_rel), stddev_samp(spread_rel), max(spread_rel) - min(spread_rel),
       3600 * regr_slope(spread_rel, extract(epoch FROM ts)),
       count(spread_rel) FILTER (WHERE ts >= %(h1)s), avg(spread_rel) FILTER (WHERE ts >= %(h1)s),
       stddev_samp(spread_rel) FILTER (WHERE ts >= %(h1)s),
       max(spread_rel) FILTER (WHERE ts >= %(h1)s) - min(spread_rel) FILTER (WHERE ts >= %(h1)s),
       3600 * regr_slope(spread_rel, extract(epoch FROM ts)) FILTER (WHERE ts >= %(h1)s),
       (SELECT r.spread_rel FROM watchlist_data.watch_signal_raw r
         WHERE r.exchange = %(e)s AND r.symbol = %(s)s AND r.ts < %(to)s ORDER BY r.ts DESC LIMIT 1)
  FROM watchlist_data.watch_signal_raw
 WHERE exchange = %(e)s AND symbol = %(s)s AND ts >= %(h12)s AND ts < %(to)s"""
WATERMARK = """
SELECT _timescaledb_functions.cagg_watermark(mat_hypertable_id)
  FROM _timescaledb_catalog.continuous_agg WHERE user_view_name = 'watchlist_series_agg'"""


def bucket_end(now: datetime) -> datetime:
    """time_bucket('5 minutes', now) + 5 minutes: where the API's windows end."""
    floor = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    return floor + timedelta(minutes=5)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def watermark(conn) -> datetime | None | str:
    """Where the series aggregate's materialisation ends (None: nothing materialised)."""
    try:
        us = conn.execute(WATERMARK).fetchone()[0]  # microseconds since the Unix epoch
    except Exception as exc:  # noqa: BLE001 - only a remark in the output (autocommit: nothing to roll back)
        return f"unknown ({type(exc).__name__})"
    try:
        w = None if us is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    except OverflowError:  # the minimum of the time type: nothing materialised yet
        return None
    return w if w is None or w.year > 1970 else None


def show(w) -> str:
    return "nothing materialised" if w is None else (f"{w:%Y-%m-%d %H:%M} UTC" if isinstance(w, datetime) else w)


def timed(conn, sql: str, params) -> float:
    t = time.perf_counter()
    conn.execute(sql, params).fetchall()
    return (time.perf_counter() - t) * 1000


LIST = "SELECT * FROM watchlist.watchlist_list(%s)"


def measure(conn, keys, now, iterations: int, members) -> dict[str, list[float]]:
    to = bucket_end(now)
    times = {"series": [], "raw series": [], "metrics": [], "raw metrics": [], "list": [], "20 x metrics": []}
    for i in range(iterations + 5):
        got = [timed(conn, LIST, (now,))]
        t = time.perf_counter()
        for e, s in members:
            conn.execute(METRICS, (e, s, now)).fetchall()
        got.append((time.perf_counter() - t) * 1000)
        if i >= 5:
            times["list"].append(got[0])
            times["20 x metrics"].append(got[1])
        e, s = keys[i % len(keys)]
        raw_m = {"e": e, "s": s, "to": to, "h1": to - timedelta(hours=1), "h12": to - timedelta(hours=12)}
        got = [
            timed(conn, SERIES, (e, s, now)),
            timed(conn, RAW_SERIES, (e, s, to - timedelta(hours=12), to)),
            timed(conn, METRICS, (e, s, now)),
            timed(conn, RAW_METRICS, raw_m),
        ]
        if i >= 5:  # the first few warm the caches
            for k, v in zip(times, got):
                times[k].append(v)
    return times


def explain_calls(conn, state: str, key, now) -> None:
    e, s = key
    for name, sql, params in (
        ("series", SERIES, (e, s, now)),
        ("metrics", METRICS, (e, s, now)),
        ("watchlist_list", LIST, (now,)),
    ):
        _data.print_plans(f"{name}, {state}", _data.explain_nested(conn, sql, params))


def agreement(conn, key, now) -> str:
    """The API's numbers against the raw queries' (one key): a sanity check of the bench."""
    e, s = key
    to = bucket_end(now)
    series = {r[0]: r[3] for r in conn.execute(SERIES, (e, s, now)) if not r[7]}
    raw = {r[0]: r[3] for r in conn.execute(RAW_SERIES, (e, s, to - timedelta(hours=12), to))}
    m = conn.execute(METRICS, (e, s, now)).fetchone()
    r = conn.execute(
        RAW_METRICS, {"e": e, "s": s, "to": to, "h1": to - timedelta(hours=1), "h12": to - timedelta(hours=12)}
    ).fetchone()
    pairs = [
        (m[9], r[1]),
        (m[10], r[2]),
        (m[11], r[3]),
        (m[12], r[4]),
        (m[5], r[6]),
        (m[6], r[7]),
        (m[8], r[9]),
        (m[4], r[10]),
    ]
    if m is None or any(a is None or b is None for a, b in pairs):
        return f"metrics incomplete (API {m and m[20]} vs raw {r[0]} samples in 12 h): the aggregate misses rows below its watermark"
    worst = max(abs(a - b) / max(abs(b), 1e-300) for a, b in pairs)
    same_series = series == raw
    return (
        f"series buckets {'equal' if same_series else 'DIFFER'} ({len(series)} of {len(raw)}), "
        f"metrics max rel. diff {worst:.1e} (n 12h {m[20]} vs {r[0]})"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--exchanges", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--hours", type=int, default=13, help="hours of 1-minute data loaded (>= 12)")
    ap.add_argument("--iterations", type=int, default=200, help="calls timed per query and state")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--tail-minutes",
        type=int,
        default=10,
        help="steady state: minutes before the current bucket's end left unmaterialised (default 10)",
    )
    ap.add_argument(
        "--unvacuumed-minutes",
        type=int,
        default=20,
        help="steady state: the newest minutes of the materialised part left as the refreshes wrote them, "
        "not yet vacuumed (default 20; see --no-settle)",
    )
    _data.add_settle_option(ap)
    ap.add_argument("--json", default=None, help="also write the figures to this file (bench/run.py)")
    ap.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of one call per query and state"
    )
    ap.add_argument(
        "--fresh-db",
        action="store_true",
        help="run in a new database on the --dsn server (created, migrated, dropped): an earlier run's "
        "refreshes leave the aggregate materialised up to about its end, so a second run within 13 h could "
        "not measure the nothing-materialised state in the same database (needs CREATEDB)",
    )
    args = ap.parse_args()

    target = config.resolve_target(args.dsn)
    if args.fresh_db:
        if target.embedded:
            ap.error("--fresh-db needs a server (--dsn or WLDB_DSN): the embedded engine has one database")
        with _data.fresh_database(target, "read") as fresh:
            return run(args, fresh)
    return run(args, target)


def run(args, target) -> int:
    keys_n = args.exchanges * args.symbols
    minutes = args.hours * 60
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    t0 = now - timedelta(minutes=minutes)
    rnd = random.Random(args.seed)
    keys = [(f"bench{rnd.randrange(args.exchanges)}", f"B{rnd.randrange(args.symbols):04d}") for _ in range(200)]
    win_from = t0.replace(minute=0) - timedelta(hours=1)
    win_to = bucket_end(now) + timedelta(hours=1)
    print(f"engine: {target.describe()}")
    print(
        f"scale: {keys_n} keys x {args.hours} h of 1-minute samples = {keys_n * minutes:,} rows; "
        f"{args.iterations} timed calls per query and state, on random keys"
    )
    results = {}
    with _data.session(target) as conn:
        conn.execute("SET ROLE wl_owner")
        _data.cleanup(conn)
        try:
            load_s = _data.load(conn, t0, args.exchanges, args.symbols, 0, minutes)
            t = time.perf_counter()
            conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (t0, now))
            merge_s = time.perf_counter() - t
            n_ev = conn.execute(
                "SELECT count(*) FROM watchlist_data.watch_signal_event WHERE exchange LIKE 'bench%%'"
            ).fetchone()[0]
            print(f"  loaded in {load_s:.1f} s; merged {n_ev:,} events in {merge_s:.1f} s")
            if not args.no_settle:
                print(f"  settled: {_data.settle(conn, (RAW, EVENTS))}")
            w = watermark(conn)
            print(f"  series aggregate materialised up to: {show(w)}")
            overlap = isinstance(w, datetime) and w > t0
            if overlap:
                print(
                    "  note: an earlier refresh materialised part of this window: those buckets are read from the "
                    "materialisation (without the new rows) until the refresh below, so the nothing-materialised "
                    "state is not measured (--fresh-db runs in a new database)"
                )

            print(f"  nothing materialised: {agreement(conn, keys[0], now)}")
            # a 20-symbol watchlist (the seed: "usually < 20 symbols") for the one-call list read
            members = sorted(set(keys))[:20]
            conn.execute("DELETE FROM watchlist_data.watchlist_membership WHERE exchange LIKE 'bench%%'")
            for e, s in members:
                conn.execute(
                    """INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
                                VALUES (%s, %s, %s)""",
                    (e, s, t0),
                )
            n_members = conn.execute("SELECT count(*) FROM watchlist.watchlist_list(%s)", (now,)).fetchone()[0]
            print(f"  watchlist_list: {n_members} members at now")
            if not overlap:
                results["nothing materialised"] = measure(conn, keys, now, args.iterations, members)
                if args.explain:
                    explain_calls(conn, "nothing materialised", keys[0], now)

            # steady state: materialised up to where the refresh policy leaves it between runs
            # (series_refresh_end 5 min + half its 5-minute schedule, rounded to the bucket),
            # so only the newest minutes come from the raw rows
            # Autovacuum keeps the materialisation's visibility map current (0040 sets its insert
            # scale factor to 1 %: a vacuum about every 3 refreshes at 7 x 800), so in a steady
            # state only the newest buckets are not yet all-visible; timed right after one refresh
            # of the whole window, none would be, and every index-only read would fetch the
            # heap (1,000+ buffers a member instead of about 10).
            tail_to = bucket_end(now) - timedelta(minutes=args.tail_minutes)
            fresh_from = max(win_from, tail_to - timedelta(minutes=0 if args.no_settle else args.unvacuumed_minutes))
            ref0 = _data.refresh(conn, "watchlist_data.watchlist_series_agg", win_from, fresh_from)
            if not args.no_settle:
                print(
                    f"  materialised and vacuumed up to {args.unvacuumed_minutes} min before the steady state's end: "
                    f"{_data.settle(conn, tuple(_data.materialisations(conn)))}"
                )
            ref0 += _data.refresh(conn, "watchlist_data.watchlist_series_agg", fresh_from, tail_to)
            print(
                f"  refresh to {args.tail_minutes} min before the bucket end: {ref0:.1f} s; materialised up to {show(watermark(conn))}"
            )
            print(f"  steady state: {agreement(conn, keys[0], now)}")
            results[f"steady ({args.tail_minutes} min tail)"] = measure(conn, keys, now, args.iterations, members)
            if args.explain:
                explain_calls(conn, "steady state", keys[0], now)

            ref1 = _data.refresh(conn, "watchlist_data.watchlist_series_agg", tail_to, win_to) + ref0
            ref2 = _data.refresh(conn, "watchlist_data.typea_stats_1h", win_from, win_to, None)
            print(
                f"  refresh: watchlist_series_agg {ref1:.1f} s, typea_stats_1h {ref2:.1f} s; "
                f"materialised up to {show(watermark(conn))}"
            )
            print(f"  materialised: {agreement(conn, keys[0], now)}")
            results["materialised (refreshed)"] = measure(conn, keys, now, args.iterations, members)
            if args.explain:
                explain_calls(conn, "materialised", keys[0], now)
        finally:
            conn.execute("DELETE FROM watchlist_data.watchlist_membership WHERE exchange LIKE 'bench%%'")
            _data.cleanup(conn)
            for cagg in ("watchlist_data.watchlist_series_agg", "watchlist_data.typea_stats_1h"):
                _data.refresh(conn, cagg, win_from, win_to, None)

    print()
    head = f"{'state':<28}{'query':<10}{'API p50':>10}{'API p99':>10}{'raw p50':>10}{'raw p99':>10}{'API/raw p50':>13}{'API/raw p99':>13}"
    print(head)
    print("-" * len(head))
    for state, t in results.items():
        for q in ("series", "metrics"):
            a, r = t[q], t["raw " + q]
            a50, a99, r50, r99 = pct(a, 50), pct(a, 99), pct(r, 50), pct(r, 99)
            print(
                f"{state:<28}{q:<10}{a50:>8.1f}ms{a99:>8.1f}ms{r50:>8.1f}ms{r99:>8.1f}ms{a50 / r50:>12.2f}x{a99 / r99:>12.2f}x"
            )
    _data.write_json(
        args.json,
        {
            "keys": keys_n,
            "results": {st: {q: {"p50": pct(t[q], 50), "p99": pct(t[q], 99)} for q in t} for st, t in results.items()},
        },
    )
    for state, t in results.items():
        print(
            f"{state:<28}{'list':<10}{pct(t['list'], 50):>8.1f}ms{pct(t['list'], 99):>8.1f}ms"
            f"{pct(t['20 x metrics'], 50):>8.1f}ms{pct(t['20 x metrics'], 99):>8.1f}ms   (baseline: 20 x metrics())"
        )
    print(
        "API/raw below 1: the API is faster than the raw query. series does more than its raw equivalent "
        "(gap-filling, midline, baseline, markers)."
    )
    if target.embedded:
        print("note: embedded engine (WASM, single session): timings say nothing about a real server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
