#!/usr/bin/env python3
"""All benchmarks in one command, each printing its figures with the baseline side by side:

  ingest    the insert hook vs naive row-by-row INSERT, executemany, multi-row VALUES, COPY
  storage   bytes per raw row before and after compression
  merge     event merge: full rebuild, per-minute incremental run vs look-back re-merge
  outcomes  labelling a day of events vs one call per event; steady state
  read      series() / metrics() p50 / p99 vs the raw time_bucket queries

    python bench/run.py                 # small scale on the embedded engine (a few minutes)
    python bench/run.py --symbols 800   # 7 x 800 keys (the seed's full scale; slow on the embedded engine)
    python bench/run.py --dsn 'host=... dbname=...'   # any server (credentials from libpq)
    python bench/run.py --only merge,read

Figures from the embedded engine (WebAssembly, one session) say nothing about a real
server's speed; sizes and ratios carry over better than timings.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None)
    ap.add_argument("--symbols", type=int, default=40, help="symbols per exchange (7 exchanges); 800 = full scale")
    ap.add_argument("--only", default="ingest,storage,merge,outcomes,read")
    args = ap.parse_args()
    dsn = ["--dsn", args.dsn] if args.dsn else []
    sym = ["--symbols", str(args.symbols)]
    plan = {
        "ingest": ["ingest.py", "--rows", str(max(2000, args.symbols * 125))],
        "storage": ["storage.py", *sym, "--hours", "24"],
        "merge": ["merge.py", *sym, "--hours", "24", "--minutes", "3"],
        "outcomes": ["outcomes.py", *sym, "--day-hours", "24"],
        "read": ["read.py", *sym],
    }
    failed = []
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        if name not in plan:
            print(f"unknown benchmark {name!r}; known: {', '.join(plan)}")
            return 2
        script, *rest = plan[name]
        print(f"\n{'=' * 20} {name} {'=' * 20}", flush=True)
        t = time.monotonic()
        rc = subprocess.run([sys.executable, str(HERE / script), *rest, *dsn]).returncode
        print(f"[{name}: {time.monotonic() - t:.0f} s{'' if rc == 0 else f', exit {rc}'}]", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
