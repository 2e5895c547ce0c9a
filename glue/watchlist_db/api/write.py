"""The writer API (roles wl_writer and up): the calls the flush loop, `wldb ingest` and
`wldb trades` make. Batches arrive already encoded (snapshot.py); these only send them."""

from __future__ import annotations

from collections.abc import Mapping

from psycopg.types.json import Jsonb

INGEST_SQL = "SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw(%s, %s)"
MEMBERSHIP_SQL = "SELECT entered, left_count, stale FROM watchlist.sync_membership(%s, %s)"
SYMBOL_REFS_SQL = "SELECT watchlist.upsert_symbol_refs(%s)"
TRADES_SQL = "SELECT row_index, trade_ref, id, error FROM watchlist.record_trades(%s)"


def _same(payload: bytes) -> bytes:
    return payload


def _json(payload) -> Jsonb:
    """Bytes are JSON already encoded (sent as they are); anything else is encoded here."""
    return Jsonb(payload, dumps=_same) if isinstance(payload, (bytes, bytearray, memoryview)) else Jsonb(payload)


def set_statement_timeout(conn, seconds: float) -> None:
    """Bound every later statement of this session (a slow call raises 57014)."""
    conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{int(seconds * 1000)}",))


def ingest_raw(conn, rows, batch_id: str) -> tuple:
    """(received, inserted, duplicates, rejected, rejects) for one batch of raw rows."""
    return conn.execute(INGEST_SQL, (_json(rows), batch_id)).fetchone()


def sync_membership(conn, members, at: str) -> tuple:
    """(entered, left_count, stale) for the complete watchlist at ``at``."""
    return conn.execute(MEMBERSHIP_SQL, (_json(members), at)).fetchone()


def upsert_symbol_refs(conn, refs) -> tuple:
    return conn.execute(SYMBOL_REFS_SQL, (_json(refs),)).fetchone()


def record_trades(conn, rows: list[dict]) -> list[tuple]:
    """(row_index, trade_ref, id, error) per row sent."""
    return conn.execute(TRADES_SQL, (Jsonb(rows),)).fetchall()


def columns_sql(cols: Mapping[str, list]) -> str:
    """The watchlist.ingest_raw_columns call for these columns (named arguments, binary
    parameters: the batch id first, then the columns in the mapping's order; the array
    types from snapshot.COLUMN_TYPES)."""
    from ..snapshot import COLUMN_TYPES

    args = ", ".join(f"{k} => %b::{COLUMN_TYPES[k]}" for k in cols)
    return (
        "SELECT received, inserted, duplicates, rejected, rejects FROM watchlist.ingest_raw_columns(%s"
        + (", " + args if args else "")
        + ")"
    )


def ingest_raw_columns(conn, cols: Mapping[str, list], batch_id: str) -> tuple:
    """ingest_raw's result for a batch in the typed columnar form (snapshot.to_columns)."""
    return conn.execute(columns_sql(cols), [batch_id, *cols.values()]).fetchone()
