"""Fuzz: mixed batches of valid rows and generated bad ones (wrong types, deep nesting,
integers beyond double precision, NUL, lone surrogates, non-objects, oversize meta),
through Writer.submit() and `wldb insert`. Every valid row is stored exactly once, every
bad one is reported with its row (or line), field and reason, and nothing raises."""

from __future__ import annotations

import itertools
import json
import random
import re
import uuid
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from watchlist_db import snapshot as snap
from watchlist_db.cli import main
from watchlist_db.writer import Writer
from writer_helpers import q

RUN = uuid.uuid4().hex[:6].upper()
_seq = itertools.count()
T0 = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
FUZZ = settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example is a database round trip
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

# ------------------------------------------------------------------- strategies
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# spread_rel and funding_rate as the writer API accepts them (docs/writer-input.md: |x| <= 10,
# and 0 or at least 1e-30 from 0)
in_range = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False).filter(
    lambda x: x == 0 or abs(x) >= 1e-30
)
clean_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
json_leaf = st.none() | st.booleans() | finite | st.integers(-(2**63), 2**63 - 1) | clean_text
json_value = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(clean_text, kids, max_size=4),
    max_leaves=12,
)

valid_row = st.fixed_dictionaries(
    {
        "type_class": st.sampled_from("ABC"),
        "triggered": st.booleans(),
        "status": st.sampled_from(["watching", "triggered", "cooldown"]),
        "spread_rel": in_range,
        "funding_rate": in_range,
        "crossings_1h": st.integers(0, 1000),
        "factors": st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), finite, max_size=5),
        "notes": clean_text,
        "matrix": json_value,
    }
)


def _nested(depth: int) -> list:
    root = cur = []
    for _ in range(depth - 1):
        cur.append([])
        cur = cur[0]
    return root


# A bad row: (what to merge into a valid row, or a non-object row), and where it is
# refused: "client" (the writer names it before sending) or "server" (SQL quarantines it).
bad_change = st.one_of(
    # (deeper nesting, to 3,000 levels, is in test_input_hardening: hypothesis cannot print it)
    st.integers(snap.MAX_DEPTH + 1, 200).map(lambda d: ("client", {"notes": _nested(d)})),
    st.integers(309, 6000).map(lambda n: ("client", {"factors": {"big": 10**n}})),
    st.integers(309, 400).map(lambda n: ("client", {"spread_rel": -(10**n)})),
    clean_text.map(lambda s: ("client", {"notes": s + "\x00"})),
    clean_text.map(lambda s: ("client", {"matrix": {"cell": s + "\ud800"}})),
    clean_text.map(lambda s: ("client", {"meta": {s + "\udfff": 1}})),
    st.sampled_from([{1, 2}, object(), b"bytes", 1j]).map(lambda v: ("client", {"notes": [v]})),
    st.sampled_from([7, "row", [1, 2], None]).map(lambda v: ("client", v)),
    clean_text.map(lambda s: ("server", {"spread_rel": s})),
    st.floats(min_value=10, max_value=1e300, exclude_min=True).map(lambda x: ("server", {"funding_rate": x})),
    st.sampled_from([5e-324, -1e-310, 1e-31]).map(lambda x: ("server", {"spread_rel": x})),
    st.sampled_from(["bogus", "", "WATCHING"]).map(lambda s: ("server", {"status": s})),
    st.sampled_from([[1], "x", 2.5]).map(lambda v: ("server", {"meta": v})),
    st.integers(0, 2**32).map(
        lambda seed: ("server", {"notes": random.Random(seed).randbytes(100_000).hex()})  # meta over 64 KiB
    ),
)

batch = st.lists(st.tuples(st.booleans(), valid_row, bad_change), min_size=1, max_size=24)


def _build(items) -> tuple[str, list, dict[int, str]]:
    """The rows of one example (unique symbol, one minute apart) and {index: where} of the bad ones."""
    symbol = f"FZ{RUN}{next(_seq)}"
    rows, bad = [], {}
    for i, (is_bad, base, (where, change)) in enumerate(items):
        row = {"exchange": "fz", "symbol": symbol, "ts": (T0 + timedelta(minutes=i)).isoformat(), **base}
        if is_bad:
            bad[i] = where
            row = {**row, **change} if isinstance(change, dict) else change
        rows.append(row)
    return symbol, rows, bad


def _stored(target, symbol: str) -> dict[str, int]:
    rows = q(
        target,
        "SELECT ts, count(*) FROM watchlist_data.watch_signal_raw WHERE symbol = %s GROUP BY ts",
        (symbol,),
    )
    return {ts.astimezone(UTC).isoformat(): n for ts, n in rows}


def _cleanup(target, symbol: str) -> None:
    q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = %s", (symbol,))
    q(target, "DELETE FROM watchlist_data.ingest_quarantine WHERE row_data->>'symbol' = %s", (symbol,))


@FUZZ
@given(items=batch)
def test_submit_stores_every_valid_row_once_and_names_every_bad_one(target, tmp_path_factory, items):
    symbol, rows, bad = _build(items)
    spool = tmp_path_factory.mktemp("fuzz") / "spool.sqlite"
    refused: list = []
    try:
        with Writer(target=target, spool_path=spool, max_delay_s=0.05) as w:
            accepted = w.submit(rows, rejected=refused)
            assert w.drain(timeout=60), w.stats()
            st_ = w.stats()
            server = [r for r in w.rejects(1000) if r["batch_id"] is not None]
        client_bad = {i for i, where in bad.items() if where == "client"}
        server_bad = {i for i, where in bad.items() if where == "server"}
        assert accepted == len(rows) - len(client_bad)
        assert {r.row for r in refused} == client_bad, refused
        assert all(r.field and r.reason for r in refused)
        # the server's rejects name the row by its key (the batch holds only the sent rows)
        assert sorted(r["key"][2] for r in server) == sorted(rows[i]["ts"] for i in server_bad), server
        assert all(r["field"] and r["reason"] for r in server)
        assert (st_["quarantined"], st_["dropped"], st_["failed"]) == (len(bad), 0, 0), st_
        valid_ts = {rows[i]["ts"] for i in range(len(rows)) if i not in bad}
        assert _stored(target, symbol) == dict.fromkeys(valid_ts, 1)
    finally:
        _cleanup(target, symbol)


def _jsonl_line(row) -> bytes:
    """A row as one JSON line; what JSON cannot carry becomes a line the parser refuses."""
    try:
        return json.dumps(row, ensure_ascii=True).encode()  # lone surrogates as \\udXXX escapes
    except (TypeError, ValueError, RecursionError):
        return b'{"no JSON for this row": ' + b"9" * 5000 + b"}"  # an integer json.loads refuses


@FUZZ
@given(items=batch, garbage=st.lists(st.binary(min_size=1, max_size=20), max_size=3))
def test_insert_stores_every_valid_line_once_and_names_every_bad_one(target, tmp_path_factory, items, garbage):
    symbol, rows, bad = _build(items[:15])
    lines = [_jsonl_line(r) for r in rows]
    bad_lines = {i + 1 for i in bad}
    for g in garbage:  # bytes that are no JSON object (invalid UTF-8 included)
        g = g.replace(b"\n", b" ").replace(b"\r", b" ")
        if not g.strip():
            continue
        try:
            if isinstance(json.loads(g), dict):
                continue
        except (ValueError, RecursionError):
            pass
        lines.append(g)
        bad_lines.add(len(lines))
    d = tmp_path_factory.mktemp("fuzzcli")
    (d / "rows.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    try:
        res = CliRunner().invoke(main, ["insert", str(d / "rows.jsonl"), "--spool", str(d / "spool.sqlite")])
        assert res.exception is None or isinstance(res.exception, SystemExit), res.output
        assert res.exit_code == (1 if bad_lines else 0), res.output
        assert f"read {len(lines)} line(s)" in res.output
        named = {int(m) for m in re.findall(r"^  line (\d+): \S", res.output, re.M)}
        assert named == bad_lines, res.output
        assert f"quarantined: {len(bad_lines)}   failed: 0   dropped: 0   left in the spool: 0" in res.output
        valid_ts = {rows[i]["ts"] for i in range(len(rows)) if i not in bad}
        assert _stored(target, symbol) == dict.fromkeys(valid_ts, 1)
    finally:
        _cleanup(target, symbol)
