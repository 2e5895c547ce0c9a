#!/usr/bin/env python3
"""Benchmark: storage of the raw pool, bytes per row before and after compression
(columnstore, segmented by exchange, symbol). Prints figures; it is not a test.

Loads HOURS of 1-minute rows ten days back, measures the chunks' size, compresses them with
compress_chunk, measures again, and removes everything it loaded. The rows (--data):
  sample  (default) watchlist_db.sample, the project's realistic monitor data: 20 pairs,
          every core column filled, about 1 KB of meta, through snapshot.to_raw_rows and
          watchlist.ingest_raw (--exchanges / --symbols do not apply); --sample-seeds K
          runs the generator K times (20 independent keys each), for chunks of a real size
  bench   bench/_data.py's synthetic rows for EXCHANGES x SYMBOLS keys: sines that repeat
          across symbols and a small meta (compress far better than real data)

Beside the columnstore it prints what a user would pick instead: the same rows, in the same
order (exchange, symbol, ts: the columnstore's segments in time order), as one Parquet file
with zstd at level 3 and at level 19 (pyarrow, the research extra; meta as its JSON text).
And where the compressed bytes go: each column's bytes per row in the compressed chunk (sum
of pg_column_size over its rows: the column's compressed batches, after TOAST compression)
beside the same column's compressed bytes in the Parquet file (level 3), meta against the
core columns.
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
    ap.add_argument(
        "--data",
        choices=("bench", "sample"),
        default="sample",
        help="sample: watchlist_db.sample (20 pairs, realistic; default); bench: bench/_data.py's synthetic rows",
    )
    ap.add_argument(
        "--sample-seeds",
        type=int,
        default=1,
        help="sample data: generator runs with seeds 7, 8, ... (20 keys each; default 1; 28: 560 keys)",
    )
    ap.add_argument("--columns", type=int, default=12, help="columns to list in the per-column breakdown")
    args = ap.parse_args()
    target = config.resolve_target(args.dsn)
    day = (datetime.now(UTC) - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
    print(f"engine: {target.describe()}")
    with config.connect(target) as conn:
        conn.execute("SET ROLE wl_owner")
        _data.cleanup(conn)
        if args.data == "sample":
            load_sample(conn, day, args.hours, args.sample_seeds)
        else:
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
        parquet = parquet_sizes(conn, day, day + timedelta(hours=args.hours))
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
        per_column = column_bytes(conn, chunks)
        _data.cleanup(conn)
    after = int(stats[1] or 0)
    print(f"rows: {n:,} in {len(chunks)} chunk(s); compress_chunk took {comp_s:.1f} s")
    print()
    print(f"{'measure':<34}{'bytes/row':>12}{'baseline':>12}{'ratio':>8}")
    print(f"{'raw chunk, row store (baseline)':<34}{before / n:>12.1f}{'':>12}{'':>8}")
    print(f"{'raw chunk, compressed':<34}{after / n:>12.1f}{before / n:>12.1f}{before / max(after, 1):>7.1f}x")
    if parquet:
        for level in (3, 19):
            b = parquet[level]["total"]
            print(
                f"{'Parquet + zstd ' + str(level) + ' (same rows/order)':<34}{b / n:>12.1f}{after / n:>12.1f}{after / b:>7.2f}x"
            )
        print("  (ratio: columnstore bytes over Parquet bytes; at most 1.00 is the target)")
    else:
        print("Parquet + zstd: not measured (pyarrow missing: pip install -e '.[research]')")
    print(
        f"per day at 7 x 800 x 1 min (8.06M rows): {before / n * 8.064e6 / 2**30:.2f} GiB row store, "
        f"{after / n * 8.064e6 / 2**30:.2f} GiB compressed"
    )
    pq_cols = parquet[3]["columns"] if parquet else {}
    print(f"\nwhere the compressed bytes go ({args.data} data; column data after TOAST compression):")
    print(f"  {'column':<32}{'columnstore':>12}{'Parquet zstd 3':>16}")
    rest, pq_rest = sum(per_column.values()), sum(pq_cols.values())
    for col, b in sorted(per_column.items(), key=lambda kv: -kv[1])[: args.columns]:
        pq = pq_cols.get(col)
        print(f"  {col:<32}{b / n:>8.2f} B/row{'' if pq is None else format(pq / n, '>10.2f') + ' B/row'}")
        rest -= b
        pq_rest -= pq or 0
    print(f"  {'(other columns)':<32}{rest / n:>8.2f} B/row{pq_rest / n:>10.2f} B/row")
    print(
        f"  {'(pages, TOAST chunks, index)':<32}{(after - sum(per_column.values())) / n:>8.2f} B/row"
        + (f"{(parquet[3]['total'] - sum(pq_cols.values())) / n:>10.2f} B/row (footer, metadata)" if parquet else "")
    )
    meta_cs = per_column.get("meta", 0)
    core_cs = sum(v for k, v in per_column.items() if k != "meta" and not k.startswith("_ts_meta"))
    if parquet:
        print(
            f"  meta vs the other columns: columnstore {meta_cs / n:.1f} vs {core_cs / n:.1f} B/row; "
            f"Parquet zstd 3 {pq_cols.get('meta', 0) / n:.1f} vs {(sum(pq_cols.values()) - pq_cols.get('meta', 0)) / n:.1f} B/row"
        )
    _data.write_json(
        args.json,
        {
            "rows": n,
            "data": args.data,
            "row_store": before / n,
            "compressed": after / n,
            "columns": {k: v / n for k, v in per_column.items()},
            "parquet_zstd3": parquet[3]["total"] / n if parquet else None,
            "parquet_zstd19": parquet[19]["total"] / n if parquet else None,
            "parquet_columns": {k: v / n for k, v in pq_cols.items()},
        },
    )
    if target.embedded:
        print("note: embedded engine; sizes are PostgreSQL's and carry over to a real server, timings do not")
    return 0


def parquet_sizes(conn, lo, hi) -> dict | None:
    """The raw rows of [lo, hi) (bench prefix) in the columnstore's order as a Parquet file,
    zstd level 3 and 19: {level: {"total": file bytes, "columns": {column: compressed bytes}}};
    None without pyarrow."""
    try:
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    cur = conn.execute(
        "SELECT * FROM watchlist_data.watch_signal_raw WHERE exchange LIKE 'bench%%' AND ts >= %s AND ts < %s "
        "ORDER BY exchange, symbol, ts",
        (lo, hi),
    )
    names = [d.name for d in cur.description]
    rows = cur.fetchall()
    import json

    cols = {}
    for i, name in enumerate(names):
        vals = [r[i] for r in rows]
        if name == "meta":
            vals = [None if v is None else json.dumps(v, separators=(",", ":")) for v in vals]
        cols[name] = vals
    table = pa.table(cols)
    out = {}
    for level in (3, 19):
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd", compression_level=level)
        md = pq.ParquetFile(io.BytesIO(buf.getvalue())).metadata
        per: dict[str, int] = {}
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            for c in range(rg.num_columns):
                cc = rg.column(c)
                per[cc.path_in_schema] = per.get(cc.path_in_schema, 0) + cc.total_compressed_size
        out[level] = {"total": len(buf.getvalue()), "columns": per}
    return out


def column_bytes(conn, chunks: list[str]) -> dict[str, int]:
    """Bytes of each column in the compressed chunks of `chunks` (pg_column_size: stored size)."""
    out: dict[str, int] = {}
    comp = [
        r[0]
        for r in conn.execute(
            """SELECT format('%%I.%%I', c2.schema_name, c2.table_name)
                 FROM _timescaledb_catalog.chunk c1 JOIN _timescaledb_catalog.chunk c2 ON c2.id = c1.compressed_chunk_id
                WHERE format('%%I.%%I', c1.schema_name, c1.table_name) = ANY(%s::text[])""",
            (chunks,),
        )
    ]
    for cc in comp:
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (cc,),
            )
        ]
        sums = conn.execute(
            "SELECT " + ", ".join(f'coalesce(sum(pg_column_size("{c}")), 0)::bigint' for c in cols) + f" FROM {cc}"
        ).fetchone()
        for c, v in zip(cols, sums):
            out[c] = out.get(c, 0) + v
    return out


def load_sample(conn, day, hours: int, seeds: int = 1) -> None:
    """watchlist_db.sample's minutes from `day`, through snapshot.to_raw_rows and ingest_raw, under
    the bench-only exchange prefix 'bench' (so that _data.cleanup removes them). With seeds > 1
    the generator runs once per seed (7, 8, ...), each run's symbols suffixed with -<seed>: 20
    independent realistic keys per seed, so that a chunk holds as many keys as a real one
    would (a compressed chunk's pages, TOAST and index cost less per row then)."""
    import json

    from psycopg.types.json import Jsonb

    from watchlist_db import sample, snapshot

    buf: list = []

    def flush() -> None:
        got = conn.execute("SELECT rejected FROM watchlist.ingest_raw(%s, 'bench-storage')", (Jsonb(buf),)).fetchone()
        assert got[0] == 0, got
        buf.clear()

    for seed in range(7, 7 + seeds):
        for _, snap in sample.generate(hours / 24, day, seed=seed):
            good, _bad = snapshot.to_raw_rows(snap)
            for _, text in good:
                row = json.loads(text)
                row["exchange"] = "bench" + row["exchange"]
                if seeds > 1:
                    row["symbol"] = f"{row['symbol']}-{seed}"
                buf.append(row)
            if len(buf) >= 2000:
                flush()
    if buf:
        flush()


if __name__ == "__main__":
    sys.exit(main())
