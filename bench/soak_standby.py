"""The soak's hot standby (`bench/soak.py --standby`, own server only): a streaming replica of
the soak's server taken after the history is prepared, serving the app's reads while the
primary takes the live minutes' writes and jobs.

What it measures (not a test):
  * replay lag: pg_stat_replication.replay_lag on the primary (the walsender's own measure:
    WAL flushed on the primary to replayed on the standby), sampled every 0.5 s while it is
    not NULL (NULL = nothing in flight), and the bytes not yet replayed at each sample;
  * the app's reads (the same rounds as on the primary) on the standby: their times and any
    error (a query cancelled by a recovery conflict would show here);
  * the standby server's CPU (its own processes: the startup process replaying WAL, the WAL
    receiver, the reads);
  * correctness: after the live minutes, with the primary's jobs paused and the standby
    caught up to the primary's WAL position, every read of the round (watchlist_list, and
    metrics and the 12 h series of each member) returns the same rows on both servers.

Standby settings are PostgreSQL's defaults (hot_standby_feedback off,
max_standby_streaming_delay 30 s): what a user who adds a replica gets.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg


def prepare(own, port: int, data: Path) -> None:
    """pg_basebackup -R of the own server (soak.OwnServer) into `data`, set to listen on `port`
    (start it with real-timescaledb like the primary). The primary's pg_hba gets a
    replication line for 127.0.0.1 (trust, as the rest of the private server)."""
    hba = own.data / "pg_hba.conf"
    if "replication" not in hba.read_text():
        with hba.open("a") as f:
            f.write("host replication all 127.0.0.1/32 trust\n")
        with psycopg.connect(f"host=127.0.0.1 port={own.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute("SELECT pg_reload_conf()")
    bindir = Path(own.run("bindir", str(own.data)))
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    shutil.chown(data, "postgres", "postgres")
    data.chmod(0o700)
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(own.port),
         "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    with (data / "postgresql.auto.conf").open("a") as f:  # the copy names the primary's port and socket
        f.write(f"port = {port}\nunix_socket_directories = '{data}'\n")
    (data / "server.log").unlink(missing_ok=True)  # the primary's log, copied


def port_of(data: Path) -> str:
    """The port the data directory's server listens on (the last `port` line of its
    postgresql.auto.conf, as real-timescaledb reads it)."""
    lines = [ln for ln in (data / "postgresql.auto.conf").read_text().splitlines() if ln.startswith("port = ")]
    return lines[-1].split("=", 1)[1].strip().strip("'")


def postmaster_pid(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split("\n", 1)[0])


class LagProbe(threading.Thread):
    """Every 0.5 s on the primary: the standby's replay_lag (seconds, when not NULL) and the
    bytes between the primary's current WAL position and the standby's replay position."""

    def __init__(self, primary: str, stop: threading.Event):
        super().__init__(daemon=True, name="soak-standby-lag")
        self.primary, self.stop_ev = primary, stop
        self.lag_s: list[float] = []
        self.behind_bytes: list[int] = []
        self.samples = 0
        self.errors: list[str] = []

    def run(self) -> None:
        conn = None
        while not self.stop_ev.wait(0.5):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.primary, autocommit=True, application_name="wldb-soak-probe")
                row = conn.execute(
                    """SELECT extract(epoch FROM replay_lag)::float8,
                              pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint
                         FROM pg_stat_replication ORDER BY backend_start DESC LIMIT 1"""
                ).fetchone()
                self.samples += 1
                if row is None:
                    self.errors.append(f"{time.strftime('%H:%M:%S')} no walsender")
                    continue
                if row[0] is not None:
                    self.lag_s.append(row[0])
                if row[1] is not None:
                    self.behind_bytes.append(int(row[1]))
            except psycopg.Error as e:
                self.errors.append(f"{time.strftime('%H:%M:%S')} {type(e).__name__}: {str(e).strip()[:120]}")
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def _jobs_running(conn) -> int:
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name ~ ' \\[[0-9]+\\]$'").fetchone()[0]


def _same(a, b) -> str:
    """'equal', 'close' (floats within 1e-12 relative: a sum's last digit) or 'differ'."""
    if a == b:
        return "equal"
    if len(a) != len(b):
        return "differ"
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra, rb, strict=True):
            if x == y:
                continue
            if isinstance(x, float) and isinstance(y, float) and math.isclose(x, y, rel_tol=1e-12):
                continue
            return "differ"
    return "close"


def compare_reads(primary: str, standby: str, members, reads: dict[str, str], timeout: float = 300) -> dict:
    """The primary's jobs paused (none left running), the standby caught up with the primary's
    WAL position, then every read of the round on both: how many equal / close / differ,
    and how long the standby took to catch up. The jobs' schedules are restored."""
    out: dict = {"equal": 0, "close": 0, "differ": 0, "differing": []}
    with psycopg.connect(primary, autocommit=True, application_name="wldb-soak-main") as p:
        paused = [
            j
            for (j,) in p.execute(
                "SELECT job_id FROM timescaledb_information.jobs WHERE scheduled AND job_id >= 1000"
            ).fetchall()
        ]
        for j in paused:
            p.execute("SELECT alter_job(%s, scheduled => false)", (j,))
        try:
            deadline = time.time() + timeout
            while _jobs_running(p) and time.time() < deadline:
                time.sleep(0.5)
            lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            t = time.time()
            with psycopg.connect(standby, autocommit=True, application_name="wldb-soak-main") as s:
                while time.time() < deadline:
                    if s.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(lsn),)).fetchone()[0]:
                        break
                    time.sleep(0.2)
                else:
                    out["caught_up"] = False
                    return out
                out["caught_up"] = True
                out["catch_up_s"] = round(time.time() - t, 2)
                # the same plans on both: no parallel workers (a parallel sum's order varies)
                for c in (p, s):
                    c.execute("SET max_parallel_workers_per_gather = 0")
                calls = [(name, reads[name], ()) for name in reads if "%s" not in reads[name]]
                calls += [(name, reads[name], m) for m in members for name in reads if "%s" in reads[name]]
                for name, sql, args in calls:
                    full = sql.replace("SELECT count(*) FROM", "SELECT * FROM")
                    verdict = _same(p.execute(full, args).fetchall(), s.execute(full, args).fetchall())
                    out[verdict] += 1
                    if verdict == "differ":
                        out["differing"].append(f"{name} {args}")
        finally:
            for j in paused:
                p.execute("SELECT alter_job(%s, scheduled => true)", (j,))
    return out
