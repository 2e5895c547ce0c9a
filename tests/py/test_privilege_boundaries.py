"""Privilege boundaries on a real server, with real login roles (the test servers trust
loopback, so a role created here can log in without a password):

* a login that can create in schema public (here: a member of wl_writer in a database
  wl_writer owns, the user's live set-up) cannot get its code run as wl_owner: `wldb
  migrate` refuses the database with the statements that fix it, and after them the
  reader's calls run only TimescaleDB's functions;
* a login in no wl_ role cannot stall the jobs: they serialise on row locks
  (watchlist_data.take_job_lock), which only the owner can take, not on advisory keys,
  which anyone can.

The embedded engine serves one database and one connection at a time, and every session
there is the superuser: these need a server (WLDB_TEST_DSN)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from watchlist_db import config, migrate

SKIP_REASON = "the privilege tests need a real server with login roles (WLDB_TEST_DSN)"
_NOW = datetime.now(UTC)
T0 = _NOW.replace(minute=_NOW.minute - _NOW.minute % 5, second=0, microsecond=0) - timedelta(
    hours=2
)  # on a 5-min bucket


def _with(conninfo: str, **params) -> str:
    d = psycopg.conninfo.conninfo_to_dict(conninfo)
    d.update(params)
    return psycopg.conninfo.make_conninfo(**d)


@pytest.fixture
def server(target):
    if target.embedded:
        pytest.skip(SKIP_REASON)
    return target


@pytest.fixture
def fresh_db(server):
    """A new database and three login roles (unique names): atk (a member of wl_writer),
    rdr (a member of wl_reader), nobody (in no wl_ role). Dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    name = f"wl_priv_{tag}"
    roles = {k: f"wl_priv_{k}_{tag}" for k in ("atk", "rdr", "nobody")}
    with psycopg.connect(server.conninfo, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
        # the group roles exist: tests/run migrated the test database of this cluster
        c.execute(f"CREATE ROLE {roles['atk']} LOGIN IN ROLE wl_writer")
        c.execute(f"CREATE ROLE {roles['rdr']} LOGIN IN ROLE wl_reader")
        c.execute(f"CREATE ROLE {roles['nobody']} LOGIN")
    db = config.Target(_with(server.conninfo, dbname=name), False, "privilege test database")
    try:
        yield db, {k: _with(db.conninfo, user=v) for k, v in roles.items()}, roles
    finally:
        with psycopg.connect(server.conninfo, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for r in roles.values():
                c.execute(f"DROP ROLE IF EXISTS {r}")


def _seed_minutes(conn, exchange: str, symbol: str) -> None:
    conn.execute(
        """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spot_price,
                                                         futures_price, spread_rel, funding_rate)
           SELECT %s::timestamptz + make_interval(mins => m), %s, %s, 'A', false, 100 + m, 100.2 + m, 0.002, 0.0001
             FROM generate_series(0, 59) m""",
        (T0, exchange, symbol),
    )


def _plant_last_aggregate(conninfo: str) -> None:
    """As the attacker: a public.last(float8, timestamptz) aggregate (a better match for
    last(spot_price, at) than TimescaleDB's last(anyelement, "any")) whose transition
    function writes down who runs it."""
    with psycopg.connect(conninfo, autocommit=True) as a:
        a.execute("CREATE TABLE public.pwned (who text NOT NULL)")
        a.execute("GRANT INSERT ON public.pwned TO PUBLIC")
        a.execute("""CREATE FUNCTION public.pwn_step(s float8, v float8, t timestamptz) RETURNS float8
                     LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.pwned VALUES (current_user); RETURN v; END $$""")
        a.execute("GRANT EXECUTE ON FUNCTION public.pwn_step(float8, float8, timestamptz) TO PUBLIC")
        a.execute("CREATE AGGREGATE public.last(float8, timestamptz) (sfunc = public.pwn_step, stype = float8)")


def test_a_login_that_can_create_in_public_cannot_run_code_as_wl_owner(fresh_db):
    db, logins, roles = fresh_db
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        # the user's live database: owned by wl_writer, so (PostgreSQL 15+: public belongs
        # to pg_database_owner) every wl_writer login may create in public
        c.execute(f'ALTER DATABASE "{c.info.dbname}" OWNER TO wl_writer')
    _plant_last_aggregate(logins["atk"])

    with pytest.raises(migrate.MigrationError) as refused:
        migrate.migrate(db, echo=lambda *_: None)
    msg = str(refused.value)
    assert "refusing to migrate database" in msg
    assert f"role {roles['atk']} may CREATE in schema public" in msg
    assert "role wl_writer may CREATE in schema public" in msg
    assert (
        f"aggregate public.last(double precision,timestamp with time zone) in schema public belongs to {roles['atk']}"
        in msg
    )
    hint = msg.split("hint: ", 1)[1]
    assert "ALTER SCHEMA public OWNER TO wl_owner;" in hint
    assert "DROP AGGREGATE public.last(double precision,timestamp with time zone);" in hint
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        assert c.execute("SELECT to_regnamespace('watchlist_data') IS NULL").fetchone()[0], (
            "nothing was created: the refusal comes before the first migration"
        )
        # the operator runs the statements of the hint, as a superuser
        for stmt in hint.split("run: ", 1)[1].split(" Then run wldb migrate again")[0].split(";"):
            if stmt.strip():
                c.execute(stmt)
    migrate.migrate(db, echo=lambda *_: None)

    with psycopg.connect(logins["atk"], autocommit=True) as a, pytest.raises(psycopg.errors.InsufficientPrivilege):
        a.execute("CREATE AGGREGATE public.last(float8, timestamptz) (sfunc = public.pwn_step, stype = float8)")
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        _seed_minutes(c, "privx", "PWN")
    with psycopg.connect(logins["rdr"], autocommit=True) as r:
        rows = r.execute(
            "SELECT ts, spot_price FROM watchlist.series('privx', 'PWN', 2, %s) WHERE NOT filled ORDER BY ts",
            (T0 + timedelta(hours=1),),
        ).fetchall()
    # twelve 5-minute buckets with samples, each its last minute's spot price
    assert [(ts, px) for ts, px in rows] == [(T0 + timedelta(minutes=5 * k), 100.0 + 5 * k + 4) for k in range(12)]
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        assert c.execute("SELECT who, count(*) FROM public.pwned GROUP BY who").fetchall() == [], (
            "the attacker's aggregate never ran"
        )


def test_after_migrate_a_new_create_grant_is_reported_by_status(fresh_db):
    db, logins, roles = fresh_db
    migrate.migrate(db, echo=lambda *_: None)
    from watchlist_db.cli import status as status_mod

    with psycopg.connect(db.conninfo, autocommit=True) as c:
        assert c.execute("SELECT * FROM watchlist.privilege_problems()").fetchall() == []
        c.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
        assert c.execute("SELECT * FROM watchlist.privilege_problems()").fetchall() == [
            ("every role (PUBLIC) may CREATE in schema public", "REVOKE CREATE ON SCHEMA public FROM PUBLIC;")
        ]
        st = status_mod.collect(c, "t")
        c.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    assert st.bad
    lines = [line for line, _ in status_mod.render(st)]
    assert any("every role (PUBLIC) may CREATE in schema public" in line for line in lines), lines


JOB_CALLS = [
    "SELECT count(*) FROM watchlist.merge_events_incremental()",
    "SELECT count(*) FROM watchlist.label_outcomes_incremental()",
    "SELECT count(*) FROM watchlist.label_outcomes()",
    "SELECT count(*) FROM watchlist.compute_factors_incremental()",
    "SELECT count(*) FROM watchlist.sync_membership('[]', now())",
]


def test_a_login_in_no_wl_role_cannot_stall_the_jobs(fresh_db):
    db, logins, _roles = fresh_db
    migrate.migrate(db, echo=lambda *_: None)
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        # the scheduler would take the same locks meanwhile: this test runs the jobs itself
        c.execute("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs")
    with psycopg.connect(logins["nobody"], autocommit=True) as n:
        for key in ("merge_events", "label_outcomes", "compute_factors", "membership"):
            assert n.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"watchlist-db:{key}",)).fetchone()
        for attempt in ("SELECT FROM watchlist_data.job_lock FOR UPDATE", "LOCK TABLE watchlist_data.job_lock"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), n.transaction():
                n.execute(attempt)
        with psycopg.connect(db.conninfo, autocommit=True) as c:
            c.execute("SET lock_timeout = '3s'")
            for call in JOB_CALLS:
                with c.transaction(force_rollback=True):
                    c.execute(call).fetchall()
            # and the row locks still serialise two runs: a second merge waits for the first
            with psycopg.connect(db.conninfo, autocommit=True) as c2:
                c2.execute("SET lock_timeout = '1s'")
                with c.transaction(force_rollback=True):
                    c.execute("SELECT count(*) FROM watchlist.merge_events_incremental()").fetchall()
                    with pytest.raises(psycopg.errors.LockNotAvailable):
                        c2.execute("SELECT count(*) FROM watchlist.merge_events_incremental()")


def test_status_warns_when_wl_owner_logs_in_over_tcp_without_a_password(fresh_db):
    """The test servers trust loopback: wl_owner (LOGIN, no password, owns everything)
    logs in over TCP with any password, and `wldb status` says so with the pg_hba fix."""
    db, _logins, _roles = fresh_db
    migrate.migrate(db, echo=lambda *_: None)
    from watchlist_db.cli import status as status_mod

    with psycopg.connect(db.conninfo, autocommit=True) as c:
        st = status_mod.collect(c, "t", probe_owner=True)
        quiet = status_mod.collect(c, "t")
        host, port = c.info.host, c.info.port
    assert st.owner_tcp == f"{host}:{port}"
    assert not st.bad, "a warning: trust on loopback is common on development hosts"
    lines = "\n".join(line for line, _ in status_mod.render(st))
    assert f"wl_owner logs in over TCP at {host}:{port} without a password" in lines
    assert "host all wl_owner 0.0.0.0/0 reject" in lines
    assert quiet.owner_tcp is None, "no probe unless asked (the embedded engine is not probed)"


def test_grant_login_sets_the_timeouts_on_the_login_itself(fresh_db):
    db, logins, roles = fresh_db
    migrate.migrate(db, echo=lambda *_: None)
    from click.testing import CliRunner

    from watchlist_db.cli import main

    nobody, atk = roles["nobody"], roles["atk"]
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        dbname = c.info.dbname
        # a setting on the group role reaches no member login: the reason for per-login settings
        c.execute(f'ALTER ROLE wl_reader IN DATABASE "{dbname}" SET statement_timeout = 1234')
        problems = c.execute("SELECT login, problem, fix FROM watchlist.login_problems()").fetchall()
    mine = [p for p in problems if p[0] in roles.values()]
    assert mine == sorted(
        [
            (
                atk,
                f"writer login {atk} has no idle_in_transaction_session_timeout, lock_timeout, statement_timeout "
                f"in database {dbname}",
                f"wldb grant-login {atk} --writer",
            ),
            (
                roles["rdr"],
                f"reader login {roles['rdr']} has no idle_in_transaction_session_timeout, lock_timeout, "
                f"statement_timeout in database {dbname}",
                f"wldb grant-login {roles['rdr']} --reader",
            ),
        ]
    )
    with psycopg.connect(logins["rdr"], autocommit=True) as r:
        assert r.execute("SHOW statement_timeout").fetchone()[0] == "0", "the group role's setting did not apply"

    runner = CliRunner()
    for login, kind in ((nobody, "reader"), (atk, "writer")):
        res = runner.invoke(main, ["--dsn", db.conninfo, "grant-login", login, f"--{kind}"])
        assert res.exit_code == 0, res.output
        assert res.output.startswith(f"{login}: member of wl_{kind}; in database {dbname}: statement_timeout = "), (
            res.output
        )
    with psycopg.connect(logins["nobody"], autocommit=True) as n:
        got = [
            n.execute(f"SHOW {g}").fetchone()[0]
            for g in ("statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout")
        ]
        assert got == ["1min", "1min", "10s"]
        assert n.execute("SELECT pg_has_role('wl_reader', 'MEMBER')").fetchone()[0]
        # and the reader's statements are bounded: one past the limit is cancelled
        n.execute("SET statement_timeout = '200ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            n.execute("SELECT pg_sleep(2)")
    with psycopg.connect(logins["atk"], autocommit=True) as a:
        got = [
            a.execute(f"SHOW {g}").fetchone()[0]
            for g in ("statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout")
        ]
        assert got == ["10min", "5min", "2min"]
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        left = [p[0] for p in c.execute("SELECT login FROM watchlist.login_problems()") if p[0] in roles.values()]
    assert left == [roles["rdr"]], "only the login never passed to grant-login is still reported"


def test_an_idle_reader_transaction_is_ended_by_its_login_timeout(fresh_db):
    db, logins, roles = fresh_db
    migrate.migrate(db, echo=lambda *_: None)
    with psycopg.connect(db.conninfo, autocommit=True) as c:
        c.execute(
            f'ALTER ROLE {roles["rdr"]} IN DATABASE "{c.info.dbname}" SET idle_in_transaction_session_timeout = 500'
        )
    import time

    r = psycopg.connect(logins["rdr"])
    try:
        r.execute("SELECT count(*) FROM watchlist.watch_signal_raw").fetchone()
        time.sleep(1.5)
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            r.execute("SELECT 1").fetchone()
    finally:
        r.close()
