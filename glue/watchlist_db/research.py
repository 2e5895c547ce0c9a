"""Factor lab glue for `wldb ic` and `wldb export`: fetch watchlist.factor_leaderboard /
factor_ic_by_period / export_frame, format the IC table, write CSV / JSON / Parquet.

Thin by design: every number is computed by the SQL functions; Python only chooses the
time range, filters horizons, lays rows out and writes files.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

METRICS = (
    "pnl",
    "spread_change",
    "funding_change",
    "max_drawdown",
    "volatility",
    "excess_pnl",
    "excess_pnl_tod",
    "excess_pnl_sector",
    "excess_pnl_tier",
)
METRIC_UNITS = {
    "pnl": "bps",
    "spread_change": "fraction",
    "funding_change": "fraction per interval",
    "max_drawdown": "bps",
    "volatility": "fraction",
    "excess_pnl": "bps over the other events of the hour",
    "excess_pnl_tod": "bps over the hour of day on earlier days",
    "excess_pnl_sector": "bps, sector-neutral",
    "excess_pnl_tier": "bps, liquidity-tier-neutral",
}


# --------------------------------------------------------------------- time range
def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 date or time; without a UTC offset it is taken as UTC."""
    if value is None:
        return None
    v = value.strip()
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        try:
            d = date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date or time: {value!r}") from None
        t = datetime(d.year, d.month, d.day)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True)
class Range:
    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"


def time_range(from_: str | None, to_: str | None, days: int, now: datetime | None = None) -> Range:
    """[from, to): --to defaults to now, --from to --to minus --days."""
    end = parse_time(to_) or (now or datetime.now(UTC))
    start = parse_time(from_) or end - timedelta(days=days)
    if start >= end:
        raise ValueError(f"empty range: --from {start:%Y-%m-%d %H:%M} is not before --to {end:%Y-%m-%d %H:%M}")
    return Range(start, end)


# ------------------------------------------------------------------------- fetch
def _dicts(cur) -> tuple[list[str], list[dict]]:
    cols = [c.name for c in cur.description]
    return cols, [dict(zip(cols, r)) for r in cur.fetchall()]


def _verdicts(conn, function: str, rng: Range, first, period, min_events, signal_type, exchange, factor, horizons):
    """(columns, rows) of a factor-lab function of (from, to, metric or delays, period,
    min_events, signal_type, exchange, factor), optionally only the given horizons."""
    cols, rows = _dicts(
        conn.execute(
            f"SELECT * FROM watchlist.{function}(%s, %s, %s, %s::interval, %s, %s, %s, %s)",
            (rng.start, rng.end, first, period, min_events, signal_type, exchange, factor),
        )
    )
    if horizons:
        rows = [r for r in rows if r["horizon_min"] in horizons]
    return cols, rows


def fetch_ic(
    conn,
    rng: Range,
    metric: str,
    period: str,
    min_events: int,
    signal_type: str | None,
    exchange: str | None,
    factor: str | None,
    horizons: tuple[int, ...] = (),
) -> tuple[list[str], list[dict]]:
    """watchlist.factor_leaderboard rows (its order: rank by q-value, then the rows below the
    minimum sample, unranked), optionally only the given horizons. Each call is a recorded
    trial (selection control)."""
    args = (period, min_events, signal_type, exchange, factor, horizons)
    return _verdicts(conn, "factor_leaderboard", rng, metric, *args)


def fetch_ic_by_delay(
    conn,
    rng: Range,
    delays: list[int],
    period: str,
    min_events: int,
    signal_type: str | None,
    exchange: str | None,
    factor: str | None,
    horizons: tuple[int, ...] = (),
) -> tuple[list[str], list[dict]]:
    """watchlist.factor_leaderboard_by_delay rows: each factor x horizon's pnl verdict at each
    entry delay, optionally only the given horizons."""
    args = (period, min_events, signal_type, exchange, factor, horizons)
    return _verdicts(conn, "factor_leaderboard_by_delay", rng, delays, *args)


def fetch_event_study(
    conn,
    rng: Range,
    factor: str,
    signal_type: str | None,
    exchange: str | None,
    cluster_period: str = "1 day",
    min_history: int = 20,
) -> list[dict]:
    """watchlist.event_study: the mean excess pnl path (bps) from 60 minutes before the entry
    to the longest horizon, by quintile known at entry (0: every event; None: events entered
    before min_history earlier ones), with its band clustered by cluster_period and the split
    into convergence, carry, cost and the benchmark."""
    _, rows = _dicts(
        conn.execute(
            "SELECT * FROM watchlist.event_study(%s, %s, %s, NULL, true, %s, %s, %s::interval, %s)",
            (rng.start, rng.end, factor, signal_type, exchange, cluster_period, min_history),
        )
    )
    return rows


def fetch_ic_by_period(
    conn,
    rng: Range,
    metric: str,
    period: str,
    min_events: int,
    signal_type: str | None,
    exchange: str | None,
    factor: str | None,
    horizons: tuple[int, ...] = (),
) -> list[dict]:
    """watchlist.factor_ic_by_period rows, optionally only the given horizons."""
    args = (period, min_events, signal_type, exchange, factor, horizons)
    return _verdicts(conn, "factor_ic_by_period", rng, metric, *args)[1]


def labelled_summary(conn, rng: Range, signal_type: str | None, exchange: str | None) -> dict:
    """What exists in the range: confirmed events, labelled ones, covered ones."""
    row = conn.execute(
        """
        SELECT count(*) FILTER (WHERE e.status = 'confirmed'),
               count(*) FILTER (WHERE e.status = 'confirmed'
                                  AND EXISTS (SELECT 1 FROM watchlist.future_outcome o WHERE o.event_id = e.id)),
               count(*) FILTER (WHERE e.status = 'confirmed'
                                  AND EXISTS (SELECT 1 FROM watchlist.future_outcome o WHERE o.event_id = e.id AND o.covered)),
               count(*)
          FROM watchlist.watch_signal_event e
         WHERE coalesce(e.entry_ts, e.start_ts) >= %s AND coalesce(e.entry_ts, e.start_ts) < %s
           AND (%s::text IS NULL OR e.signal_type = %s) AND (%s::text IS NULL OR e.exchange = %s)""",
        (rng.start, rng.end, signal_type, signal_type, exchange, exchange),
    ).fetchone()
    return {"confirmed": row[0], "labelled": row[1], "covered": row[2], "events": row[3]}


def no_data_message(summary: dict, rng: Range, what: str, need_covered: bool = True) -> str:
    """Why there is nothing to show, and how to get labelled events (IC needs covered
    labels; the export takes uncovered ones too)."""
    merge = f"wldb jobs run merge --from {rng.start:%Y-%m-%dT%H:%MZ}"
    width = max(len(merge), len("wldb outcomes run")) + 3
    how = (
        "  events are merged from the raw rows by the merge job and labelled by the outcome job:\n"
        f"    {merge.ljust(width)}# (re)build the events of the range\n"
        f"    {'wldb outcomes run'.ljust(width)}# label the events whose horizons have passed\n"
        "  (a real server's TimescaleDB scheduler runs both; `wldb jobs run-due` runs what is due by hand)"
    )
    labelled = summary["covered"] if need_covered else summary["labelled"]
    if summary["confirmed"] == 0:
        head = f"no confirmed events in {rng}" + (
            f" ({summary['events']} event(s) that never reached event_min_minutes)" if summary["events"] else ""
        )
    elif labelled == 0:
        head = (
            f"{summary['confirmed']} confirmed event(s) in {rng}, but no "
            + (f"covered outcome labels ({summary['labelled']} labelled)" if need_covered else "outcome labels")
            + ": labels are written once the horizon has passed and the data reaches it"
        )
    else:
        head = (
            f"{labelled} labelled event(s) in {rng}, but no factor values match "
            f"(check --factor / --signal-type / --exchange, and the watchlist membership at the event starts)"
        )
    return f"nothing for {what}: {head}\n{how}"


# ----------------------------------------------------------------------- IC table
TABLE_COLUMNS = [  # header, width, formatter(row)
    ("factor", 24, None),
    ("rank", 4, lambda r: _f(r["rank"], "d")),
    ("rank IC", 8, lambda r: _f(r["mean_rank_ic"], "+.4f")),
    ("95% CI", 17, lambda r: _ci(r)),
    ("HAC t", 6, lambda r: _f(r["hac_t"], "+.2f") if r["test"] != "kruskal_wallis" else "KW"),
    ("p", 7, lambda r: _f(r["p_value"], ".4f")),
    ("q", 6, lambda r: _f(r["q_value"], ".3f")),
    ("IC mean", 8, lambda r: _f(r["mean_ic"], "+.4f")),
    ("ICIR", 6, lambda r: _f(r["rank_icir"], "+.2f")),
    ("periods", 7, lambda r: f"{r['n_periods']}/{r['skipped_periods']}"),
    ("events", 6, lambda r: str(r["n_events"])),
    ("eff", 5, lambda r: _f(r["eff_events"], ".0f")),
    ("q5-q1 (t)", 16, lambda r: _spread(r)),
]


def _ci(r) -> str:
    if r["ci_lo"] is None or r["ci_hi"] is None:
        return "-"
    return f"[{r['ci_lo']:+.3f}, {r['ci_hi']:+.3f}]"


def _spread(r) -> str:
    if r["spread"] is None:
        return "-"
    return f"{r['spread']:.4g} ({_f(r['spread_t'], '+.1f')})"


def _f(v, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def format_ic_table(rows: list[dict], rng: Range, metric: str, period: str, min_events: int) -> str:
    """One table per horizon, rows in the SQL's order (ranked by q-value, then the rows
    below the minimum sample, unranked)."""
    out = io.StringIO()
    out.write(
        f"factor IC of {metric} ({METRIC_UNITS[metric]}), events starting {rng}, "
        f"period {period}, at least {min_events} events per period\n"
    )
    header = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w, _) in enumerate(TABLE_COLUMNS))
    for h in sorted({r["horizon_min"] for r in rows}):
        part = [r for r in rows if r["horizon_min"] == h]
        used = max((r["n_periods"] for r in part), default=0)
        out.write(f"\nhorizon {h} min  ({len(part)} factor(s), up to {used} period(s) used)\n")
        out.write(header + "\n" + "-" * len(header) + "\n")
        for r in part:
            cells = []
            for i, (_, w, fmt) in enumerate(TABLE_COLUMNS):
                if i == 0:
                    name = r["factor"] if len(r["factor"]) <= w else r["factor"][: w - 1] + "…"
                    cells.append(name.ljust(w))
                else:
                    cells.append(fmt(r).rjust(w))
            out.write("  ".join(cells).rstrip() + "\n")
    out.write(
        "\nrank IC: Spearman corr(factor at entry, outcome) per period, averaged; 95% CI, HAC t and p: "
        "Newey-West (Bartlett, lag = ceil(horizon / period))\non the per-period rank ICs, so overlapping "
        "outcome windows do not inflate t; q: Benjamini-Hochberg over this run's ranked rows;\n"
        "rank: by q, then |HAC t|; '-' = below the minimum sample (settings factor_lab_min_periods, "
        "factor_lab_min_eff_events): shown, never ranked;\nperiods: used/skipped; eff: events discounted "
        "for overlapping outcome windows; KW: categorical factor, Kruskal-Wallis p;\nq5-q1 (t): mean outcome "
        "of the top minus the bottom factor quintile, its Newey-West t. docs/factor-lab.md says how to read a row.\n"
    )
    if rows:
        found = [r for r in rows if r["discovery"]]
        out.write(
            f"\nselection: {rows[0]['trials_in_window']} distinct test(s) recorded on windows overlapping this one; "
            f"{len(found)} discovery(ies) at the q threshold (setting factor_lab_fdr)"
            + (": " + ", ".join(f"{r['factor']} {r['horizon_min']} min" for r in found[:5]) if found else "")
            + "; a row beats the Bonferroni threshold over those trials when |HAC t| > bonferroni_t (csv / json)\n"
        )
    if rows and all(r["n_periods"] == 0 for r in rows):
        out.write(
            "\nevery period was skipped (fewer than --min-events covered events, or no variation): "
            "try a longer --period or a lower --min-events\n"
        )
    return out.getvalue()


# ------------------------------------------------------------------ walk-forward
def fetch_walk_forward(
    conn,
    rng: Range,
    folds: int,
    metric: str,
    period: str,
    min_events: int,
    signal_type: str | None,
    exchange: str | None,
    factor: str | None,
    scheme: str = "anchored",
    horizons: tuple[int, ...] = (),
) -> list[dict]:
    """watchlist.factor_walk_forward rows (per horizon: the pooled row of each factor first,
    then each test fold), optionally only the given horizons."""
    _, rows = _dicts(
        conn.execute(
            "SELECT * FROM watchlist.factor_walk_forward(%s, %s, %s, %s, %s::interval, %s, %s, %s, %s, %s)",
            (rng.start, rng.end, folds, metric, period, min_events, signal_type, exchange, factor, scheme),
        )
    )
    return [r for r in rows if r["horizon_min"] in horizons] if horizons else rows


def fetch_pbo(
    conn,
    rng: Range,
    blocks: int,
    metric: str,
    period: str,
    min_events: int,
    signal_type: str | None,
    exchange: str | None,
    factor: str | None,
    horizons: tuple[int, ...] = (),
) -> list[dict]:
    """watchlist.factor_pbo rows: one per horizon x CSCV combination."""
    _, rows = _dicts(
        conn.execute(
            "SELECT * FROM watchlist.factor_pbo(%s, %s, %s, %s, %s::interval, %s, %s, %s, %s)",
            (rng.start, rng.end, blocks, metric, period, min_events, signal_type, exchange, factor),
        )
    )
    return [r for r in rows if r["horizon_min"] in horizons] if horizons else rows


def format_walk_forward(
    rows: list[dict], pbo: list[dict], rng: Range, metric: str, period: str, folds: int, scheme: str
) -> str:
    """The `wldb ic --walk-forward` table (laid out in walk_forward.py)."""
    from .walk_forward import format_table

    return format_table(rows, pbo, rng, metric, period, folds, scheme)


def _jsonable(v):
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def _csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)  # floats: repr, so they read back exactly


def rows_csv(cols: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_csv_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def rows_json(cols: list[str], rows: list[dict]) -> str:
    return json.dumps([{c: _jsonable(r.get(c)) for c in cols} for r in rows], indent=1) + "\n"


# ------------------------------------------------------------------------- export
BASE_EXPORT = [
    "event_id",
    "exchange",
    "symbol",
    "signal_type",
    "start_ts",
    "end_ts",
    "entry_ts",
    "duration_sec",
    "horizon_min",
    "covered",
    "pnl",
    "spread_change",
    "funding_change",
    "max_drawdown",
    "volatility",
]
LABEL_ORDER = ["sign", "quantile", "direction", "entry_px", "exit_px", "funding_times", "reason"]


class ParquetUnavailable(RuntimeError):
    pass


def fetch_export(conn, rng: Range, signal_type: str | None, exchange: str | None) -> list[dict]:
    _, rows = _dicts(
        conn.execute(
            "SELECT * FROM watchlist.export_frame(%s, %s, %s, %s)", (rng.start, rng.end, signal_type, exchange)
        )
    )
    return rows


def expand_frame(rows: list[dict]) -> tuple[list[str], list[dict]]:
    """One flat record per event x horizon: label jsonb -> label_<key>, factors jsonb ->
    factor_<name> (one column per factor seen anywhere in the frame; NULL where absent)."""
    label_keys: set[str] = set()
    factor_keys: set[str] = set()
    for r in rows:
        label_keys.update(k for k in (r["label"] or {}) if k != "entry_ts")  # a base column already
        factor_keys.update((r["factors"] or {}).keys())
    labels = [k for k in LABEL_ORDER if k in label_keys] + sorted(label_keys - set(LABEL_ORDER))
    factors = sorted(factor_keys)
    cols = BASE_EXPORT + [f"label_{k}" for k in labels] + [f"factor_{k}" for k in factors]
    out = []
    for r in rows:
        rec = {c: r[c] for c in BASE_EXPORT}
        lab = r["label"] or {}
        for k in labels:
            rec[f"label_{k}"] = lab.get(k)
        fac = r["factors"] or {}
        for k in factors:
            v = fac.get(k)
            rec[f"factor_{k}"] = None if v is None else float(v)
        out.append(rec)
    return cols, out


def write_export_csv(path: Path, cols: list[str], recs: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for r in recs:
            w.writerow([_csv_cell(r[c]) for c in cols])


def _arrow_type(pa, col: str, values: list):
    fixed = {
        "event_id": pa.int64(),
        "exchange": pa.string(),
        "symbol": pa.string(),
        "signal_type": pa.string(),
        "start_ts": pa.timestamp("us", tz="UTC"),
        "end_ts": pa.timestamp("us", tz="UTC"),
        "entry_ts": pa.timestamp("us", tz="UTC"),
        "duration_sec": pa.int32(),
        "horizon_min": pa.int32(),
        "covered": pa.bool_(),
    }
    if col in fixed:
        return fixed[col]
    if col.startswith("factor_") or col in BASE_EXPORT:
        return pa.float64()
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def write_export_parquet(path: Path, cols: list[str], recs: list[dict]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ParquetUnavailable(
            "writing Parquet needs pyarrow: pip install 'watchlist-db[research]' (or write CSV: --out FILE.csv)"
        ) from None
    arrays = {}
    for c in cols:
        values = [r[c] for r in recs]
        typ = _arrow_type(pa, c, values)
        if typ == pa.string():
            values = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        elif typ == pa.float64():
            values = [None if v is None else float(v) for v in values]
        arrays[c] = pa.array(values, type=typ)
    pq.write_table(pa.table(arrays), str(path))


def export_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"--out must end in .csv or .parquet, got {path!r}")
