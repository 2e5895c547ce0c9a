"""The textbook indicators of the factor engine (0120: RSI, MACD and signal, Bollinger %b, DX,
ADX) against TA-Lib, fed each run of consecutive bucket ends (the closes, highs and lows of
the raw rows' 5-minute buckets, computed here in Python), and against the numpy reference;
before and after late rows that join two runs, which the engine recomputes from the stored
state of the row before them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import talib
from psycopg.types.json import Jsonb

import factor_reference as ref
from test_factors import _insert, paused_factor_job  # noqa: F401 (the fixture, used by name)

EX = "indtest"
SYMBOLS = ["IN1", "IN2"]
KEYS = Jsonb([[EX, s] for s in SYMBOLS])
STATE = ["b_run_n", "b_rsi_gain", "b_rsi_loss", "b_ema12", "b_ema26", "b_macd_sig", "b_dm_plus", "b_dm_minus", "b_tr"]
TOL = 1e-6  # absolute, against TA-Lib; the values agree far closer (see REL)
REL = 1e-9  # relative to the indicator's median magnitude, against TA-Lib and the reference


def _stored(conn) -> dict[tuple[str, datetime], dict]:
    cols = ref.TEXTBOOK + ["b_run_n"]
    cur = conn.execute(
        f"SELECT symbol, ts, {', '.join(cols)} FROM watchlist_data.factor_value WHERE exchange = %s ORDER BY symbol, ts",
        (EX,),
    )
    return {(r[0], r[1]): dict(zip(cols, r[2:])) for r in cur.fetchall()}


def _talib(base: dict[int, dict]) -> dict[int, dict]:
    """TA-Lib's values at every bucket end of every run: {bucket end: {indicator: value or None}}."""
    out: dict[int, dict] = {}
    for run in ref.runs(base):
        x = np.array([base[b]["x"] for b in run])
        hi = np.array([base[b]["hi"] for b in run])
        lo = np.array([base[b]["lo"] for b in run])
        macd, sig, _ = talib.MACD(x, 12, 26, 9)
        upper, _, lower = talib.BBANDS(x, 20, 2, 2, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pctb = (x - lower) / (upper - lower)
        vals = {
            "spread_rsi_14": talib.RSI(x, 14),
            "spread_macd": macd,
            "spread_macd_signal": sig,
            "spread_bollinger_pct_b": pctb,
            "spread_dx_14": talib.DX(hi, lo, x, 14),
            "spread_adx_14": talib.ADX(hi, lo, x, 14),
        }
        if len(run) > 40:  # the documented warm-ups are TA-Lib's first outputs
            first = {f: int(np.flatnonzero(~np.isnan(v))[0]) for f, v in vals.items()}
            assert first == ref.WARM_UP, f"TA-Lib's first outputs {first} differ from the warm-ups"
        for j, b in enumerate(run):
            out[b] = {f: (None if math.isnan(v[j]) else float(v[j])) for f, v in vals.items()}
            out[b]["b_run_n"] = j + 1
    return out


def _against(stored: dict, expected: dict[str, dict[int, dict]], what: str) -> dict[str, float]:
    """Every textbook value of every stored row equals expected (None = NULL), within TOL
    absolute and REL relative to the indicator's scale; returns the max abs difference per
    indicator."""
    worst = dict.fromkeys(ref.TEXTBOOK, 0.0)
    n = dict.fromkeys(ref.TEXTBOOK, 0)
    for f in ref.TEXTBOOK:
        vals = [abs(v[f]) for rows in expected.values() for v in rows.values() if v.get(f) is not None]
        scale = float(np.median(vals))
        for sym, rows in expected.items():
            for t, exp in rows.items():
                got = stored[(sym, datetime.fromtimestamp(t, UTC))]
                e, g = exp.get(f), got[f]
                assert (e is None) == (g is None), f"{what}: {sym} {datetime.fromtimestamp(t, UTC)} {f}: {g} vs {e}"
                if e is None:
                    continue
                d = abs(g - e)
                assert d <= TOL and d <= REL * scale, f"{what}: {sym} {datetime.fromtimestamp(t, UTC)} {f}: {g} != {e}"
                worst[f] = max(worst[f], d)
                n[f] += 1
    for f, c in n.items():
        assert c >= 100, f"{what}: only {c} values of {f} compared (the data covers little)"
    return worst


def _check(conn, rows: dict[str, list[dict]], what: str) -> dict[str, float]:
    stored = _stored(conn)
    base = {s: ref.bases(rs) for s, rs in rows.items()}
    for s in SYMBOLS:
        assert {k[1] for k in stored if k[0] == s} == {datetime.fromtimestamp(t, UTC) for t in base[s]}, (
            f"{what}: {s}: stored bucket ends differ from the raw rows' buckets"
        )
        for t, b in base[s].items():
            if b["x"] is None:
                got = stored[(s, datetime.fromtimestamp(t, UTC))]
                assert got["b_run_n"] == 0, f"{what}: run of a NULL close"
                assert all(got[f] is None for f in ref.TEXTBOOK), f"{what}: an indicator on a NULL close"
    talib_vals = {s: _talib(base[s]) for s in SYMBOLS}
    for s in SYMBOLS:
        for t, v in talib_vals[s].items():
            assert stored[(s, datetime.fromtimestamp(t, UTC))]["b_run_n"] == v["b_run_n"], f"{what}: {s} run length"
    worst = _against(stored, talib_vals, f"{what}, TA-Lib")
    reference = {
        s: {
            int(t.timestamp()): v
            for t, v in ref.compute(EX, rs).items()
            if base[s][int(t.timestamp())]["x"] is not None
        }
        for s, rs in rows.items()
    }
    _against(stored, reference, f"{what}, numpy reference")
    return worst


@pytest.fixture
def data(conn):
    _cleanup_all(conn)
    rng = np.random.default_rng(31)
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    end -= timedelta(minutes=end.minute % 5)
    t0 = end - timedelta(days=1, hours=12)
    rows = {s: ref.generate(rng, EX, s, t0, int((end - t0).total_seconds() // 60), hole_p=0.002) for s in SYMBOLS}
    yield t0, end, rows
    _cleanup_all(conn)


def _cleanup_all(conn) -> None:
    conn.execute("DELETE FROM watchlist_data.factor_value WHERE exchange = %s", (EX,))
    conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE exchange = %s", (EX,))
    conn.execute("DELETE FROM watchlist_data.factor_window_state WHERE exchange = %s", (EX,))
    conn.execute("DELETE FROM watchlist_data.factor_funding_state WHERE exchange = %s", (EX,))


@pytest.mark.usefixtures("paused_factor_job")
def test_textbook_indicators_equal_talib_and_the_reference_with_late_rows(conn, data, record_property):
    t0, end, rows = data
    # late: 20 minutes of rows in the middle, a hole in the on-time data (two runs) that the
    # late rows fill (one run): every row after them changes, back to its warm-up
    lo, hi = t0 + timedelta(hours=20), t0 + timedelta(hours=20, minutes=20)
    late = {s: [r for r in rs if lo <= r["ts"] < hi] for s, rs in rows.items()}
    on_time = {s: [r for r in rs if not lo <= r["ts"] < hi] for s, rs in rows.items()}
    assert all(late.values()), "no late rows"
    _insert(conn, [r for rs in on_time.values() for r in rs])
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0 - timedelta(minutes=5), end, KEYS)
    )
    before = _stored(conn)
    worst_on_time = _check(conn, on_time, "on time")

    _insert(conn, [r for rs in late.values() for r in rs])
    first_late = min(r["ts"] for rs in late.values() for r in rs)
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (first_late - timedelta(minutes=5), end, KEYS)
    )
    worst_late = _check(conn, rows, "after the late rows")
    after = _stored(conn)
    changed = [k for k in before if k in after and before[k]["spread_macd"] != after[k]["spread_macd"]]
    assert changed and min(k[1] for k in changed) >= first_late, "late rows changed no MACD, or one before them"
    assert all(before[k] == after[k] for k in before if k[1] < first_late - timedelta(minutes=5)), (
        "a row before the late rows changed"
    )
    record_property("talib_max_abs_diff", {f: max(worst_on_time[f], worst_late[f]) for f in ref.TEXTBOOK})
    print("TA-Lib max abs difference:", {f: f"{max(worst_on_time[f], worst_late[f]):.3g}" for f in ref.TEXTBOOK})


@pytest.mark.usefixtures("paused_factor_job")
def test_textbook_state_rolled_equals_read(conn, data):
    """The rows at the last bucket ends computed by rolling the window state equal those of a
    run without any state (reading the windows): both take the recursion from the row before."""
    t0, end, rows = data
    _insert(conn, [r for rs in rows.values() for r in rs])
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0 - timedelta(minutes=5), end, KEYS)
    )
    cols = ", ".join(ref.TEXTBOOK + STATE + ["b_adx"])
    q = f"SELECT symbol, ts, {cols} FROM watchlist_data.factor_value WHERE exchange = %s AND ts > %s ORDER BY 1, 2"
    rolled = conn.execute(q, (EX, end - timedelta(hours=1))).fetchall()
    assert any(r[2 + ref.TEXTBOOK.index("spread_adx_14")] is not None for r in rolled), "no ADX in the last hour"
    conn.execute("DELETE FROM watchlist_data.factor_window_state WHERE exchange = %s", (EX,))
    conn.execute("SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (end - timedelta(hours=1), end, KEYS))
    assert conn.execute(q, (EX, end - timedelta(hours=1))).fetchall() == rolled, "read and rolled rows differ"
