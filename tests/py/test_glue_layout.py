"""The glue's calls into the SQL API live in one place per concern: the modules of
watchlist_db/api/ (listed in its docstring) and the few homes named in HOMES below. The
CLI modules and the rest of the glue parse, call those and print. This test reads the
source (no database): outside the homes, no module may execute a statement, compose one
with psycopg.sql, or hold a string that starts like an SQL statement."""

from __future__ import annotations

import ast
import re
from pathlib import Path

GLUE = Path(__file__).resolve().parents[2] / "glue" / "watchlist_db"

# module (relative to GLUE) -> why its SQL lives there rather than in api/
HOMES = {
    "migrate.py": "the migration runner: applies the SQL files and keeps their ledger",
    "spool.py": "the writer's local SQLite spool, not the database",
    "research.py": "the factor lab's reads (the research concern's home)",
    "charts.py": "the factor lab's reads for its charts (the research concern)",
}
EXECUTE_METHODS = {"execute", "executemany", "executescript"}
COMPOSERS = {"SQL", "Identifier", "Literal", "Composed", "Placeholder"}
STATEMENT = re.compile(
    r"^\s*(SELECT|CALL|SET|RESET|GRANT|REVOKE|ALTER|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|TRUNCATE|COPY|DO|LISTEN)\b"
)


def _is_home(rel: Path) -> bool:
    return rel.parts[0] == "api" or rel.as_posix() in HOMES


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (prose may begin with any word)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def sql_outside_homes(source: str) -> list[tuple[int, str]]:
    """(line, what) of every SQL call or SQL-looking string in ``source``."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            if attr in EXECUTE_METHODS:
                found.append((node.lineno, f".{attr}(...)"))
            elif attr in COMPOSERS and isinstance(node.func.value, ast.Name) and node.func.value.id == "sql":
                found.append((node.lineno, f"sql.{attr}(...)"))
        elif isinstance(node, ast.ImportFrom) and node.module in ("psycopg", "psycopg.sql"):
            if any(a.name in ("sql", *COMPOSERS) for a in node.names):
                found.append((node.lineno, "imports psycopg.sql"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            found += [(node.lineno, f"string {node.value.strip()[:40]!r}")] if STATEMENT.match(node.value) else []
    return sorted(found)


def test_sql_lives_in_its_homes():
    offenders = []
    for path in sorted(GLUE.rglob("*.py")):
        rel = path.relative_to(GLUE)
        if _is_home(rel):
            continue
        for line, what in sql_outside_homes(path.read_text()):
            offenders.append(f"{rel}:{line}: {what}")
    assert not offenders, (
        "SQL outside its homes (move the call into watchlist_db/api/<concern>.py and call that):\n"
        + "\n".join(offenders)
    )


def test_homes_exist():
    missing = [name for name in HOMES if not (GLUE / name).is_file()]
    assert not missing, f"HOMES names modules that do not exist: {missing}"
    assert (GLUE / "api" / "__init__.py").is_file(), "the api package is missing"


def test_the_scan_finds_each_kind_of_sql():
    source = '''
"""SELECT in a docstring is prose."""
from psycopg import sql

def f(conn):
    conn.execute("SELECT 1")
    q = sql.SQL("GRANT {} TO {}")
    s = f"CALL run_job({1})"
    note = "select what to show"
    return conn, q, s, note
'''
    got = [what for _, what in sql_outside_homes(source)]
    assert got == [
        "imports psycopg.sql",
        ".execute(...)",
        "string 'SELECT 1'",
        "sql.SQL(...)",
        "string 'GRANT {} TO {}'",
        "string 'CALL run_job('",
    ], got
