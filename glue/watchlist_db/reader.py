"""The app-facing read hook: what the app's three watchlist endpoints serve, as JSON-ready
dicts, read from the database's SQL API (so the app can switch each endpoint to the
database behind a flag, as the seed plan asks). Thin: every figure is computed in SQL
(watchlist.watchlist_list, watchlist.metrics, watchlist.series / series_minute); this
module only shapes rows into dicts (timestamps as ISO 8601 strings in UTC, NaN/inf as None).

    from watchlist_db.reader import Reader
    r = Reader()                                  # the database wldb resolves (or Reader(dsn=...))
    r.watchlist()                                 # /api/watchlist           every member
    r.metrics("binance", "BTCUSDT")               # /api/watchlist/metrics   one symbol (None: no data)
    r.metrics()                                   #                          every member
    r.series("binance", "BTCUSDT")                # /api/watchlist/series    12 h, 5-minute buckets
    r.series("binance", "BTCUSDT", resolution="1m")   # minute-level, from the raw rows

A reader role (wl_reader) is enough. Each call opens one short connection unless the
Reader is given one (``Reader(conn=...)``) or used as a context manager.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import psycopg

from . import config
from .api import read as read_api

STATS = ("mean_1h", "sigma_1h", "range_1h", "slope_1h", "mean_12h", "sigma_12h", "range_12h", "slope_12h")


def _j(v: Any) -> Any:
    """One value made JSON-ready: datetimes to ISO 8601 UTC strings, non-finite floats to None."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _metrics(row: dict) -> dict:
    """The Type A block of one symbol (watchlist.metrics / watchlist_list columns)."""
    return {
        "as_of": _j(row["as_of"]),
        "type_class": row["type_class"],
        "spread": {
            "latest": _j(row["spread_latest"]),
            "mean_1h": _j(row["mean_1h"]),
            "sigma_1h": _j(row["sigma_1h"]),
            "mean_12h": _j(row["mean_12h"]),
            "sigma_12h": _j(row["sigma_12h"]),
            "zscore_12h": _j(row["zscore_12h"]),
        },
        "range": {"1h": _j(row["range_1h"]), "12h": _j(row["range_12h"])},
        "slope_per_hour": {"1h": _j(row["slope_1h"]), "12h": _j(row["slope_12h"])},
        "crossings_1h": row["crossings_1h"],
        "drift_ratio": _j(row["drift_ratio"]),
        "funding": {
            "rate": _j(row["funding_rate"]),
            "interval_hours": _j(row["funding_interval_hours"]),
            "next_funding_time": _j(row["next_funding_time"]),
        },
        "samples": {"1h": row["n_1h"], "12h": row["n_12h"]},
    }


class Reader:
    """Reads for the app's /api/watchlist, /api/watchlist/metrics and /api/watchlist/series."""

    def __init__(
        self, dsn: str | None = None, *, target: config.Target | None = None, conn: psycopg.Connection | None = None
    ):
        self._target = target if target is not None or conn is not None else config.resolve_target(dsn)
        self._conn = conn
        self._own = False

    # a connection for the duration of a `with Reader() as r:` block
    def __enter__(self) -> Reader:
        if self._conn is None:
            self._conn, self._own = config.connect(self._target), True
        return self

    def __exit__(self, *exc) -> None:
        if self._own and self._conn is not None:
            self._conn.close()
            self._conn, self._own = None, False

    def _rows(self, call, *args) -> list[dict]:
        """read_api.<call>(conn, *args) on the block's connection, else on a connection of its own."""
        if self._conn is not None:
            return call(self._conn, *args)
        with config.connect(self._target) as c:
            return call(c, *args)

    def watchlist(self, now: datetime | None = None, exchange: str | None = None) -> dict:
        """/api/watchlist: every watchlist member at `now` (default: the database's now())
        with its Type A metrics, funding, latest sample and cross-exchange matrix."""
        rows = self._rows(read_api.watchlist_list, now, exchange)
        items = []
        for r in rows:
            item = {"exchange": r["exchange"], "symbol": r["symbol"], "member_since": _j(r["entered_at"])}
            item.update(_metrics(r))
            item.update(
                {
                    "sampled_at": _j(r["sampled_at"]),
                    "status": r["status"],
                    "triggered": r["triggered"],
                    "executable_spread": {
                        "buy_high_sell_low": _j(r["best_buy_high_sell_low"]),
                        "sell_high_buy_low": _j(r["best_sell_high_buy_low"]),
                    },
                    "matrix": r["matrix"],
                    "pairs_top": r["pairs_top"],
                    "funding_diff_top": r["funding_diff_top"],
                }
            )
            items.append(item)
        return {"count": len(items), "items": items}

    def metrics(
        self, exchange: str | None = None, symbol: str | None = None, now: datetime | None = None
    ) -> dict | None:
        """/api/watchlist/metrics: the Type A window statistics of one symbol (None when it has
        no data in the last 12 h), or, without a symbol, of every member ({"items": [...]})."""
        if symbol is None:
            rows = self._rows(read_api.watchlist_list, now, exchange)
            return {"items": [dict(exchange=r["exchange"], symbol=r["symbol"], **_metrics(r)) for r in rows]}
        if exchange is None:
            raise ValueError("metrics(): give the exchange with the symbol")
        rows = self._rows(read_api.metrics, exchange, symbol, now)
        return dict(exchange=exchange, symbol=symbol, **_metrics(rows[0])) if rows else None

    def series(
        self, exchange: str, symbol: str, hours: int = 12, now: datetime | None = None, resolution: str = "5m"
    ) -> dict:
        """/api/watchlist/series: the chart of one symbol over the last `hours`: spot / futures
        prices and spread per point (gap-filled; `filled` marks carried-forward points), the
        15-minute midline, the window's baseline, event open / close points and funding times.
        resolution "5m" (default) reads the 5-minute aggregate, "1m" the raw rows."""
        if resolution not in read_api.SERIES_FUNCTIONS:
            raise ValueError(f"series(): resolution must be '5m' or '1m', got {resolution!r}")
        rows = self._rows(read_api.series, exchange, symbol, hours, now, resolution)
        points, opens, closes, funding = [], [], [], []
        for r in rows:
            points.append(
                {
                    "ts": _j(r["ts"]),
                    "spot_price": _j(r["spot_price"]),
                    "futures_price": _j(r["futures_price"]),
                    "spread_rel": _j(r["spread_rel"]),
                    "funding_rate": _j(r["funding_rate"]),
                    "funding_interval_hours": _j(r["funding_interval_hours"]),
                    "next_funding_time": _j(r["next_funding_time"]),
                    "filled": r["filled"],
                    "midline_15m": _j(r["midline_15m"]),
                }
            )
            for m in r["markers"] or []:
                if m["kind"] == "funding":
                    funding.append(m["at"])
                else:
                    (opens if m["kind"] == "event_open" else closes).append(
                        {"at": m["at"], "event_id": m["event_id"], "status": m["status"]}
                    )
        return {
            "exchange": exchange,
            "symbol": symbol,
            "hours": hours,
            "resolution": resolution,
            "baseline": _j(rows[0]["baseline"]) if rows else None,
            "points": points,
            "open_points": opens,
            "close_points": closes,
            "funding_times": funding,
        }
