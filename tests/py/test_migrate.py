"""The migration runner: idempotent, append-only, deliberate about transactions."""

from __future__ import annotations

import shutil

import pytest

from watchlist_db import config, migrate


def _ledger(target):
    with config.connect(target) as c:
        return dict(c.execute("SELECT filename, checksum FROM watchlist_data.schema_migrations").fetchall())


def test_migrate_twice_is_a_noop(target):
    before = _ledger(target)
    first = migrate.migrate(target, echo=lambda *_: None)
    second = migrate.migrate(target, echo=lambda *_: None)
    assert not first.changed and not second.changed
    assert first.applied == [] and first.reapplied == []
    assert {p[2] for p in second.policies} == {"unchanged"}
    assert len(second.policies) == 13
    assert _ledger(target) == before


def test_every_sql_file_is_recorded_with_its_checksum(target):
    _, migrations, repeatables = migrate.collect()
    ledger = _ledger(target)
    for f in migrations + repeatables:
        assert ledger[f.name] == f.checksum, f.name
    assert [f.name for f in migrations][:2] == ["0001_settings_and_helpers.sql", "0002_watch_signal_raw.sql"]
    assert "continuous_aggregates/0006_watchlist_series_agg.sql" in ledger


def test_an_edited_migration_is_refused_and_nothing_runs(target, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(config.sql_dir(), sql)
    (sql / "0002_watch_signal_raw.sql").write_text((sql / "0002_watch_signal_raw.sql").read_text() + "\n-- edited\n")
    (sql / "0999_should_not_run.sql").write_text("CREATE TABLE watchlist_data.should_not_exist (x int);\n")
    before = _ledger(target)
    with pytest.raises(migrate.MigrationError, match=r"edited.*0002_watch_signal_raw\.sql"):
        migrate.migrate(target, sql_root=sql, echo=lambda *_: None)
    assert _ledger(target) == before
    with config.connect(target) as c:
        assert c.execute("SELECT to_regclass('watchlist_data.should_not_exist')").fetchone()[0] is None


def test_non_transactional_statement_needs_the_directive(tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(config.sql_dir(), sql)
    (sql / "0998_refresh.sql").write_text(
        "CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', NULL, now());\n"
    )
    with pytest.raises(migrate.MigrationError, match="refresh_continuous_aggregate.*wldb:no-transaction"):
        migrate.collect(sql)


def test_new_migrations_apply_once_including_a_no_transaction_one(target, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(config.sql_dir(), sql)
    (sql / "0990_probe.sql").write_text(
        "CREATE TABLE watchlist_data.pytest_probe (x int NOT NULL PRIMARY KEY);\n"
        "INSERT INTO watchlist_data.pytest_probe VALUES (1);\n"
    )
    (sql / "continuous_aggregates" / "0991_probe_refresh.sql").write_text(
        "-- wldb:no-transaction\n"
        "-- refresh_continuous_aggregate cannot run in a transaction block: statement by statement.\n"
        "CALL refresh_continuous_aggregate('watchlist_data.watchlist_series_agg', now() - interval '1 hour', now() - interval '30 minutes');\n"
        "INSERT INTO watchlist_data.pytest_probe VALUES (2);\n"
    )
    try:
        report = migrate.migrate(target, sql_root=sql, echo=lambda *_: None)
        assert report.applied == ["0990_probe.sql", "continuous_aggregates/0991_probe_refresh.sql"]
        again = migrate.migrate(target, sql_root=sql, echo=lambda *_: None)
        assert again.applied == [] and not again.changed
        with config.connect(target) as c:
            assert [r[0] for r in c.execute("SELECT x FROM watchlist_data.pytest_probe ORDER BY x")] == [1, 2]
            owner = c.execute(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'watchlist_data.pytest_probe'::regclass"
            ).fetchone()[0]
            assert owner == "wl_owner"
    finally:
        with config.connect(target) as c:
            c.execute("DROP TABLE IF EXISTS watchlist_data.pytest_probe")
            c.execute(
                "DELETE FROM watchlist_data.schema_migrations WHERE filename IN ('0990_probe.sql', 'continuous_aggregates/0991_probe_refresh.sql')"
            )


def test_a_failing_migration_keeps_nothing(target, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(config.sql_dir(), sql)
    (sql / "0995_broken.sql").write_text("CREATE TABLE watchlist_data.pytest_half (x int);\nSELECT 1/0;\n")
    with pytest.raises(migrate.MigrationError, match="0995_broken.sql failed"):
        migrate.migrate(target, sql_root=sql, echo=lambda *_: None)
    with config.connect(target) as c:
        assert c.execute("SELECT to_regclass('watchlist_data.pytest_half')").fetchone()[0] is None
        assert (
            c.execute(
                "SELECT count(*) FROM watchlist_data.schema_migrations WHERE filename = '0995_broken.sql'"
            ).fetchone()[0]
            == 0
        )


def test_the_ledger_records_how_long_each_migration_took(target, tmp_path):
    """duration_ms is the time the file took (it was always 0): a migration that sleeps
    0.3 s in SQL and a no-transaction one that sleeps 0.2 s are recorded with at least that."""
    sql = tmp_path / "sql"
    shutil.copytree(config.sql_dir(), sql)
    (sql / "0996_slow.sql").write_text("SELECT pg_sleep(0.3);\n")
    (sql / "0997_slow_no_tx.sql").write_text("-- wldb:no-transaction\nSELECT pg_sleep(0.2);\n")
    try:
        report = migrate.migrate(target, sql_root=sql, echo=lambda *_: None)
        assert report.applied == ["0996_slow.sql", "0997_slow_no_tx.sql"]
        with config.connect(target) as c:
            ms = dict(
                c.execute("""SELECT filename, duration_ms FROM watchlist_data.schema_migrations
                                    WHERE filename IN ('0996_slow.sql', '0997_slow_no_tx.sql')""").fetchall()
            )
        assert ms["0996_slow.sql"] >= 300 and ms["0997_slow_no_tx.sql"] >= 200, ms
    finally:
        with config.connect(target) as c:
            c.execute(
                "DELETE FROM watchlist_data.schema_migrations WHERE filename IN ('0996_slow.sql', '0997_slow_no_tx.sql')"
            )
