"""Barrier labels and entry-delay labels against an independent Python implementation
(barrier_reference: mlfinlab's get_events / get_bins convention) run over the events and raw
rows exported from the database after the outcome job: random-walk spreads with missing
minutes (sigma's changes across a gap), funding at 1/4/8 h, executable prices on some
symbols, two settings of k, m and the sigma window."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

import barrier_reference as ref
import factor_data as fd
from watchlist_db import config
from watchlist_db.cli import main

T0 = datetime(2033, 5, 1, tzinfo=UTC)
HORIZONS = [30, 60, 180, 360]
COST_BPS = 8.0
MAX_GAP = timedelta(minutes=10)
REACH = timedelta(minutes=360) + timedelta(hours=6)


def _rows(rng, interval_h, executable, minutes=9 * 60):
    keep = rng.random(minutes) > 0.08  # missing minutes everywhere
    hole = int(rng.integers(60, minutes - 60))
    keep[hole : hole + int(rng.integers(5, 30))] = False
    spread = 0.002 + np.cumsum(rng.normal(0, 0.0002, minutes))
    funding = np.round(rng.normal(0.0001, 0.0002, minutes), 6)
    trig = np.zeros(minutes, bool)
    for start in rng.choice(np.arange(20, 170), size=5, replace=False):
        trig[start : start + int(rng.integers(2, 6))] = True
    keep[trig] = True
    period = interval_h * 60
    rows = []
    for i in np.flatnonzero(keep):
        rows.append(
            {
                "ts": T0 + timedelta(minutes=int(i)),
                "spread": float(spread[i]),
                "funding": float(funding[i]),
                "nft": T0 + timedelta(minutes=int((i // period + 1) * period)),
                "trig": bool(trig[i]),
                "interval": interval_h,
                "sell": float(spread[i] - 0.00005) if executable else None,
                "buy": float(spread[i] + 0.00005) if executable else None,
            }
        )
    return rows


def _load(conn, seed):
    rng = np.random.default_rng(seed)
    syms = {f"BD{seed}A": (8, True), f"BD{seed}B": (4, False), f"BD{seed}C": (1, True)}
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel,
                   funding_rate, funding_interval_hours, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low)
               VALUES (%s, 'bd', %s, 'A', %s, %s, %s, %s, %s, %s, %s)""",
            [
                (r["ts"], sym, r["trig"], r["spread"], r["funding"], r["interval"], r["nft"], r["sell"], r["buy"])
                for sym, (ih, ex) in syms.items()
                for r in _rows(rng, ih, ex)
            ],
        )
    now = T0 + timedelta(hours=9, minutes=1)
    conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (T0, now))
    conn.execute("SELECT * FROM watchlist.label_outcomes_incremental(%s)", (now,))


def _export(conn):
    """The events and raw rows as a user exports them (read API views)."""
    events = conn.execute(
        """SELECT id, symbol, entry_ts FROM watchlist.watch_signal_event
            WHERE exchange = 'bd' AND status = 'confirmed'"""
    ).fetchall()
    raw = {}
    for sym, ts, sp, fr, nft, sell, buy in conn.execute(
        """SELECT symbol, ts, spread_rel, funding_rate, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low
             FROM watchlist.watch_signal_raw WHERE exchange = 'bd' ORDER BY symbol, ts"""
    ):
        raw.setdefault(sym, []).append({"ts": ts, "spread": sp, "funding": fr, "nft": nft, "sell": sell, "buy": buy})
    return events, raw


def _fixed_covered(rows, t0, h):
    t1 = t0 + timedelta(minutes=h)
    entry = ref._last_at_or_before(rows, t0, lookback=REACH)
    exit_ = ref._last_at_or_before(rows, t1, after=t0)
    return entry is not None and exit_ is not None and any(r["ts"] >= t1 for r in rows) and t1 - exit_["ts"] <= MAX_GAP


@pytest.mark.parametrize(
    ("seed", "k", "m", "window", "kinds"),
    [
        (1, 2.0, 2.0, 60, {"take_profit", "stop_loss"}),
        (2, 30.0, 3.0, 20, {"take_profit", "stop_loss"}),  # the take profit capped at the spread reaching zero
        (3, 8.0, 8.0, 60, {"take_profit", "stop_loss", "timeout"}),
        (4, 1.5, 4.0, 30, {"take_profit", "stop_loss"}),
    ],
)
def test_barrier_labels_match_the_reference(conn, seed, k, m, window, kinds):
    with conn.transaction(force_rollback=True):
        for key, val in (
            ("barrier_take_profit_sigma", str(k)),
            ("barrier_stop_sigma", str(m)),
            ("barrier_sigma_window", f"{window} minutes"),
        ):
            conn.execute("UPDATE watchlist_data.settings SET value = %s WHERE key = %s", (val, key))
        _load(conn, seed)
        events, raw = _export(conn)
        got = {
            (r[0], r[1]): r[2:]
            for r in conn.execute(
                """SELECT b.event_id, b.horizon_min, b.covered, b.barrier, b.hit_ts, b.pnl, b.sign, b.sigma, b.reason
                     FROM watchlist.barrier_outcome b JOIN watchlist.watch_signal_event e ON e.id = b.event_id
                    WHERE e.exchange = 'bd'"""
            )
        }
        n_fixed = conn.execute(
            """SELECT count(*) FROM watchlist.future_outcome o JOIN watchlist.watch_signal_event e ON e.id = o.event_id
                WHERE e.exchange = 'bd'"""
        ).fetchone()[0]
    assert len(events) >= 10
    assert len(got) == n_fixed, "one barrier label per fixed label"
    seen = {"take_profit": 0, "stop_loss": 0, "timeout": 0}
    converged = 0  # take profits at the spread reaching zero (the cap below k sigma)
    for eid, sym, t0 in events:
        rows = raw[sym]
        for h in HORIZONS:
            if (eid, h) not in got:
                continue
            covered, barrier, hit_ts, pnl, sign, sigma, reason = got[(eid, h)]
            ev = ref.get_events(rows, t0, h, k, m, timedelta(minutes=window), REACH)
            want_cov = _fixed_covered(rows, t0, h) and ev is not None and ev["trgt"] is not None and ev["trgt"] > 0
            assert covered == want_cov, (eid, h, reason)
            if not covered:
                continue
            want = ref.get_bins(rows, ev, COST_BPS)
            assert sigma == pytest.approx(ev["trgt"], rel=1e-12), (eid, h)
            assert (barrier, hit_ts, sign) == (want["barrier"], want["hit_ts"], want["sign"]), (eid, h)
            assert pnl == pytest.approx(want["pnl"], abs=1e-9), (eid, h)
            seen[barrier] += 1
            converged += barrier == "take_profit" and ev["pt"] < k * ev["trgt"]
    assert sum(seen.values()) >= 20
    assert {b for b, v in seen.items() if v > 0} >= kinds, seen  # the barrier kinds this setting exercises
    assert converged > 0 or k < 30, "a large k takes profit only where the spread reaches zero"


@pytest.mark.parametrize("seed", [5, 6])
def test_entry_delays_match_the_reference(conn, seed):
    with conn.transaction(force_rollback=True):
        _load(conn, seed)
        events, raw = _export(conn)
        got = {
            (r[0], r[1], r[2]): r[3:]
            for r in conn.execute(
                """SELECT event_id, horizon_min, delay_min, covered, pnl, entry_ts, exit_ts, reason
                     FROM watchlist.outcome_delays(%s, %s, '{0,1,2,5}')""",
                (T0, T0 + timedelta(days=1)),
            )
        }
        stored = {
            (r[0], r[1]): r[2:]
            for r in conn.execute(
                """SELECT o.event_id, o.horizon_min, o.covered, o.pnl FROM watchlist.future_outcome o
                     JOIN watchlist.watch_signal_event e ON e.id = o.event_id WHERE e.exchange = 'bd'"""
            )
        }
    assert len(got) == 4 * len(stored)
    n_cov = 0
    for eid, sym, t0 in events:
        for h in HORIZONS:
            if (eid, h) not in stored:
                continue
            assert got[(eid, h, 0)][:2] == stored[(eid, h)], "delay 0 is the stored label exactly"
            for d in (0, 1, 2, 5):
                covered, pnl, entry_ts, exit_ts, reason = got[(eid, h, d)]
                want = ref.delayed_label(raw[sym], t0, h, d, max_gap=MAX_GAP, reach=REACH, cost_bps=COST_BPS)
                assert covered == want["covered"], (eid, h, d)
                if covered:
                    n_cov += 1
                    assert pnl == pytest.approx(want["pnl"], abs=1e-9), (eid, h, d)
                    assert (entry_ts, exit_ts) == (want["entry_ts"], want["exit_ts"])
                else:
                    assert reason == want["reason"], (eid, h, d)
    assert n_cov >= 40


# ------------------------------------------------------------------ wldb ic --delays
@pytest.fixture(scope="module")
def committed_day(target):
    """A generated day committed under a unique exchange (the CLI opens its own connection)."""
    g = fd.generate(41, "pydel" + uuid.uuid4().hex[:8], datetime(2034, 7, 1, tzinfo=UTC))
    with config.connect(target) as c:
        fd.insert(c, g)
        fd.merge_and_label(c, g)
    try:
        yield g
    finally:
        with config.connect(target) as c:
            fd.cleanup(c, g.exchange)


def test_wldb_ic_delays_prints_the_verdict_at_each_delay(target, committed_day):
    g = committed_day
    rng = ["--from", g.t0.isoformat(), "--to", (g.t0 + timedelta(days=1)).isoformat(), "--exchange", g.exchange]
    dsn = [] if target.embedded else ["--dsn", target.conninfo]
    res = CliRunner().invoke(
        main, [*dsn, "ic", *rng, "--period", "2 hours", "--delays", "0,2", "--format", "json"], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    with config.connect(target) as c:
        cur = c.execute(
            "SELECT * FROM watchlist.factor_leaderboard(%s, %s, 'pnl', '2 hours', 5, NULL, %s)",
            (g.t0, g.t0 + timedelta(days=1), g.exchange),
        )
        cols = [d.name for d in cur.description]
        base = {(r["factor"], r["horizon_min"]): r for r in (dict(zip(cols, x, strict=True)) for x in cur.fetchall())}
    assert {r["delay_min"] for r in got} == {0, 2}
    zero = [r for r in got if r["delay_min"] == 0]
    assert len(zero) == len(base) > 0
    for r in zero:  # delay 0 is the leaderboard on pnl
        b = base[(r["factor"], r["horizon_min"])]
        assert (r["n_events"], r["mean_rank_ic"], r["q_value"]) == (b["n_events"], b["mean_rank_ic"], b["q_value"])
        assert r["rank_ic_change"] == (0 if b["mean_rank_ic"] is not None else None)
    two = {(r["factor"], r["horizon_min"]): r for r in got if r["delay_min"] == 2}
    moved = [k for k, r in two.items() if r["mean_rank_ic"] is not None and base[k]["mean_rank_ic"] is not None]
    assert moved
    for k in moved:
        assert two[k]["rank_ic_change"] == pytest.approx(two[k]["mean_rank_ic"] - base[k]["mean_rank_ic"], abs=1e-15)
    res = CliRunner().invoke(main, [*dsn, "ic", *rng, "--delays", "0,-1"])
    assert res.exit_code == 2 and "delays are whole minutes in 0 .. 1440" in res.output
    res = CliRunner().invoke(main, [*dsn, "ic", *rng, "--period", "2 hours", "--delays", "0,1"])
    assert res.exit_code == 0 and "factor verdicts of pnl by entry delay" in res.stdout, res.output
