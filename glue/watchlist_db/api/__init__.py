"""The glue's calls into the SQL API, one module per concern; everything else in the glue
parses, calls these and prints.

    write   the writer API: ingest_raw(_columns), sync_membership, upsert_symbol_refs,
            record_trades, and the writer session's statement timeout
    read    the read API: watchlist_list, metrics, series(_minute), factor_catalog, the
            outcome summary
    ops     jobs, the event merge, status and health reports, settings, purging keys
    admin   logins: roles, their session timeouts, acting as the owner
    adopt   the adoption functions (schema watchlist_adopt, sql/adopt/)
    demo    the demo's summary reads

Outside this package only these modules hold SQL (tests/py/test_glue_layout.py checks):
migrate.py (the migration runner: applies the files, keeps the ledger), spool.py (the
writer's local SQLite spool, not the database), research.py and charts.py (the factor
lab's reads).

Each function takes an open psycopg connection and returns what the SQL returns; none
opens, commits or closes a connection: transactions and roles stay with the caller."""
