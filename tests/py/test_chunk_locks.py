"""The scheduled jobs and the app's reads lock only the chunks inside their windows.

A read that holds a lock on an old chunk while it reaches for the chunk's compressed
chunk deadlocks TimescaleDB's retention policy dropping that chunk (the policy takes the
compressed chunk first; seen on CI: "deadlock detected" between policy_retention and
job_label_outcomes). A query plans, and locks, every chunk its time bounds cannot exclude
at plan time: bounds that are expressions (p_now - interval, time_bucket(...)) or a
generic plan reused after a few calls in a session leave every chunk in the plan.

The fixture puts a key's data 20 days back (inside the 30-day retentions, so no policy
drops it during the test) in compressed chunks of watch_signal_raw and factor_value, and
in the continuous aggregates' chunks, plus the last 8 hours. Every call below then runs
seven times in one transaction (past the five after which PostgreSQL may switch to a
generic plan) and the transaction's locks on chunks that ended more than 9 days ago (the
longest window any of them reads is the factor job's 7 days of funding) must be none."""

from __future__ import annotations

import pytest

from watchlist_db import config

SYMBOL = "LOCKPROBE"

FIXTURE = [
    # 8 hours, 20 days back: events (triggered 4 minutes in 20), labels, factors, aggregates
    f"""INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, type_class, triggered,
            spread_rel, funding_rate, funding_interval_hours, next_funding_time, ingested_at)
        SELECT date_trunc('hour', now()) - INTERVAL '20 days' + make_interval(mins => k), 'binance', '{SYMBOL}', 'A', 'A',
               k % 20 < 4, 0.003 + 0.0001 * (k % 7), 0.0001, 8, now() - INTERVAL '19 days', now() - INTERVAL '20 days'
          FROM generate_series(0, 479) AS k
        ON CONFLICT DO NOTHING""",
    "SELECT count(*) FROM watchlist.merge_events(now() - INTERVAL '21 days', now() - INTERVAL '19 days', now() - INTERVAL '19 days')",
    "SELECT count(*) FROM watchlist.compute_factors(date_trunc('hour', now()) - INTERVAL '20 days', "
    "date_trunc('hour', now()) - INTERVAL '19 days 16 hours')",
    "CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', now() - INTERVAL '21 days', now() - INTERVAL '19 days')",
    "CALL refresh_continuous_aggregate('watchlist_data.typea_stats_1h', now() - INTERVAL '21 days', now() - INTERVAL '19 days')",
    "SELECT count(compress_chunk(c, if_not_compressed => true)) "
    "FROM show_chunks('watchlist_data.watch_signal_raw', older_than => now() - INTERVAL '10 days') AS c",
    "SELECT count(compress_chunk(c, if_not_compressed => true)) "
    "FROM show_chunks('watchlist_data.factor_value', older_than => now() - INTERVAL '10 days') AS c",
    # the last 8 hours, a watchlist member
    f"""INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, type_class, triggered,
            spread_rel, funding_rate, funding_interval_hours, next_funding_time, ingested_at)
        SELECT date_trunc('minute', now()) - INTERVAL '8 hours' + make_interval(mins => k), 'binance', '{SYMBOL}', 'A', 'A',
               k % 20 < 4, 0.003 + 0.0001 * (k % 7), 0.0001, 8, now() + INTERVAL '2 hours', now()
          FROM generate_series(0, 479) AS k
        ON CONFLICT DO NOTHING""",
    f"""INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
        SELECT 'binance', '{SYMBOL}', now() - INTERVAL '1 hour'
         WHERE NOT EXISTS (SELECT 1 FROM watchlist_data.watchlist_membership
                            WHERE exchange = 'binance' AND symbol = '{SYMBOL}' AND left_at IS NULL)""",
    # the jobs' state as after a first run (a first run reads all history on purpose)
    "SELECT count(*) FROM watchlist.merge_events_incremental()",
    "SELECT count(*) FROM watchlist.label_outcomes_incremental()",
    "SELECT count(*) FROM watchlist.compute_factors_incremental()",
]

CLEANUP = [  # everything the fixture wrote (labels go with their events)
    f"DELETE FROM watchlist_data.watch_signal_event WHERE exchange = 'binance' AND symbol = '{SYMBOL}'",
    f"DELETE FROM watchlist_data.factor_value WHERE exchange = 'binance' AND symbol = '{SYMBOL}'",
    f"DELETE FROM watchlist_data.watch_signal_raw WHERE exchange = 'binance' AND symbol = '{SYMBOL}'",
    f"DELETE FROM watchlist_data.watchlist_membership WHERE exchange = 'binance' AND symbol = '{SYMBOL}'",
    "CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', now() - INTERVAL '21 days', now() - INTERVAL '19 days')",
    "CALL refresh_continuous_aggregate('watchlist_data.typea_stats_1h', now() - INTERVAL '21 days', now() - INTERVAL '19 days')",
]

# every chunk (and compressed chunk) of the project's hypertables and of the aggregates'
# materialisation hypertables that ended more than 9 days ago
OLD_CHUNKS = """
    SELECT format('%I.%I', c.chunk_schema, c.chunk_name)::regclass::oid AS oid,
           c.hypertable_name || ' ' || c.chunk_name || CASE WHEN c.is_compressed THEN ' (compressed)' ELSE '' END AS name
      FROM timescaledb_information.chunks AS c
     WHERE c.range_end < now() - INTERVAL '9 days'
    UNION ALL
    SELECT format('%I.%I', cc.schema_name, cc.table_name)::regclass::oid, 'its compressed chunk ' || cc.table_name
      FROM timescaledb_information.chunks AS c
      JOIN _timescaledb_catalog.chunk AS ch ON ch.schema_name = c.chunk_schema AND ch.table_name = c.chunk_name
      JOIN _timescaledb_catalog.chunk AS cc ON cc.id = ch.compressed_chunk_id
     WHERE c.range_end < now() - INTERVAL '9 days'
"""

CALLS = {
    "merge job": "SELECT count(*) FROM watchlist.merge_events_incremental()",
    "outcome job": "SELECT count(*) FROM watchlist.label_outcomes_incremental()",
    "factor job": "SELECT count(*) FROM watchlist.compute_factors_incremental()",
    "series": f"SELECT count(*) FROM watchlist.series('binance', '{SYMBOL}')",
    "series_minute": f"SELECT count(*) FROM watchlist.series_minute('binance', '{SYMBOL}')",
    "watchlist_list": "SELECT count(*) FROM watchlist.watchlist_list()",
    "metrics": f"SELECT count(*) FROM watchlist.metrics('binance', '{SYMBOL}')",
    "window_stats": f"SELECT count(*) FROM watchlist.window_stats('binance', '{SYMBOL}', now() - INTERVAL '12 hours', now())",
    "storage_report": "SELECT count(*) FROM watchlist.storage_report()",
    "job_health": "SELECT count(*) FROM watchlist.job_health()",
}


@pytest.fixture(scope="module")
def old_chunks(target):
    with config.connect(target, autocommit=True) as c:
        for sql in FIXTURE:
            c.execute(sql)
        rows = c.execute(OLD_CHUNKS).fetchall()
    yield dict(rows)
    # gone again: other tests count what they find (and the suite runs twice on one database)
    with config.connect(target, autocommit=True) as c:
        for sql in CLEANUP:
            c.execute(sql)


def test_the_fixture_has_old_compressed_chunks(old_chunks):
    names = " | ".join(old_chunks.values())
    assert "watch_signal_raw" in names and "factor_value" in names, names
    assert names.count("(compressed)") >= 2 and names.count("its compressed chunk") >= 2, names
    assert "_materialized_hypertable" in names, names


@pytest.mark.parametrize("call", list(CALLS))
def test_call_locks_no_old_chunk(target, old_chunks, call):
    with config.connect(target, autocommit=False) as c:  # one transaction: locks are held until its end
        results = [c.execute(CALLS[call]).fetchone()[0] for _ in range(7)]
        held = c.execute(
            "SELECT DISTINCT l.relation::oid, l.mode FROM pg_locks AS l "
            "WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.relation = ANY(%s)",
            (list(old_chunks),),
        ).fetchall()
        c.rollback()
    assert all(r is not None for r in results)
    assert [(old_chunks[oid], mode) for oid, mode in held] == [], f"{call} locks chunks outside its window"
