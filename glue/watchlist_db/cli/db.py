"""`wldb db up | down | status | env | psql`: the embedded engine."""

from __future__ import annotations

import os
import shutil
import sys

import click

from .. import config
from ..engine import EmbeddedEngine, EngineError
from .common import Failure, fail, target_of


@click.group()
def db() -> None:
    """Run the embedded engine (when no server is configured)."""


def _engine_or_none(target: config.Target) -> EmbeddedEngine | None:
    if not target.embedded:
        click.echo(f"a server is configured ({target.describe()}); the embedded engine is not used")
        return None
    return EmbeddedEngine()


def engine_up(target: config.Target) -> None:
    """Start the embedded engine, or report the running one (no-op for a server)."""
    eng = _engine_or_none(target)
    if eng is None:
        return
    before = eng.status()
    try:
        st = eng.up(echo=click.echo)
    except EngineError as exc:
        raise Failure(str(exc)) from exc
    if before.state == "running":
        click.echo(f"already running: {st.detail}")
    else:
        click.echo(f"started: {st.detail} (data in {eng.pgdata})")
    click.echo('connect with:  wldb db psql    or:  eval "$(wldb db env)"; psql')


@db.command("up")
@click.pass_context
def db_up(ctx: click.Context) -> None:
    """Start the embedded engine (or report the running one)."""
    engine_up(target_of(ctx))


@db.command("down")
@click.pass_context
def db_down(ctx: click.Context) -> None:
    """Stop the embedded engine cleanly."""
    eng = _engine_or_none(target_of(ctx))
    if eng is not None:
        click.echo(eng.down())


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """Is the embedded engine running? Exit 0 running, 1 crashed/unresponsive, 3 stopped."""
    eng = _engine_or_none(target_of(ctx))
    if eng is None:
        return
    st = eng.status()
    click.echo(f"{st.state}: {st.detail}")
    sys.exit({"running": 0, "stopped": 3}.get(st.state, 1))


def shell_quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


def env_lines(target: config.Target) -> list[str]:
    """Shell lines that point psql/pg_prove at the target."""
    if target.embedded:
        return list(EmbeddedEngine().env_lines())
    if not target.conninfo:
        return []  # libpq environment: nothing to add
    try:
        env = config.libpq_env(target.conninfo)
    except ValueError as exc:
        raise Failure(str(exc)) from exc
    # variables the connection string does not set are unset, so a stale PGHOST or
    # PGDATABASE from the shell cannot mix with the target
    lines = [f"unset {var}" for var in sorted(set(config.LIBPQ_ENV.values()) - set(env))]
    return lines + [f"export {var}={shell_quote(value)}" for var, value in env.items()]


@db.command("env")
@click.pass_context
def db_env(ctx: click.Context) -> None:
    """Print shell exports that point psql/pg_prove at the database."""
    for line in env_lines(target_of(ctx)):
        click.echo(line)


@db.command("psql", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def db_psql(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Open psql on the database (extra arguments go to psql)."""
    psql = shutil.which("psql")
    if not psql:
        fail("psql is not on PATH (Debian: apt-get install postgresql-client)")
    target = target_of(ctx)
    argv = [psql, "-X", "-d", target.conninfo, *args] if target.conninfo else [psql, "-X", *args]
    os.execvp(psql, argv)
