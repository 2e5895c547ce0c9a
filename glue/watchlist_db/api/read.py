"""The read API (roles wl_reader and up): what reader.Reader and the read commands of
``wldb`` call. Rows come back as dicts (column name -> value) unless a function says
otherwise."""

from __future__ import annotations

from datetime import datetime

from psycopg.rows import dict_row

SERIES_FUNCTIONS = {"5m": "watchlist.series", "1m": "watchlist.series_minute"}

OUTCOME_SUMMARY_SQL = """
    SELECT horizon_min, count(*), count(*) FILTER (WHERE covered),
           round(avg(pnl)::numeric, 2), round((avg((pnl > 0)::int) * 100)::numeric, 1)
      FROM watchlist.future_outcome
     GROUP BY 1 ORDER BY 1"""


def _dicts(conn, sql: str, params: tuple) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def watchlist_list(conn, now: datetime | None, exchange: str | None) -> list[dict]:
    """Every watchlist member at ``now`` (None: the database's now()) with its metrics."""
    return _dicts(conn, "SELECT * FROM watchlist.watchlist_list(coalesce(%s, now()), %s)", (now, exchange))


def metrics(conn, exchange: str, symbol: str, now: datetime | None) -> list[dict]:
    """The Type A window statistics of one symbol: one row, or none without data."""
    return _dicts(conn, "SELECT * FROM watchlist.metrics(%s, %s, coalesce(%s, now()))", (exchange, symbol, now))


def series(conn, exchange: str, symbol: str, hours: int, now: datetime | None, resolution: str = "5m") -> list[dict]:
    """The chart rows of one symbol; resolution "5m" (the 5-minute aggregate) or "1m"."""
    fn = SERIES_FUNCTIONS.get(resolution)
    if fn is None:
        raise ValueError(f"series(): resolution must be '5m' or '1m', got {resolution!r}")
    return _dicts(conn, f"SELECT * FROM {fn}(%s, %s, %s, coalesce(%s, now()))", (exchange, symbol, hours, now))


def factor_catalog(conn, hours: int, source: str | None) -> list[tuple]:
    """(factor, source, n_rows, n_values, coverage, definition) of every factor (only
    ``source``'s when given), coverage over the last ``hours``, database factors last."""
    return conn.execute(
        """SELECT factor, source, n_rows, n_values, coverage, definition
             FROM watchlist.factor_catalog(now() - make_interval(hours => %s), now())
            WHERE %s::text IS NULL OR source = %s
            ORDER BY source DESC, factor""",
        (hours, source, source),
    ).fetchall()


def outcome_summary(conn) -> list[tuple]:
    """(horizon_min, labels, covered, mean pnl rounded to 2, win % rounded to 1) per horizon."""
    return conn.execute(OUTCOME_SUMMARY_SQL).fetchall()
