"""Event merging: the SQL (watchlist.merge_events / merge_events_incremental) must equal a
small, obviously-correct Python reference of the documented rules, event for event, on
random triggered sequences at mixed cadences with holes, under the default and other
settings of N, M, H; and the incremental job, fed the same data in two deliveries, must end
where a full merge ends."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

N_MIN, M, H, LOOKBACK = 2, timedelta(minutes=3), timedelta(minutes=10), timedelta(hours=6)
T0 = datetime(2031, 6, 1, tzinfo=UTC)
_counter = itertools.count()


@dataclass(frozen=True)
class Ev:
    start: datetime
    end: datetime
    n: int
    status: str
    open: bool
    confirmed_at: datetime | None


def reference(
    samples: list[tuple[datetime, bool]], now: datetime, n_min: int = N_MIN, m: timedelta = M, h: timedelta = H
) -> list[Ev]:
    """The rules as README/SQL document them, written plainly: islands of triggered samples
    (off time between them <= M); inside an island, runs of consecutive triggered samples
    (nothing untriggered and no hole > H between them); confirmed at the first sample where
    the current run has lasted N - 1 minutes."""
    islands, cur, off_start, prev_ts, prev_trig, run_start = [], None, None, None, False, None
    for ts, trig in samples:
        hole = prev_ts is not None and ts - prev_ts > h
        if hole and off_start is None:
            off_start = prev_ts  # a hole counts as off from the sample before it
        if trig:
            if cur is not None and off_start is not None and ts - off_start > m:
                islands.append(cur)
                cur = None
            if cur is None:
                cur = {"start": ts, "end": ts, "n": 0, "confirmed": None}
            if not prev_trig or hole:
                run_start = ts  # a new run of consecutive triggered samples
            cur["end"], cur["n"] = ts, cur["n"] + 1
            if cur["confirmed"] is None and ts - run_start >= timedelta(minutes=n_min - 1):
                cur["confirmed"] = ts
            off_start = None
        elif off_start is None:
            off_start = ts  # first untriggered sample after a triggered one
        prev_ts, prev_trig = ts, trig
    if cur is not None:
        islands.append(cur)
    out = []
    last_ts = samples[-1][0] if samples else None
    for i, isl in enumerate(islands):
        is_last = i == len(islands) - 1
        tail_off = off_start if is_last else None
        open_ = is_last and not ((tail_off is not None and last_ts - tail_off >= m) or now - last_ts > LOOKBACK)
        status = "confirmed" if isl["confirmed"] else ("new" if open_ else "dropped")
        out.append(Ev(isl["start"], isl["end"], isl["n"], status, open_, isl["confirmed"]))
    return out


# (N minutes, M, H): the defaults and two other settings
RULES = [
    (2, M, H),
    (3, timedelta(minutes=5), timedelta(seconds=90)),
    (1, timedelta(minutes=2), timedelta(minutes=4)),
    (4, timedelta(minutes=1), timedelta(minutes=10)),
]


def _set_rules(conn, rule):
    n_min, m, h = rule
    conn.execute(
        """UPDATE watchlist_data.settings SET value = CASE key WHEN 'event_min_minutes' THEN %s
                        WHEN 'event_cooldown_minutes' THEN %s ELSE %s END
                     WHERE key IN ('event_min_minutes', 'event_cooldown_minutes', 'event_max_sample_gap')""",
        (str(n_min), str(int(m.total_seconds() // 60)), f"{int(h.total_seconds())} seconds"),
    )


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
            [(ts, symbol, trig, ingested) for ts, trig in samples],
        )


def _stored(conn, symbol):
    rows = conn.execute(
        """SELECT start_ts, end_ts, n_samples, status, is_open, confirmed_at FROM watchlist_data.watch_signal_event
                            WHERE exchange = 'prop' AND symbol = %s ORDER BY start_ts""",
        (symbol,),
    ).fetchall()
    return [Ev(*r) for r in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seqs=st.lists(sequence, min_size=1, max_size=3),
    now_extra=st.sampled_from([0, 60, 200, 7 * 3600]),
    rule=st.sampled_from(RULES),
)
def test_sql_merge_equals_reference(conn, seqs, now_extra, rule):
    with conn.transaction(force_rollback=True):
        _set_rules(conn, rule)
        data = {}
        for seq in seqs:
            symbol = f"P{next(_counter)}"
            data[symbol] = _materialise(seq)
            _insert(conn, symbol, data[symbol], T0)
        now = max(s[-1][0] for s in data.values()) + timedelta(seconds=now_extra)
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (T0, now))
        for symbol, samples in data.items():
            assert _stored(conn, symbol) == reference(samples, now, *rule), (samples, rule)
        again = conn.execute(
            "SELECT inserted, updated, deleted FROM watchlist.merge_events(%s, 'infinity', %s)", (T0, now)
        ).fetchone()
        assert again == (0, 0, 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=sequence.filter(lambda s: len(s) >= 2), cut=st.floats(0.1, 0.9), late=st.booleans(), rule=st.sampled_from(RULES)
)
def test_incremental_in_two_deliveries_equals_reference(conn, seq, cut, late, rule):
    """Deliver the samples in two batches (the second possibly containing earlier, late rows)
    and run the incremental job after each: the result equals the reference on all data."""
    with conn.transaction(force_rollback=True):
        # the merge lock first: a scheduler's merge job (real servers) then waits for this
        # transaction instead of deadlocking on the job_state row deleted below
        conn.execute("SELECT watchlist_data.take_job_lock('merge_events')")
        _set_rules(conn, rule)
        symbol = f"I{next(_counter)}"
        samples = _materialise(seq)
        k = max(1, int(len(samples) * cut))
        if late:  # the second delivery holds every other sample: late rows inside the look-back
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
        assert _stored(conn, symbol) == reference(samples, now, *rule), (first, second, rule)


def test_merge_reads_compressed_chunks(conn):
    """Events can be rebuilt from compressed (columnstore) chunks: same result as the reference."""
    rng_seq = [(60, i % 7 in (0, 1, 2)) for i in range(300)] + [(300, True), (300, True), (60, False)] * 5
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=6)
    samples, ts = [], start
    for delta, trig in rng_seq:
        ts = ts + timedelta(seconds=delta)
        samples.append((ts, trig))
    with conn.transaction(force_rollback=True):
        symbol = f"C{next(_counter)}"
        _insert(conn, symbol, samples, start)
        n = conn.execute("""SELECT count(compress_chunk(c, if_not_compressed => true))
                              FROM show_chunks('watchlist_data.watch_signal_raw', older_than => now() - interval '3 days') c""").fetchone()[
            0
        ]
        assert n >= 1
        assert (
            conn.execute(
                """SELECT bool_and(is_compressed) FROM timescaledb_information.chunks
                                WHERE hypertable_name = 'watch_signal_raw' AND range_end > %s AND range_start <= %s""",
                (start, samples[-1][0]),
            ).fetchone()[0]
            is True
        )
        now = samples[-1][0] + timedelta(hours=1)
        conn.execute("SELECT * FROM watchlist.merge_events(%s, 'infinity', %s)", (start, now))
        stored = _stored(conn, symbol)
        assert stored == reference(samples, now) and len(stored) > 10


def test_reference_reads_the_plan():
    """The reference itself, on patterns written from the plan's words (N = 2, M = 3 at 1 min):
    "N consecutive minutes" and "re-triggering within M is the same event"."""

    def at(pattern, step=60):
        return [(T0 + timedelta(seconds=step * i), c == "T") for i, c in enumerate(pattern) if c != "."]

    now = T0 + timedelta(hours=1)
    m = lambda k: T0 + timedelta(minutes=k)  # noqa: E731
    assert reference(at("TFFFTFFFF"), now) == [Ev(m(0), m(4), 2, "dropped", False, None)]
    assert reference(at("TFFTTFFFF"), now) == [Ev(m(0), m(4), 3, "confirmed", False, m(4))]
    assert reference(at("TTFFFFTFFFF"), now) == [
        Ev(m(0), m(1), 2, "confirmed", False, m(1)),
        Ev(m(6), m(6), 1, "dropped", False, None),
    ]
    assert reference(at("TTFTTFFFFFFF", 30), now) == [Ev(m(0), m(2), 4, "dropped", False, None)]
    assert reference(at("TTT", 30), now) == [Ev(m(0), m(1), 3, "confirmed", True, m(1))]
    assert reference(at("TT", 300), now) == [Ev(m(0), m(5), 2, "confirmed", True, m(5))]
    assert reference(at("T"), now, n_min=1) == [Ev(m(0), m(0), 1, "confirmed", True, m(0))]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=sequence.filter(lambda s: 2 <= len(s) <= 40), rule=st.sampled_from(RULES))
# an open event, then only untriggered rows after a gap longer than M + H: the merge skips
# the key's recompute only when it has no open event, so this one is closed
@example(seq=[(60, True), (60, True), (60, False), (700, False), (60, False)], rule=RULES[1])
# untriggered rows far after a closed event: skipped, nothing changes
@example(
    seq=[(60, True), (60, True), (60, False), (60, False), (60, False), (60, False), (60, False), (700, False)],
    rule=RULES[0],
)
def test_incremental_sample_by_sample_equals_reference(conn, seq, rule):
    """The monitor's own pattern: every sample arrives on its own and the incremental job
    runs after each. After every run the stored events equal the reference on the data so
    far (so keys that only received untriggered rows, which the merge skips when no event is
    within reach, are right at every step, open/closed included)."""
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT watchlist_data.take_job_lock('merge_events')")
        _set_rules(conn, rule)
        symbol = f"S{next(_counter)}"
        samples = _materialise(seq)
        conn.execute("DELETE FROM watchlist_data.job_state WHERE job = 'merge_events'")
        for i, (ts, trig) in enumerate(samples):
            now = ts + timedelta(seconds=1)
            _insert(conn, symbol, [(ts, trig)], now)
            conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (now,))
            assert _stored(conn, symbol) == reference(samples[: i + 1], now, *rule), (samples[: i + 1], rule)


def test_incremental_reopens_no_skipped_key_with_an_open_event(conn):
    """A key falls silent with its event open while other keys move the ingestion watermark
    on; its next row, untriggered, comes long after (more than M + H). The merge skips keys
    whose new rows are all untriggered only when they have no open event and none within
    reach: this key is recomputed and its event closed (a hole longer than H: off since its
    last sample), exactly as the reference says."""
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT watchlist_data.take_job_lock('merge_events')")
        _set_rules(conn, RULES[0])
        quiet, clock = f"Q{next(_counter)}", f"C{next(_counter)}"
        conn.execute("DELETE FROM watchlist_data.job_state WHERE job = 'merge_events'")
        q_samples = [(T0 + timedelta(minutes=1), True), (T0 + timedelta(minutes=2), True)]
        _insert(conn, quiet, q_samples, T0 + timedelta(minutes=2, seconds=1))
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (T0 + timedelta(minutes=2, seconds=1),))
        assert [e.open for e in _stored(conn, quiet)] == [True]
        for minute in range(3, 30):  # the other key's rows move the watermark on
            at = T0 + timedelta(minutes=minute, seconds=1)
            _insert(conn, clock, [(T0 + timedelta(minutes=minute), False)], at)
            conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (at,))
        assert [e.open for e in _stored(conn, quiet)] == [True], "untouched keys keep their state"
        late = (T0 + timedelta(minutes=30), False)
        now = T0 + timedelta(minutes=30, seconds=1)
        _insert(conn, quiet, [late], now)
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (now,))
        assert _stored(conn, quiet) == reference(q_samples + [late], now, *RULES[0])
        assert [e.open for e in _stored(conn, quiet)] == [False]
        assert _stored(conn, clock) == []


def test_incremental_late_untriggered_row_splits_a_closed_event(conn):
    """The merge skips keys whose new rows are all untriggered and that have no open event
    when those rows all come after the key's stored rows. A late untriggered row between
    stored ones is not such a case: here it starts the off time inside a closed event's
    hole, so the event splits in two (N = 4, M = 1 min, H = 10 min: the 4-minute hole
    alone is no split; off from 2:30 to the trigger at 6:00 is). Fails when the merge skips
    the key (checked: a merge that ignored stored rows after the late one kept one event)."""
    rule = RULES[3]
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT watchlist_data.take_job_lock('merge_events')")
        _set_rules(conn, rule)
        key = f"L{next(_counter)}"
        conn.execute("DELETE FROM watchlist_data.job_state WHERE job = 'merge_events'")
        m = lambda x: T0 + timedelta(minutes=x)  # noqa: E731
        stored = [(m(0), True), (m(1), True), (m(2), True), (m(6), True), (m(7), True), (m(8), True), (m(9), True)]
        stored += [(m(x), False) for x in range(10, 14)]
        _insert(conn, key, stored, m(13) + timedelta(seconds=1))
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (m(13) + timedelta(seconds=1),))
        before = _stored(conn, key)
        assert len(before) == 1 and not before[0].open, before
        clock = f"C{next(_counter)}"
        for minute in range(14, 20):  # another key moves the ingestion watermark on
            _insert(conn, clock, [(m(minute), False)], m(minute) + timedelta(seconds=1))
            conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (m(minute) + timedelta(seconds=1),))
        late = (m(2.5), False)
        now = m(20)
        _insert(conn, key, [late, (m(14), False)], now)
        conn.execute("SELECT * FROM watchlist.merge_events_incremental(%s)", (now,))
        after = _stored(conn, key)
        assert after == reference(sorted(stored + [late, (m(14), False)]), now, *rule)
        assert [(e.start, e.end) for e in after] == [(m(0), m(2)), (m(6), m(9))], after
