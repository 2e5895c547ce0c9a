"""The writer's flush loop (see writer.py for the whole path of a row): group spooled
rows into batches, send each as one statement, route failures by SQLSTATE class (retry
later, or dead letter), bound the spool.

The boundary with the Writer is explicit: the loop is given the settings, the target, the
spool's path and a WriterState (the counters and flags both halves share, under its lock);
it owns its connection and its own Spool handle. The Writer never reads the loop's
internals, the loop never reads the Writer's."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from . import config, snapshot
from .api import write as write_api
from .spool import Spool, Unit

log = logging.getLogger("watchlist_db.writer")

# the server's state, not the batch's: connection, resources (disk full), operator
# intervention, transaction rollback, lock not available (55), I/O (58); the database's
# writer functions re-raise the same classes rather than quarantine rows over them
RETRY_CLASSES = ("08", "53", "57", "40", "55", "58")


def retryable(exc: BaseException) -> bool:
    """Worth retrying later (the database or the network, not the batch)?"""
    state = getattr(exc, "sqlstate", None)
    if state:
        return state[:2] in RETRY_CLASSES
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


def batch_id(payload: bytes, kind: str = "raw") -> str:
    """Deterministic: the same rows in the same order always get the same id."""
    prefix = {"raw": "wl", "membership": "wl-m", "symbol_refs": "wl-s"}[kind]
    return f"{prefix}-{hashlib.sha256(payload).hexdigest()[:32]}"


def _shutdown_socket(fd: int) -> None:
    """Wake a thread blocked on this socket: shutdown() makes its poll/recv return."""
    try:
        s = socket.socket(fileno=os.dup(fd))
        try:
            s.shutdown(socket.SHUT_RDWR)
        finally:
            s.close()
    except OSError:
        pass


@contextlib.contextmanager
def _watchdog(conn: psycopg.Connection, limit: float):
    """Shut the connection's socket down if the block outlives ``limit`` seconds, so a call
    to a deaf server (accepts TCP, never answers) returns with an error instead of hanging."""
    timer = threading.Timer(limit, _shutdown_socket, (conn.pgconn.socket,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _row_keys(payload: bytes, wanted: set[int]) -> dict[int, tuple | None]:
    """(exchange, symbol, ts) of some rows of a batch, parsed one row at a time (a big
    batch parsed in one C call would hold the GIL, and so the app's submit(), for a while)."""
    text = payload.decode()
    dec, out, pos, last = json.JSONDecoder(), {}, 1, max(wanted)
    for i in range(last + 1):
        row, pos = dec.raw_decode(text, pos)
        pos += 1  # the comma
        if i in wanted:
            out[i] = snapshot.row_key(row)
    return out


@dataclass
class WriterState:
    """What the app's side (Writer.submit, stats) and the flush loop share. Every field is
    read and written under ``lock`` (which also serialises the spool's write transactions),
    except the events and ``close_deadline``, which only the Writer sets."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)  # a batch may be ready
    closing: threading.Event = field(default_factory=threading.Event)  # close() was called
    close_deadline: float = float("inf")
    counts: collections.Counter = field(default_factory=collections.Counter)
    backlog: int = 0  # raw rows waiting in the spool
    backlog_bytes: int = 0
    unclaimed: int = 0  # rows appended but not yet grouped into a batch
    db_up: bool = True
    fails: int = 0  # consecutive failed attempts while the database is unavailable
    next_try: float = 0.0  # monotonic time of the next attempt while it is unavailable
    last_submit: float = 0.0
    last_error: str | None = None
    last_error_at: float | None = None
    reasons: collections.Counter = field(default_factory=collections.Counter)
    rejects: collections.deque = field(default_factory=lambda: collections.deque(maxlen=1000))

    def set_error(self, msg: str) -> None:
        self.last_error, self.last_error_at = msg, time.time()

    def note_reject(self, bid: str | None, r: snapshot.Reject) -> None:
        self.rejects.append({"batch_id": bid, "row": r.row, "field": r.field, "reason": r.reason, "key": r.key})
        key = (r.field, r.reason)
        if key in self.reasons or len(self.reasons) < 1000:
            self.reasons[key] += 1
        else:
            self.reasons[("(other)", "(too many distinct reasons)")] += 1


class FlushLoop:
    """The Writer's background half: ``run`` is the flush thread's body."""

    def __init__(self, settings, target: config.Target, spool_path: Path, state: WriterState):
        self.settings = settings
        self.target = target
        self.spool_path = spool_path
        self.st = state
        self.conn: psycopg.Connection | None = None  # held between cycles when keep_connection

    def run(self) -> None:
        st = self.st
        sp = Spool(self.spool_path, lock=st.lock, durability=self.settings.durability)
        try:
            self._warm_up()
            while True:
                closing = st.closing.is_set()
                more = False
                try:
                    down = not st.db_up
                    claimed = sp.claim(
                        max_rows=self.settings.max_batch_rows,
                        max_bytes=self.settings.max_batch_bytes,
                        max_age_s=self.settings.max_delay_s,
                        force=closing,
                        spooled=down,
                        make_id=batch_id,
                    )
                    with st.lock:
                        st.unclaimed -= claimed
                        st.counts["spooled"] += claimed if down else 0
                    if st.backlog > self.settings.max_spool_rows or st.backlog_bytes > self.settings.max_spool_bytes:
                        self._enforce(sp)
                    if closing or time.monotonic() >= st.next_try:
                        more = self._cycle(sp, closing)
                    # A checkpoint makes a concurrent submit wait on SQLite's own lock for
                    # milliseconds: run it between bursts of submits, or when the WAL is big.
                    sp.checkpoint(4 << 20 if time.monotonic() - st.last_submit > 0.2 else 64 << 20)
                except Exception as exc:  # a bug or a broken spool: log, back off, carry on
                    log.exception("flush cycle failed: %s", exc)
                    with st.lock:
                        st.set_error(f"flush: {exc}")
                    self._drop_conn()
                    time.sleep(0.5)
                if closing:
                    if not more or time.monotonic() >= st.close_deadline:
                        break
                    continue
                if not more:
                    wait = min(max(self.settings.max_delay_s / 4, 0.05), 0.5)
                    if not st.db_up:
                        wait = min(wait, max(0.0, st.next_try - time.monotonic()) + 0.01)
                    st.wake.wait(wait)
                    st.wake.clear()
        finally:
            self._drop_conn()
            sp.close()

    def _warm_up(self) -> None:
        """When the writer keeps its connection (a server): connect at start and make one
        empty ingest_raw call, so the session's first batch does not also pay the connection
        and the first-call costs of the writer API (plpgsql compilation, plans, catalog
        caches). Best effort: a database that is down
        is tried again by the first batch as usual; nothing is spooled or counted here."""
        if not self.settings.keep_connection:
            return
        try:
            conn = self._connection()
            with _watchdog(conn, self.settings.statement_timeout_s + self.settings.watchdog_grace_s):
                write_api.ingest_raw(conn, [], "wl-warm-up")
        except Exception as exc:
            log.debug("warm-up call failed (the first batch will connect): %s", exc)
            self._drop_conn()

    def _enforce(self, sp: Spool) -> None:
        dropped = sp.enforce(self.settings.max_spool_rows, self.settings.max_spool_bytes, self.settings.max_dead_rows)
        rows, size = sp.totals()
        with self.st.lock:
            self.st.backlog, self.st.backlog_bytes = rows, size
            self.st.counts["dropped"] += dropped
        if dropped:
            log.warning(
                "spool full (%d rows / %d bytes max): dropped the %d oldest row(s)",
                self.settings.max_spool_rows,
                self.settings.max_spool_bytes,
                dropped,
            )

    def _cycle(self, sp: Spool, closing: bool) -> bool:
        """Send the live units, then a few spooled ones (oldest first). True when there may
        be more to send right away; False when all is sent or the database is unavailable."""
        page, replay = 50, (50 if closing else self.settings.replay_per_cycle)
        fresh = sp.units(spooled=False, limit=page)
        old = sp.units(spooled=True, limit=replay)
        try:
            for unit in fresh + old:
                if not self._send(sp, unit, closing):
                    return False
        finally:
            if not self.settings.keep_connection:
                self._drop_conn()
        return bool(fresh or old) and (closing or len(fresh) == page or len(old) == replay)

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self._drop_conn()
            conn = config.connect(
                self.target,
                autocommit=True,
                connect_timeout=self.settings.connect_timeout_s,
                application_name=self.settings.application_name,
            )
            try:
                write_api.set_statement_timeout(conn, self.settings.statement_timeout_s)
            except BaseException:
                conn.close()
                raise
            self.conn = conn
        return self.conn

    def _drop_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _send(self, sp: Spool, unit: Unit, closing: bool) -> bool:
        """Send one unit. True: done (written or dead-lettered); False: retry later."""
        sp.load(unit)
        try:
            conn = self._connection()
            limit = self.settings.statement_timeout_s + self.settings.watchdog_grace_s
            if closing:
                limit = max(0.5, min(limit, self.st.close_deadline - time.monotonic()))
            with _watchdog(conn, limit):
                if unit.kind == "raw":
                    res = write_api.ingest_raw(conn, unit.payload, unit.batch_id)
                elif unit.kind == "membership":
                    res = write_api.sync_membership(conn, unit.payload, unit.arg)
                else:
                    res = write_api.upsert_symbol_refs(conn, unit.payload)
        except Exception as exc:
            if retryable(exc):
                self._down(sp, unit, exc)
                return False
            self._bury(sp, unit, exc)
            return True
        self._up(sp, unit, res)
        return True

    def _up(self, sp: Spool, unit: Unit, res: tuple) -> None:
        counts = {"replayed": unit.n_rows if unit.spooled and unit.kind == "raw" else 0}
        found: list[snapshot.Reject] = []
        if unit.kind == "raw":
            _received, inserted, dups, rejected, rejects = res
            counts.update(written=inserted, duplicates=dups, quarantined=rejected)
            if rejects:
                keys = _row_keys(unit.payload, {r["row"] for r in rejects})
                found = [snapshot.Reject(r["row"], r["field"], r["reason"], keys.get(r["row"])) for r in rejects]
                log.warning(
                    "batch %s: %d row(s) quarantined by the database (first: row %d, %s: %s)",
                    unit.batch_id,
                    rejected,
                    found[0].row,
                    found[0].field,
                    found[0].reason,
                )
        elif unit.kind == "membership" and res and res[2]:
            log.info("membership snapshot at %s is older than the recorded history: ignored (stale)", unit.arg)
        sp.done(unit, **counts)
        st = self.st
        with st.lock:
            for k, v in counts.items():
                st.counts[k] += v
            st.counts["batches" if unit.kind == "raw" else "calls"] += 1
            st.backlog_bytes -= unit.n_bytes
            if unit.kind == "raw":
                st.backlog -= unit.n_rows
            for r in found:
                st.note_reject(unit.batch_id, r)
            if not st.db_up:
                log.info("database available again: replaying %d spooled row(s)", st.backlog)
            st.db_up, st.fails = True, 0

    def _down(self, sp: Spool, unit: Unit, exc: BaseException) -> None:
        self._drop_conn()
        msg = f"{getattr(exc, 'sqlstate', None) or type(exc).__name__}: {str(exc).strip()}"
        newly = sp.retry_later(unit, msg)
        st = self.st
        delay = min(self.settings.backoff_s[1], self.settings.backoff_s[0] * 2**st.fails) * random.uniform(0.8, 1.2)
        with st.lock:
            was_up = st.db_up
            st.db_up = False
            st.fails += 1
            st.next_try = time.monotonic() + delay
            st.counts["spooled"] += newly
            st.set_error(msg)
        (log.warning if was_up else log.debug)("database unavailable (%s): spooling, retry in %.1fs", msg, delay)

    def _bury(self, sp: Spool, unit: Unit, exc: BaseException) -> None:
        state = getattr(exc, "sqlstate", None)
        msg = f"{state or type(exc).__name__}: {str(exc).strip()}"
        sp.bury(unit, state, msg)
        st = self.st
        with st.lock:
            st.counts["failed"] += unit.n_rows
            if unit.kind == "raw":
                st.backlog -= unit.n_rows
            st.backlog_bytes -= unit.n_bytes
            st.set_error(msg)
        log.error(
            "%s batch %s (%d rows) refused by the database, kept as a dead letter in %s, not retried: %s",
            unit.kind,
            unit.batch_id,
            unit.n_rows,
            self.spool_path,
            msg,
        )
