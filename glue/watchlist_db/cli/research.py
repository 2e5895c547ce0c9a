"""`wldb chart`, `wldb ic`, `wldb export`: the research commands (the `research` extra:
matplotlib for the pictures, pyarrow for Parquet). Each command is a thin wrapper around a
plain function the demo calls too."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .. import config
from .. import research as research_mod
from .common import Failure, connect, need_extra, target_of

EXTRA = "research"


def _charts():
    need_extra("matplotlib", EXTRA, "drawing charts")
    from .. import charts

    return charts


def _time_option(_ctx, _param, value: str | None) -> datetime | None:
    try:
        return research_mod.parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _range(from_: str | None, to_: str | None, days: int) -> research_mod.Range:
    try:
        return research_mod.time_range(from_, to_, days)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


# ------------------------------------------------------------------------- chart
def write_chart(
    target: config.Target,
    exchange: str,
    symbol: str,
    *,
    hours: int = 12,
    now: datetime | None = None,
    out_png: str | None = None,
    out_html: str | None = None,
) -> None:
    """The app's chart of one symbol as PNG (and HTML). Failure when there is no data."""
    charts = _charts()
    exchange, symbol = exchange.lower(), symbol.upper()
    with connect(target) as conn:
        at = now or charts.fetch_now(conn)
        series = charts.fetch_series(conn, exchange, symbol, hours, at)
        metrics = charts.fetch_metrics(conn, exchange, symbol, at)
    if not any(not r["filled"] for r in series):
        raise Failure(
            f"no samples of {exchange} {symbol} in the {hours} h to {at:%Y-%m-%d %H:%M} UTC "
            "(check the spelling; --now for an older window)"
        )
    png = charts.render_chart(series, metrics, exchange, symbol, hours, at)
    if out_png is None and out_html is None:
        out_png = f"chart_{exchange}_{symbol.replace('/', '-').replace(':', '-')}.png"
    n_filled = sum(1 for r in series if r["filled"])
    n_marks = sum(len(r["markers"] or []) for r in series)
    click.echo(f"{exchange} {symbol}: {len(series)} buckets ({n_filled} gap-filled), {n_marks} marker(s)")
    if out_png:
        p = charts.write_bytes(out_png, png)
        w, h = charts.CHART_SIZE_PX
        click.echo(f"wrote {p} ({w}x{h} PNG, {len(png) // 1024} KiB)")
    if out_html:
        page = charts.chart_html(png, metrics, series, exchange, symbol, hours, at)
        p = charts.write_bytes(out_html, page.encode("utf-8"))
        click.echo(f"wrote {p} (HTML with the chart embedded and the metrics table)")


@click.command("chart")
@click.argument("exchange")
@click.argument("symbol")
@click.option("--hours", default=12, show_default=True, type=click.IntRange(1, 168), help="Window length.")
@click.option(
    "--out",
    "out_png",
    type=click.Path(dir_okay=False),
    default=None,
    help="PNG to write (default: chart_EXCHANGE_SYMBOL.png, unless only --html is given).",
)
@click.option(
    "--html",
    "out_html",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a self-contained HTML page: the PNG embedded plus a table of the metrics.",
)
@click.option(
    "--now",
    "now",
    callback=_time_option,
    default=None,
    help="End of the window (ISO 8601; default: the database's now()). Naive times are UTC.",
)
@click.pass_context
def chart_cmd(ctx, exchange, symbol, hours, out_png, out_html, now) -> None:
    """The app's watchlist chart of one symbol, as PNG (and HTML).

    \b
    From watchlist.series (5-minute buckets, gap-filled) and watchlist.metrics:
      spread_rel (gap-filled buckets shaded, drawn lighter), 15-minute midline,
      window baseline, spot and futures prices (lower panel), event open/close
      points and funding times; the title carries latest spread, mean/sigma 12 h,
      z-score, slope and next funding."""
    write_chart(target_of(ctx), exchange, symbol, hours=hours, now=now, out_png=out_png, out_html=out_html)


_range_options = [
    click.option(
        "--from",
        "from_",
        default=None,
        help="Events entered (confirmed) at or after (ISO 8601 date or time; naive = UTC).",
    ),
    click.option("--to", "to_", default=None, help="... and before (default: now)."),
    click.option(
        "--days", default=30, show_default=True, type=click.IntRange(1), help="Range length when --from is not given."
    ),
    click.option(
        "--signal-type", type=click.Choice(["A", "B", "C"]), default=None, help="Only events of this signal type."
    ),
    click.option("--exchange", default=None, help="Only events of this exchange."),
]


def _with_range_options(f):
    for opt in reversed(_range_options):
        f = opt(f)
    return f


# ---------------------------------------------------------------------------- ic
def write_ic(
    target: config.Target,
    rng: research_mod.Range,
    *,
    metric: str = "pnl",
    period: str = "1 day",
    min_events: int = 5,
    signal_type: str | None = None,
    exchange: str | None = None,
    factor: str | None = None,
    horizons: tuple[int, ...] = (),
    fmt: str = "table",
    out: str | None = None,
    report: str | None = None,
    top: int = 5,
    folds: int = 5,
) -> list[dict]:
    """watchlist.factor_leaderboard as a table / CSV / JSON (stdout or a file), and optionally the
    PNG report: the leaderboard's panels and the event study, and beside it (FILE_walk_forward.png)
    the anchored walk-forward over `folds` folds with its PBO. Returns the walk-forward rows
    drawn (none without a report, or when the window has too few periods for the folds).
    Failure when there is nothing to show."""
    charts = _charts() if report else None
    horizons = tuple(horizons)
    with connect(target) as conn:
        cols, all_rows = research_mod.fetch_ic(conn, rng, metric, period, min_events, signal_type, exchange, factor)
        rows = [r for r in all_rows if not horizons or r["horizon_min"] in horizons]
        per = []
        if rows and report:
            per = research_mod.fetch_ic_by_period(
                conn, rng, metric, period, min_events, signal_type, exchange, factor, horizons
            )
        summary = None if all_rows else research_mod.labelled_summary(conn, rng, signal_type, exchange)
    if not all_rows:
        raise Failure(research_mod.no_data_message(summary, rng, "factor IC"))
    if not rows:
        known = ", ".join(str(h) for h in sorted({r["horizon_min"] for r in all_rows}))
        raise Failure(
            f"no factor IC at horizon(s) {', '.join(map(str, horizons))} min; the labels have "
            f"{known} (setting outcome_horizons_min)"
        )
    if fmt == "table":
        text = research_mod.format_ic_table(rows, rng, metric, period, min_events)
    elif fmt == "csv":
        text = research_mod.rows_csv(cols, rows)
    else:
        text = research_mod.rows_json(cols, rows)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} row(s) ({fmt}) to {out}")
    else:
        click.echo(text, nl=False)
    if report:
        title = f"factor IC of {metric}, events {rng}, period {period}"
        unit = f"mean {metric} ({research_mod.METRIC_UNITS[metric]})"
        study_factor = (charts.top_factors(rows, 1) or [None])[0]
        study = []
        if study_factor:
            with connect(target) as conn:
                study = research_mod.fetch_event_study(conn, rng, study_factor, signal_type, exchange, period)
        png = charts.render_ic_report(rows, per, top, title, unit, study, study_factor)
        p = charts.write_bytes(report, png)
        click.echo(f"wrote report {p}", err=fmt != "table" and not out)  # keep csv/json on stdout parseable
        return _walk_forward_report(target, rng, folds, metric, period, min_events, signal_type, exchange, factor,
                                    horizons, Path(report), quiet=fmt != "table" and not out)  # fmt: skip
    return []


def _walk_forward_report(target, rng, folds, metric, period, min_events, signal_type, exchange, factor, horizons,
                         report: Path, quiet: bool) -> list[dict]:  # fmt: skip
    """The out-of-sample page of the report: the anchored walk-forward and the PBO (8 blocks),
    drawn next to it; either is left out, with the reason, when the window has too few periods."""
    import psycopg

    args = (metric, period, min_events, signal_type, exchange, factor)
    with connect(target) as conn:
        try:
            rows = research_mod.fetch_walk_forward(conn, rng, folds, *args, horizons=horizons)
        except psycopg.errors.InvalidParameterValue as exc:
            click.echo(f"walk-forward not drawn: {exc.diag.message_primary}", err=quiet)
            return []
        try:
            pbo = research_mod.fetch_pbo(conn, rng, 8, *args, horizons=horizons) if rows else []
        except psycopg.errors.InvalidParameterValue as exc:
            click.echo(f"PBO not drawn: {exc.diag.message_primary}", err=quiet)
            pbo = []
    if not rows:
        return []
    title = f"walk-forward (anchored, {folds} folds) of {metric}, events {rng}, period {period}"
    charts = _charts()
    p = charts.write_bytes(
        report.with_name(report.stem + "_walk_forward.png"), charts.render_walk_forward(rows, pbo, title)
    )
    click.echo(f"wrote report {p}", err=quiet)
    return rows


def write_walk_forward(
    target: config.Target,
    rng: research_mod.Range,
    *,
    folds: int = 5,
    scheme: str = "anchored",
    pbo_blocks: int = 8,
    metric: str = "pnl",
    period: str = "1 day",
    min_events: int = 5,
    signal_type: str | None = None,
    exchange: str | None = None,
    factor: str | None = None,
    horizons: tuple[int, ...] = (),
    fmt: str = "table",
    out: str | None = None,
    report: str | None = None,
) -> None:
    """watchlist.factor_walk_forward and watchlist.factor_pbo as a table / CSV / JSON (the
    walk-forward rows; the PBO rows only in the table), and optionally the PNG report."""
    charts = _charts() if report else None
    horizons = tuple(horizons)
    args = (metric, period, min_events, signal_type, exchange, factor)
    with connect(target) as conn:
        rows = research_mod.fetch_walk_forward(conn, rng, folds, *args, scheme=scheme, horizons=horizons)
        pbo = research_mod.fetch_pbo(conn, rng, pbo_blocks, *args, horizons=horizons) if rows else []
        summary = None if rows else research_mod.labelled_summary(conn, rng, signal_type, exchange)
    if not rows:
        raise Failure(research_mod.no_data_message(summary, rng, "the walk-forward"))
    if fmt == "table":
        text = research_mod.format_walk_forward(rows, pbo, rng, metric, period, folds, scheme)
    elif fmt == "csv":
        text = research_mod.rows_csv(list(rows[0]), rows)
    else:
        text = research_mod.rows_json(list(rows[0]), rows)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} row(s) ({fmt}) to {out}")
    else:
        click.echo(text, nl=False)
    if report:
        title = f"walk-forward ({scheme}, {folds} folds) of {metric}, events {rng}, period {period}"
        png = charts.render_walk_forward(rows, pbo, title)
        p = charts.write_bytes(report, png)
        click.echo(f"wrote report {p}", err=fmt != "table" and not out)


@click.command("ic")
@_with_range_options
@click.option(
    "--metric",
    type=click.Choice(list(research_mod.METRICS)),
    default="pnl",
    show_default=True,
    help="Outcome the factors are correlated with.",
)
@click.option("--period", default="1 day", show_default=True, help="IC period (a PostgreSQL interval).")
@click.option(
    "--min-events",
    default=5,
    show_default=True,
    type=click.IntRange(2),
    help="Fewer events in a period: skipped.",
)
@click.option("--factor", default=None, help="Only this factor (e.g. spread_zscore_1h, meta.rsi_14).")
@click.option("--horizon", "horizons", type=int, multiple=True, help="Only this horizon in minutes (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), default=None, help="Write the output here instead of stdout."
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw a PNG: mean IC by horizon, cumulative IC over time, quintile outcomes, and the event "
    "study of the top factor (mean excess pnl path by quintile, minute by minute).",
)
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 10), help="Factors shown in --report.")
@click.option(
    "--delays",
    default=None,
    expose_value=False,
    callback=lambda c, _p, v: c.meta.__setitem__("ic_delays", _delays_option(v)),
    help="Instead: the pnl verdict at these entry delays in minutes after the confirmation, e.g. 0,1,2,5 "
    "(watchlist.factor_leaderboard_by_delay).",
)
@click.option(
    "--walk-forward",
    "walk_forward",
    is_flag=True,
    help="Out-of-sample verdicts instead: factors selected by the leaderboard's rule on purged training folds, "
    "scored on the test folds (watchlist.factor_walk_forward), and the probability of backtest overfitting "
    "(watchlist.factor_pbo); --report draws them.",
)
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2), help="Walk-forward folds.")
@click.option(
    "--scheme",
    type=click.Choice(["anchored", "kfold"]),
    default="anchored",
    show_default=True,
    help="Walk-forward: anchored (expanding past-only training) or purged, embargoed k-fold.",
)
@click.option(
    "--pbo-blocks", default=8, show_default=True, type=click.IntRange(2, 16), help="Walk-forward: CSCV blocks S (even)."
)
@click.pass_context
def ic_cmd(
    ctx,
    from_,
    to_,
    days,
    signal_type,
    exchange,
    metric,
    period,
    min_events,
    factor,
    horizons,
    fmt,
    out,
    report,
    top,
    walk_forward,
    folds,
    scheme,
    pbo_blocks,
) -> None:
    """Which factors predict outcomes: watchlist.factor_leaderboard, one row per factor x horizon.

    \b
    table: one table per horizon, ranked by Benjamini-Hochberg q-value (ties by |HAC t|);
    rows below the minimum sample (settings factor_lab_min_periods / _min_eff_events) are
    shown unranked; rank IC with its 95% interval, Newey-West t and p, q, periods, events
    and effective events, q5 - q1 with its t; csv / json: every column. Every run is a
    recorded trial (docs/factor-lab.md).

    \b
    --walk-forward: per horizon, each factor's out-of-sample rank IC pooled over the test
    folds with its Newey-West 95% interval, periods and events, how many folds selected it
    in training, per-fold ICs, and the PBO (CSCV) line; csv / json: every walk-forward row."""
    if walk_forward:
        write_walk_forward(
            target_of(ctx),
            _range(from_, to_, days),
            folds=folds,
            scheme=scheme,
            pbo_blocks=pbo_blocks,
            metric=metric,
            period=period,
            min_events=min_events,
            signal_type=signal_type,
            exchange=exchange,
            factor=factor,
            horizons=horizons,
            fmt=fmt,
            out=out,
            report=report,
        )
        return
    if ctx.meta.get("ic_delays") is not None:
        args = (period, min_events, signal_type, exchange, factor, horizons, fmt, out)
        return write_ic_delays(target_of(ctx), _range(from_, to_, days), ctx.meta["ic_delays"], *args)
    write_ic(
        target_of(ctx),
        _range(from_, to_, days),
        metric=metric,
        period=period,
        min_events=min_events,
        signal_type=signal_type,
        exchange=exchange,
        factor=factor,
        horizons=horizons,
        fmt=fmt,
        out=out,
        report=report,
        top=top,
        folds=folds,
    )


# ------------------------------------------------------------------------ export
def write_export(
    target: config.Target,
    rng: research_mod.Range,
    out: str,
    *,
    signal_type: str | None = None,
    exchange: str | None = None,
) -> None:
    """The research frame (watchlist.export_frame, expanded) to CSV or Parquet."""
    try:
        kind = research_mod.export_format(out)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    if kind == "parquet":
        need_extra("pyarrow", EXTRA, "writing Parquet", "or write CSV: --out FILE.csv")
    with connect(target) as conn:
        rows = research_mod.fetch_export(conn, rng, signal_type, exchange)
        summary = None if rows else research_mod.labelled_summary(conn, rng, signal_type, exchange)
    if not rows:
        raise Failure(research_mod.no_data_message(summary, rng, "the export", need_covered=False))
    cols, recs = research_mod.expand_frame(rows)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        research_mod.write_export_csv(path, cols, recs)
    else:
        research_mod.write_export_parquet(path, cols, recs)
    n_events = len({r["event_id"] for r in recs})
    n_horizons = len({r["horizon_min"] for r in recs})
    n_factors = sum(1 for c in cols if c.startswith("factor_"))
    click.echo(
        f"wrote {len(recs)} row(s) x {len(cols)} column(s) to {path} ({kind}): {n_events} event(s), "
        f"{n_horizons} horizon(s), {n_factors} factor column(s)"
    )


@click.command("export")
@_with_range_options
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="FILE.csv or FILE.parquet")
@click.pass_context
def export_cmd(ctx, from_, to_, days, signal_type, exchange, out) -> None:
    """Write the research frame: one row per confirmed event x horizon (watchlist.export_frame),
    factors expanded to factor_<name> columns and the label to label_<key> columns.
    Parquet needs pyarrow (the `research` extra)."""
    write_export(target_of(ctx), _range(from_, to_, days), out, signal_type=signal_type, exchange=exchange)


# ------------------------------------------------------------------- ic --delays
def _delays_option(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        out = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of minutes, e.g. 0,1,2,5") from None
    if not out or any(d < 0 or d > 1440 for d in out):
        raise click.BadParameter(f"{value!r}: delays are whole minutes in 0 .. 1440, e.g. 0,1,2,5")
    return out


def _num(v, spec: str) -> str:
    return "" if v is None else format(v, spec)


def write_ic_delays(target, rng, delays, period, min_events, signal_type, exchange, factor, horizons, fmt, out):
    """watchlist.factor_leaderboard_by_delay: each factor x horizon's pnl verdict at each entry
    delay (table / CSV / JSON, stdout or a file). Failure when there is nothing to show."""
    with connect(target) as conn:
        names, rows = research_mod.fetch_ic_by_delay(
            conn, rng, delays, period, min_events, signal_type, exchange, factor, tuple(horizons or ())
        )
    if not rows:
        raise Failure(f"no factor verdicts for events {rng}: labelled events with factor values are needed")
    if fmt == "csv":
        text = research_mod.rows_csv(names, rows)
    elif fmt == "json":
        text = research_mod.rows_json(names, rows)
    else:
        lines = [
            f"factor verdicts of pnl by entry delay (minutes after the confirmation), events {rng}, period {period}"
        ]
        lines.append(
            f"{'factor':32} {'h':>4} {'delay':>5} {'rank IC':>8} {'95% interval':>17} {'t':>6} {'q':>6} {'n':>5} {'vs 0':>7}"
        )
        for r in rows:
            ci = f"[{_num(r['ci_lo'], '+.3f')}, {_num(r['ci_hi'], '+.3f')}]" if r["ci_lo"] is not None else ""
            lines.append(
                f"{r['factor'][:32]:32} {r['horizon_min']:>4} {r['delay_min']:>5} {_num(r['mean_rank_ic'], '+.3f'):>8} "
                f"{ci:>17} {_num(r['hac_t'], '+.2f'):>6} {_num(r['q_value'], '.3f'):>6} {r['n_events']:>5} "
                f"{_num(r['rank_ic_change'], '+.3f'):>7}"
            )
        text = "\n".join(lines) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} row(s) ({fmt}) to {out}")
    else:
        click.echo(text, nl=False)
