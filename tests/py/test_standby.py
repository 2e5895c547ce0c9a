"""A streaming-replication hot standby serves the read API with the primary's results.

A private primary (the machine's PostgreSQL with TimescaleDB preloaded, wal_level =
replica) is migrated and loaded with a deterministic fixture: 1-minute rows of a few keys
with triggered minutes, merged events, labelled outcomes, database factors, refreshed
continuous aggregates and a compressed chunk. `pg_basebackup -R` with the same binaries
copies it into a hot standby; more rows, events, labels and factors are then written on the
primary, and once the standby has replayed them, watchlist.series / metrics /
watchlist_list / factor_ic / export_frame (and the reader hook) return exactly the
primary's rows there, read as a wl_reader login; writes fail as read-only.

Real-server suite only (WLDB_TEST_DSN): the embedded engine has no replication."""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import factor_data as fd
from pgserver import PrivateServer, _as_postgres, timescaledb_bindir, workdir
from watchlist_db import config, migrate
from watchlist_db.reader import Reader

EMBEDDED_REASON = "the hot-standby test needs a real server (WLDB_TEST_DSN): the embedded engine has no replication"
READER_LOGIN = "wl_standby_app"  # a login of the app's reader, member of wl_reader (trust auth: no password)

# The test compares exact float values, and a float sum depends on the order its rows come
# in, i.e. on the plan. So both servers plan without parallel workers (a parallel aggregate's
# order varies from run to run), and the primary's statistics change only by the fixture's
# own VACUUM ANALYZE, replayed before anything is read: an autoanalyze on the primary that the
# standby has not replayed yet changes the primary's plans only (seen once in a full-suite
# run: watchlist_list's mean_12h differing in the last digit; the first ANALYZE after the
# load changes that result on the primary alone too), a difference of timing, not replication.
SETTINGS = {"max_parallel_workers_per_gather": "0", "autovacuum": "off", "timescaledb.telemetry_level": "off"}


def _t0() -> datetime:
    """The fixture's first minute: yesterday's midnight minus 2 days minus 8 hours, so its
    970 minutes straddle a day boundary (the raw chunk interval): the older chunk is
    compressed, the newer one stays a row store."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=2, hours=8)


def _wait_replayed(primary: str, standby: str, timeout_s: float = 120) -> str:
    """Wait until the standby has replayed everything the primary has written so far."""
    with psycopg.connect(primary, autocommit=True) as p:
        lsn = p.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(standby, autocommit=True) as s:
        while True:
            done, at = s.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn, pg_last_wal_replay_lsn()::text", (lsn,)
            ).fetchone()
            if done:
                return lsn
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby replayed up to {at}, not the primary's {lsn}, in {timeout_s} s")
            time.sleep(0.2)


def _load(conn, g: fd.Generated) -> None:
    """Rows, events, labels and factors of one generated set, then the continuous aggregates
    materialised up to t0 + 12 h: the series' last hours come from the raw rows (real-time
    aggregation), the rest from the materialisation."""
    fd.insert(conn, g)
    fd.merge_and_label(conn, g)
    conn.execute("SELECT * FROM watchlist.compute_factors(%s, %s)", (g.t0 - timedelta(minutes=5), g.now))
    for cagg in ("watchlist_series_agg", "typea_stats_1h"):
        conn.execute(
            f"CALL refresh_continuous_aggregate('watchlist_data.{cagg}', %s, %s)",
            (g.t0 - timedelta(hours=1), g.t0 + timedelta(hours=12)),
        )
    conn.execute("VACUUM ANALYZE")  # the statistics both servers plan with (autovacuum is off)


@pytest.fixture(scope="module")
def servers():
    if not os.environ.get("WLDB_TEST_DSN"):
        pytest.skip(EMBEDDED_REASON)
    bindir = timescaledb_bindir()
    if bindir is None:
        pytest.fail("the real-server suite needs the machine's PostgreSQL with TimescaleDB for the standby test")
    work = workdir("wldb-standby-")
    made: list[PrivateServer] = []
    try:
        primary = PrivateServer(
            bindir, work / "primary", settings={**SETTINGS, "wal_level": "replica", "max_wal_senders": "4"}
        ).start()
        made.append(primary)
        with (primary.data / "pg_hba.conf").open("a") as f:
            f.write("host replication postgres 127.0.0.1/32 trust\n")
        migrate.migrate(config.Target(primary.conninfo, False, "standby test primary"), echo=lambda *_: None)
        t0 = _t0()
        g1 = fd.generate(61, "sbyone", t0, n_symbols=6, prices=True)
        with psycopg.connect(primary.conninfo, autocommit=True) as c:
            c.execute("SELECT pg_reload_conf()")
            # the primary's jobs (the scheduler starts them as soon as migrate adds them) stay
            # still while results are compared: a job run between the two reads would be a
            # difference of timing, not of replication
            c.execute("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs")
            deadline = time.monotonic() + 60
            while c.execute(r"SELECT count(*) FROM pg_stat_activity WHERE application_name ~ '\[[0-9]+\]$'").fetchone()[
                0
            ]:
                assert time.monotonic() < deadline, "the primary's running jobs finished"
                time.sleep(0.1)
            c.execute(f"CREATE ROLE {READER_LOGIN} LOGIN IN ROLE wl_reader")
            _load(c, g1)
            boundary = t0 + timedelta(hours=8)  # the day boundary inside the fixture
            compressed = c.execute(
                """SELECT count(compress_chunk(ch, if_not_compressed => true))
                     FROM show_chunks('watchlist_data.watch_signal_raw', older_than => %s::timestamptz) AS ch""",
                (boundary,),
            ).fetchone()[0]
            assert compressed >= 1, "an old raw chunk is compressed before the base backup"
            c.execute("VACUUM ANALYZE")

        standby = PrivateServer(bindir, work / "standby", settings={**SETTINGS, "hot_standby": "on"})
        made.append(standby)
        _as_postgres(
            [
                str(bindir / "pg_basebackup"),
                "-D",
                str(standby.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
            ]
        )
        assert (standby.data / "standby.signal").exists(), "pg_basebackup -R wrote standby.signal"
        # -R wrote primary_conninfo into postgresql.auto.conf, which PrivateServer rewrites
        # with its own settings: carry the line over
        m = re.search(r"^primary_conninfo = (.*)$", (standby.data / "postgresql.auto.conf").read_text(), re.M)
        assert m, "pg_basebackup -R wrote primary_conninfo"
        standby.settings["primary_conninfo"] = m.group(1)
        standby.start()
        _wait_replayed(primary.conninfo, standby.conninfo)

        # written on the primary after the base backup: reaches the standby by streaming only
        g2 = fd.generate(62, "sbytwo", t0, n_symbols=6, prices=True)
        with psycopg.connect(primary.conninfo, autocommit=True) as c:
            _load(c, g2)
        _wait_replayed(primary.conninfo, standby.conninfo)
        yield primary, standby, g1, g2
    finally:
        for s in reversed(made):
            s.destroy()
        shutil.rmtree(work, ignore_errors=True)


def _reader(server: PrivateServer) -> str:
    return server.conninfo.replace("user=postgres", f"user={READER_LOGIN}")


def _both(primary, standby, sql, params=(), *, as_reader=False):
    """The rows of one query on the primary and on the standby."""
    out = []
    for s in (primary, standby):
        with psycopg.connect(_reader(s) if as_reader else s.conninfo, autocommit=True) as c:
            out.append(c.execute(sql, params).fetchall())
    return out


def test_standby_is_a_read_only_replica(servers):
    primary, standby, _g1, _g2 = servers
    with psycopg.connect(standby.conninfo, autocommit=True) as c:
        assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        assert c.execute("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as err:
            c.execute("SELECT * FROM watchlist.ingest_raw('[]'::jsonb, 'standby')")
        assert err.value.sqlstate == "25006"
    with psycopg.connect(primary.conninfo, autocommit=True) as c:
        assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        assert c.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").fetchone()[0] == 1


def test_standby_holds_compressed_chunks_and_post_backup_rows(servers):
    primary, standby, g1, g2 = servers
    sql = """SELECT r.exchange, count(*), min(r.ts), max(r.ts)
               FROM watchlist_data.watch_signal_raw AS r WHERE r.exchange IN (%s, %s) GROUP BY 1 ORDER BY 1"""
    p, s = _both(primary, standby, sql, (g1.exchange, g2.exchange))
    assert p == s
    assert {r[0]: r[1] for r in s} == {g.exchange: len(g.symbols) * len(g.rows[g.symbols[0]]) for g in (g1, g2)}
    p, s = _both(
        primary,
        standby,
        """SELECT count(*) FROM timescaledb_information.chunks
            WHERE hypertable_name = 'watch_signal_raw' AND is_compressed""",
    )
    assert p == s and s[0][0] >= 1, "the standby reads a compressed chunk"
    # the series' window holds both materialised buckets and real-time ones (from raw rows)
    p, s = _both(
        primary,
        standby,
        """SELECT _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(a.mat_hypertable_id))
             FROM _timescaledb_catalog.continuous_agg AS a WHERE a.user_view_name = 'watchlist_series_agg'""",
    )
    assert p == s and g1.now - timedelta(hours=12) < s[0][0] < g1.now, s


def test_series_and_metrics_equal_on_standby(servers):
    primary, standby, g1, g2 = servers
    now = g1.now
    seen = 0
    for g in (g1, g2):
        for sym in g.symbols:
            for as_reader in (False, True):
                p, s = _both(
                    primary,
                    standby,
                    "SELECT * FROM watchlist.series(%s, %s, 12, %s)",
                    (g.exchange, sym, now),
                    as_reader=as_reader,
                )
                assert p == s, f"series({g.exchange}, {sym}) differs on the standby"
                assert len(s) == 144 and any(not row[7] for row in s), "12 h of buckets, some with samples"
                p, s = _both(
                    primary,
                    standby,
                    "SELECT * FROM watchlist.metrics(%s, %s, %s)",
                    (g.exchange, sym, now),
                    as_reader=as_reader,
                )
                assert p == s, f"metrics({g.exchange}, {sym}) differs on the standby"
                assert len(s) == 1 and s[0][-1] > 0, "metrics over samples"
                seen += 1
    assert seen == 2 * 2 * 6


def test_watchlist_list_equal_on_standby(servers):
    primary, standby, g1, g2 = servers
    p, s = _both(primary, standby, "SELECT * FROM watchlist.watchlist_list(%s)", (g1.now,), as_reader=True)
    assert p == s
    assert sorted((r[0], r[1]) for r in s) == sorted((g.exchange, sym) for g in (g1, g2) for sym in g.symbols)
    assert all(r[-9] > 0 for r in s), "every member has samples in the last 12 h"


def test_factor_ic_and_export_equal_on_standby(servers):
    primary, standby, g1, g2 = servers
    frm, to = g1.t0, g1.now
    for exchange in (g1.exchange, g2.exchange, None):
        p, s = _both(
            primary,
            standby,
            "SELECT * FROM watchlist.factor_ic(%s, %s, 'pnl', '2 hours', 5, NULL, %s) ORDER BY 1, 2",
            (frm, to, exchange),
            as_reader=True,
        )
        assert p == s, f"factor_ic({exchange}) differs on the standby"
        assert len(s) > 0 and any(r[2] > 0 for r in s), "ICs over used periods"
        assert {r[0] for r in s} >= {"spread_momentum_15m", "meta.noise"}
    p, s = _both(primary, standby, "SELECT * FROM watchlist.export_frame(%s, %s)", (frm, to), as_reader=True)
    assert p == s
    by_exchange = {ex: sum(1 for r in s if r[1] == ex) for ex in (g1.exchange, g2.exchange)}
    assert all(n > 0 for n in by_exchange.values()), by_exchange
    assert any(r[9] for r in s) and any(k.startswith("db.") for r in s for k in (r[16] or {})), (
        "covered outcomes and database factors in the frame"
    )


def test_reader_hook_equal_on_standby(servers):
    primary, standby, g1, g2 = servers
    out = []
    for srv in (primary, standby):
        with Reader(_reader(srv)) as r:
            out.append(
                (
                    r.watchlist(now=g1.now),
                    r.metrics(g2.exchange, g2.symbols[0], now=g1.now),
                    r.series(g2.exchange, g2.symbols[0], now=g1.now),
                    r.series(g1.exchange, g1.symbols[0], now=g1.now, resolution="1m"),
                )
            )
    assert out[0] == out[1]
    assert out[1][0]["count"] == len(g1.symbols) + len(g2.symbols)


def test_every_read_function_works_on_standby(servers):
    """The rest of wl_reader's API on the standby, equal to the primary; the list must cover
    every function granted to wl_reader, so a new read function is checked here too."""
    primary, standby, g1, g2 = servers
    f, t = g1.t0, g1.now
    calls = {
        "event_factors": ("SELECT * FROM watchlist.event_factors(%s, %s)", (f, t)),
        "event_study": ("SELECT * FROM watchlist.event_study(%s, %s, 'spread_momentum_15m')", (f, t)),
        "export_frame": ("SELECT * FROM watchlist.export_frame(%s, %s, 'A', %s)", (f, t, g2.exchange)),
        "factor_catalog": ("SELECT * FROM watchlist.factor_catalog(%s, %s) ORDER BY 1", (f, t)),
        "factor_ic": ("SELECT * FROM watchlist.factor_ic(%s, %s, 'spread_change', '4 hours', 3) ORDER BY 1, 2", (f, t)),
        "factor_ic_by_period": ("SELECT * FROM watchlist.factor_ic_by_period(%s, %s, 'pnl', '2 hours', 5)", (f, t)),
        # the run's bookkeeping (run id, trials recorded, Bonferroni) is the primary's alone: the
        # standby records no trial (read-only)
        "factor_leaderboard": (
            "SELECT rank, factor, horizon_min, test, n_periods, n_events, eff_events, mean_rank_ic, hac_t, df, kappa, "
            "p_value, ci_lo, ci_hi, group_h, eligible, q_value, q1, q1_se, spread, spread_t "
            "FROM watchlist.factor_leaderboard(%s, %s, 'pnl', '1 hour', 5) ORDER BY factor, horizon_min",
            (f, t),
        ),
        "factor_leaderboard_by_delay": (
            "SELECT delay_min, rank, factor, horizon_min, eligible, n_periods, n_events, eff_events, mean_rank_ic, "
            "ci_lo, ci_hi, hac_t, p_value, q_value, spread, spread_t, rank_ic_change "
            "FROM watchlist.factor_leaderboard_by_delay(%s, %s, '{0,2}', '1 hour', 5) "
            "ORDER BY delay_min, factor, horizon_min",
            (f, t),
        ),
        "factor_pbo": ("SELECT * FROM watchlist.factor_pbo(%s, %s, 4, 'pnl', '1 hour', 5)", (f, t)),
        "factor_walk_forward": (
            "SELECT * FROM watchlist.factor_walk_forward(%s, %s, 3, 'pnl', '1 hour', 5) "
            "ORDER BY horizon_min, fold NULLS FIRST, factor",
            (f, t),
        ),
        "job_health": ("SELECT * FROM watchlist.job_health(%s)", (t,)),
        "jobs": ("SELECT * FROM watchlist.jobs(%s)", (t,)),
        "login_problems": ("SELECT * FROM watchlist.login_problems()", ()),
        "login_settings": ("SELECT * FROM watchlist.login_settings('reader')", ()),
        "metrics": ("SELECT * FROM watchlist.metrics(%s, %s, %s)", (g2.exchange, g2.symbols[1], t)),
        "outcome_delays": (
            "SELECT * FROM watchlist.outcome_delays(%s, %s) ORDER BY event_id, horizon_min, delay_min",
            (f, t),
        ),
        "outcome_excess": ("SELECT * FROM watchlist.outcome_excess(%s, %s)", (f, t)),
        "policy_problems": ("SELECT * FROM watchlist.policy_problems()", ()),
        "privilege_problems": ("SELECT * FROM watchlist.privilege_problems()", ()),
        "schema_version": ("SELECT * FROM watchlist.schema_version()", ()),
        "series": ("SELECT * FROM watchlist.series(%s, %s, 24, %s)", (g2.exchange, g2.symbols[1], t)),
        "series_minute": ("SELECT * FROM watchlist.series_minute(%s, %s, 12, %s)", (g2.exchange, g2.symbols[1], t)),
        # lag (the last column) is now() - materialized_until: the clock, not the data
        "storage_report": (
            "SELECT relation, kind, chunks, compressed_chunks, total_bytes, before_compression_bytes, after_compression_bytes, est_rows, materialized_until FROM watchlist.storage_report()",
            (),
        ),
        "walk_forward_folds": ("SELECT * FROM watchlist.walk_forward_folds(%s, %s, 3, '1 hour')", (f, t)),
        "watchlist_list": ("SELECT * FROM watchlist.watchlist_list(%s, %s)", (t, g1.exchange)),
        "window_stats": ("SELECT * FROM watchlist.window_stats(%s, %s, %s, %s)", (g1.exchange, g1.symbols[1], f, t)),
    }
    with psycopg.connect(primary.conninfo, autocommit=True) as c:
        granted = {
            r[0]
            for r in c.execute(
                """SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'watchlist' AND has_function_privilege('wl_reader', p.oid, 'EXECUTE')"""
            )
        }
    assert granted == set(calls), "every read function of wl_reader is called on the standby"
    for name, (sql, params) in calls.items():
        p, s = _both(primary, standby, sql, params, as_reader=True)
        assert p == s, f"{name} differs on the standby"
        # policy_problems: none with consistent settings; privilege_problems: none on a
        # database migrate accepted; job_health: what the primary's first job runs (cut
        # short by the pause) recorded, if anything
        if name not in ("policy_problems", "privilege_problems", "job_health"):
            assert s, f"{name} returns rows on the standby"
