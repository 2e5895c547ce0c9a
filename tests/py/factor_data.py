"""Generated watchlist data for the factor-lab and chart tests: 1-minute samples of a few
symbols whose spread drifts after each event in the direction a factor says, so that the
factor predicts the outcome (IC clearly non-zero), next to pure-noise factors, a factor
with many ties (integers) and a meta.factors key. Inserted with one INSERT ... SELECT
FROM jsonb_to_recordset (fast on the embedded engine), merged into events with
watchlist.merge_events and labelled with watchlist.label_outcomes.

Layout (minutes from t0): events every ~40 minutes in [0, 480) for every symbol, so four
2-hour periods of ~3 events per symbol; in [480, 600) only FEW_SYMBOLS symbols have an
event (a thin period: fewer events than min_events); then data runs on for the longest
horizon (6 h) plus a few minutes, so every label is covered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from psycopg.types.json import Jsonb

PERIOD = timedelta(hours=2)
HORIZONS = [30, 60, 180, 360]
FEW_SYMBOLS = 3
COLUMNS = (
    "ts",
    "exchange",
    "symbol",
    "signal_type",
    "type_class",
    "triggered",
    "spot_price",
    "futures_price",
    "spread_rel",
    "funding_rate",
    "funding_interval_hours",
    "next_funding_time",
    "crossings_1h",
    "spread_momentum_15m",
    "spread_zscore_1h",
    "meta",
)


@dataclass
class Generated:
    exchange: str
    t0: datetime
    now: datetime
    symbols: list[str]
    rows: dict[str, list[dict]] = field(default_factory=dict)  # symbol -> rows in ts order

    def factor_at(self, symbol: str, start: datetime) -> dict[str, float]:
        """Factor values of the latest row at or before start (point in time), as named by
        watchlist.event_factors."""
        row = [r for r in self.rows[symbol] if r["ts"] <= start][-1]
        out = {
            "spread_rel": row["spread_rel"],
            "funding_rate": row["funding_rate"],
            "crossings_1h": float(row["crossings_1h"]),
            "spread_momentum_15m": row["spread_momentum_15m"],
            "spread_zscore_1h": row["spread_zscore_1h"],
        }
        out.update({f"meta.{k}": float(v) for k, v in row["meta"]["factors"].items()})
        return out


def generate(
    seed: int, exchange: str, t0: datetime, n_symbols: int = 10, beta: float = 1.5, prices: bool = False
) -> Generated:
    rng = np.random.default_rng(seed)
    minutes = 600 + max(HORIZONS) + 10
    symbols = [f"F{seed % 100:02d}S{i:02d}" for i in range(n_symbols)]
    g = Generated(exchange, t0, t0 + timedelta(minutes=minutes + 1), symbols)
    for si, sym in enumerate(symbols):
        starts = [20 + 40 * k + int(rng.integers(0, 8)) for k in range(12)]
        if si < FEW_SYMBOLS:
            starts.append(500 + int(rng.integers(0, 60)))
        trig = np.zeros(minutes, bool)
        momentum = rng.normal(0, 1, minutes)  # noise, except at event entries
        drift = np.zeros(minutes)
        for s in starts:
            trig[s : s + 3] = True
            f = rng.normal(0, 1)
            momentum[s + 1] = f  # at the entry: confirmed_at, the 2nd triggered minute (N = 2)
            # the spread falls (a short-spread trade gains) over the next hour when f > 0
            ramp = np.minimum(np.arange(minutes - s), 60) / 60.0
            drift[s:] += -beta * f * 0.0001 * ramp
        spread = 0.003 + np.cumsum(rng.normal(0, 0.00003, minutes)) + drift
        funding = np.round(rng.normal(0.0001, 0.00005, minutes), 7)
        rows = []
        for m in range(minutes):
            ts = t0 + timedelta(minutes=m)
            spot = 100.0 + si + 0.01 * m
            rows.append(
                {
                    "ts": ts,
                    "exchange": exchange,
                    "symbol": sym,
                    "signal_type": "A",
                    "type_class": "A",
                    "triggered": bool(trig[m]),
                    "spot_price": spot if prices else None,
                    "futures_price": spot * (1 + float(spread[m])) if prices else None,
                    "spread_rel": float(spread[m]),
                    "funding_rate": float(funding[m]),
                    "funding_interval_hours": 4.0,
                    "next_funding_time": t0 + timedelta(hours=4 * (m // 240 + 1)),
                    "crossings_1h": int(rng.integers(0, 4)),
                    "spread_momentum_15m": float(momentum[m]),
                    "spread_zscore_1h": float(rng.normal(0, 1)),
                    "meta": {"factors": {"noise": float(rng.normal(0, 1)), "level": int(rng.integers(0, 3))}},
                }
            )
        g.rows[sym] = rows
    return g


def insert(conn, g: Generated, membership: bool = True) -> None:
    """Insert the raw rows (and open memberships from t0, so the events count whatever
    memberships other tests have recorded)."""
    payload = [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
        for sym in g.symbols
        for r in g.rows[sym]
    ]
    cols = ", ".join(COLUMNS)
    conn.execute(
        f"""
        INSERT INTO watchlist_data.watch_signal_raw ({cols})
        SELECT {cols} FROM jsonb_to_recordset(%s) AS x(
               ts timestamptz, exchange text, symbol text, signal_type text, type_class text, triggered boolean,
               spot_price float8, futures_price float8, spread_rel float8, funding_rate float8,
               funding_interval_hours float8, next_funding_time timestamptz, crossings_1h integer,
               spread_momentum_15m float8, spread_zscore_1h float8, meta jsonb)""",
        (Jsonb(payload),),
    )
    if membership:
        conn.execute(
            """INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
                        SELECT %s, s, %s FROM unnest(%s::text[]) AS s""",
            (g.exchange, g.t0 - timedelta(days=1), g.symbols),
        )


def merge_and_label(conn, g: Generated) -> list[int]:
    """Merge the generated keys' events and label exactly those (no other event is touched)."""
    conn.execute("SELECT * FROM watchlist.merge_events(%s, %s, %s)", (g.t0, g.now, g.now))
    ids = [
        r[0]
        for r in conn.execute("SELECT id FROM watchlist_data.watch_signal_event WHERE exchange = %s", (g.exchange,))
    ]
    conn.execute("SELECT * FROM watchlist.label_outcomes(%s, %s)", (g.now, ids))
    return ids


def cleanup(conn, exchange: str) -> None:
    conn.execute("DELETE FROM watchlist_data.watch_signal_event WHERE exchange = %s", (exchange,))  # labels cascade
    conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE exchange = %s", (exchange,))
    conn.execute("DELETE FROM watchlist_data.watchlist_membership WHERE exchange = %s", (exchange,))
