"""`wldb settings` and `wldb settings set`."""

from __future__ import annotations

import click

from .common import connect, target_of


@click.group(invoke_without_command=True)
@click.pass_context
def settings(ctx: click.Context) -> None:
    """Show the settings (retention, windows, event rules, horizons, job schedules)."""
    if ctx.invoked_subcommand:
        return
    with connect(target_of(ctx)) as conn:
        rows = conn.execute("SELECT key, value, description FROM watchlist.settings ORDER BY key").fetchall()
    for key, value, desc in rows:
        click.echo(f"{key:<24} {value:<18} {desc}")


@settings.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_context
def settings_set(ctx: click.Context, key: str, value: str) -> None:
    """Change a setting and re-apply the policies (as the owner)."""
    with connect(target_of(ctx)) as conn, conn.transaction():
        conn.execute("SET LOCAL ROLE wl_owner")
        rows = conn.execute("SELECT * FROM watchlist.set_setting(%s, %s)", (key, value)).fetchall()
    click.echo(f"{key} = {value}")
    for policy, tgt, action, detail in rows:
        if action != "unchanged":
            click.echo(f"  policy {policy} {tgt}: {action} ({detail})")
