"""Event merging: the SQL (watchlist.merge_events / merge_events_incremental) must equal a
small, obviously-correct Python reference of the documented rules, event for event, on
random triggered sequences at mixed cadences with holes; and the incremental job, fed the
same data in two deliveries, must end where a full merge ends."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

N_MIN, M, H, LOOKBACK = 2, timedelta(minutes=3), timedelta(minutes=10), timedelta(hours=6)
T0 = datetime(2031, 6, 1, tzinfo=timezone.utc)
_counter = itertools.count()


@dataclass(frozen=True)
class Ev:
    start: datetime
    end: datetime
    n: int
    status: str
    open: bool


def reference(samples: list[tuple[datetime, bool]], now: datetime) -> list[Ev]:
    """The rules as README/SQL document them, written plainly."""
    runs, run, off_start, prev_ts = [], None, None, None
    for ts, trig in samples:
        if prev_ts is not None and ts - prev_ts > H and off_start is None:
            off_start = prev_ts          # a hole counts as off from the sample before it
        if trig:
            if run is not None and off_start is not None and ts - off_start > M:
                runs.append(run)
                run = None
            if run is None:
                run = [ts, ts, 0]
            run[1], run[2] = ts, run[2] + 1
            off_start = None
        elif off_start is None:
            off_start = ts               # first untriggered sample after a triggered one
        prev_ts = ts
    out = []
    if run is not None:
        runs.append(run)
    last_ts = samples[-1][0] if samples else None
    for i, (start, end, n) in enumerate(runs):
        is_last = i == len(runs) - 1
        tail_off = off_start if is_last else None
        open_ = is_last and not ((tail_off is not None and last_ts - tail_off >= M) or now - last_ts > LOOKBACK)
        reached = end - start >= timedelta(minutes=N_MIN - 1)
        out.append(Ev(start, end, n, "confirmed" if reached else ("new" if open_ else "dropped"), open_))
    return out


step = st.tuples(st.sampled_from([30, 60, 60, 60, 300, 240, 700]), st.booleans())
sequence = st.lists(step, min_size=1, max_size=40)


def _materialise(seq):
    ts, out = T0, []
    for delta, trig in seq:
        ts = ts + timedelta(seconds=delta)
        out.append((ts, trig))
    return out


def _insert(conn, symbol, samples, ingested):
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, ingested_at)
               VALUES (%s, 'prop', %s, 'A', %s, %s)""",
            [(ts, symbol, trig, ingested) for ts, trig in samples])


def _stored(conn, symbol):
    rows = conn.execute("""SELECT start_ts, end_ts, n_samples, status, is_open FROM watchlist_data.watch_signal_event
                            WHERE exchange = 'prop' AND symbol = %s ORDER BY start_ts""", (symbol,)).fetchall()
    return [Ev(*r) for r in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seqs=st.lists(sequence, min_size=1, max_size=3), now_extra=st.sampled_from([0, 60, 200, 7 * 3600]))
def test_sql_merge_equals_reference(conn, seqs, now_extra):
    with conn.transaction(force_rollback=True):
        data = {}
        for seq in seqs:
            symbol = f"P{next(_counter)}"
            data[symbol] = _materialise(seq)
            _insert(conn, symbol, data[symbol], T0)
        now = max(s[-1][0] for s in data.values()) + timedelta(seconds=now_extra)
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (T0, now))
        for symbol, samples in data.items():
            assert _stored(conn, symbol) == reference(samples, now), samples
        again = conn.execute("SELECT inserted, updated, deleted FROM watchlist.merge_events(%s, 'infinity', %s)", (T0, now)).fetchone()
        assert again == (0, 0, 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=sequence.filter(lambda s: len(s) >= 2), cut=st.floats(0.1, 0.9), late=st.booleans())
def test_incremental_in_two_deliveries_equals_reference(conn, seq, cut, late):
    """Deliver the samples in two batches (the second possibly containing earlier, late rows)
    and run the incremental job after each: the result equals the reference on all data."""
    with conn.transaction(force_rollback=True):
        symbol = f"I{next(_counter)}"
        samples = _materialise(seq)
        k = max(1, int(len(samples) * cut))
        if late:   # the second delivery holds every other sample: late rows inside the look-back
            first, second = samples[::2], samples[1::2]
        else:
            first, second = samples[:k], samples[k:]
        end = samples[-1][0]
        conn.execute("DELETE FROM watchlist_data.job_state WHERE job = 'merge_events'")
        _insert(conn, symbol, first, end + timedelta(seconds=1))
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (end + timedelta(seconds=1),))
        _insert(conn, symbol, second, end + timedelta(minutes=5))
        now = end + timedelta(minutes=5)
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (now,))
        assert _stored(conn, symbol) == reference(samples, now), (first, second)


def test_merge_reads_compressed_chunks(conn):
    """Events can be rebuilt from compressed (columnstore) chunks: same result as the reference."""
    rng_seq = [(60, i % 7 in (0, 1, 2)) for i in range(300)] + [(300, True), (300, True), (60, False)] * 5
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=6)
    samples, ts = [], start
    for delta, trig in rng_seq:
        ts = ts + timedelta(seconds=delta)
        samples.append((ts, trig))
    with conn.transaction(force_rollback=True):
        symbol = f"C{next(_counter)}"
        _insert(conn, symbol, samples, start)
        n = conn.execute("""SELECT count(compress_chunk(c, if_not_compressed => true))
                              FROM show_chunks('watchlist_data.watch_signal_raw', older_than => now() - interval '3 days') c""").fetchone()[0]
        assert n >= 1
        assert conn.execute("""SELECT bool_and(is_compressed) FROM timescaledb_information.chunks
                                WHERE hypertable_name = 'watch_signal_raw' AND range_end > %s AND range_start <= %s""",
                            (start, samples[-1][0])).fetchone()[0] is True
        now = samples[-1][0] + timedelta(hours=1)
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (start, now))
        stored = _stored(conn, symbol)
        assert stored == reference(samples, now) and len(stored) > 10
