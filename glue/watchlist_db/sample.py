"""A realistic, deterministic sample of what the monitor writes: the demo, the tests and
the benchmarks share it.

``generate(days, start, seed)`` yields one snapshot per minute: a list of per-symbol dicts
in the shape the app has them (core scalars, the seed's cross-exchange details and
``factors``), for 20 (exchange, symbol) pairs across 5 exchanges:
  - spread_rel follows a mean-reverting (Ornstein-Uhlenbeck) process with occasional jumps,
    each pair with its own mean, speed and noise; spot follows a random walk and
    futures = spot * (1 + spread);
  - funding every 1, 4 or 8 hours (per pair) with next_funding_time on the UTC grid, the
    rate tracking the basis plus noise;
  - Type A/B/C per pair; a minute is triggered when the 1-hour z-score of the spread is
    beyond 1.8 and the spread is material;
  - window factors from the pair's own history (1 h / 12 h range, volatility, slope over
    3 minutes, crossings of the 1-hour mean, drift, z-scores, realised volatility,
    momentum) and executable spreads a few tenths of a basis point away from the mid;
  - meta: pairs_top, funding_diff_top, exchanges (one entry without a quote, which the
    writer filters), matrix, notes, and long-tail factors (rsi_14, macd, ...), among them
    the pure-noise factors NOISE_FACTORS (standard normal draws from a generator of their
    own, so they predict nothing and leave every other value as it was).
Same seed, same data, byte for byte.

The planted relation (PLANTED): funding = the pair's bias + 0.3 x spread_rel + noise, so
funding_diff_max = |funding - bias| + 0.00005 tracks |spread_rel|: the further the spread is
from zero at entry, the more a mean-reverting spread gives back, so funding_diff_max predicts
pnl by construction. The demo's leaderboard should find it.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PLANTED_FACTOR = "funding_diff_max"
# what the factor lab must not find: independent of the data and of each other
NOISE_FACTORS = ("noise_a", "noise_b", "noise_c")
PLANTED = (
    "funding = bias + 0.3 x spread_rel + noise, so funding_diff_max = |funding - bias| + 0.00005 tracks |spread_rel|"
)

EXCHANGES = ("binance", "okx", "bybit", "bitget", "gate")
BASES = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "TON", "SUI", "PEPE", "WIF")


@dataclass
class _Pair:
    exchange: str
    symbol: str
    type_class: str
    interval_h: int
    mu: float
    theta: float
    sigma: float
    spread: float
    spot: float
    funding_bias: float
    hist: deque = field(default_factory=lambda: deque(maxlen=720))
    fund_hist: deque = field(default_factory=lambda: deque(maxlen=7 * 24 * 60 // 30))


def pairs(seed: int = 7) -> list[_Pair]:
    rng = random.Random(seed)
    out = []
    for i, base in enumerate(BASES):
        exchanges = [EXCHANGES[i % 5]] + ([EXCHANGES[(i + 2) % 5]] if i < 8 else [])
        for ex in exchanges:
            mu = rng.uniform(-0.0008, 0.0035)
            out.append(
                _Pair(
                    ex,
                    f"{base}USDT",
                    "ABC"[len(out) % 3],
                    (1, 4, 8)[len(out) % 3],
                    mu,
                    rng.uniform(0.01, 0.05),
                    rng.uniform(0.00008, 0.0002),
                    mu,
                    rng.uniform(0.5, 60000),
                    rng.uniform(-0.0001, 0.0001),
                )
            )
    return out


def _stats(values):
    n = len(values)
    m = sum(values) / n
    var = sum((v - m) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return m, math.sqrt(var)


def generate(days: float = 3, start: datetime | None = None, seed: int = 7) -> Iterator[tuple[datetime, list[dict]]]:
    """Yield (minute, snapshot) for `days` days of 1-minute refreshes starting at `start`."""
    rng = random.Random(seed * 7919 + 1)
    noise = random.Random(seed * 104729 + 3)
    start = (start or datetime(2026, 1, 1, tzinfo=UTC)).replace(second=0, microsecond=0)
    ps = pairs(seed)
    for minute in range(int(days * 1440)):
        now = start + timedelta(minutes=minute)
        snap = []
        for k, p in enumerate(ps):
            jump = rng.gauss(0, 6 * p.sigma) if rng.random() < 0.002 else 0.0
            p.spread += p.theta * (p.mu - p.spread) + rng.gauss(0, p.sigma) + jump
            p.spot *= math.exp(rng.gauss(0, 0.0006))
            p.hist.append(p.spread)
            h1 = list(p.hist)[-60:]
            m1, sd1 = _stats(h1)
            m12, sd12 = _stats(list(p.hist))
            z1 = (p.spread - m1) / sd1 if sd1 > 0 else 0.0
            z12 = (p.spread - m12) / sd12 if sd12 > 0 else 0.0
            crossings = sum(1 for a, b in zip(h1, h1[1:]) if (a - m1) * (b - m1) < 0)
            slope = (h1[-1] - h1[-4]) / 3 if len(h1) >= 4 else 0.0
            rets = [b - a for a, b in zip(h1, h1[1:])]
            rv = math.sqrt(sum(r * r for r in rets)) if rets else 0.0
            funding = round(p.funding_bias + 0.3 * p.spread + rng.gauss(0, 0.00002), 7)
            if minute % 30 == 0:
                p.fund_hist.append(funding)
            fm, fsd = _stats(list(p.fund_hist)) if len(p.fund_hist) > 1 else (funding, 0.0)
            interval_min = p.interval_h * 60
            next_funding = start.replace(hour=0, minute=0) + timedelta(
                minutes=((minute + start.hour * 60 + start.minute) // interval_min + 1) * interval_min
            )
            half = 0.00003 + 0.00002 * (k % 3)
            triggered = abs(z1) > 1.8 and abs(p.spread) > 0.0005
            other = EXCHANGES[(EXCHANGES.index(p.exchange) + 1 + k % 3) % 5]
            row = {
                "ts": now,
                "exchange": p.exchange,
                "symbol": p.symbol,
                "type_class": p.type_class,
                "triggered": triggered,
                "status": "triggered" if triggered else "watching",
                "spot_price": round(p.spot, 8),
                "futures_price": round(p.spot * (1 + p.spread), 8),
                "spread_rel": p.spread,
                "funding_rate": funding,
                "funding_interval_hours": p.interval_h,
                "next_funding_time": next_funding,
                "range_1h": max(h1) - min(h1),
                "range_12h": max(p.hist) - min(p.hist),
                "volatility": sd1,
                "slope_3m": slope,
                "crossings_1h": crossings,
                "drift_ratio": (m1 - m12) / sd12 if sd12 > 0 else 0.0,
                "best_sell_high_buy_low": p.spread - half,
                "best_buy_high_sell_low": p.spread + half,
                "volume_quote": round(1e6 * (1 + k) * (1 + 0.3 * math.sin(minute / 300)), 2),
                "sweep_impact": 0.0001 * (1 + k % 4),
                "bid_ask_spread": 2 * half,
                "spread_zscore_1h": z1,
                "spread_zscore_12h": z12,
                "spread_momentum_15m": p.spread - (list(p.hist)[-16] if len(p.hist) > 15 else p.spread),
                "funding_zscore_7d": (funding - fm) / fsd if fsd > 0 else 0.0,
                "funding_diff_max": abs(funding - p.funding_bias) + 0.00005,
                "rv_1h": rv,
                "pairs_top": [
                    {
                        "high_exch": p.exchange,
                        "low_exch": other,
                        "spread_pct": round(abs(p.spread) + half, 7),
                        "dir": "buy_high_sell_low",
                    },
                    {
                        "high_exch": other,
                        "low_exch": p.exchange,
                        "spread_pct": round(max(abs(p.spread) - half, 0), 7),
                        "dir": "sell_high_buy_low",
                    },
                ],
                "funding_diff_top": [
                    {"high_exch": p.exchange, "low_exch": other, "funding_diff": round(funding - p.funding_bias, 7)}
                ],
                "exchanges": [
                    {
                        "name": p.exchange,
                        "kind": "perp",
                        "funding_rate": funding,
                        "funding_interval_hours": p.interval_h,
                        "price_bid": round(p.spot * (1 + p.spread) * (1 - half), 8),
                        "price_ask": round(p.spot * (1 + p.spread) * (1 + half), 8),
                        "oi_usd": round(2e6 * (1 + k), 0),
                        "volume_24h_quote": round(1e7 * (1 + k), 0),
                        "funding_hist": {
                            "mean": round(fm, 7),
                            "std": round(fsd, 7),
                            "last": funding,
                            "n": len(p.fund_hist),
                        },
                    },
                    {
                        "name": other,
                        "kind": "spot",
                        "price_bid": round(p.spot * (1 - half), 8),
                        "price_ask": round(p.spot * (1 + half), 8),
                    },
                    {"name": "kraken", "kind": "perp", "price_bid": None, "price_ask": None, "funding_rate": None},
                ],
                "matrix": [
                    {"exch_a": p.exchange, "exch_b": other, "spread_pct": round(p.spread, 7), "dir": "a_minus_b"}
                ],
                "notes": "sample",
                "factors": {
                    "rsi_14": round(50 + 50 * math.tanh(z1 / 2), 4),
                    "macd": round(m1 - m12, 9),
                    "hv_ratio_12h": round(sd1 / sd12, 6) if sd12 > 0 else 1.0,
                    "hour_of_day": now.hour,
                    "bollinger_pct_b": round(0.5 + z1 / 4, 6),
                    **{name: round(noise.gauss(0, 1), 6) for name in NOISE_FACTORS},
                },
            }
            snap.append(row)
        yield now, snap
