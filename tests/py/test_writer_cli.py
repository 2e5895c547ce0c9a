"""`wldb insert`, `wldb spool status`, `wldb spool replay`: the writer from the command line."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from click.testing import CliRunner

from watchlist_db.cli import main
from watchlist_db.writer import Writer
from writer_helpers import closed_port_target, keys_of, q, snapshot, stored_keys, utc_minutes_ago


def _jsonl(rows) -> str:
    return "".join(json.dumps(r, default=lambda v: v.isoformat()) + "\n" for r in rows)


def test_insert_reports_written_duplicates_and_quarantine_reasons(target, tmp_path):
    rows = snapshot("WTCLI", utc_minutes_ago(70), 30)
    bad = dict(rows[0], ts=rows[0]["ts"] + timedelta(seconds=1), spread_rel=math.nan)
    path = tmp_path / "rows.jsonl"
    path.write_text(_jsonl(rows) + _jsonl([bad]) + "\nnot json\n")  # 30 good, 1 NaN, a blank line, 1 not JSON
    spool = tmp_path / "spool.sqlite"
    runner = CliRunner()
    try:
        res = runner.invoke(main, ["insert", str(path), "--spool", str(spool)])
        assert res.exit_code == 1, res.output  # something was quarantined
        assert "read 33 line(s)" in res.output
        assert (
            "written: 30   duplicates skipped: 0   quarantined: 2   failed: 0   dropped: 0   left in the spool: 0"
            in res.output
        )
        assert "       1  spread_rel: not a finite number: NaN" in res.output
        assert "       1  (line): not a JSON object: Expecting value" in res.output
        assert "line 33: Expecting value" in res.output
        assert set(stored_keys(target, "WTCLI")) == keys_of(rows)

        res = runner.invoke(main, ["insert", "-", "--spool", str(spool)], input=_jsonl(rows))
        assert res.exit_code == 0, res.output
        assert "written: 0   duplicates skipped: 30   quarantined: 0" in res.output

        res = runner.invoke(main, ["spool", "status", "--spool", str(spool)])
        assert res.exit_code == 0, res.output
        assert "pending rows      0" in res.output and "no writer running" in res.output
        assert "totals            written 30  duplicates 30  quarantined 1" in res.output
        res = runner.invoke(main, ["spool", "status", "--json", "--spool", str(spool)])
        assert json.loads(res.output)["totals"]["written"] == 30
    finally:
        q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'WTCLI'")
        q(target, "DELETE FROM watchlist_data.ingest_quarantine WHERE row_data->>'symbol' = 'WTCLI'")


def test_spool_replay_sends_what_a_writer_left_behind(target, tmp_path):
    rows = snapshot("WTCLIREP", utc_minutes_ago(65), 25)
    spool = tmp_path / "spool.sqlite"
    w = Writer(target=closed_port_target(), spool_path=spool, connect_timeout_s=2)
    w.submit(rows)
    assert w.close(timeout=3)["pending"] == 25
    runner = CliRunner()
    try:
        res = runner.invoke(main, ["spool", "status", "--spool", str(spool)])
        assert "pending rows      25" in res.output and "Connection refused" in res.output, res.output
        res = runner.invoke(main, ["spool", "replay", "--spool", str(spool)])
        assert res.exit_code == 0, res.output
        assert "replayed 25 row(s)" in res.output
        assert set(stored_keys(target, "WTCLIREP")) == keys_of(rows)
        assert "pending rows      0" in runner.invoke(main, ["spool", "status", "--spool", str(spool)]).output
    finally:
        q(target, "DELETE FROM watchlist_data.watch_signal_raw WHERE symbol = 'WTCLIREP'")
