"""Shared pieces of the writer tests (not a test module)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from watchlist_db import config


def q(target: config.Target, sql: str, params=None):
    """One query on a short-lived connection (never hold one while a writer flushes:
    the embedded engine serves one client at a time)."""
    with config.connect(target) as c:
        cur = c.execute(sql, params)
        return cur.fetchall() if cur.description else None


def snapshot(symbol: str, t0: datetime, n: int, exchange: str = "binance", step_s: int = 7) -> list[dict]:
    """n per-symbol dicts as the monitor has them, one per refresh instant."""
    out = []
    for i in range(n):
        out.append(
            {
                "ts": t0 + timedelta(seconds=i * step_s),
                "exchange": exchange,
                "symbol": symbol,
                "type_class": "ABC"[i % 3],
                "triggered": i % 4 == 0,
                "status": "watching",
                "spread_rel": 0.002 + (i % 17) / 10000,
                "funding_rate": 0.0001,
                "funding_interval_hours": 8,
                "next_funding_time": t0 + timedelta(hours=8),
                "pairs_top": [
                    {"high_exch": "bitget", "low_exch": "bybit", "spread_pct": 0.00339, "dir": "buy_high_sell_low"}
                ],
                "exchanges": [
                    {"name": "binance", "kind": "perp", "funding_rate": 0.0001, "price_bid": 1.5, "price_ask": 1.51},
                    {"name": "mexc", "kind": "perp", "price_bid": None, "price_ask": None},
                ],
                "factors": {"rsi_14": 40 + i % 20, "macd": 0.1},
                "vol_of_vol": 0.5,
            }
        )
    return out


def keys_of(rows: list[dict]) -> set[tuple]:
    return {(r["exchange"], r["symbol"], r["ts"].astimezone(UTC)) for r in rows}


def stored_keys(target: config.Target, symbol: str) -> list[tuple]:
    return [
        tuple(r)
        for r in q(
            target, "SELECT exchange, symbol, ts FROM watchlist_data.watch_signal_raw WHERE symbol = %s", (symbol,)
        )
    ]


def free_port() -> int:
    """A port free right now; another program may take it before it is used: start
    engines on it with up_engine(), which retries."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def up_engine(eng, attempts: int = 5):
    """eng.up(), choosing another free port when the chosen one was taken meanwhile."""
    from watchlist_db.engine import EngineError

    for attempt in range(attempts):
        try:
            return eng.up(echo=lambda *_: None)
        except EngineError as exc:
            if attempt == attempts - 1 or not ("already taken" in str(exc) or "EADDRINUSE" in str(exc)):
                raise
            eng.port = free_port()


_HELD: list[socket.socket] = []


def closed_port_target() -> config.Target:
    """A port that refuses connections for the rest of the session: bound, never
    listening, and held (a port merely found free could be taken by a server meanwhile)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _HELD.append(s)
    return config.Target(
        f"host=127.0.0.1 port={s.getsockname()[1]} dbname=x user=x sslmode=disable gssencmode=disable",
        False,
        "a closed port",
    )


class DeafServer:
    """Accepts TCP connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)

    def target(self) -> config.Target:
        return config.Target(
            f"host=127.0.0.1 port={self.port} dbname=x user=x sslmode=disable gssencmode=disable",
            False,
            "a deaf server",
        )

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


class Proxy:
    """A TCP proxy that can turn deaf: while ``deaf`` it keeps every connection open and
    reads what arrives, but forwards nothing in either direction. A side that closes
    closes the other."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.deaf = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while data := src.recv(65536):
                if not self.deaf:
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.sock.close()


def utc_minutes_ago(minutes: float) -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(microsecond=0)


def wait_until(cond, timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True
