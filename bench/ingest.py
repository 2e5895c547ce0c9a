#!/usr/bin/env python3
"""Ingest benchmark: the writer hook's path against the usual ways of inserting, on the
same generated rows (about 1 KB of meta each), the same database, side by side.

    python bench/ingest.py [--rows 5000] [--dsn CONNINFO]

Methods (each writes the same rows into watchlist_data.watch_signal_raw under BENCH*
symbols, which are deleted before and after every method):
  naive INSERT          one INSERT per row, autocommit
  executemany           one INSERT, executemany (psycopg pipelines it), one transaction
  multi-row VALUES      INSERT ... VALUES (...), (...), ... up to 65535 parameters each
  COPY + INSERT         COPY into a temp staging table, then INSERT ... SELECT ON CONFLICT
                        DO NOTHING (not on the embedded engine: COPY FROM STDIN crashes it)
  ingest_raw            SELECT * FROM watchlist.ingest_raw(rows, id), 2000 rows a statement
                        (the writer API: per-row validation in SQL, quarantine, ON CONFLICT)
  ingest_raw pipelined  the same statements in psycopg's pipeline mode (the client encodes
                        the next batch while the server works on the one before)
  ingest_raw_columns    SELECT * FROM watchlist.ingest_raw_columns(id, ts => ..., ...), 2000
                        rows a statement: the same rows as typed arrays in binary parameters
                        (snapshot.to_columns; meta as jsonb[]), the same checks and rejects
  writer hook           Writer.submit() of 20-symbol snapshots, as the app does, through the
                        spool to ingest_raw, until close() returns (includes the mapping)

Figures: wall-clock rows/s; client CPU microseconds per row (time.process_time of this
process, all threads); server CPU microseconds per row from /proc/<pid>/stat (utime+stime)
when the server runs on this machine: "backend" is the method's own connection
(pg_backend_pid(); the writer hook opens its own, so n/a there), "server" every process of
the server (the postmaster's children, live and reaped: WAL writer, checkpointer and
background jobs included). On the embedded engine both are the node process. "n/a" for a
remote server. Needs an owner or superuser connection (the naive methods write the table
directly). Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))

import orjson  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from watchlist_db import config, snapshot  # noqa: E402
from watchlist_db.api import write as write_api  # noqa: E402
from watchlist_db.writer import Writer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
CLEAN = "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol LIKE 'BENCH%'"


def make_items(n: int, seed: int = 7) -> list[dict]:
    """n per-symbol dicts (20 symbols, 30 s apart) with ~1 KB of cross-exchange detail."""
    rnd = random.Random(seed)
    t0 = (datetime.now(UTC) - timedelta(seconds=30 * (n // 20 + 2))).replace(microsecond=0)
    exch = ["binance", "bybit", "okx", "bitget", "gate", "mexc"]
    items = []
    for i in range(n):
        items.append(
            {
                "ts": t0 + timedelta(seconds=30 * (i // 20)),
                "exchange": "binance",
                "symbol": f"BENCH{i % 20}",
                "type_class": "ABC"[i % 3],
                "triggered": rnd.random() < 0.2,
                "status": "watching",
                "spread_rel": round(rnd.gauss(0.002, 0.001), 6),
                "funding_rate": round(rnd.gauss(1e-4, 5e-5), 7),
                "funding_interval_hours": 8,
                "next_funding_time": t0 + timedelta(hours=8),
                "range_1h": round(rnd.random() / 100, 6),
                "volatility": round(rnd.random() / 50, 6),
                "pairs_top": [
                    {
                        "high_exch": a,
                        "low_exch": b,
                        "spread_pct": round(rnd.random() / 200, 6),
                        "dir": "buy_high_sell_low",
                    }
                    for a, b in zip(exch[:3], exch[3:])
                ],
                "funding_diff_top": [
                    {"high_exch": "bitget", "low_exch": "okx", "funding_diff": round(rnd.random() / 1000, 7)}
                ],
                "exchanges": [
                    {
                        "name": e,
                        "kind": "perp",
                        "funding_rate": round(rnd.gauss(1e-4, 5e-5), 7),
                        "price_bid": round(1 + rnd.random(), 6),
                        "price_ask": round(1.001 + rnd.random(), 6),
                        "oi_usd": rnd.randrange(10**5, 10**8),
                    }
                    for e in exch[:4]
                ],
                "factors": {f"f{k}": round(rnd.gauss(0, 1), 5) for k in range(12)},
                "notes": "bench",
            }
        )
    return items


def engine_pid() -> int | None:
    try:
        return int(json.loads((config.data_dir() / "engine.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def columns_of(rows: list[dict]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols


def params(row: dict, cols: list[str]) -> list:
    row = dict(row, signal_type=row.get("signal_type") or row.get("type_class"))
    return [Jsonb(row[c]) if c == "meta" else row.get(c) for c in cols]


def run(name, target, fn, n, own_conn: bool):
    """Time fn(conn) (own_conn: fn() opens its own connections)."""

    def diff(a, b):
        return None if a is None or b is None else b - a

    with config.connect(target) as c:
        c.execute(CLEAN)
        cpu = _data.ServerCpu(c, engine_pid() if target.embedded else None)
        b0, s0, c0, t0 = cpu.backend(), cpu.server(), time.process_time(), time.perf_counter()
        fn() if own_conn else fn(c)
        wall, client = time.perf_counter() - t0, time.process_time() - c0
        b1, s1 = cpu.backend(), cpu.server()
    with config.connect(target) as c:
        stored = c.execute(
            "SELECT count(*) FROM watchlist_data.watch_signal_raw WHERE symbol LIKE 'BENCH%'"
        ).fetchone()[0]
        c.execute(CLEAN)
    assert stored == n, f"{name}: {stored} rows stored, expected {n}"
    return {
        "name": name,
        "wall": wall,
        "client": client,
        "server": diff(s0, s1),
        "backend": None if own_conn and not target.embedded else diff(b0, b1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    ap.add_argument("--rows", type=int, default=5000, help="rows per method (default 5000)")
    ap.add_argument("--dsn", default=None, help="libpq connection string (default: as wldb resolves it)")
    ap.add_argument("--batch", type=int, default=2000, help="rows per ingest_raw statement (default 2000)")
    ap.add_argument("--json", default=None, help="also write the figures to this file (bench/run.py)")
    args = ap.parse_args()
    n = args.rows - args.rows % 20
    target = config.resolve_target(args.dsn)
    items = make_items(n)
    good, bad = snapshot.to_raw_rows(items)
    assert not bad
    rows = [json.loads(text) for _, text in good]
    cols = columns_of(rows) + ["signal_type"]
    meta_bytes = sum(len(json.dumps(r["meta"])) for r in rows) / n
    print(f"{n} rows, {meta_bytes:.0f} bytes of meta each, {len(cols)} columns; database: {target.describe()}")
    insert_sql = (
        f"INSERT INTO watchlist_data.watch_signal_raw ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
    )

    def naive(c):
        for r in rows:
            c.execute(insert_sql, params(r, cols))

    def executemany(c):
        with c.transaction(), c.cursor() as cur:
            cur.executemany(insert_sql, [params(r, cols) for r in rows])

    def multirow(c):
        per = 65535 // len(cols)
        with c.transaction():
            for i in range(0, n, per):
                chunk = rows[i : i + per]
                values = ", ".join(["(" + ", ".join(["%s"] * len(cols)) + ")"] * len(chunk))
                c.execute(
                    f"INSERT INTO watchlist_data.watch_signal_raw ({', '.join(cols)}) VALUES {values}",
                    [p for r in chunk for p in params(r, cols)],
                )

    def copy(c):
        with c.transaction():
            c.execute(
                "CREATE TEMP TABLE bench_stage (LIKE watchlist_data.watch_signal_raw INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with c.cursor().copy(f"COPY bench_stage ({', '.join(cols)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(params(r, cols))
            c.execute(
                f"INSERT INTO watchlist_data.watch_signal_raw ({', '.join(cols)}) SELECT {', '.join(cols)} FROM bench_stage "
                "ON CONFLICT (exchange, symbol, ts) DO NOTHING"
            )

    def ingest_raw(c):
        for i in range(0, n, args.batch):
            got = c.execute(
                "SELECT inserted, rejected FROM watchlist.ingest_raw(%s, %s)",
                (Jsonb(rows[i : i + args.batch]), f"bench-{i}"),
            ).fetchone()
            assert got == (min(args.batch, n - i), 0), got

    def ingest_raw_pipelined(c):
        # the same statements in psycopg's pipeline mode: the client encodes the next batch
        # while the server works on the one before (as COPY streams its rows)
        curs = []
        with c.pipeline():
            for i in range(0, n, args.batch):
                cur = c.cursor()
                cur.execute(
                    "SELECT inserted, rejected FROM watchlist.ingest_raw(%s, %s)",
                    (Jsonb(rows[i : i + args.batch]), f"bench-{i}"),
                )
                curs.append((i, cur))
        for i, cur in curs:
            got = cur.fetchone()
            assert got == (min(args.batch, n - i), 0), got

    def ingest_raw_columns(c):
        for i in range(0, n, args.batch):
            cols = snapshot.to_columns(rows[i : i + args.batch], dumps=orjson.dumps)
            got = c.execute(write_api.columns_sql(cols), [f"bench-{i}", *cols.values()]).fetchone()
            assert got[1:4] == (min(args.batch, n - i), 0, 0), got

    lat: list[float] = []

    def writer_hook():
        with tempfile.TemporaryDirectory() as d:
            w = Writer(target=target, spool_path=Path(d) / "spool.sqlite", max_batch_rows=args.batch, max_delay_s=0.5)
            for i in range(0, n, 20):
                t0 = time.perf_counter()
                w.submit(items[i : i + 20])
                lat.append(time.perf_counter() - t0)
            st = w.close(timeout=600)
            assert st["written"] == n and st["pending"] == 0, st

    methods = [
        ("naive INSERT (autocommit)", naive),
        ("executemany", executemany),
        ("multi-row VALUES", multirow),
        ("COPY + INSERT ON CONFLICT", copy),
        (f"ingest_raw ({args.batch}/statement)", ingest_raw),
        (f"ingest_raw pipelined ({args.batch}/statement)", ingest_raw_pipelined),
        (f"ingest_raw_columns ({args.batch}/statement)", ingest_raw_columns),
        ("writer hook (submit -> spool -> ingest_raw)", writer_hook),
    ]
    results = []
    with config.connect(target) as jc, _data.jobs_paused(jc):
        run_all(methods, results, target, n, writer_hook)
    report(results, n, lat, target, meta_bytes, args, items)


def run_all(methods, results, target, n, writer_hook):
    for name, fn in methods:
        if name.startswith("COPY") and target.embedded:
            results.append({"name": name, "skip": "n/a (crashes the embedded engine)"})
            continue
        print(f"  running {name} ...", file=sys.stderr, flush=True)
        results.append(run(name, target, fn, n, own_conn=fn is writer_hook))


def report(results, n, lat, target, meta_bytes, args, items):
    base = results[0]

    def us(v):
        return "n/a" if v is None else f"{v / n * 1e6:.1f}"

    print(
        f"\n{'method':<44} {'rows/s':>9} {'client us/row':>14} {'backend us/row':>15} {'server us/row':>14} "
        f"{'speed vs naive':>15} {'CPU vs naive':>13}"
    )
    for r in results:
        if "skip" in r:
            print(f"{r['name']:<44} {r['skip']}")
            continue
        rps = n / r["wall"]
        total, base_total = r["client"] + (r["server"] or 0), base["client"] + (base["server"] or 0)
        print(
            f"{r['name']:<44} {rps:>9.0f} {us(r['client']):>14} {us(r['backend']):>15} {us(r['server']):>14} "
            f"{(base['wall'] / r['wall']):>14.2f}x {(total / base_total if base_total else 0):>12.2f}x"
        )
    _data.write_json(
        args.json,
        {
            "rows": n,
            "meta_bytes": meta_bytes,
            "methods": [
                dict(
                    r,
                    rows_per_s=None if "skip" in r else n / r["wall"],
                    **(
                        {}
                        if "skip" in r
                        else {
                            k + "_us_row": None if r[k] is None else r[k] / n * 1e6
                            for k in ("client", "backend", "server")
                        }
                    ),
                )
                for r in results
            ],
        },
    )
    lat.sort()
    if lat:
        print(
            f"\nwriter hook: submit() of a 20-symbol snapshot, back to back while batches flush: "
            f"p50 {lat[len(lat) // 2] * 1e6:.0f} us, p99 {lat[int(len(lat) * 0.99)] * 1e6:.0f} us, max {lat[-1] * 1e6:.0f} us"
        )
    # submit() while the database is unreachable (moved here from the test suite, which
    # keeps no wall-clock thresholds): a deaf server (listens, never answers) and a
    # refused port; the figure above (database up) is the baseline.
    import socket

    for kind in ("deaf", "refused"):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        if kind == "deaf":
            sock.listen(64)
        down = config.Target(
            f"host=127.0.0.1 port={sock.getsockname()[1]} dbname=x user=x sslmode=disable gssencmode=disable",
            False,
            kind,
        )
        dl: list[float] = []
        with tempfile.TemporaryDirectory() as d:
            w = Writer(target=down, spool_path=Path(d) / "spool.sqlite", connect_timeout_s=2, max_delay_s=0.2)
            for i in range(0, min(n, 10000), 20):
                t0 = time.perf_counter()
                w.submit(items[i : i + 20])
                dl.append(time.perf_counter() - t0)
                time.sleep(0.001)
            w.close(timeout=3)
        sock.close()
        dl.sort()
        print(
            f"writer hook, database {kind:<7}: submit() of a 20-symbol snapshot: p50 {dl[len(dl) // 2] * 1e6:.0f} us, "
            f"p99 {dl[int(len(dl) * 0.99)] * 1e6:.0f} us, max {dl[-1] * 1e6:.0f} us (spooled)"
        )
    if target.embedded:
        print("\nembedded engine: WASM PostgreSQL, one session; its timings say nothing about a real server.")


if __name__ == "__main__":
    main()
