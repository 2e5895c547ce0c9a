"""CLI commands end to end (click's CliRunner on `watchlist_db.cli.main`): `status` and
`doctor` exit codes on a healthy and a broken database, `trades add` / `trades import`,
`settings set`, `outcomes run`, and `demo` on a small sample. Each test removes what it
committed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from dbwait import paused_jobs
from watchlist_db import config
from watchlist_db.cli import main
from writer_helpers import closed_port_target, q


def _cli(target, args, **kw):
    dsn = [] if target.embedded else ["--dsn", target.conninfo]
    return CliRunner().invoke(main, dsn + args, catch_exceptions=False, **kw)


@pytest.fixture
def own_spool(tmp_path, monkeypatch):
    """`status` reports the writer's default spool: point it at an empty private one."""
    monkeypatch.setenv("WLDB_SPOOL", str(tmp_path / "spool.sqlite"))


# ---------------------------------------------------------------- status / doctor
@pytest.mark.parametrize("command", ["status", "doctor"])
def test_status_is_0_on_a_healthy_database_and_1_with_inconsistent_settings(target, own_spool, command):
    res = _cli(target, [command])
    assert res.exit_code == 0, res.output
    assert "policy consistency: ok" in res.output
    for rel in (
        "watchlist_data.watch_signal_raw",
        "watchlist_data.watchlist_series_agg",
        "watchlist_data.typea_stats_1h",
    ):
        assert rel in res.output
    assert "job_merge_events" in res.output and "TimescaleDB" in res.output
    # break it: a setting no set_setting() would accept (compression before the longest horizon)
    old = q(target, "SELECT value FROM watchlist_data.settings WHERE key = 'raw_compress_after'")[0][0]
    q(target, "UPDATE watchlist_data.settings SET value = '1 hour' WHERE key = 'raw_compress_after'")
    try:
        res = _cli(target, [command])
    finally:
        q(target, "UPDATE watchlist_data.settings SET value = %s WHERE key = 'raw_compress_after'", (old,))
    assert res.exit_code == 1, res.output
    assert "problem: raw_compress_after (01:00:00) must exceed the longest outcome horizon" in res.output


def test_status_is_1_when_the_database_is_unreachable_or_not_installed(target, own_spool):
    res = CliRunner().invoke(main, ["--dsn", closed_port_target().conninfo, "status"])
    assert res.exit_code == 1 and "cannot connect" in res.output
    other = f"wl_empty_{uuid.uuid4().hex[:8]}"
    if target.embedded:
        pytest.skip("the embedded engine has one database")  # declared in conftest's allow-list
    q(target, f"CREATE DATABASE {other}")
    try:
        dsn = config.Target(target.conninfo, False, "x").conninfo
        import psycopg

        empty = psycopg.conninfo.make_conninfo(dsn, dbname=other)
        res = CliRunner().invoke(main, ["--dsn", empty, "status"])
        assert res.exit_code == 1 and "not installed in this database: run `wldb migrate`" in res.output
    finally:
        q(target, f"DROP DATABASE {other}")


def test_status_is_1_when_a_job_last_failed(target, own_spool):
    """A job whose last run failed (as recorded by `wldb jobs run`) turns status red."""
    with config.connect(target) as c:
        (jid,) = c.execute("SELECT job_id FROM watchlist.jobs() WHERE proc_name = 'job_prune_history'").fetchone()
        t = c.execute("SELECT now() + interval '1 second'").fetchone()[0]
        c.execute("SELECT watchlist.record_job_run(%s, %s, %s, 'disk on fire [XX000]')", (jid, t, t))
    try:
        res = _cli(target, ["status"])
    finally:
        q(target, "DELETE FROM watchlist_data.job_run_log WHERE job_id = %s AND started_at = %s", (jid, t))
    assert res.exit_code == 1, res.output
    assert "last error: disk on fire [XX000]" in res.output and "FAILED at" in res.output


# -------------------------------------------------------------------------- trades
def test_trades_add_and_import(target, tmp_path):
    ref = f"clitr-{uuid.uuid4().hex[:8]}"
    try:
        res = _cli(
            target,
            [
                "trades",
                "add",
                "--ref",
                f"{ref}-1",
                "--exchange",
                "binance",
                "--symbol",
                "CLITR",
                "--opened",
                "2033-01-01T00:00:00Z",
                "--closed",
                "2033-01-01T06:00:00Z",
                "--pnl",
                "12.5",
            ],
        )
        assert res.exit_code == 0 and "recorded 1 trade(s)" in res.output, res.output
        assert q(
            target,
            "SELECT holding_hours, pnl, symbol FROM watchlist_data.watchlist_outcome WHERE trade_ref = %s",
            (f"{ref}-1",),
        ) == [(6.0, 12.5, "CLITR")]
        res = _cli(target, ["trades", "add", "--ref", f"{ref}-naive", "--opened", "2033-01-01 00:00:00"])
        assert res.exit_code == 1 and "refused 1" in res.output
        assert "row 1 (" + f"{ref}-naive" + "): opened_at must be an ISO 8601 timestamp with a UTC offset" in res.output

        csv_file = tmp_path / "trades.csv"
        csv_file.write_text(
            "trade_ref,opened_at,closed_at,pnl,labels,notes\n"
            f'{ref}-1,2033-01-01T00:00:00Z,2033-01-01T03:00:00Z,13,"{{""k"": 1}}",corrected\n'
            f"{ref}-2,2033-01-02T00:00:00+08:00,,-4.25,,\n"
            f"{ref}-3,2033-01-02T00:00:00Z,,lots,,\n",
            encoding="utf-8",
        )
        res = _cli(target, ["trades", "import", str(csv_file)])
        assert res.exit_code == 1, res.output
        assert "recorded 2 trade(s), refused 1:" in res.output and f"line 4 ({ref}-3)" in res.output
        assert q(
            target,
            """SELECT trade_ref, opened_at, holding_hours, pnl, labels, notes FROM watchlist_data.watchlist_outcome
                             WHERE trade_ref LIKE %s ORDER BY trade_ref""",
            (f"{ref}-%",),
        ) == [
            (f"{ref}-1", datetime(2033, 1, 1, tzinfo=UTC), 3.0, 13.0, {"k": 1}, "corrected"),
            (f"{ref}-2", datetime(2033, 1, 1, 16, tzinfo=UTC), None, -4.25, {}, None),
        ]
        # re-importing the same file updates by trade_ref, adds nothing
        res = _cli(target, ["trades", "import", str(csv_file)])
        assert q(
            target, "SELECT count(*) FROM watchlist_data.watchlist_outcome WHERE trade_ref LIKE %s", (f"{ref}-%",)
        ) == [(2,)]
        bad_cols = tmp_path / "bad.csv"
        bad_cols.write_text("trade_ref,opened,pnl\nx,2033-01-01T00:00:00Z,1\n", encoding="utf-8")
        res = _cli(target, ["trades", "import", str(bad_cols)])
        assert res.exit_code == 1 and "unknown column(s) opened" in res.output
    finally:
        q(target, "DELETE FROM watchlist_data.watchlist_outcome WHERE trade_ref LIKE %s", (f"{ref}-%",))


# ------------------------------------------------------------------------ settings
def test_settings_set_moves_the_policy_and_refuses_bad_values(target):
    def drop_after():
        return q(
            target,
            """SELECT config ->> 'drop_after' FROM timescaledb_information.jobs
                             WHERE proc_name = 'policy_retention' AND hypertable_name = 'watch_signal_raw'""",
        )[0][0]

    old = q(target, "SELECT value FROM watchlist_data.settings WHERE key = 'raw_retention'")[0][0]
    try:
        res = _cli(target, ["settings", "set", "raw_retention", "40 days"])
        assert res.exit_code == 0, res.output
        assert "raw_retention = 40 days" in res.output
        assert "policy retention watchlist_data.watch_signal_raw: replaced" in res.output
        assert drop_after() == "40 days"
        res = _cli(target, ["settings"])
        assert any(line.split()[:3] == ["raw_retention", "40", "days"] for line in res.output.splitlines())
        res = _cli(target, ["settings", "set", "raw_retention", "1 day"])
        assert res.exit_code == 1 and "inconsistent watchlist-db settings" in res.output
        res = _cli(target, ["settings", "set", "no_such_key", "1"])
        assert res.exit_code == 1 and 'unknown watchlist-db setting "no_such_key"' in res.output
        assert drop_after() == "40 days", "a refused change leaves the policy alone"
    finally:
        res = _cli(target, ["settings", "set", "raw_retention", old])
        assert res.exit_code == 0, res.output
    assert drop_after() == old


# ------------------------------------------------------------------------ outcomes
def test_outcomes_run_labels_a_due_event(target):
    """A confirmed event 7 h ago on a flat spread: `wldb outcomes run` (or the scheduler's
    label job, on a real server) writes every default horizon, pnl = -cost."""
    ex = f"clio{uuid.uuid4().hex[:6]}"
    # the merge job (a real server's) would re-derive the key from its untriggered raw rows
    # and delete the event before it is labelled
    with paused_jobs(target, ("job_merge_events",)):
        with config.connect(target) as c:
            now = c.execute("SELECT date_trunc('minute', now())").fetchone()[0]
            t0 = now - timedelta(hours=7)
            c.execute(
                """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate)
                         SELECT %s + make_interval(mins => k), %s, 'CLIOUT', 'A', false, 0.003, 0.0001
                           FROM generate_series(-5, 370) AS k""",
                (t0, ex),
            )
            c.execute(
                """INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec,
                                                                       n_samples, status, is_open, confirmed_at)
                         VALUES (%s, 'CLIOUT', 'A', %s, %s + interval '2 minutes', 120, 3, 'confirmed', false, %s)""",
                (ex, t0, t0, t0),
            )
        try:
            res = _cli(target, ["outcomes", "run"])
            assert res.exit_code == 0, res.output
            assert "labelled:" in res.output and "mean pnl bps" in res.output
            got = q(
                target,
                """SELECT o.horizon_min, o.covered, o.pnl, o.spread_change, o.funding_change, o.label ->> 'direction'
                                 FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                                WHERE e.exchange = %s ORDER BY 1""",
                (ex,),
            )
            assert got == [(h, True, -8.0, 0.0, 0.0, "short_spread") for h in (30, 60, 180, 360)]
            assert q(
                target,
                """SELECT succeeded FROM watchlist_data.job_run_log
                                 WHERE proc_name = 'job_label_outcomes' ORDER BY id DESC LIMIT 1""",
            ) == [(True,)]
        finally:
            q(target, "DELETE FROM watchlist_data.watch_signal_event WHERE exchange = %s", (ex,))
            q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE exchange = %s", (ex,))


# ---------------------------------------------------------------------------- demo
# a chart matplotlib could not lay out (e.g. a date axis without a tick interval) fails it
@pytest.mark.filterwarnings("error::UserWarning")
def test_demo_on_a_small_sample(target, tmp_path, monkeypatch):
    from watchlist_db import sample

    monkeypatch.setenv("WLDB_SPOOL", str(tmp_path / "demo-spool.sqlite"))
    out = tmp_path / "out"
    pairs = [(p.exchange, p.symbol) for p in sample.pairs()]
    args = ["demo", "--days", "0.1", "--out", str(out)] + ([] if target.embedded else ["--allow-server"])
    try:
        res = _cli(target, args)
        assert res.exit_code == 0, res.output
        n = len(pairs) * 120  # 0.1 day -> 2 whole simulated hours of minutes
        assert (
            f"rows streamed through the hook : {n:,} (written {n:,}, duplicates 0, quarantined 0, dropped 0)"
            in res.output
        )
        assert f"raw rows stored                : {n:,}" in res.output
        assert "watchlist-db demo summary" in res.output
        # two simulated hours are one or two 4-hour periods: below factor_lab_min_periods, nothing ranked
        assert "database factors computed      :" in res.output
        assert "no row has the minimum sample: nothing ranked" in res.output
        assert f"planted signal                 : {sample.PLANTED}" in res.output
        assert "#1 " not in res.output
        assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<table>" in (out / "chart.html").read_text()
        stored = q(
            target,
            """SELECT count(*) FROM watchlist_data.watch_signal_raw
                               WHERE meta ->> 'notes' = 'sample' AND (exchange, symbol) IN (SELECT * FROM unnest(%s::text[], %s::text[]))""",
            ([p[0] for p in pairs], [p[1] for p in pairs]),
        )[0][0]
        assert stored == n
    finally:
        with config.connect(target) as c:
            for ex, sym in pairs:
                c.execute(
                    "DELETE FROM watchlist_data.watch_signal_event WHERE exchange = %s AND symbol = %s", (ex, sym)
                )
                c.execute(
                    "DELETE FROM watchlist_data.watch_signal_raw WHERE exchange = %s AND symbol = %s AND meta ->> 'notes' = 'sample'",
                    (ex, sym),
                )
                c.execute(
                    "DELETE FROM watchlist_data.watchlist_membership WHERE exchange = %s AND symbol = %s", (ex, sym)
                )
                c.execute(
                    "DELETE FROM watchlist_data.watchlist_symbol_ref WHERE exchange = %s AND symbol = %s", (ex, sym)
                )
                c.execute("DELETE FROM watchlist_data.factor_value WHERE exchange = %s AND symbol = %s", (ex, sym))


def test_demo_refuses_a_server_without_allow_server(target):
    if target.embedded:
        pytest.skip("only a configured server is refused")  # declared in conftest's allow-list
    res = _cli(target, ["demo", "--days", "0.1"])
    assert res.exit_code == 1 and "pass --allow-server" in res.output


def test_demo_summary_ranks_only_eligible_rows_and_places_the_planted_factor():
    from watchlist_db import demo, sample

    def row(rank, factor, h, q, discovery, n_periods=18):
        return {
            "rank": rank, "factor": factor, "horizon_min": h, "test": "rank_ic_hac", "hac_t": 5.0, "mean_rank_ic": 0.1,
            "p_value": None if q is None else q / 2, "q_value": q, "discovery": discovery, "n_periods": n_periods, "n_events": 400,
            "eff_events": 200.0, "group_h": None, "trials_in_window": 3,
        }  # fmt: skip

    res = demo.DemoResult(min_periods=8, min_eff_events=30)
    res.leaderboard = [
        row(1, "spread_zscore_12h", 60, 0.001, True),
        row(2, sample.PLANTED_FACTOR, 180, 0.002, True),
        row(None, "db.rv_1h", 30, None, False, n_periods=2),
    ]
    res.top_factors = [r for r in res.leaderboard if r["rank"] is not None]
    text = "\n".join(demo._leaderboard_lines(res))
    assert "#1   " in text and "#2   " in text and "db.rv_1h" not in text
    assert "3 rows tested (3 distinct trials recorded on this window), 2 ranked, 1 below the minimum sample" in text
    assert (
        f"recovered: {sample.PLANTED_FACTOR} best at #2" in text and "ranked above it: spread_zscore_12h 60 min" in text
    )
