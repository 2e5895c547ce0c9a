"""`wldb grant-login LOGIN --reader|--writer`: make an existing login a reader or writer of
this database with its session timeouts (watchlist.login_settings). The timeouts go on the
login itself, for this database (ALTER ROLE ... IN DATABASE ... SET): settings on the group
roles wl_reader / wl_writer never reach their members' sessions. Run it as an admin that
may grant the group and alter the login (a superuser, or CREATEROLE with ADMIN on both)."""

from __future__ import annotations

import click

from .. import config
from ..api import admin as admin_api
from .common import Failure, connect, target_of


def grant_login(conn, login: str, kind: str) -> list[tuple[str, str]]:
    """Grant wl_<kind> to LOGIN and set its timeouts in the current database; returns the
    (setting, value) pairs set."""
    if not admin_api.login_exists(conn, login):
        raise Failure(f"no role {login!r}: create the login first (CREATE ROLE {login} LOGIN PASSWORD '...')")
    settings = admin_api.login_settings(conn, kind)
    admin_api.grant_login(conn, login, kind, settings)
    return settings


@click.command("grant-login")
@click.argument("login")
@click.option("--reader", "kind", flag_value="reader", help="Read API (wl_reader), reader timeouts.")
@click.option("--writer", "kind", flag_value="writer", help="Writer API (wl_writer), writer timeouts.")
@click.pass_context
def grant_login_cmd(ctx: click.Context, login: str, kind: str | None) -> None:
    """Make LOGIN a reader or writer of this database, with its session timeouts."""
    if kind is None:
        raise click.UsageError("say --reader or --writer")
    target: config.Target = target_of(ctx)
    with connect(target, autocommit=True) as conn:
        settings = grant_login(conn, login, kind)
        db = conn.info.dbname
    click.echo(f"{login}: member of wl_{kind}; in database {db}: " + ", ".join(f"{s} = {v}" for s, v in settings))
