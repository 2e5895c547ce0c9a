#!/usr/bin/env python3
"""Calibration of the factor leaderboard's statistics, measured on the SQL that ships.

Generated events with overlapping outcome windows go through numpy only as far as the
per-period ICs (the same Spearman rank IC watchlist.factor_ic_by_period computes); the
statistics (Newey-West t, p, Benjamini-Hochberg q, eligibility, rank) come from the SQL
function the leaderboard itself calls, watchlist_data.factor_verdict, so this calibrates the
product, not a re-implementation.

The generator: --symbols symbols (50) over --days days (7), 4-hour periods; each symbol has events as a
Poisson process (one every EVENT_EVERY minutes on average); an event's outcome at horizon h
is the symbol's random walk over the next h minutes, so a symbol's labels overlap whenever
two entries are closer than h (at 360 min each label overlaps ~2 x 360 / EVENT_EVERY others,
and crosses into the next period). Factors are persistent per symbol (an AR(1) at minute
resolution with a 6-hour half-life): with overlapping outcomes this makes neighbouring
periods' ICs correlated, which is what a naive t ignores. Noise factors are independent of
every outcome; planted ones add c * z (z the factor's standardized value at entry) to each
outcome with c chosen for a rank IC of about PLANTED_IC.

Two tables:
  size   no signal at all (NOISE factors): share of tests rejected at 5%, per horizon, by the
         naive t (mean / sd * sqrt(periods), Student t) and by the leaderboard's HAC t
  fdr    NOISE noise + 2 planted factors: the leaderboard's discoveries (eligible, q <= 0.05):
         false discovery proportion averaged over seeds (the FDR) and the share of planted
         factor x horizon rows found (power)

    python bench/calibration.py                   # embedded engine (a running `wldb db up` or its own)
    python bench/calibration.py --dsn 'host=...'  # a server
    python bench/calibration.py --seeds 40 --days 7
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

HORIZONS = (30, 60, 180, 360)
PERIOD_MIN = 240
HALF_LIFE_MIN = 360


@dataclass
class Config:
    days: float = 7.0
    symbols: int = 50
    event_every: float = 30.0  # minutes between a symbol's events, on average
    noise: int = 60
    planted: int = 0
    planted_ic: float = 0.1
    min_periods: int = 8
    min_eff_events: float = 30.0


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks along axis 0 (ties averaged, as scipy.stats.rankdata and the SQL)."""
    from scipy.stats import rankdata

    return rankdata(a, axis=0)


def _corr_cols(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of a with every column of b: (a cols, b cols)."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    na = np.sqrt((a * a).sum(axis=0))
    nb = np.sqrt((b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a.T @ b) / np.outer(na, nb)


def generate(seed: int, cfg: Config):
    """Per-period rank ICs and Pearson ICs (factor x horizon x period), events per period and
    effective events per horizon (the leaderboard's overlap discount)."""
    rng = np.random.default_rng(seed)
    minutes = int(cfg.days * 1440)
    total = minutes + max(HORIZONS) + 1
    n_fac = cfg.noise + cfg.planted
    phi = 0.5 ** (1 / HALF_LIFE_MIN)
    ent_t, ent_s, ent_x, ent_y = [], [], [], []
    for s in range(cfg.symbols):
        walk = np.concatenate([[0.0], np.cumsum(rng.normal(0, 1, total - 1))])
        n_ev = rng.poisson(minutes / cfg.event_every)
        t = np.sort(rng.integers(0, minutes, n_ev))
        t = np.unique(t)
        # AR(1) factors sampled at the entries: exact transition over each gap
        x = np.empty((len(t), n_fac))
        prev = rng.normal(0, 1, n_fac)
        last = 0
        for i, ti in enumerate(t):
            gap = ti - last
            rho = phi**gap
            prev = rho * prev + math.sqrt(1 - rho * rho) * rng.normal(0, 1, n_fac)
            x[i] = prev
            last = ti
        y = np.stack([walk[t + h] - walk[t] for h in HORIZONS], axis=1)
        if cfg.planted:
            for j in range(cfg.planted):
                z = x[:, cfg.noise + j]
                for k, h in enumerate(HORIZONS):
                    c = cfg.planted_ic * math.sqrt(h) / math.sqrt(1 - cfg.planted_ic**2)
                    y[:, k] += c * z
        ent_t.append(t)
        ent_s.append(np.full(len(t), s))
        ent_x.append(x)
        ent_y.append(y)
    t = np.concatenate(ent_t)
    sym = np.concatenate(ent_s)
    x = np.concatenate(ent_x)
    y = np.concatenate(ent_y)
    period = t // PERIOD_MIN
    n_per = int(period.max()) + 1
    ric = np.full((n_fac, len(HORIZONS), n_per), np.nan)
    ic = np.full_like(ric, np.nan)
    n_ev = np.zeros(n_per, dtype=int)
    for p in range(n_per):
        m = period == p
        n_ev[p] = int(m.sum())
        if n_ev[p] < 5:
            continue
        ric[:, :, p] = _corr_cols(_ranks(x[m]), _ranks(y[m]))
        ic[:, :, p] = _corr_cols(x[m], y[m])
    eff = np.zeros(len(HORIZONS))
    for k, h in enumerate(HORIZONS):
        for s in range(cfg.symbols):
            ts = t[sym == s].astype(float)
            d = np.abs(ts[:, None] - ts[None, :]) / h
            eff[k] += (1 / np.clip(1 - d, 0, None).sum(axis=1)).sum()
    return ric, ic, n_ev, eff


def verdict(conn, cfg: Config, ric, ic, n_ev, eff) -> list[dict]:
    """watchlist_data.factor_verdict on the generated series: one dict per factor x horizon."""
    n_fac, n_h, n_per = ric.shape
    fac, hh, pn, ne, ics, rics = [], [], [], [], [], []
    for f in range(n_fac):
        for k in range(n_h):
            for p in range(n_per):
                fac.append(f"f{f:03d}")
                hh.append(HORIZONS[k])
                pn.append(p)
                ne.append(int(n_ev[p]))
                ics.append(None if np.isnan(ic[f, k, p]) else float(ic[f, k, p]))
                rics.append(None if np.isnan(ric[f, k, p]) else float(ric[f, k, p]))
    kf = [f"f{f:03d}" for f in range(n_fac) for _ in range(n_h)]
    kh = [HORIZONS[k] for _ in range(n_fac) for k in range(n_h)]
    ke = [float(eff[k]) for _ in range(n_fac) for k in range(n_h)]
    cur = conn.execute(
        """SELECT * FROM watchlist_data.factor_verdict(%s::text[], %s::int[], %s::int[], %s::int[], %s::float8[],
                                                       %s::float8[], %s::text[], %s::int[], %s::float8[],
                                                       %s::float8[], %s::float8[], %s, %s, %s)""",
        (
            fac,
            hh,
            pn,
            ne,
            ics,
            rics,
            kf,
            kh,
            ke,
            [None] * len(kf),
            [None] * len(kf),
            float(PERIOD_MIN),
            cfg.min_periods,
            cfg.min_eff_events,
        ),
    )
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def naive_p(series: np.ndarray) -> float:
    from scipy import stats

    s = series[~np.isnan(series)]
    t = s.mean() / (s.std(ddof=1) / math.sqrt(len(s)))
    return float(2 * stats.t.sf(abs(t), len(s) - 1))


def size_table(conn, seeds: range, cfg: Config) -> dict[int, tuple[int, float, float]]:
    """horizon -> (tests, naive rejection share, HAC rejection share) at 5%, no signal."""
    rej_naive = dict.fromkeys(HORIZONS, 0)
    rej_hac = dict.fromkeys(HORIZONS, 0)
    tests = dict.fromkeys(HORIZONS, 0)
    for seed in seeds:
        ric, ic, n_ev, eff = generate(seed, cfg)
        for r in verdict(conn, cfg, ric, ic, n_ev, eff):
            if r["p_value"] is None:
                continue
            h = r["horizon_min"]
            tests[h] += 1
            rej_hac[h] += r["p_value"] < 0.05
            rej_naive[h] += naive_p(ric[int(r["factor"][1:]), HORIZONS.index(h)]) < 0.05
    return {h: (tests[h], rej_naive[h] / max(tests[h], 1), rej_hac[h] / max(tests[h], 1)) for h in HORIZONS}


def fdr_table(conn, seeds: range, cfg: Config, level: float = 0.05) -> dict[str, float]:
    """False discovery proportion averaged over seeds, and the planted rows' discovery share."""
    fdp, found, planted_rows, discoveries, ranked_below = [], 0, 0, 0, 0
    planted_names = {f"f{cfg.noise + j:03d}" for j in range(cfg.planted)}
    for seed in seeds:
        rows = verdict(conn, cfg, *generate(seed, cfg))
        disc = [r for r in rows if r["eligible"] and r["q_value"] is not None and r["q_value"] <= level]
        false = sum(1 for r in disc if r["factor"] not in planted_names)
        fdp.append(false / len(disc) if disc else 0.0)
        discoveries += len(disc)
        planted = [r for r in rows if r["factor"] in planted_names]
        planted_rows += len(planted)
        found += sum(1 for r in planted if r in disc)
        # a noise row ranked above the worst-ranked planted discovery
        ranks = [r["rank"] for r in planted if r in disc]
        if ranks:
            worst = max(ranks)
            ranked_below += sum(1 for r in rows if r["factor"] not in planted_names and r["rank"] and r["rank"] < worst)
    return {
        "fdr": float(np.mean(fdp)),
        "power": found / max(planted_rows, 1),
        "discoveries_per_seed": discoveries / len(seeds),
        "noise_above_planted_per_seed": ranked_below / len(seeds),
    }


def format_tables(size: dict, fdr: dict, cfg: Config, seeds: int) -> str:
    lines = [
        f"calibration: {seeds} seeds, {cfg.days:g} days, {cfg.symbols} symbols, an event every ~{cfg.event_every:g} min "
        f"per symbol, {PERIOD_MIN // 60}-hour periods, factor half-life {HALF_LIFE_MIN} min",
        "",
        "size (no signal; 5% two-sided test of the mean rank IC; target 3.5% .. 7%)",
        f"{'horizon':>8}  {'HAC lag':>7}  {'tests':>6}  {'naive t':>8}  {'HAC t':>7}",
    ]
    for h, (n, naive, hac) in size.items():
        lines.append(f"{h:>5} min  {math.ceil(h / PERIOD_MIN):>7}  {n:>6}  {100 * naive:>7.1f}%  {100 * hac:>6.1f}%")
    lines += [
        "",
        f"selection ({cfg.noise} noise + {cfg.planted} planted factors at rank IC ~{cfg.planted_ic:g}, x 4 horizons; "
        "discovery = eligible and q <= 0.05; target FDR <= 5%, power >= 80%)",
        f"  FDR {100 * fdr['fdr']:.2f}%   power {100 * fdr['power']:.1f}%   discoveries per seed "
        f"{fdr['discoveries_per_seed']:.1f}   noise rows ranked above a planted discovery per seed "
        f"{fdr['noise_above_planted_per_seed']:.2f}",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=None, help="a server (default: the embedded engine, as wldb resolves it)")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--symbols", type=int, default=50)
    args = ap.parse_args()
    from watchlist_db import config

    target = config.Target(args.dsn, False, "--dsn") if args.dsn else config.resolve_target()
    t0 = time.monotonic()
    with config.connect(target, autocommit=True) as conn:
        cfg = Config(days=args.days, symbols=args.symbols)
        size = size_table(conn, range(1, args.seeds + 1), cfg)
        cfg_p = Config(days=args.days, symbols=args.symbols, planted=2)
        fdr = fdr_table(conn, range(1001, 1001 + args.seeds), cfg_p)
    print(format_tables(size, fdr, cfg_p, args.seeds))
    print(f"\ntook {time.monotonic() - t0:.0f} s on {target.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
