"""Fuzzing the writer API's input path (watchlist.ingest_raw and watchlist.ingest_raw_columns)
with mixed batches of valid rows and generated bad ones: wrong types, numbers out of range
(1e200, 1e308, 10**400 in the columns and in meta), timestamps of every refused kind, unicode
(astral characters), deep nesting and huge values in meta, oversize fields. Every valid row
must be stored exactly once, every invalid row refused with its row index and the field, and
afterwards the jobs (event merge, labels, factors), a refresh of the continuous aggregates and
every read (series, metrics, window_stats, watchlist_list) must succeed for every key.
The accepted ranges and times: docs/writer-input.md."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from watchlist_db import config, snapshot
from watchlist_db.api import write as write_api

_symbols = itertools.count()
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ valid rows
def _not_tiny(x: float) -> float:
    """A value other than 0 must be at least 1e-30 from 0 (raw_field_range's min_abs)."""
    return 0.0 if abs(x) < 1e-30 else x


finite_small = st.floats(min_value=-0.05, max_value=0.05, allow_nan=False).map(_not_tiny)
_text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=8)
meta_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.sampled_from([1e200, 1e300, 1e-300, 10**400, -(10**400), 1.5])  # meta is not range-checked
    | _text
    | st.sampled_from(["😀", "𝔘𝔫𝔦", "é", "\u200b"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=12,
)


def _deep(depth: int):
    v: object = 1
    for _ in range(depth):
        v = {"d": v}
    return v


@st.composite
def valid_row(draw, symbol: str, minute: int) -> dict:
    ts = NOW - timedelta(minutes=minute)
    row = {
        "ts": _iso(ts),
        "exchange": draw(st.sampled_from(["binance", "okx"])),
        "symbol": symbol,
        "type_class": draw(st.sampled_from(["A", "B", "C"])),
        "triggered": draw(st.booleans()),
        "spread_rel": draw(finite_small | st.sampled_from([10.0, -10.0])),
        "funding_rate": draw(st.floats(min_value=-0.01, max_value=0.01).map(_not_tiny)),
        "funding_interval_hours": draw(st.sampled_from([1, 4, 8, 168])),
        "spot_price": draw(st.floats(min_value=1e-6, max_value=999_999_999.0)),
        "volume_quote": draw(st.sampled_from([0.0, 1e6, 1e15])),
        "crossings_1h": draw(st.integers(min_value=0, max_value=1_000_000)),
        "next_funding_time": _iso(ts + timedelta(hours=draw(st.integers(min_value=-24, max_value=8 * 24)))),
    }
    meta = {
        "factors": {
            "ok": 1.5,
            "big": draw(st.sampled_from([1.0, 1e200, 1e308, 10**400])),
            "u😀": draw(st.sampled_from(["x", 2])),
        },
        "exchanges": [
            {
                "name": "binance",
                "kind": "perp",
                "funding_rate": draw(st.sampled_from([0.0001, 1e300, 10**400])),
                "funding_interval_hours": 8,
            },
            {
                "name": "okx",
                "kind": "perp",
                "funding_rate": 0.0002,
                "funding_interval_hours": 4,
                "oi_usd": 1e6,
                "volume_24h_quote": 2e6,
            },
        ],
        "extra": draw(meta_value),
    }
    if draw(st.booleans()):
        meta["deep"] = _deep(draw(st.integers(min_value=1, max_value=60)))
    row["meta"] = meta
    return row


# ------------------------------------------------------------------ bad rows: (field, mutation)
def _ts_text(row: dict, suffix: str) -> str:
    return row["ts"][:19].replace("T", " ") + suffix


MUTATIONS = {
    "str_number": ("spread_rel", lambda r: r.update(spread_rel="0.1")),
    "bool_str": ("triggered", lambda r: r.update(triggered="yes")),
    "num_exchange": ("exchange", lambda r: r.update(exchange=5)),
    "1e200": ("spread_rel", lambda r: r.update(spread_rel=1e200)),
    "1e308": ("funding_zscore_7d", lambda r: r.update(funding_zscore_7d=1e308)),
    "2e154": ("rv_12h", lambda r: r.update(rv_12h=2e154)),
    "subnormal": ("spread_rel", lambda r: r.update(spread_rel=5e-324)),
    "-1e200": ("funding_rate", lambda r: r.update(funding_rate=-1e200)),
    "1e400": ("spread_rel", lambda r: r.update(spread_rel=10**400)),
    "price0": ("spot_price", lambda r: r.update(spot_price=0)),
    "price_hi": ("futures_price", lambda r: r.update(futures_price=1e9)),
    "interval": ("funding_interval_hours", lambda r: r.update(funding_interval_hours=169)),
    "count_neg": ("crossings_1h", lambda r: r.update(crossings_1h=-1)),
    "count_frac": ("crossings_1h", lambda r: r.update(crossings_1h=2.5)),
    "volume": ("volume_quote", lambda r: r.update(volume_quote=1e16)),
    "est": ("ts", lambda r: r.update(ts=_ts_text(r, " EST-0500"))),
    "zone_name": ("ts", lambda r: r.update(ts=_ts_text(r, " Foo/Bar+01"))),
    "bc": ("ts", lambda r: r.update(ts=_ts_text(r, " BC+00"))),
    "naive": ("ts", lambda r: r.update(ts=r["ts"][:19])),
    "old": ("ts", lambda r: r.update(ts="1969-12-31T23:59:00Z")),
    "1800": ("ts", lambda r: r.update(ts="1800-01-01T00:00:00+00:00")),
    "future": ("ts", lambda r: r.update(ts=_iso(NOW + timedelta(hours=1)))),
    "month13": ("ts", lambda r: r.update(ts="2026-13-01T00:00:00Z")),
    "offset99": ("ts", lambda r: r.update(ts=r["ts"].replace("Z", "+99:00"))),
    "ts_number": ("ts", lambda r: r.update(ts=1700000000)),
    "nft_9999": ("next_funding_time", lambda r: r.update(next_funding_time="9999-12-31T00:00:00Z")),
    "nft_before": ("next_funding_time", lambda r: r.update(next_funding_time="2000-01-01T00:00:00Z")),
    "unknown": ("sprad_rel", lambda r: r.update(sprad_rel=0.1)),
    "unknown_big": ("x_big", lambda r: r.update(x_big="x" * 100_000)),
    "astral_symbol": ("symbol", lambda r: r.update(symbol=r["symbol"] + "😀")),
    "meta_big": ("meta", lambda r: r.update(meta={"notes": "y" * 70_000})),
    "meta_array": ("meta", lambda r: r.update(meta=[1, 2])),
    "class": ("type_class", lambda r: r.update(type_class="D")),
}


@st.composite
def batch(draw):
    symbol = f"FZ{next(_symbols)}"
    n = draw(st.integers(min_value=1, max_value=10))
    kinds = draw(st.lists(st.sampled_from([None, None, *MUTATIONS]), min_size=n, max_size=n))
    rows, expected = [], {}
    for i, kind in enumerate(kinds):
        row = draw(valid_row(symbol, minute=5 + 3 * i))
        if kind is not None:
            field, mutate = MUTATIONS[kind]
            mutate(row)
            expected[i] = field
        rows.append(row)
    form = draw(st.sampled_from(["json", "columns"]))
    return symbol, rows, expected, form


def _call(c: psycopg.Connection, rows: list, form: str, batch_id: str):
    if form == "columns":
        cols = snapshot.to_columns(rows, dumps=json.dumps)
        if cols is not None:  # not typable (a string for a number, 10**400, ...): the JSON form
            return c.execute(write_api.columns_sql(cols), [batch_id, *cols.values()]).fetchone()
    return c.execute(
        "SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw(%s, %s)",
        (Jsonb(rows, dumps=json.dumps), batch_id),
    ).fetchone()


def _jobs_and_reads_succeed(c: psycopg.Connection, symbols: list[str]) -> None:
    c.execute("SELECT * FROM watchlist.merge_events_incremental(now())").fetchall()
    c.execute("SELECT * FROM watchlist.label_outcomes_incremental(now())").fetchall()
    c.execute("SELECT * FROM watchlist.compute_factors_incremental(now())").fetchall()
    c.execute("SELECT * FROM watchlist.compute_factors(now() - INTERVAL '2 hours', now())").fetchall()
    for agg in ("watchlist_data.watchlist_series_agg", "watchlist_data.typea_stats_1h"):
        c.execute(f"CALL refresh_continuous_aggregate('{agg}', now() - INTERVAL '1 day', now())")
    keys = c.execute(
        "SELECT DISTINCT exchange, symbol FROM watchlist_data.watch_signal_raw WHERE symbol = ANY(%s)", (symbols,)
    ).fetchall()
    assert keys, "the fuzz stored no row at all"
    for ex, sym in keys:
        c.execute("SELECT * FROM watchlist.series(%s, %s, 12)", (ex, sym)).fetchall()
        c.execute("SELECT * FROM watchlist.metrics(%s, %s)", (ex, sym)).fetchall()
        c.execute(
            "SELECT * FROM watchlist.window_stats(%s, %s, now() - INTERVAL '12 hours', now())", (ex, sym)
        ).fetchall()
    c.execute("SELECT * FROM watchlist.watchlist_list()").fetchall()


def _cleanup(c: psycopg.Connection, symbols: list[str]) -> None:
    c.execute("DELETE FROM watchlist_data.watch_signal_event WHERE symbol = ANY(%s)", (symbols,))
    c.execute("DELETE FROM watchlist_data.factor_value WHERE symbol = ANY(%s)", (symbols,))
    c.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = ANY(%s)", (symbols,))
    c.execute("DELETE FROM watchlist_data.ingest_quarantine WHERE batch_id LIKE 'fuzz-%'")


def test_fuzzed_batches_store_every_valid_row_once_and_name_every_bad_one(target):
    symbols: list[str] = []
    with config.connect(target, autocommit=True) as c:
        try:

            @settings(
                max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
            )
            @given(batch())
            def one_batch(b):
                symbol, rows, expected, form = b
                symbols.append(symbol)
                got = _call(c, rows, form, f"fuzz-{symbol}")
                received, inserted, duplicates, rejected, rejects = got
                by_row: dict[int, set[str]] = {}
                for r in rejects:
                    assert r["reason"], r
                    by_row.setdefault(r["row"], set()).add(r["field"])
                assert received == len(rows)
                assert set(by_row) == set(expected), (form, rejects, expected)
                for i, field in expected.items():
                    assert field in by_row[i], (i, field, by_row[i])
                assert (rejected, inserted, duplicates) == (len(expected), len(rows) - len(expected), 0), got
                stored = c.execute(
                    "SELECT exchange, ts FROM watchlist_data.watch_signal_raw WHERE symbol = %s ORDER BY exchange, ts",
                    (symbol,),
                ).fetchall()
                want = sorted(
                    (r["exchange"], datetime.fromisoformat(r["ts"].replace("Z", "+00:00")))
                    for i, r in enumerate(rows)
                    if i not in expected
                )
                assert stored == want
                quarantined = c.execute(
                    "SELECT DISTINCT row_index FROM watchlist_data.ingest_quarantine WHERE batch_id = %s",
                    (f"fuzz-{symbol}",),
                ).fetchall()
                assert {r for (r,) in quarantined} == set(expected)
                # a replay stores nothing more and refuses the same rows
                again = _call(c, rows, form, f"fuzz-{symbol}-again")
                assert again[1] == 0 and again[3] == len(expected) and again[2] == len(rows) - len(expected)

            one_batch()
            _jobs_and_reads_succeed(c, symbols)
        finally:
            _cleanup(c, symbols)


def test_boundary_values_then_jobs_refresh_and_reads_succeed(target):
    """The largest accepted values of every bounded column, for two keys, then every job, a
    refresh of both continuous aggregates and every read: nothing overflows."""
    symbols = ["FZEDGE1", "FZEDGE2"]
    rows = []
    for k, sym in enumerate(symbols):
        for m in range(60):
            sign = -1 if (m + k) % 2 else 1
            rows.append(
                {
                    "ts": _iso(NOW - timedelta(minutes=m + 1)),
                    "exchange": "binance",
                    "symbol": sym,
                    "type_class": "A",
                    "triggered": m % 3 != 0,
                    "spread_rel": 10.0 * sign,
                    "funding_rate": -10.0 * sign,
                    "funding_interval_hours": 168,
                    "spot_price": 999_999_999.0,
                    "futures_price": 1e-30,
                    "range_1h": 10.0,
                    "volatility": 10.0,
                    "volume_quote": 1e15,
                    "crossings_1h": 1_000_000,
                    "spread_zscore_1h": 1e6 * sign,
                    "drift_ratio": -1e6 * sign,
                    "rv_1h": 1e3,
                    "hv_ratio": 1e6,
                    "oi_jump_around_funding": 1e6 * sign,
                    "meta": {
                        "factors": {"big": 10**400, "edge": 1e300},
                        "exchanges": [{"name": "binance", "kind": "perp", "funding_rate": 10**400}],
                    },
                }
            )
    with config.connect(target, autocommit=True) as c:
        try:
            got = c.execute(
                "SELECT inserted, rejected FROM watchlist.ingest_raw(%s, 'fuzz-edge')", (Jsonb(rows, dumps=json.dumps),)
            ).fetchone()
            assert got == (len(rows), 0)
            _jobs_and_reads_succeed(c, symbols)
        finally:
            _cleanup(c, symbols)


def test_a_nul_escape_refuses_the_batch_as_a_whole(conn):
    """jsonb cannot hold \\u0000: a batch with one is refused by the server before
    ingest_raw runs (22P05), with nothing stored; the client must strip or refuse NUL
    itself (documented in docs/writer-input.md)."""
    good = {
        "ts": _iso(NOW - timedelta(minutes=2)),
        "exchange": "binance",
        "symbol": "FZNUL",
        "type_class": "A",
        "triggered": True,
    }
    bad = dict(good, ts=_iso(NOW - timedelta(minutes=1)), meta={"note": "a\x00b"})
    with pytest.raises(psycopg.errors.UntranslatableCharacter):
        conn.execute("SELECT * FROM watchlist.ingest_raw(%s, 'fuzz-nul')", (json.dumps([good, bad]),))
    assert conn.execute("SELECT count(*) FROM watchlist_data.watch_signal_raw WHERE symbol = 'FZNUL'").fetchone() == (
        0,
    )
