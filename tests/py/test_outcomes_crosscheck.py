"""Outcome labels cross-checked against an independent numpy computation of the documented
definitions, on generated data: random-walk spreads, funding at 1/4/8 h intervals, executable
spreads present on some symbols only, and holes in the data. The trade is entered when the
event is confirmed (N = 2: the second of two consecutive triggered minutes), recomputed here
from the samples, not read from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

T0 = datetime(2033, 3, 1, tzinfo=UTC)
HORIZONS = [30, 60, 180, 360]
COST_BPS = 8.0
H_GAP = timedelta(minutes=10)
GRACE = timedelta(hours=6)


def _generate(rng, symbol, interval_h, executable, minutes=9 * 60):
    ts = np.array([T0 + timedelta(minutes=int(m)) for m in range(minutes)])
    keep = np.ones(minutes, bool)
    hole = rng.integers(60, minutes - 60)
    keep[hole : hole + int(rng.integers(5, 40))] = False  # a hole somewhere
    spread = 0.002 + np.cumsum(rng.normal(0, 0.0002, minutes))
    funding = np.round(rng.normal(0.0001, 0.0002, minutes), 6)
    period = interval_h * 60
    next_ft = np.array([T0 + timedelta(minutes=int((m // period + 1) * period)) for m in range(minutes)])
    trig = np.zeros(minutes, bool)
    for start in rng.choice(np.arange(10, 150), size=4, replace=False):  # events early enough for every horizon
        trig[start : start + int(rng.integers(2, 6))] = True
    rows = []
    for i in np.flatnonzero(keep):
        row = {
            "ts": ts[i],
            "spread": float(spread[i]),
            "funding": float(funding[i]),
            "nft": next_ft[i],
            "trig": bool(trig[i]),
            "interval": interval_h,
            "sell": float(spread[i] - 0.00005) if executable else None,
            "buy": float(spread[i] + 0.00005) if executable else None,
        }
        rows.append(row)
    return symbol, rows


def _confirmation(rows, start):
    """Entry time: the first triggered row at or after the event start whose previous row is
    triggered too and at most H earlier (a run of 2 consecutive triggered minutes)."""
    prev = None
    for r in rows:
        if (
            r["ts"] >= start
            and r["trig"]
            and prev is not None
            and prev["trig"]
            and r["ts"] - prev["ts"] <= H_GAP
            and prev["ts"] >= start
        ):
            return r["ts"]
        prev = r
    return None


def _expected(rows, entry, horizon, now):
    t0, t1 = entry, entry + timedelta(minutes=horizon)
    before = [r for r in rows if r["ts"] <= t0]
    window = [r for r in rows if t0 < r["ts"] <= t1]
    reached = any(r["ts"] >= t1 for r in rows)
    if not reached and not now > t1 + GRACE:
        return None  # not written yet
    entry = before[-1] if before else None
    exit_ = window[-1] if window else None
    covered = bool(entry and exit_ and reached and t1 - exit_["ts"] <= H_GAP)
    if not covered:
        return {"covered": False}
    s = -1 if entry["spread"] >= 0 else 1

    def pick(r, side):
        return r[side] if r[side] is not None else r["spread"]

    entry_px = pick(entry, "sell" if s == -1 else "buy")
    exit_px = pick(exit_, "buy" if s == -1 else "sell")
    rates = {}
    for r in rows:  # rows in [t0, t1] before their funding time
        if (
            t0 <= r["ts"] <= t1
            and t0 < r["nft"] <= t1
            and r["ts"] < r["nft"]
            and (r["nft"] not in rates or r["ts"] > rates[r["nft"]][0])
        ):
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
    data = dict(
        [
            _generate(rng, f"XC{seed}A", 8, True),
            _generate(rng, f"XC{seed}B", 4, False),
            _generate(rng, f"XC{seed}C", 1, True),
        ]
    )
    now = T0 + timedelta(hours=9, minutes=1)
    with conn.transaction(force_rollback=True):
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel,
                       funding_rate, funding_interval_hours, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low)
                   VALUES (%s, 'xc', %s, 'A', %s, %s, %s, %s, %s, %s, %s)""",
                [
                    (r["ts"], sym, r["trig"], r["spread"], r["funding"], r["interval"], r["nft"], r["sell"], r["buy"])
                    for sym, rows in data.items()
                    for r in rows
                ],
            )
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
    assert len(got_map) == sum(
        1 for s, st, _ in events for h in HORIZONS if _expected(data[s], _confirmation(data[s], st), h, now) is not None
    )
    assert n_checked >= 10


# --------------------------------------------------------------------------------------
# Examples from the plan's words (../shared/seed/watchlist-db-plan.zh.md, "outcome 计算"),
# each built so that another reading of the words gives another number. The expected
# values are worked by hand; both the numpy reference above and the SQL must give them.
#   pnl "按基差回归" (basis reversion): a positive spread is shorted, a negative one bought;
#       the entry is the event's start (no look-ahead), not its end.
#   spread_change "当前 spread -> 未来 spread": future minus current, not current minus future.
#   volatility "未来窗口 σ": sample sigma of the future window (t0, t1] only, entry excluded.
#   funding_change: exit minus entry.
#   max_drawdown: the project's documented reading, the worst adverse excursion of the
#       spread from the entry (bps); a favourable run that gives some back is not adverse.
W0 = datetime(2033, 9, 1, tzinfo=UTC)


def _rows_at(points):
    """points: (minute, spread, funding) -> rows in the reference's shape."""
    return [
        {
            "ts": W0 + timedelta(minutes=m),
            "spread": sp,
            "funding": f,
            "nft": W0 + timedelta(hours=8),
            "trig": 0 <= m <= 4,
            "interval": 8,
            "sell": None,
            "buy": None,
        }
        for m, sp, f in points
    ]


WORDS = {
    # short: 0.0030 at the start, 0.0050 at the event's end (minute 4), 0.0010 at 30 min
    # pnl 10000 * (0.0030 - 0.0010) - 8 = 12   (entry at the end would say 32, a long -28)
    # spread_change 0.0010 - 0.0030 = -0.0020  (the other order +0.0020)
    # funding_change 0.0003 - 0.0001 = 0.0002
    "WSHORT": (
        _rows_at(
            [
                (-1, 0.0030, 0.0001),
                (0, 0.0030, 0.0001),
                (4, 0.0050, 0.0002),
                (10, 0.0040, 0.0002),
                (20, 0.0020, 0.0003),
                (30, 0.0010, 0.0003),
                (31, 0.0010, 0.0003),
            ]
        ),
        {"pnl": 12.0, "spread_change": -0.0020, "funding_change": 0.0002},
    ),
    # long: -0.0020 -> -0.0005: pnl 10000 * 0.0015 - 8 = 7 (a short would say -23)
    "WLONG": (
        _rows_at([(0, -0.0020, 0.0), (10, -0.0015, 0.0), (20, -0.0010, 0.0), (30, -0.0005, 0.0)]),
        {"pnl": 7.0, "spread_change": 0.0015, "max_drawdown": 0.0},
    ),
    # volatility of (t0, t1]: 0.0040, 0.0020, 0.0030 -> sample sigma 0.0010
    # (with the entry row 0.00081650, population sigma of the window 0.00081650)
    "WVOL": (
        _rows_at([(0, 0.0030, 0.0), (10, 0.0040, 0.0), (20, 0.0020, 0.0), (30, 0.0030, 0.0)]),
        {"volatility": 0.0010, "pnl": -8.0, "max_drawdown": 10.0},
    ),
    # short at 0.0030: falls to 0.0010 (+20 bps), gives back to 0.0025, ends 0.0015:
    # never above the entry, so no adverse excursion: 0 (a peak-to-trough reading says 15)
    "WDD": (
        _rows_at([(0, 0.0030, 0.0), (10, 0.0010, 0.0), (20, 0.0025, 0.0), (30, 0.0015, 0.0)]),
        {"max_drawdown": 0.0, "pnl": 7.0},
    ),
}


def test_examples_from_the_plan_words(conn):
    now = W0 + timedelta(hours=1)
    for sym, (rows, want) in WORDS.items():
        ref = _expected(rows, W0, 30, now)
        for k, v in want.items():
            assert ref[k] == pytest.approx(v, abs=1e-9), (sym, k, "reference")
    with conn.transaction(force_rollback=True):
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel,
                       funding_rate, funding_interval_hours, next_funding_time)
                   VALUES (%s, 'xwords', %s, 'A', %s, %s, %s, %s, %s)""",
                [
                    (r["ts"], sym, r["trig"], r["spread"], r["funding"], r["interval"], r["nft"])
                    for sym, (rows, _) in WORDS.items()
                    for r in rows
                ],
            )
        # fixture events confirmed at their first sample (entry = confirmed_at = W0)
        ids = [
            conn.execute(
                """INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts,
                                      duration_sec, n_samples, status, is_open, confirmed_at)
                               VALUES ('xwords', %s, 'A', %s, %s, 240, 5, 'confirmed', false, %s) RETURNING id""",
                (sym, W0, W0 + timedelta(minutes=4), W0),
            ).fetchone()[0]
            for sym in WORDS
        ]
        conn.execute("SELECT * FROM watchlist.label_outcomes(%s, %s)", (now, ids))
        got = {
            r[0]: dict(zip(("pnl", "spread_change", "funding_change", "max_drawdown", "volatility"), r[1:]))
            for r in conn.execute("""SELECT e.symbol, o.pnl, o.spread_change, o.funding_change, o.max_drawdown, o.volatility
                                          FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                                         WHERE e.exchange = 'xwords' AND o.horizon_min = 30 AND o.covered""")
        }
    assert set(got) == set(WORDS)
    for sym, (_, want) in WORDS.items():
        for k, v in want.items():
            assert got[sym][k] == pytest.approx(v, abs=1e-9), (sym, k, "SQL")
