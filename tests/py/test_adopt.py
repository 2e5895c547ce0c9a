"""`wldb adopt` on the seed plan's live database, built from the plan's words (section
"已执行"): LOGIN roles wl_writer / wl_reader with passwords and search_path watchlist,
public; database watchlist and schema watchlist owned by wl_writer; the six tables, raw and
series RANGE-partitioned by day with primary key (ts, id); default privileges; the app's
plain INSERTs; the cron partition script.

Roles are cluster-wide and other tests create wl_writer / wl_reader as NOLOGIN group roles,
so this test runs its own private server (the PostgreSQL of WLDB_TEST_PG_BINDIR, else the
real-timescaledb tool's bindir for REAL_PG_MAJOR, default 16), with scram-sha-256 password
authentication for the two login roles on loopback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from pgserver import PrivateServer, _as_postgres, private_bindir, workdir

ROOT = Path(__file__).resolve().parents[2]
EMBEDDED_REASON = (
    "the adoption test needs a real server (WLDB_TEST_DSN): it starts a private PostgreSQL with LOGIN roles"
)
W_PASS, R_PASS = "w-Secret-1", "r-Secret-2"
N_SYMBOLS, N_DAYS = 20, 3
DAY0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=N_DAYS)
BAD_ROWS = 4  # rows the writer API refuses
TWICE = 1  # minutes written twice


@pytest.fixture(scope="module")
def server():
    if not os.environ.get("WLDB_TEST_DSN"):
        pytest.skip(EMBEDDED_REASON)
    bindir = private_bindir()
    if bindir is None:
        pytest.fail("no PostgreSQL with TimescaleDB to start a private server (set WLDB_REAL_TIMESCALEDB)")
    work = workdir("wldb-adopt-")
    srv = PrivateServer(bindir, work, settings={"password_encryption": "'scram-sha-256'"}).start()
    try:
        (srv.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all wl_writer,wl_reader 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(srv.data), "reload"])
        yield srv
    finally:
        srv.destroy()


def dsn(srv: PrivateServer, user: str = "postgres", password: str | None = None, db: str = "watchlist") -> str:
    base = f"host=127.0.0.1 port={srv.port} dbname={db} user={user} sslmode=disable gssencmode=disable"
    return base + (f" password={password}" if password else "")


def wldb(srv: PrivateServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "watchlist_db.cli", "--dsn", dsn(srv), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "WLDB_DSN"},
    )


# ------------------------------------------------------------------ the live database
LEGACY_DDL = """
CREATE SCHEMA watchlist;
CREATE TABLE watchlist.watch_signal_raw (
    id bigserial, ts timestamptz NOT NULL, exchange text NOT NULL, symbol text NOT NULL,
    signal_type text, type_class text, spread_rel double precision, funding_rate double precision,
    funding_interval_hours double precision, next_funding_time timestamptz, range_1h double precision,
    range_12h double precision, volatility double precision, slope_3m double precision, crossings_1h integer,
    drift_ratio double precision, best_buy_high_sell_low double precision, best_sell_high_buy_low double precision,
    spot_price double precision, futures_price double precision, volume_quote double precision,
    premium_index_diff double precision, triggered boolean NOT NULL DEFAULT false, status text, meta jsonb,
    PRIMARY KEY (ts, id)
) PARTITION BY RANGE (ts);
CREATE INDEX ON watchlist.watch_signal_raw (exchange, symbol, ts);
CREATE INDEX ON watchlist.watch_signal_raw (ts DESC);
CREATE TABLE watchlist.watch_signal_event (
    id bigserial PRIMARY KEY, exchange text, symbol text, signal_type text, start_ts timestamptz,
    end_ts timestamptz, duration_sec integer, features_agg jsonb, reason text, status text);
CREATE INDEX ON watchlist.watch_signal_event (exchange, symbol, start_ts);
CREATE INDEX ON watchlist.watch_signal_event (start_ts DESC);
CREATE TABLE watchlist.future_outcome (
    id bigserial PRIMARY KEY, event_id bigint REFERENCES watchlist.watch_signal_event (id), horizon_min integer,
    pnl double precision, spread_change double precision, funding_change double precision,
    max_drawdown double precision, volatility double precision, label jsonb);
CREATE INDEX ON watchlist.future_outcome (event_id, horizon_min);
CREATE TABLE watchlist.watchlist_outcome (
    id bigserial PRIMARY KEY, trigger_id bigint REFERENCES watchlist.watch_signal_event (id), opened_at timestamptz,
    closed_at timestamptz, pnl double precision, max_drawdown double precision, holding_hours double precision,
    benchmark_return double precision, labels jsonb, notes text);
CREATE TABLE watchlist.watchlist_symbol_ref (
    exchange text, symbol text, quote text, base text, sector text, industry text, listed boolean, status text,
    liquidity_tier integer, updated_at timestamptz DEFAULT now(), PRIMARY KEY (exchange, symbol));
CREATE TABLE watchlist.watchlist_series_agg (
    ts timestamptz NOT NULL, exchange text NOT NULL, symbol text NOT NULL, spot_price double precision,
    futures_price double precision, spread_rel double precision, funding_rate double precision,
    funding_interval_hours double precision, next_funding_time timestamptz, series_meta jsonb,
    PRIMARY KEY (ts, exchange, symbol)
) PARTITION BY RANGE (ts);
CREATE INDEX ON watchlist.watchlist_series_agg (exchange, symbol, ts);
ALTER DEFAULT PRIVILEGES IN SCHEMA watchlist GRANT SELECT ON TABLES TO wl_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA watchlist GRANT USAGE, SELECT ON SEQUENCES TO wl_reader;
GRANT USAGE ON SCHEMA watchlist TO wl_reader;
"""


def partition_sql(day: datetime) -> str:
    """What the plan's scripts/manage_watchlist_partitions.sh runs for one day."""
    d0, d1 = day.strftime("%Y-%m-%d"), (day + timedelta(days=1)).strftime("%Y-%m-%d")
    tag = day.strftime("%Y%m%d")
    return "".join(
        f"CREATE TABLE IF NOT EXISTS watchlist.{t}_p{tag} PARTITION OF watchlist.{t} "
        f"FOR VALUES FROM ('{d0} 00:00+00') TO ('{d1} 00:00+00');\n"
        for t in ("watch_signal_raw", "watchlist_series_agg")
    )


def build_live_database(srv: PrivateServer) -> None:
    with psycopg.connect(dsn(srv, db="postgres"), autocommit=True) as a:
        a.execute(f"CREATE ROLE wl_writer LOGIN PASSWORD '{W_PASS}'")
        a.execute(f"CREATE ROLE wl_reader LOGIN PASSWORD '{R_PASS}'")
        for r in ("wl_writer", "wl_reader"):
            a.execute(f"ALTER ROLE {r} SET search_path = watchlist, public")
        a.execute("CREATE DATABASE watchlist OWNER wl_writer")
    # everything else as the app's login, with its password, as the plan's operator did
    with psycopg.connect(dsn(srv, "wl_writer", W_PASS), autocommit=True) as w:
        w.execute(LEGACY_DDL)
        for i in range(N_DAYS + 3):  # the past days, today and two days ahead
            w.execute(partition_sql(DAY0 + timedelta(days=i)))
        w.execute("GRANT SELECT ON ALL TABLES IN SCHEMA watchlist TO wl_reader")
        # 20 symbols at 1 minute for N_DAYS days; symbol i triggers for 5 minutes from
        # 10:00 + 10 i every day, so every such run is one confirmed event
        w.execute(
            """INSERT INTO watch_signal_raw (ts, exchange, symbol, signal_type, type_class, spread_rel, funding_rate,
                                            spot_price, futures_price, triggered, status, meta)
               SELECT t, 'binance', 'S' || lpad(s::text, 2, '0') || 'USDT', 'A', 'A',
                      0.001 * s + 0.0001 * extract(minute FROM t), 0.0001, 100 + s, 100.1 + s,
                      (t - date_trunc('day', t)) >= make_interval(mins => 600 + 10 * s)
                      AND (t - date_trunc('day', t)) < make_interval(mins => 605 + 10 * s),
                      'watching', '{"factors": {"z": 1.5}}'
                 FROM generate_series(%(d0)s::timestamptz, %(d0)s::timestamptz + make_interval(days => %(n)s) - interval '1 minute',
                                      interval '1 minute') AS t,
                      generate_series(0, %(k)s - 1) AS s
                ORDER BY t, s""",
            {"d0": DAY0, "n": N_DAYS, "k": N_SYMBOLS},
        )
        # rows the writer API refuses, and one minute written twice (a later, different row)
        w.execute(
            """INSERT INTO watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spot_price, meta) VALUES
                 (%(t)s, 'Bin ance', 'S00USDT', 'A', false, 100, '{}'),
                 (%(t)s, 'binance', 'S01usdt', 'A', false, 100, '{}'),
                 (%(t)s, 'binance', 'BADSIGUSDT', 'D', false, 100, '{}'),
                 (%(t)s, 'binance', 'NEGUSDT', 'A', false, -1, '{}'),
                 (%(d0)s, 'binance', 'S00USDT', 'A', false, 999, '{"second": true}')""",
            {"t": DAY0 + timedelta(hours=1, seconds=30), "d0": DAY0},
        )
        w.execute(
            """INSERT INTO watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, features_agg, status)
               SELECT 'binance', 'S' || lpad(s::text, 2, '0') || 'USDT', 'A', now() - interval '5 minutes', NULL, NULL, '{}', 'new'
                 FROM generate_series(0, 8) AS s"""
        )
        w.execute(
            """INSERT INTO future_outcome (event_id, horizon_min, pnl, label)
               SELECT id, 30, 0.001, '{}' FROM watch_signal_event ORDER BY id LIMIT 2"""
        )
        w.execute(
            """INSERT INTO watchlist_outcome (trigger_id, opened_at, closed_at, pnl, labels, notes) VALUES
                 (1, %(t)s, %(t)s + interval '2 hours', 0.004, '{"tag": "x"}', 'first trade'),
                 (NULL, %(t)s, %(t)s - interval '1 hour', 0.001, '{}', 'closed before opened')""",
            {"t": DAY0 + timedelta(hours=12)},
        )
        w.execute(
            """INSERT INTO watchlist_symbol_ref (exchange, symbol, quote, base, listed, status, liquidity_tier)
               SELECT 'binance', 'S' || lpad(s::text, 2, '0') || 'USDT', 'USDT', 'S' || s, true, 'active', 2
                 FROM generate_series(0, 19) AS s
               UNION ALL SELECT 'Bad Ex', 'XUSDT', 'USDT', 'X', true, 'active', 9"""
        )
        w.execute(
            """INSERT INTO watchlist_series_agg (ts, exchange, symbol, spot_price, futures_price, spread_rel)
               SELECT %(d0)s::timestamptz + s * interval '5 minutes', 'binance', 'S00USDT', 100, 100.1, 0.001
                 FROM generate_series(0, 4) AS s""",
            {"d0": DAY0},
        )


def expected_events() -> list[tuple]:
    out = []
    for d in range(N_DAYS):
        for s in range(N_SYMBOLS):
            start = DAY0 + timedelta(days=d, minutes=600 + 10 * s)
            out.append(("binance", f"S{s:02d}USDT", "A", start, start + timedelta(minutes=4), 5, "confirmed"))
    return sorted(out)


OWN_TABLES = [
    "watch_signal_raw",
    "watch_signal_event",
    "ingest_quarantine",
    "watchlist_symbol_ref",
    "watchlist_outcome",
    "schema_migrations",
]


def snapshot(srv: PrivateServer) -> dict:
    """The catalog state adoption must leave alone when it refuses or only plans."""
    q = {
        "namespaces": """SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace
                          WHERE nspname !~ '^pg_(toast_)?temp_' ORDER BY 1""",
        "roles": """SELECT rolname, rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolpassword,
                           (SELECT array_agg(x ORDER BY x) FROM pg_db_role_setting s, unnest(s.setconfig) x WHERE s.setrole = a.oid)
                      FROM pg_authid a WHERE rolname !~ '^pg_' ORDER BY 1""",
        "members": "SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members ORDER BY 1, 2",
        "extensions": "SELECT extname, extversion FROM pg_extension ORDER BY 1",
        "relations": """SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text
                          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname !~ '^(pg_|_timescaledb)' AND n.nspname <> 'information_schema' ORDER BY 1, 2""",
        "database": "SELECT datname, pg_get_userbyid(datdba), datacl::text FROM pg_database ORDER BY 1",
        "default_acl": "SELECT defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text FROM pg_default_acl ORDER BY 1, 2, 3",
        "procs": """SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1""",
    }
    with psycopg.connect(dsn(srv), autocommit=True) as a:
        snap = {k: a.execute(v).fetchall() for k, v in q.items()}
        # rows of every legacy table and of the project's tables adoption and the app write
        # (not those the TimescaleDB jobs write on their own schedule)
        for schema in ("watchlist", "watchlist_legacy", "watchlist_data"):
            for (t,) in a.execute(
                """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                      AND (n.nspname <> 'watchlist_data' OR c.relname = ANY (%s)) ORDER BY 1""",
                (schema, OWN_TABLES),
            ).fetchall():
                snap[f"rows {schema}.{t}"] = a.execute(f'SELECT count(*) FROM {schema}."{t}"').fetchone()[0]
    return snap


CRON_SCRIPT = """#!/usr/bin/env bash
# scripts/manage_watchlist_partitions.sh as the plan describes it: daily partitions of raw
# and series, created 2 days ahead, raw kept 14 days and series 7; run by cron as wl_writer.
set -u
PSQL=(psql -X -v ON_ERROR_STOP=0 -h 127.0.0.1 -p "$PGPORT" -U wl_writer -d watchlist)
for ahead in 0 1 2; do
  d0=$(date -u -d "+${ahead} day" +%Y-%m-%d); d1=$(date -u -d "+$((ahead + 1)) day" +%Y-%m-%d); tag=$(date -u -d "+${ahead} day" +%Y%m%d)
  for t in watch_signal_raw watchlist_series_agg; do
    "${PSQL[@]}" -c "CREATE TABLE IF NOT EXISTS watchlist.${t}_p${tag} PARTITION OF watchlist.${t} FOR VALUES FROM ('${d0} 00:00+00') TO ('${d1} 00:00+00')"
  done
done
for t in "watch_signal_raw 14" "watchlist_series_agg 7"; do
  set -- $t
  old=$(date -u -d "-$2 day" +%Y%m%d)
  "${PSQL[@]}" -c "DROP TABLE IF EXISTS watchlist.$1_p${old}"
done
"""


def test_adopt_the_live_database(server):
    # 0. a user who may not create the roles is refused before anything is created
    with psycopg.connect(dsn(server, db="postgres"), autocommit=True) as a:
        a.execute("CREATE ROLE plain_admin LOGIN")
        a.execute("CREATE DATABASE fresh OWNER plain_admin")
    fresh = dsn(server, "plain_admin", db="fresh")
    out = subprocess.run(
        [sys.executable, "-m", "watchlist_db.cli", "--dsn", fresh, "migrate"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 1 and "user plain_admin may not create the roles" in out.stderr, out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "watchlist_db.cli", "--dsn", fresh, "adopt", "--apply"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1 and "adoption is blocked, nothing was changed" in out.stderr, out.stderr
    assert "is not a superuser" in out.stderr and "no legacy watchlist schema here" in out.stderr, out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "watchlist_db.cli", "--dsn", fresh, "adopt"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 1 and "BLOCKED:\n  preflight: user plain_admin is not a superuser" in out.stdout, (
        out.stdout
    )
    # a wl_owner that cannot log in would need ALTER ROLE: refused, not altered, nothing created
    with psycopg.connect(dsn(server, db="postgres"), autocommit=True) as a:
        a.execute("CREATE ROLE wl_owner NOLOGIN")
        out = subprocess.run(
            [sys.executable, "-m", "watchlist_db.cli", "--dsn", dsn(server, db="fresh"), "migrate"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert out.returncode == 1 and "role wl_owner exists without LOGIN" in out.stderr, out.stderr
        assert a.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'wl_owner'").fetchone() == (False,)
        a.execute("DROP ROLE wl_owner")
    with psycopg.connect(fresh, autocommit=True) as f:
        assert f.execute(
            """SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'),
                      (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'watchlist%'),
                      (SELECT count(*) FROM pg_roles WHERE rolname LIKE 'wl\\_%')"""
        ).fetchone() == (0, 0, 0)

    build_live_database(server)
    legacy_rows = N_SYMBOLS * N_DAYS * 1440 + BAD_ROWS + TWICE
    before = snapshot(server)
    assert before["rows watchlist.watch_signal_raw"] == legacy_rows

    # 1. migrate refuses and changes nothing, naming the next step
    out = wldb(server, "migrate")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "schema watchlist is in the way: it belongs to wl_writer" in out.stderr, out.stderr
    assert "wldb adopt" in out.stderr and "Nothing was changed" in out.stderr, out.stderr
    assert snapshot(server) == before

    # 2. the plan, and nothing changed
    out = wldb(server, "adopt")
    assert out.returncode == 0, out.stdout + out.stderr
    plan = out.stdout
    for line in (
        "  database watchlist: owner wl_writer",
        "  role wl_writer: LOGIN, password set, settings: search_path=watchlist, public",
        f"  table watchlist.watch_signal_raw: {legacy_rows} rows, {N_DAYS + 3} partitions",
        "  table watchlist.watch_signal_event: 9 rows",
        f"  watch_signal_raw: {legacy_rows} rows over {N_DAYS} days",
        "  database watchlist: owner wl_writer -> wl_owner",
        "scripts/manage_watchlist_partitions.sh",
        "nothing changed; run `wldb adopt --apply`",
    ):
        assert line in plan, plan
    assert "BLOCKED" not in plan, plan
    assert snapshot(server) == before

    # 3. apply, interrupted: the steps --apply runs, up to the first raw batch (as if the
    # run died there) ...
    with psycopg.connect(dsn(server), autocommit=True) as a:
        with a.transaction():
            a.execute((ROOT / "sql/adopt/adopt.sql").read_text())
            a.execute("SELECT watchlist_adopt.preflight()")
        a.execute("SELECT watchlist_adopt.move_aside()")
        a.execute("SELECT watchlist_adopt.take_ownership()")
        assert wldb(server, "migrate").returncode == 0
        a.execute("SELECT watchlist_adopt.mark('migrate')")
        a.execute("SELECT watchlist_adopt.import_refs()")
        batches = a.execute("SELECT day, pass FROM watchlist_adopt.raw_batches()").fetchall()
        assert (
            len(batches) == N_DAYS + TWICE
        )  # a batch per day, and a second pass for the day of the minute written twice
        a.execute("SELECT watchlist_adopt.import_raw(%s, %s)", batches[0])
    # ... and resumed: counts add up
    out = wldb(server, "adopt", "--apply")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(" pass ") == len(batches) - 1, out.stdout
    assert "  already done" in out.stdout, out.stdout  # move_aside, import_refs
    with psycopg.connect(dsn(server), autocommit=True) as a:
        summary = {r[0]: r[1:5] for r in a.execute("SELECT * FROM watchlist_adopt.summary()").fetchall()}
        assert summary["watch_signal_raw"] == (legacy_rows, N_SYMBOLS * N_DAYS * 1440, TWICE, BAD_ROWS)
        assert sum(summary["watch_signal_raw"][1:]) == legacy_rows
        assert summary["watchlist_symbol_ref"] == (21, 20, 0, 1)
        assert summary["watchlist_outcome"][:2] == (2, 1) and summary["watchlist_outcome"][3] == 1
        rejects = a.execute(
            """SELECT row_data ->> 'symbol', field FROM watchlist.ingest_rejects
                WHERE batch_id LIKE 'adopt:watch_signal_raw:%' ORDER BY 1, 2"""
        ).fetchall()
        assert rejects == [
            ("BADSIGUSDT", "signal_type"),
            ("NEGUSDT", "spot_price"),
            ("S00USDT", "exchange"),
            ("S01usdt", "symbol"),
        ]
        # the first write of the minute written twice is the one kept
        assert a.execute(
            "SELECT spot_price, meta FROM watchlist.watch_signal_raw WHERE symbol = 'S00USDT' AND ts = %s", (DAY0,)
        ).fetchone() == (100.0, {"factors": {"z": 1.5}})
        events = a.execute(
            """SELECT exchange, symbol, signal_type, start_ts, end_ts, n_samples, status
                 FROM watchlist.watch_signal_event ORDER BY 1, 2, 3, 4"""
        ).fetchall()
        assert sorted(events) == expected_events()
        assert a.execute("SELECT count(*) FROM watchlist_legacy.watch_signal_event").fetchone()[0] == 9
        assert a.execute("SELECT trade_ref, exchange, symbol, labels FROM watchlist.watchlist_outcome").fetchall() == [
            ("legacy-1", "binance", "S00USDT", {"tag": "x", "legacy_trigger_id": 1})
        ]
        assert a.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'watchlist'").fetchone() == (
            "wl_owner",
        )
        assert a.execute("SELECT count(*) FROM watchlist.future_outcome").fetchone()[0] > 0
    after = snapshot(server)
    # legacy rows intact, roles (attributes, passwords, settings) unchanged
    for t in (
        "watch_signal_raw",
        "watch_signal_event",
        "future_outcome",
        "watchlist_outcome",
        "watchlist_symbol_ref",
        "watchlist_series_agg",
    ):
        assert after[f"rows watchlist_legacy.{t}"] == before[f"rows watchlist.{t}"], t
    keep = [r for r in before["roles"] if r[0] in ("wl_writer", "wl_reader")]
    assert [r for r in after["roles"] if r[0] in ("wl_writer", "wl_reader")] == keep

    # 4. the app's login with its password: plain INSERTs (naming id) and the writer API
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn(server, "wl_writer", "wrong"))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with psycopg.connect(dsn(server, "wl_writer", W_PASS), autocommit=True) as w:
        warnings = []
        w.add_notice_handler(lambda d: warnings.append(d.message_primary))
        cur = w.execute(
            """INSERT INTO watch_signal_raw (id, ts, exchange, symbol, signal_type, type_class, triggered, spread_rel, meta)
               VALUES (DEFAULT, %(a)s, 'binance', 'APPUSDT', 'A', 'A', true, 0.01, '{"factors": {}}'),
                      (7, %(b)s, 'binance', 'APPUSDT', 'A', 'A', true, 0.011, '{}'),
                      (NULL, %(d0)s, 'binance', 'S00USDT', 'A', 'A', false, 0.5, '{}'),
                      (NULL, %(b)s, 'BAD EX', 'APPUSDT', 'A', 'A', true, 0.01, '{}')""",
            {"a": now - timedelta(minutes=3), "b": now - timedelta(minutes=2), "d0": DAY0},
        )
        assert cur.rowcount == 3  # two stored, one already stored; the refused row is not counted
        assert any("refused" in m and "exchange" in m for m in warnings), warnings
        got = w.execute(
            """SELECT inserted, duplicates, rejected FROM watchlist.ingest_raw(
                 jsonb_build_array(jsonb_build_object('ts', %s::timestamptz, 'exchange', 'binance', 'symbol', 'APPUSDT',
                                                      'signal_type', 'A', 'triggered', false)), 'app')""",
            (now - timedelta(minutes=1),),
        ).fetchone()
        assert got == (1, 0, 0)
    with psycopg.connect(dsn(server, "wl_reader", R_PASS), autocommit=True) as r:
        assert r.execute("SELECT count(*) FROM watch_signal_raw").fetchone()[0] == N_SYMBOLS * N_DAYS * 1440 + 3
        assert (
            r.execute(
                "SELECT count(*) FROM watchlist.ingest_rejects WHERE batch_id = 'sql-insert:wl_writer'"
            ).fetchone()[0]
            == 1
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            r.execute(
                "INSERT INTO watch_signal_raw (ts, exchange, symbol, signal_type, triggered) VALUES (now(), 'binance', 'X', 'A', false)"
            )

    # 5. the merge job merges what the app wrote (its run: CALL run_job, as the scheduler does)
    with psycopg.connect(dsn(server), autocommit=True) as a:
        job = a.execute(
            "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'job_merge_events'"
        ).fetchone()[0]
        a.execute(f"CALL run_job({job})")
        assert a.execute(
            "SELECT start_ts, end_ts, n_samples, is_open FROM watchlist.watch_signal_event WHERE symbol = 'APPUSDT'"
        ).fetchall() == [(now - timedelta(minutes=3), now - timedelta(minutes=2), 2, True)]

    # 6. a leftover run of the cron partition script does no harm
    script = server.work / "manage_watchlist_partitions.sh"  # removed with the server
    script.write_text(CRON_SCRIPT)
    settled = snapshot(server)
    out = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "PGPORT": str(server.port), "PGPASSWORD": W_PASS},
    )
    assert (
        "ERROR:  permission denied for schema watchlist" in out.stderr
        or '"watch_signal_raw" is not partitioned' in out.stderr
    ), out.stderr
    assert snapshot(server) == settled

    # wldb status on the adopted database: the jobs run, none failed, policies consistent
    out = wldb(server, "status")
    assert "policy consistency: ok" in out.stdout and "job_merge_events" in out.stdout, out.stdout + out.stderr
    assert not re.search(r"failures 24h: [1-9]", out.stdout), out.stdout

    # 7. a second apply and migrate change nothing
    out = wldb(server, "adopt", "--apply")
    assert out.returncode == 0 and "already done" in out.stdout, out.stdout + out.stderr
    assert snapshot(server) == settled
    out = wldb(server, "migrate")
    assert out.returncode == 0 and "up to date: nothing to apply" in out.stdout, out.stdout + out.stderr
    assert snapshot(server) == settled

    # 8. rollback: the legacy schema is watchlist again, owners restored, the app's old INSERT works
    out = wldb(server, "adopt", "--rollback")
    assert out.returncode == 0 and "nothing changed" in out.stdout, out.stdout + out.stderr
    assert snapshot(server) == settled
    out = wldb(server, "adopt", "--rollback", "--apply")
    assert out.returncode == 0, out.stdout + out.stderr
    rolled = snapshot(server)

    def own(s):  # what is not TimescaleDB's (the extension stays, by design)
        return [r for r in s["namespaces"] if not r[0].startswith(("_timescaledb", "timescaledb"))]

    assert own(rolled) == own(before)
    legacy_acl = [r for r in rolled["default_acl"] if r[0] != "wl_owner"]  # wl_owner's stay, as the role does
    assert legacy_acl == before["default_acl"]
    assert [r[:2] for r in rolled["database"]] == [r[:2] for r in before["database"]]
    assert [r for r in rolled["roles"] if r[0] in ("wl_writer", "wl_reader")] == keep
    for t in ("watch_signal_raw", "watch_signal_event", "watchlist_symbol_ref"):
        assert rolled[f"rows watchlist.{t}"] == before[f"rows watchlist.{t}"], t
    with psycopg.connect(dsn(server, "wl_writer", W_PASS), autocommit=True) as w:
        w.execute(
            "INSERT INTO watch_signal_raw (ts, exchange, symbol, triggered) VALUES (%s, 'binance', 'S00USDT', false)",
            (DAY0 + timedelta(days=1, seconds=1),),
        )


def test_adopt_knows_the_writer_fields(conn):
    """adopt.sql's copy of the writer API's field list (used before migrate, for the plan)
    is the list itself; checked in a transaction that is rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute((ROOT / "sql/adopt/adopt.sql").read_text())
        real = conn.execute("SELECT watchlist_data.raw_fields()").fetchone()[0]
        conn.execute("ALTER FUNCTION watchlist_data.raw_fields() RENAME TO raw_fields_hidden")
        copy = conn.execute("SELECT watchlist_adopt.raw_fields()").fetchone()[0]
    assert copy == real
