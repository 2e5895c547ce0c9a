"""Logins and roles: which login may use which API, its session timeouts, and acting as
the owner for the owner-only functions."""

from __future__ import annotations

from psycopg import sql


def as_owner(conn, *, local: bool = False) -> None:
    """Act as wl_owner: for the transaction (``local``, which must be open) or the session."""
    conn.execute("SET LOCAL ROLE wl_owner" if local else "SET ROLE wl_owner")


def reset_role(conn) -> None:
    conn.execute("RESET ROLE")


def login_exists(conn, login: str) -> bool:
    """True when a role of that name exists (a login or not)."""
    return bool(conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (login,)).fetchone())


def login_settings(conn, kind: str) -> list[tuple[str, str]]:
    """(setting, value): the session timeouts a ``kind`` ('reader' / 'writer') login gets."""
    return conn.execute("SELECT setting, value FROM watchlist.login_settings(%s)", (kind,)).fetchall()


def grant_login(conn, login: str, kind: str, settings: list[tuple[str, str]]) -> None:
    """Grant wl_<kind> to ``login`` and set ``settings`` on it in the current database,
    in one transaction."""
    db = conn.info.dbname
    with conn.transaction():
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(f"wl_{kind}"), sql.Identifier(login)))
        for setting, value in settings:
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {}").format(
                    sql.Identifier(login), sql.Identifier(db), sql.Identifier(setting), sql.Literal(value)
                )
            )
