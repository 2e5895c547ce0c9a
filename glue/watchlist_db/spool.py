"""The writer's durable local spool: one SQLite file (stdlib sqlite3, WAL mode).

Tables:
  inbox   the submitted rows not written yet: one record per submit() call (or per chunk
          of a big one), the rows as a UTF-8 JSON array. submit() appends here and commits
          before it returns, so a row whose submit() returned survives a crash.
  batch   units of work for the database, oldest first: ``raw`` batches (a range of inbox
          records, up to max_batch_rows rows, frozen with its deterministic batch id, so a
          retry or a replay after a restart sends the same batch under the same id; making
          one copies nothing), and ``membership`` / ``symbol_refs`` calls (payload inline).
          ``spooled`` = could not go out live (the database was unavailable); those are
          replayed oldest first. Inbox records above state.claimed_upto are in no batch yet.
  dead    the dead letters: units the database refused for good (data, integrity or
          permission errors), with the error, for the operator (``wldb spool status``;
          ``wldb spool replay --dead`` re-queues them once the cause is fixed).
  state   cumulative counters (written, duplicates, quarantined, replayed, dropped, failed)
          and the last error, so another process can report them.

Durability: ``synchronous=NORMAL`` (default) makes a commit durable against a crash of
the process (kill -9), not against power loss or an OS crash, which can lose the last
commits but never corrupts the file; ``durability="full"`` (synchronous=FULL) fsyncs
every commit and survives power loss too, at the cost of an fsync per submit (figures in
docs/benchmarks.md).
A torn WAL tail (a commit whose frames were cut) is dropped by SQLite on open: only that
last commit is lost.

Bounds: pending rows and payload bytes are capped (max_rows, max_bytes); past the cap the
oldest units are dropped, counted and logged, never silently. Dead letters are capped by
max_dead_rows the same way.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       REAL    NOT NULL,      -- time.time() of the submit
    n_rows   INTEGER NOT NULL,
    n_bytes  INTEGER NOT NULL,
    payload  BLOB    NOT NULL       -- UTF-8 JSON array of raw rows (last: scans never read it)
);
CREATE TABLE IF NOT EXISTS batch (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,    -- raw | membership | symbol_refs
    batch_id   TEXT    NOT NULL,
    created    REAL    NOT NULL,
    oldest_at  REAL    NOT NULL,
    n_rows     INTEGER NOT NULL,
    n_bytes    INTEGER NOT NULL,
    first_seq  INTEGER,             -- raw: the inbox records it is made of (payload NULL)
    last_seq   INTEGER,
    spooled    INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    arg        TEXT,                -- membership: the snapshot time
    payload    BLOB                 -- calls, and re-queued dead letters
);
CREATE TABLE IF NOT EXISTS dead (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    batch_id   TEXT    NOT NULL,
    failed_at  REAL    NOT NULL,
    oldest_at  REAL    NOT NULL,
    n_rows     INTEGER NOT NULL,
    n_bytes    INTEGER NOT NULL,
    sqlstate   TEXT,
    error      TEXT    NOT NULL,
    arg        TEXT,
    payload    BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value);
"""
COUNTERS = ("written", "duplicates", "quarantined", "replayed", "dropped", "failed")


@dataclass
class Unit:
    seq: int
    kind: str
    batch_id: str
    oldest_at: float
    n_rows: int
    n_bytes: int
    first_seq: int | None
    last_seq: int | None
    spooled: bool
    attempts: int
    arg: str | None
    payload: bytes | None = None  # filled by Spool.load()


class SpoolBusy(RuntimeError):
    """Another live writer owns this spool file."""


def _private_file(path: Path) -> None:
    """Create ``path`` as an empty 0600 file if it does not exist (an existing one of ours
    loses group/other access): the spool holds the rows, its -wal and -shm files take the
    database file's mode, and a new directory is made 0700."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:  # not our file: leave its mode to its owner
        pass
    finally:
        os.close(fd)
    for side in ("-wal", "-shm"):
        try:
            os.chmod(f"{path}{side}", 0o600)
        except OSError:
            pass


def _connect(path: Path, durability: str) -> sqlite3.Connection:
    _private_file(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
    return db


def join_arrays(parts: list[bytes]) -> bytes:
    """JSON arrays -> one JSON array (text-level: the parts are never parsed)."""
    return b"[" + b",".join(p[1:-1] for p in parts if len(p) > 2) + b"]"


class Spool:
    """One connection to the spool file. Write transactions take ``lock`` (shared by the
    connections of one writer), so the submit path waits for the flush thread's short
    transactions on a Python lock instead of SQLite's sleeping busy handler. Grouping
    rows into a batch copies nothing: a raw batch names a range of inbox records."""

    def __init__(self, path: str | os.PathLike, *, lock: threading.Lock | None = None, durability: str = "normal"):
        self.path = Path(path)
        self.lock = lock or threading.Lock()
        self.db = _connect(self.path, durability)
        # No automatic checkpoints (one runs inside the COMMIT that crosses the threshold and
        # fsyncs: milliseconds a submit would wait for); the flush thread calls checkpoint().
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self.db.execute("PRAGMA journal_size_limit=67108864")
        with self.lock:
            self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- writing -----------------------------------------------------------------
    def _tx(self, fn, *args):
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(*args)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            return out

    def _bump(self, **counts: int) -> None:
        for key, n in counts.items():
            if n:
                self.db.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = coalesce(value, 0) + excluded.value",
                    (key, n),
                )

    def _set(self, **values) -> None:
        self.db.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", list(values.items()))

    def _claimed_upto(self) -> int:
        r = self.db.execute("SELECT value FROM state WHERE key = 'claimed_upto'").fetchone()
        return int(r[0]) if r else 0

    def append(self, records: list[tuple[int, bytes]], at: float, quarantined: int = 0) -> None:
        """The submit path: (n_rows, JSON array) records, committed before returning."""

        def run():
            self.db.executemany(
                "INSERT INTO inbox (at, n_rows, n_bytes, payload) VALUES (?, ?, ?, ?)",
                [(at, n, len(p), p) for n, p in records],
            )
            self._bump(quarantined=quarantined)

        self._tx(run)

    def add_call(self, kind: str, batch_id: str, payload: bytes, n_rows: int, arg: str | None, spooled: bool) -> None:
        now = time.time()
        self._tx(
            lambda: self.db.execute(
                "INSERT INTO batch (kind, batch_id, created, oldest_at, n_rows, n_bytes, spooled, arg, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, batch_id, now, now, n_rows, len(payload), int(spooled), arg, payload),
            )
        )

    def claim(self, *, max_rows: int, max_bytes: int, max_age_s: float, force: bool, spooled: bool, make_id) -> int:
        """Group unclaimed inbox records, oldest first, into raw batches of at most
        max_rows rows / max_bytes bytes (at least one record each): while a full batch is
        available, or the oldest record is max_age_s old, or ``force``. The batch id is
        make_id(payload). Returns the number of rows grouped."""
        made = 0
        while True:
            upto = self._claimed_upto()
            head = self.db.execute(
                "SELECT seq, at, n_rows, n_bytes FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?", (upto, max_rows + 1)
            ).fetchall()
            if not head:
                return made
            take, rows, size = [], 0, 0
            for seq, _at, n, b in head:
                if take and (rows + n > max_rows or size + b > max_bytes):
                    break
                take.append(seq)
                rows, size = rows + n, size + b
            if not (force or len(take) < len(head) or head[0][1] <= time.time() - max_age_s):
                return made
            first, last = take[0], take[-1]
            bid = make_id(self._assemble(first, last))  # read outside the lock: only this thread deletes
            self._tx(self._add_raw_batch, bid, head[0][1], rows, size, first, last, spooled)
            made += rows

    def _add_raw_batch(
        self, bid: str, oldest_at: float, rows: int, size: int, first: int, last: int, spooled: bool
    ) -> None:
        self.db.execute(
            "INSERT INTO batch (kind, batch_id, created, oldest_at, n_rows, n_bytes, first_seq, last_seq, spooled) "
            "VALUES ('raw', ?, ?, ?, ?, ?, ?, ?, ?)",
            (bid, time.time(), oldest_at, rows, size, first, last, int(spooled)),
        )
        self._set(claimed_upto=last)

    def _assemble(self, first: int, last: int) -> bytes:
        return join_arrays(
            [
                p
                for (p,) in self.db.execute(
                    "SELECT payload FROM inbox WHERE seq BETWEEN ? AND ? ORDER BY seq", (first, last)
                )
            ]
        )

    def units(self, *, spooled: bool, limit: int) -> list[Unit]:
        """Units waiting to be sent (without their payload: load() it), oldest first."""
        rows = self.db.execute(
            "SELECT seq, kind, batch_id, oldest_at, n_rows, n_bytes, first_seq, last_seq, spooled, attempts, arg FROM batch "
            "WHERE spooled = ? ORDER BY seq LIMIT ?",
            (int(spooled), limit),
        ).fetchall()
        return [Unit(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10]) for r in rows]

    def load(self, unit: Unit) -> Unit:
        if unit.first_seq is not None:
            unit.payload = self._assemble(unit.first_seq, unit.last_seq)
        else:
            unit.payload = self.db.execute("SELECT payload FROM batch WHERE seq = ?", (unit.seq,)).fetchone()[0]
        return unit

    def _forget(self, unit_seq: int, first: int | None, last: int | None) -> None:
        self.db.execute("DELETE FROM batch WHERE seq = ?", (unit_seq,))
        if first is not None:
            self.db.execute("DELETE FROM inbox WHERE seq BETWEEN ? AND ?", (first, last))

    def done(self, unit: Unit, **counts: int) -> None:
        def run():
            self._forget(unit.seq, unit.first_seq, unit.last_seq)
            self._bump(**counts)
            self._set(last_write_at=time.time())

        self._tx(run)

    def _mark_spooled(self) -> int:
        n = self.db.execute("SELECT coalesce(sum(n_rows), 0) FROM batch WHERE spooled = 0 AND kind = 'raw'").fetchone()[
            0
        ]
        self.db.execute("UPDATE batch SET spooled = 1 WHERE spooled = 0")
        return n

    def mark_spooled(self) -> int:
        """Every unit not sent yet is now spooled; returns their raw rows."""
        return self._tx(self._mark_spooled)

    def retry_later(self, unit: Unit, error: str) -> int:
        """The database is unavailable: count the attempt, and spool every unit not sent
        yet (returns their raw rows)."""

        def run():
            self.db.execute("UPDATE batch SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, unit.seq))
            self._set(last_error=error, last_error_at=time.time())
            return self._mark_spooled()

        return self._tx(run)

    def bury(self, unit: Unit, sqlstate: str | None, error: str) -> None:
        """Move a unit the database refused for good to the dead letters (payload loaded)."""

        def run():
            self.db.execute(
                "INSERT INTO dead (kind, batch_id, failed_at, oldest_at, n_rows, n_bytes, sqlstate, error, arg, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    unit.kind,
                    unit.batch_id,
                    time.time(),
                    unit.oldest_at,
                    unit.n_rows,
                    len(unit.payload),
                    sqlstate,
                    error,
                    unit.arg,
                    unit.payload,
                ),
            )
            self._forget(unit.seq, unit.first_seq, unit.last_seq)
            self._bump(failed=unit.n_rows)
            self._set(last_error=error, last_error_at=time.time())

        self._tx(run)

    def requeue_dead(self) -> int:
        """Dead letters back into the queue (spooled), for a replay after a fix. Returns rows."""

        def run():
            n = self.db.execute("SELECT coalesce(sum(n_rows), 0) FROM dead").fetchone()[0]
            self.db.execute(
                "INSERT INTO batch (kind, batch_id, created, oldest_at, n_rows, n_bytes, spooled, arg, payload) "
                "SELECT kind, batch_id, ?, oldest_at, n_rows, n_bytes, 1, arg, payload FROM dead ORDER BY seq",
                (time.time(),),
            )
            self.db.execute("DELETE FROM dead")
            return n

        return self._tx(run)

    def totals(self) -> tuple[int, int]:
        """(rows, bytes) waiting: raw rows, and the bytes of every waiting payload."""
        r = self.db.execute("""
            SELECT (SELECT coalesce(sum(n_rows), 0) FROM inbox)
                 + (SELECT coalesce(sum(n_rows), 0) FROM batch WHERE kind = 'raw' AND first_seq IS NULL),
                   (SELECT coalesce(sum(n_bytes), 0) FROM inbox)
                 + (SELECT coalesce(sum(n_bytes), 0) FROM batch WHERE first_seq IS NULL)""").fetchone()
        return int(r[0]), int(r[1])

    def enforce(self, max_rows: int, max_bytes: int, max_dead_rows: int) -> int:
        """Drop the oldest waiting raw rows (whole batches first, then inbox records) while
        over the bounds, and the oldest dead letters while over theirs. Returns the rows dropped."""

        def run():
            rows, size = self.totals()
            dropped = 0
            while rows > max_rows or size > max_bytes:
                b = self.db.execute(
                    "SELECT seq, n_rows, n_bytes, first_seq, last_seq FROM batch WHERE kind = 'raw' "
                    "ORDER BY seq LIMIT 1"
                ).fetchone()
                if b:
                    self._forget(b[0], b[3], b[4])
                    n, nb = b[1], b[2]
                else:
                    r = self.db.execute(
                        "SELECT seq, n_rows, n_bytes FROM inbox WHERE seq > ? ORDER BY seq LIMIT 1",
                        (self._claimed_upto(),),
                    ).fetchone()
                    if r is None:
                        break
                    self.db.execute("DELETE FROM inbox WHERE seq = ?", (r[0],))
                    n, nb = r[1], r[2]
                rows, size, dropped = rows - n, size - nb, dropped + n
            dead_rows = self.db.execute("SELECT coalesce(sum(n_rows), 0) FROM dead").fetchone()[0]
            while dead_rows > max_dead_rows:
                seq, n = self.db.execute("SELECT seq, n_rows FROM dead ORDER BY seq LIMIT 1").fetchone()
                self.db.execute("DELETE FROM dead WHERE seq = ?", (seq,))
                dead_rows, dropped = dead_rows - n, dropped + n
            self._bump(dropped=dropped)
            return dropped

        return self._tx(run)

    def lag_s(self) -> float:
        """Age of the oldest row not written yet (0 when nothing waits)."""
        r = self.db.execute(
            "SELECT min(a) FROM (SELECT min(at) a FROM inbox UNION ALL SELECT min(oldest_at) FROM batch)"
        ).fetchone()[0]
        return max(0.0, time.time() - r) if r is not None else 0.0

    def checkpoint(self, min_wal_bytes: int = 4 << 20) -> None:
        """Copy the WAL into the database file once it holds min_wal_bytes (PASSIVE: never
        waits for, nor blocks, the submit path)."""
        try:
            if os.path.getsize(f"{self.path}-wal") >= min_wal_bytes:
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except OSError:
            pass

    def summary(self) -> dict:
        q = self.db.execute
        rows, nbytes = self.totals()
        unbatched = q("SELECT coalesce(sum(n_rows), 0) FROM inbox WHERE seq > ?", (self._claimed_upto(),)).fetchone()[0]
        b = q("""SELECT count(*) FILTER (WHERE kind = 'raw'),
                        count(*) FILTER (WHERE spooled = 1 AND kind = 'raw'), coalesce(sum(n_rows) FILTER (WHERE spooled = 1 AND kind = 'raw'), 0),
                        count(*) FILTER (WHERE kind <> 'raw'), coalesce(max(attempts), 0)
                   FROM batch""").fetchone()
        dead_n, dead_rows = q("SELECT count(*), coalesce(sum(n_rows), 0) FROM dead").fetchone()
        state = dict(q("SELECT key, value FROM state").fetchall())
        size = sum(os.path.getsize(f) for f in (self.path, Path(f"{self.path}-wal")) if os.path.exists(f))
        return {
            "path": str(self.path),
            "file_bytes": size,
            "pending_rows": rows,
            "pending_bytes": nbytes,
            "unbatched_rows": unbatched,
            "batches": b[0],
            "spooled_batches": b[1],
            "spooled_rows": b[2],
            "pending_calls": b[3],
            "max_attempts": b[4],
            "lag_s": round(self.lag_s(), 3),
            "dead_batches": dead_n,
            "dead_rows": dead_rows,
            "totals": {k: int(state.get(k) or 0) for k in COUNTERS},
            "last_error": state.get("last_error"),
            "last_error_at": state.get("last_error_at"),
            "last_write_at": state.get("last_write_at"),
        }

    def dead_letters(self, limit: int = 20) -> list[dict]:
        rows = self.db.execute(
            "SELECT batch_id, kind, failed_at, n_rows, sqlstate, error FROM dead ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [dict(zip(("batch_id", "kind", "failed_at", "rows", "sqlstate", "error"), r)) for r in rows]

    def waiting_rows(self) -> list[dict]:
        """Every raw row waiting in the spool, parsed (for tests and inspection; not cheap)."""
        import json

        parts = [p for (p,) in self.db.execute("SELECT payload FROM inbox ORDER BY seq")]
        parts += [
            p
            for (p,) in self.db.execute(
                "SELECT payload FROM batch WHERE kind = 'raw' AND payload IS NOT NULL ORDER BY seq"
            )
        ]
        return json.loads(join_arrays(parts))


class OwnerLock:
    """An advisory lock file next to the spool: one live writer per spool file (the
    kernel releases it when the process dies, kill -9 included)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(f"{path}.lock")
        self.fh = None

    def acquire(self) -> None:
        _private_file(self.path)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open: the lock lives as long as the file handle
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise SpoolBusy(f"{self.path.with_suffix('')} is in use by another writer (pid in {self.path})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self.fh = fh

    def release(self) -> None:
        if self.fh is not None:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None

    def held_by_other(self) -> bool:
        if not self.path.exists():
            return False
        with open(self.path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def spool_summary(path: str | os.PathLike) -> dict:
    """The spool's counts, for `wldb spool status` (and `wldb status`): pending, spooled and
    dead rows, cumulative totals, the last error; ``exists`` False when there is no file."""
    path = Path(path)
    if not path.exists():
        return {"path": str(path), "exists": False}
    sp = Spool(path)
    try:
        out = sp.summary()
    finally:
        sp.close()
    out["exists"] = True
    out["in_use"] = OwnerLock(path).held_by_other()
    return out


def default_spool_path() -> Path:
    """WLDB_SPOOL, else spool.sqlite in the data directory (.wldb/)."""
    from . import config

    env = os.environ.get("WLDB_SPOOL")
    return Path(env).resolve() if env else config.data_dir() / "spool.sqlite"
