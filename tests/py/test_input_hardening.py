"""Bad input costs only its own row: the writer (submit), `wldb insert` and
`wldb trades import` name each bad row (line / row, field, reason) and store the others."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner

from watchlist_db import snapshot as snap
from watchlist_db.cli import main
from watchlist_db.writer import Writer
from writer_helpers import keys_of, q, snapshot, stored_keys, utc_minutes_ago


def _nested(depth: int) -> list:
    root = cur = []
    for _ in range(depth - 1):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    return root


def _cleanup(target, symbol: str) -> None:
    q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = %s", (symbol,))
    q(target, "DELETE FROM watchlist_data.ingest_quarantine WHERE row_data->>'symbol' = %s", (symbol,))


def test_submit_refuses_a_deep_row_and_huge_integers_alone(target, tmp_path):
    sym = "WTHARD"
    rows = snapshot(sym, utc_minutes_ago(90), 20)
    rows[3]["notes"] = _nested(3000)  # 3,000 levels in meta.notes
    rows[7]["factors"] = {"rsi_14": 10**5000}  # 5,000 digits: more than str(int) allows
    rows[11]["spread_rel"] = 10**400  # beyond double precision, in a column
    rows[15]["meta"] = {"deep": _nested(snap.MAX_DEPTH)}  # deeper than the bound (meta is level 2)
    bad = {3, 7, 11, 15}
    w = Writer(target=target, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.05)
    refused: list = []
    try:
        assert w.submit(rows, rejected=refused) == 16
        st = w.close(timeout=60)
        assert (st["written"], st["quarantined"], st["dropped"], st["failed"]) == (16, 4, 0, 0)
        by_row = {r.row: (r.field, r.reason) for r in refused}
        assert set(by_row) == bad
        assert by_row[3][0] == "meta" and by_row[3][1].endswith(f"nested deeper than {snap.MAX_DEPTH} levels")
        assert by_row[3][1] == f"meta.notes{'[0]' * 40}"[:117] + f"...: nested deeper than {snap.MAX_DEPTH} levels"
        assert by_row[7] == (
            "meta",
            "meta.factors.rsi_14: integer of about 5000 digits is beyond the range of a double precision number",
        )
        assert by_row[11] == (
            "spread_rel",
            "integer of about 400 digits is beyond the range of a double precision number",
        )
        assert by_row[15][0] == "meta" and by_row[15][1].endswith(f"nested deeper than {snap.MAX_DEPTH} levels")
        assert {r["row"] for r in w.rejects()} == bad
        assert set(stored_keys(target, sym)) == keys_of([r for i, r in enumerate(rows) if i not in bad])
    finally:
        w.close(timeout=5)
        _cleanup(target, sym)


def test_rows_at_the_depth_bound_and_64_bit_integers_are_stored(target, tmp_path):
    sym = "WTHARDOK"
    rows = snapshot(sym, utc_minutes_ago(95), 3)
    rows[0]["meta"] = {"deep": _nested(snap.MAX_DEPTH - 2)}  # row 1, meta 2, the lists 3..64
    rows[1]["factors"] = {"big": 2**63 - 1, "bigger": 2**200}  # within double precision
    rows[2]["notes"] = [None, {"x": None}]  # JSON null deep in meta: the standard encoder's path
    with Writer(target=target, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.05) as w:
        assert w.submit(rows) == 3
        w.drain(timeout=60)
    try:
        assert set(stored_keys(target, sym)) == keys_of(rows)
        got = q(
            target,
            "SELECT meta->'factors'->>'bigger', meta->'deep' FROM watchlist_data.watch_signal_raw "
            "WHERE symbol = %s ORDER BY ts",
            (sym,),
        )
        assert got[1][0] == str(2**200) and got[0][1] == _nested(snap.MAX_DEPTH - 2)
    finally:
        _cleanup(target, sym)


def test_insert_names_each_bad_line_and_stores_the_good_ones(target, tmp_path):
    sym = "WTHARDCLI"
    rows = snapshot(sym, utc_minutes_ago(100), 6)
    text = [json.dumps(r, default=lambda v: v.isoformat()) for r in rows]
    nan_row = dict(rows[0], ts=rows[0]["ts"] + timedelta(seconds=1), spread_rel=float("nan"))
    lines = [
        text[0],  # 1
        "[" * 3000 + "]" * 3000,  # 2: deeper than the JSON parser goes
        text[1],  # 3
        json.dumps(dict(json.loads(text[2]), factors={"huge": 1})).replace('"huge": 1', '"huge": ' + "9" * 400),  # 4
        text[3],  # 5
        json.dumps({**json.loads(text[4]), "notes": _nested(100)}),  # 6
        json.dumps(nan_row, default=lambda v: v.isoformat()),  # 7: the database quarantines it
        text[5],  # 8
    ]
    path = tmp_path / "rows.jsonl"
    surrogate_key = json.dumps({**json.loads(text[0]), "ts": "2033-01-01T00:00:00Z", "meta": {"k\ud800": 1}})
    path.write_bytes(
        ("\n".join(lines) + "\n").encode()
        + b'{"symbol": "\xff"}\n'  # 9: not UTF-8
        + surrogate_key.encode()  # 10: a lone surrogate in a key, printed escaped
        + b"\n"
    )
    try:
        res = CliRunner().invoke(main, ["insert", str(path), "--spool", str(tmp_path / "spool.sqlite")])
        assert res.exit_code == 1, res.output
        assert "read 10 line(s)" in res.output
        assert "written: 4   duplicates skipped: 0   quarantined: 6   failed: 0" in res.output
        shown = [ln.strip() for ln in res.output.splitlines() if ln.strip().startswith("line ")]
        assert shown == [
            "line 2: nested too deeply to parse",
            "line 4: meta: meta.factors.huge: integer of about 400 digits is beyond the range of a double precision number",
            "line 6: meta: " + f"meta.notes{'[0]' * 40}"[:117] + f"...: nested deeper than {snap.MAX_DEPTH} levels",
            "line 7: spread_rel: not a finite number: NaN",
            "line 9: not valid UTF-8: byte 13 (invalid start byte)",
            "line 10: meta: meta.k\\ud800: string is not valid Unicode (lone surrogate), which PostgreSQL jsonb refuses",
        ]
        assert set(stored_keys(target, sym)) == keys_of([rows[i] for i in (0, 1, 3, 5)])
    finally:
        _cleanup(target, sym)


def test_trades_import_refuses_bad_lines_alone(target, tmp_path):
    ref = f"hard-{uuid.uuid4().hex[:8]}"
    at = "2033-01-01T00:00:00Z"
    csv_bytes = (
        "trade_ref,trigger_id,opened_at,pnl,labels,notes\n"
        f"{ref}-ok1,,{at},1.5,,\n"  # 2
        f"{ref}-nan,,{at},nan,,\n"  # 3
        f"{ref}-inf,,{at},1e999,,\n"  # 4
        f"{ref}-nul,,{at},1,,a\0b\n"  # 5
        f"{ref}-sup,\u00b2,{at},1,,\n"  # 6: the database refuses the event id
        f"{ref}-extra,,{at},1,,,surplus\n"  # 7
        f'{ref}-lab,,{at},1,"{{""a"": NaN}}",\n'  # 8
        f'{ref}-ok2,,{at},-2,"{{""k"": [1, 2]}}",fine\n'  # 9
    ).encode() + f"{ref}-utf,,{at},1,,\xff\xfe\n".encode("latin-1")  # 10: not UTF-8
    path = tmp_path / "trades.csv"
    path.write_bytes(csv_bytes)
    dsn = [] if target.embedded else ["--dsn", target.conninfo]
    try:
        res = CliRunner().invoke(main, [*dsn, "trades", "import", str(path)], catch_exceptions=False)
        assert res.exit_code == 1, res.output
        lines = res.output.splitlines()
        assert lines[0] == "recorded 2 trade(s), refused 7:"
        assert lines[1:6] == [
            f"  line 3 ({ref}-nan): pnl: 'nan' is not a finite number",
            f"  line 4 ({ref}-inf): pnl: '1e999' is not a finite number",
            f"  line 5 ({ref}-nul): notes: contains a NUL byte, which PostgreSQL refuses",
            lines[4],  # the server's wording for the event id
            f"  line 7 ({ref}-extra): (line): 1 cell(s) more than the header's 6 column(s)",
        ]
        assert lines[4].startswith(f"  line 6 ({ref}-sup): ") and "²" in lines[4]
        assert lines[6:] == [
            f"  line 8 ({ref}-lab): labels: not JSON (NaN is not a finite number)",
            f"  line 10 ({ref}-utf): notes: is not valid UTF-8",
        ]
        assert q(
            target,
            "SELECT trade_ref, pnl, labels, notes FROM watchlist_data.watchlist_outcome "
            "WHERE trade_ref LIKE %s ORDER BY trade_ref",
            (f"{ref}-%",),
        ) == [(f"{ref}-ok1", 1.5, {}, None), (f"{ref}-ok2", -2.0, {"k": [1, 2]}, "fine")]
    finally:
        q(target, "DELETE FROM watchlist_data.watchlist_outcome WHERE trade_ref LIKE %s", (f"{ref}-%",))


@pytest.mark.parametrize(
    "value",
    [10**5000, 10**309, -(10**309), _nested(200), {"k": "\x00"}, {"k": "\ud800"}, {1j: 1}],
    ids=["int5000", "int309", "negint309", "nest200", "nul", "surrogate", "complexkey"],
)
def test_encoding_refuses_what_cannot_be_sent(value):
    good, bad = snap.to_raw_rows([{"exchange": "e", "symbol": "s", "ts": "2033-01-01T00:00:00Z", "notes": value}, {}])
    assert [g[0] for g in good] == [1] and len(bad) == 1 and bad[0].row == 0 and bad[0].field == "meta"
