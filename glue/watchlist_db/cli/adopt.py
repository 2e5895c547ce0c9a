"""`wldb adopt`: take over a watchlist database built before watchlist-db.

The logic is SQL (sql/adopt/adopt.sql defines schema watchlist_adopt and its functions;
sql/adopt/rollback.sql undoes an adoption); this glue runs it in order, each step in its
own transaction, and prints what the functions return. See docs/adopting.md."""

from __future__ import annotations

import click
import psycopg

from .. import config
from .. import migrate as migrate_mod
from ..api import adopt as adopt_api
from .common import Failure, connect, target_of


def _error(exc: psycopg.Error) -> str:
    diag = exc.diag
    hint = f"\nhint: {diag.message_hint}" if diag.message_hint else ""
    return f"{(diag.message_primary or str(exc)).strip()}{hint}"


def show_plan(conn: psycopg.Connection) -> list[tuple]:
    """Define the adoption functions and read the plan inside a transaction that is rolled
    back: the database is left exactly as it was."""
    with conn.transaction(force_rollback=True):
        adopt_api.define(conn)
        rows = adopt_api.plan(conn)
    last = None
    for section, item, detail in rows:
        if section != last:
            click.echo(f"{section}:")
            last = section
        click.echo(f"  {item}: {detail}")
    return rows


def apply(conn: psycopg.Connection, target: config.Target) -> None:
    def step(name: str) -> str:
        with conn.transaction():
            out = adopt_api.step(conn, name)
        click.echo(f"  {out}")
        return out

    try:
        with conn.transaction():  # one transaction: a blocked apply leaves no trace either
            adopt_api.define(conn)
            adopt_api.preflight(conn)
        step("move_aside")
        step("take_ownership")
    except psycopg.Error as exc:
        raise Failure(_error(exc)) from exc
    click.echo("  migrating (wldb migrate)")
    try:
        migrate_mod.migrate(target, echo=lambda msg: None)
    except migrate_mod.MigrationError as exc:
        raise Failure(f"{exc}\n(the adoption resumes from here with `wldb adopt --apply`)") from exc
    try:
        with conn.transaction():
            adopt_api.mark(conn, "migrate")
        step("import_refs")
        batches = adopt_api.raw_batches(conn)
        for day, pass_ in batches:
            with conn.transaction():
                b = adopt_api.import_raw(conn, day, pass_)
            click.echo(
                f"  raw {day} pass {pass_}: {b[0]} rows: {b[1]} stored, {b[2]} duplicates, {b[3]} to ingest_rejects"
            )
        step("finish_raw")
        step("import_trades")
        step("rederive")
        with conn.transaction():
            adopt_api.mark(conn, "adopted")
        rows = adopt_api.summary(conn)
    except psycopg.Error as exc:
        raise Failure(f"{_error(exc)}\n(the adoption resumes from here with `wldb adopt --apply`)") from exc
    click.echo("summary (legacy rows -> stored / duplicates / refused):")
    for item, legacy, stored, dups, refused, note in rows:
        parts = [f"{legacy if legacy is not None else 0} legacy", f"{stored if stored is not None else 0} stored"]
        if dups is not None:
            parts.append(f"{dups} duplicates")
        if refused is not None:
            parts.append(f"{refused} refused")
        click.echo(f"  {item}: {', '.join(parts)}{f'  ({note})' if note else ''}")
    click.echo(
        "adopted. Remove the crontab line running scripts/manage_watchlist_partitions.sh; check with `wldb status`."
    )


def rollback(conn: psycopg.Connection, do_it: bool) -> None:
    if not do_it:
        try:
            lost = adopt_api.rows_since_adoption(conn)
        except psycopg.Error:
            conn.rollback()
            lost = None
        click.echo(
            "rollback would: delete watchlist-db's jobs, drop schemas watchlist (API), watchlist_data (tables) and "
            "watchlist_adopt, rename watchlist_legacy back to watchlist and restore its owner and the database's owner."
        )
        if lost is not None:
            click.echo(f"  raw rows written since the adoption would be lost: {lost} (take a pg_dump first)")
        click.echo("nothing changed; run `wldb adopt --rollback --apply` to roll back")
        return
    try:
        with conn.transaction():
            adopt_api.roll_back(conn)
    except psycopg.Error as exc:
        raise Failure(_error(exc)) from exc
    click.echo("rolled back: schema watchlist is the legacy schema again; re-enable the partition cron line")


@click.command()
@click.option("--apply", "do_apply", is_flag=True, help="Carry the plan out (resumable; re-running is a no-op).")
@click.option(
    "--rollback", "do_rollback", is_flag=True, help="Undo an adoption (with --apply; without: say what it does)."
)
@click.pass_context
def adopt(ctx: click.Context, do_apply: bool, do_rollback: bool) -> None:
    """Adopt a watchlist database built before watchlist-db: without --apply print the plan
    and change nothing; --apply moves the legacy tables aside, migrates, imports and
    re-derives (run as a superuser)."""
    target = target_of(ctx)
    click.echo(f"adopting {target.describe()}")
    with connect(target, autocommit=True) as conn:
        if do_rollback:
            rollback(conn, do_apply)
        elif do_apply:
            apply(conn, target)
        else:
            rows = show_plan(conn)
            if any(r[0] == "BLOCKED" for r in rows):
                raise Failure("nothing changed; resolve what is BLOCKED above first")
            click.echo("nothing changed; run `wldb adopt --apply` to carry this out")
