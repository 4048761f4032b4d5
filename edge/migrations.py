"""Versioned schema migrations for the edge database, applied at start.

Each migration is a file ``edge/migrations/NNNN_name.sql``; ``PRAGMA user_version`` records
the highest one applied, in the same transaction as the change.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

__all__ = ["MIGRATIONS_DIR", "apply_migrations", "pending_migrations"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _all_migrations() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise RuntimeError(f"badly named migration file: {path.name}")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two edge migrations share a number")
    return found


def pending_migrations(conn: sqlite3.Connection) -> list[tuple[int, Path]]:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    return [(v, p) for v, p in _all_migrations() if v > current]


def apply_migrations(conn: sqlite3.Connection) -> int:
    """Apply every pending migration, each in its own transaction; return the new version."""
    for version, path in pending_migrations(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split(path.read_text()):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _split(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about triggers)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
