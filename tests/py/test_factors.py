"""The database factors (watchlist_data.factor_value) against an independent numpy
implementation (factor_reference.py), on generated data with irregular sampling, holes, null
spreads, late rows and compressed chunks; and point in time: appending rows after t changes
nothing at or before t."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from psycopg.types.json import Jsonb

import factor_reference as ref

EX = "fxtest"
SYMBOLS = ["FA1", "FA2"]
KEYS = Jsonb([[EX, s] for s in SYMBOLS])
COLS = (
    "ts",
    "exchange",
    "symbol",
    "signal_type",
    "triggered",
    "spread_rel",
    "funding_rate",
    "funding_interval_hours",
    "volume_quote",
    "meta",
)


def _insert(conn, rows: list[dict]) -> None:
    payload = [{k: (r[k].isoformat() if isinstance(r[k], datetime) else r[k]) for k in COLS} for r in rows]
    cols = ", ".join(COLS)
    conn.execute(
        f"""
        INSERT INTO watchlist_data.watch_signal_raw ({cols})
        SELECT {cols} FROM jsonb_to_recordset(%s) AS x(ts timestamptz, exchange text, symbol text, signal_type text,
               triggered boolean, spread_rel float8, funding_rate float8, funding_interval_hours float8,
               volume_quote float8, meta jsonb)
        ON CONFLICT DO NOTHING""",
        (Jsonb(payload),),
    )


def _cleanup(conn) -> None:
    conn.execute("DELETE FROM watchlist_data.factor_value WHERE exchange = %s", (EX,))
    conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE exchange = %s", (EX,))


def _stored(conn) -> dict[tuple[str, datetime], dict]:
    cur = conn.execute(
        f"SELECT symbol, ts, {', '.join(ref.FACTORS)} FROM watchlist_data.factor_value "
        "WHERE exchange = %s ORDER BY symbol, ts",
        (EX,),
    )
    return {(r[0], r[1]): dict(zip(ref.FACTORS, r[2:])) for r in cur.fetchall()}


def _differences(a: dict, b: dict) -> list:
    """Values of the rows of a that differ in b beyond the order in which rows reach a sum
    (plans differ between runs: 1e-12 relative to the column's scale); a leaked row moves a
    value by far more."""
    scale = {f: float(np.median([abs(v[f]) for v in a.values() if v[f] is not None] or [1.0])) for f in ref.FACTORS}
    return [
        (k, f, a[k][f], b[k][f])
        for k in a
        for f in ref.FACTORS
        if (a[k][f] is None) != (b[k][f] is None)
        or (a[k][f] is not None and not math.isclose(a[k][f], b[k][f], rel_tol=1e-12, abs_tol=1e-12 * scale[f]))
    ]


def _compare(stored: dict, expected: dict[str, dict]) -> int:
    """Every factor of every row equal to 1e-9 relative to the column's scale; returns the
    number of non-null values compared."""
    scale = {}
    for f in ref.FACTORS:
        vals = [abs(v[f]) for rows in expected.values() for v in rows.values() if v[f] is not None]
        scale[f] = max(float(np.median(vals)) if vals else 1.0, 1e-300)
    n = 0
    for sym, rows in expected.items():
        assert {k[1] for k in stored if k[0] == sym} == set(rows), (
            f"{sym}: stored bucket ends differ from the reference"
        )
        for t, exp in rows.items():
            got = stored[(sym, t)]
            for f in ref.FACTORS:
                e, g = exp[f], got[f]
                if e is None:
                    assert g is None, f"{sym} {t} {f}: expected NULL, got {g}"
                    continue
                assert g is not None, f"{sym} {t} {f}: expected {e}, got NULL"
                assert math.isclose(g, e, rel_tol=1e-9, abs_tol=1e-9 * scale[f]), f"{sym} {t} {f}: {g} != {e}"
                n += 1
    return n


@pytest.fixture
def data(conn):
    _cleanup(conn)
    rng = np.random.default_rng(12)
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    end -= timedelta(minutes=end.minute % 5)
    t0 = end - timedelta(days=3, hours=6)
    rows = {s: ref.generate(rng, EX, s, t0, int((end - t0).total_seconds() // 60)) for s in SYMBOLS}
    yield t0, end, rows
    _cleanup(conn)


def test_factors_equal_numpy_reference_with_late_rows_and_compressed_chunks(conn, data):
    t0, end, rows = data
    # hold back every 7th row of the first day and a block of the last hours: late rows
    late = {
        s: [
            r
            for i, r in enumerate(rs)
            if (r["ts"] < t0 + timedelta(days=1) and i % 7 == 3)
            or end - timedelta(hours=3) <= r["ts"] < end - timedelta(hours=2, minutes=40)
        ]
        for s, rs in rows.items()
    }
    on_time = {s: [r for r in rs if r not in late[s]] for s, rs in rows.items()}
    _insert(conn, [r for rs in on_time.values() for r in rs])
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0 - timedelta(minutes=5), end, KEYS)
    )
    before = _stored(conn)
    n = _compare(before, {s: ref.compute(EX, rs) for s, rs in on_time.items()})
    assert n > 10000, "the comparison covered few values"

    # compress the chunks of the first two days (raw and factors), then the late rows arrive
    for table in ("watch_signal_raw", "factor_value"):
        conn.execute(
            f"""SELECT compress_chunk(c, if_not_compressed => true)
                           FROM show_chunks('watchlist_data.{table}', older_than => %s::timestamptz,
                                            newer_than => %s::timestamptz) AS c""",
            (t0 + timedelta(days=2), t0 - timedelta(days=1)),
        )
    compressed = conn.execute(
        """SELECT count(*) FROM timescaledb_information.chunks
                                  WHERE hypertable_name = 'factor_value' AND is_compressed
                                    AND range_end <= %s AND range_end > %s""",
        (t0 + timedelta(days=2), t0),
    ).fetchone()[0]
    assert compressed >= 1, "no compressed factor chunk in the test window"
    _insert(conn, [r for rs in late.values() for r in rs])
    first_late = min(r["ts"] for rs in late.values() for r in rs)
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (first_late - timedelta(minutes=5), end, KEYS)
    )
    after = _stored(conn)
    _compare(after, {s: ref.compute(EX, rs) for s, rs in rows.items()})
    changed = {d[0] for d in _differences({k: v for k, v in after.items() if k in before}, before)}
    assert changed and min(k[1] for k in changed) > first_late, "late rows changed no row, or a row before them"

    # idempotent: the same window again gives the same rows
    conn.execute("SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0, end, KEYS))
    again = _stored(conn)
    assert set(again) == set(after), "recomputing a window added or removed rows"
    diff = _differences(after, again)
    assert not diff, f"recomputing a window changed rows: {len(diff)} values, e.g. {diff[:5]}"


def test_factor_never_reads_a_row_after_its_time(conn, data):
    t0, end, rows = data
    cut = end - timedelta(hours=13)
    _insert(conn, [r for rs in rows.values() for r in rs if r["ts"] < cut])
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0 - timedelta(minutes=5), cut, KEYS)
    )
    before = _stored(conn)
    assert before, "no factor rows before the cut"
    # append the future (rows at or after cut) and compute through it, re-computing the last 13 h before the cut
    _insert(conn, [r for rs in rows.values() for r in rs if r["ts"] >= cut])
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (cut - timedelta(hours=13), end, KEYS)
    )
    after = _stored(conn)
    diff = _differences(before, after)
    assert not diff, f"a row at or before the cut changed when later rows arrived: {len(diff)}, e.g. {diff[:4]}"
    assert len(after) > len(before), "no row after the cut was computed"


@pytest.fixture
def paused_factor_job(conn):
    """The scheduler of a real server runs the factor job by itself: pause it, and keep the
    job's state, for the duration of the test."""
    job = conn.execute("""SELECT job_id, scheduled FROM timescaledb_information.jobs
                           WHERE proc_schema = 'watchlist_data' AND proc_name = 'job_compute_factors'""").fetchone()
    conn.execute("SELECT alter_job(%s, scheduled => false)", (job[0],))
    state = conn.execute(
        "SELECT watermark::text, last_stats FROM watchlist_data.job_state WHERE job = 'compute_factors'"
    ).fetchone()
    yield
    conn.execute("DELETE FROM watchlist_data.job_state WHERE job = 'compute_factors'")
    if state:
        conn.execute(
            "INSERT INTO watchlist_data.job_state (job, watermark, last_stats) VALUES ('compute_factors', %s::timestamptz, %s)",
            (state[0], Jsonb(state[1])),
        )
    conn.execute("SELECT alter_job(%s, scheduled => %s)", (job[0], job[1]))


def test_factor_job_computes_new_buckets_and_recomputes_late_rows(conn, data, paused_factor_job):
    t0, end, rows = data
    e1 = end - timedelta(hours=1)
    late = {s: [r for r in rs if r["ts"] < e1 - timedelta(hours=1)][-10:] for s, rs in rows.items()}  # about 1-2 h late
    _insert(conn, [r for s, rs in rows.items() for r in rs if r["ts"] < e1 and r not in late[s]])
    conn.execute("SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0 - timedelta(minutes=5), e1, KEYS))
    # the job ran last at e1 and has seen everything ingested so far (the rows of its 2-minute
    # overlap are recognised as already counted)
    conn.execute(
        """INSERT INTO watchlist_data.job_state (job, watermark, last_stats)
                    VALUES ('compute_factors', now(), jsonb_build_object('to_ts', %s::timestamptz))
                    ON CONFLICT (job) DO UPDATE SET watermark = EXCLUDED.watermark, last_stats = EXCLUDED.last_stats""",
        (e1,),
    )
    # the next hour arrives on time, plus late rows from two hours back
    _insert(
        conn, [r for rs in rows.values() for r in rs if e1 <= r["ts"] < end] + [r for rs in late.values() for r in rs]
    )
    first_late = min(r["ts"] for rs in late.values() for r in rs)
    r = conn.execute(
        "SELECT late_keys, late_from, from_ts, to_ts FROM watchlist.compute_factors_incremental(%s)",
        (end + timedelta(seconds=10),),
    ).fetchone()
    expected_from = first_late.replace(second=0) - timedelta(minutes=first_late.minute % 5)
    assert (r[0], r[1], r[2], r[3]) == (len(SYMBOLS), expected_from, e1, end), "job window or late keys"
    _compare(_stored(conn), {s: ref.compute(EX, [x for x in rs if x["ts"] < end]) for s, rs in rows.items()})
    again = conn.execute(
        "SELECT late_keys, from_ts, to_ts, factor_rows FROM watchlist.compute_factors_incremental(%s)",
        (end + timedelta(seconds=20),),
    ).fetchone()
    assert again == (0, end, end, 0), "a second run at the same time found work"


FUNDING = ["funding_zscore_7d", "funding_vol_7d", "funding_trend_3d", "funding_regime", "funding_reversal_prob"]

# the hourly funding samples of H(t_h, 7 d) as the rows hold them: slot i = the row at t_h - (168 - i) h
ROWS_SLOTS_SQL = """
SELECT s.symbol, s.ts, s.f,
       (SELECT array_agg(f.b_funding_close ORDER BY g.i)
          FROM generate_series(1, 168) AS g(i)
          LEFT JOIN watchlist_data.factor_value AS f
            ON f.exchange = s.exchange AND f.symbol = s.symbol AND f.b_on_hour
           AND f.ts = s.ts - (168 - g.i) * INTERVAL '1 hour' AND f.ts > s.ts - INTERVAL '8 days') AS from_rows
  FROM watchlist_data.factor_funding_state AS s WHERE s.exchange = %s ORDER BY s.symbol"""


def _funding_at(conn, t: datetime) -> dict[str, tuple]:
    cur = conn.execute(
        f"SELECT symbol, {', '.join(FUNDING)} FROM watchlist_data.factor_value WHERE exchange = %s AND ts = %s",
        (EX, t),
    )
    return {r[0]: tuple(r[1:]) for r in cur.fetchall()}


def _full_hour_with_rows(rows: dict, end: datetime) -> datetime:
    """The last full hour h <= end at which every key has a row (raw rows in [h - 5 min, h))."""
    h = end.replace(minute=0)
    while not all(any(h - timedelta(minutes=5) <= r["ts"] < h for r in rs) for rs in rows.values()):
        h -= timedelta(hours=1)
    return h


STATE_STATS_SQL = """
SELECT s.symbol, s.ts, s.f, s.n, s.s1, s.s2, s.tn, s.tk, s.tkk, s.tf, s.tkf, s.np, s.srt, s.up, s.dn
  FROM watchlist_data.factor_funding_state AS s WHERE s.exchange = %s ORDER BY s.symbol"""


def _state_stats(conn) -> dict[str, tuple]:
    return {r[0]: tuple(r[1:]) for r in conn.execute(STATE_STATS_SQL, (EX,)).fetchall()}


def _assert_state_stats_exact(conn) -> None:
    """0060: the statistics kept with the samples equal those of the slots themselves, exactly
    (a float8 as numeric is its 15 significant digits; k = the slot's hour since the epoch)."""
    stats = _state_stats(conn)
    assert sorted(stats) == SYMBOLS, f"one state per key: {sorted(stats)}"
    for sym, (ts, f, n, s1, s2, tn, tk, tkk, tf, tkf, npairs, srt, up, dn) in stats.items():
        dec = [None if v is None else Decimal(f"{v:.15g}") for v in f]
        hour = int(ts.timestamp()) // 3600
        tail = [(hour - (168 - i), d) for i, d in enumerate(dec, start=1) if i > 96 and d is not None]
        pairs = [(a, b) for a, b in zip(f, f[1:]) if a is not None and b is not None]
        expected = (
            sum(d is not None for d in dec),
            sum(d for d in dec if d is not None),
            sum(d * d for d in dec if d is not None),
            len(tail),
            sum(Decimal(k) for k, _ in tail),
            sum(Decimal(k) * k for k, _ in tail),
            sum(d for _, d in tail),
            sum(k * d for k, d in tail),
            len(pairs),
            sorted(v for v in f if v is not None),
            sorted(-a for a, b in pairs if b > a),
            sorted(a for a, b in pairs if b < a),
        )
        got = (n, s1, s2, tn, tk, tkk, tf, tkf, npairs, srt, up, dn)
        names = ("n", "s1", "s2", "tn", "tk", "tkk", "tf", "tkf", "np", "srt", "up", "dn")
        for name, g, e in zip(names, got, expected):
            assert g == e, f"{sym} at {ts}: the state's {name} is {g}, the slots give {e}"
        assert len(pairs) > 0 and up and dn, f"{sym}: no rising or falling pair (the test covers little)"


def _cleanup_state(conn) -> None:
    conn.execute("DELETE FROM watchlist_data.factor_funding_state WHERE exchange = %s", (EX,))
    conn.execute("DELETE FROM watchlist_data.factor_window_state WHERE exchange = %s", (EX,))


def test_funding_samples_rolled_equal_the_rows_and_read_again(conn, data, paused_factor_job):
    """0060: the funding samples rolled forward on the full hour equal the rows' own, and the
    funding factors computed from them equal those of a run that reads the rows."""
    t0, end, rows = data
    _cleanup_state(conn)
    h = _full_hour_with_rows(rows, end)
    _insert(conn, [r for rs in rows.values() for r in rs if r["ts"] < h])
    conn.execute("SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0 - timedelta(minutes=5), h, KEYS))
    states = conn.execute(ROWS_SLOTS_SQL, (EX,)).fetchall()
    assert [(s[0], s[1]) for s in states] == [(sym, h) for sym in SYMBOLS], "one state per key, at the last full hour"
    for sym, _, f, from_rows in states:
        assert len(f) == 168, f"{sym}: the state holds 168 slots"
        assert f == from_rows, f"{sym}: the rolled samples differ from the rows' b_funding_close"
        assert sum(v is not None for v in f) >= 40, f"{sym}: few samples in the state (the test covers little)"
        assert any(v is None for v in f), f"{sym}: no empty slot (the 7-day window reaches before the data)"
    _assert_state_stats_exact(conn)
    rolled_stats = _state_stats(conn)
    rolled = _funding_at(conn, h)
    assert all(v[1] is not None for v in rolled.values()), "funding_vol_7d computed at the full hour"
    # the same hour again without the state: the factors read from the rows, exactly the same values
    _cleanup_state(conn)
    conn.execute("SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (h - timedelta(hours=1), h, KEYS))
    assert _funding_at(conn, h) == rolled, "funding factors read from the rows differ from the rolled ones"
    assert [tuple(s[:3]) for s in conn.execute(ROWS_SLOTS_SQL, (EX,)).fetchall()] == [tuple(s[:3]) for s in states], (
        "the samples read from the rows differ from the rolled ones"
    )
    assert _state_stats(conn) == rolled_stats, "the statistics summed from the rows differ from the rolled ones"


# 0070: the short windows' slots in factor_window_state, and the rows' own values (slot k = the
# row at the state's t - (k - 1) x 5 min): (state column, factor_value column, slots)
WINDOW_SLOTS = [
    ("r_x", "b_spread_close", 36),
    ("r_sn", "b_spread_n", 11),
    ("r_ss", "b_spread_sum", 11),
    ("r_m2", "b_spread_m2", 11),
]
WINDOW_SLOTS_SQL = (
    "SELECT s.symbol, s.ts, "
    + ", ".join(f"s.{c}" for c, _, _ in WINDOW_SLOTS)
    + ", s.r_pers, "
    + ", ".join(
        f"""(SELECT array_agg(f.{col} ORDER BY g.k) FROM generate_series(1, {n}) AS g(k)
              LEFT JOIN watchlist_data.factor_value AS f ON f.exchange = s.exchange AND f.symbol = s.symbol
               AND f.ts = s.ts - (g.k - 1) * INTERVAL '5 minutes')"""
        for _, col, n in WINDOW_SLOTS
    )
    + """, (SELECT f.signal_persistence_min FROM watchlist_data.factor_value AS f
            WHERE f.exchange = s.exchange AND f.symbol = s.symbol AND f.ts = s.ts)
  FROM watchlist_data.factor_window_state AS s WHERE s.exchange = %s ORDER BY s.symbol"""
)


def _close_slots(a, b) -> bool:
    """Slot arrays equal, floats to 1e-12 relative (a scalar slot too)."""
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    return len(a) == len(b) and all(
        (x is None) == (y is None) and (x is None or math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-18))
        for x, y in zip(a, b)
    )


def test_window_slots_rolled_equal_the_rows_and_read_again(conn, data, paused_factor_job):
    """0070: the short windows' slots rolled forward bucket end by bucket end (through the
    data's holes and null spreads) equal the rows' own values, and a run that reads them from
    the rows (no state) builds the same slots and the same factors."""
    t0, end, rows = data
    _cleanup_state(conn)
    _insert(conn, [r for rs in rows.values() for r in rs if r["ts"] < end])
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (t0 - timedelta(minutes=5), end, KEYS)
    )
    states = conn.execute(WINDOW_SLOTS_SQL, (EX,)).fetchall()
    assert [(s[0], s[1]) for s in states] == [(sym, end) for sym in SYMBOLS], (
        "one state per key, at the last bucket end"
    )
    n = len(WINDOW_SLOTS) + 1
    names = [c for c, _, _ in WINDOW_SLOTS] + ["r_pers"]
    for st in states:
        for name, got, exp in zip(names, st[2 : 2 + n], st[2 + n :]):
            assert got == exp, f"{st[0]}: the state's {name} {got} differs from the rows' {exp}"
        r_x = st[2]
        assert sum(v is not None for v in r_x) >= 20, (
            f"{st[0]}: few spread values in the slots (the test covers little)"
        )
    rolled = {k: v for k, v in _stored(conn).items() if k[1] == end}
    assert len(rolled) == len(SYMBOLS) and all(v["spread_rsi_sma_14"] is not None for v in rolled.values()), (
        "the short-window factors computed at the last bucket end"
    )
    # the same bucket end again without the state: the slots read from the rows
    _cleanup_state(conn)
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (end - timedelta(minutes=5), end, KEYS)
    )
    again = conn.execute(WINDOW_SLOTS_SQL, (EX,)).fetchall()
    assert [(s[0], s[1]) for s in again] == [(s[0], s[1]) for s in states], "one state per key again"
    for st, st2 in zip(states, again):
        for name, got, exp, own in zip(names, st2[2 : 2 + n], st[2 : 2 + n], st2[2 + n :]):
            # the slots read equal the rows exactly; the rolled ones equal them up to the last
            # bits of the recomputed row's own float sums (b_spread_sum: raw rows summed in the
            # plan's order), as _differences allows
            assert got == own, f"{st[0]}: the {name} read from the rows {got} differs from the rows' {own}"
            assert _close_slots(got, exp), f"{st[0]}: the {name} read from the rows {got} differs from the rolled {exp}"
    read = {k: v for k, v in _stored(conn).items() if k[1] == end}
    assert _differences(rolled, read) == [], "factors from slots read from the rows differ from the rolled ones"


def test_funding_samples_dropped_when_an_earlier_row_changes(conn, data, paused_factor_job):
    """A range recomputed before the state's hour (a late row changing an hourly sample) drops
    the key's funding samples: the next full hour reads the rows, with the changed sample."""
    t0, end, rows = data
    _cleanup_state(conn)
    h = _full_hour_with_rows(rows, end)
    while _full_hour_with_rows(rows, h - timedelta(hours=1)) != h - timedelta(hours=1):
        h = _full_hour_with_rows(rows, h - timedelta(hours=1))
    _insert(conn, [r for rs in rows.values() for r in rs if r["ts"] < h])
    conn.execute(
        "SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)",
        (t0 - timedelta(minutes=5), h - timedelta(hours=1), KEYS),
    )
    assert conn.execute(
        "SELECT count(*) FROM watchlist_data.factor_funding_state WHERE exchange = %s AND ts = %s",
        (EX, h - timedelta(hours=1)),
    ).fetchone()[0] == len(SYMBOLS), "a state per key at the hour before the last"
    # a late row, the last of the bucket ending on the full hour b = h - 5 h, with a new funding rate
    b = h - timedelta(hours=5)
    sym = SYMBOLS[0]
    late = dict(max((r for r in rows[sym] if r["ts"] < b), key=lambda r: r["ts"]))
    # after every stored row of the bucket and on no stored ts (a collision would be a no-op
    # replay): halfway to b when the bucket has rows, else 30 s before b
    late["ts"] = b - min((b - late["ts"]) / 2, timedelta(seconds=30))
    late["funding_rate"] = 0.0123
    _insert(conn, [late])
    conn.execute("SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (b - timedelta(minutes=5), b, KEYS))
    assert conn.execute(
        "SELECT array_agg(DISTINCT ts) FROM watchlist_data.factor_funding_state WHERE exchange = %s", (EX,)
    ).fetchone()[0] == [b], "recomputing the bucket end b (a full hour before the states' hour) replaced them with b's"
    conn.execute("SELECT * FROM watchlist_data.compute_factors_keys(%s, %s, %s)", (h - timedelta(hours=1), h, KEYS))
    f = {s[0]: s[2] for s in conn.execute(ROWS_SLOTS_SQL, (EX,)).fetchall()}
    assert f[sym][168 - 5 - 1] == 0.0123, "the state at h holds the late row's funding at h - 5 h (slot 163)"
    _assert_state_stats_exact(conn)
    expected = ref.compute(EX, [r for r in rows[sym] if r["ts"] < h] + [late])[h]
    got = _funding_at(conn, h)[sym]
    for name, g in zip(FUNDING, got):
        e = expected[name]
        assert g is not None and e is not None, f"{name} at h: expected {e}, got {g}"
        assert math.isclose(g, e, rel_tol=1e-9, abs_tol=1e-12), f"{name} at h with the late sample: {g} != {e}"
    _cleanup_state(conn)
