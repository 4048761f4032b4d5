"""Online backup and restore of the outlet database.

A backup is taken with SQLite's online backup API while the edge keeps serving, checked with
``PRAGMA integrity_check`` and written under a timestamped name; old backups beyond ``keep``
are deleted. Besides the database, the one file carries what a *replacement* box needs of
this box's own config: its local PIN pepper (table ``backup_box``, only in the copy), so
staff added at the box keep their PINs when a new box takes the outlet over
(``pos-edge provision --takeover --from``). The sync credential is never in a backup: a new
box gets its own, and the old one is revoked.

A restore copies a backup into place and starts a new journal epoch
(``edge.outbox.start_new_epoch``): the box may have sold more after the backup was taken, and
the hub may already hold those events, so the restored journal must not present the same
sequence numbers with different content. It takes the data folder's lock (``edge.lock``) and
refuses while a server holds it: a running edge would keep the deleted file open and go on
acknowledging orders into it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge import lock, outbox
from edge.db import connect
from edge.migrations import apply_migrations

__all__ = ["BACKUP_PREFIX", "BackupInfo", "RestoreError", "backup_database", "inspect_backup",
           "list_backups", "restore_database", "stage_backup"]

BACKUP_PREFIX = "edge-"
BOX_TABLE = "backup_box"  # exists only in backup files: this box's own config a new box needs


class RestoreError(RuntimeError):
    """The backup cannot be put in place; the message says why and what to do."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    outlet_id: str | None  # None: a box that was never provisioned
    hub_url: str | None
    seq: int
    acked_seq: int
    box: dict[str, str]  # e.g. {"pin_pepper": ...}; {} for backups taken before it was kept


def list_backups(dest_dir: Path) -> list[Path]:
    """Backups in ``dest_dir``, oldest first (the names sort by time)."""
    return sorted(dest_dir.glob(f"{BACKUP_PREFIX}*.db"))


def backup_database(db_path: Path, dest_dir: Path, keep: int = 14,
                    box: dict[str, str] | None = None) -> Path:
    """Copy the live database to ``dest_dir``; verify the copy; keep the newest ``keep``.

    ``box``: this box's own settings a replacement needs (the local PIN pepper)."""
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
            if box:
                copy.execute(f"CREATE TABLE {BOX_TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
                copy.executemany(f"INSERT INTO {BOX_TABLE} VALUES (?, ?)", sorted(box.items()))
                copy.commit()
        finally:
            copy.close()
    finally:
        source.close()
    os.chmod(partial, 0o600)
    os.replace(partial, target)  # a crash mid-backup never leaves a file that looks complete
    for old in list_backups(dest_dir)[:-keep] if keep > 0 else []:
        old.unlink()
    return target


def inspect_backup(backup_file: Path) -> BackupInfo:
    """Check a backup file (integrity, an edge journal) and say whose it is."""
    if not backup_file.is_file():
        raise RestoreError(f"no backup file at {backup_file}")
    try:
        check = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise RestoreError(f"{backup_file} cannot be opened: {exc}") from exc
    try:
        verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        at = outbox.position(check)
        if at is None:
            raise RestoreError(f"{backup_file} is not an edge database backup: it has no journal")
        seq, acked = at
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        ident = (check.execute("SELECT outlet_id, hub_url FROM sync_state WHERE id = 1").fetchone()
                 if "sync_state" in tables else None)
        box = dict(check.execute(f"SELECT name, value FROM {BOX_TABLE}").fetchall()
                   if BOX_TABLE in tables else [])
    except (sqlite3.DatabaseError, TypeError) as exc:
        raise RestoreError(f"{backup_file} is not an edge database backup: {exc}") from exc
    finally:
        check.close()
    if verdict != "ok":
        raise RestoreError(f"{backup_file} failed its integrity check: {verdict}")
    return BackupInfo(path=backup_file, outlet_id=ident[0] if ident else None,
                      hub_url=ident[1] if ident else None, seq=seq, acked_seq=acked, box=box)


def stage_backup(backup_file: Path, target: Path) -> BackupInfo:
    """Copy a checked backup to ``target`` (mode 0600), migrated, without its box table."""
    info = inspect_backup(backup_file)
    if not target.parent.is_dir():
        raise RestoreError(f"no edge data folder at {target.parent}: check --data-dir "
                           f"(or create it: mkdir -m 700 {target.parent})")
    for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(backup_file, target)
    os.chmod(target, 0o600)
    conn = connect(target)
    try:
        conn.execute(f"DROP TABLE IF EXISTS {BOX_TABLE}")
        apply_migrations(conn)  # a backup from an older version is brought up to date
    finally:
        conn.close()
    return info


def restore_database(backup_file: Path, db_path: Path) -> str:
    """Put ``backup_file`` in place of the database (edge stopped); return the new epoch.

    Raises ``lock.FolderBusy`` while a server (or another restore) holds the data folder."""
    inspect_backup(backup_file)
    if not db_path.parent.is_dir():
        raise RestoreError(f"no edge data folder at {db_path.parent}: check --data-dir "
                           f"(or create it: mkdir -m 700 {db_path.parent})")
    with lock.acquire(db_path.parent, "pos-edge restore"):
        staged = db_path.with_name(db_path.name + ".restoring")
        try:
            stage_backup(backup_file, staged)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        for stale in (db_path.with_name(db_path.name + "-wal"),
                      db_path.with_name(db_path.name + "-shm")):
            stale.unlink(missing_ok=True)
        for leftover in (staged.with_name(staged.name + "-wal"),
                         staged.with_name(staged.name + "-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(staged, db_path)
        conn = connect(db_path)
        try:
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
    b.add_argument("--to", required=True, help="folder for backups (best on another disk or host)")
    b.add_argument("--keep", type=int, default=14, help="how many backups to keep (default 14)")
    b.set_defaults(func=lambda args: _cli_backup(Path(args.data_dir), db_file(args.data_dir),
                                                 Path(args.to), args.keep))

    r = sub.add_parser("restore", help="restore a backup (stop the edge first); starts a new epoch")
    r.add_argument("--data-dir", required=True, help="edge data folder")
    r.add_argument("--from", dest="source", required=True, help="backup file to restore")
    r.set_defaults(func=lambda args: _cli_restore(Path(args.source), db_file(args.data_dir)))


def _box_config(data_dir: Path) -> dict[str, str]:
    """What a replacement box needs of this box's edge.toml (nothing if there is none)."""
    from edge.settings import CONFIG_NAME, SettingsError, load_settings

    if not (data_dir / CONFIG_NAME).exists():
        return {}
    try:
        return {"pin_pepper": load_settings(data_dir).pin_pepper}
    except SettingsError:
        return {}


def _cli_backup(data_dir: Path, db_path: Path, dest: Path, keep: int) -> int:
    try:
        target = backup_database(db_path, dest, keep, box=_box_config(data_dir))
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"backup written ({target.stat().st_size} bytes, integrity ok)")
    print(target)
    return 0


def _cli_restore(source: Path, db_path: Path) -> int:
    from edge.sync_state import is_provisioned

    try:
        info = inspect_backup(source)
        epoch = restore_database(source, db_path)
    except lock.FolderBusy as exc:
        print(f"error: cannot restore while the edge runs: {exc}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {source.name}; journal continues in new epoch {epoch}")
    print("events sold after this backup are not on this box; the hub keeps what it received.")
    if info.outlet_id and not is_provisioned(db_path.parent):
        print("note: this folder holds no sync credential (sync.toml). To put this outlet on a "
              "new or reinstalled box, use `pos-edge provision --takeover --from BACKUP` instead "
              "(docs/operations.md, \"Replacing a dead box\").")
    return 0
