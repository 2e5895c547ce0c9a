"""The materialised path of the continuous aggregates (refresh cannot run inside a
transaction, so pgTAP covers the real-time path and this covers the refreshed one), and
idempotent re-ingest into compressed chunks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

SERIES_COLS = (
    "bucket, n_rows, n_triggered, spread_n, spread_sum, spread_sumsq, spread_min, spread_max, "
    "spread_first, spread_last, spread_rel, t_sum, t_sumsq, ty_sum"
)


def _rows(symbol: str, t0: datetime, minutes: int, exchange: str = "gate"):
    out = []
    for i in range(minutes):
        ts = t0 + timedelta(minutes=i, seconds=(i * 11) % 29)
        out.append(
            {
                "ts": ts.isoformat(),
                "exchange": exchange,
                "symbol": symbol,
                "signal_type": "A",
                "triggered": i % 4 == 0,
                "spread_rel": None if i % 13 == 5 else 0.002 + 0.0007 * math.sin(i / 9) + 0.0001 * (i % 3),
                "funding_rate": 0.0001,
                "spot_price": 10 + i / 100,
                "futures_price": 10.02 + i / 100,
                "meta": {"pairs_top": [{"high_exch": "okx", "low_exch": exchange, "spread_pct": i / 1000}]},
            }
        )
    return out


def _ingest(conn, rows, batch):
    return conn.execute(
        "SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw(%s, %s)",
        (Jsonb(rows), batch),
    ).fetchone()


def test_refreshed_aggregates_serve_materialised_rows_equal_to_raw(conn):
    t0 = (datetime.now(UTC) - timedelta(hours=30)).replace(minute=0, second=0, microsecond=0)
    t1 = t0 + timedelta(hours=6)
    rows = _rows("MATTEST", t0, 6 * 60)
    assert _ingest(conn, rows, "mat-1")[:4] == (360, 360, 0, 0)
    direct = conn.execute("""
        SELECT b, count(*), count(*) FILTER (WHERE triggered), count(spread_rel), sum(spread_rel), sum(spread_rel ^ 2),
               min(spread_rel), max(spread_rel),
               (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1],
               (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1],
               (array_agg(spread_rel ORDER BY ts DESC))[1],
               sum(tau) FILTER (WHERE spread_rel IS NOT NULL), sum(tau ^ 2) FILTER (WHERE spread_rel IS NOT NULL), sum(tau * spread_rel)
          FROM (SELECT r.*, time_bucket('5 minutes', ts) b, extract(epoch FROM ts - time_bucket('5 minutes', ts))::float8 tau
                  FROM watchlist_data.watch_signal_raw r WHERE symbol = 'MATTEST') x
         GROUP BY b ORDER BY b""").fetchall()
    # the same statistics computed from the raw rows (not from the aggregates' own output)
    direct_hourly = conn.execute("""
        SELECT h, count(*), count(*) FILTER (WHERE triggered), count(spread_rel), sum(spread_rel), sum(spread_rel ^ 2),
               min(spread_rel), max(spread_rel),
               (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1],
               (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1],
               sum(tau) FILTER (WHERE spread_rel IS NOT NULL), sum(tau ^ 2) FILTER (WHERE spread_rel IS NOT NULL),
               sum(tau * spread_rel)
          FROM (SELECT r.*, time_bucket('1 hour', ts) h, extract(epoch FROM ts - time_bucket('1 hour', ts))::float8 tau
                  FROM watchlist_data.watch_signal_raw r WHERE symbol = 'MATTEST') x
         GROUP BY h ORDER BY h""").fetchall()
    direct_stats = conn.execute(
        """
        SELECT count(spread_rel), avg(spread_rel), stddev_samp(spread_rel), min(spread_rel), max(spread_rel),
               max(spread_rel) - min(spread_rel),
               (array_agg(spread_rel ORDER BY ts) FILTER (WHERE spread_rel IS NOT NULL))[1],
               (array_agg(spread_rel ORDER BY ts DESC) FILTER (WHERE spread_rel IS NOT NULL))[1],
               3600 * regr_slope(spread_rel, extract(epoch FROM ts))
          FROM watchlist_data.watch_signal_raw WHERE symbol = 'MATTEST' AND ts >= %s AND ts < %s""",
        (t0, t1),
    ).fetchone()
    conn.execute("CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', %s, %s)", (t0, t1))
    conn.execute("CALL refresh_continuous_aggregate('watchlist_data.typea_stats_1h', %s, %s)", (t0, t1))
    try:
        # With the raw rows gone, whatever the aggregates still return is materialised.
        conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'MATTEST'")
        mat = conn.execute(
            f"SELECT {SERIES_COLS} FROM watchlist_data.watchlist_series_agg WHERE symbol = 'MATTEST' ORDER BY bucket"
        ).fetchall()
        assert len(mat) == 72 == len(direct)
        for got, want in zip(mat, direct):
            assert got[:4] == want[:4]
            for g, w in zip(got[4:], want[4:]):
                if w is None:  # a bucket whose last sample has no spread
                    assert g is None
                else:
                    assert g == pytest.approx(w, rel=1e-12, abs=1e-15)
        hourly = conn.execute("""SELECT bucket, n_rows, n_triggered, spread_n, spread_sum, spread_sumsq, spread_min, spread_max,
                                        spread_first, spread_last, t_sum, t_sumsq, ty_sum
                                   FROM watchlist_data.typea_stats_1h WHERE symbol = 'MATTEST' ORDER BY bucket""").fetchall()
        assert len(hourly) == 6 == len(direct_hourly)
        for got, want in zip(hourly, direct_hourly):
            assert got[:4] == want[:4]
            assert got[4:] == pytest.approx(want[4:], rel=1e-12, abs=1e-12)
        stats = conn.execute(
            "SELECT n, mean, sigma, min, max, range, first, last, slope_per_hour FROM watchlist.window_stats('gate', 'MATTEST', %s, %s)",
            (t0, t1),
        ).fetchone()
        assert stats[0] == direct_stats[0] == sum(1 for r in rows if r["spread_rel"] is not None)
        assert stats[1:6] == pytest.approx(direct_stats[1:6], rel=1e-9, abs=1e-15)
        assert stats[6:8] == direct_stats[6:8]
        assert stats[8] == pytest.approx(direct_stats[8], rel=1e-9)
    finally:
        conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'MATTEST'")
        conn.execute("CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', %s, %s)", (t0, t1))
        conn.execute("CALL refresh_continuous_aggregate('watchlist_data.typea_stats_1h', %s, %s)", (t0, t1))
    assert (
        conn.execute("SELECT count(*) FROM watchlist_data.watchlist_series_agg WHERE symbol = 'MATTEST'").fetchone()[0]
        == 0
    )


def _checksum(conn, symbol):
    return conn.execute(
        """SELECT count(*), md5(string_agg(r::text, '|' ORDER BY exchange, ts))
                             FROM watchlist_data.watch_signal_raw r WHERE symbol = %s""",
        (symbol,),
    ).fetchone()


def test_replaying_into_compressed_chunks_changes_nothing(conn):
    t0 = (datetime.now(UTC) - timedelta(days=4)).replace(hour=3, minute=0, second=0, microsecond=0)
    rows = _rows("CMPTEST", t0, 240) + _rows("CMPTEST", t0, 240, exchange="mexc")
    assert _ingest(conn, rows, "cmp-1")[:4] == (480, 480, 0, 0)
    first = _checksum(conn, "CMPTEST")
    try:
        for attempt in range(3):
            n = conn.execute("""SELECT count(compress_chunk(c, if_not_compressed => true))
                                  FROM show_chunks('watchlist_data.watch_signal_raw', older_than => now() - interval '3 days') c""").fetchone()[
                0
            ]
            assert n >= 1
            compressed = conn.execute(
                """SELECT bool_and(is_compressed) FROM timescaledb_information.chunks
                                          WHERE hypertable_name = 'watch_signal_raw' AND range_start <= %s AND range_end > %s""",
                (t0, t0),
            ).fetchone()[0]
            assert compressed is True
            assert _ingest(conn, rows, f"cmp-replay-{attempt}")[:4] == (480, 0, 480, 0)
            assert _checksum(conn, "CMPTEST") == first
    finally:
        conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'CMPTEST'")


ROWS_COLS = (
    "bucket, n_rows, type_class, spot_price, futures_price, spread_rel, funding_rate, funding_interval_hours, "
    "next_funding_time, crossings_1h, drift_ratio, spread_n, spread_sum, spread_sumsq, spread_min, spread_max, "
    "t_sum, t_sumsq, ty_sum"
)
# watchlist_data.series_agg_rows grouped by bucket: the aggregate's rows
GROUPED = """
SELECT bucket, sum(n_rows)::bigint, last(type_class, at), last(spot_price, at), last(futures_price, at), last(spread_rel, at),
       last(funding_rate, at), last(funding_interval_hours, at), last(next_funding_time, at), last(crossings_1h, at),
       last(drift_ratio, at), sum(spread_n)::bigint, sum(spread_sum), sum(spread_sumsq), min(spread_min), max(spread_max),
       sum(t_sum), sum(t_sumsq), sum(ty_sum)
  FROM watchlist_data.series_agg_rows('gate', 'SPLITTEST', %(a)s, %(b)s, {wm}) GROUP BY bucket ORDER BY bucket"""


def _same_rows(got, want, what):
    """Bucket, counts and the latest values exactly; the sums to 1e-12 (summed in another order)."""
    assert [g[0] for g in got] == [w[0] for w in want], what
    for g, w in zip(got, want):
        assert g[:3] == w[:3] and g[11] == w[11], (what, g[0])
        for gv, wv in zip(g[3:11] + g[12:], w[3:11] + w[12:]):
            if isinstance(wv, float):
                assert gv == pytest.approx(wv, rel=1e-12, abs=1e-15), (what, g[0])
            else:
                assert gv == wv, (what, g[0])


def test_read_path_rows_split_at_the_watermark(conn):
    """watchlist_data.series_agg_rows (what series / metrics / watchlist_list read): buckets
    before the watermark it is given come from the materialisation (one row each), later
    ones as their raw rows (a row each); grouped by bucket, both equal the statistics
    computed straight from the raw rows. With the real watermark, grouped, it returns what
    the aggregate's own real-time view returns."""
    t0 = (datetime.now(UTC) - timedelta(hours=30)).replace(minute=0, second=0, microsecond=0)
    t2 = t0 + timedelta(hours=2)
    wm = t0 + timedelta(hours=1)
    rows = _rows("SPLITTEST", t0, 2 * 60)
    assert _ingest(conn, rows, "split-1")[:4] == (120, 120, 0, 0)
    direct = conn.execute("""
        SELECT b, count(*), NULL::text, (array_agg(spot_price ORDER BY ts DESC))[1], (array_agg(futures_price ORDER BY ts DESC))[1],
               (array_agg(spread_rel ORDER BY ts DESC))[1], (array_agg(funding_rate ORDER BY ts DESC))[1],
               NULL::float8, NULL::timestamptz, NULL::int, NULL::float8,
               count(spread_rel), sum(spread_rel), sum(spread_rel ^ 2), min(spread_rel), max(spread_rel),
               sum(tau) FILTER (WHERE spread_rel IS NOT NULL), sum(tau ^ 2) FILTER (WHERE spread_rel IS NOT NULL),
               sum(tau * spread_rel)
          FROM (SELECT r.*, time_bucket('5 minutes', ts) b, extract(epoch FROM ts - time_bucket('5 minutes', ts))::float8 tau
                  FROM watchlist_data.watch_signal_raw r WHERE symbol = 'SPLITTEST') x
         GROUP BY b ORDER BY b""").fetchall()
    assert len(direct) == 24
    conn.execute("CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', %s, %s)", (t0, t2))
    try:
        # below the split one row per bucket (materialised), above it one row per raw row
        per_bucket = conn.execute(
            """SELECT bucket < %(wm)s, count(*), sum(n_rows) FROM watchlist_data.series_agg_rows('gate', 'SPLITTEST', %(a)s, %(b)s, %(wm)s)
                GROUP BY 1 ORDER BY 1""",
            {"a": t0, "b": t2, "wm": wm},
        ).fetchall()
        assert per_bucket == [(False, 60, 60), (True, 12, 60)]
        got = conn.execute(GROUPED.format(wm="%(wm)s"), {"a": t0, "b": t2, "wm": wm}).fetchall()
        assert [g[0] for g in got] == [d[0] for d in direct]
        for g, d in zip(got, direct):
            assert g[1] == d[1] and g[11] == d[11], g[0]
            for gv, dv in zip(g[3:7] + g[12:], d[3:7] + d[12:]):
                if dv is None:
                    assert gv is None, g[0]
                else:
                    assert gv == pytest.approx(dv, rel=1e-12, abs=1e-15), g[0]
        # with the raw rows gone, the buckets before the split still come back (materialised),
        # the ones after it no longer do (they were read from the raw rows)
        conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'SPLITTEST'")
        left = conn.execute(
            "SELECT DISTINCT bucket FROM watchlist_data.series_agg_rows('gate', 'SPLITTEST', %s, %s, %s) ORDER BY bucket",
            (t0, t2, wm),
        ).fetchall()
        assert [r[0] for r in left] == [d[0] for d in direct if d[0] < wm]
        # the real watermark: grouped, the aggregate view's rows
        _ingest(conn, rows, "split-2")
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")  # one snapshot (one watermark) for both reads
        try:
            grouped = conn.execute(
                GROUPED.format(wm="watchlist_data.series_agg_watermark()"), {"a": t0, "b": t2}
            ).fetchall()
            view = conn.execute(
                f"""SELECT {ROWS_COLS} FROM watchlist_data.watchlist_series_agg
                     WHERE exchange = 'gate' AND symbol = 'SPLITTEST' AND bucket >= %(a)s AND bucket < %(b)s ORDER BY bucket""",
                {"a": t0, "b": t2},
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        assert len(view) == 24
        _same_rows(grouped, view, "grouped rows vs the aggregate's view")
    finally:
        conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'SPLITTEST'")
        conn.execute("CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', %s, %s)", (t0, t2))
    assert (
        conn.execute("SELECT count(*) FROM watchlist_data.watchlist_series_agg WHERE symbol = 'SPLITTEST'").fetchone()[
            0
        ]
        == 0
    )
