"""`wldb migrate`."""

from __future__ import annotations

import click
import psycopg

from .. import config
from .. import migrate as migrate_mod
from .common import Failure, db_error_message, target_of


def run_migrate(target: config.Target, *, dry_run: bool = False) -> migrate_mod.Report:
    """Apply sql/ to the target, echoing what it does; Failure when it cannot."""
    click.echo(f"migrating {target.describe()}")
    try:
        report = migrate_mod.migrate(target, echo=click.echo, dry_run=dry_run)
    except migrate_mod.MigrationError as exc:
        raise Failure(str(exc)) from exc
    except psycopg.OperationalError as exc:
        raise Failure(db_error_message(target, exc, connected=False)) from exc
    if dry_run:
        click.echo(f"would apply {len(report.applied)} migration(s), {len(report.reapplied)} repeatable file(s)")
        for name in report.applied + report.reapplied:
            click.echo(f"  {name}")
    elif report.changed:
        click.echo(f"done: {len(report.applied)} migration(s), {len(report.reapplied)} repeatable file(s) applied")
    else:
        click.echo("up to date: nothing to apply")
    return report


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be applied; change nothing.")
@click.pass_context
def migrate(ctx: click.Context, dry_run: bool) -> None:
    """Apply sql/ (bootstrap, migrations, functions/views, policies). Re-running is a no-op."""
    run_migrate(target_of(ctx), dry_run=dry_run)
