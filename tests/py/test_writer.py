"""The app's insert hook (watchlist_db.writer) against the test database: mapping,
client-side rejects, idempotent batches, dead letters, membership and symbol references,
spool bounds, submit() latency against a deaf and a refused server, the watchdog against
a server that goes deaf after connecting, replay into compressed chunks."""

from __future__ import annotations

import json
import logging
import math
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from watchlist_db import config, snapshot
from watchlist_db import writer as writer_mod
from watchlist_db.api import write as write_api
from watchlist_db.spool import Spool, spool_summary
from watchlist_db.writer import Writer
from writer_helpers import (
    DeafServer,
    Proxy,
    closed_port_target,
    keys_of,
    q,
    stored_keys,
    utc_minutes_ago,
    wait_until,
)
from writer_helpers import (
    snapshot as make_snapshot,
)


@pytest.fixture
def spool_path(tmp_path):
    return tmp_path / "spool.sqlite"


def _cleanup(target, *symbols):
    q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = ANY(%s)", (list(symbols),))


# ------------------------------------------------------------------- mapping
def test_snapshot_maps_columns_meta_and_factors_exactly():
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    item = {
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "type_class": "A",
        "triggered": True,
        "spread_rel": 0.0031,
        "volatility": float("nan"),
        "range_1h": math.inf,
        "slope_3m": None,
        "next_funding_time": datetime(2026, 3, 1, 16, 0, tzinfo=UTC),
        "pairs_top": [{"high_exch": "bitget", "low_exch": "bybit", "spread_pct": 0.00339, "dir": "buy_high_sell_low"}],
        "funding_diff_top": [{"high_exch": "bitget", "low_exch": "okx", "funding_diff": 0.0006}],
        "exchanges": [
            {"name": "binance", "kind": "perp", "funding_rate": 0.0001, "price_bid": None, "oi_usd": 1490000},
            {"name": "mexc", "kind": "spot", "price_bid": None, "price_ask": None, "funding_rate": None},
            None,
            {"name": "okx", "kind": "spot", "price_ask": 0.065495},
        ],
        "matrix": [{"exch_a": "bitget", "exch_b": "bybit", "spread_pct": 0.00339, "dir": "a_minus_b"}],
        "notes": "front-end hint",
        "factors": {"macd": -0.2, "rsi_14": None},
        "extra_factors": {"kurt_12h": 3.5},
        "vol_of_vol": -math.inf,  # unknown number -> meta.factors
        "regime_label": "calm",  # unknown non-number -> meta
    }
    good, bad = snapshot.to_raw_rows([item], at)
    assert bad == []
    assert good[0][0] == 0
    assert json.loads(good[0][1]) == {
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "type_class": "A",
        "triggered": True,
        "spread_rel": 0.0031,
        "volatility": "NaN",
        "range_1h": "Infinity",
        "next_funding_time": "2026-03-01T16:00:00+00:00",
        "ts": "2026-03-01T10:00:00+00:00",
        "meta": {
            "pairs_top": [
                {"high_exch": "bitget", "low_exch": "bybit", "spread_pct": 0.00339, "dir": "buy_high_sell_low"}
            ],
            "funding_diff_top": [{"high_exch": "bitget", "low_exch": "okx", "funding_diff": 0.0006}],
            "exchanges": [
                {"name": "binance", "kind": "perp", "funding_rate": 0.0001, "oi_usd": 1490000},
                {"name": "okx", "kind": "spot", "price_ask": 0.065495},
            ],
            "matrix": [{"exch_a": "bitget", "exch_b": "bybit", "spread_pct": 0.00339, "dir": "a_minus_b"}],
            "notes": "front-end hint",
            "regime_label": "calm",
            "factors": {"macd": -0.2, "kurt_12h": 3.5, "vol_of_vol": "-Infinity"},
        },
    }
    # A naive datetime is passed through without a zone (SQL rejects it as naive); a
    # row's own ts wins over `at`.
    naive = dict(item, ts=datetime(2026, 3, 1, 9, 0))
    assert json.loads(snapshot.to_raw_rows([naive], at)[0][0][1])["ts"] == "2026-03-01T09:00:00"


def test_client_side_rejects_name_row_field_and_reason():
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    base = {"exchange": "okx", "symbol": "ETHUSDT", "type_class": "B", "triggered": False}
    rows = [
        base,
        dict(base, notes="a\x00b"),
        dict(base, symbol="ETH\x00"),
        dict(base, tags={1, 2}),
        dict(base, notes="\ud800"),
        "not a dict",
        dict(base, exchanges=[{"name": "x\x00", "price_bid": 1.0}]),
    ]
    good, bad = snapshot.to_raw_rows(rows, at)
    assert [i for i, _ in good] == [0]
    assert [(r.row, r.field, r.reason) for r in bad] == [
        (1, "meta", "meta.notes: string contains a NUL byte (\\u0000), which PostgreSQL jsonb refuses"),
        (2, "symbol", "string contains a NUL byte (\\u0000), which PostgreSQL jsonb refuses"),
        (3, "meta", "meta.tags: value of type set cannot be represented in JSON"),
        (4, "meta", "meta.notes: string is not valid Unicode (lone surrogate), which PostgreSQL jsonb refuses"),
        (5, "(row)", "a row must be an object, got str"),
        (6, "meta", "meta.exchanges[0].name: string contains a NUL byte (\\u0000), which PostgreSQL jsonb refuses"),
    ]
    assert bad[0].key == ("okx", "ETHUSDT", "2026-03-01T10:00:00+00:00")


def test_retry_classes():
    retry = ["08006", "08001", "53300", "53100", "57014", "57P01", "40001", "40P01", "55P03", "58030"]
    final = ["22P02", "22003", "23505", "23514", "42501", "42883", "42P01", "P0001", "XX000"]
    for state in retry:
        assert writer_mod.retryable(psycopg.errors.lookup(state)("x")), state
    for state in final:
        assert not writer_mod.retryable(psycopg.errors.lookup(state)("x")), state
    assert writer_mod.retryable(psycopg.OperationalError("connection refused"))  # no SQLSTATE: the network
    assert not writer_mod.retryable(psycopg.DataError("cannot dump"))  # no SQLSTATE, client side
    assert not writer_mod.retryable(ValueError("bug"))


# ------------------------------------------------------------------ writing
def test_submit_writes_batches_and_a_replay_writes_nothing(target, spool_path):
    rows = make_snapshot("WTWRITE", utc_minutes_ago(90), 45)
    try:
        with Writer(target=target, spool_path=spool_path, max_batch_rows=20, max_delay_s=0.1) as w:
            assert w.submit(rows[:30]) == 30
            assert w.submit(rows[30:]) == 15
        st = w.stats()
        assert (st["submitted"], st["written"], st["duplicates"], st["quarantined"], st["pending"], st["failed"]) == (
            45,
            45,
            0,
            0,
            0,
            0,
        )
        assert st["batches"] == 3  # 20 + 10 (first submit, split by max_batch_rows) ... grouped oldest first
        assert set(stored_keys(target, "WTWRITE")) == keys_of(rows)
        stored = q(
            target,
            """SELECT meta, signal_type, spread_rel FROM watchlist_data.watch_signal_raw
                               WHERE symbol = 'WTWRITE' ORDER BY ts LIMIT 1""",
        )[0]
        assert stored[0]["factors"] == {"rsi_14": 40, "macd": 0.1, "vol_of_vol": 0.5}
        assert [e["name"] for e in stored[0]["exchanges"]] == ["binance"]
        assert stored[1:] == ("A", 0.002)
        with Writer(target=target, spool_path=spool_path, max_batch_rows=20, max_delay_s=0.1) as w:
            w.submit(rows[:30])
            w.submit(rows[30:])
        st = w.stats()
        assert (st["written"], st["duplicates"], st["quarantined"]) == (0, 45, 0)
        assert q(target, "SELECT count(*) FROM watchlist_data.watch_signal_raw WHERE symbol = 'WTWRITE'")[0][0] == 45
        s = spool_summary(spool_path)
        assert (s["pending_rows"], s["dead_rows"], s["totals"]["written"], s["totals"]["duplicates"]) == (0, 0, 45, 45)
    finally:
        _cleanup(target, "WTWRITE")


def test_batch_ids_are_deterministic():
    payload = b'[{"ts":"2026-03-01T10:00:00Z","exchange":"okx","symbol":"X","triggered":true,"type_class":"A"}]'
    assert (
        writer_mod.batch_id(payload)
        == writer_mod.batch_id(bytes(bytearray(payload)))
        != writer_mod.batch_id(payload + b" ")
    )
    assert writer_mod.batch_id(payload).startswith("wl-") and len(writer_mod.batch_id(payload)) == 35


def test_bad_rows_are_quarantined_with_their_key_and_reason(target, spool_path):
    t0 = utc_minutes_ago(60)
    good = make_snapshot("WTBAD", t0, 3)
    bad_nan = dict(good[0], ts=t0 + timedelta(minutes=5), spread_rel=float("nan"))
    bad_nul = dict(good[0], ts=t0 + timedelta(minutes=6), notes="x\x00")
    bad_naive = dict(good[0], ts=(t0 + timedelta(minutes=7)).replace(tzinfo=None))
    try:
        with Writer(target=target, spool_path=spool_path, max_delay_s=0.1) as w:
            assert w.submit(good + [bad_nan, bad_nul, bad_naive]) == 5
        st = w.stats()
        assert (st["written"], st["quarantined"], st["duplicates"]) == (3, 3, 0)
        got = sorted((r["key"][2], r["field"], r["reason"]) for r in w.rejects())
        assert got == sorted(
            [
                (bad_nan["ts"].isoformat(), "spread_rel", "not a finite number: NaN"),
                (
                    bad_nul["ts"].isoformat(),
                    "meta",
                    "meta.notes: string contains a NUL byte (\\u0000), which PostgreSQL jsonb refuses",
                ),
                (
                    bad_naive["ts"].isoformat(),
                    "ts",
                    f"timestamp has no UTC offset (naive): {bad_naive['ts'].isoformat()}",
                ),
            ]
        )
        assert sorted(q(target, "SELECT field FROM watchlist.ingest_rejects WHERE row_data->>'symbol' = 'WTBAD'")) == [
            ("spread_rel",),
            ("ts",),
        ]
    finally:
        _cleanup(target, "WTBAD")
        q(target, "DELETE FROM watchlist_data.ingest_quarantine WHERE row_data->>'symbol' = 'WTBAD'")


def test_refused_batches_go_to_dead_letters_and_can_be_requeued(target, spool_path, monkeypatch, caplog):
    rows = make_snapshot("WTDEAD", utc_minutes_ago(30), 4)
    try:
        monkeypatch.setattr(write_api, "INGEST_SQL", write_api.INGEST_SQL.replace("ingest_raw(", "ingest_raw_missing("))
        with (
            caplog.at_level(logging.ERROR, logger="watchlist_db.writer"),
            Writer(target=target, spool_path=spool_path, max_delay_s=0.1) as w,
        ):
            w.submit(rows)
            assert w.drain(timeout=30)
        st = w.stats()
        # not retried: nothing is left pending, the batch sits in the dead letters (below)
        assert (st["failed"], st["written"], st["spooled"], st["pending"]) == (4, 0, 0, 0)
        assert st["last_error"].startswith("42883: function watchlist.ingest_raw_missing")
        assert "refused by the database, kept as a dead letter" in caplog.text
        s = spool_summary(spool_path)
        assert (s["dead_batches"], s["dead_rows"], s["pending_rows"], s["totals"]["failed"]) == (1, 4, 0, 4)
        sp = Spool(spool_path)
        assert [(d["sqlstate"], d["rows"]) for d in sp.dead_letters()] == [("42883", 4)]
        # After the fix the operator re-queues them; they are replayed.
        monkeypatch.undo()
        assert sp.requeue_dead() == 4
        sp.close()
        with Writer(target=target, spool_path=spool_path) as w:
            pass
        assert (w.stats()["written"], w.stats()["replayed"]) == (4, 4)
        assert set(stored_keys(target, "WTDEAD")) == keys_of(rows)
        assert spool_summary(spool_path)["dead_rows"] == 0
    finally:
        _cleanup(target, "WTDEAD")


def test_membership_and_symbol_references(target, spool_path):
    at = datetime.now(UTC).replace(microsecond=0)
    try:
        with Writer(target=target, spool_path=spool_path, max_delay_s=0.1) as w:
            w.submit_symbol_refs(
                [
                    {
                        "exchange": "binance",
                        "symbol": "WTMEM1",
                        "base": "WTM",
                        "quote": "USDT",
                        "listed": datetime(2024, 1, 2).date(),
                        "liquidity_tier": 2,
                    }
                ]
            )
            w.submit_membership([{"exchange": "binance", "symbol": "WTMEM1"}, ("okx", "WTMEM2")], at)
            w.submit_membership([("okx", "WTMEM2")], at + timedelta(minutes=1))
            with pytest.raises(ValueError):
                w.submit_membership([], at.replace(tzinfo=None))
        assert w.stats()["calls"] == 3
        assert q(
            target,
            "SELECT base, quote, listed::text, liquidity_tier FROM watchlist.watchlist_symbol_ref WHERE symbol = 'WTMEM1'",
        ) == [("WTM", "USDT", "2024-01-02", 2)]
        assert q(
            target,
            """SELECT exchange, symbol, entered_at = %s, left_at = %s + interval '1 minute'
                              FROM watchlist_data.watchlist_membership WHERE symbol LIKE 'WTMEM%%' ORDER BY symbol""",
            (at, at),
        ) == [("binance", "WTMEM1", True, True), ("okx", "WTMEM2", True, None)]
    finally:
        q(target, "DELETE FROM watchlist_data.watchlist_membership WHERE symbol LIKE 'WTMEM%'")
        q(target, "DELETE FROM watchlist_data.watchlist_symbol_ref WHERE symbol LIKE 'WTMEM%'")


# -------------------------------------------------------------------- spool
def test_spool_is_bounded_and_drops_the_oldest_rows_loudly(spool_path, caplog):
    rows = make_snapshot("WTBOUND", utc_minutes_ago(120), 300)
    with caplog.at_level(logging.WARNING, logger="watchlist_db.writer"):
        w = Writer(
            target=closed_port_target(),
            spool_path=spool_path,
            max_spool_rows=100,
            max_delay_s=0.05,
            connect_timeout_s=2,
        )
        for i in range(0, 300, 30):
            w.submit(rows[i : i + 30])
            time.sleep(0.1)
        st = w.close(timeout=5)
    assert st["pending"] <= 100 and st["pending"] + st["dropped"] == 300 and st["written"] == 0
    assert "spool full" in caplog.text and "dropped the" in caplog.text
    s = spool_summary(spool_path)
    assert s["pending_rows"] == st["pending"] and s["totals"]["dropped"] == st["dropped"]
    sp = Spool(spool_path)
    kept_ts = sorted(r["ts"] for r in sp.waiting_rows())
    sp.close()
    assert kept_ts == sorted(r["ts"].isoformat() for r in rows)[-len(kept_ts) :], "the newest rows are the ones kept"


@pytest.mark.parametrize("server", ["deaf", "refused"])
def test_submit_returns_and_spools_when_the_server_is_deaf_or_refuses(server, spool_path):
    """Every submit() returns and its rows are spooled while the server is deaf or refuses.
    (Its latency, p50/p99, is measured in bench/ingest.py: no wall-clock threshold here.)"""
    deaf = DeafServer() if server == "deaf" else None
    tgt = deaf.target() if deaf else closed_port_target()
    snaps = [make_snapshot(f"WTLAT{k % 20}", utc_minutes_ago(200) + timedelta(seconds=k), 20) for k in range(500)]
    try:
        w = Writer(target=tgt, spool_path=spool_path, connect_timeout_s=2, max_delay_s=0.2)
        for snap in snaps:
            assert w.submit(snap) == 20
        st = w.close(timeout=6)
    finally:
        if deaf:
            deaf.close()
    assert (st["submitted"], st["written"], st["pending"], st["spooled"]) == (10000, 0, 10000, 10000)
    assert st["db_up"] is False and st["last_error"]
    s = spool_summary(spool_path)
    assert (s["pending_rows"], s["unbatched_rows"], s["spooled_rows"]) == (10000, 0, 10000)


def test_a_server_that_goes_deaf_after_connecting_cannot_hang_the_writer(target, spool_path):
    params = psycopg.conninfo.conninfo_to_dict(target.conninfo)
    if params.get("host") not in ("127.0.0.1", "localhost"):
        pytest.skip("the proxy needs the server on 127.0.0.1 over TCP")
    proxy = Proxy(int(params.get("port") or 5432))
    via = config.Target(
        psycopg.conninfo.make_conninfo(target.conninfo, host="127.0.0.1", port=str(proxy.port)),
        target.embedded,
        "proxy",
    )
    t0 = utc_minutes_ago(45)
    first, second = make_snapshot("WTDEAF", t0, 10), make_snapshot("WTDEAF", t0 + timedelta(minutes=10), 10)
    w = Writer(
        target=via,
        spool_path=spool_path,
        keep_connection=True,
        max_delay_s=0.05,
        statement_timeout_s=1,
        watchdog_grace_s=1,
        connect_timeout_s=2,
        backoff_s=(0.2, 1),
    )
    try:
        w.submit(first)
        assert w.drain(timeout=30) and w.stats()["written"] == 10
        proxy.deaf = True  # the held connection now never answers
        w.submit(second)
        # the statement timeout + watchdog grace end the hung call (polled, with room for a slow machine)
        assert wait_until(lambda: not w.stats()["db_up"], 60), "the watchdog ended the call"
        assert w.stats()["spooled"] == 10
        proxy.deaf = False
        assert wait_until(lambda: w.stats()["pending"] == 0, 60)
        st = w.close(timeout=30)
        assert st["pending"] == 0 and st["written"] + st["duplicates"] == 20 and st["replayed"] == 10
        assert sorted(stored_keys(target, "WTDEAF")) == sorted(keys_of(first + second))
    finally:
        w.close(timeout=5)
        proxy.close()
        _cleanup(target, "WTDEAF")


# ------------------------------------------------------- compressed replays
def _checksum(target, symbol):
    return q(
        target,
        """SELECT count(*), md5(string_agg(r::text, '|' ORDER BY exchange, ts))
                          FROM watchlist_data.watch_signal_raw r WHERE symbol = %s""",
        (symbol,),
    )[0]


def test_replaying_the_same_data_into_compressed_chunks_changes_nothing(target, tmp_path):
    t0 = (datetime.now(UTC) - timedelta(days=4)).replace(hour=2, minute=0, second=0, microsecond=0)
    rows = make_snapshot("WTCMP", t0, 300, step_s=60) + make_snapshot("WTCMP", t0, 300, exchange="gate", step_s=60)
    try:
        checksums = []
        for attempt in range(3):
            with Writer(target=target, spool_path=tmp_path / f"spool{attempt}.sqlite", max_delay_s=0.1) as w:
                w.submit(rows)
            st = w.stats()
            assert (st["written"], st["duplicates"], st["quarantined"], st["pending"]) == (
                (600, 0, 0, 0) if attempt == 0 else (0, 600, 0, 0)
            )
            checksums.append(_checksum(target, "WTCMP"))
            n = q(
                target,
                """SELECT count(compress_chunk(c, if_not_compressed => true))
                               FROM show_chunks('watchlist_data.watch_signal_raw', older_than => now() - interval '3 days') c""",
            )[0][0]
            assert n >= 1
            assert q(
                target,
                """SELECT bool_and(is_compressed) FROM timescaledb_information.chunks
                                 WHERE hypertable_name = 'watch_signal_raw' AND range_start <= %s AND range_end > %s""",
                (t0, t0),
            )[0][0]
        assert checksums[0][0] == 600 and checksums[0] == checksums[1] == checksums[2]
        assert _checksum(target, "WTCMP") == checksums[0]
    finally:
        _cleanup(target, "WTCMP")


def test_submit_after_close_counts_the_rows_as_dropped_instead_of_raising(spool_path, caplog):
    w = Writer(target=closed_port_target(), spool_path=spool_path, connect_timeout_s=2)
    w.close(timeout=0)
    with caplog.at_level(logging.ERROR, logger="watchlist_db.writer"):
        assert w.submit(make_snapshot("WTCLOSED", utc_minutes_ago(5), 3)) == 0
    assert w.stats()["dropped"] == 3 and "submit() after close()" in w.stats()["last_error"]
    assert "could not spool 3 row(s), they are dropped" in caplog.text
    with Writer(target=closed_port_target(), spool_path=spool_path, start=False) as again:  # the file is free again
        assert again.stats()["pending"] == 0


def test_the_mapping_knows_exactly_the_columns_the_writer_api_accepts(target):
    cols = [
        c
        for (c,) in q(
            target,
            """SELECT attname FROM pg_attribute
                                         WHERE attrelid = 'watchlist_data.watch_signal_raw'::regclass
                                           AND attnum > 0 AND NOT attisdropped""",
        )
    ]
    accepted = {c for c in cols if q(target, "SELECT watchlist_data.raw_field_kind(%s)", (c,))[0][0]}
    assert accepted == snapshot.COLUMNS
