"""Shared bench data: EXCHANGES x SYMBOLS keys of 1-minute samples under the bench-only
exchange prefix 'bench', about 10% triggered in 10-minute runs, loaded server-side in
slices (INSERT ... SELECT generate_series), and removed again by cleanup()."""
from __future__ import annotations

import time
from datetime import datetime

LOAD_SQL = """
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel,
        funding_rate, funding_interval_hours, next_funding_time, best_sell_high_buy_low, best_buy_high_sell_low,
        volatility, range_1h, ingested_at, meta)
SELECT %(t0)s::timestamptz + make_interval(mins => m), 'bench' || e, 'B' || lpad(s::text, 4, '0'), 'A',
       ((m + s * 37 + e * 11) %% 100) < 10,
       0.002 + 0.001 * sin((m + s) / 17.0), 0.0001 * ((s %% 5) - 2), (ARRAY[1, 4, 8])[1 + s %% 3],
       %(t0)s::timestamptz + make_interval(mins => (m / ((ARRAY[1, 4, 8])[1 + s %% 3] * 60) + 1) * (ARRAY[1, 4, 8])[1 + s %% 3] * 60),
       0.002 + 0.001 * sin((m + s) / 17.0) - 0.00005, 0.002 + 0.001 * sin((m + s) / 17.0) + 0.00005,
       0.0005, 0.004,
       coalesce(%(ingested)s::timestamptz, %(t0)s::timestamptz + make_interval(mins => m)),
       jsonb_build_object('pairs_top', jsonb_build_array(jsonb_build_object('high_exch', 'okx', 'spread_pct', m)))
  FROM generate_series(0, %(exchanges)s - 1) e, generate_series(0, %(symbols)s - 1) s,
       generate_series(%(m_from)s, %(m_to)s - 1) m
"""


def load(conn, t0: datetime, exchanges: int, symbols: int, m_from: int, m_to: int,
         ingested: datetime | None = None, progress: bool = True) -> float:
    """Insert minutes [m_from, m_to) for every key; returns seconds taken."""
    keys = exchanges * symbols
    step = max(1, 240_000 // keys)
    t = time.perf_counter()
    for m in range(m_from, m_to, step):
        conn.execute(LOAD_SQL, {"t0": t0, "exchanges": exchanges, "symbols": symbols, "m_from": m,
                                "m_to": min(m + step, m_to), "ingested": ingested})
        if progress:
            print(f"\r  loading {(min(m + step, m_to) - m_from) / (m_to - m_from):6.1%}", end="", flush=True)
    if progress:
        print("\r", end="")
    return time.perf_counter() - t


def cleanup(conn) -> None:
    # deleting from compressed chunks decompresses them; lift the per-transaction cap
    conn.execute("SET timescaledb.max_tuples_decompressed_per_dml_transaction = 0")
    conn.execute("DELETE FROM watchlist_data.watch_signal_event WHERE exchange LIKE 'bench%'")  # labels cascade
    conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE exchange LIKE 'bench%'")
    conn.execute("DELETE FROM watchlist_data.job_state WHERE job IN ('merge_events', 'label_outcomes')")
