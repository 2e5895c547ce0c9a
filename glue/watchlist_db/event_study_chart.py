"""The event study's panels of the `wldb ic --report` figure (watchlist.event_study rows)."""

from __future__ import annotations

from .charts import _nan, _plt


def draw_event_study(fig, slot, rows: list[dict], factor: str | None) -> tuple:
    """The event study (watchlist.event_study rows) in one grid slot, two panels:
    left, the mean excess pnl path of each quintile known at entry (1..5) from the
    pre-event window (-60..0, shaded) to the horizon, with its clustered 95% band;
    right, every event's mean pnl (quintile 0) split into convergence, carry (funding) and
    cost, before the benchmark (over every event of each hour the leave-one-out excess
    sums to zero, so the split is shown on the pnl itself), with the carried minutes
    (missing samples carried forward) on a second axis. Returns the two axes."""
    plt = _plt()
    sub = slot.subgridspec(1, 2, width_ratios=[1.4, 1], wspace=0.18)
    axp, axs = fig.add_subplot(sub[0, 0]), fig.add_subplot(sub[0, 1])
    lo = min((r["minute"] for r in rows), default=-60)
    for q in sorted({r["quintile"] for r in rows if r["quintile"] is not None and r["quintile"] > 0}):
        pts = sorted((r for r in rows if r["quintile"] == q), key=lambda r: r["minute"])
        xs, c = [r["minute"] for r in pts], plt.get_cmap("RdYlGn")((q - 1) / 4)
        axp.plot(xs, [r["mean_pnl"] for r in pts], color=c, lw=1.4, label=f"q{q}")
        axp.fill_between(xs, [_nan(r["ci_low"]) for r in pts], [_nan(r["ci_high"]) for r in pts], color=c, alpha=0.15)
    allq = sorted((r for r in rows if r["quintile"] == 0), key=lambda r: r["minute"])
    xs = [r["minute"] for r in allq]
    for label, col, color in [("convergence", "mean_convergence", "#2c7bb6"), ("carry (funding)", "mean_carry", "#fdae61"),
                              ("cost", "mean_cost", "#d7191c")]:  # fmt: skip
        axs.plot(xs, [_nan(r[col]) for r in allq], color=color, lw=1.2, label=label)
    total = [_nan(r["mean_convergence"]) + _nan(r["mean_carry"]) + _nan(r["mean_cost"]) for r in allq]
    axs.plot(xs, total, color="black", lw=1.8, label="pnl")
    n = max((r["n_events"] for r in allq), default=0)
    for ax, title in [(axp, f"(d) event study: excess pnl by quintile of {factor} known at entry (95% band, clustered)"),
                      (axs, f"(e) mean pnl of every event (n <= {n}): convergence + carry + cost")]:  # fmt: skip
        ax.axvspan(lo, 0, color="grey", alpha=0.12, lw=0, label="before entry" if ax is axp else None)
        ax.axvline(0, color="black", lw=0.8, ls="--")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(title, loc="left", fontsize=9)
        ax.set_xlabel("minutes from entry", fontsize=8)
        ax.legend(fontsize=7, ncol=3 if ax is axp else 1, loc="best")
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    axp.set_ylabel("mean excess pnl (bps)", fontsize=8)
    axc = axs.twinx()
    axc.bar(xs, [r["n_carried"] for r in allq], color="grey", alpha=0.3, width=1.0)
    axc.set_ylabel("events carried", fontsize=7, color="grey")
    axc.tick_params(labelsize=6, colors="grey")
    axc.set_ylim(0, max(4 * max((r["n_carried"] for r in allq), default=0), 1))
    return axp, axs
