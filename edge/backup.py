"""Online backup and restore of the outlet database.

A backup is taken with SQLite's online backup API while the edge keeps serving, checked with
``PRAGMA integrity_check`` and written under a timestamped name; old backups beyond ``keep``
are deleted. A restore copies a backup into place (only while the edge is stopped) and starts
a new journal epoch (``edge.outbox.start_new_epoch``): the box may have sold more after the
backup was taken, and the hub may already hold those events, so the restored journal must not
present the same sequence numbers with different content.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from edge import outbox
from edge.db import connect
from edge.migrations import apply_migrations

__all__ = ["BACKUP_PREFIX", "backup_database", "restore_database", "list_backups"]

BACKUP_PREFIX = "edge-"


def list_backups(dest_dir: Path) -> list[Path]:
    """Backups in ``dest_dir``, oldest first (the names sort by time)."""
    return sorted(dest_dir.glob(f"{BACKUP_PREFIX}*.db"))


def backup_database(db_path: Path, dest_dir: Path, keep: int = 14) -> Path:
    """Copy the live database to ``dest_dir``; verify the copy; keep the newest ``keep``."""
    if not db_path.exists():
        raise FileNotFoundError(f"no edge database at {db_path}")
    dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = dest_dir / f"{BACKUP_PREFIX}{stamp}.db"
    partial = target.with_suffix(".partial")
    source = sqlite3.connect(str(db_path))
    try:
        copy = sqlite3.connect(str(partial))
        try:
            source.backup(copy)
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise RuntimeError(f"backup failed its integrity check: {verdict}")
            # A backup is a single self-contained file, not a WAL database.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        source.close()
    os.chmod(partial, 0o600)
    os.replace(partial, target)  # a crash mid-backup never leaves a file that looks complete
    for old in list_backups(dest_dir)[:-keep] if keep > 0 else []:
        old.unlink()
    return target


def restore_database(backup_file: Path, db_path: Path) -> str:
    """Put ``backup_file`` in place of the database (edge stopped); return the new epoch."""
    check = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        check.execute("SELECT epoch FROM journal_head WHERE id = 1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise RuntimeError(f"{backup_file} is not an edge database backup: {exc}") from exc
    finally:
        check.close()
    if verdict != "ok":
        raise RuntimeError(f"{backup_file} failed its integrity check: {verdict}")
    staged = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(backup_file, staged)
    os.chmod(staged, 0o600)
    for stale in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
        stale.unlink(missing_ok=True)
    os.replace(staged, db_path)
    conn = connect(db_path)
    try:
        apply_migrations(conn)  # a backup from an older version is brought up to date
        conn.execute("BEGIN IMMEDIATE")
        epoch = outbox.start_new_epoch(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return epoch
