"""An independent numpy implementation of the database factors (watchlist_data.factor_value),
written from the definitions in the column comments of sql/0020_factor_value.sql and of the
migrations that replace them (0120: the textbook indicators), computed directly from raw rows:
bucket bases by Python grouping, two-pass moments, numpy polyfit/lstsq for slopes, explicit
loops for the recursive factors (run_indicators: one run at a time). Used by test_factors.py
to check every factor to 1e-9 (relative to the column's scale), and by test_indicators.py
next to TA-Lib."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

STEP = 300  # seconds
FACTORS = [
    "spread_zscore_1h",
    "spread_zscore_12h",
    "spread_halflife_12h",
    "spread_momentum_15m",
    "spread_momentum_60m",
    "spread_skew_12h",
    "spread_kurt_12h",
    "spread_drawdown_12h",
    "spread_rsi_14",
    "spread_rsi_sma_14",
    "spread_macd",
    "spread_macd_signal",
    "spread_bollinger_pct_b",
    "spread_dx_14",
    "spread_adx_14",
    "funding_zscore_7d",
    "funding_trend_3d",
    "funding_vol_7d",
    "funding_regime",
    "funding_reversal_prob",
    "funding_term_slope",
    "rv_1h",
    "rv_12h",
    "hv_ratio",
    "vol_of_vol_12h",
    "crossings_3h",
    "tail_risk_score",
    "oi_to_volume",
    "volume_spike_z_12h",
    "perp_oi_dominance",
    "signal_persistence_min",
    "hour_of_day",
    "session",
]


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def _sd(a) -> float | None:
    a = np.asarray(a, float)
    return float(np.std(a, ddof=1)) if len(a) >= 2 else None


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bucket_factors(exchange: str, meta: dict) -> dict:
    ex = meta.get("exchanges") if isinstance(meta, dict) else None
    ex = [e for e in ex if isinstance(e, dict)] if isinstance(ex, list) else []
    pts = [
        (e["funding_interval_hours"], e["funding_rate"])
        for e in ex
        if _num(e.get("funding_rate")) and _num(e.get("funding_interval_hours"))
    ]
    slope = None
    if len({p[0] for p in pts}) >= 2:
        x = np.array([p[0] for p in pts], float)
        y = np.array([p[1] for p in pts], float)
        slope = float(np.polyfit(x, y, 1)[0])
    perp = [e for e in ex if e.get("kind") == "perp"]
    both = [e for e in perp if _num(e.get("oi_usd")) and _num(e.get("volume_24h_quote"))]
    vol = sum(e["volume_24h_quote"] for e in both)
    oi_vol = sum(e["oi_usd"] for e in both) / vol if both and vol != 0 else None
    with_oi = [e for e in perp if _num(e.get("oi_usd"))]
    tot = sum(e["oi_usd"] for e in with_oi)
    own = [e["oi_usd"] for e in with_oi if e.get("name") == exchange]
    dom = sum(own) / tot if own and tot != 0 else None
    return {"funding_term_slope": slope, "oi_to_volume": oi_vol, "perp_oi_dominance": dom}


TEXTBOOK = [
    "spread_rsi_14",
    "spread_macd",
    "spread_macd_signal",
    "spread_bollinger_pct_b",
    "spread_dx_14",
    "spread_adx_14",
]
# the first index i of a run at which each textbook indicator has a value (TA-Lib's lookback)
WARM_UP = {
    "spread_rsi_14": 14,
    "spread_macd": 33,
    "spread_macd_signal": 33,
    "spread_bollinger_pct_b": 19,
    "spread_dx_14": 14,
    "spread_adx_14": 27,
}


def run_indicators(x: list[float], hi: list[float], lo: list[float]) -> dict[str, list]:
    """The textbook indicators (0120) along one run: the closes, highs and lows of consecutive
    bucket ends, oldest first. Written from the textbook recursions (Wilder 1978; Appel's MACD
    with the EMA seeds TA-Lib uses), in plain Python loops, independently of the SQL:
    RSI: Wilder's averages of gains and losses, seeded by the mean of the first 14;
    MACD: EMA12 - EMA26 from index 25, EMA26 seeded by the mean of x_0..x_25, EMA12 by the
    mean of x_14..x_25; signal: EMA9 of the MACD seeded by the mean of its first 9 values;
    both reported from index 33; Bollinger %b: mean and population sd of the last 20;
    DX: Wilder's sums of +DM, -DM, TR (plain sums of the first 13 steps, then
    S - S / 14 + v); ADX: the mean of the first 14 DX, then Wilder's average."""
    n = len(x)
    out = {f: [None] * n for f in TEXTBOOK}
    gain = loss = 0.0
    e12 = e26 = None
    macd_hist: list[float] = []
    sig = None
    p = m = tr = 0.0
    dxs: list[float | None] = []
    adx = None
    for i in range(n):
        if i >= 1:
            d = x[i] - x[i - 1]
            g, lo_ = (d, 0.0) if d > 0 else (0.0, -d)
            if i <= 14:
                gain, loss = gain + g, loss + lo_
                if i == 14:
                    gain, loss = gain / 14, loss / 14
            else:
                gain, loss = (gain * 13 + g) / 14, (loss * 13 + lo_) / 14
            if i >= 14 and gain + loss > 0:
                out["spread_rsi_14"][i] = 100 * gain / (gain + loss)
            up, dn = hi[i] - hi[i - 1], lo[i - 1] - lo[i]
            dmp = up if up > dn and up > 0 else 0.0
            dmm = dn if dn > up and dn > 0 else 0.0
            t_r = max(hi[i], x[i - 1]) - min(lo[i], x[i - 1])
            if i <= 13:
                p, m, tr = p + dmp, m + dmm, tr + t_r
            else:
                p, m, tr = p - p / 14 + dmp, m - m / 14 + dmm, tr - tr / 14 + t_r
            if i >= 14:
                dx = None
                if tr > 0:
                    dip, dim = 100 * p / tr, 100 * m / tr
                    if dip + dim > 0:
                        dx = 100 * abs(dip - dim) / (dip + dim)
                out["spread_dx_14"][i] = dx
                dxs.append(dx)
                if i == 27:
                    adx = sum(v or 0.0 for v in dxs) / 14
                elif i > 27 and dx is not None:
                    adx = (adx * 13 + dx) / 14
                if i >= 27:
                    out["spread_adx_14"][i] = adx
        if i == 25:
            e26 = sum(x[0:26]) / 26
            e12 = sum(x[14:26]) / 12
        elif i > 25:
            e26 = e26 + (2 / 27) * (x[i] - e26)
            e12 = e12 + (2 / 13) * (x[i] - e12)
        if i >= 25:
            macd_hist.append(e12 - e26)
            if i == 33:
                sig = sum(macd_hist) / 9
            elif i > 33:
                sig = sig + 0.2 * (macd_hist[-1] - sig)
            if i >= 33:
                out["spread_macd"][i] = macd_hist[-1]
                out["spread_macd_signal"][i] = sig
        if i >= 19:
            w = np.array(x[i - 19 : i + 1])
            sd = float(np.std(w))
            if sd > 0:
                out["spread_bollinger_pct_b"][i] = (x[i] - (w.mean() - 2 * sd)) / (4 * sd)
    return out


def runs(base: dict[int, dict]) -> list[list[int]]:
    """The runs (0120) of a key's bucket ends: maximal sequences of consecutive bucket ends
    with a spread close."""
    out: list[list[int]] = []
    for t in sorted(base):
        if base[t]["x"] is None:
            continue
        if out and out[-1][-1] == t - STEP:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def bases(rows: list[dict]) -> dict[int, dict]:
    """One key's raw rows grouped into 5-minute buckets: {bucket end (epoch s): base}, with the
    last spread x, its high hi and low lo, the samples, funding f, volume v, triggered, meta."""
    buckets: dict[int, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["ts"]):
        e = _epoch(r["ts"])
        buckets.setdefault(e - e % STEP + STEP, []).append(r)
    base = {}
    for t, rs in buckets.items():
        sp = [r["spread_rel"] for r in rs if r["spread_rel"] is not None]
        fu = [r["funding_rate"] for r in rs if r["funding_rate"] is not None]
        vo = [r["volume_quote"] for r in rs if r.get("volume_quote") is not None]
        base[t] = {
            "x": sp[-1] if sp else None,
            "hi": max(sp) if sp else None,
            "lo": min(sp) if sp else None,
            "samples": sp,
            "f": fu[-1] if fu else None,
            "v": vo[-1] if vo else None,
            "trig": rs[-1]["triggered"],
            "meta": rs[-1].get("meta") or {},
        }
    return base


def compute(exchange: str, rows: list[dict]) -> dict[datetime, dict]:
    """rows: one key's raw rows (dicts with ts, spread_rel, funding_rate, volume_quote,
    triggered, meta). Returns {bucket end: {factor: value}} for every bucket with rows."""
    base = bases(rows)
    out: dict[int, dict] = {}
    for t in sorted(base):
        cur = base[t]
        x_t = cur["x"]
        res = dict(_bucket_factors(exchange, cur["meta"]))
        h = datetime.fromtimestamp(t - STEP, UTC).hour
        res["hour_of_day"] = float(h)
        res["session"] = 1.0 if 8 <= h < 14 else 2.0 if 14 <= h < 22 else 0.0

        def window(length: int) -> list[int]:
            return [b for b in sorted(base) if t - length < b <= t]  # noqa: B023 (called within this iteration)

        def steps(length: int) -> list[int]:
            return [
                b
                for b in window(length)
                if b - STEP in base and base[b]["x"] is not None and base[b - STEP]["x"] is not None
            ]

        # z-scores over raw samples of the window's buckets
        for name, length in (("spread_zscore_1h", 3600), ("spread_zscore_12h", 43200)):
            s = np.array([v for b in window(length) for v in base[b]["samples"]])
            sd = _sd(s)
            res[name] = (x_t - s.mean()) / sd if x_t is not None and sd else None
        w12 = window(43200)
        xs = [(b, base[b]["x"]) for b in w12 if base[b]["x"] is not None]
        st12 = steps(43200)
        # AR(1)
        phi = None
        if len(st12) >= 2:
            xp = np.array([base[b - STEP]["x"] for b in st12])
            xc = np.array([base[b]["x"] for b in st12])
            if np.var(xp) > 0:
                phi = float(np.polyfit(xp, xc, 1)[0])
        res["spread_halflife_12h"] = 5 * math.log(0.5) / math.log(phi) if phi is not None and 0 < phi < 1 else None
        for name, lag in (("spread_momentum_15m", 900), ("spread_momentum_60m", 3600)):
            p = base.get(t - lag)
            res[name] = x_t - p["x"] if p is not None and p["x"] is not None and x_t is not None else None
        # moments
        a = np.array([v for _, v in xs])
        res["spread_skew_12h"] = res["spread_kurt_12h"] = None
        if len(a) >= 3:
            d = a - a.mean()
            m2 = (d**2).mean()
            if m2 > 0:
                res["spread_skew_12h"] = float((d**3).mean() / m2**1.5)
                if len(a) >= 4:
                    res["spread_kurt_12h"] = float((d**4).mean() / m2**2 - 3)
        res["spread_drawdown_12h"] = float(max(np.maximum.accumulate(a) - a)) if len(a) else None
        # RSI
        st70 = steps(4200)
        dd = [base[b]["x"] - base[b - STEP]["x"] for b in st70]
        tot = sum(abs(v) for v in dd)
        res["spread_rsi_sma_14"] = 100 * sum(max(v, 0) for v in dd) / tot if tot > 0 else None
        # funding, hourly samples
        f_t = cur["f"]
        H = [(b, base[b]["f"]) for b in window(7 * 86400) if b % 3600 == 0 and base[b]["f"] is not None]
        hv = np.array([v for _, v in H])
        fsd = _sd(hv)
        res["funding_vol_7d"] = fsd
        res["funding_zscore_7d"] = (f_t - hv.mean()) / fsd if fsd and f_t is not None else None
        H3 = [(b, v) for b, v in H if b > t - 3 * 86400]
        res["funding_trend_3d"] = None
        if len(H3) >= 2:
            tt = np.array([b / 86400 for b, _ in H3])
            yy = np.array([v for _, v in H3])
            tt0 = tt - tt.mean()
            res["funding_trend_3d"] = float((tt0 * (yy - yy.mean())).sum() / (tt0**2).sum())
        res["funding_regime"] = (
            float(min(5, 1 + math.floor(5.0 * sum(v < f_t for v in hv) / len(hv))))
            if len(hv) and f_t is not None
            else None
        )
        pairs = [(dict(H)[b - 3600], v) for b, v in H if b - 3600 in dict(H)]
        res["funding_reversal_prob"] = (
            float(np.mean([(v - p) * (p - hv.mean()) < 0 for p, v in pairs])) if pairs else None
        )
        # volatility
        st1 = steps(3600)
        d1 = [base[b]["x"] - base[b - STEP]["x"] for b in st1]
        d12 = [base[b]["x"] - base[b - STEP]["x"] for b in st12]
        res["rv_1h"] = math.sqrt(sum(v * v for v in d1)) if d1 else None
        res["rv_12h"] = math.sqrt(sum(v * v for v in d12)) if d12 else None
        s12 = sum(v * v for v in d12)
        res["hv_ratio"] = (
            math.sqrt(sum(v * v for v in d1) / len(d1)) / math.sqrt(s12 / len(d12)) if d1 and s12 > 0 else None
        )
        rvs = [out[b]["rv_1h"] for b in w12 if b < t and out[b]["rv_1h"] is not None]
        if res["rv_1h"] is not None:
            rvs.append(res["rv_1h"])
        res["vol_of_vol_12h"] = _sd(rvs)
        w3 = [base[b]["x"] for b in window(10800) if base[b]["x"] is not None]
        if w3:
            c3 = float(np.mean(w3))
            res["crossings_3h"] = float(
                sum(
                    1
                    for b in steps(10800)
                    if b - STEP > t - 10800 and (base[b]["x"] - c3) * (base[b - STEP]["x"] - c3) < 0
                )
            )
        else:
            res["crossings_3h"] = None
        sk, ku = res["spread_skew_12h"], res["spread_kurt_12h"]
        res["tail_risk_score"] = abs(sk) + max(ku, 0) if sk is not None and ku is not None else None
        vv = [base[b]["v"] for b in w12 if base[b]["v"] is not None]
        vsd = _sd(vv)
        res["volume_spike_z_12h"] = (cur["v"] - np.mean(vv)) / vsd if vsd and cur["v"] is not None else None
        prev = out.get(t - STEP)
        res["signal_persistence_min"] = (
            (5.0 + (prev["signal_persistence_min"] if prev else 0.0)) if cur["trig"] else 0.0
        )
        out[t] = {k: (float(v) if v is not None else None) for k, v in res.items()}
    for run in runs(base):
        ind = run_indicators([base[b]["x"] for b in run], [base[b]["hi"] for b in run], [base[b]["lo"] for b in run])
        for j, b in enumerate(run):
            for f in TEXTBOOK:
                out[b][f] = ind[f][j]
    for t in out:
        for f in TEXTBOOK:
            out[t].setdefault(f, None)
    return {datetime.fromtimestamp(t, UTC): v for t, v in out.items()}


def generate(
    rng: np.random.Generator, exchange: str, symbol: str, t0: datetime, minutes: int, hole_p: float = 0.01
) -> list[dict]:
    """Irregular samples (30 s .. 3 min apart) with holes (10 .. 90 min, after a sample with
    probability hole_p), null spreads, funding steps, a volume series, triggered runs and
    meta.exchanges with perp/spot entries of several funding intervals (some without quotes)."""
    rows, m, spread, funding = [], 0.0, 0.003, 0.0001
    trig_left = 0
    while m < minutes:
        m += float(rng.choice([0.5, 1, 1, 1, 2, 3]))
        if rng.random() < hole_p:
            m += float(rng.integers(10, 90))  # a hole
        if m >= minutes:
            break
        ts = t0 + timedelta(seconds=round(m * 60))
        spread += float(rng.normal(-0.02 * (spread - 0.003), 0.00004))
        if rng.random() < 0.02:
            funding = float(np.round(rng.normal(0.0001, 0.00006), 7))
        if trig_left == 0 and rng.random() < 0.03:
            trig_left = int(rng.integers(1, 15))
        trig = trig_left > 0
        trig_left = max(0, trig_left - 1)
        oi = float(np.round(rng.uniform(1e6, 5e6), 0))
        meta = {
            "exchanges": [
                {
                    "name": exchange,
                    "kind": "perp",
                    "funding_rate": funding,
                    "funding_interval_hours": 8,
                    "oi_usd": oi,
                    "volume_24h_quote": float(np.round(rng.uniform(5e6, 2e7), 0)),
                },
                {
                    "name": "other",
                    "kind": "perp",
                    "funding_rate": float(np.round(funding * rng.uniform(0, 2), 8)),
                    "funding_interval_hours": float(rng.choice([1, 4])),
                    "oi_usd": float(np.round(rng.uniform(1e6, 3e6), 0)),
                    "volume_24h_quote": float(np.round(rng.uniform(1e6, 1e7), 0)),
                },
                {"name": "spotx", "kind": "spot", "price_bid": 1.0, "price_ask": 1.01},
                {"name": "kraken", "kind": "perp", "funding_rate": None, "oi_usd": None},
            ]
        }
        if rng.random() < 0.3:
            meta["exchanges"] = meta["exchanges"][:1]
        rows.append(
            {
                "ts": ts,
                "exchange": exchange,
                "symbol": symbol,
                "signal_type": "A",
                "triggered": trig,
                "spread_rel": None if rng.random() < 0.03 else float(spread),
                "funding_rate": funding,
                "funding_interval_hours": 8.0,
                "volume_quote": float(np.round(rng.uniform(1e6, 2e6), 2)),
                "meta": meta,
            }
        )
    return rows
