"""Outcome labels cross-checked against an independent numpy computation of the documented
definitions, on generated data: random-walk spreads, funding at 1/4/8 h intervals, executable
spreads present on some symbols only, and holes in the data. The trade is entered when the
event is confirmed (N = 2: the second of two consecutive triggered minutes), recomputed here
from the samples, not read from the database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

T0 = datetime(2033, 3, 1, tzinfo=timezone.utc)
HORIZONS = [30, 60, 180, 360]
COST_BPS = 8.0
H_GAP = timedelta(minutes=10)
GRACE = timedelta(hours=6)


def _generate(rng, symbol, interval_h, executable, minutes=9 * 60):
    ts = np.array([T0 + timedelta(minutes=int(m)) for m in range(minutes)])
    keep = np.ones(minutes, bool)
    hole = rng.integers(60, minutes - 60)
    keep[hole:hole + int(rng.integers(5, 40))] = False            # a hole somewhere
    spread = 0.002 + np.cumsum(rng.normal(0, 0.0002, minutes))
    funding = np.round(rng.normal(0.0001, 0.0002, minutes), 6)
    period = interval_h * 60
    next_ft = np.array([T0 + timedelta(minutes=int((m // period + 1) * period)) for m in range(minutes)])
    trig = np.zeros(minutes, bool)
    for start in rng.choice(np.arange(10, 150), size=4, replace=False):  # events early enough for every horizon
        trig[start:start + int(rng.integers(2, 6))] = True
    rows = []
    for i in np.flatnonzero(keep):
        row = {"ts": ts[i], "spread": float(spread[i]), "funding": float(funding[i]), "nft": next_ft[i],
               "trig": bool(trig[i]), "interval": interval_h,
               "sell": float(spread[i] - 0.00005) if executable else None,
               "buy": float(spread[i] + 0.00005) if executable else None}
        rows.append(row)
    return symbol, rows


def _confirmation(rows, start):
    """Entry time: the first triggered row at or after the event start whose previous row is
    triggered too and at most H earlier (a run of 2 consecutive triggered minutes)."""
    prev = None
    for r in rows:
        if r["ts"] >= start and r["trig"] and prev is not None and prev["trig"] and r["ts"] - prev["ts"] <= H_GAP \
                and prev["ts"] >= start:
            return r["ts"]
        prev = r
    return None


def _expected(rows, entry, horizon, now):
    t0, t1 = entry, entry + timedelta(minutes=horizon)
    before = [r for r in rows if r["ts"] <= t0]
    window = [r for r in rows if t0 < r["ts"] <= t1]
    reached = any(r["ts"] >= t1 for r in rows)
    if not reached and not now > t1 + GRACE:
        return None                                           # not written yet
    entry = before[-1] if before else None
    exit_ = window[-1] if window else None
    covered = bool(entry and exit_ and reached and t1 - exit_["ts"] <= H_GAP)
    if not covered:
        return {"covered": False}
    s = -1 if entry["spread"] >= 0 else 1
    pick = (lambda r, side: r[side] if r[side] is not None else r["spread"])
    entry_px = pick(entry, "sell" if s == -1 else "buy")
    exit_px = pick(exit_, "buy" if s == -1 else "sell")
    rates = {}
    for r in rows:                                            # rows in [t0, t1] before their funding time
        if t0 <= r["ts"] <= t1 and t0 < r["nft"] <= t1 and r["ts"] < r["nft"]:
            if r["nft"] not in rates or r["ts"] > rates[r["nft"]][0]:
                rates[r["nft"]] = (r["ts"], r["funding"])
    fsum = sum(v[1] for v in rates.values())
    path = np.array([r["spread"] for r in window])
    mtm = s * (path - entry_px)
    return {
        "covered": True,
        "pnl": 1e4 * (s * (exit_px - entry_px) - s * fsum) - COST_BPS,
        "spread_change": exit_["spread"] - entry["spread"],
        "funding_change": exit_["funding"] - entry["funding"],
        "max_drawdown": 1e4 * max(0.0, -mtm.min()),
        "volatility": float(np.std(path, ddof=1)) if len(path) > 1 else 0.0,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_labels_match_an_independent_numpy_computation(conn, seed):
    rng = np.random.default_rng(seed)
    data = dict([_generate(rng, f"XC{seed}A", 8, True), _generate(rng, f"XC{seed}B", 4, False),
                 _generate(rng, f"XC{seed}C", 1, True)])
    now = T0 + timedelta(hours=9, minutes=1)
    with conn.transaction(force_rollback=True):
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel,
                       funding_rate, funding_interval_hours, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low)
                   VALUES (%s, 'xc', %s, 'A', %s, %s, %s, %s, %s, %s, %s)""",
                [(r["ts"], sym, r["trig"], r["spread"], r["funding"], r["interval"], r["nft"], r["sell"], r["buy"])
                 for sym, rows in data.items() for r in rows])
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (T0, now))
        conn.execute("SELECT * FROM watchlist.label_outcomes(%s)", (now,))
        got = conn.execute("""SELECT e.symbol, e.start_ts, o.horizon_min, o.covered, o.pnl, o.spread_change,
                                     o.funding_change, o.max_drawdown, o.volatility
                                FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                               WHERE e.exchange = 'xc'""").fetchall()
        events = conn.execute("""SELECT symbol, start_ts, confirmed_at FROM watchlist_data.watch_signal_event
                                  WHERE exchange = 'xc' AND status = 'confirmed'""").fetchall()
    assert len(events) >= 6
    got_map = {(g[0], g[1], g[2]): g[3:] for g in got}
    n_checked = 0
    for sym, start, confirmed_at in events:
        entry = _confirmation(data[sym], start)
        assert confirmed_at == entry, (sym, start)
        for h in HORIZONS:
            want = _expected(data[sym], entry, h, now)
            key = (sym, start, h)
            if want is None:
                assert key not in got_map, f"{key} labelled before its horizon was covered"
                continue
            assert key in got_map, f"{key} missing"
            covered, pnl, dspread, dfund, dd, vol = got_map[key]
            assert covered == want["covered"], key
            if covered:
                n_checked += 1
                assert pnl == pytest.approx(want["pnl"], abs=1e-9), key
                assert dspread == pytest.approx(want["spread_change"], abs=1e-12), key
                assert dfund == pytest.approx(want["funding_change"], abs=1e-12), key
                assert dd == pytest.approx(want["max_drawdown"], abs=1e-9), key
                assert vol == pytest.approx(want["volatility"], rel=1e-9, abs=1e-15), key
    assert len(got_map) == sum(1 for s, st, _ in events for h in HORIZONS
                               if _expected(data[s], _confirmation(data[s], st), h, now) is not None)
    assert n_checked >= 10
