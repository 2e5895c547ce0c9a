"""The typed columnar form of the writer API: snapshot.to_columns (which rows the client can
type exactly) and watchlist.ingest_raw_columns called with binary array parameters (the
same stored rows and the same rejects as ingest_raw), on the engine under test; and the
writer's connection warm-up."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import orjson

from watchlist_db import config, snapshot
from watchlist_db.api import write as write_api
from watchlist_db.writer import Writer
from writer_helpers import q
from writer_helpers import snapshot as make_snapshot

COLS_SQL = "SELECT {} FROM watchlist_data.watch_signal_raw WHERE symbol = %s ORDER BY exchange, ts"
STORED = "exchange, ts, signal_type, type_class, triggered, status, spread_rel, funding_interval_hours, crossings_1h, next_funding_time, meta"


def _rows(symbol: str, n: int = 4) -> list[dict]:
    good, bad = snapshot.to_raw_rows(make_snapshot(symbol, datetime.now(UTC) - timedelta(hours=1), n))
    assert not bad
    return [json.loads(t) for _, t in good]


def test_to_columns_types_exactly_and_only_what_it_can():
    rows = [
        {
            "ts": "2026-03-01T10:00:00Z",
            "exchange": "binance",
            "symbol": "X",
            "type_class": "A",
            "triggered": True,
            "spread_rel": 0.5,
            "funding_interval_hours": 8,
            "crossings_1h": 3,
            "meta": {"a": [1, None]},
        },
        {
            "ts": "2026-03-01T10:01:00Z",
            "exchange": "binance",
            "symbol": "X",
            "type_class": "B",
            "triggered": False,
            "status": "watching",
            "slope_3m": None,
        },
    ]
    cols = snapshot.to_columns(rows)
    assert list(cols) == [
        "ts",
        "exchange",
        "symbol",
        "type_class",
        "triggered",
        "spread_rel",
        "funding_interval_hours",
        "crossings_1h",
        "meta",
        "status",
    ]
    assert cols["spread_rel"] == [0.5, None]
    assert cols["funding_interval_hours"] == [8.0, None] and type(cols["funding_interval_hours"][0]) is float
    assert cols["crossings_1h"] == [3, None] and cols["status"] == [None, "watching"]
    assert cols["meta"][0].obj == {"a": [1, None]} and cols["meta"][1] is None
    sql = write_api.columns_sql(cols)
    assert sql.startswith(
        "SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw_columns(%s, ts => %b::text[]"
    )
    assert (
        "crossings_1h => %b::integer[]" in sql
        and "meta => %b::jsonb[]" in sql
        and "spread_rel => %b::double precision[]" in sql
    )
    base = rows[0]
    # each of these makes the batch untypable: it goes as JSON and SQL names the problem
    for k, v in [
        ("spread_rel", "NaN"),
        ("spread_rel", True),
        ("spread_rel", "0.5"),
        ("triggered", 1),
        ("exchange", 7),
        ("crossings_1h", 2.5),
        ("crossings_1h", 2**31),
        ("crossings_1h", True),
        ("meta", [1]),
        ("sprad_rel", 0.1),
        ("ts", 1700000000),
        ("spread_rel", 10**400),
        ("spread_rel", float("inf")),
    ]:
        assert snapshot.to_columns([rows[1], {**base, k: v}]) is None, (k, v)
    assert snapshot.to_columns([rows[1], ["not", "an", "object"]]) is None
    assert snapshot.to_columns([]) == {}


def test_ingest_raw_columns_stores_what_ingest_raw_stores(target):
    a = _rows("COLPY1")
    b = [dict(r, symbol="COLPY2") for r in a]  # the same rows under another symbol, through ingest_raw
    try:
        with config.connect(target, autocommit=True) as c:
            cols = snapshot.to_columns(a, dumps=orjson.dumps)
            assert "meta" in cols and "next_funding_time" in cols
            got = c.execute(write_api.columns_sql(cols), ["colpy-1", *cols.values()]).fetchone()
            assert got == (len(a), len(a), 0, 0, [])
            again = c.execute(write_api.columns_sql(cols), ["colpy-2", *cols.values()]).fetchone()
            assert again == (len(a), 0, len(a), 0, [])
            from psycopg.types.json import Jsonb

            assert c.execute("SELECT inserted FROM watchlist.ingest_raw(%s, 'colpy-3')", (Jsonb(b),)).fetchone() == (
                len(b),
            )
        got_cols = q(target, COLS_SQL.format(STORED), ("COLPY1",))
        got_json = q(target, COLS_SQL.format(STORED), ("COLPY2",))
        assert len(got_cols) == len(a) and got_cols == got_json
    finally:
        q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol IN ('COLPY1', 'COLPY2')")


def test_ingest_raw_columns_rejects_as_ingest_raw_does(target):
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    base = {"exchange": "binance", "symbol": "COLPY3", "type_class": "A", "triggered": True}
    rows = [
        {**base, "ts": t0.isoformat(), "spread_rel": 0.1},
        {**base, "ts": (t0 + timedelta(minutes=1)).isoformat(), "futures_price": -1.0},
        {**base, "ts": (t0 + timedelta(minutes=2)).isoformat(), "meta": {"notes": "z" * 70000}},
        {**base, "ts": (t0 + timedelta(days=2)).isoformat()},
        {**base, "ts": t0.isoformat(), "triggered": False},
    ]
    cols = snapshot.to_columns(rows, dumps=orjson.dumps)
    assert cols is not None
    try:
        with config.connect(target, autocommit=True) as c:
            received, inserted, dups, rejected, rejects = c.execute(
                write_api.columns_sql(cols), ["colpy-rej", *cols.values()]
            ).fetchone()
        assert (received, inserted, dups, rejected) == (5, 1, 0, 4)
        assert [(r["row"], r["field"]) for r in rejects] == [(1, "futures_price"), (2, "meta"), (3, "ts"), (4, "ts")]
        assert rejects[0]["reason"] == "must be > 0, got -1"  # the JSON form of the typed -1.0
        assert rejects[3]["reason"] == "duplicate key (exchange, symbol, ts) inside the batch: same as row 0"
        assert q(target, "SELECT count(*) FROM watchlist.ingest_rejects WHERE batch_id = 'colpy-rej'") == [(4,)]
        assert q(target, "SELECT ts, spread_rel FROM watchlist_data.watch_signal_raw WHERE symbol = 'COLPY3'") == [
            (t0, 0.1)
        ]
    finally:
        q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'COLPY3'")
        q(target, "DELETE FROM watchlist_data.ingest_quarantine WHERE batch_id = 'colpy-rej'")


def test_writer_warms_its_connection_at_start_on_a_server(target, tmp_path):
    """On a server the writer connects (and makes one empty ingest_raw call) before any
    submit; on the embedded engine (one client at a time) it holds no connection."""
    w = Writer(target=target, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.2)
    try:
        deadline = time.monotonic() + (10 if not target.embedded else 1)
        while w._flush.conn is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if target.embedded:
            assert w._flush.conn is None
        else:
            assert w._flush.conn is not None and not w._flush.conn.closed, "connected before any submit"
        assert w.stats()["batches"] == 0 and w.stats()["written"] == 0
    finally:
        w.close(timeout=5)
