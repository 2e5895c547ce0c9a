"""Property: over any mix of good and bad rows, the writer writes exactly the good rows and
quarantines exactly the bad ones, each with the reason for its kind of damage (whether
the client refused it before sending or SQL refused it)."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchlist_db.writer import Writer
from writer_helpers import q, snapshot, utc_minutes_ago

NUL = "string contains a NUL byte (\\u0000), which PostgreSQL jsonb refuses"
# kind -> (change to a good row, expected field, expected reason; "{ts}" = the row's ts)
DAMAGE = {
    "nan": (lambda r: r.update(spread_rel=math.nan), "spread_rel", "not a finite number: NaN"),
    "inf": (lambda r: r.update(funding_rate=-math.inf), "funding_rate", "not a finite number: -Infinity"),
    "naive_ts": (
        lambda r: r.update(ts=r["ts"].replace(tzinfo=None)),
        "ts",
        "timestamp has no UTC offset (naive): {ts}",
    ),
    "bad_class": (lambda r: r.update(type_class="D"), "type_class", 'must be A, B or C, got "D"'),
    "neg_price": (lambda r: r.update(spot_price=-1.5), "spot_price", "must be > 0, got -1.5"),
    "bad_status": (
        lambda r: r.update(status="zombie"),
        "status",
        'unknown status "zombie" (known: watching, triggered, cooldown, paused, removed)',
    ),
    "nul_notes": (lambda r: r.update(notes="hint\x00"), "meta", "meta.notes: " + NUL),
    "nul_pairs": (lambda r: r["pairs_top"][0].update(dir="x\x00"), "meta", "meta.pairs_top[0].dir: " + NUL),
    "set_value": (lambda r: r.update(tags={"a"}), "meta", "meta.tags: value of type set cannot be represented in JSON"),
    "surrogate": (
        lambda r: r.update(notes="\udc80"),
        "meta",
        "meta.notes: string is not valid Unicode (lone surrogate), which PostgreSQL jsonb refuses",
    ),
    "no_triggered": (lambda r: r.pop("triggered"), "triggered", "required field is missing"),
}
_example = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(kinds=st.lists(st.sampled_from(["good"] * 4 + sorted(DAMAGE)), min_size=1, max_size=30))
def test_written_equals_good_rows_and_quarantined_equals_bad_rows(target, tmp_path_factory, kinds):
    n = next(_example)
    symbol = f"WTPROP{n}"
    rows = snapshot(symbol, utc_minutes_ago(240) + timedelta(minutes=n), len(kinds), step_s=1)
    expected = {}
    for row, kind in zip(rows, kinds):
        if kind != "good":
            damage, field, reason = DAMAGE[kind]
            ts = row["ts"].isoformat() if kind != "naive_ts" else row["ts"].replace(tzinfo=None).isoformat()
            damage(row)
            expected[ts] = (field, reason.format(ts=ts))
    good_ts = {r["ts"] for r, k in zip(rows, kinds) if k == "good"}
    try:
        with Writer(target=target, spool_path=tmp_path_factory.mktemp("prop") / "spool.sqlite", max_delay_s=0.05) as w:
            w.submit(rows)
        st_ = w.stats()
        assert (st_["written"], st_["quarantined"], st_["duplicates"], st_["pending"], st_["failed"]) == (
            len(good_ts),
            len(expected),
            0,
            0,
            0,
        )
        got = {r["key"][2]: (r["field"], r["reason"]) for r in w.rejects()}
        assert got == expected
        stored = {
            ts for (ts,) in q(target, "SELECT ts FROM watchlist_data.watch_signal_raw WHERE symbol = %s", (symbol,))
        }
        assert stored == good_ts
    finally:
        q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = %s", (symbol,))
        q(target, "DELETE FROM watchlist_data.ingest_quarantine WHERE row_data->>'symbol' = %s", (symbol,))
