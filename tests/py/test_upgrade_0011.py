"""Upgrade path of migration 0011 (the seed's confirmation rule, confirmed_at, entry at confirmation)
on a database that lived under the old rule: migrate a fresh database to the migration set
before 0011 with the old merge and label functions (frozen copies in fixtures/pre_0011),
store events and labels the old way, then apply the current sql/ and re-merge with
`wldb jobs run merge --from`: events change exactly as the new rule says (ids kept), stale
labels go, and the label job writes them again, entered at confirmed_at.

Needs a server that can create a database (WLDB_TEST_DSN); the embedded engine serves one
database only."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from watchlist_db import config, migrate
from watchlist_db.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "pre_0011"
MY_RANGE = re.compile(r"^00(1[1-9])_")  # this change's migrations: 0011-0019
# SQL-language functions are checked against the schema when created: those reading the
# new columns cannot exist in the old schema (they are not needed before the upgrade)
NEEDS_NEW_SCHEMA = ["watchlist.event_factors.sql", "watchlist.export_frame.sql"]


def _old_sql_root(tmp_path: Path) -> Path:
    root = tmp_path / "sql_pre_0011"
    shutil.copytree(config.sql_dir(), root)
    for p in root.glob("*.sql"):
        if MY_RANGE.match(p.name):
            p.unlink()
    for name in NEEDS_NEW_SCHEMA:
        (root / "functions" / name).unlink()
    for p in FIXTURES.glob("*.sql"):
        shutil.copy(p, root / "functions" / p.name)
    return root


@pytest.fixture
def fresh_db(target):
    if target.embedded:
        pytest.skip("the upgrade test needs a server that can create a database (WLDB_TEST_DSN)")
    name = f"wl_upgrade_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(target.conninfo, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    params = psycopg.conninfo.conninfo_to_dict(target.conninfo)
    params["dbname"] = name
    try:
        yield config.Target(psycopg.conninfo.make_conninfo(**params), False, "upgrade test database")
    finally:
        with psycopg.connect(target.conninfo, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pause_jobs(conn, forget_label_state=False):
    """The scheduler would run merge / label jobs between the steps: this test runs them itself.
    `wldb migrate` schedules them, so the scheduler may have started one before the pause:
    wait until none runs. The old label job records p_now = now() in job_state and then
    skips events older than that reach (ten days back, where this test plants them), so
    the first phase forgets that state."""
    conn.execute("""SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs
                     WHERE proc_schema = 'watchlist_data'""")
    deadline = time.monotonic() + 120
    while conn.execute("""SELECT count(*) FROM timescaledb_information.job_stats AS s
                            JOIN timescaledb_information.jobs AS j USING (job_id)
                           WHERE j.proc_schema = 'watchlist_data' AND s.job_status = 'Running'""").fetchone()[0]:
        assert time.monotonic() < deadline, "a scheduled job still runs two minutes after the pause"
        time.sleep(0.2)
    if forget_label_state:
        conn.execute("DELETE FROM watchlist_data.job_state WHERE job = 'label_outcomes'")


T = (datetime.now(UTC) - timedelta(days=10)).replace(second=0, microsecond=0)
# symbol -> triggered minutes (rows every minute from T-2 to T+40, spread 0.0030 - 0.0001 k)
PATTERNS = {"UBLIP": (0, 4), "ULATE": (0, 3, 4), "UPAIR": (0, 1), "USHORT": (0,)}


def _events(conn, old=False):
    rows = conn.execute(f"""SELECT symbol, id, start_ts, end_ts, n_samples, status, {"NULL" if old else "confirmed_at"}, is_open
                             FROM watchlist_data.watch_signal_event WHERE exchange = 'upg' ORDER BY symbol""").fetchall()
    return {r[0]: r[1:] for r in rows}


def _labels(conn, old=False):
    return conn.execute(f"""SELECT e.symbol, o.horizon_min, {"NULL" if old else "o.entry_ts"}, (o.label ->> 'entry_px')::float8, o.pnl
                             FROM watchlist_data.future_outcome o JOIN watchlist_data.watch_signal_event e ON e.id = o.event_id
                            WHERE e.exchange = 'upg' ORDER BY 1, 2""").fetchall()


def test_upgrade_re_merges_events_and_relabels(fresh_db, tmp_path):
    m = lambda k: T + timedelta(minutes=k)  # noqa: E731
    migrate.migrate(fresh_db, sql_root=_old_sql_root(tmp_path), echo=lambda *_: None)
    with config.connect(fresh_db, autocommit=True) as c:
        _pause_jobs(c, forget_label_state=True)
        assert c.execute("SELECT to_regclass('watchlist_data.watch_signal_event') IS NOT NULL").fetchone()[0]
        assert not c.execute("""SELECT count(*) FROM pg_attribute WHERE attrelid = 'watchlist_data.watch_signal_event'::regclass
                                   AND attname = 'confirmed_at'""").fetchone()[0]
        c.execute("UPDATE watchlist_data.settings SET value = '{10}' WHERE key = 'outcome_horizons_min'")
        c.execute(
            """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, ingested_at)
                     SELECT %(t)s::timestamptz + make_interval(mins => k), 'upg', p.symbol, 'A', k = ANY (p.trig),
                            0.0030 - 0.0001 * k, %(t)s::timestamptz + interval '1 hour'
                       FROM (SELECT * FROM jsonb_to_recordset(%(p)s::jsonb) AS x(symbol text, trig int[])) AS p,
                            generate_series(-2, 40) AS k""",
            {"t": T, "p": psycopg.types.json.Jsonb([{"symbol": s, "trig": list(v)} for s, v in PATTERNS.items()])},
        )
        # the old rule, the old labels (entered at start_ts)
        c.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (m(-60), m(60)))
        c.execute("SELECT * FROM watchlist.label_outcomes_incremental(%s)", (T + timedelta(days=5),))
        before = {s: (e[0], e[4]) for s, e in _events(c, old=True).items()}
        assert {s: st for s, (_, st) in before.items()} == {
            "UBLIP": "confirmed",
            "ULATE": "confirmed",
            "UPAIR": "confirmed",
            "USHORT": "dropped",
        }, "the old rule confirms blip / quiet / blip"
        assert [(r[0], r[3]) for r in _labels(c, old=True)] == [
            ("UBLIP", 0.0030),
            ("ULATE", 0.0030),
            ("UPAIR", 0.0030),
        ], "old labels entered at the event start"

    report = migrate.migrate(fresh_db, echo=lambda *_: None)
    assert "0011_event_confirmed_at.sql" in report.applied
    with config.connect(fresh_db, autocommit=True) as c:
        _pause_jobs(c)
        legacy = _events(c)
        assert {s: e[5] for s, e in legacy.items()} == dict.fromkeys(PATTERNS), (
            "stored events carry no confirmed_at yet"
        )
        assert (
            c.execute(
                """SELECT count(*) FROM watchlist.event_factors(%s, %s) WHERE exchange = 'upg'""", (m(-60), m(60))
            ).fetchone()[0]
            == 0
        ), "no entry, so no research use, until re-merged"

    res = CliRunner().invoke(
        main, ["--dsn", fresh_db.conninfo, "jobs", "run", "merge", "--from", m(-60).isoformat()], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    assert re.search(r"merged: 4 keys, 172 samples read, 0 inserted, 4 updated, 0 deleted", res.output), res.output

    with config.connect(fresh_db, autocommit=True) as c:
        after = _events(c)
        assert after == {
            "UBLIP": (before["UBLIP"][0], m(0), m(4), 2, "dropped", None, False),
            "ULATE": (before["ULATE"][0], m(0), m(4), 3, "confirmed", m(4), False),
            "UPAIR": (before["UPAIR"][0], m(0), m(1), 2, "confirmed", m(1), False),
            "USHORT": (before["USHORT"][0], m(0), m(0), 1, "dropped", None, False),
        }
        assert _labels(c) == [], "every old label was stale (entered at the start, or the event is no longer confirmed)"
        # the label job's pending scan reaches these old events through their updated_at
        # (their entries are older than its previous run's reach)
        c.execute("SELECT * FROM watchlist.label_outcomes_incremental(now())")
        assert _labels(c) == [
            ("ULATE", 10, m(4), 0.0026, pytest.approx(10000 * 0.0010 - 8)),
            ("UPAIR", 10, m(1), 0.0029, pytest.approx(10000 * 0.0010 - 8)),
        ]
        res2 = CliRunner().invoke(
            main,
            ["--dsn", fresh_db.conninfo, "jobs", "run", "merge", "--from", m(-60).isoformat()],
            catch_exceptions=False,
        )
        assert "0 inserted, 0 updated, 0 deleted" in res2.output, "re-merging again changes nothing"
        assert len(_labels(c)) == 2
