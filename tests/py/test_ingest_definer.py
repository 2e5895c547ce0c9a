"""The writer API runs as the owner (SECURITY DEFINER): nothing a writer can create first in
its own session may be touched by it. The attack: a wl_writer login creates the temporary
table the exact path of watchlist.ingest_raw once used (pg_temp.wl_ingest_problem), grants
it to PUBLIC and puts a BEFORE INSERT trigger of its own on it; a batch with a bad row then
took the exact path, and the trigger ran as wl_owner (it could grant itself the settings
table and change it). On a real server this runs as a real login role that is a member of
wl_writer; on the embedded engine (one session) as SET ROLE to such a role."""

from __future__ import annotations

import json
import os
import uuid

import psycopg
import pytest

SETTINGS = "SELECT key, value, description FROM watchlist_data.settings ORDER BY key"

ATTACK = """
CREATE TEMP TABLE wl_attack_log (who text, at text);
GRANT ALL ON wl_attack_log TO PUBLIC;
CREATE TEMP TABLE wl_ingest_problem (row_index integer, field text, reason text);
GRANT ALL ON wl_ingest_problem TO PUBLIC;
CREATE FUNCTION pg_temp.wl_attack() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO pg_temp.wl_attack_log VALUES (current_user, TG_TABLE_NAME);
    BEGIN
        EXECUTE format('GRANT SELECT, UPDATE ON watchlist_data.settings TO %I', session_user);
        UPDATE watchlist_data.settings SET description = 'pwned' WHERE key = 'raw_retention';
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO pg_temp.wl_attack_log VALUES (current_user, 'refused: ' || SQLERRM);
    END;
    RETURN NEW;
END
$f$;
GRANT EXECUTE ON FUNCTION pg_temp.wl_attack() TO PUBLIC;
CREATE TRIGGER wl_attack BEFORE INSERT ON pg_temp.wl_ingest_problem FOR EACH ROW EXECUTE FUNCTION pg_temp.wl_attack();
"""

BAD_BATCH = json.dumps([{"not_a_column": 1}])


def _columns_call(c):
    # the columnar form reaches the same exact path: a row without its required fields
    return c.execute(
        "SELECT rejected FROM watchlist.ingest_raw_columns('attack-cols', ts => ARRAY['x'], exchange => ARRAY['binance'])"
    ).fetchone()[0]


def _attack(c) -> list[tuple]:
    """Set the trap in this session, call both writer functions with a bad batch, return
    what the trigger logged."""
    c.execute(ATTACK)
    assert c.execute("SELECT rejected FROM watchlist.ingest_raw(%s, 'attack')", (BAD_BATCH,)).fetchone()[0] == 1
    assert _columns_call(c) == 1
    return c.execute("SELECT who, at FROM pg_temp.wl_attack_log").fetchall()


def test_a_writers_temp_table_and_trigger_never_run_as_the_owner(conn, target):
    before = conn.execute(SETTINGS).fetchall()
    role = f"wl_t_attacker_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE wl_writer")
    try:
        if os.environ.get("WLDB_TEST_DSN"):
            # a real login, in its own session (trust auth on loopback)
            info = psycopg.conninfo.conninfo_to_dict(target.conninfo)
            info["user"] = role
            info.pop("password", None)
            with psycopg.connect(**info, autocommit=True) as c:
                assert c.execute("SELECT current_user").fetchone()[0] == role
                log = _attack(c)
        else:
            # the embedded engine has one session: the same attack under SET ROLE
            conn.execute(f"SET ROLE {role}")
            try:
                log = _attack(conn)
            finally:
                conn.execute("RESET ROLE")
                conn.execute("DISCARD TEMP")
        assert [who for who, _ in log if who != role] == [], f"the writer's trigger ran as another role: {log}"
        assert log == [], f"the writer API touched the writer's temp table: {log}"
        assert conn.execute(SETTINGS).fetchall() == before, "the settings changed"
        assert not conn.execute(
            "SELECT has_table_privilege(%s, 'watchlist_data.settings', 'UPDATE')", (role,)
        ).fetchone()[0]
    finally:
        # undo what a successful attack did, so that a failure here leaves no trace
        for key, value, description in before:
            conn.execute(
                "UPDATE watchlist_data.settings SET value = %s, description = %s WHERE key = %s "
                "AND (value, description) IS DISTINCT FROM (%s, %s)",
                (value, description, key, value, description),
            )
        conn.execute(f"REVOKE ALL ON watchlist_data.settings FROM {role}")
        conn.execute("DELETE FROM watchlist_data.ingest_quarantine WHERE batch_id IN ('attack', 'attack-cols')")
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("fn", ["ingest_raw", "ingest_raw_columns"])
def test_the_writer_functions_reference_nothing_in_pg_temp(conn, fn):
    """No temp table, nothing qualified with pg_temp, in the owner-run writer functions."""
    src = conn.execute(
        "SELECT prosrc FROM pg_proc WHERE proname = %s AND pronamespace = 'watchlist'::regnamespace", (fn,)
    ).fetchone()[0]
    assert "pg_temp." not in src.lower() and "temp table" not in src.lower()
