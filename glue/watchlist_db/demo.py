"""The main job end to end on sample data (``wldb demo``): stream a few days of a realistic
watchlist through the real insert hook, run the jobs as the scheduler would, and summarise.

Simulated time: the sample ends at the current minute; the data is streamed one simulated
hour at a time and after each hour the event merge and the outcome labelling run with
p_now = the end of that hour, exactly as their jobs would have at that moment. Then the
continuous aggregates are refreshed, chunks past the compression age are compressed and
the remaining due jobs run. A previous demo's rows (meta.notes = 'sample') are removed first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from . import config, sample
from . import jobs as jobs_mod
from .api import admin as admin_api
from .api import demo as demo_api
from .api import ops as ops_api
from .writer import Writer


@dataclass
class DemoResult:
    rows_submitted: int = 0
    writer: dict = field(default_factory=dict)
    raw_rows: int = 0
    events: dict = field(default_factory=dict)
    labels: list = field(default_factory=list)
    compression: tuple | None = None
    top_factors: list = field(default_factory=list)
    walk_forward: list = field(default_factory=list)  # pooled rows, set by the report (cli/demo.py)
    wf_folds: int = 3
    leaderboard: list = field(default_factory=list)
    factor_rows: int = 0
    min_periods: int = 0
    min_eff_events: float = 0.0
    seconds: float = 0.0
    start: datetime | None = None  # the sample's span [start, end)
    end: datetime | None = None


def _clear_previous(conn) -> int:
    """Remove an earlier demo's data through the owner-only API (events cascade to labels)."""
    keys = [{"exchange": p.exchange, "symbol": p.symbol} for p in sample.pairs()]
    return ops_api.purge_keys(conn, keys, "sample")


def run(target: config.Target, days: float = 3.0, echo=click.echo, spool_path: Path | None = None) -> DemoResult:
    t_start = time.monotonic()
    res = DemoResult()
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=int(days * 1440))
    res.start, res.end = start, end
    pairs = sample.pairs()
    with config.connect(target) as conn:
        admin_api.as_owner(conn)
        removed = _clear_previous(conn)
    if removed:
        echo(f"removed {removed:,} rows of an earlier demo")

    from .spool import default_spool_path

    spool = spool_path or default_spool_path()
    hours = int(days * 24)
    total_minutes = int(days * 1440)
    writer = Writer(target=target, spool_path=spool, max_delay_s=0.5, max_batch_rows=2400)
    dropped_symbol = pairs[3]
    try:
        writer.submit_symbol_refs(
            [
                {
                    "exchange": p.exchange,
                    "symbol": p.symbol,
                    "base": p.symbol[:-4],
                    "quote": "USDT",
                    "liquidity_tier": 1 + i % 5,
                }
                for i, p in enumerate(pairs)
            ]
        )
        members = [{"exchange": p.exchange, "symbol": p.symbol} for p in pairs]
        writer.submit_membership(members, start)
        gen = sample.generate(days=days, start=start)
        label = f"streaming {len(pairs)} pairs x {total_minutes:,} minutes through the insert hook"
        with click.progressbar(length=hours, label=label, show_eta=True, show_pos=True) as bar:
            for h in range(hours):
                hour_end = start + timedelta(hours=h + 1)
                for _ in range(60):
                    minute, snap = next(gen)
                    res.rows_submitted += writer.submit(snap, at=minute)
                # the watchlist changes: one pair leaves for a day and comes back
                if h == 24:
                    writer.submit_membership(
                        [
                            m
                            for m in members
                            if m["symbol"] != dropped_symbol.symbol or m["exchange"] != dropped_symbol.exchange
                        ],
                        hour_end,
                    )
                if h == 48:
                    writer.submit_membership(members, hour_end)
                if not writer.drain(timeout=120):
                    echo("\nwarning: the writer could not flush within 120 s (see `wldb spool status`)")
                with config.connect(target) as conn:
                    ops_api.merge_events_incremental(conn, hour_end)
                    ops_api.label_outcomes_incremental(conn, hour_end)
                bar.update(1)
    finally:
        res.writer = writer.close(timeout=60)

    echo("refreshing continuous aggregates, compressing old chunks, running due jobs ...")
    with jobs_mod.connect_for_jobs(target) as conn:
        for view in ("watchlist_series_agg", "typea_stats_1h"):
            ops_api.refresh_continuous_aggregate(conn, view, start - timedelta(hours=1), end - timedelta(minutes=5))
        ops_api.merge_events_incremental(conn, None)
        ops_api.label_outcomes_incremental(conn, None)
        runs = jobs_mod.run_due(conn)
        # compress what is past the compression age now, due or not, to show the ratio
        runs.append(jobs_mod.run_job(conn, jobs_mod.resolve(conn, "compress")))
        failed = [r for r in runs if not r.ok]
        for r in failed:
            echo(f"job {r.proc_name} failed: {r.error}")
        res.raw_rows = demo_api.raw_rows(conn, start)
        res.events = demo_api.events_by_status(conn, start)
        res.labels = demo_api.labels_by_horizon(conn, start)
        res.compression = ops_api.storage_report(conn, "watchlist_data.watch_signal_raw")
        # the database factors over the whole span, now (not at the factor job's next run,
        # which on a real server comes after the demo and only covers its look-back)
        res.factor_rows = ops_api.compute_factors(conn, start - timedelta(minutes=5), end)
        res.min_periods, res.min_eff_events = ops_api.factor_lab_thresholds(conn)
        res.leaderboard = demo_api.leaderboard(conn, start, end)
        res.top_factors = [r for r in res.leaderboard if r["rank"] is not None][:8]
    res.seconds = time.monotonic() - t_start
    return res


def summary(res: DemoResult, files: dict[str, Path | None]) -> str:
    w = res.writer
    lines = [
        "",
        "watchlist-db demo summary",
        "=" * 25,
        f"rows streamed through the hook : {res.rows_submitted:,} (written {w.get('written', 0):,}, "
        f"duplicates {w.get('duplicates', 0):,}, quarantined {w.get('quarantined', 0):,}, dropped {w.get('dropped', 0):,})",
        f"raw rows stored                : {res.raw_rows:,}",
        "events                         : " + ", ".join(f"{n:,} {s}" for s, n in sorted(res.events.items())),
    ]
    if res.compression:
        cc, ch, before, after = res.compression
        ratio = (
            f"{before / after:.1f}x ({before / 1024 / 1024:.1f} MiB -> {after / 1024 / 1024:.1f} MiB)"
            if before and after
            else "n/a"
        )
        lines.append(f"compression                    : {cc} of {ch} raw chunks compressed, ratio {ratio}")
    lines.append("outcome labels (pnl in bps)    :")
    for h, n, cov, mean, win in res.labels:
        mean_txt = f"{mean:8.2f}" if mean is not None else "       -"
        win_txt = f"{100 * float(win):5.1f}%" if win is not None else "    -"
        lines.append(f"   {h:>4} min: {n:>6,} labels, {cov:>6,} covered, mean pnl {mean_txt}, win rate {win_txt}")
    lines += _leaderboard_lines(res)
    lines += _walk_forward_lines(res)
    for what, path in files.items():
        lines.append(f"{what:<31}: {path if path else 'not written'}")
    lines.append(f"took {res.seconds:.0f} s")
    return "\n".join(lines)


def _row_text(r: dict) -> str:
    if r["test"] == "kruskal_wallis":
        stat = f"Kruskal-Wallis H {r['group_h']:.1f}" if r["group_h"] is not None else "Kruskal-Wallis -"
    else:
        t = f"{r['hac_t']:+.2f}" if r["hac_t"] is not None else "-"
        ric = f"{r['mean_rank_ic']:+.3f}" if r["mean_rank_ic"] is not None else "-"
        stat = f"rank IC {ric}  HAC t {t}"
    p = f"{r['p_value']:.2g}" if r["p_value"] is not None else "-"
    q = f"{r['q_value']:.2g}" if r["q_value"] is not None else "-"
    return (
        f"{r['horizon_min']:>4} min  {r['factor']:<26} {stat}  p {p}  q {q}  "
        f"(n {r['n_periods']} periods, {r['n_events']} events, {r['eff_events'] or 0:.0f} effective)"
    )


def _leaderboard_lines(res: DemoResult) -> list[str]:
    """The leaderboard's top ranked rows, the planted factor's place, and what is not ranked."""
    lb = res.leaderboard
    lines = [
        f"database factors computed      : {res.factor_rows:,} rows over the whole span",
        f"factor leaderboard (pnl, 4-hour periods; ranked by q-value, only with >= {res.min_periods} periods "
        f"and >= {res.min_eff_events:g} effective events):",
    ]
    if not res.top_factors:
        lines.append("   no row has the minimum sample: nothing ranked")
    for r in res.top_factors:
        lines.append(f"   #{r['rank']:<3} " + _row_text(r))
    ranked = [r for r in lb if r["rank"] is not None]
    found = [r for r in ranked if r["discovery"]]
    lines.append(
        f"   {len(lb)} rows tested ({lb[0]['trials_in_window'] if lb else 0} distinct trials recorded on this window), "
        f"{len(ranked)} ranked, {len(lb) - len(ranked)} below the minimum sample (shown by `wldb ic`, never ranked), "
        f"{len(found)} discoveries at q <= the setting factor_lab_fdr"
    )
    planted = sorted((r for r in ranked if r["factor"] == sample.PLANTED_FACTOR), key=lambda r: r["rank"])
    lines.append(f"planted signal                 : {sample.PLANTED}")
    if planted:
        best = planted[0]
        above = [r for r in ranked if r["rank"] < best["rank"]]
        verdict = "recovered" if best["discovery"] else "not significant"
        lines.append(
            f"   {verdict}: {sample.PLANTED_FACTOR} best at #{best['rank']} ({_row_text(best).strip()})"
            + (
                "; ranked above it: " + ", ".join(f"{r['factor']} {r['horizon_min']} min" for r in above)
                if above
                else "; no factor ranked above it"
            )
        )
    else:
        lines.append(f"   {sample.PLANTED_FACTOR}: not ranked (below the minimum sample)")
    return lines


def _walk_forward_lines(res: DemoResult) -> list[str]:
    """The out-of-sample verdict of the planted factor and of the pure-noise factors: pooled
    rank IC over the test folds with its 95% interval, and how many folds selected it."""
    lines = [
        f"walk-forward (anchored, {res.wf_folds} folds of 4-hour periods, purged; selected on training folds by "
        "the leaderboard's rule, scored out of sample):"
    ]
    names = [sample.PLANTED_FACTOR] + [f"meta.{n}" for n in sample.NOISE_FACTORS]
    rows = [r for r in res.walk_forward if r["factor"] in names]
    if not rows:
        lines.append("   not computed (the report's walk-forward page was not drawn)")
    for r in sorted(rows, key=lambda r: (names.index(r["factor"]), r["horizon_min"])):
        if r["mean_rank_ic"] is None or r["ci_lo"] is None:
            lines.append(f"   {r['factor']:<18} {r['horizon_min']:>4} min: no out-of-sample interval")
            continue
        zero = "contains 0" if r["ci_lo"] <= 0 <= r["ci_hi"] else "excludes 0"
        verdict = "confirmed" if r["confirmed"] else ("selected" if r["selected_folds"] else "never selected")
        lines.append(
            f"   {r['factor']:<18} {r['horizon_min']:>4} min: OOS rank IC {r['mean_rank_ic']:+.3f} "
            f"[{r['ci_lo']:+.3f}, {r['ci_hi']:+.3f}] ({zero}), selected in {r['selected_folds'] or 0}/{res.wf_folds} "
            f"folds, {r['n_periods']} periods, {r['n_events']} events: {verdict}"
        )
    return lines
