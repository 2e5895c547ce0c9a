"""The app's insert hook: hand it each watchlist snapshot; it never blocks on, and never
raises because of, the database.

    from watchlist_db.writer import Writer
    w = Writer(dsn=None, spool_path="/var/lib/monitor/wldb-spool.sqlite")   # once
    w.submit(snapshot_rows, at=refresh_time)    # every refresh: map, validate, append, return
    w.submit_membership([{"exchange": "binance", "symbol": "BTCUSDT"}, ...], at=refresh_time)
    w.stats()                                   # counters, lag, last error
    w.close(timeout=30)                         # flush what it can; the rest stays spooled

Path of a row:
  submit()  maps the snapshot to raw rows (snapshot.py), rejects what cannot be sent at
            all (NUL bytes, lone surrogates, values JSON cannot carry, integers beyond double
            precision, nesting deeper than snapshot.MAX_DEPTH), each row alone with its
            field and reason, into the quarantine counters, and appends the rest to the spool's inbox (spool.py): one SQLite
            commit, so every row whose submit() returned survives a kill -9 of the process
            (synchronous=NORMAL; durability="full" for power loss too). No database call.
  flush thread  groups inbox rows into batches (max_batch_rows or max_delay_s, whichever
            comes first), each with a deterministic id (hash of its content), and sends each
            as ONE statement: SELECT * FROM watchlist.ingest_raw(rows, batch_id). Replaying
            a batch inserts nothing (ON CONFLICT DO NOTHING in SQL); SQL validates and
            quarantines bad rows itself.
  failures  routed by SQLSTATE class:
            08 connection, 53 resources, 57 operator intervention (incl. statement timeout),
            40 serialization/deadlock, and any failure to connect -> the batch stays in the
            spool (counted as spooled), retried with exponential backoff; meanwhile new
            batches are spooled too; on recovery the spool is replayed oldest first, a few
            batches per cycle after the live ones, so live rows keep flowing.
            Anything else (22 data, 23 integrity, 42 permission/syntax, ...) -> not retried:
            the batch goes to the spool's dead letters with the error (``wldb spool status``,
            ``wldb spool replay --dead`` after a fix), counted as failed and logged.
  timeouts  connect_timeout (libpq) bounds the connection start; statement_timeout (set on
            the session) bounds a slow statement on the server; a client-side watchdog
            shuts the socket down when a call outlives statement_timeout + grace, so a deaf
            server (accepts TCP, never answers) cannot hang the flush thread.
  bounds    the spool holds at most max_spool_rows rows / max_spool_bytes bytes; past that
            the oldest batches are dropped, counted (``dropped``) and logged.

On the embedded engine (one client at a time) the writer connects for each flush cycle
and disconnects after it, so it never locks out other clients; on a server it keeps its
connection (``keep_connection``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import config, snapshot
from .api.write import INGEST_SQL, MEMBERSHIP_SQL, SYMBOL_REFS_SQL
from .flush import FlushLoop, WriterState, batch_id, retryable
from .spool import OwnerLock, Spool, default_spool_path

__all__ = ["Writer", "WriterSettings", "batch_id", "retryable", "INGEST_SQL", "MEMBERSHIP_SQL", "SYMBOL_REFS_SQL"]
log = logging.getLogger("watchlist_db.writer")


@dataclass(frozen=True)
class WriterSettings:
    """The writer's tunables (Writer(settings=...), or the same names as keywords).

    max_batch_rows, max_batch_bytes, max_delay_s
                        a batch goes out when it is full or its oldest row is this old
    max_spool_rows, max_spool_bytes, max_dead_rows
                        spool bounds; past them the oldest rows are dropped (counted, logged)
    connect_timeout_s, statement_timeout_s, watchdog_grace_s
                        a database call is abandoned after statement_timeout_s + grace
                        (connect_timeout_s: at least 2, libpq's minimum that means it)
    backoff_s           (first, max) retry delay while the database is unavailable
    replay_per_cycle    spooled batches sent per flush cycle, after the live ones
    keep_connection     hold the connection between cycles (None: not on the embedded engine)
    durability          "normal" (survives kill -9) or "full" (survives power loss: an
                        fsync per submit)
    application_name    the writer's application_name on the server
    """

    max_batch_rows: int = 2000
    max_batch_bytes: int = 8 << 20
    max_delay_s: float = 2.0
    max_spool_rows: int = 1_000_000
    max_spool_bytes: int = 1 << 30
    max_dead_rows: int = 1_000_000
    connect_timeout_s: int = 5
    statement_timeout_s: float = 30.0
    watchdog_grace_s: float = 5.0
    backoff_s: tuple[float, float] = (0.5, 60.0)
    replay_per_cycle: int = 4
    keep_connection: bool | None = None
    durability: str = "normal"
    application_name: str = "wldb-writer"


class Writer:
    """The insert hook. Create one per process and spool file (a second live Writer on the
    same file raises SpoolBusy); it starts its flush thread unless ``start=False``.

    dsn / target        the database (default: as ``wldb`` resolves it, see config.py)
    spool_path          the SQLite spool (default: WLDB_SPOOL, else .wldb/spool.sqlite)
    settings            a WriterSettings; keywords of the same names override its fields,
                        e.g. Writer(spool_path=p, max_delay_s=0.5). Read back as attributes
                        (w.max_batch_rows) or w.settings.
    """

    def __init__(
        self,
        dsn: str | None = None,
        spool_path: str | os.PathLike | None = None,
        *,
        target: config.Target | None = None,
        settings: WriterSettings | None = None,
        start: bool = True,
        **overrides: Any,
    ):
        self.target = target or config.resolve_target(dsn)
        self.spool_path = Path(spool_path or default_spool_path())
        s = replace(settings or WriterSettings(), **overrides)  # an unknown keyword raises TypeError
        self.settings = replace(
            s,
            connect_timeout_s=max(2, int(s.connect_timeout_s)),
            keep_connection=(not self.target.embedded) if s.keep_connection is None else s.keep_connection,
        )

        self._owner = OwnerLock(self.spool_path)
        self._owner.acquire()
        self._st = st = WriterState()  # shared with the flush loop, under st.lock
        try:
            self._spool = Spool(self.spool_path, lock=st.lock, durability=self.settings.durability)
        except BaseException:
            self._owner.release()
            raise
        self._closed = False
        # What a previous process left: replayed first, as spooled.
        self._spool.claim(
            max_rows=self.settings.max_batch_rows,
            max_bytes=self.settings.max_batch_bytes,
            max_age_s=0,
            force=True,
            spooled=True,
            make_id=batch_id,
        )
        self._spool.mark_spooled()
        st.backlog, st.backlog_bytes = self._spool.totals()
        st.counts["recovered"] = st.backlog
        if st.backlog:
            log.info("spool %s holds %d row(s) from a previous run: replaying them", self.spool_path, st.backlog)
        self._flush = FlushLoop(self.settings, self.target, self.spool_path, st)
        self._thread = threading.Thread(target=self._flush.run, name="wldb-writer", daemon=True)
        if start:
            self._thread.start()

    def __getattr__(self, name: str) -> Any:
        """The settings' fields also read as attributes of the Writer (w.max_batch_rows)."""
        settings = self.__dict__.get("settings")
        if settings is not None and name in WriterSettings.__dataclass_fields__:
            return getattr(settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ app API
    def submit(
        self,
        rows: Iterable[Mapping],
        at: datetime | None = None,
        *,
        stamp_missing_ts: bool = True,
        rejected: list | None = None,
    ) -> int:
        """Map and durably enqueue a snapshot; returns the number of rows accepted (the
        others are counted as quarantined, see rejects(), and appended to ``rejected`` as
        snapshot.Reject(row, field, reason, key) when a list is given). A row that cannot be
        sent (see snapshot.py) is refused alone: the others go through. Rows without ``ts``
        take ``at`` (default: now, UTC; with stamp_missing_ts=False they are left without one
        and SQL quarantines them). Never touches the database, never raises because of it."""
        try:
            if at is None and stamp_missing_ts:
                at = datetime.now(UTC)
            good, bad = snapshot.to_raw_rows(rows, at)
            if rejected is not None:
                rejected.extend(bad)
            n = len(good)
            if self._closed:
                raise RuntimeError("submit() after close()")
            records = [
                (len(chunk), ("[" + ",".join(text for _, text in chunk) + "]").encode())
                for chunk in (
                    good[i : i + self.settings.max_batch_rows] for i in range(0, n, self.settings.max_batch_rows)
                )
            ]
            if records or bad:
                self._spool.append(records, time.time(), quarantined=len(bad))
            st = self._st
            st.last_submit = time.monotonic()
            with st.lock:
                st.counts["submitted"] += n + len(bad)
                st.counts["quarantined"] += len(bad)
                st.backlog += n
                st.unclaimed += n
                st.backlog_bytes += sum(len(p) for _, p in records)
                for r in bad:
                    st.note_reject(None, r)
            if bad:
                log.warning(
                    "%d row(s) rejected before sending (first: row %d, %s: %s)",
                    len(bad),
                    bad[0].row,
                    bad[0].field,
                    bad[0].reason,
                )
            if st.unclaimed >= self.settings.max_batch_rows or st.backlog > self.settings.max_spool_rows:
                st.wake.set()  # a full batch: no need to wait for max_delay_s
            return n
        except Exception as exc:  # the spool failed (disk full?) or submit after close: count, log, carry on
            n = len(rows) if hasattr(rows, "__len__") else 0
            with self._st.lock:
                self._st.counts["dropped"] += n
                self._st.set_error(f"submit: {exc}")
            log.error("submit() could not spool %d row(s), they are dropped: %s", n, exc)
            return 0

    def submit_membership(self, members: Iterable[Any], at: datetime) -> None:
        """Record the complete watchlist at ``at`` (watchlist.sync_membership); members are
        {exchange, symbol} dicts or (exchange, symbol) pairs. Spooled like the rows."""
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise ValueError("submit_membership needs an aware datetime `at` (with a UTC offset)")
        pairs = [
            {"exchange": m["exchange"], "symbol": m["symbol"]}
            if isinstance(m, Mapping)
            else {"exchange": m[0], "symbol": m[1]}
            for m in members
        ]
        self._submit_call("membership", pairs, at.isoformat())

    def submit_symbol_refs(self, refs: Iterable[Mapping]) -> None:
        """Insert or update symbol reference rows (watchlist.upsert_symbol_refs). Spooled."""
        self._submit_call("symbol_refs", [dict(r) for r in refs], None)

    def _submit_call(self, kind: str, payload_obj: list, arg: str | None) -> None:
        try:
            payload = json.dumps(
                snapshot.clean(payload_obj, ""), ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
            self._spool.add_call(
                kind, batch_id(payload + (arg or "").encode(), kind), payload, len(payload_obj), arg, not self._st.db_up
            )
            with self._st.lock:
                self._st.backlog_bytes += len(payload)
            self._st.wake.set()
        except snapshot._Bad as bad:
            with self._st.lock:
                self._st.counts["quarantined"] += len(payload_obj)
                self._st.set_error(f"{kind}: {bad.path.lstrip('.')}: {bad.reason}")
            log.error("%s call refused before sending: %s: %s", kind, bad.path.lstrip("."), bad.reason)
        except Exception as exc:
            with self._st.lock:
                self._st.counts["dropped"] += len(payload_obj)
                self._st.set_error(f"{kind}: {exc}")
            log.error("%s call could not be spooled, dropped: %s", kind, exc)

    def stats(self) -> dict:
        """Counters of this writer (rows): submitted, written, duplicates, quarantined,
        spooled, replayed, dropped, failed (dead-lettered), recovered (found in the spool at
        start), pending (waiting in the spool), lag_s (age of the oldest waiting row),
        db_up, last_error, last_error_at, batches, calls."""
        st = self._st
        with st.lock:
            out = {
                k: st.counts[k]
                for k in (
                    "submitted",
                    "written",
                    "duplicates",
                    "quarantined",
                    "spooled",
                    "replayed",
                    "dropped",
                    "failed",
                    "recovered",
                    "batches",
                    "calls",
                )
            }
            out["pending"] = st.backlog
            try:
                out["lag_s"] = round(self._spool.lag_s(), 3) if not self._closed else None
            except Exception:
                out["lag_s"] = None
            out.update(db_up=st.db_up, last_error=st.last_error, last_error_at=st.last_error_at)
        return out

    def rejects(self, limit: int = 100) -> list[dict]:
        """The latest quarantined rows: batch_id (None: refused before sending), row (index
        in the submitted snapshot, or in the batch), field, reason, key (exchange, symbol, ts)."""
        with self._st.lock:
            return list(self._st.rejects)[-limit:]

    def reject_reasons(self) -> list[tuple[tuple[str, str], int]]:
        """(field, reason) -> count, most common first."""
        with self._st.lock:
            return self._st.reasons.most_common()

    def backlog(self) -> int:
        return self._st.backlog

    def drain(self, below: int = 0, timeout: float | None = None) -> bool:
        """Wait until at most `below` rows wait in the spool. False on timeout, or at once
        while the database is unavailable (the rows then stay spooled)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._st.backlog > below:
            if not self._st.db_up or not self._thread.is_alive() or (deadline and time.monotonic() > deadline):
                return False
            self._st.wake.set()
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 30.0) -> dict:
        """Flush what can be flushed within `timeout`; what cannot stays in the spool for
        the next Writer on the same file. Returns stats()."""
        if self._closed:
            return self.stats()
        self._st.close_deadline = time.monotonic() + timeout
        self._st.closing.set()
        self._st.wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout + 1)
            if self._thread.is_alive():
                log.warning("the flush thread did not finish within %.1fs", timeout)
        out = self.stats()
        with self._st.lock:
            self._closed = True
            out["lag_s"] = round(self._spool.lag_s(), 3)
            self._spool.close()
        self._owner.release()
        if out["pending"]:
            log.warning(
                "closed with %d row(s) left in the spool %s (replayed by the next writer, or `wldb spool replay`)",
                out["pending"],
                self.spool_path,
            )
        return out

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
