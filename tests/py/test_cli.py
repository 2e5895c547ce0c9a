"""The CLI package: Python lists that mirror SQL, the commands that read through the API,
and the plain functions the commands (and the demo) are made of."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from watchlist_db import __version__, config
from watchlist_db import jobs as jobs_mod
from watchlist_db.cli import TRADE_FIELDS, load_jsonl, main
from watchlist_db.cli import status as status_mod
from watchlist_db.cli.common import Failure, need_extra
from watchlist_db.writer import Writer
from writer_helpers import closed_port_target, q, snapshot, utc_minutes_ago


def test_trade_fields_are_the_columns_record_trades_writes(conn):
    """TRADE_FIELDS (the CSV columns `wldb trades import` accepts) = the columns of
    watchlist.watchlist_outcome an operator gives (not the generated id / recorded_at)."""
    cols = [
        r[0]
        for r in conn.execute("""SELECT column_name FROM information_schema.columns
                                           WHERE table_schema = 'watchlist' AND table_name = 'watchlist_outcome'
                                           ORDER BY ordinal_position""")
    ]
    assert sorted(TRADE_FIELDS) == sorted(set(cols) - {"id", "recorded_at"})


def test_job_aliases_and_run_order_match_the_jobs_apply_policies_creates(conn):
    """Every alias of `wldb jobs run` names exactly one job, every job procedure
    apply_policies() creates has a place in the run order, and the order names no other."""
    listed = jobs_mod.list_jobs(conn)
    for alias, (proc, target) in jobs_mod.ALIASES.items():
        found = [j for j in listed if j["proc_name"] == proc and (target is None or j["target"] == target)]
        assert len(found) == 1, f"alias {alias!r} matches {len(found)} jobs"
    procs = {j["proc_name"] for j in listed}
    assert procs == set(jobs_mod.ORDER)
    aliased = {(j["proc_name"], j["target"]) for j in listed
               for proc, target in jobs_mod.ALIASES.values()
               if j["proc_name"] == proc and (target is None or j["target"] == target)}  # fmt: skip
    assert aliased == {(j["proc_name"], j["target"]) for j in listed}, "a job without an alias"


def test_outcomes_run_reports_the_job_figures_read_through_the_api(target):
    """The figures come from watchlist.jobs().last_stats (the job state table is private).
    On a real server the scheduler may run the job again right after, so the check is on
    the shape of both, not on equal numbers."""
    res = CliRunner().invoke(main, ["outcomes", "run"])
    assert res.exit_code == 0, res.output
    assert re.search(
        r"labelled: \d+ label\(s\) written \(\d+ without data coverage\) of \d+ candidate\(s\); "
        r"\d+ event\(s\) re-examined for late rows",
        res.output,
    ), res.output
    by_proc: dict[str, list] = {}
    for proc, stats in q(target, "SELECT proc_name, last_stats FROM watchlist.jobs()"):
        by_proc.setdefault(proc, []).append(stats)
    (label_stats,) = by_proc.pop("job_label_outcomes")
    assert {"candidates", "written", "uncovered", "recomputed_events", "changed_events"} == set(label_stats)
    (merge_stats,) = by_proc.pop("job_merge_events")
    assert merge_stats is None or "inserted" in merge_stats
    (factor_stats,) = by_proc.pop("job_compute_factors")
    assert factor_stats is None or "factor_rows" in factor_stats
    assert by_proc and all(s is None for v in by_proc.values() for s in v), "only the incremental jobs have a state"


def test_factors_lists_app_and_database_factors_with_their_definitions(target):
    """`wldb factors` (watchlist.factor_catalog): the database factors with the formula of
    their column comment, the app's columns; --source filters."""
    res = CliRunner().invoke(main, ["factors", "--hours", "1"])
    assert res.exit_code == 0, res.output
    assert re.search(r"^db\.spread_rsi_sma_14\s+database\s+\S+\s+RSI with simple averages", res.output, re.M), (
        res.output
    )
    assert re.search(r"^spread_zscore_1h\s+app\s", res.output, re.M), res.output
    res = CliRunner().invoke(main, ["factors", "--source", "database", "--format", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "factor,source,rows,values,coverage,definition"
    assert len(lines) > 30 and all(",database," in line for line in lines[1:]), res.output


def test_status_shows_the_package_version_and_runs_on_the_api(target):
    res = CliRunner().invoke(main, ["status"])
    assert f"watchlist-db {__version__}" in res.output, res.output
    assert "migrations (latest " in res.output and "policy consistency: ok" in res.output


def test_status_shows_row_estimates_only_where_the_database_has_one():
    """The embedded engine never analyses: no '~0 rows' made up for every table."""
    st = status_mod.Status(
        database="x",
        versions=("17", "2.23", 3, "0003_x.sql"),
        spool={"path": "/nowhere"},
        tables=[
            ("watchlist_data.a", "table", None, None, 8192, None, None, None, None, None),
            ("watchlist_data.b", "table", None, None, 8192, None, None, 1234, None, None),
        ],
    )
    lines = [line for line, _ in status_mod.render(st)]
    (a,) = [x for x in lines if "watchlist_data.a" in x]
    (b,) = [x for x in lines if "watchlist_data.b" in x]
    assert "rows" not in a and a.endswith("8 KiB")
    assert b.endswith("~1,234 rows")
    assert not st.bad


def test_version_option():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"wldb (watchlist-db) {__version__}"


def test_a_command_that_cannot_connect_says_so():
    res = CliRunner().invoke(main, ["--dsn", closed_port_target().conninfo, "settings"])
    assert res.exit_code == 1
    assert "error: cannot connect" in res.output


def test_a_missing_extra_is_named():
    with pytest.raises(Failure, match=r"pip install 'watchlist-db\[research\]'"):
        need_extra("watchlist_db_no_such_module", "research", "drawing charts")


def test_load_jsonl_is_usable_without_click(target, tmp_path):
    rows = snapshot("WTLOAD", utc_minutes_ago(40), 12)
    lines = [json.dumps(r, default=lambda v: v.isoformat()).encode() + b"\n" for r in rows]
    lines[3:3] = [b"\n", b"[1, 2]\n"]  # a blank line (skipped) and a line that is no object
    seen = []
    w = Writer(target=target, spool_path=tmp_path / "spool.sqlite", max_delay_s=0.1)
    rep = load_jsonl(w, lines, chunk=5, progress=seen.append)
    assert rep.lines == 14 and sum(seen) == sum(len(x) for x in lines)
    assert rep.bad_lines == {("(line)", "not a JSON object: expected an object, got list"): 1}
    assert rep.first_bad == ["line 5: expected an object, got list"]
    assert rep.stats["written"] + rep.stats["duplicates"] == 12 and rep.stats["quarantined"] == 1
    assert not rep.ok
    n = q(
        target,
        "SELECT count(*) FROM watchlist.watch_signal_raw WHERE symbol = 'WTLOAD' AND ts BETWEEN %s AND %s",
        (rows[0]["ts"], rows[-1]["ts"]),
    )[0][0]
    assert n == 12


def test_the_package_modules_stay_small():
    """No glue module above about 500 lines (the CLI was one file of 900)."""
    pkg = config.PACKAGE_DIR
    sizes = {str(p.relative_to(pkg)): len(p.read_text().splitlines()) for p in pkg.rglob("*.py")}
    assert {k: v for k, v in sizes.items() if v > 520} == {}
