"""The documentation keeps up with the schema: every function granted to wl_reader or
wl_writer has its entry in docs/reference.md (and no entry names a function that does not
exist), and CHANGELOG.md's newest release is the package's version and names the newest
numbered migration."""

from __future__ import annotations

import re
from pathlib import Path

from watchlist_db import __version__

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
CHANGELOG = ROOT / "CHANGELOG.md"
ENTRY = re.compile(r"^### (watchlist\.\w+)\((.*)\)\s*$", re.M)


def _granted(conn) -> dict[str, set[str]]:
    """{function name: {role, ...}} for the functions in schema watchlist that wl_reader or
    wl_writer may execute by an explicit grant (ACLs, not PUBLIC's default)."""
    rows = conn.execute(
        """
        SELECT p.oid::regprocedure::text, r.rolname
          FROM pg_proc AS p
          JOIN pg_namespace AS n ON n.oid = p.pronamespace
          CROSS JOIN LATERAL aclexplode(p.proacl) AS a
          JOIN pg_roles AS r ON r.oid = a.grantee
         WHERE n.nspname = 'watchlist' AND a.privilege_type = 'EXECUTE'
           AND r.rolname IN ('wl_reader', 'wl_writer')
        """
    ).fetchall()
    out: dict[str, set[str]] = {}
    for sig, role in rows:
        out.setdefault(sig.split("(")[0], set()).add(role)
    return out


def _entries() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in ENTRY.finditer(REFERENCE.read_text()):
        found.setdefault(m.group(1), []).append(m.group(2))
    return found


def test_every_granted_function_has_a_reference_entry(conn):
    granted = _granted(conn)
    assert granted, "no function granted to wl_reader/wl_writer: is the database migrated?"
    entries = _entries()
    missing = sorted(f for f in granted if f not in entries)
    assert not missing, f"functions granted to wl_reader/wl_writer without an entry in docs/reference.md: {missing}"


def test_every_reference_entry_names_an_existing_function(conn):
    existing = {
        r[0]
        for r in conn.execute(
            "SELECT n.nspname || '.' || p.proname FROM pg_proc AS p"
            " JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = 'watchlist'"
        ).fetchall()
    }
    stale = sorted(f for f in _entries() if f not in existing)
    assert not stale, f"docs/reference.md documents functions the schema does not have: {stale}"


def test_reference_entries_say_who_may_call(conn):
    granted = _granted(conn)
    text = REFERENCE.read_text()
    for name, roles in granted.items():
        start = text.index(f"### {name}(")
        nxt = text.find("\n### ", start + 1)
        entry = text[start : nxt if nxt > 0 else len(text)]
        for role in roles:
            assert role in entry, f"docs/reference.md: the entry of {name} does not say {role} may call it"


def test_changelog_top_release_is_the_package_version():
    releases = re.findall(r"^## \[?(\d+\.\d+\.\d+)\]?", CHANGELOG.read_text(), re.M)
    assert releases, "CHANGELOG.md has no release heading (## X.Y.Z ...)"
    assert releases[0] == __version__, f"CHANGELOG.md's newest release is {releases[0]}, the package says {__version__}"


def test_changelog_top_release_names_the_newest_migration():
    text = CHANGELOG.read_text()
    top = re.split(r"^## ", text, flags=re.M)[1]
    numbers = sorted(
        p.name[:4] for d in ("sql", "sql/continuous_aggregates") for p in (ROOT / d).glob("[0-9][0-9][0-9][0-9]_*.sql")
    )
    m = re.search(r"Schema: migrations through (\d{4})", top)
    assert m, "CHANGELOG.md's newest release does not say 'Schema: migrations through NNNN'"
    assert m.group(1) == numbers[-1], f"CHANGELOG.md says migrations through {m.group(1)}; the newest is {numbers[-1]}"
