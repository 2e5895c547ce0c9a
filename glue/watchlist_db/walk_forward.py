"""`wldb ic --walk-forward`: the table and the report figure of watchlist.factor_walk_forward and
watchlist.factor_pbo. The SQL calls are research.py's (fetch_walk_forward, fetch_pbo); this
module only lays out and draws their rows (kept apart from research.py and charts.py, which
stay small). matplotlib is imported only to draw."""

from __future__ import annotations

import io
import math

from .charts import DPI, _nan, _plt
from .research import METRIC_UNITS, Range, _ci, _f

# -------------------------------------------------------------------------- table
WF_COLUMNS = [  # header, width, formatter(pooled row, fold rows)
    ("factor", 24, None),
    ("sel", 5, lambda r, folds: f"{r['selected_folds']}/{len(folds)}"),
    ("OOS rank IC", 11, lambda r, folds: _fmt(r["mean_rank_ic"], "+.4f")),
    ("95% CI", 17, lambda r, folds: _ci(r)),
    ("HAC t", 6, lambda r, folds: _fmt(r["hac_t"], "+.2f")),
    ("p", 7, lambda r, folds: _fmt(r["p_value"], ".4f")),
    ("periods", 7, lambda r, folds: f"{r['n_periods']}/{r['skipped_periods']}"),
    ("events", 6, lambda r, folds: str(r["n_events"])),
    ("eff", 5, lambda r, folds: _fmt(r["eff_events"], ".0f")),
    ("ok", 3, lambda r, folds: "yes" if r["eligible"] else "-"),
    ("found", 5, lambda r, folds: "YES" if r["confirmed"] else "-"),
    ("per fold: rank IC [95% CI] (periods)", 0, None),
]


def _fmt(v, spec: str) -> str:
    return _f(v, spec)


def _fold_cell(r: dict) -> str:
    mark = "*" if r["selected"] else " "
    if r["mean_rank_ic"] is None:
        return f"{r['fold']}{mark} -"
    ci = f" [{r['ci_lo']:+.2f}, {r['ci_hi']:+.2f}]" if r["ci_lo"] is not None else ""
    return f"{r['fold']}{mark} {r['mean_rank_ic']:+.3f}{ci} ({r['n_periods']})"


def format_table(
    rows: list[dict], pbo: list[dict], rng: Range, metric: str, period: str, folds: int, scheme: str
) -> str:
    """One table per horizon: each factor's pooled out-of-sample verdict (selected first),
    its per-fold rank ICs, and the horizon's PBO line."""
    out = io.StringIO()
    out.write(
        f"walk-forward ({scheme}, {folds} folds) of {metric} ({METRIC_UNITS[metric]}), events starting {rng}, "
        f"period {period}\n"
    )
    header = "  ".join(
        h.ljust(w) if i == 0 else (h if w == 0 else h.rjust(w)) for i, (h, w, _) in enumerate(WF_COLUMNS)
    )
    for h in sorted({r["horizon_min"] for r in rows}):
        pooled = [r for r in rows if r["horizon_min"] == h and r["fold"] is None]
        per = [r for r in rows if r["horizon_min"] == h and r["fold"] is not None]
        tests = sorted({r["fold"] for r in per})
        span = pooled[0] if pooled else None
        out.write(
            f"\nhorizon {h} min  (test folds {', '.join(map(str, tests))}"
            + (f": {span['test_from']:%Y-%m-%d %H:%M} .. {span['test_to']:%Y-%m-%d %H:%M} UTC" if span else "")
            + ")\n"
        )
        out.write(header + "\n" + "-" * len(header) + "\n")
        for r in sorted(pooled, key=lambda r: (-r["selected_folds"], -abs(r["hac_t"] or 0), r["factor"])):
            mine = sorted((x for x in per if x["factor"] == r["factor"]), key=lambda x: x["fold"])
            cells = []
            for i, (_, w, fmt) in enumerate(WF_COLUMNS):
                if i == 0:
                    cells.append((r["factor"] if len(r["factor"]) <= w else r["factor"][: w - 1] + "…").ljust(w))
                elif fmt is None:
                    cells.append("  ".join(_fold_cell(x) for x in mine))
                else:
                    cells.append(fmt(r, mine).rjust(w))
            out.write("  ".join(cells).rstrip() + "\n")
        mine = [p for p in pbo if p["horizon_min"] == h]
        if mine:
            p0 = mine[0]
            s = p0["n_blocks"]
            lg = [p["logit"] for p in mine if p["logit"] is not None]
            out.write(
                f"PBO {_fmt(p0['pbo'], '.3f')}  (CSCV: S = {s} blocks over T = {p0['n_periods']} periods, "
                f"C({s}, {s // 2}) = {p0['n_combinations']} combinations, N = {p0['n_strategies']} factors, "
                f"metric rank-IC IR; median logit {_fmt(sorted(lg)[len(lg) // 2] if lg else None, '+.2f')})\n"
            )
        else:
            out.write("PBO -  (fewer than 2 factors with the minimum sample at this horizon)\n")
    out.write(
        "\nsel: test folds whose training labels selected the factor by the leaderboard's rule (eligible, "
        "q <= factor_lab_fdr);\nOOS rank IC: mean Spearman IC of the test periods, pooled over the test folds; "
        "95% CI, HAC t, p: Newey-West (Bartlett,\nlag = ceil(horizon / period)) by period, fixed-b; ok: the "
        "leaderboard's minimum sample on the test labels;\nfound: selected, ok, and the interval excludes 0 on "
        "the training sign; per fold: * = selected in that fold's training.\nPBO: probability of backtest "
        "overfitting (Bailey et al. 2015): the share of CSCV splits whose in-sample best factor\nranks at or "
        "below the median out of sample. docs/factor-lab.md says how to read it.\n"
    )
    return out.getvalue()


# ------------------------------------------------------------------------ figure
def walk_forward_factors(rows: list[dict], h: int, selected: int = 8, others: int = 6) -> list[str]:
    """A horizon's factors for the walk-forward panels: up to `selected` of those selected in
    some training fold (by folds selected, then out-of-sample |HAC t|), then up to `others`
    never selected (by |HAC t|)."""
    pooled = [r for r in rows if r["horizon_min"] == h and r["fold"] is None]
    pooled.sort(key=lambda r: (-r["selected_folds"], -abs(r["hac_t"] or 0), r["factor"]))
    sel = [r["factor"] for r in pooled if r["selected_folds"]][:selected]
    rest = [r["factor"] for r in pooled if not r["selected_folds"] and r["mean_rank_ic"] is not None][:others]
    return sel + rest


def render(rows: list[dict], pbo_rows: list[dict], title: str) -> bytes:
    """(a) per horizon: each factor's out-of-sample rank IC pooled over the test folds with its
    95% Newey-West interval (selected factors in colour, never-selected grey, found ones
    marked); (b) per horizon: the selected factors' rank IC in each test fold with its
    interval; (c) per horizon: the CSCV logit distribution of the in-sample best factor's
    out-of-sample rank, PBO = the share at or below 0."""
    plt = _plt()
    horizons = sorted({r["horizon_min"] for r in rows})
    ncol = max(len(horizons), 1)
    fig = plt.figure(figsize=(max(4.6 * ncol, 10), 13), dpi=DPI)
    gs = fig.add_gridspec(3, ncol, height_ratios=[1.5, 1, 0.9], hspace=0.5, wspace=0.45)
    cmap = plt.get_cmap("tab10")
    try:
        for j, h in enumerate(horizons):
            names = walk_forward_factors(rows, h)
            pooled = {r["factor"]: r for r in rows if r["horizon_min"] == h and r["fold"] is None}
            # (a)
            ax = fig.add_subplot(gs[0, j])
            for i, f in enumerate(names):
                r = pooled[f]
                y = len(names) - 1 - i
                m = _nan(r["mean_rank_ic"])
                lo, hi = _nan(r["ci_lo"]), _nan(r["ci_hi"])
                c = "#1a9641" if r["confirmed"] else ("#1f5fa8" if r["selected_folds"] else "#999999")
                if not math.isnan(lo):
                    ax.plot([lo, hi], [y, y], color=c, lw=2)
                ax.plot([m], [y], "o", color=c, ms=5)
            ax.axvline(0, color="black", lw=0.7)
            ax.set_yticks(range(len(names)), [f"{f} ({pooled[f]['selected_folds']})" for f in reversed(names)])
            ax.tick_params(labelsize=7)
            ax.set_xlabel("out-of-sample rank IC, 95% CI", fontsize=8)
            ax.set_title(f"(a) {h} min: pooled out-of-sample rank IC", loc="left", fontsize=8)
            ax.grid(True, axis="x", alpha=0.3)
            # (b)
            axb = fig.add_subplot(gs[1, j])
            sel = [f for f in names if pooled[f]["selected_folds"]][:5]
            for k, f in enumerate(sel):
                pts = sorted(
                    (r for r in rows if r["horizon_min"] == h and r["factor"] == f and r["fold"] is not None),
                    key=lambda r: r["fold"],
                )
                xs = [r["fold"] + (k - (len(sel) - 1) / 2) * 0.08 for r in pts]
                ys = [_nan(r["mean_rank_ic"]) for r in pts]
                err = [
                    [max(0.0, m - _nan(r["ci_lo"])) if r["ci_lo"] is not None else 0.0 for m, r in zip(ys, pts)],
                    [max(0.0, _nan(r["ci_hi"]) - m) if r["ci_hi"] is not None else 0.0 for m, r in zip(ys, pts)],
                ]
                axb.errorbar(xs, ys, yerr=err, fmt="o-", color=cmap(k % 10), lw=1, ms=4, capsize=3, label=f)
                for x, y, r in zip(xs, ys, pts):
                    if r["selected"]:
                        axb.plot([x], [y], "s", mfc="none", mec="black", ms=8)
            axb.axhline(0, color="black", lw=0.6)
            folds = sorted({r["fold"] for r in rows if r["horizon_min"] == h and r["fold"] is not None})
            axb.set_xticks(folds, [str(f) for f in folds])
            axb.set_xlabel("test fold (square: selected by that fold's training)", fontsize=8)
            axb.set_ylabel("rank IC, 95% CI", fontsize=8)
            axb.set_title(f"(b) {h} min: selected factors per test fold", loc="left", fontsize=8)
            if sel:
                axb.legend(fontsize=7, loc="best")
            else:
                axb.text(0.5, 0.5, "no factor selected in training", transform=axb.transAxes, ha="center", va="center")
            axb.tick_params(labelsize=7)
            axb.grid(True, alpha=0.3)
            # (c)
            axc = fig.add_subplot(gs[2, j])
            mine = [p for p in pbo_rows if p["horizon_min"] == h and p["logit"] is not None]
            if mine:
                lg = [p["logit"] for p in mine]
                axc.hist(lg, bins=min(20, max(5, len(lg) // 3)), color="#7b3294", alpha=0.75)
                axc.axvline(0, color="black", lw=0.8)
                p0 = mine[0]
                axc.set_title(
                    f"(c) {h} min: PBO {p0['pbo']:.2f} (S = {p0['n_blocks']}, {p0['n_combinations']} splits, "
                    f"N = {p0['n_strategies']})",
                    loc="left",
                    fontsize=8,
                )
            else:
                axc.text(0.5, 0.5, "no PBO (fewer than 2 factors)", transform=axc.transAxes, ha="center", va="center")
            axc.set_xlabel("logit of the in-sample best's out-of-sample rank", fontsize=8)
            axc.tick_params(labelsize=7)
            axc.grid(True, alpha=0.3)
        fig.suptitle(title, fontsize=11, fontweight="bold")
        fig.text(
            0.5,
            0.955,
            "(a) green: selected in training and found out of sample, blue: selected only, grey: never selected; "
            "(n) = test folds that selected it; bars: 95% Newey-West intervals by period",
            ha="center",
            fontsize=8,
        )
        fig.subplots_adjust(left=0.14, right=0.98, top=0.93, bottom=0.05)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return buf.getvalue()
