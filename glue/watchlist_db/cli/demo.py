"""`wldb demo`: the main job on sample data, step by step through the same plain
functions the commands use (no command is invoked from another)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import demo as demo_mod
from .. import research as research_mod
from .common import Failure, fail, target_of
from .db import engine_up
from .migrate import run_migrate
from .research import write_chart, write_export, write_ic


@click.command()
@click.option("--days", default=3.0, show_default=True, help="Days of 1-minute sample data to stream.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="out",
    show_default=True,
    help="Where the chart PNG and the IC report go.",
)
@click.option(
    "--allow-server",
    is_flag=True,
    help="Run on a configured server too (it writes and replaces sample rows there).",
)
@click.pass_context
def demo(ctx: click.Context, days: float, out_dir: str, allow_server: bool) -> None:
    """The main job on sample data: start the embedded engine, migrate, stream a realistic
    sample through the insert hook, run the jobs as the scheduler would, and summarise."""
    target = target_of(ctx)
    if not target.embedded and not allow_server:
        fail(
            f"a server is configured ({target.describe()}); the demo writes sample rows: "
            "pass --allow-server to run it there"
        )
    if target.embedded:
        engine_up(target)
    run_migrate(target)
    res = demo_mod.run(target, days=days)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pair = demo_mod.sample.pairs()[0]
    files = {
        "chart (PNG)": out / "chart.png",
        "chart (HTML)": out / "chart.html",
        "IC report (PNG)": out / "ic_report.png",
        "walk-forward report (PNG)": out / "ic_report_walk_forward.png",
        "IC table (CSV)": out / "ic.csv",
        "event x horizon frame (CSV)": out / "events.csv",
    }
    rng = research_mod.Range(res.start, res.end)  # the leaderboard's window in the summary
    steps = [
        (
            "chart",
            lambda: write_chart(
                target,
                pair.exchange,
                pair.symbol,
                out_png=str(files["chart (PNG)"]),
                out_html=str(files["chart (HTML)"]),
            ),
        ),
        (
            "ic",
            lambda: setattr(
                res,
                "walk_forward",
                [
                    r
                    for r in write_ic(
                        target,
                        rng,
                        period="4 hours",
                        fmt="csv",
                        out=str(files["IC table (CSV)"]),
                        report=str(files["IC report (PNG)"]),
                        folds=res.wf_folds,
                    )
                    if r["fold"] is None
                ],
            ),
        ),
        ("export", lambda: write_export(target, rng, str(files["event x horizon frame (CSV)"]))),
    ]
    for name, step in steps:
        try:
            step()
        except Failure as exc:
            click.echo(f"({name} did not complete: {exc.format_message().splitlines()[0]})")
    written = {k: (v if v.exists() else None) for k, v in files.items()}
    click.echo(demo_mod.summary(res, written))
