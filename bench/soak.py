#!/usr/bin/env python3
"""Soak: the whole system at once on a real server with its scheduler on. Prints figures;
it is not a test.

    python bench/soak.py                              # 7 x 800 keys, 7 days of history, 60 minutes
    python bench/soak.py --history-days 0.5 --minutes 15
    python bench/soak.py --keys 7x8000 --history-days 0.1 --minutes 10
    python bench/soak.py --fault kill --fault-at 5    # SIGKILL the server mid-run (own server only)
    python bench/soak.py --history-days 0.1 --fault diskfull --fault-down 120  # the disk fills (own server, root)
    python bench/soak.py --history-days 0.5 --standby # a hot standby serves the reads too (own server only)
    PGHOST=db PGUSER=me python bench/soak.py          # a server of yours (libpq environment / --dsn)

Server: --dsn or libpq's environment (PGHOST, PGPORT, PGDATABASE, PGSERVICE) names one;
otherwise the soak starts its own PostgreSQL 16 + TimescaleDB in a temporary data directory
with ../shared/tools/real-timescaledb (or $WLDB_REAL_TIMESCALEDB) and removes it afterwards
(--keep-server keeps it), set as docs/operations.md recommends for a small, busy host
(shared_buffers 512MB, wal_compression on, 4 TimescaleDB workers, ...; --pg-defaults keeps
PostgreSQL's defaults; --pg-set NAME=VALUE adds a setting, e.g. auto_explain's). It creates a
database of its own there (CREATEDB needed; dropped afterwards unless --keep-db), migrated
from this checkout.

1. History (scheduled jobs paused): --history-days of 1-minute rows for every key, bulk
   loaded server-side (INSERT ... SELECT) from the sample generator's realistic rows
   (watchlist_db.sample: every core column, about 1 KB of meta). The generator has 20
   pairs; key k takes pair k % 20 shifted by (k // 20) % 288 minutes, so neighbouring keys
   differ and each key's series is a realistic one; next_funding_time is recomputed on the
   UTC grid for the key's own minute. Then, as the policies and jobs would have left it:
   chunks older than raw_compress_after compressed, events merged over the history (merge
   watermark at its end), both continuous aggregates refreshed over it, the factor and
   label jobs' watermarks at its end (their one-time backfill of a bulk load is not what a
   steady state costs: no factor rows or labels for the history), VACUUM (ANALYZE) and a
   CHECKPOINT as autovacuum and the checkpointer would have done.
2. Unloaded reads: --unloaded-rounds rounds of the app's reads with nothing else running
   (the jobs scheduled, idle).
3. Live, at wall speed for --minutes: one snapshot of every key per minute, stamped with
   the minute, through the Writer hook (watchlist_db.writer.Writer, its default settings)
   right after the minute starts, as the monitor does; the app's reads every --read-every s
   (watchlist_list, then metrics and the 12 h series of each of --members members); every
   job on its schedule. A probe polls every 5 s for freshness.
4. Report: per component CPU-seconds per hour and share of one core (from /proc, when the
   server runs on this machine: each server process attributed by pg_stat_activity to the
   writer, the reads, the probe, a job (by id) or the server's own processes; processes that
   exited between two samples count as "exited, unattributed"; an exited process's last
   moments after its last sample go to its component, from the postmaster's cutime), the
   client's threads;
   freshness lags p50 / p99 / max; reads p50 / p99 / max loaded beside unloaded; job runs,
   failures, errors; WAL and table growth per hour; rows stored vs acknowledged; load average.

Freshness lags (wall time at which the probe or the table shows the result, minus):
  series / metrics  the row's minute (its ts: it is written right then); seen when the probe
                    key's newest bucket carries that minute's spread (probe every 5 s)
  events            the confirming minute (confirmed_at); first seen by the probe (5 s)
  labels            the horizon's end (confirmed_at + horizon); future_outcome.computed_at
  factors           the bucket's end (factor_value.ts); factor_value.computed_at

--standby (own server only): after the history, pg_basebackup makes a hot standby of the
server (PostgreSQL's default standby settings) that serves the same read rounds during the
live minutes; the report adds its replay lag (pg_stat_replication.replay_lag), its reads
loaded and unloaded and their errors, its CPU, and after the live minutes (the primary's jobs
paused, the standby caught up) every read of a round compared with the primary's rows.
bench/soak_standby.py has the details. The standby is a second copy of the database: keep the
history short enough for the disk.

--fault kill (own server only): at minute --fault-at the postmaster is SIGKILLed
(real-timescaledb kill) and started again --fault-down s later; the report adds how long the
writer's spool took to drain and each job's first successful run after the restart, and
checks every acknowledged row stored once and the events equal to a rebuild of the window.

--fault diskfull (own server only, root: it mounts a tmpfs): the server's data directory is
on a tmpfs of --disk-gb; at minute --fault-at a ballast file fills it but for 2 MB, and
--fault-down s later the ballast is removed. The report adds what the server did (running or
not, and whether the soak had to start it), the writer's spool at the worst (rows pending,
none failed or dropped), what `wldb status` said while the disk was full, and then the same
recovery figures and checks as the kill.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "glue"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
import soak_standby  # noqa: E402
from merge import steady  # noqa: E402
from watchlist_db import config, jobs, sample, snapshot  # noqa: E402
from watchlist_db.writer import Writer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIFTS = 288  # distinct minute shifts of the 20 sample pairs
DAILY_JOBS = ("compress", "retention-raw")  # run once in the live minutes (--daily-at); they run daily
DERIVED_DAYS = 2  # days of history with events, labels and aggregate rows (see run)
GAP_MAX = 240  # minutes the preparation after the history may take (filled before the live minutes)
# The own server runs with the settings docs/operations.md recommends for a small, busy host
# (docker/compose.yml's command line), not PostgreSQL's defaults: that is the server whose
# cost the soak reports (--pg-defaults keeps the defaults, to compare)
RECOMMENDED = {
    "shared_buffers": "512MB",
    "max_connections": "30",
    "wal_compression": "on",
    "log_min_duration_statement": "500",
    "timescaledb.max_background_workers": "4",
    "timescaledb.bgw_scheduler_restart_time": "60",
    "max_worker_processes": "12",
}
EXCHANGES = ("binance", "okx", "bybit", "bitget", "gate", "kucoin", "mexc", "htx", "kraken", "bingx")
TICK = os.sysconf("SC_CLK_TCK")
RAW_COLS = """ts, exchange, symbol, signal_type, type_class, triggered, status, spot_price, futures_price,
    spread_rel, funding_rate, funding_interval_hours, next_funding_time, range_1h, range_12h, volatility, slope_3m,
    crossings_1h, drift_ratio, best_buy_high_sell_low, best_sell_high_buy_low, volume_quote, sweep_impact,
    book_imbalance, bid_ask_spread, spread_zscore_1h, spread_zscore_12h, spread_momentum_15m, funding_zscore_7d,
    funding_trend_3d, funding_vol_7d, funding_diff_max, funding_term_slope, rv_1h, rv_12h, hv_ratio,
    premium_index_diff, oi_jump_around_funding, meta, ingested_at"""


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def fmt3(xs: list[float], unit: str = "s", scale: float = 1.0) -> str:
    if not xs:
        return "(none)"
    return f"{pct(xs, 50) * scale:.1f} / {pct(xs, 99) * scale:.1f} / {max(xs) * scale:.1f} {unit} (n={len(xs)})"


# --------------------------------------------------------------------------- the server
def find_tool() -> Path | None:
    env = os.environ.get("WLDB_REAL_TIMESCALEDB")
    if env:
        return Path(env)
    for d in [ROOT, *ROOT.parents]:
        p = d / "shared" / "tools" / "real-timescaledb"
        if p.exists():
            return p
    return None


class OwnServer:
    """A private PostgreSQL 16 + TimescaleDB started with real-timescaledb."""

    def __init__(self, tool: Path, data: Path, port: int):
        self.tool, self.data, self.port = tool, data, port
        self.env = {**os.environ, "REAL_PG_MAJOR": os.environ.get("REAL_PG_MAJOR", "16")}

    def run(self, *args: str) -> str:
        return subprocess.run(
            [str(self.tool), *args], check=True, capture_output=True, text=True, env=self.env
        ).stdout.strip()

    def start(self) -> str:
        return self.run("start", str(self.data), str(self.port)).splitlines()[-1]

    def kill(self) -> None:
        self.run("kill", str(self.data))

    def pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid (None without one)."""
        try:
            return soak_standby.postmaster_pid(self.data)
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        """The postmaster of this data directory is alive."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.run("stop", str(self.data))


# --------------------------------------------------------------------------- CPU by component
def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


class CpuMeter:
    """Server CPU by component from /proc (a local server), sampled every 0.5 s: each
    postmaster child's utime + stime, attributed by pg_stat_activity (application_name /
    backend_type; job workers by job id to the job's alias). Exited children's last
    sample counts for their component. What they used after it (a job's last half second)
    is found from the postmaster's cutime + cstime, which grows by a reaped child's whole
    CPU: its growth between two samples, less the last samples of the children that
    exited in between, is their tail, shared among those children's components by their
    count. Children that came and went between two samples were never seen: their CPU is
    "exited, unattributed" (the server total minus everything attributed), unless a seen
    child exited in the same interval, whose tail then takes it."""

    def __init__(self, conninfo: str, postmaster: int, job_names: dict[int, str]):
        self.conninfo, self.pm, self.job_names = conninfo, postmaster, job_names
        self.seen: dict[int, tuple[str, float, float]] = {}  # pid -> (component, cpu at first sample, last cpu)
        self.alive: set[int] = set()  # children alive at the last sample
        self.reaped_cpu = self.reaped()  # the postmaster's cutime + cstime at the last sample
        self.tails: dict[str, float] = {}  # component -> CPU after its exited children's last samples
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.base_total = self.total()
        self.thread = threading.Thread(target=self.loop, daemon=True, name="soak-cpu")

    def total(self) -> float:
        f = _stat(self.pm)
        if f is None:
            return 0.0
        t = sum(int(x) for x in f[11:15]) / TICK
        for pid in self.children():
            c = _stat(pid)
            if c:
                t += (int(c[11]) + int(c[12])) / TICK
        return t

    def reaped(self) -> float:
        """CPU of the postmaster's reaped children (cutime + cstime), s."""
        f = _stat(self.pm)
        return (int(f[13]) + int(f[14])) / TICK if f else 0.0

    def children(self) -> list[int]:
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                c = _stat(int(d))
                if c is not None and int(c[1]) == self.pm:
                    out.append(int(d))
        return out

    conn: psycopg.Connection | None = None

    def classify(self, pids: set[int]) -> dict[int, str]:
        # one connection for the whole run: a connection per sample would put a backend's
        # start-up and exit on the server every 0.5 s, the meter measuring itself
        names: dict[int, str] = {}
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.conninfo, autocommit=True, application_name="wldb-soak-cpu")
            for pid, app, btype, dat in self.conn.execute(
                "SELECT pid, application_name, backend_type, datname FROM pg_stat_activity"
            ):
                names[pid] = self.component(app or "", btype or "", dat)
        except psycopg.Error:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None
        for pid in pids - names.keys():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmd = "?"
            names[pid] = "server: " + cmd.replace("postgres:", "").strip()[:40]
        return names

    def component(self, app: str, btype: str, dat) -> str:
        if app.startswith("wldb-writer"):
            return "writer (ingest_raw)"
        if app.startswith("wldb-soak-read"):
            return "app reads"
        if app.startswith(("wldb-soak-probe", "wldb-soak-cpu", "wldb-soak-main")):
            return "soak probe / control"
        # a job worker's application_name names its job id; before the worker sets it,
        # its backend_type does (e.g. "User-Defined Action [1009]")
        for name in (app, btype):
            if "[" in name and name.endswith("]"):
                with contextlib.suppress(ValueError):
                    jid = int(name.rsplit("[", 1)[1][:-1])
                    return "job " + self.job_names.get(jid, str(jid))
        if app == "TimescaleDB Background Worker Scheduler" or btype.startswith("TimescaleDB Background Worker S"):
            return "TimescaleDB scheduler"
        if btype == "client backend":
            return f"other client ({app or '?'})"
        return f"server: {btype or app}"

    def loop(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()

    def sample(self) -> None:
        # a child reaped between these two reads (milliseconds) is missing from the children
        # but its CPU comes in the next interval's growth: that tail stays unattributed
        reaped = self.reaped()
        kids = self.children()
        now_cpu = {}
        for pid in kids:
            c = _stat(pid)
            if c:
                now_cpu[pid] = (int(c[11]) + int(c[12])) / TICK
        new = {p for p in now_cpu if p not in self.seen}
        names = self.classify(new) if new else {}
        with self.lock:
            gone = [p for p in self.alive if p not in now_cpu and p in self.seen]
            tail = reaped - self.reaped_cpu - sum(self.seen[p][2] for p in gone)
            if gone and tail > 0 and self.started:
                for p in gone:
                    comp = self.seen[p][0]
                    self.tails[comp] = self.tails.get(comp, 0.0) + tail / len(gone)
            self.reaped_cpu, self.alive = reaped, set(now_cpu)
            for pid, cpu in now_cpu.items():
                if pid in self.seen:
                    comp, first, _ = self.seen[pid]
                    self.seen[pid] = (comp, first, cpu)
                else:
                    # a process alive when the meter started counts from then; one born later from 0
                    first = cpu if not self.started else 0.0
                    self.seen[pid] = (names.get(pid, "server: ?"), first, cpu)

    started = False

    def start(self) -> None:
        self.sample()
        self.started = True
        self.base_total = self.total()
        self.thread.start()

    def finish(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join(5)
        self.sample()
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        out: dict[str, float] = {}
        with self.lock:
            for comp, first, last in self.seen.values():
                out[comp] = out.get(comp, 0.0) + (last - first)
            for comp, t in self.tails.items():
                out[comp] = out.get(comp, 0.0) + t
        total = self.total() - self.base_total
        out["exited, unattributed"] = max(0.0, total - sum(out.values()))
        out["(server total)"] = total
        return out


def thread_cpu(native_id: int) -> float:
    try:
        f = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK
    except (OSError, IndexError):
        return 0.0


# --------------------------------------------------------------------------- data
def key_names(n_ex: int, n_sym: int) -> list[tuple[str, str, int, int]]:
    """(exchange, symbol, pair, shift) of every key."""
    out = []
    for e in range(n_ex):
        for s in range(n_sym):
            k = e * n_sym + s
            out.append(
                (
                    EXCHANGES[e % len(EXCHANGES)] + ("" if e < len(EXCHANGES) else str(e)),
                    f"S{s:05d}USDT",
                    k % 20,
                    (k // 20) % SHIFTS,
                )
            )
    return out


def next_funding(ts: datetime, hours: float) -> datetime:
    step = int(hours * 3600)
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp((epoch // step + 1) * step, UTC)


def generate_stage(stage_start: datetime, minutes: int) -> list[list[dict]]:
    """The sample generator's 20 pairs for `minutes` minutes from stage_start."""
    out = []
    for _, snap in sample.generate(minutes / 1440, stage_start):
        out.append(snap)
    return out


def load_stage(conn, stage: list[list[dict]], keys) -> None:
    """The stage (20 pairs x minutes, typed like the raw table) and the keys, as the
    session's own (superuser) role; the owner role reads them."""
    conn.execute("DROP TABLE IF EXISTS public.soak_stage, public.soak_keys")
    conn.execute("CREATE UNLOGGED TABLE public.soak_keys (exchange text, symbol text, pair int, shift int)")
    with conn.cursor().copy("COPY public.soak_keys FROM STDIN") as cp:
        for k in keys:
            cp.write_row(k)
    conn.execute(
        "CREATE UNLOGGED TABLE public.soak_stage AS SELECT 0 AS pair, 0 AS m, r.* "
        "FROM watchlist_data.watch_signal_raw AS r WITH NO DATA"
    )
    conn.execute("CREATE TEMP TABLE soak_json (pair int, m int, row jsonb)")
    buf = io.StringIO()
    for m, snap in enumerate(stage):
        good, bad = snapshot.to_raw_rows(snap)
        assert not bad, bad
        for i, text in good:
            buf.write(f"{i}\t{m}\t{text.replace(chr(92), chr(92) * 2)}\n")
    with conn.cursor().copy("COPY soak_json FROM STDIN") as cp:
        cp.write(buf.getvalue())
    conn.execute(
        f"""INSERT INTO public.soak_stage (pair, m, {RAW_COLS})
            SELECT j.pair, j.m, r.ts, r.exchange, r.symbol, coalesce(r.signal_type, r.type_class), r.type_class,
                   r.triggered, r.status, r.spot_price, r.futures_price, r.spread_rel, r.funding_rate,
                   r.funding_interval_hours, r.next_funding_time, r.range_1h, r.range_12h, r.volatility, r.slope_3m,
                   r.crossings_1h, r.drift_ratio, r.best_buy_high_sell_low, r.best_sell_high_buy_low, r.volume_quote,
                   r.sweep_impact, r.book_imbalance, r.bid_ask_spread, r.spread_zscore_1h, r.spread_zscore_12h,
                   r.spread_momentum_15m, r.funding_zscore_7d, r.funding_trend_3d, r.funding_vol_7d,
                   r.funding_diff_max, r.funding_term_slope, r.rv_1h, r.rv_12h, r.hv_ratio, r.premium_index_diff,
                   r.oi_jump_around_funding, coalesce(j.row -> 'meta', '{{}}'), now()
              FROM soak_json AS j, jsonb_populate_record(NULL::watchlist_data.watch_signal_raw, j.row) AS r"""
    )
    conn.execute("CREATE INDEX ON public.soak_stage (pair, m)")
    conn.execute("ANALYZE public.soak_stage")
    conn.execute("ANALYZE public.soak_keys")
    conn.execute("GRANT SELECT ON public.soak_stage, public.soak_keys TO wl_owner")


HISTORY_SQL = f"""
INSERT INTO watchlist_data.watch_signal_raw ({RAW_COLS})
SELECT t.ts, k.exchange, k.symbol, s.signal_type, s.type_class, s.triggered, s.status, s.spot_price, s.futures_price,
       s.spread_rel, s.funding_rate, s.funding_interval_hours,
       date_bin(make_interval(hours => s.funding_interval_hours::int), t.ts, 'epoch') + make_interval(hours => s.funding_interval_hours::int),
       s.range_1h, s.range_12h, s.volatility, s.slope_3m, s.crossings_1h, s.drift_ratio, s.best_buy_high_sell_low,
       s.best_sell_high_buy_low, s.volume_quote, s.sweep_impact, s.book_imbalance, s.bid_ask_spread, s.spread_zscore_1h,
       s.spread_zscore_12h, s.spread_momentum_15m, s.funding_zscore_7d, s.funding_trend_3d, s.funding_vol_7d,
       s.funding_diff_max, s.funding_term_slope, s.rv_1h, s.rv_12h, s.hv_ratio, s.premium_index_diff,
       s.oi_jump_around_funding, s.meta, t.ts + INTERVAL '3 seconds'
  FROM generate_series(%(j0)s::int, %(j1)s::int - 1) AS j
 CROSS JOIN LATERAL (SELECT %(t0)s::timestamptz + make_interval(mins => j) AS ts) AS t
  JOIN public.soak_keys AS k ON true
  JOIN public.soak_stage AS s ON s.pair = k.pair AND s.m = j + {SHIFTS} - k.shift
 ORDER BY 1
"""


def load_history(conn, keys, t0: datetime, minutes: int, compress_before: datetime | None = None) -> float:
    """Loads the history in slices; with compress_before, every chunk followed by another
    that ends before it is compressed as soon as it is loaded (a week of uncompressed rows
    would not fit many disks; the newest such chunk is left to the caller)."""
    step = max(1, 200_000 // len(keys))
    t = time.perf_counter()
    interval = conn.execute(
        "SELECT time_interval FROM timescaledb_information.dimensions "
        "WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw'"
    ).fetchone()[0]
    for j in range(0, minutes, step):
        conn.execute(HISTORY_SQL, {"j0": j, "j1": min(j + step, minutes), "t0": t0})
        done = min(j + step, minutes)
        if compress_before is not None:
            for (ch,) in conn.execute(
                "SELECT format('%%I.%%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks "
                "WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw' "
                "AND NOT is_compressed AND range_end <= %s AND range_end + %s <= %s",
                (t0 + timedelta(minutes=done), interval, compress_before),
            ).fetchall():
                conn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (ch,))
        el = time.perf_counter() - t
        print(f"\r  history {done / minutes:6.1%}  {done * len(keys) / el:,.0f} rows/s", end="", flush=True)
    print()
    return time.perf_counter() - t


# --------------------------------------------------------------------------- reads, probe
READS = {
    "watchlist_list": "SELECT count(*) FROM watchlist.watchlist_list()",
    "metrics": "SELECT count(*) FROM watchlist.metrics(%s, %s)",
    "series 12h": "SELECT count(*) FROM watchlist.series(%s, %s, 12)",
}


PHASE_S = (0, 15)  # [from, to) s of a minute: the writer's batch and the merge job run then


def reads_by_phase(reader) -> dict[str, tuple[list[float], list[float]]]:
    """Each read's seconds split by when in the minute it started: (first PHASE_S[1] s, rest)."""
    out = {}
    for name, xs in reader.times.items():
        ats = reader.at.get(name, [])
        early = [x for x, w in zip(xs, ats, strict=False) if w % 60 < PHASE_S[1]]
        late = [x for x, w in zip(xs, ats, strict=False) if w % 60 >= PHASE_S[1]]
        out[name] = (early, late)
    return out


def print_read_phases(reader) -> None:
    """One line per read: p50 / p99 / max of those started in the minute's first PHASE_S[1] s
    beside those started later."""
    for name, (early, late) in reads_by_phase(reader).items():
        print(
            f"    {name:<14}:00-:{PHASE_S[1]:02d} {fmt3(early, '', 1000):<36}  :{PHASE_S[1]:02d}-:60 {fmt3(late, '', 1000)}"
        )


def read_round(conn, members, out: dict[str, list[float]], at: dict[str, list[float]] | None = None) -> float:
    """One round of the app's reads; each read's seconds go to out[name] and, with `at`, the
    wall time it started to at[name]."""
    t0 = time.perf_counter()
    calls = [("watchlist_list", None)] + [(name, m) for m in members for name in ("metrics", "series 12h")]
    for name, m in calls:
        w, t = time.time(), time.perf_counter()
        conn.execute(READS[name], m).fetchall()
        out.setdefault(name, []).append(time.perf_counter() - t)
        if at is not None:
            at.setdefault(name, []).append(w)
    return time.perf_counter() - t0


class Reader:
    """The app's read rounds, every `every` s until `stop`, in a process of their own.

    The app that reads is not the monitor that writes, and a thread of the soak's process
    would time its reads behind the GIL while the snapshot build and submit() hold it: that
    showed as a read tail at every minute's start that the server did not cause. After
    join(): times[name] (seconds), at[name] (wall time each read started), rounds
    [(wall, seconds)], errors, cpu_s (the reading process' CPU)."""

    def __init__(self, conninfo, members, every: float, stop: threading.Event):
        ctx = multiprocessing.get_context("spawn")
        self._stop, self._mp_stop = stop, ctx.Event()
        self._rx, tx = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_reader_main,
            args=(conninfo, list(members), every, self._mp_stop, tx),
            daemon=True,
            name="soak-reader",
        )
        self.times: dict[str, list[float]] = {}
        self.at: dict[str, list[float]] = {}
        self.rounds: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self.cpu_s = 0.0

    def start(self) -> None:
        self._proc.start()
        threading.Thread(target=lambda: (self._stop.wait(), self._mp_stop.set()), daemon=True).start()

    def join(self, timeout: float) -> None:
        self._mp_stop.set()
        if self._rx.poll(timeout):
            self.times, self.at, self.rounds, self.errors, self.cpu_s = self._rx.recv()
        else:
            self.errors.append("the reading process sent no result")
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()


def _reader_main(conninfo, members, every, stop, tx) -> None:
    r = ReadLoop(conninfo, members, every, stop)
    r.run()
    t = os.times()
    tx.send((r.times, r.at, r.rounds, r.errors, t.user + t.system))


class ReadLoop:
    def __init__(self, conninfo, members, every: float, stop):
        self.conninfo, self.members, self.every, self.stop_ev = conninfo, members, every, stop
        self.times: dict[str, list[float]] = {}
        self.at: dict[str, list[float]] = {}
        self.rounds: list[tuple[float, float]] = []  # (wall, seconds)
        self.errors: list[str] = []

    def run(self) -> None:
        conn = None
        nxt = time.time()
        while not self.stop_ev.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.conninfo, autocommit=True, application_name="wldb-soak-read")
                w = time.time()
                self.rounds.append((w, read_round(conn, self.members, self.times, self.at)))
            except psycopg.Error as e:
                self.errors.append(f"{datetime.now(UTC):%H:%M:%S} {type(e).__name__}: {str(e).strip()[:160]}")
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
            nxt += self.every
            self.stop_ev.wait(max(0.0, nxt - time.time()))


class Probe(threading.Thread):
    """Every 5 s: which minute of the probe key series() and metrics() show, and events
    newly confirmed."""

    def __init__(self, conninfo, key, spreads: dict, start: datetime, stop: threading.Event):
        super().__init__(daemon=True, name="soak-probe")
        self.conninfo, self.key, self.spreads, self.start_ts, self.stop_ev = conninfo, key, spreads, start, stop
        self.series_seen: dict[datetime, float] = {}
        self.metrics_seen: dict[datetime, float] = {}
        self.events_seen: dict[tuple, tuple[datetime, float]] = {}
        self.errors: list[str] = []

    def minute_of(self, spread) -> datetime | None:
        if spread is None:
            return None
        for m, v in list(self.spreads.items())[-20:]:
            if v == spread or abs(v - spread) <= 1e-12 * max(1.0, abs(v)):
                return m
        return None

    def run(self) -> None:
        conn = None
        while not self.stop_ev.wait(5):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.conninfo, autocommit=True, application_name="wldb-soak-probe")
                now = time.time()
                r = conn.execute(
                    "SELECT spread_rel FROM watchlist.series(%s, %s, 1) WHERE NOT filled ORDER BY ts DESC LIMIT 1",
                    self.key,
                ).fetchone()
                m = self.minute_of(r[0] if r else None)
                if m is not None:
                    self.series_seen.setdefault(m, now)
                r = conn.execute("SELECT spread_latest FROM watchlist.metrics(%s, %s)", self.key).fetchone()
                m = self.minute_of(r[0] if r else None)
                if m is not None:
                    self.metrics_seen.setdefault(m, now)
                for ex, sym, st, s0, conf in conn.execute(
                    """SELECT exchange, symbol, signal_type, start_ts, confirmed_at FROM watchlist_data.watch_signal_event
                        WHERE confirmed_at >= %s AND updated_at >= now() - INTERVAL '10 minutes'""",
                    (self.start_ts,),
                ):
                    self.events_seen.setdefault((ex, sym, st, s0), (conf, now))
            except psycopg.Error as e:
                self.errors.append(f"{datetime.now(UTC):%H:%M:%S} {type(e).__name__}: {str(e).strip()[:160]}")
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None


def minute_lags(seen: dict[datetime, float]) -> list[float]:
    """Lag of each minute: the first time it or a later minute was seen, minus the minute."""
    out = []
    items = sorted(seen.items())
    for i, (m, _) in enumerate(items):
        first = min(w for _, w in items[i:])
        out.append(first - m.timestamp())
    return out


# --------------------------------------------------------------------------- server state
def job_table(conn) -> dict[int, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            """SELECT j.job_id, coalesce(s.total_runs, 0), coalesce(s.total_successes, 0), coalesce(s.total_failures, 0),
                      s.last_run_duration
                 FROM timescaledb_information.jobs AS j
                 LEFT JOIN timescaledb_information.job_stats AS s USING (job_id)
                WHERE j.hypertable_schema = 'watchlist_data' OR j.proc_schema = 'watchlist_data'"""
        )
    }


def job_aliases(conn) -> dict[int, str]:
    rows = conn.execute(
        """SELECT job_id, proc_name::text, coalesce(hypertable_name::text, proc_name::text)
             FROM timescaledb_information.jobs WHERE hypertable_schema = 'watchlist_data' OR proc_schema = 'watchlist_data'"""
    ).fetchall()
    out = {}
    for jid, proc, tgt in rows:
        out[jid] = next((a for a, (p, t) in jobs.ALIASES.items() if p == proc and (t is None or t == tgt)), proc)
    return out


def sizes(conn) -> dict[str, int]:
    out = {}
    for (rel,) in conn.execute(
        "SELECT format('%I.%I', hypertable_schema, hypertable_name) FROM timescaledb_information.hypertables"
    ):
        out[rel] = conn.execute("SELECT hypertable_size(%s::regclass)", (rel,)).fetchone()[0] or 0
    for rel, b in conn.execute(
        """SELECT format('%I.%I', n.nspname, c.relname), pg_total_relation_size(c.oid) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'watchlist_data' AND c.relkind = 'r'
              AND NOT EXISTS (SELECT FROM timescaledb_information.hypertables h
                               WHERE h.hypertable_schema = n.nspname AND h.hypertable_name = c.relname)"""
    ):
        out[rel] = b
    return out


def wal_lsn(conn) -> int:
    return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


# --------------------------------------------------------------------------- main
def _apply_settings(own: OwnServer, admin: str, settings: dict[str, str]) -> None:
    """ALTER SYSTEM each setting and restart. Connect with the conninfo of the first start:
    the one printed once ALTER SYSTEM has quoted the port lacks it."""
    # two rounds: the server's own settings (shared_preload_libraries among them), then,
    # after a restart, the modules' dotted ones: a preloaded module such as
    # pg_stat_statements defines its settings only when it is loaded at start-up
    for round_ in ([k for k in settings if "." not in k], [k for k in settings if "." in k]):
        if not round_:
            continue
        with psycopg.connect(admin, autocommit=True) as c:
            for k in round_:
                if "." in k:  # a module loadable per session (auto_explain) defines them now
                    with contextlib.suppress(psycopg.Error):
                        c.execute(sql.SQL("LOAD {}").format(sql.Literal(k.split(".")[0])))
                c.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(*k.split(".")),
                        # a list setting (a,b) as a list of values, not one name with a comma
                        sql.SQL(", ").join(sql.Literal(x.strip()) for x in settings[k].split(",")),
                    )
                )
        own.stop()
        own.start()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None, help="a server (default: libpq's environment, else a server of its own)")
    ap.add_argument("--keys", default="7x800", help="EXCHANGESxSYMBOLS (default 7x800; 10x: 7x8000)")
    ap.add_argument("--minutes", type=int, default=60, help="live minutes at wall speed (default 60)")
    ap.add_argument("--history-days", type=float, default=7.0, help="pre-loaded history (default 7)")
    ap.add_argument("--members", type=int, default=20, help="watchlist members the app reads (default 20)")
    ap.add_argument("--read-every", type=float, default=30.0, help="seconds between the app's read rounds")
    ap.add_argument("--unloaded-rounds", type=int, default=5)
    ap.add_argument("--port", type=int, default=0, help="own server's port (default: a free one)")
    ap.add_argument("--data-dir", default=None, help="own server's data directory (default: a new temporary one)")
    ap.add_argument("--keep-server", action="store_true")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument(
        "--standby",
        action="store_true",
        help="own server only: a hot standby (pg_basebackup after the history) serves the app's reads too",
    )
    ap.add_argument(
        "--pg-defaults",
        action="store_true",
        help="own server only: PostgreSQL's default settings instead of docs/operations.md's",
    )
    ap.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="own server only: one more server setting (repeatable), after the recommended ones; "
        "e.g. shared_preload_libraries=timescaledb,auto_explain to log slow plans",
    )
    ap.add_argument("--fault", choices=("none", "kill", "diskfull"), default="none")
    ap.add_argument("--fault-at", type=int, default=5, help="live minute of the fault")
    ap.add_argument(
        "--fault-down", type=float, default=20.0, help="seconds the killed server stays down / the disk stays full"
    )
    ap.add_argument("--disk-gb", type=float, default=8.0, help="--fault diskfull: the tmpfs for the data directory")
    ap.add_argument(
        "--daily-at",
        type=int,
        default=None,
        help="live minute at which the daily jobs (raw compression, raw retention) run "
        "(default: half-way when the history is at least 4 days; 0: never)",
    )
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()
    # a SIGTERM (timeout, kill) still drops the database and stops the own server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n_ex, n_sym = (int(x) for x in args.keys.lower().split("x"))
    extra = dict(kv.split("=", 1) for kv in args.pg_set if "=" in kv)
    if len(extra) != len(args.pg_set):
        print("soak: --pg-set takes NAME=VALUE", file=sys.stderr)
        return 2

    own = None
    target = None
    if args.dsn or any(os.environ.get(v) for v in config.LIBPQ_TARGET_VARS) or os.environ.get("WLDB_DSN"):
        target = config.resolve_target(args.dsn)
        if target.embedded:
            print("soak: needs a real server (the embedded engine has no job scheduler)", file=sys.stderr)
            return 2
        admin = target.conninfo
        if extra:
            print("soak: --pg-set changes the soak's own server only; set a server of yours yourself", file=sys.stderr)
            return 2
    else:
        tool = find_tool()
        if tool is None:
            print(
                "soak: no server given and no real-timescaledb tool (set WLDB_REAL_TIMESCALEDB or --dsn)",
                file=sys.stderr,
            )
            return 2
        port = args.port or _free_port()
        data = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="soak-pg-", dir="/tmp"))
        os.chmod(data.parent if args.data_dir else data, 0o755)
        pg_dir = data / "pg" if not args.data_dir else data
        if args.fault == "diskfull":
            if args.data_dir:
                print(
                    "soak: --fault diskfull puts the data directory on a tmpfs of its own: no --data-dir",
                    file=sys.stderr,
                )
                return 2
            mnt = data / "fs"
            mnt.mkdir()
            out = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={int(args.disk_gb * 1024)}m,mode=0755", "tmpfs", str(mnt)],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                print(f"soak: --fault diskfull needs to mount a tmpfs (root): {out.stderr.strip()}", file=sys.stderr)
                shutil.rmtree(data, ignore_errors=True)
                return 2
            pg_dir = mnt / "pg"
        own = OwnServer(tool, pg_dir, port)
        print(f"starting own server: {own.data} port {port}", flush=True)
        admin = own.start()
        settings = {} if args.pg_defaults else dict(RECOMMENDED)
        settings.update(extra)
        try:
            _apply_settings(own, admin, settings)
        except BaseException:
            # a refused setting (a typo in --pg-set) leaves no server behind
            with contextlib.suppress(Exception):
                own.stop()
            raise
        if not args.pg_defaults:
            print(
                "  settings of docs/operations.md: " + ", ".join(f"{k}={v}" for k, v in RECOMMENDED.items()), flush=True
            )
        if extra:
            print("  and --pg-set: " + ", ".join(f"{k}={v}" for k, v in extra.items()), flush=True)
    dbname = f"wldb_soak_{uuid.uuid4().hex[:8]}"
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=dbname)
    try:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{dbname}"')
            server_version = c.execute("SHOW server_version").fetchone()[0]
        subprocess.run(
            [sys.executable, "-m", "watchlist_db.cli", "--dsn", dsn, "migrate"],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT / "glue")},
        )
        with psycopg.connect(admin, autocommit=True) as c:
            check_job_slots(c, dbname)
        return run(args, n_ex, n_sym, dsn, own, server_version)
    finally:
        if not args.keep_db:
            with contextlib.suppress(Exception), psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        if own and not args.keep_server:
            own.stop()
            if args.fault == "diskfull":
                subprocess.run(["umount", "-l", str(own.data.parent)], capture_output=True)
                shutil.rmtree(own.data.parent.parent, ignore_errors=True)
            elif not args.data_dir:
                shutil.rmtree(own.data.parent, ignore_errors=True)


SCHEDULER = "TimescaleDB Background Worker Scheduler"
MIN_JOB_SLOTS = 2  # the merge every minute beside one of the 5-minute jobs


def check_job_slots(conn, dbname: str) -> None:
    """Refuses a server whose TimescaleDB workers would leave the soak's jobs no slot: every
    database with TimescaleDB holds one scheduler worker out of
    timescaledb.max_background_workers, so a server with a few such databases runs no job at
    all (the log says "out of background workers") and the figures would be of a system
    without its jobs."""
    others, slots = conn.execute(
        "SELECT count(*) FILTER (WHERE %s IN (backend_type, application_name) AND datname IS DISTINCT FROM %s),"
        " current_setting('timescaledb.max_background_workers')::int FROM pg_stat_activity",
        (SCHEDULER, dbname),
    ).fetchone()
    free = slots - others - 1  # the soak database's own scheduler
    if free < MIN_JOB_SLOTS:
        raise SystemExit(
            f"soak: timescaledb.max_background_workers = {slots} and {others} other database(s) on this "
            f"server run a TimescaleDB scheduler, which leaves {free} worker(s) for the soak's jobs "
            f"(needs {MIN_JOB_SLOTS}). Raise timescaledb.max_background_workers (and max_worker_processes) "
            "and restart, or drop the other databases / stop their schedulers "
            "(SELECT _timescaledb_functions.stop_background_workers() in each)."
        )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, n_ex: int, n_sym: int, dsn: str, own: OwnServer | None, server_version: str) -> int:
    keys = key_names(n_ex, n_sym)
    nk = len(keys)
    load0 = os.getloadavg()
    hist_end = datetime.now(UTC).replace(second=0, microsecond=0)
    hist_min = int(args.history_days * 1440)
    # the daily jobs drop the oldest day (raw_retention = history - 1 day), which must stay
    # longer than raw_compress_after and series_refresh_start (2 days each by default)
    daily_at = args.daily_at if args.daily_at is not None else (args.minutes // 2 if args.history_days >= 4 else 0)
    t0 = hist_end - timedelta(minutes=hist_min)
    stage_start = t0 - timedelta(minutes=SHIFTS)
    total_stage = hist_min + SHIFTS + GAP_MAX + args.minutes
    print(
        f"server: PostgreSQL {server_version}; scale {n_ex} x {n_sym} = {nk:,} keys; history {args.history_days} d "
        f"({nk * hist_min:,} rows); live {args.minutes} min; load {load0}",
        flush=True,
    )
    t = time.perf_counter()
    stage = generate_stage(stage_start, total_stage)
    print(f"  sample generator: {total_stage:,} minutes x 20 pairs in {time.perf_counter() - t:.1f} s", flush=True)
    report: dict = {"keys": f"{n_ex}x{n_sym}", "history_days": args.history_days, "minutes": args.minutes}
    conn = psycopg.connect(dsn, autocommit=True, application_name="wldb-soak-main")
    jc = psycopg.connect(dsn, autocommit=True, application_name="wldb-soak-main")
    with contextlib.ExitStack() as stack:
        stack.callback(conn.close)
        stack.callback(jc.close)
        with _data.jobs_paused(jc):
            t = time.perf_counter()
            load_stage(conn, stage, keys)
            conn.execute("SET ROLE wl_owner")
            before = conn.execute("SELECT now() - watchlist_data.setting('raw_compress_after')::interval").fetchone()[0]
            hist_s = load_history(conn, keys, t0, hist_min, before) if hist_min else 0.0
            conn.execute("RESET ROLE")
            print(f"  history loaded in {hist_s:.0f} s ({nk * hist_min / max(hist_s, 1e-9):,.0f} rows/s)", flush=True)
            report["history_load_s"] = hist_s
            t = time.perf_counter()
            after = conn.execute("SELECT now() - watchlist_data.setting('raw_compress_after')::interval").fetchone()[0]
            n_comp = 0
            eligible = conn.execute(
                "SELECT format('%%I.%%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks "
                "WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw' AND range_end <= %s "
                "ORDER BY range_end",
                (after,),
            ).fetchall()
            if daily_at and eligible:
                eligible.pop()  # the newest: the live minutes' compression job compresses it, as it does once a day
            for (ch,) in eligible:
                conn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (ch,))
                n_comp += 1
            if daily_at:
                # the oldest chunk past the retention: the live minutes' retention job drops it
                conn.execute("SET ROLE wl_owner")
                conn.execute(
                    "SELECT * FROM watchlist.set_setting('raw_retention', %s)", (f"{int(args.history_days) - 1} days",)
                )
                conn.execute("RESET ROLE")
                # the policy re-created by the change: not before its turn in the live minutes
                conn.execute(
                    "SELECT alter_job(job_id, next_start => now() + INTERVAL '1 day') FROM timescaledb_information.jobs "
                    "WHERE hypertable_schema = 'watchlist_data' AND hypertable_name = 'watch_signal_raw' "
                    "AND proc_name IN ('policy_retention', 'policy_compression')"
                )
            print(f"  compressed {n_comp} chunk(s) older than raw_compress_after in {time.perf_counter() - t:.0f} s")
            if hist_min:
                # events, labels and aggregates over the history's last DERIVED_DAYS only:
                # the live jobs' work depends on the open events, the horizons coming due
                # and the open days' labels, not on older ones (their cost would only
                # lengthen the preparation)
                d0 = max(t0, hist_end - timedelta(days=DERIVED_DAYS))
                t = time.perf_counter()
                conn.execute("SET ROLE wl_owner")
                r = conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (d0, hist_end)).fetchone()
                conn.execute(
                    """INSERT INTO watchlist_data.job_state (job, watermark) VALUES ('merge_events', %s)
                       ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark""",
                    (hist_end,),
                )
                # as a merge running every minute would have left them: an event last
                # changed a minute after its last sample, not now (else the label job's
                # first live run takes every history event for one the merge just changed)
                conn.execute(
                    "UPDATE watchlist_data.watch_signal_event SET updated_at = least(end_ts + INTERVAL '1 minute', %s)",
                    (hist_end,),
                )
                print(
                    f"  events merged over the last {(hist_end - d0) / timedelta(days=1):.2f} d: {r[2]:,} in {time.perf_counter() - t:.0f} s",
                    flush=True,
                )
                # the labels a label job that kept up would have written: every due label of
                # the events entered since the start of yesterday (UTC), quintiles ranked;
                # the live runs then label the horizons coming due and re-rank the open days
                t = time.perf_counter()
                lab = conn.execute(
                    "SELECT * FROM watchlist.label_outcomes(%s, NULL, %s, NULL, true)",
                    (hist_end, max(d0, hist_end.replace(hour=0, minute=0) - timedelta(days=1))),
                ).fetchone()
                print(f"  labels of the history's events: {lab[1]:,} in {time.perf_counter() - t:.0f} s", flush=True)
                t = time.perf_counter()
                steady(conn, d0, hist_end)
                conn.execute("RESET ROLE")
                print(
                    f"  aggregates refreshed, factor/label watermarks at the history's end: {time.perf_counter() - t:.0f} s"
                )
            print(
                "  " + _data.settle(conn, ("watchlist_data.watch_signal_raw", "watchlist_data.watch_signal_event")),
                flush=True,
            )
        standby = s_dsn = None
        if args.standby and own is None:
            print("  --standby needs the soak's own server: no standby", flush=True)
        elif args.standby:
            t = time.perf_counter()
            sdata = own.data.with_name(own.data.name + "-standby")
            soak_standby.prepare(own, _free_port(), sdata)
            standby = OwnServer(own.tool, sdata, int(soak_standby.port_of(sdata)))
            s_dsn = psycopg.conninfo.make_conninfo(
                standby.start(), dbname=psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
            )
            stack.callback(lambda: (standby.stop(), shutil.rmtree(sdata, ignore_errors=True)))
            print(
                f"  hot standby: base backup and start in {time.perf_counter() - t:.0f} s (port {standby.port})",
                flush=True,
            )
        # the rows a key shows live: stage minute index of live minute i
        members = [(ex, sym) for ex, sym, _, _ in keys[: args.members]]
        spool = Path(tempfile.mkdtemp(prefix="soak-spool-")) / "spool.sqlite"
        writer = Writer(dsn=dsn, spool_path=spool)
        stack.callback(lambda: shutil.rmtree(spool.parent, ignore_errors=True))
        writer.submit_membership([{"exchange": e, "symbol": s} for e, s in members], at=t0)
        if not writer.drain(timeout=60):
            print("  warning: membership not flushed within 60 s")
        unloaded: dict[str, list[float]] = {}
        rc = psycopg.connect(dsn, autocommit=True, application_name="wldb-soak-read")
        read_round(rc, members, {})  # warm the plans and the cache, as a running app has them
        for _ in range(args.unloaded_rounds):
            read_round(rc, members, unloaded)
        rc.close()
        unloaded_s: dict[str, list[float]] = {}
        if standby is not None:
            with psycopg.connect(s_dsn, autocommit=True, application_name="wldb-soak-read") as rc:
                read_round(rc, members, {})
                for _ in range(args.unloaded_rounds):
                    read_round(rc, members, unloaded_s)
        print(f"  unloaded reads: {args.unloaded_rounds} rounds; load {os.getloadavg()}", flush=True)

        # the minutes between the history's end and the first live minute, as the monitor
        # would have written them meanwhile (the jobs running: they pick them up)
        conn.execute("SET ROLE wl_owner")
        filled = hist_min
        while True:
            live_start = datetime.fromtimestamp((int(time.time() + 15) // 60 + 1) * 60, UTC)
            gap = int((live_start - hist_end).total_seconds() // 60)
            if gap > GAP_MAX:
                raise SystemExit(f"soak: the preparation took longer than {GAP_MAX} minutes")
            if filled < hist_min + gap:
                conn.execute(HISTORY_SQL, {"j0": filled, "j1": hist_min + gap, "t0": t0})
                filled = hist_min + gap
            if time.time() < live_start.timestamp() - 2:
                break
        conn.execute("RESET ROLE")
        conn.execute("DROP TABLE IF EXISTS public.soak_stage, public.soak_keys")
        print(
            f"  {gap} minute(s) between the history and the live minutes filled; live from {live_start:%H:%M} UTC",
            flush=True,
        )
        aliases = job_aliases(conn)
        jobs0 = job_table(conn)
        wal0, sizes0 = wal_lsn(conn), sizes(conn)
        meter = None
        if own is not None or _local_server(conn):
            pm = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
            pm = int(_stat(pm)[1])
            meter = CpuMeter(dsn, pm, aliases)
            meter.start()
            if own is not None:
                own.meter = meter
        stop = threading.Event()
        spreads: dict[datetime, float] = {}
        probe_key = members[0]
        probe = Probe(dsn, probe_key, spreads, live_start, stop)
        reader = Reader(dsn, members, args.read_every, stop)
        s_reader = s_lag = s_meter = None
        if standby is not None:
            s_reader = Reader(s_dsn, members, args.read_every, stop)
            s_lag = soak_standby.LagProbe(dsn, stop)
            s_meter = CpuMeter(s_dsn, soak_standby.postmaster_pid(standby.data), {})
        wait = live_start.timestamp() - time.time()
        if wait > 0:
            print(f"  waiting {wait:.0f} s for the first live minute", flush=True)
            time.sleep(wait)
        wall0 = time.time()
        main_tid = threading.get_native_id()
        cpu_main0 = thread_cpu(main_tid)
        proc0 = os.times()
        reader.start()
        probe.start()
        for th in (s_reader, s_lag, s_meter):
            if th is not None:
                th.start()
        acked = 0
        fault: dict = {}
        fault_thread = None
        submit_s: list[float] = []
        loads = []
        for i in range(args.minutes):
            minute = live_start + timedelta(minutes=i)
            delay = minute.timestamp() - time.time()
            if delay > 0:
                time.sleep(delay)
            t = time.perf_counter()
            snap = []
            for ex, sym, pair, shift in keys:
                row = dict(stage[hist_min + gap + SHIFTS + i - shift][pair])
                row["ts"], row["exchange"], row["symbol"] = minute, ex, sym
                row["next_funding_time"] = next_funding(minute, row["funding_interval_hours"])
                snap.append(row)
                if (ex, sym) == probe_key:
                    spreads[minute] = row["spread_rel"]
            acked += writer.submit(snap, at=minute)
            submit_s.append(time.perf_counter() - t)
            loads.append(os.getloadavg()[0])
            st = writer.stats()
            print(
                f"  minute {i + 1:3d}/{args.minutes} {minute:%H:%M}: submitted {len(snap):,} in {submit_s[-1]:.2f} s; "
                f"written {st.get('written', 0):,} pending {st.get('pending', 0):,}; load {loads[-1]:.2f}",
                flush=True,
            )
            if daily_at and i + 1 == daily_at:
                conn.execute(
                    "SELECT alter_job(job_id, next_start => now()) FROM timescaledb_information.jobs "
                    "WHERE job_id = ANY(%s)",
                    ([j for j, a in aliases.items() if a in DAILY_JOBS],),
                )
                print(f"  daily jobs started: {', '.join(DAILY_JOBS)}", flush=True)
            if args.fault != "none" and i + 1 == args.fault_at and own is not None:
                fault_thread = threading.Thread(
                    target=kill_fault if args.fault == "kill" else disk_fault,
                    args=(own, args, writer, dsn, aliases, nk, fault),
                    daemon=True,
                    name="soak-fault",
                )
                fault_thread.start()
        # the last minute runs to its end (the reads, the probe and the jobs with it)
        time.sleep(max(0.0, (live_start + timedelta(minutes=args.minutes)).timestamp() - time.time()))
        if fault_thread is not None:
            fault_thread.join(600)
        drained = writer.drain(timeout=120)
        wall1 = time.time()
        stop.set()
        reader.join(60)
        probe.join(30)
        s_cpu = None
        if standby is not None:
            s_reader.join(60)
            s_lag.join(30)
            s_cpu = s_meter.finish()
        cpu_main = thread_cpu(main_tid) - cpu_main0
        proc1 = os.times()
        cpu = meter.finish() if meter else None
        writer_stats = writer.close(timeout=60)
        time.sleep(1)
        # a new session for the figures (a fault may have ended the old one)
        with contextlib.suppress(Exception):
            conn.close()
        conn = psycopg.connect(dsn, autocommit=True, application_name="wldb-soak-main")
        stack.callback(conn.close)
        jobs1 = job_table(conn)
        wal1, sizes1 = wal_lsn(conn), sizes(conn)
        hours = (wall1 - wall0) / 3600
        live_end = live_start + timedelta(minutes=args.minutes)
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT (exchange, symbol, ts)) FROM watchlist_data.watch_signal_raw WHERE ts >= %s AND ts < %s",
            (live_start, live_end),
        ).fetchone()
        label_lags = [
            r[0]
            for r in conn.execute(
                """SELECT extract(epoch FROM o.computed_at - (e.confirmed_at + make_interval(mins => o.horizon_min)))::float8
                     FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                    WHERE e.confirmed_at + make_interval(mins => o.horizon_min) >= %s
                      AND e.confirmed_at + make_interval(mins => o.horizon_min) < %s""",
                (live_start, live_end),
            )
        ]
        labels_due = conn.execute(
            """SELECT count(*) FROM watchlist_data.watch_signal_event e
                 CROSS JOIN (SELECT DISTINCT horizon_min FROM watchlist_data.future_outcome) h
                WHERE e.confirmed_at + make_interval(mins => h.horizon_min) >= %s
                  AND e.confirmed_at + make_interval(mins => h.horizon_min) < %s - INTERVAL '6 minutes'""",
            (live_start, live_end),
        ).fetchone()[0]
        factor_lags = [
            r[0]
            for r in conn.execute(
                "SELECT extract(epoch FROM min(computed_at) - ts)::float8 FROM watchlist_data.factor_value "
                "WHERE ts > %s AND ts <= %s GROUP BY ts",
                (live_start, live_end),
            )
        ]
        factor_buckets = conn.execute(
            "SELECT count(DISTINCT ts), count(*) FROM watchlist_data.factor_value WHERE ts > %s AND ts <= %s",
            (live_start, live_end),
        ).fetchone()
        job_errors = conn.execute(
            """SELECT job_id, start_time, err_message FROM timescaledb_information.job_errors
                WHERE start_time >= %s ORDER BY start_time""",
            (datetime.fromtimestamp(wall0, UTC),),
        ).fetchall()
        run_log = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT succeeded) FROM watchlist_data.job_run_log WHERE started_at >= %s",
            (datetime.fromtimestamp(wall0, UTC),),
        ).fetchone()
        events_check = None
        if fault:
            events_check = compare_events(conn, live_start - timedelta(hours=2))
        s_check = None
        if standby is not None:
            s_check = soak_standby.compare_reads(dsn, s_dsn, members, READS)

    # ------------------------------------------------------------------ report
    event_lags = [w - conf.timestamp() for conf, w in probe.events_seen.values()]
    series_lags, metrics_lags = minute_lags(probe.series_seen), minute_lags(probe.metrics_seen)
    print()
    print(
        f"==== soak {n_ex} x {n_sym} = {nk:,} keys, {args.minutes} live minutes ({hours * 60:.1f} min wall), "
        f"history {args.history_days} d; PostgreSQL {server_version}"
    )
    print(
        f"load average: before {load0[0]:.2f}; during the live minutes median {statistics.median(loads):.2f}, max {max(loads):.2f}"
    )
    print(
        f"\nrows: acknowledged {acked:,} (expected {nk * args.minutes:,}); stored in the live window {stored[0]:,} "
        f"({stored[1]:,} distinct); writer: {json.dumps({k: writer_stats.get(k) for k in ('written', 'pending', 'spooled', 'failed', 'dropped', 'quarantined')})}; drained: {drained}"
    )
    print(f"submit() per minute (map + spool {nk:,} rows): {fmt3(submit_s, 'ms', 1000)}")
    cpu_rows = []
    if cpu:
        print(
            f"\nCPU by component (s per hour, share of one core); server total {cpu['(server total)'] / hours:,.0f} s/h = "
            f"{cpu['(server total)'] / hours / 36:.2f}% of one core"
        )
        for comp, s in sorted(cpu.items(), key=lambda kv: -kv[1]):
            if comp == "(server total)" or s <= 0:
                continue
            print(f"  {comp:<44}{s / hours:>9.1f} s/h {s / hours / 36:>7.2f}%")
            cpu_rows.append((comp, s / hours))
        daily = sum(cpu.get(f"job {a}", 0.0) for a in DAILY_JOBS)
        probe_s = cpu.get("soak probe / control", 0.0)
        steady_h = (cpu["(server total)"] - daily - probe_s) / hours + daily / 24
        print(
            f"  daily jobs this run: {daily:,.1f} CPU-s (once a day: {daily / 24:,.1f} s/h); server total without the "
            f"soak's probe, the daily jobs at their daily rate: {steady_h:,.0f} s/h = {steady_h / 36:.2f}% of one core"
        )
        report["cpu_steady_s_per_h"] = steady_h
        report["cpu_daily_jobs_s"] = daily
    else:
        print("\nserver CPU: not measured (the server is not on this machine)")
    client = (proc1.user - proc0.user) + (proc1.system - proc0.system)
    print(f"  {'client process (all threads)':<44}{client / hours:>9.1f} s/h {client / hours / 36:>7.2f}%")
    print(f"  {'  of it: snapshot build + submit()':<44}{cpu_main / hours:>9.1f} s/h {cpu_main / hours / 36:>7.2f}%")
    print(
        f"  {'read client process (the app reading)':<44}{reader.cpu_s / hours:>9.1f} s/h {reader.cpu_s / hours / 36:>7.2f}%"
    )
    print("\nfreshness lag p50 / p99 / max:")
    print(f"  series (row minute -> visible)        {fmt3(series_lags)}")
    print(f"  metrics (row minute -> visible)       {fmt3(metrics_lags)}")
    print(f"  events (confirming minute -> visible) {fmt3(event_lags)}")
    print(
        f"  labels (horizon end -> computed_at)   {fmt3(label_lags)}; labels due >6 min before the end: {labels_due}, stored {len(label_lags)}"
    )
    print(
        f"  factors (bucket end -> computed_at)   {fmt3(factor_lags)}; buckets {factor_buckets[0]} (rows {factor_buckets[1]:,})"
    )
    print("\nreads p50 / p99 / max (ms): loaded | unloaded")
    for name in READS:
        print(f"  {name:<16}{fmt3(reader.times.get(name, []), '', 1000):<40}| {fmt3(unloaded.get(name, []), '', 1000)}")
    rounds = [s for _, s in reader.rounds]
    print(f"  whole round     {fmt3(rounds, 's')}")
    print("  by the second of the minute a read started (the writer's batch and the merge job run at its start):")
    print_read_phases(reader)
    if reader.errors or probe.errors:
        print(
            f"  read errors: {len(reader.errors)} (first: {reader.errors[:3]}); probe errors: {len(probe.errors)} {probe.errors[:3]}"
        )
    print("\njobs during the live minutes: runs / successes / failures (TimescaleDB job_stats), last duration")
    job_rows = []
    for jid in sorted(jobs1):
        a, b = jobs0.get(jid, (0, 0, 0, None)), jobs1[jid]
        d = (b[0] - a[0], b[1] - a[1], b[2] - a[2])
        job_rows.append((aliases.get(jid, str(jid)), *d))
        print(f"  {aliases.get(jid, str(jid)):<20} {d[0]:>4} / {d[1]:>4} / {d[2]:>3}   {b[3]}")
    print(
        f"  job_errors since the start: {len(job_errors)}"
        + "".join(f"\n    {r[0]} {r[1]:%H:%M:%S} {r[2][:200]}" for r in job_errors[:10])
    )
    print(f"  job_run_log (runs from outside the scheduler): {run_log[0]} runs, {run_log[1]} failed")
    wal_h = (wal1 - wal0) / hours
    print(
        f"\nWAL: {(wal1 - wal0) / 2**20:,.1f} MiB in the live minutes = {wal_h / 2**20:,.0f} MiB/h ({wal_h / max(1, nk * 60):,.0f} B per row)"
    )
    print("table growth (MiB/h):")
    for rel in sorted(sizes1, key=lambda r: -(sizes1[r] - sizes0.get(r, 0))):
        d = sizes1[rel] - sizes0.get(rel, 0)
        if abs(d) >= 1 << 16:
            print(f"  {rel:<50}{d / hours / 2**20:>9.1f}   (now {sizes1[rel] / 2**20:,.0f} MiB)")
    s_report = None
    if standby is not None:
        s_report = standby_report(s_reader, s_lag, s_cpu, s_check, unloaded_s, hours)
    if fault:
        print(f"\nfault: {json.dumps(fault, default=str)}")
        print(f"events in the window vs a rebuild: {events_check}")
        print(f"rows stored once: {stored[0] == stored[1] == nk * args.minutes}")
    report.update(
        {
            "load": [load0[0], statistics.median(loads), max(loads)],
            "acked": acked,
            "stored": stored,
            "cpu_s_per_h": dict(cpu_rows),
            "client_s_per_h": client / hours,
            "lags": {
                "series": series_lags,
                "metrics": metrics_lags,
                "events": event_lags,
                "labels": label_lags,
                "factors": factor_lags,
            },
            "reads": reader.times,
            "reads_at": reader.at,
            "read_client_cpu_s": reader.cpu_s,
            "unloaded": unloaded,
            "jobs": job_rows,
            "job_errors": [list(map(str, r)) for r in job_errors],
            "wal_per_h": wal_h,
            "fault": fault,
            "events_check": events_check,
            "standby": s_report,
        }
    )
    _data.write_json(args.json, report)
    return 0


def standby_report(s_reader, s_lag, s_cpu, s_check, unloaded_s, hours: float) -> dict:
    """Prints the hot standby's figures; returns them for the JSON."""
    print("\nhot standby (streaming replication, PostgreSQL defaults: hot_standby_feedback off)")
    print(
        f"  replay lag (pg_stat_replication.replay_lag, 0.5 s samples while WAL is in flight): "
        f"{fmt3(s_lag.lag_s, 'ms', 1000)}; in flight in {len(s_lag.lag_s)} of {s_lag.samples} samples"
    )
    behind = s_lag.behind_bytes
    if behind:
        print(f"  WAL not yet replayed p50 / p99 / max: {fmt3([b / 1024 for b in behind], ' KiB')}")
    if s_lag.errors:
        print(f"  lag probe errors: {len(s_lag.errors)} {s_lag.errors[:3]}")
    print("  reads on the standby p50 / p99 / max (ms): loaded | unloaded")
    for name in READS:
        print(
            f"    {name:<16}{fmt3(s_reader.times.get(name, []), '', 1000):<40}| {fmt3(unloaded_s.get(name, []), '', 1000)}"
        )
    print_read_phases(s_reader)
    print(f"  read errors on the standby: {len(s_reader.errors)} {s_reader.errors[:3]}")
    if s_cpu:
        print(
            f"  standby server CPU: {s_cpu['(server total)'] / hours:,.1f} s/h = {s_cpu['(server total)'] / hours / 36:.2f}% of one core"
        )
        for comp, s in sorted(s_cpu.items(), key=lambda kv: -kv[1]):
            if comp != "(server total)" and s / hours >= 0.05:
                print(f"    {comp:<42}{s / hours:>9.1f} s/h")
    if s_check:
        if not s_check.get("caught_up"):
            print("  after the live minutes: the standby did not catch up with the primary within 300 s")
        else:
            n = s_check["equal"] + s_check["close"] + s_check["differ"]
            print(
                f"  after the live minutes (primary's jobs paused, standby caught up in {s_check['catch_up_s']} s): "
                f"{n} reads compared: {s_check['equal']} equal, {s_check['close']} equal but a float's last digits, "
                f"{s_check['differ']} differ {s_check['differing'][:5]}"
            )
    return {
        "replay_lag_s": s_lag.lag_s,
        "behind_bytes": behind,
        "reads": s_reader.times,
        "unloaded": unloaded_s,
        "read_errors": s_reader.errors,
        "cpu_s_per_h": {k: v / hours for k, v in (s_cpu or {}).items()},
        "check": s_check,
    }


def _local_server(conn) -> bool:
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    f = _stat(pid)
    return f is not None and "postgres" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")


def kill_fault(own: OwnServer, args, writer: Writer, dsn: str, aliases: dict[int, str], nk: int, out: dict) -> None:
    """SIGKILL the postmaster, keep it down --fault-down s while the main loop goes on
    submitting minutes (a thread of its own), then start it; fills `out` with what recovery
    took."""
    t_kill = time.time()
    own.kill()
    print(
        f"  FAULT: postmaster SIGKILLed at {datetime.now(UTC):%H:%M:%S}; restarting in {args.fault_down:.0f} s",
        flush=True,
    )
    time.sleep(args.fault_down)
    t = time.time()
    own.start()
    t_up = time.time()
    _new_postmaster(own)
    out.update(killed_at=datetime.fromtimestamp(t_kill, UTC), down_s=t - t_kill, restart_s=t_up - t)
    out["pending_at_restart"] = writer.stats().get("pending")
    recover(writer, dsn, aliases, nk, out, t_up)


def _new_postmaster(own: OwnServer) -> None:
    meter = getattr(own, "meter", None)
    if meter is not None:  # count the new server's processes from here on
        meter.pm = own.pid()


def disk_fault(own: OwnServer, args, writer: Writer, dsn: str, aliases: dict[int, str], nk: int, out: dict) -> None:
    """Fill the data directory's filesystem but for 2 MB, keep it full --fault-down s while
    the main loop goes on submitting minutes (a thread of its own), note what the server, the
    writer and `wldb status` do meanwhile, free the space (starting the server only if it is
    down), then fill `out` with what recovery took, as kill_fault does."""
    fs = own.data.parent
    ballast = fs / "ballast"
    t_fill = time.time()
    try:
        st = os.statvfs(fs)
        with open(ballast, "wb") as f:  # the server writes meanwhile: it may fill first
            chunk = b"\0" * (1 << 20)
            with contextlib.suppress(OSError):
                for _ in range(max(0, st.f_bavail * st.f_frsize - (2 << 20)) >> 20):
                    f.write(chunk)
                    f.flush()
        st = os.statvfs(fs)
        out.update(
            filled_at=datetime.fromtimestamp(t_fill, UTC),
            fill_s=round(time.time() - t_fill, 1),
            free_mb_after_fill=round(st.f_bavail * st.f_frsize / 2**20, 1),
        )
        print(f"  FAULT: data directory's filesystem full at {datetime.now(UTC):%H:%M:%S}", flush=True)
        _watch_full_disk(writer, dsn, t_fill + args.fault_down, t_fill + args.fault_down / 2, out)
        out["server_running_when_full"] = own.running()
    finally:  # never leave the disk full
        ballast.unlink(missing_ok=True)
    t_free = time.time()
    out["freed_at"] = datetime.fromtimestamp(t_free, UTC)
    out["started_by_soak"] = False
    if not own.running():
        own.start()
        _new_postmaster(own)
        out["started_by_soak"] = True
    print(f"  FAULT: space freed at {datetime.now(UTC):%H:%M:%S}", flush=True)
    recover(writer, dsn, aliases, nk, out, t_free)


def _watch_full_disk(writer: Writer, dsn: str, until: float, status_at: float, out: dict) -> None:
    """Until `until`: the writer's worst moment (most rows pending) into out["writer_worst"];
    at status_at, what `wldb status` says about the disk into out["status_said"]."""
    worst: dict = {}
    while time.time() < until:
        s = writer.stats()
        if s.get("pending", 0) >= worst.get("pending", 0):
            worst = {k: s.get(k) for k in ("pending", "failed", "dropped", "quarantined", "last_error")}
        if status_at and time.time() >= status_at:
            status_at = 0
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WLDB_"))}
            env.update(WLDB_SPOOL=str(writer.spool_path), PYTHONPATH=str(ROOT / "glue"))
            r = subprocess.run(
                [sys.executable, "-m", "watchlist_db.cli", "--dsn", dsn, "status"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            said = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if "disk" in ln.lower() or "fix:" in ln]
            out.update(status_exit=r.returncode, status_said=said[:6])
        time.sleep(1)
    out["writer_worst"] = worst


def recover(writer: Writer, dsn: str, aliases: dict[int, str], nk: int, out: dict, t_up: float) -> None:
    """After a fault ended at t_up: how long the writer's spool took to replay and each
    frequent job's first successful run after t_up (no manual step), into `out`."""
    # the spool replayed: at most the current minute's rows waiting, none older than 10 s
    deadline = time.time() + 300
    while time.time() < deadline:
        st = writer.stats()
        if st.get("db_up") and st.get("pending", 0) <= nk and (st.get("lag_s") or 0) < 10:
            out["spool_replayed_s_after_start"] = round(time.time() - t_up, 1)
            break
        time.sleep(0.5)
    # each frequent job's first successful run after the restart (no manual step); the
    # daily / 12-hourly ones (compression, retention, prune) are checked to be scheduled
    deadline = time.time() + 420
    first: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True, application_name="wldb-soak-main") as c:
        want = {
            jid: aliases.get(jid, str(jid))
            for (jid,) in c.execute(
                """SELECT job_id FROM timescaledb_information.jobs
                    WHERE (hypertable_schema = 'watchlist_data' OR proc_schema = 'watchlist_data')
                      AND schedule_interval <= INTERVAL '10 minutes'"""
            )
        }
        out["jobs_scheduled"] = c.execute(
            """SELECT count(*) FILTER (WHERE j.scheduled AND s.next_start IS NOT NULL), count(*)
                 FROM timescaledb_information.jobs j JOIN timescaledb_information.job_stats s USING (job_id)
                WHERE j.hypertable_schema = 'watchlist_data' OR j.proc_schema = 'watchlist_data'"""
        ).fetchone()
        while time.time() < deadline and len(first) < len(want):
            # compared in SQL: a job that never succeeded since the crash reads '-infinity',
            # which Python's datetime cannot hold
            for jid, last_ok in c.execute(
                """SELECT job_id, extract(epoch FROM last_successful_finish)::float8
                     FROM timescaledb_information.job_stats
                    WHERE job_id = ANY(%s) AND last_successful_finish > to_timestamp(%s)""",
                (list(want), t_up),
            ):
                if want[jid] not in first:
                    first[want[jid]] = last_ok - t_up
            time.sleep(2)
    out["jobs_first_success_s_after_start"] = {k: round(v, 1) for k, v in first.items()}
    out["jobs_not_back"] = sorted(set(want.values()) - set(first))
    print(f"  FAULT recovered: {json.dumps(out, default=str)}", flush=True)


def compare_events(conn, since: datetime) -> str:
    """The stored events since `since` against watchlist.merge_events rebuilding them (in a
    transaction rolled back)."""
    cols = "exchange, symbol, signal_type, start_ts, end_ts, n_samples, status, is_open, confirmed_at"
    q = f"SELECT {cols} FROM watchlist_data.watch_signal_event WHERE start_ts >= %s ORDER BY 1, 2, 3, 4"
    have = conn.execute(q, (since,)).fetchall()
    conn.execute("BEGIN")
    try:
        conn.execute("DELETE FROM watchlist_data.watch_signal_event WHERE start_ts >= %s", (since,))
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', now())", (since,))
        want = conn.execute(q, (since,)).fetchall()
    finally:
        conn.execute("ROLLBACK")
    missing = len(set(want) - set(have))
    extra = len(set(have) - set(want))
    return f"stored {len(have)}, rebuilt {len(want)}, missing {missing}, not in the rebuild {extra}"


if __name__ == "__main__":
    sys.exit(main())
