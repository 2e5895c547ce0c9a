"""A writer process for the crash tests (not a test module).

    python writer_child.py SPOOL CONNINFO EMBEDDED SYMBOL T0_EPOCH ROWS_PER_SUBMIT

Submits snapshot k (ROWS_PER_SUBMIT rows, ts = T0 + (k * ROWS_PER_SUBMIT + j) seconds) for
k = 0, 1, ... and prints "OK k" once submit() has returned, then a "STAT {json}" line;
the parent kills it with SIGKILL whenever it likes.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from watchlist_db import config
from watchlist_db.writer import Writer
from writer_helpers import snapshot


def main() -> None:
    spool, conninfo, embedded, symbol, t0, per = sys.argv[1:7]
    t0 = datetime.fromtimestamp(float(t0), UTC)
    per = int(per)
    target = config.Target(conninfo, embedded == "1", "crash test")
    w = Writer(
        target=target, spool_path=spool, max_delay_s=0.05, max_batch_rows=500, connect_timeout_s=2, backoff_s=(0.2, 1)
    )
    print(f"STAT {json.dumps(w.stats())}", flush=True)
    k = 0
    while True:
        w.submit(snapshot(symbol, t0 + timedelta(seconds=k * per), per, step_s=1))
        print(f"OK {k}", flush=True)
        print(f"STAT {json.dumps(w.stats())}", flush=True)
        k += 1
        time.sleep(0.01)


if __name__ == "__main__":
    main()
