"""watchlist.event_study and watchlist.outcome_excess against a separate Python
implementation over the generated rows (tests/py/factor_data.py), with executable prices on
half the symbols, funding crossings and missing minutes:

- outcome_excess: leave-one-out hour benchmark, point-in-time hour-of-day benchmark (labels
  of the same horizon entered at the same UTC hour on earlier days only);
- event_study: every (quintile, minute) row exactly (counts, carried minutes, clusters,
  mean, clustered band, the convergence / carry / cost split, the benchmark), the funding
  read literally as the label defines it (latest row per funding time in [t0, t0 + m]);
- reconciliation: at each label horizon the study's mean excess path equals the mean excess
  label pnl of outcome_excess over the same events, within 0.01 bps."""

from __future__ import annotations

import bisect
import math
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

import factor_data as fd
from watchlist_db import config

T0 = datetime(2036, 3, 2, 7, tzinfo=UTC)  # no other test's events in this window
FACTOR = "spread_momentum_15m"
H = 360
MIN_HISTORY = 10
CLUSTER = timedelta(hours=2)
HALF = 0.00002  # half the executable width where a symbol has prices


def _hour(ts):
    return ts.replace(minute=0, second=0, microsecond=0)


def _bucket(ts, width):
    epoch = datetime(2000, 1, 3, tzinfo=UTC)  # time_bucket's default origin (a Monday)
    return epoch + ((ts - epoch) // width) * width


@pytest.fixture(scope="module")
def study(target):
    """Generated data committed under a unique exchange (removed afterwards)."""
    g = fd.generate(47, "evs" + uuid.uuid4().hex[:8], T0)
    # missing minutes: drop a few untriggered rows of three symbols (well inside the sample gap)
    drop = {(g.symbols[0], m) for m in range(100, 104)} | {(g.symbols[1], m) for m in range(300, 302)}
    drop |= {(g.symbols[2], m) for m in range(395, 400)}
    for sym in g.symbols:
        g.rows[sym] = [
            r for r in g.rows[sym] if not ((sym, (r["ts"] - T0) // timedelta(minutes=1)) in drop and not r["triggered"])
        ]
    # executable prices on the even symbols: sell the spread above, buy it below spread_rel
    priced = g.symbols[::2]
    for sym in g.symbols:
        for r in g.rows[sym]:
            r["sell"] = r["spread_rel"] + HALF if sym in priced else None
            r["buy"] = r["spread_rel"] - HALF if sym in priced else None
    with config.connect(target, autocommit=True) as c:
        fd.insert(c, g)
        c.execute(
            """UPDATE watchlist_data.watch_signal_raw SET best_sell_high_buy_low = spread_rel + %s,
                      best_buy_high_sell_low = spread_rel - %s WHERE exchange = %s AND symbol = ANY(%s)""",
            (HALF, HALF, g.exchange, priced),
        )
        fd.merge_and_label(c, g)
        events = c.execute(
            """SELECT id, symbol, entry_ts FROM watchlist_data.watch_signal_event
                WHERE exchange = %s AND status = 'confirmed' ORDER BY entry_ts, id""",
            (g.exchange,),
        ).fetchall()
        cost = float(c.execute("SELECT watchlist_data.setting('outcome_cost_bps')").fetchone()[0])
    try:
        yield g, events, cost
    finally:
        with config.connect(target, autocommit=True) as c:
            fd.cleanup(c, g.exchange)


def _span(g):
    return g.t0, g.t0 + timedelta(days=1)


# ------------------------------------------------------------------ the reference implementation
def _paths(g, events, horizon, cost_bps):
    """{event_id: {minute: (pnl, conv, carry, cost, carried)}} as the label defines the pnl."""
    out = {}
    for eid, sym, t0 in events:
        rows = g.rows[sym]
        before = [r for r in rows if r["ts"] <= t0]
        en = before[-1]  # the generated rows start before every entry
        s = -1 if en["spread_rel"] >= 0 else 1
        entry_px = (en["sell"] if s == -1 else en["buy"]) or en["spread_rel"]
        last = rows[-1]["ts"]
        stamps = [r["ts"] for r in rows]
        window = [r for r in rows if t0 <= r["ts"] <= t0 + timedelta(minutes=horizon)]
        funding: dict = {}  # funding time -> rate of the latest row in [t0, t0 + m] naming it
        wi = 0
        path = {}
        for m in range(-60, horizon + 1):
            at = t0 + timedelta(minutes=m)
            while wi < len(window) and window[wi]["ts"] <= at:
                r = window[wi]
                if r["next_funding_time"] > t0 and r["ts"] < r["next_funding_time"] and r["funding_rate"] is not None:
                    funding[r["next_funding_time"]] = r["funding_rate"]
                wi += 1
            if m > 0 and last < at:
                continue  # not reached: the future has not happened
            k = bisect.bisect_right(stamps, at)
            if k == 0:
                continue
            mk = rows[k - 1]
            mark_px = (mk["buy"] if s == -1 else mk["sell"]) or mk["spread_rel"]
            conv = 1e4 * s * (mark_px - entry_px)
            carry = -1e4 * s * sum(v for k, v in funding.items() if k <= at) if m >= 1 else 0.0
            cost = -cost_bps if m >= 0 else 0.0
            carried = mk["ts"] <= at - timedelta(minutes=1)
            path[m] = (conv + carry + cost, conv, carry, cost, carried)
        out[eid] = (t0, path)
    return out


def _quintiles(g, events):
    vals = {eid: (t0, g.factor_at(sym, t0)[FACTOR]) for eid, sym, t0 in events}
    q = {}
    for eid, (t0, v) in vals.items():
        prior = [w for (t, w) in vals.values() if t < t0]
        k = len(prior)
        if k < MIN_HISTORY:
            q[eid] = None
            continue
        c_lt = sum(w < v for w in prior)
        c_eq = sum(w == v for w in prior)
        q[eid] = min(5, 1 + math.floor(5 * (c_lt + c_eq / 2) / k))
    return q


def _clustered_se(ys, clusters):
    n = len(ys)
    mean = sum(ys) / n
    by = defaultdict(float)
    for y, c in zip(ys, clusters, strict=True):
        by[c] += y - mean
    g = len(by)
    if g < 2:
        return None
    return math.sqrt(g / (g - 1) * sum(v * v for v in by.values())) / n


def _expected(g, events, cost_bps, excess):
    paths = _paths(g, events, H, cost_bps)
    quint = _quintiles(g, events)
    bench = {}
    if excess:
        pool = defaultdict(list)  # (minute, hour of entry) -> [(event, pnl)]
        for eid, (t0, path) in paths.items():
            for m, v in path.items():
                pool[(m, _hour(t0))].append((eid, v[0]))
        for (m, _hour_of_entry), lst in pool.items():
            for eid, _ in lst:
                others = [p for e, p in lst if e != eid]
                bench[(eid, m)] = sum(others) / len(others) if others else None
    groups = defaultdict(list)
    for eid, (t0, path) in paths.items():
        for m, (pnl, conv, carry, cost, carried) in path.items():
            b = bench.get((eid, m)) if excess else None
            if excess and b is None:
                continue
            y = pnl - b if excess else pnl
            for q in (quint[eid], 0):
                groups[(q, m)].append((y, conv, carry, cost, b, carried, _bucket(t0, CLUSTER)))
    rows = {}
    for key, obs in groups.items():
        ys = [o[0] for o in obs]
        n = len(ys)
        mean = sum(ys) / n
        se = _clustered_se(ys, [o[6] for o in obs])
        rows[key] = {
            "n_events": n,
            "n_carried": sum(o[5] for o in obs),
            "n_clusters": len({o[6] for o in obs}),
            "mean_pnl": mean,
            "ci_low": None if se is None else mean - 1.96 * se,
            "ci_high": None if se is None else mean + 1.96 * se,
            "mean_convergence": sum(o[1] for o in obs) / n,
            "mean_carry": sum(o[2] for o in obs) / n,
            "mean_cost": sum(o[3] for o in obs) / n,
            "mean_bench": sum(o[4] for o in obs) / n if excess else None,
        }
    return rows, quint, groups


def _study(conn, g, excess):
    cur = conn.execute(
        "SELECT * FROM watchlist.event_study(%s, %s, %s, %s, %s, NULL, %s, %s, %s)",
        (*_span(g), FACTOR, H, excess, g.exchange, CLUSTER, MIN_HISTORY),
    )
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("excess", [False, True], ids=["raw", "excess"])
def test_event_study_rows_equal_the_reference(conn, study, excess):
    g, events, cost = study
    got = _study(conn, g, excess)
    want, quint, _ = _expected(g, events, cost, excess)
    assert len(events) >= 100 and sum(q is None for q in quint.values()) == MIN_HISTORY
    assert [(r["quintile"], r["minute"]) for r in got] == sorted(
        want, key=lambda k: (k[0] is None, k[0] if k[0] is not None else 0, k[1])
    )
    for r in got:
        w = want[(r["quintile"], r["minute"])]
        for col, v in w.items():
            assert _close(r[col], v), (r["quintile"], r["minute"], col, r[col], v)
        if excess:
            split = r["mean_convergence"] + r["mean_carry"] + r["mean_cost"] - r["mean_bench"]
        else:
            split = r["mean_convergence"] + r["mean_carry"] + r["mean_cost"]
        assert split == pytest.approx(r["mean_pnl"], abs=1e-9)
    # the fixture exercises what it claims: a pre-window, carried minutes, funding and bands
    assert min(r["minute"] for r in got) == -60
    assert sum(r["n_carried"] for r in got if r["quintile"] == 0) > 0
    assert any(r["mean_carry"] != 0 for r in got) and all(r["ci_low"] is not None for r in got if r["quintile"] == 0)


def test_event_study_band_is_statsmodels_cluster_robust_se(conn, study):
    """The band's se is statsmodels' cluster-robust se of an intercept-only OLS (CR1)."""
    import numpy as np
    import statsmodels.api as sm  # a declared test dependency ([test] extra): no skip

    g, events, cost = study
    got = {(r["quintile"], r["minute"]): r for r in _study(conn, g, True)}
    _, _, groups = _expected(g, events, cost, True)
    checked = 0
    for key in [(q, m) for q in (0, 1, 5) for m in (-30, 0, *fd.HORIZONS)]:
        obs = groups[key]
        ys = np.array([o[0] for o in obs])
        codes = {c: i for i, c in enumerate(sorted({o[6] for o in obs}))}
        fit = sm.OLS(ys, np.ones((len(ys), 1))).fit(
            cov_type="cluster", cov_kwds={"groups": np.array([codes[o[6]] for o in obs])}
        )
        r = got[key]
        assert (r["ci_high"] - r["mean_pnl"]) / 1.96 == pytest.approx(float(fit.bse[0]), rel=1e-9), key
        assert r["mean_pnl"] == pytest.approx(float(fit.params[0]), rel=1e-9, abs=1e-9)
        checked += 1
    assert checked == 18


def test_event_study_reconciles_with_the_labels(conn, study):
    """At each label horizon the mean excess path is the mean excess label pnl."""
    g, events, cost = study
    got = {(r["quintile"], r["minute"]): r for r in _study(conn, g, True)}
    _, quint, _ = _expected(g, events, cost, True)
    x = conn.execute(
        "SELECT event_id, horizon_min, excess_pnl FROM watchlist.outcome_excess(%s, %s) WHERE excess_pnl IS NOT NULL",
        _span(g),
    ).fetchall()
    gaps = []
    for h in fd.HORIZONS:
        lab = {eid: v for eid, hh, v in x if hh == h and eid in quint}
        for q in (0, 1, 2, 3, 4, 5, None):
            vals = [v for eid, v in lab.items() if q == 0 or quint[eid] == q]
            row = got[(q, h)]
            assert row["n_events"] == len(vals), (q, h)
            gaps.append(abs(row["mean_pnl"] - sum(vals) / len(vals)))
    print(f"\nreconciliation: largest gap {max(gaps):.3g} bps over {len(gaps)} (horizon, quintile) means")
    assert max(gaps) < 0.01, max(gaps)


def test_outcome_excess_is_leave_one_out_and_point_in_time(conn, study):
    """Labels of a second day (hand-made, next to the generated first day's) read the first
    day's labels of the same horizon and UTC hour as their hour-of-day benchmark, only once
    known (entry + horizon <= their entry); the first day has none; no event is in its own
    hour benchmark."""
    g, _, _ = study
    day2 = g.t0 + timedelta(days=1)
    made = [(day2 + timedelta(minutes=5 + 50 * k), k) for k in range(6)]  # day 2, hours 7..11
    made += [(g.t0 + timedelta(minutes=2), 100), (g.t0 + timedelta(minutes=10), 200)]  # day 1: 1440-min labels
    try:
        for i, (ts, k) in enumerate(made):
            eid = conn.execute(
                """INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts,
                          confirmed_at, duration_sec, n_samples, status, is_open)
                   VALUES (%s, %s, 'A', %s, %s, %s, 0, 1, 'confirmed', false) RETURNING id""",
                (g.exchange, f"SYN{i}", ts, ts, ts),
            ).fetchone()[0]
            horizons = [(1440, 2.0 * k)] if k >= 100 else [(30, float(k)), (1440, 2.0 * k)]
            for h, pnl in horizons:
                conn.execute(
                    "INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl) VALUES (%s, %s, true, %s)",
                    (eid, h, pnl),
                )
        span = (g.t0, g.t0 + timedelta(days=2))
        labels = conn.execute(
            """SELECT e.id, o.horizon_min, e.entry_ts, o.pnl FROM watchlist_data.future_outcome AS o
                 JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id
                WHERE e.exchange = %s AND o.covered AND e.status = 'confirmed'""",
            (g.exchange,),
        ).fetchall()
        got = conn.execute(
            "SELECT event_id, horizon_min, pnl, bench_universe, excess_pnl, bench_tod, excess_pnl_tod "
            "FROM watchlist.outcome_excess(%s, %s)",
            span,
        ).fetchall()
        assert len(got) == len(labels) > 0
        by = {(eid, h): (t, p) for eid, h, t, p in labels}
        for eid, h, pnl, bu, ex, bt, ext in got:
            t0, p = by[(eid, h)]
            assert pnl == p
            same_hour = [pp for (e2, h2), (t2, pp) in by.items() if h2 == h and e2 != eid and _hour(t2) == _hour(t0)]
            want_bu = sum(same_hour) / len(same_hour) if same_hour else None
            earlier = [
                pp
                for (e2, h2), (t2, pp) in by.items()
                if h2 == h and t2.hour == t0.hour and t2.date() < t0.date() and t2 + timedelta(minutes=h) <= t0
            ]
            want_bt = sum(earlier) / len(earlier) if earlier else None
            assert _close(bu, want_bu) and _close(bt, want_bt), (eid, h, bu, want_bu, bt, want_bt)
            assert _close(ex, None if want_bu is None else p - want_bu)
            assert _close(ext, None if want_bt is None else p - want_bt)
        tod = {(t, h): bt for eid, h, _, _, _, bt, _ in got for t in [by[(eid, h)][0]]}
        assert all(bt is None for (t, _), bt in tod.items() if t < day2), "day 1 has no earlier day"
        # day 2, 07:05: the 1440-min label entered 07:02 on day 1 is known (07:02 on day 2), the
        # one entered 07:10 is not yet
        assert tod[(made[0][0], 1440)] == 200.0
        assert tod[(made[0][0], 30)] is not None and tod[(made[5][0], 30)] is not None
    finally:
        conn.execute(
            "DELETE FROM watchlist_data.watch_signal_event WHERE exchange = %s AND symbol LIKE 'SYN%%'", (g.exchange,)
        )
