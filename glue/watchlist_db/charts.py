"""Rendering for `wldb chart` and `wldb ic --report` (matplotlib, Agg backend).

Thin by design: every number comes from the SQL API (watchlist.series, watchlist.metrics,
watchlist.factor_leaderboard, watchlist.factor_ic_by_period); this module fetches rows, scales
spreads to basis points for display, and draws. matplotlib is imported lazily so the rest
of the CLI starts without it.
"""

from __future__ import annotations

import base64
import html
import io
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The watchlist chart's size: FIGSIZE inches at DPI, so CHART_SIZE_PX pixels (width, height).
FIGSIZE = (12.0, 7.5)
DPI = 100
CHART_SIZE_PX = (int(FIGSIZE[0] * DPI), int(FIGSIZE[1] * DPI))
BPS = 1e4

SPREAD_COLOR = "#1f5fa8"
FILLED_COLOR = "#9fbfe3"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _utc(t: datetime | None) -> datetime | None:
    return t.astimezone(UTC) if t is not None else None


def _nan(v) -> float:
    return float("nan") if v is None else float(v)


def _marker_time(value) -> datetime:
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return _utc(t)


# ------------------------------------------------------------------------ fetch
def fetch_series(conn, exchange: str, symbol: str, hours: int, now: datetime | None) -> list[dict]:
    cur = conn.execute(
        "SELECT * FROM watchlist.series(%s, %s, %s, coalesce(%s::timestamptz, now()))", (exchange, symbol, hours, now)
    )
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def fetch_metrics(conn, exchange: str, symbol: str, now: datetime | None) -> dict | None:
    cur = conn.execute(
        "SELECT * FROM watchlist.metrics(%s, %s, coalesce(%s::timestamptz, now()))", (exchange, symbol, now)
    )
    row = cur.fetchone()
    return dict(zip([c.name for c in cur.description], row)) if row else None


def fetch_now(conn) -> datetime:
    return _utc(conn.execute("SELECT now()").fetchone()[0])


# ------------------------------------------------------------------- formatting
def _bps(v, digits: int = 2) -> str:
    return "-" if v is None else f"{v * BPS:.{digits}f}"


def _until(t: datetime | None, now: datetime) -> str:
    if t is None:
        return ""
    secs = int((t - now).total_seconds())
    sign, secs = ("in ", secs) if secs >= 0 else ("", -secs)
    h, m = divmod(secs // 60, 60)
    txt = f"{h}h {m:02d}m" if h else f"{m}m"
    return f"{sign}{txt}" + ("" if sign else " ago")


def metrics_line(m: dict | None, now: datetime) -> str:
    """One line for the chart title: latest spread, mean/sigma 12 h, slope, next funding."""
    if not m:
        return "no samples in the last 12 h: no metrics"
    nft = _utc(m["next_funding_time"])
    z = m["zscore_12h"]
    fr = m["funding_rate"]
    parts = [
        f"latest {_bps(m['spread_latest'])} bps",
        f"mean 12h {_bps(m['mean_12h'])} bps",
        f"σ 12h {_bps(m['sigma_12h'])} bps",
        f"z {z:+.2f}" if z is not None else "z -",
        f"slope 12h {_bps(m['slope_12h'], 3)} bps/h",
        f"funding {fr * 100:+.4f}%" if fr is not None else "funding -",
        (f"next funding {nft:%m-%d %H:%M} UTC ({_until(nft, now)})" if nft else "next funding -"),
    ]
    return "  ·  ".join(parts)


METRIC_ROWS = [  # (column, label, kind)
    ("as_of", "as of (last 5-min bucket)", "time"),
    ("type_class", "type class", "text"),
    ("spread_latest", "latest spread", "bps"),
    ("mean_1h", "mean 1 h", "bps"),
    ("sigma_1h", "sigma 1 h", "bps"),
    ("range_1h", "range 1 h", "bps"),
    ("slope_1h", "slope 1 h", "bps/h"),
    ("mean_12h", "mean 12 h", "bps"),
    ("sigma_12h", "sigma 12 h", "bps"),
    ("range_12h", "range 12 h", "bps"),
    ("slope_12h", "slope 12 h", "bps/h"),
    ("zscore_12h", "z-score vs 12 h", "num"),
    ("crossings_1h", "crossings 1 h", "int"),
    ("drift_ratio", "drift ratio", "num"),
    ("funding_rate", "funding rate", "pct"),
    ("funding_interval_hours", "funding interval", "hours"),
    ("next_funding_time", "next funding", "time"),
    ("n_1h", "samples 1 h", "int"),
    ("n_12h", "samples 12 h", "int"),
]


def format_metric(value, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "time":
        return f"{_utc(value):%Y-%m-%d %H:%M:%S} UTC"
    if kind == "bps":
        return f"{value * BPS:.3f} bps ({value:.6g})"
    if kind == "bps/h":
        return f"{value * BPS:.4f} bps/h ({value:.6g} /h)"
    if kind == "pct":
        return f"{value * 100:.5f}% ({value:.6g})"
    if kind == "hours":
        return f"{value:g} h"
    if kind == "int":
        return str(value)
    if kind == "num":
        return f"{value:.4f}"
    return str(value)


# ------------------------------------------------------------------------ chart
def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """[start, end] index pairs of consecutive True values."""
    out, start = [], None
    for i, f in enumerate(flags + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def render_chart(
    series: list[dict], metrics: dict | None, exchange: str, symbol: str, hours: int, now: datetime
) -> bytes:
    """The watchlist chart as PNG bytes (CHART_SIZE_PX)."""
    plt = _plt()
    import matplotlib.dates as mdates

    x = [_utc(r["ts"]) for r in series]
    spread = [_nan(r["spread_rel"]) * BPS for r in series]
    real = [s if not r["filled"] else float("nan") for s, r in zip(spread, series)]
    mid = [_nan(r["midline_15m"]) * BPS for r in series]
    base = next((r["baseline"] for r in series if r["baseline"] is not None), None)
    spot = [_nan(r["spot_price"]) for r in series]
    fut = [_nan(r["futures_price"]) for r in series]

    fig, (ax, axp) = plt.subplots(
        2, 1, sharex=True, figsize=FIGSIZE, dpi=DPI, gridspec_kw={"height_ratios": [3, 1.3], "hspace": 0.08}
    )
    try:
        # gap-filled buckets (no sample: the last value carried forward): shaded, lighter line
        carried = [bool(r["filled"]) and r["spread_rel"] is not None for r in series]
        step = timedelta(minutes=5)
        for k, (a, b) in enumerate(_runs(carried)):
            for axis in (ax, axp):
                axis.axvspan(
                    x[a] - step / 2,
                    x[b] + step / 2,
                    color="#d9d9d9",
                    alpha=0.45,
                    lw=0,
                    label="gap-filled (no samples, value carried)" if (k == 0 and axis is ax) else None,
                )
        ax.plot(x, spread, color=FILLED_COLOR, lw=1.3, ls="--", label="spread, gap-filled")
        ax.plot(x, real, color=SPREAD_COLOR, lw=1.6, marker=".", ms=3.5, label="spread_rel (5 min, last)")
        ax.plot(x, mid, color="#e08a00", lw=1.1, label="15 min midline")
        if base is not None:
            ax.axhline(base * BPS, color="#555555", lw=1, ls=":", label=f"{hours} h baseline {base * BPS:.2f} bps")

        y_at = dict(zip(x, spread))
        opens, closes, fundings = [], [], []
        for r in series:
            for mk in r["markers"] or []:
                at = _marker_time(mk["at"])
                bucket = _utc(r["ts"])
                if mk["kind"] == "event_open":
                    opens.append((at, y_at.get(bucket), mk.get("event_id"), mk.get("status")))
                elif mk["kind"] == "event_close":
                    closes.append((at, y_at.get(bucket), mk.get("event_id"), mk.get("status")))
                elif mk["kind"] == "funding":
                    fundings.append(at)
        for k, at in enumerate(sorted(set(fundings))):
            for a in (ax, axp):
                a.axvline(
                    at,
                    color="#7b3fa0",
                    lw=1,
                    ls="-.",
                    alpha=0.7,
                    label="funding time" if (k == 0 and a is ax) else None,
                )
        if opens:
            ax.scatter(
                [o[0] for o in opens],
                [_nan(o[1]) for o in opens],
                marker="^",
                s=70,
                color="#1a9641",
                edgecolor="black",
                lw=0.5,
                zorder=5,
                label="event open",
            )
            for at, y, eid, status in opens:
                if y is not None and not math.isnan(y):
                    ax.annotate(
                        f"#{eid}" + ("" if status == "confirmed" else f" {status}"),
                        (at, y),
                        xytext=(0, 8),
                        textcoords="offset points",
                        fontsize=7,
                        ha="center",
                        color="#1a9641",
                    )
        if closes:
            ax.scatter(
                [c[0] for c in closes],
                [_nan(c[1]) for c in closes],
                marker="v",
                s=70,
                color="#d7191c",
                edgecolor="black",
                lw=0.5,
                zorder=5,
                label="event close",
            )

        ax.set_ylabel("spread (bps)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=7.5, ncol=4, framealpha=0.85)
        ax.set_title(metrics_line(metrics, now), fontsize=9, loc="left")
        window_end = x[-1] + step if x else now
        fig.suptitle(
            f"{exchange} {symbol}  ·  {hours} h to {window_end:%Y-%m-%d %H:%M} UTC",
            fontsize=13,
            fontweight="bold",
            x=0.06,
            ha="left",
        )

        if any(not math.isnan(v) for v in spot + fut):
            axp.plot(x, spot, color="#2b8cbe", lw=1.2, label="spot")
            axp.plot(x, fut, color="#e34a33", lw=1.2, label="futures")
            axp.legend(loc="upper left", fontsize=7.5, ncol=2)
        else:
            axp.text(
                0.5,
                0.5,
                "no spot / futures prices in this window",
                transform=axp.transAxes,
                ha="center",
                va="center",
                color="#777777",
            )
        axp.set_ylabel("price")
        axp.grid(True, alpha=0.3)
        axp.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
        axp.set_xlabel("UTC")
        if x:
            axp.set_xlim(x[0] - step, x[-1] + step)
        fig.subplots_adjust(left=0.07, right=0.98, top=0.90, bottom=0.08)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return buf.getvalue()


def chart_html(
    png: bytes, metrics: dict | None, series: list[dict], exchange: str, symbol: str, hours: int, now: datetime
) -> str:
    """A small self-contained page: the PNG (base64) and a table of the metrics."""
    e = html.escape
    img = base64.b64encode(png).decode("ascii")
    rows = (
        "\n".join(
            f"<tr><th>{e(label)}</th><td>{e(format_metric(metrics.get(col), kind))}</td></tr>"
            for col, label, kind in METRIC_ROWS
        )
        if metrics
        else '<tr><td colspan="2">no samples in the last 12 h</td></tr>'
    )
    marks = []
    for r in series:
        for mk in r["markers"] or []:
            marks.append((_marker_time(mk["at"]), mk["kind"], mk.get("event_id"), mk.get("status")))
    mark_rows = "\n".join(
        f"<tr><td>{at:%Y-%m-%d %H:%M:%S}</td><td>{e(kind)}</td><td>{'' if eid is None else eid}</td>"
        f"<td>{e(status or '')}</td></tr>"
        for at, kind, eid, status in sorted(marks, key=lambda m: (m[0], m[1]))
    )
    n_filled = sum(1 for r in series if r["filled"])
    w, h = CHART_SIZE_PX
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(exchange)} {e(symbol)} watchlist chart</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ padding: 3px 12px; border-bottom: 1px solid #e3e3e3; text-align: left; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; height: auto; border: 1px solid #ddd; }}
.note {{ color: #666; font-size: 0.9em; }}
</style></head>
<body>
<h1>{e(exchange)} {e(symbol)}</h1>
<p class="note">{hours} h of 5-minute buckets from watchlist.series, as of {now:%Y-%m-%d %H:%M:%S} UTC;
{len(series)} buckets, {n_filled} gap-filled. Metrics from watchlist.metrics.</p>
<img alt="watchlist chart of {e(exchange)} {e(symbol)}" width="{w}" height="{h}" src="data:image/png;base64,{img}">
<h2>Metrics</h2>
<table>
{rows}
</table>
<h2>Events and funding times</h2>
<table>
<tr><th>at (UTC)</th><th>kind</th><th>event</th><th>status</th></tr>
{mark_rows or '<tr><td colspan="4">none in this window</td></tr>'}
</table>
</body></html>
"""


def write_bytes(path: str | Path, data: bytes) -> Path:
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


# ---------------------------------------------------------------- IC report PNG
def top_factors(ic_rows: list[dict], top: int) -> list[str]:
    """Factors by their best leaderboard rank (q-value, then |HAC t|) at any horizon, best
    first; rows below the minimum sample have no rank and are never shown as top."""
    best: dict[str, int] = {}
    for r in ic_rows:
        if r.get("rank") is not None:
            best[r["factor"]] = min(best.get(r["factor"], r["rank"]), r["rank"])
    return [f for f, _ in sorted(best.items(), key=lambda kv: (kv[1], kv[0]))][:top]


def render_ic_report(
    ic_rows: list[dict],
    per_rows: list[dict],
    top: int,
    title: str,
    outcome_label: str = "mean outcome",
    study_rows: list[dict] | None = None,
    study_factor: str | None = None,
) -> bytes:
    """(a) mean IC by horizon for the top factors, (b) cumulative IC over time per top
    factor and horizon, (c) mean outcome by quintile of each horizon's top factor, and
    (d) with study_rows (watchlist.event_study) the event study of study_factor
    (draw_event_study)."""
    plt = _plt()
    import matplotlib.dates as mdates

    horizons = sorted({r["horizon_min"] for r in ic_rows})
    factors = top_factors(ic_rows, top)
    colors = {f: plt.get_cmap("tab10")(i % 10) for i, f in enumerate(factors)}
    ncol = max(len(horizons), 1)
    nrow = 4 if study_rows else 3
    fig = plt.figure(figsize=(max(4.2 * ncol, 10), 11.5 if nrow == 3 else 15), dpi=DPI)
    gs = fig.add_gridspec(nrow, ncol, height_ratios=[1.1, 1, 1, 1.2][:nrow], hspace=0.55, wspace=0.3)
    try:
        # (a)
        ax = fig.add_subplot(gs[0, :])
        width = 0.8 / max(len(factors), 1)
        by = {(r["factor"], r["horizon_min"]): r for r in ic_rows}
        for i, f in enumerate(factors):
            xs = [j + (i - (len(factors) - 1) / 2) * width for j in range(len(horizons))]
            ys = [_nan(by.get((f, h), {}).get("mean_ic")) for h in horizons]
            ax.bar(xs, ys, width=width, color=colors[f], label=f)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(horizons)), [f"{h} min" for h in horizons])
        ax.set_ylabel("mean IC")
        ax.set_title("(a) mean IC by horizon, top ranked factors (q-value)", loc="left", fontsize=10)
        if factors:
            ax.legend(fontsize=8, ncol=min(len(factors), 5), loc="best")
        ax.grid(True, axis="y", alpha=0.3)

        # (b)
        per: dict[tuple[str, int], list[dict]] = {}
        for r in per_rows:
            per.setdefault((r["factor"], r["horizon_min"]), []).append(r)
        for j, h in enumerate(horizons):
            axb = fig.add_subplot(gs[1, j])
            for f in factors:
                pts = sorted(per.get((f, h), []), key=lambda r: r["period_start"])
                if not pts:
                    continue
                cum, acc = [], 0.0
                for r in pts:
                    acc += r["ic"] if r["ic"] is not None else 0.0  # a skipped period adds nothing
                    cum.append(acc)
                axb.plot(
                    [_utc(r["period_start"]) for r in pts], cum, color=colors[f], lw=1.3, marker=".", ms=4, label=f
                )
            axb.axhline(0, color="black", lw=0.6)
            axb.set_title(f"(b) cumulative IC, {h} min (colours as in a)", loc="left", fontsize=9)
            axb.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=4))
            axb.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d\n%H:%M", tz=UTC))
            axb.tick_params(labelsize=7)
            axb.grid(True, alpha=0.3)

        # (c)
        for j, h in enumerate(horizons):
            axc = fig.add_subplot(gs[2, j])
            ranked = [r for r in ic_rows if r["horizon_min"] == h and r.get("rank") is not None and r["q1"] is not None]
            first = min(ranked, key=lambda r: r["rank"]) if ranked else None
            if first is None:
                axc.text(0.5, 0.5, "no ranked factor", transform=axc.transAxes, ha="center", va="center")
                axc.set_axis_off()
                continue
            qs = [_nan(first[f"q{k}"]) for k in range(1, 6)]
            axc.bar(
                [f"q{k}" for k in range(1, 6)],
                qs,
                yerr=[1.96 * _nan(first.get(f"q{k}_se")) for k in range(1, 6)],
                capsize=3,
                color=[("#1a9641" if not math.isnan(q) and q >= 0 else "#d7191c") for q in qs],
            )
            axc.axhline(0, color="black", lw=0.6)
            axc.set_title(
                f"(c) {h} min: {first['factor']} (rank {first['rank']}, q {first['q_value']:.3f}) by quintile, 95% bars",
                loc="left",
                fontsize=9,
            )
            axc.set_ylabel(outcome_label, fontsize=8)
            axc.tick_params(labelsize=7)
            axc.grid(True, axis="y", alpha=0.3)
        # (d)
        if study_rows:
            from .event_study_chart import draw_event_study

            draw_event_study(fig, gs[3, :], study_rows, study_factor)
        fig.suptitle(title, fontsize=12, fontweight="bold")
        fig.subplots_adjust(left=0.06, right=0.98, top=0.92 if nrow == 3 else 0.94, bottom=0.06 if nrow == 3 else 0.04)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return buf.getvalue()


# ----------------------------------------------------------- walk-forward report PNG
def render_walk_forward(rows: list[dict], pbo_rows: list[dict], title: str) -> bytes:
    """The `wldb ic --walk-forward --report` figure (drawn in walk_forward.py)."""
    from .walk_forward import render

    return render(rows, pbo_rows, title)
