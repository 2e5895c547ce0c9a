#!/usr/bin/env python3
"""All benchmarks in one command, each printing its figures with the baseline side by side:

  ingest    the insert hook vs naive row-by-row INSERT, executemany, multi-row VALUES, COPY
  storage   bytes per raw row before and after compression
  merge     event merge: full rebuild, per-minute incremental run vs look-back re-merge
  outcomes  labelling a day of events vs one call per event; steady state
  read      series() / metrics() p50 / p99 vs the raw time_bucket queries
  refresh   the refresh policies' run after 5 new minutes, at 1 and 7 days of history, vs
            materialising their window from nothing

    python bench/run.py                 # small scale on the embedded engine (a few minutes)
    python bench/run.py --symbols 800   # 7 x 800 keys (the seed's full scale; slow on the embedded engine)
    python bench/run.py --dsn 'host=... dbname=...'   # any server (credentials from libpq)
    python bench/run.py --only merge,read
    python bench/run.py --dsn ... --symbols 800 --storage-symbols 100   # the summary table

On a server the read bench runs in a fresh database (created, migrated, dropped; needs
CREATEDB; --same-db to use the given one). At the end it prints the summary table: every
measure beside the baseline measured in the same run and the target. Wrap heavy runs in
`flock /tmp/bench.lock` on a shared machine.

Figures from the embedded engine (WebAssembly, one session) say nothing about a real
server's speed; sizes and ratios carry over better than timings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--symbols", type=int, default=40, help="symbols per exchange (7 exchanges); 800 = full scale")
    ap.add_argument("--only", default="ingest,storage,merge,outcomes,read,refresh")
    ap.add_argument(
        "--storage-symbols",
        type=int,
        default=None,
        help="symbols per exchange for the storage bench (bytes/row do not depend on the scale)",
    )
    ap.add_argument("--ingest-rows", type=int, default=None)
    ap.add_argument(
        "--same-db",
        action="store_true",
        help="on a server, run the read bench in the given database instead of a fresh one "
        "(no CREATEDB needed; its nothing-materialised state is skipped when an earlier refresh covers the window)",
    )
    args = ap.parse_args()
    from watchlist_db import config

    on_server = not config.resolve_target(args.dsn).embedded
    out = Path(tempfile.mkdtemp(prefix="wldb-bench-"))
    dsn = ["--dsn", args.dsn] if args.dsn else []
    sym = ["--symbols", str(args.symbols)]
    plan = {
        "ingest": ["ingest.py", "--rows", str(args.ingest_rows or max(2000, args.symbols * 125))],
        "storage": ["storage.py", "--symbols", str(args.storage_symbols or args.symbols), "--hours", "24"],
        "merge": ["merge.py", *sym, "--hours", "24", "--minutes", "3"],
        "outcomes": ["outcomes.py", *sym, "--day-hours", "24"],
        "read": ["read.py", *sym, *(["--fresh-db"] if on_server and not args.same_db else [])],
        "refresh": ["refresh.py", *sym, *(["--same-db"] if args.same_db else [])],
    }
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in plan]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; known: {', '.join(plan)}")
        return 2
    failed = []
    # every bench expects the schema: apply the migrations first (a no-op when up to date)
    print("migrating (a no-op when up to date) ...", flush=True)
    rc = subprocess.run([sys.executable, "-m", "watchlist_db.cli", *dsn, "migrate"]).returncode
    if rc:
        print(f"migrate failed (exit {rc}); no benchmark run")
        return 1
    for name in names:
        script, *rest = plan[name]
        print(f"\n{'=' * 20} {name} {'=' * 20}", flush=True)
        t = time.monotonic()
        js = [] if name == "merge" else ["--json", str(out / f"{name}.json")]
        rc = subprocess.run([sys.executable, str(HERE / script), *rest, *dsn, *js]).returncode
        print(f"[{name}: {time.monotonic() - t:.0f} s{'' if rc == 0 else f', exit {rc}'}]", flush=True)
        if rc:
            failed.append(name)
    summary(out)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


def summary(out: Path) -> None:
    """The summary table: each measure, its baseline from the same run, the target."""

    def load(name):
        try:
            return json.loads((out / f"{name}.json").read_text())
        except (OSError, ValueError):
            return None

    rows = []
    ing = load("ingest")
    if ing:
        m = {r["name"].split(" (")[0]: r for r in ing["methods"]}
        naive, copy, api = m.get("naive INSERT"), m.get("COPY + INSERT ON CONFLICT"), m.get("ingest_raw")
        hook = m.get("writer hook")

        def rps(r):
            return r.get("rows_per_s") if r else None

        cp = rps(copy)
        for label, r in (
            ("ingest_raw rows/s", api),
            ("ingest_raw pipelined rows/s", m.get("ingest_raw pipelined")),
            ("ingest_raw_columns (typed arrays) rows/s", m.get("ingest_raw_columns")),
            ("writer hook end to end rows/s", hook),
        ):
            if r and rps(r):
                vs_copy = f"{rps(r) / cp:.0%} of COPY {cp:,.0f}" if cp else "COPY n/a"
                rows.append(
                    (
                        label + f" ({ing['meta_bytes']:.0f} B meta)",
                        f"{rps(r):,.0f}",
                        f"{vs_copy}; {rps(r) / rps(naive):.1f}x naive {rps(naive):,.0f}",
                        ">= 80% of COPY; >= 10x naive",
                    )
                )
        for label, r in (
            ("ingest_raw", api),
            ("ingest_raw_columns", m.get("ingest_raw_columns")),
            ("COPY + INSERT ON CONFLICT", copy),
            ("naive INSERT", naive),
            ("writer hook", hook),
        ):
            if r and "server_us_row" in r:
                f = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
                rows.append(
                    (
                        f"  CPU us/row: {label}",
                        f"server {f(r['server_us_row'])}, backend {f(r['backend_us_row'])}",
                        f"client {f(r['client_us_row'])}",
                        "",
                    )
                )
    oc = load("outcomes")
    if oc:
        for hist, runs in oc["steady"].items():
            lab = sorted(r["label_ms"] for r in runs)
            mer = sorted(r["merge_ms"] for r in runs)
            rows.append(
                (
                    f"outcome job, 1 new minute, {oc['keys']:,} keys, {hist} d history",
                    f"{lab[len(lab) // 2]:.0f} ms (max {lab[-1]:.0f})",
                    f"merge job {mer[len(mer) // 2]:.0f} ms",
                    "<= 100 ms",
                )
            )
        rows.append(("  outcome job run that re-ranks open days (hourly)", f"{oc['rank_ms']:.0f} ms", "", ""))
        rows.append(
            (
                f"  full labelling of {oc['events']:,} events",
                f"{oc['full_s']:.2f} s",
                f"{oc['baseline_s']:.1f} s one call per event",
                "",
            )
        )
    rd = load("read")
    if rd:
        for state, t in rd["results"].items():
            for q in ("series", "metrics"):
                a, r = t[q], t["raw " + q]
                rows.append(
                    (
                        f"{q}() p50 / p99, {rd['keys']:,} keys, {state}",
                        f"{a['p50']:.1f} / {a['p99']:.1f} ms",
                        f"raw query {r['p50']:.1f} / {r['p99']:.1f} ms",
                        "p50 <= 2 ms, p99 <= 5 ms",
                    )
                )
            if "list" in t:
                rows.append(
                    (
                        f"watchlist_list() 20 symbols, {state}",
                        f"{t['list']['p50']:.1f} / {t['list']['p99']:.1f} ms",
                        f"20 x metrics() {t['20 x metrics']['p50']:.1f} / {t['20 x metrics']['p99']:.1f} ms"
                        if "20 x metrics" in t
                        else "",
                        "p50 <= 5 ms",
                    )
                )
    rf = load("refresh")
    if rf:
        for r in rf["runs"]:
            rows.append(
                (
                    f"refresh {r['aggregate']}, 5 new minutes, {rf['keys']:,} keys, {r['history']}",
                    f"{r['median_ms']:.0f} ms (max {r['max_ms']:.0f})",
                    f"its window from nothing {rf['baseline_s'][r['aggregate']]:.1f} s",
                    "in proportion to new work",
                )
            )
    st = load("storage")
    if st:
        rows.append(
            (
                "raw bytes/row compressed",
                f"{st['compressed']:.1f}",
                f"row store {st['row_store']:.1f} ({st['row_store'] / st['compressed']:.1f}x)",
                ">= 10x",
            )
        )
        top = sorted(st.get("columns", {}).items(), key=lambda kv: -kv[1])[:4]
        if top:
            rows.append(("  compressed B/row by column", ", ".join(f"{k} {v:.1f}" for k, v in top), "", ""))
    if not rows:
        return
    w = [max(len(r[i]) for r in rows + [("measure", "result", "baseline (same run)", "target")]) for i in range(4)]
    print("\n" + "=" * 20 + " summary " + "=" * 20)
    for r in [("measure", "result", "baseline (same run)", "target")] + rows:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))


if __name__ == "__main__":
    sys.exit(main())
