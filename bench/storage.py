#!/usr/bin/env python3
"""Benchmark: storage of the raw pool, bytes per row before and after compression
(columnstore, segmented by exchange, symbol). Prints figures; it is not a test.

Loads HOURS of 1-minute bench rows (bench/_data.py: core scalars and a small meta) for
EXCHANGES x SYMBOLS keys ten days back, measures the chunks' size, compresses them with
compress_chunk, measures again, and removes everything it loaded.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
from watchlist_db import config  # noqa: E402

CHUNKS_SQL = """SELECT format('%%I.%%I', chunk_schema, chunk_name)
                  FROM timescaledb_information.chunks
                 WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw'
                   AND range_start >= %s AND range_end <= %s"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--exchanges", type=int, default=7)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--json", default=None, help="also write the figures to this file (bench/run.py)")
    args = ap.parse_args()
    target = config.resolve_target(args.dsn)
    day = (datetime.now(UTC) - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
    print(f"engine: {target.describe()}")
    with config.connect(target) as conn:
        conn.execute("SET ROLE wl_owner")
        _data.cleanup(conn)
        _data.load(conn, day, args.exchanges, args.symbols, 0, args.hours * 60)
        chunks = [r[0] for r in conn.execute(CHUNKS_SQL, (day, day + timedelta(days=(args.hours + 23) // 24)))]
        n = conn.execute(
            "SELECT count(*) FROM watchlist_data.watch_signal_raw WHERE ts >= %s AND ts < %s",
            (day, day + timedelta(hours=args.hours)),
        ).fetchone()[0]
        for c in chunks:  # leftovers of an earlier run (a chunk left compressed) must not count
            conn.execute("SELECT decompress_chunk(%s::regclass, if_compressed => true)", (c,))
            conn.execute(f"VACUUM FULL {c}")
        before = sum(conn.execute("SELECT pg_total_relation_size(%s::regclass)", (c,)).fetchone()[0] for c in chunks)
        t = time.perf_counter()
        for c in chunks:
            conn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (c,))
        comp_s = time.perf_counter() - t
        stats = conn.execute(
            """SELECT sum(before_compression_total_bytes), sum(after_compression_total_bytes)
                                  FROM chunk_compression_stats('watchlist_data.watch_signal_raw')
                                 WHERE format('%%I.%%I', chunk_schema, chunk_name) = ANY(%s::text[])""",
            (chunks,),
        ).fetchone()
        _data.cleanup(conn)
    after = int(stats[1] or 0)
    print(f"rows: {n:,} in {len(chunks)} chunk(s); compress_chunk took {comp_s:.1f} s")
    print()
    print(f"{'measure':<34}{'bytes/row':>12}{'baseline':>12}{'ratio':>8}")
    print(f"{'raw chunk, row store (baseline)':<34}{before / n:>12.1f}{'':>12}{'':>8}")
    print(f"{'raw chunk, compressed':<34}{after / n:>12.1f}{before / n:>12.1f}{before / max(after, 1):>7.1f}x")
    print(
        f"per day at 7 x 800 x 1 min (8.06M rows): {before / n * 8.064e6 / 2**30:.2f} GiB row store, "
        f"{after / n * 8.064e6 / 2**30:.2f} GiB compressed"
    )
    _data.write_json(args.json, {"rows": n, "row_store": before / n, "compressed": after / n})
    if target.embedded:
        print("note: embedded engine; sizes are PostgreSQL's and carry over to a real server, timings do not")
    return 0


if __name__ == "__main__":
    sys.exit(main())
