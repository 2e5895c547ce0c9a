"""An independent implementation of the barrier and entry-delay labels, in plain Python over
the exported raw rows, for the tests to compare with the database.

The barrier rule follows mlfinlab's triple-barrier convention (Lopez de Prado, AFML ch. 3):
``get_events`` builds per event the vertical barrier t1 (entry + horizon, the timeout), the
target (here sigma of the spread changes before the entry) and the horizontal barriers as
multiples of the target; ``apply_pt_sl_on_t1`` finds the first time the path crosses each
(the path's "returns" are the spread's moves in the trade's favour); the event ends at the
earliest of the three (first touch wins); ``get_bins`` labels it with the sign of the return
realised at that touch. Differences from mlfinlab, as documented for the database: the moves
are spread differences (spreads are already relative), not price ratios; the take profit is
capped at the entry spread (the spread reaching zero); the barriers are inclusive; the return
is the labels' pnl (executable prices, funding, cost). Rows are dicts: ts, spread, funding,
nft (next funding time), buy, sell (None when missing)."""

from __future__ import annotations

import math
import statistics
from datetime import timedelta


def _last_at_or_before(rows, t, after=None, lookback=None):
    best = None
    for r in rows:
        if r["spread"] is None or r["ts"] > t:
            continue
        if after is not None and r["ts"] <= after:
            continue
        if lookback is not None and r["ts"] < t - lookback:
            continue
        best = r
    return best


def _funding(rows, start, end):
    """Rates of the funding times T in (start, end]: per T the last row in [start, end] before T."""
    rates = {}
    for r in rows:
        if r["funding"] is None or not (start <= r["ts"] <= end and start < r["nft"] <= end and r["ts"] < r["nft"]):
            continue
        if r["nft"] not in rates or r["ts"] > rates[r["nft"]][0]:
            rates[r["nft"]] = (r["ts"], r["funding"])
    return sum(v[1] for v in rates.values()), len(rates)


def _px(row, s, side):
    """entry: sell price when shorting, buy price when buying; exit: the opposite."""
    key = ("sell" if s == -1 else "buy") if side == "entry" else ("buy" if s == -1 else "sell")
    return row[key] if row[key] is not None else row["spread"]


def trade_pnl(rows, s, entry_row, exit_row, t_start, t_end, cost_bps):
    entry_px, exit_px = _px(entry_row, s, "entry"), _px(exit_row, s, "exit")
    fsum, n = _funding(rows, t_start, t_end)
    return 1e4 * (s * (exit_px - entry_px) - s * fsum) - cost_bps, entry_px, exit_px, n


def target_sigma(rows, t0, window):
    """sd of the 1-minute spread changes over the rows with a spread in (t0 - window, t0]."""
    pts = [r for r in rows if r["spread"] is not None and t0 - window < r["ts"] <= t0]
    chg = [
        (b["spread"] - a["spread"]) / math.sqrt((b["ts"] - a["ts"]).total_seconds() / 60)
        for a, b in zip(pts, pts[1:], strict=False)
    ]
    return statistics.stdev(chg) if len(chg) >= 2 else None


def get_events(rows, t0, horizon_min, k, m, window, reach):
    """One event's barriers (mlfinlab get_events): t1, side, target, pt / sl levels."""
    entry = _last_at_or_before(rows, t0, lookback=reach)
    if entry is None:
        return None
    side = -1 if entry["spread"] >= 0 else 1
    trgt = target_sigma(rows, t0, window)
    ev = {"t0": t0, "t1": t0 + timedelta(minutes=horizon_min), "side": side, "trgt": trgt, "entry": entry}
    if trgt is not None and trgt > 0:
        ev["pt"] = min(abs(entry["spread"]), k * trgt)
        ev["sl"] = m * trgt
    return ev


def apply_pt_sl_on_t1(rows, ev):
    """First touches of the horizontal barriers on the path (t0, t1]: (pt_time, sl_time)."""
    pt_t = sl_t = None
    for r in rows:
        if r["spread"] is None or not (ev["t0"] < r["ts"] <= ev["t1"]):
            continue
        move = ev["side"] * (r["spread"] - ev["entry"]["spread"])
        if pt_t is None and move >= ev["pt"]:
            pt_t = r["ts"]
        if sl_t is None and move <= -ev["sl"]:
            sl_t = r["ts"]
    return pt_t, sl_t


def get_bins(rows, ev, cost_bps):
    """The touch (earliest of pt, sl, t1), the barrier, the pnl there and its sign."""
    pt_t, sl_t = apply_pt_sl_on_t1(rows, ev)
    touches = [(t, name) for t, name in ((pt_t, "take_profit"), (sl_t, "stop_loss")) if t is not None]
    if touches:
        t, name = min(touches)
        exit_row = next(r for r in rows if r["ts"] == t)
        end = t
    else:
        t, name = ev["t1"], "timeout"
        exit_row = _last_at_or_before(rows, ev["t1"], after=ev["t0"])
        end = ev["t1"]
    pnl, _, _, n = trade_pnl(rows, ev["side"], ev["entry"], exit_row, ev["t0"], end, cost_bps)
    return {"barrier": name, "hit_ts": t, "pnl": pnl, "sign": (pnl > 0) - (pnl < 0), "funding_times": n}


def delayed_label(rows, t0, horizon_min, delay_min, *, max_gap, reach, cost_bps):
    """The fixed label of an entry delay_min after t0 (direction decided at t0), or the reason."""
    decision = _last_at_or_before(rows, t0, lookback=reach)
    te = t0 + timedelta(minutes=delay_min)
    tx = te + timedelta(minutes=horizon_min)
    entry = _last_at_or_before(rows, te, lookback=reach)
    exit_ = _last_at_or_before(rows, tx, after=te)
    reached = any(r["ts"] >= tx for r in rows)
    if decision is None or entry is None:
        return {"covered": False, "reason": "no spread at or before the entry"}
    if not reached:
        return {"covered": False, "reason": "no data at or after the horizon"}
    if exit_ is None or tx - exit_["ts"] > max_gap:
        return {"covered": False, "reason": "hole in the data at the horizon"}
    s = -1 if decision["spread"] >= 0 else 1
    pnl, _, _, _ = trade_pnl(rows, s, entry, exit_, te, tx, cost_bps)
    return {"covered": True, "pnl": pnl, "entry_ts": te, "exit_ts": tx}
