"""watchlist-db: a TimescaleDB store for a crypto spread/funding arbitrage watchlist.

The SQL in sql/ is the product; this package is the thin glue around it: find the
database (a configured server, or the embedded engine), run migrations, insert rows
and call the SQL API.
"""

__version__ = "0.3.0"
