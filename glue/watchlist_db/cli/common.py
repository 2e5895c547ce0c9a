"""What every command group shares: the target, one way to fail, one way to connect."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

import click
import psycopg

from .. import config


class Failure(click.ClickException):
    """A command cannot do what was asked: printed as ``error: ...`` (red, stderr), exit 1.
    Plain functions raise it; the demo catches it to carry on with the next step."""

    def show(self, file=None) -> None:
        click.secho(f"error: {self.format_message()}", fg="red", err=True)


def fail(msg: str) -> None:
    raise Failure(msg)


def target_of(ctx: click.Context) -> config.Target:
    return config.resolve_target((ctx.find_root().obj or {}).get("dsn"))


def db_error_message(target: config.Target, exc: psycopg.Error, *, connected: bool = True) -> str:
    """One wording for database errors, whichever command meets them."""
    if not connected:
        hint = "\n(start the embedded engine with `wldb db up`)" if target.embedded else ""
        return f"cannot connect: {str(exc).strip()}{hint}"
    if isinstance(
        exc, (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName)
    ):
        return f"{exc.diag.message_primary}: is watchlist-db installed and up to date? run `wldb migrate`"
    return (exc.diag.message_primary or str(exc)).strip()


@contextmanager
def connect(target: config.Target, **kwargs) -> Iterator[psycopg.Connection]:
    """Connect or fail: a connection for the block; every database error, at connect time
    or inside the block, becomes a Failure with a clear message."""
    try:
        conn = config.connect(target, **kwargs)
    except psycopg.Error as exc:
        raise Failure(db_error_message(target, exc, connected=False)) from exc
    try:
        with conn:
            yield conn
    except psycopg.Error as exc:
        raise Failure(db_error_message(target, exc)) from exc


def need_extra(module: str, extra: str, what: str, alternative: str = ""):
    """Import an optional dependency or fail naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        alt = f" ({alternative})" if alternative else ""
        raise Failure(f"{what} needs {module.split('.')[0]}: pip install 'watchlist-db[{extra}]'{alt}") from None
