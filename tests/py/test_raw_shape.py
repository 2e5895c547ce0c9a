"""The raw row's shape has one home, the table watchlist_data.watch_signal_raw; every other
list of its columns is checked against the table's catalogue entry (pg_attribute) here, so
adding a raw column is one migration plus the places these tests name:

- watchlist_data.raw_fields() (the fields the writer API accepts),
- watchlist_data.raw_field_kind() (how each is checked; the kind must fit the column type),
- watchlist_data.raw_insert() (its INSERT column list),
- watchlist.ingest_raw_columns() (one array parameter per column, of the column's type),
- the signature of ingest_raw_columns in tests/pgtap/02_privileges.sql,
- watchlist_db.snapshot.COLUMNS and COLUMN_TYPES (the Python glue's mapping)."""

from __future__ import annotations

import re
from pathlib import Path

from watchlist_db import snapshot

ROOT = Path(__file__).resolve().parents[2]
# Filled by the server, never by a writer.
SERVER_COLUMNS = {"ingested_at"}
# raw_field_kind's kinds and the column types they check.
KIND_TYPES = {
    "timestamp": "timestamp with time zone",
    "exchange": "text",
    "symbol": "text",
    "class": "text",
    "status": "text",
    "boolean": "boolean",
    "integer": "integer",
    "meta": "jsonb",
    "number": "double precision",
}


def _table_columns(conn) -> dict[str, str]:
    rows = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
          FROM pg_attribute AS a
         WHERE a.attrelid = 'watchlist_data.watch_signal_raw'::regclass AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum
        """
    ).fetchall()
    return dict(rows)


def _writer_columns(conn) -> dict[str, str]:
    return {k: v for k, v in _table_columns(conn).items() if k not in SERVER_COLUMNS}


def test_server_columns_exist(conn):
    missing = SERVER_COLUMNS - set(_table_columns(conn))
    assert not missing, f"columns this test treats as server-filled are not in the table: {missing}"


def test_raw_fields_are_the_writer_columns(conn):
    (fields,) = conn.execute("SELECT watchlist_data.raw_fields()").fetchone()
    assert len(fields) == len(set(fields)), f"raw_fields() repeats a field: {fields}"
    assert set(fields) == set(_writer_columns(conn)), (
        f"raw_fields() differs from the table: only in raw_fields {set(fields) - set(_writer_columns(conn))}, "
        f"only in the table {set(_writer_columns(conn)) - set(fields)}"
    )


def test_raw_field_kind_fits_every_column_type(conn):
    wrong = {}
    for col, typ in _writer_columns(conn).items():
        (kind,) = conn.execute("SELECT watchlist_data.raw_field_kind(%s)", (col,)).fetchone()
        if KIND_TYPES.get(kind) != typ:
            wrong[col] = (kind, typ)
    assert not wrong, f"raw_field_kind() has no kind, or a kind that does not fit the column type: {wrong}"
    (none,) = conn.execute("SELECT watchlist_data.raw_field_kind('not_a_column')").fetchone()
    assert none is None, "raw_field_kind() knows a field the table does not have"


def test_raw_insert_writes_every_column(conn):
    (src,) = conn.execute(
        "SELECT pg_get_functiondef('watchlist_data.raw_insert(jsonb, timestamptz)'::regprocedure)"
    ).fetchone()
    m = re.search(r"INSERT INTO watchlist_data\.watch_signal_raw \((.*?)\)", src, re.S)
    assert m, "raw_insert has no INSERT INTO watchlist_data.watch_signal_raw (...)"
    cols = [c.strip() for c in m.group(1).split(",")]
    assert len(cols) == len(set(cols)), f"raw_insert names a column twice: {cols}"
    assert set(cols) == set(_table_columns(conn)), (
        f"raw_insert's column list differs from the table: only there {set(cols) - set(_table_columns(conn))}, "
        f"missing {set(_table_columns(conn)) - set(cols)}"
    )


def _columns_params(conn) -> dict[str, str]:
    rows = conn.execute(
        """
        SELECT a.name, format_type(a.typ, NULL)
          FROM pg_proc AS p
         CROSS JOIN LATERAL unnest(p.proargnames[1:p.pronargs], p.proargtypes::oid[]) AS a(name, typ)
         WHERE p.oid = (SELECT oid FROM pg_proc
                         WHERE proname = 'ingest_raw_columns' AND pronamespace = 'watchlist'::regnamespace)
        """
    ).fetchall()
    return dict(rows)


def test_ingest_raw_columns_takes_every_column_as_an_array_of_its_type(conn):
    params = _columns_params(conn)
    params.pop("p_batch_id")
    cols = _writer_columns(conn)
    assert set(params) == set(cols), (
        f"ingest_raw_columns' parameters differ from the table: only there {set(params) - set(cols)}, "
        f"missing {set(cols) - set(params)}"
    )
    # timestamps travel as ISO 8601 text (checked like the JSON form); the rest as their type
    expected = {c: ("text[]" if t == "timestamp with time zone" else t + "[]") for c, t in cols.items()}
    wrong = {c: (params[c], expected[c]) for c in cols if params[c] != expected[c]}
    assert not wrong, f"ingest_raw_columns' parameter types (have, want): {wrong}"


def test_privileges_test_names_the_current_signature(conn):
    (sig,) = conn.execute(
        "SELECT oid::regprocedure::text FROM pg_proc"
        " WHERE proname = 'ingest_raw_columns' AND pronamespace = 'watchlist'::regnamespace"
    ).fetchone()
    assert f"('{sig}', 'wl_writer')" in (ROOT / "tests/pgtap/02_privileges.sql").read_text(), (
        f"tests/pgtap/02_privileges.sql does not grant-check {sig}"
    )


def test_snapshot_columns_and_types_follow_the_table(conn):
    cols = _writer_columns(conn)
    assert set(snapshot.COLUMNS) == set(cols), (
        f"snapshot.COLUMNS differs from the table: only there {set(snapshot.COLUMNS) - set(cols)}, "
        f"missing {set(cols) - set(snapshot.COLUMNS)}"
    )
    params = _columns_params(conn)
    wrong = {c: (snapshot.COLUMN_TYPES.get(c), params[c]) for c in cols if snapshot.COLUMN_TYPES.get(c) != params[c]}
    assert not wrong, f"snapshot.COLUMN_TYPES differs from ingest_raw_columns' parameters (have, want): {wrong}"
