"""`wldb settings` and `wldb settings set`."""

from __future__ import annotations

import click

from ..api import admin as admin_api
from ..api import ops as ops_api
from .common import connect, target_of


@click.group(invoke_without_command=True)
@click.pass_context
def settings(ctx: click.Context) -> None:
    """Show the settings (retention, windows, event rules, horizons, job schedules)."""
    if ctx.invoked_subcommand:
        return
    with connect(target_of(ctx)) as conn:
        rows = ops_api.settings(conn)
    for key, value, desc in rows:
        click.echo(f"{key:<24} {value:<18} {desc}")


@settings.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_context
def settings_set(ctx: click.Context, key: str, value: str) -> None:
    """Change a setting and re-apply the policies (as the owner)."""
    with connect(target_of(ctx)) as conn, conn.transaction():
        admin_api.as_owner(conn, local=True)
        rows = ops_api.set_setting(conn, key, value)
    click.echo(f"{key} = {value}")
    for policy, tgt, action, detail in rows:
        if action != "unchanged":
            click.echo(f"  policy {policy} {tgt}: {action} ({detail})")
