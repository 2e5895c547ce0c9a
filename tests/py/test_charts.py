"""The read API behind the chart (watchlist.series gap-filling and markers) and `wldb chart`
(PNG of the expected size, HTML embedding it)."""

from __future__ import annotations

import base64
import re
import struct
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

import factor_data as fd
from watchlist_db import charts, config, event_study_chart
from watchlist_db.cli import main

T0 = datetime(2034, 7, 1, tzinfo=UTC)
HOLE = range(60, 90)  # minutes without samples: buckets 01:00 .. 01:25
TRIGGERED = range(30, 33)  # one event: 00:30 .. 00:32


def _rows(exchange: str, symbol: str, minutes: int = 180) -> list[dict]:
    out = []
    for m in range(minutes):
        if m in HOLE:
            continue
        out.append(
            {
                "ts": (T0 + timedelta(minutes=m)).isoformat(),
                "exchange": exchange,
                "symbol": symbol,
                "signal_type": "A",
                "triggered": m in TRIGGERED,
                "spread_rel": 0.002 + 0.00001 * m,
                "spot_price": 50.0 + m / 10,
                "futures_price": 50.1 + m / 10,
            }
        )
    return out


def _insert(conn, rows):
    conn.execute(
        """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered,
                           spread_rel, spot_price, futures_price)
                    SELECT ts, exchange, symbol, signal_type, triggered, spread_rel, spot_price, futures_price
                      FROM jsonb_to_recordset(%s) AS x(ts timestamptz, exchange text, symbol text, signal_type text,
                           triggered boolean, spread_rel float8, spot_price float8, futures_price float8)""",
        (Jsonb(rows),),
    )


def test_series_gap_fills_with_the_last_value_and_marks_the_event(conn):
    now = T0 + timedelta(hours=2, minutes=59)
    with conn.transaction(force_rollback=True):
        _insert(conn, _rows("chgap", "GAPTEST"))
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (T0, now))
        ev = conn.execute("""SELECT id, start_ts, end_ts, status FROM watchlist_data.watch_signal_event
                              WHERE exchange = 'chgap'""").fetchall()
        cur = conn.execute("SELECT * FROM watchlist.series('chgap', 'GAPTEST', 3, %s)", (now,))
        cols = [c.name for c in cur.description]
        series = [dict(zip(cols, r)) for r in cur.fetchall()]
    assert len(ev) == 1 and ev[0][1] == T0 + timedelta(minutes=30) and ev[0][3] == "confirmed"
    assert len(series) == 36 and series[0]["ts"] == T0 and series[-1]["ts"] == T0 + timedelta(minutes=175)
    by_ts = {r["ts"]: r for r in series}
    last_before_hole = 0.002 + 0.00001 * 59
    filled = [r for r in series if r["filled"]]
    assert [r["ts"] for r in filled] == [T0 + timedelta(minutes=m) for m in range(60, 90, 5)]
    for r in filled:  # locf: the bucket before the hole, carried
        assert r["spread_rel"] == pytest.approx(last_before_hole, abs=1e-15)
        assert r["spot_price"] == pytest.approx(50.0 + 5.9) and r["futures_price"] == pytest.approx(50.1 + 5.9)
    for r in series:
        if not r["filled"]:  # a real bucket: its last sample
            m = int((r["ts"] - T0).total_seconds() // 60) + 4
            assert r["spread_rel"] == pytest.approx(0.002 + 0.00001 * m, abs=1e-15)
    after = by_ts[T0 + timedelta(minutes=90)]
    assert not after["filled"] and after["spread_rel"] == pytest.approx(0.002 + 0.00001 * 94, abs=1e-15)
    # midline: the samples of the last 15 minutes (3 buckets, a filled one adds none)
    mid_at = T0 + timedelta(minutes=95)
    samples = [0.002 + 0.00001 * m for m in range(85, 100) if m not in HOLE]
    assert by_ts[mid_at]["midline_15m"] == pytest.approx(sum(samples) / len(samples), abs=1e-15)
    every = [0.002 + 0.00001 * m for m in range(180) if m not in HOLE]
    assert all(r["baseline"] == pytest.approx(sum(every) / len(every), abs=1e-15) for r in series)
    # markers: the event opens in the 00:30 bucket and closes (last triggered sample) at 00:32
    mk = by_ts[T0 + timedelta(minutes=30)]["markers"]
    kinds = {m["kind"]: m for m in mk}
    assert kinds["event_open"]["event_id"] == ev[0][0] and kinds["event_open"]["status"] == "confirmed"
    assert datetime.fromisoformat(kinds["event_open"]["at"]) == T0 + timedelta(minutes=30)
    assert datetime.fromisoformat(kinds["event_close"]["at"]) == T0 + timedelta(minutes=32)
    assert sum(len(r["markers"] or []) for r in series) == 2


@pytest.fixture(scope="module")
def chart_data(target):
    """One symbol's generated data (prices, events, funding times) committed under a
    unique exchange for the CLI, plus a symbol with a hole; removed afterwards."""
    g = fd.generate(41, "pychart" + uuid.uuid4().hex[:8], T0 + timedelta(days=3), n_symbols=1, prices=True)
    with config.connect(target) as c:
        fd.insert(c, g, membership=False)
        _insert(c, _rows(g.exchange, "GAPTEST"))
        c.execute("SELECT * FROM watchlist.merge_events(%s, %s, %s)", (T0, g.now, g.now))
    try:
        yield g
    finally:
        with config.connect(target) as c:
            fd.cleanup(c, g.exchange)


def _cli(target, args):
    dsn = [] if target.embedded else ["--dsn", target.conninfo]
    return CliRunner().invoke(main, dsn + args, catch_exceptions=False)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("which", ["generated", "gap"])
def test_wldb_chart_writes_a_png_and_an_html_page(target, chart_data, tmp_path, which):
    import matplotlib.image as mpimg

    g = chart_data
    symbol, now = (
        (g.symbols[0], g.t0 + timedelta(hours=10)) if which == "generated" else ("GAPTEST", T0 + timedelta(hours=3))
    )
    png, page = tmp_path / "c.png", tmp_path / "c.html"
    res = _cli(
        target, ["chart", g.exchange, symbol.lower(), "--now", now.isoformat(), "--out", str(png), "--html", str(page)]
    )
    assert res.exit_code == 0, res.output
    assert f"wrote {png}" in res.output and f"wrote {page}" in res.output
    data = png.read_bytes()
    assert _png_size(data) == charts.CHART_SIZE_PX == (1200, 750)
    img = mpimg.imread(str(png))
    assert img.shape[:2] == (750, 1200)
    html = page.read_text()
    m = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m and base64.b64decode(m.group(1)) == data
    assert "<table>" in html and "latest spread" in html and "event_open" in html
    # the 12 h mean of the page, read back from the HTML, against the raw rows of the window
    # (5-minute buckets: the one holding `now` included, 144 of them)
    if which == "generated":
        spreads = [r["spread_rel"] for r in g.rows[symbol] if r["ts"] < now + timedelta(minutes=5)]
    else:
        spreads = [
            r["spread_rel"]
            for r in _rows(g.exchange, "GAPTEST")
            if datetime.fromisoformat(r["ts"]) < now + timedelta(minutes=5)
        ]
    mean = sum(spreads) / len(spreads)
    m = re.search(r"<th>mean 12 h</th><td>([-0-9.]+) bps \(([-0-9.e]+)\)</td>", html)
    assert m, "the metrics table shows the 12 h mean in bps and as a fraction"
    assert float(m.group(1)) == pytest.approx(mean * 1e4, abs=0.0006)
    assert float(m.group(2)) == pytest.approx(mean, rel=1e-5)


def test_wldb_chart_html_only_and_unknown_symbol(target, chart_data, tmp_path):
    g = chart_data
    page = tmp_path / "only.html"
    res = _cli(
        target,
        [
            "chart",
            g.exchange,
            g.symbols[0],
            "--now",
            (g.t0 + timedelta(hours=6)).isoformat(),
            "--hours",
            "4",
            "--html",
            str(page),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "data:image/png;base64," in page.read_text() and not list(tmp_path.glob("*.png"))
    res = _cli(target, ["chart", g.exchange, "NOSUCH", "--now", g.t0.isoformat(), "--out", str(tmp_path / "x.png")])
    assert res.exit_code == 1 and "no samples" in res.output


def _study_rows() -> list[dict]:
    """event_study-shaped rows: quintiles 0 (all), 1, 5 and None (no history yet), minutes
    -60..30, with carried minutes at 10..12."""
    rows = []
    for q in (0, 1, 5, None):
        for m in range(-60, 31):
            conv = 0.1 * m * (1 if q != 1 else -1)
            carry = 0.02 * max(m, 0)
            cost = -8.0 if m >= 0 else 0.0
            bench = -0.05 * m
            pnl = conv + carry + cost - bench
            rows.append(
                {
                    "quintile": q,
                    "minute": m,
                    "n_events": 40 if q == 0 else 8,
                    "n_carried": 3 if 10 <= m <= 12 else 0,
                    "n_clusters": 5,
                    "mean_pnl": pnl,
                    "ci_low": pnl - 1.5,
                    "ci_high": pnl + 1.5,
                    "mean_convergence": conv,
                    "mean_carry": carry,
                    "mean_cost": cost,
                    "mean_bench": bench,
                }
            )
    return rows


def test_event_study_panels_draw_the_rows():
    """draw_event_study: the quintile paths over the pre-window and the horizon, and the split
    of every event's pnl (convergence + carry + cost), as the rows say."""
    plt = charts._plt()
    rows = _study_rows()
    fig = plt.figure(figsize=(12, 4), dpi=charts.DPI)
    try:
        axp, axs = event_study_chart.draw_event_study(fig, fig.add_gridspec(1, 1)[0, 0], rows, "spread_rel")
        paths = {ln.get_label(): ln for ln in axp.lines if ln.get_label().startswith("q")}
        assert sorted(paths) == ["q1", "q5"], "quintiles 1..5 only: not 0 (all) nor None (no history)"
        q1 = sorted((r for r in rows if r["quintile"] == 1), key=lambda r: r["minute"])
        assert list(paths["q1"].get_xdata()) == list(range(-60, 31))
        assert list(paths["q1"].get_ydata()) == pytest.approx([r["mean_pnl"] for r in q1])
        assert len(axp.collections) >= 2, "a band per quintile"
        split = {ln.get_label(): list(ln.get_ydata()) for ln in axs.lines if not ln.get_label().startswith("_")}
        assert set(split) == {"convergence", "carry (funding)", "cost", "pnl"}
        q0 = sorted((r for r in rows if r["quintile"] == 0), key=lambda r: r["minute"])
        assert split["pnl"] == pytest.approx([r["mean_pnl"] + r["mean_bench"] for r in q0])
        assert split["carry (funding)"] == pytest.approx([r["mean_carry"] for r in q0])
        assert split["cost"][:60] == [0.0] * 60 and split["cost"][60] == -8.0, "no cost before the entry"
        carried = axs.get_shared_x_axes().get_siblings(axs)
        bars = [p.get_height() for ax in carried if ax is not axs for p in ax.patches]
        assert sum(bars) == 9, "the carried minutes drawn"
        assert "known at entry" in axp.get_title(loc="left") and "clustered" in axp.get_title(loc="left")
        spans = [p for p in axp.patches if p.get_label() == "before entry"]
        assert len(spans) == 1 and spans[0].get_x() == -60, "the pre-event window is shaded from -60"
        buf = charts.io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        plt.close(fig)
