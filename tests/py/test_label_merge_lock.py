"""The outcome job and the event merge never race on an event (real server only).

The merge deletes and re-creates events (a late row splits an island, a re-merge moves an
entry). Before labels were serialised with it, a label run that read an event the merge
then deleted failed as a whole on future_outcome's foreign key (seen on a busy database:
the label job failing with a foreign-key violation). The label functions now take the
merge's job lock: a run that starts while a merge holds it waits for the merge's
commit, then sees the merge's result.

The embedded engine serves one connection at a time, so the two sessions this needs cannot
exist there.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dbwait import paused_jobs
from watchlist_db import config

EMBEDDED_REASON = "the embedded engine serves one connection at a time (two sessions needed)"
T0 = datetime(2034, 5, 1, tzinfo=UTC)
KEY = ("lockx", "LOCKTEST")


def _seed(conn) -> int:
    """Seven hours of 1-minute samples and one confirmed event entered at T0 + 10 min."""
    conn.execute(
        """INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, spread_rel, funding_rate)
           SELECT %s::timestamptz + make_interval(mins => m), %s, %s, 'A', m BETWEEN 9 AND 10, 0.002 + m * 1e-6, 0.0001
             FROM generate_series(0, 7 * 60) m""",
        (T0, *KEY),
    )
    return _seed_event(conn)


def _seed_event(conn) -> int:
    return conn.execute(
        """INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec,
                                                          n_samples, status, is_open, confirmed_at)
           VALUES (%s, %s, 'A', %s, %s, 60, 2, 'confirmed', false, %s) RETURNING id""",
        (*KEY, T0 + timedelta(minutes=9), T0 + timedelta(minutes=10), T0 + timedelta(minutes=10)),
    ).fetchone()[0]


@pytest.fixture
def quiet_jobs(target):
    """Two sessions, and the real merge and label jobs paused: this test plays the merge
    itself, and the merge job re-creating the deleted event from its raw rows before it is
    seeded again would make the seed a duplicate."""
    if not os.environ.get("WLDB_TEST_DSN"):
        pytest.skip(EMBEDDED_REASON)
    with paused_jobs(target, ("job_merge_events", "job_label_outcomes")):
        yield


def _cleanup(conn) -> None:
    conn.execute("DELETE FROM watchlist_data.watch_signal_event WHERE exchange = %s", (KEY[0],))
    conn.execute("DELETE FROM watchlist_data.watch_signal_raw WHERE exchange = %s", (KEY[0],))


@pytest.mark.parametrize(
    "call",
    [
        "SELECT candidates, written FROM watchlist.label_outcomes(%(now)s, ARRAY[%(id)s]::bigint[])",
        "SELECT candidates, written FROM watchlist.label_outcomes(%(now)s, NULL, %(t0)s)",
    ],
    ids=["event ids", "every due label entered after T0"],
)
def test_labels_wait_for_a_merge_that_deletes_their_event(quiet_jobs, target, conn, call):
    _cleanup(conn)
    event_id = _seed(conn)
    now = T0 + timedelta(hours=8)
    result: dict = {}

    def label_run():
        try:
            with config.connect(target, autocommit=True) as c2:
                result["row"] = c2.execute(call, {"now": now, "id": event_id, "t0": T0}).fetchone()
        except psycopg.Error as exc:  # the race this test guards against ends here
            result["error"] = exc

    try:
        with config.connect(target, autocommit=False) as merge:  # one transaction, as the merge job's
            merge.execute("SELECT watchlist_data.take_job_lock('merge_events')")
            merge.execute("DELETE FROM watchlist_data.watch_signal_event WHERE id = %s", (event_id,))
            worker = threading.Thread(target=label_run)
            worker.start()
            time.sleep(1.0)
            assert worker.is_alive(), f"the label run did not wait for the merge: {result}"
            merge.commit()
        worker.join(timeout=30)
        assert not worker.is_alive(), "the label run still waits after the merge committed"
        assert "error" not in result, f"the label run failed: {result.get('error')}"
        candidates, written = result["row"]
        assert (candidates, written) == (0, 0), "the deleted event got no labels and nothing else was due"
        assert (
            conn.execute(
                "SELECT count(*) FROM watchlist_data.future_outcome WHERE event_id = %s", (event_id,)
            ).fetchone()[0]
            == 0
        )
        # the same run with the event in place labels all four horizons (the fixture is due)
        event_id = _seed_event(conn)
        assert conn.execute(call, {"now": now, "id": event_id, "t0": T0}).fetchone() == (4, 4), (
            "a due event gets its 4 labels"
        )
    finally:
        _cleanup(conn)
