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
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge import outbox
from edge.db import connect
from edge.migrations import apply_migrations

__all__ = ["BACKUP_PREFIX", "backup_database", "list_backups", "restore_database"]

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


# ---------------------------------------------------------------- CLI (pos-edge backup / restore)


def register_cli(sub: Any, db_path_for: Any = None) -> None:
    """Add ``backup`` and ``restore`` to pos-edge's subcommands (argparse sub-parsers)."""

    def db_file(data_dir: str) -> Path:
        return Path(db_path_for(Path(data_dir))) if db_path_for else Path(data_dir) / "edge.db"

    b = sub.add_parser("backup", help="online backup of the outlet database (safe while serving)")
    b.add_argument("--data-dir", required=True, help="edge data folder")
    b.add_argument("--to", required=True, help="folder for backups")
    b.add_argument("--keep", type=int, default=14, help="how many backups to keep (default 14)")
    b.set_defaults(func=lambda args: _cli_backup(db_file(args.data_dir), Path(args.to), args.keep))

    r = sub.add_parser("restore", help="restore a backup (stop the edge first); starts a new epoch")
    r.add_argument("--data-dir", required=True, help="edge data folder")
    r.add_argument("--from", dest="source", required=True, help="backup file to restore")
    r.set_defaults(func=lambda args: _cli_restore(Path(args.source), db_file(args.data_dir)))


def _cli_backup(db_path: Path, dest: Path, keep: int) -> int:
    try:
        target = backup_database(db_path, dest, keep)
    except (FileNotFoundError, RuntimeError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"backup written ({target.stat().st_size} bytes, integrity ok)")
    print(target)
    return 0


def _cli_restore(source: Path, db_path: Path) -> int:
    if not source.is_file():
        print(f"error: no backup file at {source}", file=sys.stderr)
        return 1
    try:
        epoch = restore_database(source, db_path)
    except (RuntimeError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {source.name}; journal continues in new epoch {epoch}")
    print("events sold after this backup are not on this box; the hub keeps what it received.")
    return 0
