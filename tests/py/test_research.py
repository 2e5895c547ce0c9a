"""Factor lab: watchlist.factor_ic_by_period / factor_ic cross-checked against scipy and
numpy on generated data where a factor predicts the spread's move; thin periods skipped
and counted; `wldb ic` (csv, json, table, report) and `wldb export` (CSV, Parquet) carry
the SQL's numbers."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

import factor_data as fd
from watchlist_db import config
from watchlist_db.cli import main

T0 = datetime(2034, 5, 1, tzinfo=UTC)
TOL = 1e-9
METRIC_COL = {"pnl": 4, "spread_change": 5}


def _period(ts: datetime) -> datetime:
    """time_bucket('2 hours', ts): 2-hour buckets aligned on midnight UTC."""
    ts = ts.astimezone(UTC)
    return ts.replace(hour=ts.hour - ts.hour % 2, minute=0, second=0, microsecond=0)


def _build(conn, g: fd.Generated):
    """Insert, merge, label; return confirmed events and covered labels as SQL stored them."""
    fd.insert(conn, g)
    fd.merge_and_label(conn, g)
    events = conn.execute(
        """SELECT id, symbol, entry_ts FROM watchlist_data.watch_signal_event
                              WHERE exchange = %s AND status = 'confirmed'""",
        (g.exchange,),
    ).fetchall()
    labels = conn.execute(
        """SELECT o.event_id, o.horizon_min, o.covered, o.label, o.pnl, o.spread_change
                               FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                              WHERE e.exchange = %s""",
        (g.exchange,),
    ).fetchall()
    return events, labels


def _observations(g, events, labels, metric):
    """(period, factor, horizon) -> [(symbol, x, y)] from the generated rows (factor values
    point in time) and the stored labels (covered only)."""
    ev = {eid: (sym, start) for eid, sym, start in events}
    obs = defaultdict(list)
    for lab in labels:
        eid, h, covered = lab[:3]
        if not covered or eid not in ev:
            continue
        y = lab[METRIC_COL[metric]]
        sym, start = ev[eid]
        for fac, x in g.factor_at(sym, start).items():
            obs[(_period(start), fac, h)].append((sym, x, y))
    return obs


def _fetch(conn, fn, metric, min_events, exchange):
    cur = conn.execute(
        f"SELECT * FROM watchlist.{fn}(%s, %s, %s, '2 hours', %s, NULL, %s)",
        (T0, T0 + timedelta(days=1), metric, min_events, exchange),
    )
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _ntile5(n: int) -> list[int]:
    """PostgreSQL's ntile(5) over n ordered rows: the first n % 5 tiles get one row more."""
    base, extra = divmod(n, 5)
    out = []
    for q in range(5):
        out += [q + 1] * (base + (1 if q < extra else 0))
    return out


def _percent_rank(values: list[float]) -> list[float]:
    n = len(values)
    return [0.0 if n == 1 else sum(1 for w in values if w < v) / (n - 1) for v in values]


@pytest.mark.parametrize("seed,metric", [(11, "pnl"), (12, "spread_change")])
def test_factor_ic_matches_scipy_and_numpy(conn, seed, metric):
    g = fd.generate(seed, f"icx{seed}", T0)
    min_events = 5
    with conn.transaction(force_rollback=True):
        events, labels = _build(conn, g)
        per_rows = _fetch(conn, "factor_ic_by_period", metric, min_events, g.exchange)
        ic_rows = _fetch(conn, "factor_ic", metric, min_events, g.exchange)
    assert len(events) >= 100
    obs = _observations(g, events, labels, metric)

    # per period: Pearson IC and Spearman rank IC, against scipy
    got = {(r["period_start"].astimezone(UTC), r["factor"], r["horizon_min"]): r for r in per_rows}
    assert set(got) == set(obs)
    want = {}
    for key, pts in obs.items():
        x = np.array([p[1] for p in pts])
        y = np.array([p[2] for p in pts])
        usable = len(pts) >= min_events and x.std() > 0 and y.std() > 0
        ic = stats.pearsonr(x, y).statistic if usable else None
        ric = stats.spearmanr(x, y).statistic if usable else None
        want[key] = (len(pts), ic, ric, not usable)
        r = got[key]
        assert r["n_events"] == len(pts), key
        assert r["skipped"] is (not usable), key
        if usable:
            assert r["ic"] == pytest.approx(ic, abs=TOL), key
            assert r["rank_ic"] == pytest.approx(ric, abs=TOL), key
        else:
            assert r["ic"] is None and r["rank_ic"] is None, key
    n_used = sum(1 for w in want.values() if not w[3])
    assert n_used >= 4 * 7 * 4  # 4 full periods x 7 factors x 4 horizons
    assert any(w[3] for w in want.values())  # and the thin period is there, skipped

    # summaries: mean, std (ddof=1), IR, t, hit rate, for IC and rank IC; counts
    assert {(r["factor"], r["horizon_min"]) for r in ic_rows} == {(k[1], k[2]) for k in obs}
    for r in ic_rows:
        keys = sorted(k for k in want if k[1] == r["factor"] and k[2] == r["horizon_min"])
        used = [want[k] for k in keys if not want[k][3]]
        assert r["n_periods"] == len(used)
        assert r["skipped_periods"] == len(keys) - len(used)
        assert r["n_events"] == sum(u[0] for u in used)
        for idx, (m, s, ir, t, hit) in (
            (1, ("mean_ic", "std_ic", "ir", "t_stat", "hit_rate")),
            (2, ("mean_rank_ic", "std_rank_ic", "rank_ir", "rank_t_stat", "rank_hit_rate")),
        ):
            v = np.array([u[idx] for u in used])
            mean, std = v.mean(), v.std(ddof=1)
            assert r[m] == pytest.approx(mean, abs=TOL)
            assert r[s] == pytest.approx(std, abs=TOL)
            assert r[ir] == pytest.approx(mean / std, abs=TOL)
            assert r[t] == pytest.approx(mean / std * math.sqrt(len(v)), abs=TOL)
            assert r[hit] == pytest.approx(np.mean(np.sign(v) == np.sign(mean)), abs=TOL)

    # the factor built to predict (the spread falls, so a short-spread trade gains, when it
    # is high): strong IC at 60 min, the largest |IR| there; factor_ic does not rank (the
    # leaderboard does)
    mom_60 = next(r for r in ic_rows if r["horizon_min"] == 60 and r["factor"] == "spread_momentum_15m")
    assert mom_60["mean_ic"] * (1 if metric == "pnl" else -1) > 0.2
    best_60 = max((r for r in ic_rows if r["horizon_min"] == 60 and r["ir"] is not None), key=lambda r: abs(r["ir"]))
    assert best_60["factor"] == "spread_momentum_15m"
    hs = [r["horizon_min"] for r in ic_rows]
    assert hs == sorted(hs)  # by horizon, then factor (in the database's collation)

    # quintiles (within each used period, pooled) and rank autocorrelation, for the
    # continuous factor (no ties, so ntile's order is determined)
    for h in fd.HORIZONS:
        r = next(r for r in ic_rows if r["horizon_min"] == h and r["factor"] == "spread_momentum_15m")
        pooled = defaultdict(list)
        for k in sorted(want):
            if k[1] == "spread_momentum_15m" and k[2] == h and not want[k][3]:
                pts = sorted(obs[k], key=lambda p: p[1])
                for q, p in zip(_ntile5(len(pts)), pts):
                    pooled[q].append(p[2])
        qmeans = [float(np.mean(pooled[q])) for q in range(1, 6)]
        for q in range(5):
            assert r[f"q{q + 1}"] == pytest.approx(qmeans[q], abs=TOL)
        assert r["top_minus_bottom"] == pytest.approx(qmeans[4] - qmeans[0], abs=TOL)

        ranks = {}
        for k in want:
            if k[1] == "spread_momentum_15m" and k[2] == h:
                by_sym = defaultdict(list)
                for sym, x, _y in obs[k]:
                    by_sym[sym].append(x)
                syms = sorted(by_sym)
                ranks[k[0]] = dict(zip(syms, _percent_rank([float(np.mean(by_sym[s])) for s in syms])))
        acs = []
        for p, cur in ranks.items():
            prev = ranks.get(p - fd.PERIOD)
            if prev is None:
                continue
            common = sorted(set(cur) & set(prev))
            a = np.array([cur[s] for s in common])
            b = np.array([prev[s] for s in common])
            if len(common) >= 2 and a.std() > 0 and b.std() > 0:
                acs.append(np.corrcoef(a, b)[0, 1])
        assert r["rank_autocorr"] == pytest.approx(float(np.mean(acs)), abs=TOL)


def test_a_thin_period_is_skipped_with_null_ics_and_counted(conn):
    g = fd.generate(21, "icthin", T0)
    thin = T0 + timedelta(hours=8)  # [8 h, 10 h): FEW_SYMBOLS events only
    with conn.transaction(force_rollback=True):
        events, _ = _build(conn, g)
        per5 = _fetch(conn, "factor_ic_by_period", "pnl", 5, g.exchange)
        ic5 = _fetch(conn, "factor_ic", "pnl", 5, g.exchange)
        per3 = _fetch(conn, "factor_ic_by_period", "pnl", 3, g.exchange)
        ic3 = _fetch(conn, "factor_ic", "pnl", 3, g.exchange)
    n_thin = sum(1 for _, _, start in events if _period(start) == thin)
    assert n_thin == fd.FEW_SYMBOLS
    thin_rows = [r for r in per5 if r["period_start"] == thin]
    assert len(thin_rows) == 7 * len(fd.HORIZONS)
    for r in thin_rows:
        assert r["skipped"] is True and r["ic"] is None and r["rank_ic"] is None and r["n_events"] == n_thin
    assert all(not r["skipped"] for r in per5 if r["period_start"] != thin)
    total = len(events)
    for r in ic5:
        assert (r["n_periods"], r["skipped_periods"], r["n_events"]) == (4, 1, total - n_thin), r["factor"]
    # with min_events 3 the thin period counts
    assert all(
        not r["skipped"] and r["ic"] is not None
        for r in per3
        if r["period_start"] == thin and r["factor"] == "spread_momentum_15m"
    )
    mom = next(r for r in ic3 if r["factor"] == "spread_momentum_15m" and r["horizon_min"] == 60)
    assert (mom["n_periods"], mom["skipped_periods"], mom["n_events"]) == (5, 0, total)


# ------------------------------------------------------------------ the CLI, committed
@pytest.fixture(scope="module")
def committed(target):
    """Generated data committed under a unique exchange (the CLI opens its own connection,
    so this one is closed before the tests run); removed afterwards."""
    g = fd.generate(31, "pyres" + uuid.uuid4().hex[:8], T0 + timedelta(days=10))
    with config.connect(target) as c:
        fd.insert(c, g)
        fd.merge_and_label(c, g)
    try:
        yield g
    finally:
        with config.connect(target) as c:
            fd.cleanup(c, g.exchange)


def _cli(target, args):
    dsn = [] if target.embedded else ["--dsn", target.conninfo]
    return CliRunner().invoke(main, dsn + args, catch_exceptions=False)


def _range_args(g):
    return ["--from", g.t0.isoformat(), "--to", (g.t0 + timedelta(days=1)).isoformat(), "--exchange", g.exchange]


# a leaderboard run's own bookkeeping: differs between two runs of the same query
RUN_COLUMNS = {"run_id", "trials_in_window", "bonferroni_t", "bonferroni_p"}


def _sql_ic(target, g):
    with config.connect(target) as c:
        cur = c.execute(
            "SELECT * FROM watchlist.factor_leaderboard(%s, %s, 'pnl', '2 hours', 5, NULL, %s)",
            (g.t0, g.t0 + timedelta(days=1), g.exchange),
        )
        cols = [d.name for d in cur.description]
        return cols, [dict(zip(cols, r)) for r in cur.fetchall()]


def test_wldb_ic_csv_and_json_carry_the_sql_numbers(target, committed, tmp_path):
    g = committed
    cols, want = _sql_ic(target, g)
    assert len(want) == 7 * len(fd.HORIZONS)

    res = _cli(target, ["ic", *_range_args(g), "--period", "2 hours", "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0].keys()) == cols and len(rows) == len(want)
    for got, w in zip(rows, want):
        for c in cols:
            if c in RUN_COLUMNS:
                continue
            if w[c] is None:
                assert got[c] == "", c
            elif isinstance(w[c], bool):
                assert got[c] == ("true" if w[c] else "false"), c
            elif isinstance(w[c], str):
                assert got[c] == w[c]
            else:
                assert float(got[c]) == w[c], (w["factor"], w["horizon_min"], c)  # exact: floats round-trip

    out = tmp_path / "ic.json"
    res = _cli(target, ["ic", *_range_args(g), "--period", "2 hours", "--format", "json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert [{c: v for c, v in d.items() if c not in RUN_COLUMNS} for d in data] == [
        {c: w[c] for c in cols if c not in RUN_COLUMNS} for w in want
    ]

    res = _cli(
        target,
        ["ic", *_range_args(g), "--period", "2 hours", "--format", "json", "--horizon", "60", "--horizon", "360"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [{c: v for c, v in d.items() if c not in RUN_COLUMNS} for d in data] == [
        {c: w[c] for c in cols if c not in RUN_COLUMNS} for w in want if w["horizon_min"] in (60, 360)
    ]


@pytest.fixture
def small_minimum(target):
    """The generated day has 5 two-hour periods: lower the leaderboard's minimum sample so
    that it ranks (the defaults, 8 periods and 30 effective events, would rank nothing)."""
    keys = ("factor_lab_min_periods", "factor_lab_min_eff_events")
    with config.connect(target, autocommit=True) as c:
        before = {k: c.execute("SELECT watchlist_data.setting(%s)", (k,)).fetchone()[0] for k in keys}
        c.execute("UPDATE watchlist_data.settings SET value = '4' WHERE key = 'factor_lab_min_periods'")
        c.execute("UPDATE watchlist_data.settings SET value = '10' WHERE key = 'factor_lab_min_eff_events'")
    yield
    with config.connect(target, autocommit=True) as c:
        for k, v in before.items():
            c.execute("UPDATE watchlist_data.settings SET value = %s WHERE key = %s", (v, k))


def test_wldb_ic_table_and_report(target, committed, tmp_path, small_minimum):
    g = committed
    _, want = _sql_ic(target, g)
    assert any(w["rank"] is not None for w in want)
    report = tmp_path / "report.png"
    res = _cli(target, ["ic", *_range_args(g), "--period", "2 hours", "--report", str(report)])
    assert res.exit_code == 0, res.output
    text = res.stdout
    for h in fd.HORIZONS:
        assert f"horizon {h} min" in text
    # each horizon's rows in the leaderboard's order (rank, then the unranked), with its numbers
    for h in fd.HORIZONS:
        section = text.split(f"horizon {h} min")[1].split("horizon ")[0]
        body = list(itertools.takewhile(str.strip, section.splitlines()[3:]))
        names = [line.split()[0] for line in body]
        assert names == [w["factor"] for w in want if w["horizon_min"] == h]
        top = next(w for w in want if w["horizon_min"] == h)
        assert f"{top['mean_rank_ic']:+.4f}" in section and f"{top['n_periods']}/{top['skipped_periods']}" in section
        rank_cells = [line.split()[1] for line in body]
        assert rank_cells == [str(w["rank"]) if w["rank"] is not None else "-" for w in want if w["horizon_min"] == h]
    png = report.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote report" in res.output
    # the event study of the top factor is the report's fourth row: a taller figure
    from watchlist_db import charts

    assert int.from_bytes(png[20:24], "big") == 15 * charts.DPI, "no event-study panel in the report"


def test_wldb_ic_says_how_to_get_labelled_events(target, committed):
    res = _cli(target, ["ic", "--from", "2040-01-01", "--to", "2040-01-02", "--exchange", committed.exchange])
    assert res.exit_code == 1
    assert "no confirmed events" in res.output
    assert "wldb jobs run merge" in res.output and "wldb outcomes run" in res.output
    res = _cli(target, ["ic", *_range_args(committed), "--period", "2 hours", "--horizon", "45"])
    assert res.exit_code == 1 and "no factor IC at horizon(s) 45 min" in res.output and "30, 60, 180, 360" in res.output


def test_wldb_export_csv_and_parquet(target, committed, tmp_path):
    import pyarrow.parquet as pq  # a declared test dependency ([test] extra): no skip

    g = committed
    with config.connect(target) as c:
        n_sql = c.execute(
            "SELECT count(*) FROM watchlist.export_frame(%s, %s, NULL, %s)",
            (g.t0, g.t0 + timedelta(days=1), g.exchange),
        ).fetchone()[0]
        events = c.execute(
            """SELECT id, symbol, entry_ts FROM watchlist_data.watch_signal_event
                               WHERE exchange = %s AND status = 'confirmed'""",
            (g.exchange,),
        ).fetchall()
    assert n_sql == len(events) * len(fd.HORIZONS)
    ev = {eid: (sym, start) for eid, sym, start in events}

    out_csv = tmp_path / "frame.csv"
    res = _cli(target, ["export", *_range_args(g), "--out", str(out_csv)])
    assert res.exit_code == 0, res.output
    assert f"wrote {n_sql} row(s)" in res.output
    with open(out_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n_sql
    assert len({(r["event_id"], r["horizon_min"]) for r in rows}) == n_sql  # one row per event x horizon
    cols = list(rows[0].keys())
    factor_cols = sorted(c for c in cols if c.startswith("factor_"))
    assert factor_cols == sorted("factor_" + f for f in g.factor_at(g.symbols[0], g.t0))
    assert {"label_sign", "label_quantile", "label_direction", "label_entry_px"} <= set(cols)
    assert "label" not in cols and "factors" not in cols
    for r in rows:
        sym, start = ev[int(r["event_id"])]
        for f, v in g.factor_at(sym, start).items():
            assert float(r["factor_" + f]) == pytest.approx(v, abs=1e-15)
        assert r["label_sign"] in ("-1", "0", "1") and 1 <= int(r["label_quantile"]) <= 5

    out_pq = tmp_path / "frame.parquet"
    res = _cli(target, ["export", *_range_args(g), "--out", str(out_pq)])
    assert res.exit_code == 0, res.output
    table = pq.read_table(out_pq)
    assert table.num_rows == n_sql and table.column_names == cols
    assert str(table.schema.field("start_ts").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("factor_spread_momentum_15m").type) == "double"
    assert str(table.schema.field("label_quantile").type) == "int64"
    data = table.to_pylist()
    for r_csv, r_pq in zip(rows, data):
        assert int(r_csv["event_id"]) == r_pq["event_id"] and int(r_csv["horizon_min"]) == r_pq["horizon_min"]
        for c in factor_cols + ["pnl", "spread_change"]:
            assert float(r_csv[c]) == r_pq[c]


def test_wldb_export_without_pyarrow_names_the_extra(target, committed, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    res = _cli(target, ["export", *_range_args(committed), "--out", str(tmp_path / "x.parquet")])
    assert res.exit_code == 1
    assert "watchlist-db[research]" in res.output
    assert not (tmp_path / "x.parquet").exists()


def test_leaderboard_in_a_read_only_transaction_records_no_trial(target, committed):
    """On a hot standby every transaction is read-only: the leaderboard still answers (and
    counts this run among the trials), it just cannot record it."""
    g = committed
    args = (g.t0, g.t0 + timedelta(days=1), g.exchange)
    sql = "SELECT factor, horizon_min, hac_t, p_value, q_value, run_id, trials_in_window FROM watchlist.factor_leaderboard(%s, %s, 'pnl', '2 hours', 5, NULL, %s)"
    with config.connect(target, autocommit=True) as c:
        before = c.execute("SELECT count(*) FROM watchlist_data.factor_trial").fetchone()[0]
        with c.transaction():
            c.execute("SET TRANSACTION READ ONLY")
            ro = c.execute(sql, args).fetchall()
        after = c.execute("SELECT count(*) FROM watchlist_data.factor_trial").fetchone()[0]
        rw = c.execute(sql, args).fetchall()
    assert after == before and ro and all(r[5] is None for r in ro)
    assert all(r[6] >= len(ro) for r in ro)
    assert [r[:5] for r in ro] == [r[:5] for r in rw] and all(r[5] is not None for r in rw)
