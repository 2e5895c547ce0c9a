"""watchlist_db.reader: the app's three endpoints as JSON-ready dicts, on a fixture of one
hour of 1-minute samples (in the future, above any materialisation watermark)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from watchlist_db.reader import Reader

SYM = "RDRTEST"


@pytest.fixture
def fixture(conn):
    t0 = (datetime.now(UTC) + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)

    def clean():
        conn.execute("DELETE FROM watchlist_data.watch_signal_event WHERE symbol = %s", (SYM,))
        conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = %s", (SYM,))
        conn.execute("DELETE FROM watchlist_data.watchlist_membership WHERE symbol = %s", (SYM,))

    clean()
    # spread 0.001 * (k + 1) at minute k, triggered at minutes 40..44, funding at t0 + 45 min
    conn.execute(
        """
        INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, type_class, triggered, spread_rel,
                    spot_price, futures_price, funding_rate, funding_interval_hours, next_funding_time, crossings_1h,
                    drift_ratio, status, meta)
        SELECT %(t0)s::timestamptz + make_interval(mins => k), 'binance', %(sym)s, 'A', 'A', k BETWEEN 40 AND 44,
               0.001 * (k + 1), 100 + k, 100.5 + k, 0.0001, 4, %(t0)s::timestamptz + interval '45 minutes', k %% 4, 0.5,
               'watching', CASE WHEN k = 59 THEN '{"matrix": [{"exch_a": "okx", "exch_b": "bybit", "spread_pct": 0.002}]}'::jsonb
                                ELSE '{}'::jsonb END
          FROM generate_series(0, 59) AS k""",
        {"t0": t0, "sym": SYM},
    )
    conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (t0, t0 + timedelta(minutes=61)))
    conn.execute(
        """INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
                    VALUES ('binance', %s, %s)""",
        (SYM, t0 - timedelta(days=1)),
    )
    yield t0
    clean()


def test_watchlist_list(conn, fixture):
    t0 = fixture
    now = t0 + timedelta(minutes=59, seconds=30)
    out = Reader(conn=conn).watchlist(now=now, exchange="binance")
    json.dumps(out)  # JSON-ready as it is
    item = next(i for i in out["items"] if i["symbol"] == SYM)
    assert item["type_class"] == "A" and item["status"] == "watching" and item["triggered"] is False
    assert item["spread"]["latest"] == pytest.approx(0.060)
    assert item["spread"]["mean_1h"] == pytest.approx(sum(0.001 * (k + 1) for k in range(60)) / 60, rel=1e-12)
    assert item["samples"] == {"1h": 60, "12h": 60}
    assert item["range"]["1h"] == pytest.approx(0.059, rel=1e-12)
    assert item["slope_per_hour"]["1h"] == pytest.approx(0.06, rel=1e-9)  # 0.001 per minute
    assert item["crossings_1h"] == 3 and item["drift_ratio"] == 0.5
    assert item["funding"] == {
        "rate": 0.0001,
        "interval_hours": 4.0,
        "next_funding_time": (t0 + timedelta(minutes=45)).isoformat().replace("+00:00", "Z"),
    }
    assert item["matrix"] == [{"exch_a": "okx", "exch_b": "bybit", "spread_pct": 0.002}]
    assert item["sampled_at"] == (t0 + timedelta(minutes=59)).isoformat().replace("+00:00", "Z")


def test_metrics_one_and_all(conn, fixture):
    t0 = fixture
    now = t0 + timedelta(minutes=59, seconds=30)
    r = Reader(conn=conn)
    one = r.metrics("binance", SYM, now=now)
    assert one["symbol"] == SYM and one["spread"]["latest"] == pytest.approx(0.060)
    listed = next(i for i in r.metrics(exchange="binance", now=now)["items"] if i["symbol"] == SYM)
    assert listed == one  # the list's stats are metrics()'
    assert r.metrics("binance", "NOSUCHSYM", now=now) is None
    with pytest.raises(ValueError):
        r.metrics(symbol=SYM)


@pytest.mark.parametrize("resolution, points", [("5m", 12), ("1m", 60)])
def test_series(conn, fixture, resolution, points):
    t0 = fixture
    s = Reader(conn=conn).series(
        "binance", SYM, hours=1, now=t0 + timedelta(minutes=59, seconds=30), resolution=resolution
    )
    json.dumps(s)
    assert len(s["points"]) == points and not any(p["filled"] for p in s["points"])
    assert s["points"][-1]["spread_rel"] == pytest.approx(0.060)
    assert s["points"][-1]["spot_price"] == 159 and s["points"][-1]["futures_price"] == 159.5
    assert s["baseline"] == pytest.approx(sum(0.001 * (k + 1) for k in range(60)) / 60, rel=1e-12)
    assert [o["status"] for o in s["open_points"]] == ["confirmed"]
    assert len(s["close_points"]) == 1 and len(s["funding_times"]) == 1
    with pytest.raises(ValueError):
        Reader(conn=conn).series("binance", SYM, resolution="2m")
