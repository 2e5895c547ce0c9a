"""The demo's summary reads (``wldb demo``): what the sample data became, counted over the
rows from ``start`` whose meta.notes is 'sample'."""

from __future__ import annotations

from datetime import datetime


def raw_rows(conn, start: datetime) -> int:
    return conn.execute(
        "SELECT count(*) FROM watchlist.watch_signal_raw WHERE ts >= %s AND meta ->> 'notes' = 'sample'",
        (start,),
    ).fetchone()[0]


def events_by_status(conn, start: datetime) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT status, count(*) FROM watchlist.watch_signal_event WHERE start_ts >= %s GROUP BY 1", (start,)
        ).fetchall()
    )


def labels_by_horizon(conn, start: datetime) -> list[tuple]:
    """(horizon_min, labels, covered, mean pnl, win rate) of the events from ``start``."""
    return conn.execute(
        """SELECT o.horizon_min, count(*), count(*) FILTER (WHERE o.covered), avg(o.pnl), avg((o.pnl > 0)::int)
             FROM watchlist.future_outcome o
             JOIN watchlist.watch_signal_event e ON e.id = o.event_id
            WHERE e.start_ts >= %s GROUP BY 1 ORDER BY 1""",
        (start,),
    ).fetchall()


def leaderboard(conn, start: datetime, end: datetime) -> list[dict]:
    """The factor leaderboard on pnl over 4-hour periods, periods of at least 5 events."""
    cur = conn.execute("SELECT * FROM watchlist.factor_leaderboard(%s, %s, 'pnl', '4 hours', 5)", (start, end))
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
