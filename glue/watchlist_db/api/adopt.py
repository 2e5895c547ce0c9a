"""The adoption functions (schema watchlist_adopt, defined by sql/adopt/adopt.sql and
undone by sql/adopt/rollback.sql). The caller runs each step in its own transaction."""

from __future__ import annotations

from .. import config

# the steps that return one line of text to show, in the order apply runs them
STEPS = ("move_aside", "take_ownership", "import_refs", "finish_raw", "import_trades", "rederive")


def _script(name: str) -> str:
    return (config.sql_dir() / "adopt" / name).read_text()


def define(conn) -> None:
    """(Re)create schema watchlist_adopt and its functions."""
    conn.execute(_script("adopt.sql"))


def roll_back(conn) -> None:
    """Undo an adoption (sql/adopt/rollback.sql)."""
    conn.execute(_script("rollback.sql"))


def plan(conn) -> list[tuple]:
    """(section, item, detail) of what an adoption would do."""
    return conn.execute("SELECT section, item, detail FROM watchlist_adopt.plan()").fetchall()


def preflight(conn) -> None:
    """Raises when the database cannot be adopted (the error says why)."""
    conn.execute("SELECT watchlist_adopt.preflight()")


def step(conn, name: str) -> str:
    """Run one of STEPS; returns its line of text."""
    if name not in STEPS:
        raise ValueError(f"unknown adoption step {name!r}")
    return conn.execute(f"SELECT watchlist_adopt.{name}()").fetchone()[0]


def mark(conn, stage: str) -> None:
    conn.execute("SELECT watchlist_adopt.mark(%s)", (stage,))


def raw_batches(conn) -> list[tuple]:
    """(day, pass) of every raw batch still to import."""
    return conn.execute("SELECT day, pass FROM watchlist_adopt.raw_batches()").fetchall()


def import_raw(conn, day, pass_) -> tuple:
    """(received, inserted, duplicates, rejected) of one raw batch."""
    return conn.execute(
        "SELECT received, inserted, duplicates, rejected FROM watchlist_adopt.import_raw(%s, %s)", (day, pass_)
    ).fetchone()


def summary(conn) -> list[tuple]:
    """(item, legacy, stored, duplicates, refused, note) per adopted table."""
    return conn.execute("SELECT * FROM watchlist_adopt.summary()").fetchall()


def rows_since_adoption(conn) -> int:
    """Raw rows written after the adoption finished (what a rollback would lose)."""
    return conn.execute(
        """SELECT count(*) FROM watchlist_data.watch_signal_raw
            WHERE ingested_at > (SELECT value::timestamptz FROM watchlist_adopt.state WHERE key = 'adopted_at')
              AND NOT EXISTS (SELECT FROM watchlist_adopt.raw_batch)"""
    ).fetchone()[0]
