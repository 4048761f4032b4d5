"""The edge's sync state: its hub identity (config file), cursors and health (database).

* ``sync.toml`` in the data folder (mode 0600) holds the hub URL, outlet identity and the
  sync credential. It is written last by ``pos-edge provision``, atomically, so its presence
  means "provisioned".
* Table ``sync_state`` (migrations 0007, 0008) holds what changes while running: pull
  cursor (the hub's feed position), version and checksum of the catalog, staff and settings
  snapshots applied, last push/pull/error, hub reachability.
* ``apply_catalog`` / ``apply_staff`` / ``apply_settings`` apply one snapshot from the hub
  in the caller's transaction.
* ``apply_feed_page`` applies one verified page of the hub's feed (catalog, staff and
  settings snapshots; payment settings and relayed gateway confirmations through
  ``edge.payments``; the outlet's floor plan through ``edge.tables.replace_floor_plan``) with
  its cursor in the caller's transaction: ``sync.pull`` runs a page
  in one, so does ``pos-edge provision``.
* ``rotate_epoch`` starts a new journal epoch when the hub proves our database is older than
  what it already holds (a restored backup): unacknowledged events are re-chained under the
  new epoch (``edge.outbox.rotate_epoch``), nothing is dropped, and no sequence number of
  the old epoch is reused.
* ``EdgeStore`` is the edge's side of the sync engine (``sync.store.JournalStore``): the
  outbox (``edge.outbox``, its only owner) and this state over the edge's database, handed
  to ``sync.engine.SyncEngine`` by ``edge.app``. ``sync/`` never imports the edge.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from edge import catalog as menu  # the edge's menu (``catalog`` here is the hub's snapshot)
from edge import devices, live, outbox, outlet, tables
from edge.db import Database
from edge.payments import attempts as payment_attempts
from edge.payments import config as payment_config
from shared.schemas import Catalog, JournalEntry
from sync.protocol import (
    OutletSettings,
    PullResponse,
    StaffSnapshot,
    catalog_checksum,
    floor_checksum,
)
from sync.store import HubLink, JournalHead

__all__ = [
    "CONFIG_NAME",
    "PENDING_NAME",
    "EdgeStore",
    "SyncConfig",
    "applied_checksums",
    "apply_catalog",
    "apply_feed_page",
    "apply_settings",
    "apply_staff",
    "catalog_checksum_of",
    "config_path",
    "ensure_journal",
    "is_provisioned",
    "load_state",
    "mark_catalog_verified",
    "read_config",
    "record_failure",
    "record_pull",
    "record_push",
    "rotate_epoch",
    "save_identity",
    "status",
    "stored_catalog",
    "write_config",
]

CONFIG_NAME = "sync.toml"
PENDING_NAME = "provision.pending"

T = TypeVar("T")


class SyncConfig(msgspec.Struct, kw_only=True, frozen=True):
    hub_url: str
    tenant_id: str
    outlet_id: str
    outlet_name: str = ""
    timezone: str = "UTC"
    credential_id: str
    credential: str
    provisioned_at: str = ""


def config_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / CONFIG_NAME


def is_provisioned(data_dir: Path | str) -> bool:
    return config_path(data_dir).exists()


def read_config(data_dir: Path | str) -> SyncConfig | None:
    path = config_path(data_dir)
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return msgspec.convert(tomllib.load(handle)["hub"], SyncConfig)


def write_config(data_dir: Path | str, config: SyncConfig) -> Path:
    """Write sync.toml atomically with owner-only permissions (it holds the credential)."""
    path = config_path(data_dir)
    lines = ["# Written by `pos-edge provision`. Holds this outlet's sync credential: keep it secret.",
             "[hub]"]
    for key, value in msgspec.structs.asdict(config).items():
        lines.append(f"{key} = {json.dumps(value)}")  # JSON strings are valid TOML basic strings
    _atomic_write(path, ("\n".join(lines) + "\n").encode(), mode=0o600)
    return path


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# ---------------------------------------------------------------- database state


# The journal is the outbox's (edge.outbox); kept under this name for the CLI and provisioning.
ensure_journal = outbox.ensure_journal


def load_state(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM sync_state WHERE id = 1").fetchone()


def save_identity(conn: sqlite3.Connection, config: SyncConfig) -> None:
    """Record the outlet identity at provisioning (re-provisioning keeps cursors)."""
    conn.execute(
        "INSERT INTO sync_state (id, hub_url, tenant_id, outlet_id, outlet_name, timezone,"
        " credential_id, provisioned_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET hub_url = excluded.hub_url,"
        " tenant_id = excluded.tenant_id, outlet_id = excluded.outlet_id,"
        " outlet_name = excluded.outlet_name, timezone = excluded.timezone,"
        " credential_id = excluded.credential_id, provisioned_at = excluded.provisioned_at,"
        " refused = 0, last_error = NULL",
        (config.hub_url, config.tenant_id, config.outlet_id, config.outlet_name,
         config.timezone, config.credential_id, config.provisioned_at or _now()),
    )


def record_push(conn: sqlite3.Connection, hub_acked_seq: int, pushed: int) -> None:
    now = _now()
    conn.execute(
        "UPDATE sync_state SET last_push_at = ?, last_attempt_at = ?, hub_reachable = 1,"
        " refused = 0, last_error = NULL, consecutive_failures = 0, hub_acked_seq = ?,"
        " pushed_total = pushed_total + ? WHERE id = 1",
        (now, now, hub_acked_seq, pushed),
    )


def record_pull(conn: sqlite3.Connection, cursor: int | None = None) -> None:
    now = _now()
    conn.execute(
        "UPDATE sync_state SET last_pull_at = ?, last_attempt_at = ?, hub_reachable = 1"
        + (", pull_cursor = ?" if cursor is not None else "") + " WHERE id = 1",
        (now, now, cursor) if cursor is not None else (now, now),
    )


def record_failure(conn: sqlite3.Connection, error: str, *, reachable: bool, refused: bool) -> None:
    now = _now()
    conn.execute(
        "UPDATE sync_state SET last_error = ?, last_error_at = ?, last_attempt_at = ?,"
        " hub_reachable = ?, refused = ?, consecutive_failures = consecutive_failures + 1"
        " WHERE id = 1",
        (error[:500], now, now, int(reachable), int(refused)),
    )


def status(conn: sqlite3.Connection) -> dict[str, Any]:
    """What `GET /api/v1/sync/status` and `pos-edge status` show."""
    head = outbox.find_head(conn)
    state = load_state(conn)
    result: dict[str, Any] = {
        "provisioned": state is not None,
        "backlog": (head["seq"] - head["acked_seq"]) if head else 0,
        "last_push_at": None, "last_pull_at": None, "last_error": None, "last_error_at": None,
        "hub_reachable": False, "refused": False, "hub_url": None, "outlet_id": None,
        "tenant_id": None, "epoch": head["epoch"] if head else None,
        "journal_seq": head["seq"] if head else 0, "acked_seq": head["acked_seq"] if head else 0,
        "pruned_seq": head["pruned_seq"] if head else 0,
        "pull_cursor": 0, "catalog_version": 0, "catalog_checksum": "",
        "catalog_verified_at": None, "consecutive_failures": 0,
        "staff_version": 0, "settings_version": 0,
    }
    if state is not None:
        for key in ("last_push_at", "last_pull_at", "last_error", "last_error_at", "hub_url",
                    "outlet_id", "tenant_id", "pull_cursor", "catalog_version",
                    "catalog_checksum", "catalog_verified_at", "consecutive_failures",
                    "staff_version", "settings_version"):
            result[key] = state[key]
        result["hub_reachable"] = bool(state["hub_reachable"])
        result["refused"] = bool(state["refused"])
    return result


def rotate_epoch(conn: sqlite3.Connection, reason: str) -> str:
    """Move every unacknowledged event into a new epoch (``edge.outbox.rotate_epoch``) and
    count the change in the sync status."""
    epoch = outbox.rotate_epoch(conn, reason)
    conn.execute("UPDATE sync_state SET epoch_changes = epoch_changes + 1 WHERE id = 1")
    return epoch


# ---------------------------------------------------------------- catalog from the hub


def apply_catalog(conn: sqlite3.Connection, catalog: Catalog, checksum: str) -> None:
    """Replace the outlet's catalog with the hub's snapshot, in the caller's transaction.

    The snapshot is kept whole in ``sync_catalog`` (so it can be re-verified) and handed to
    the edge's menu (``edge.catalog.replace_catalog``), which keeps local sold-out decisions.
    """
    body = msgspec.json.encode(catalog, order="sorted").decode()
    conn.execute(
        "INSERT INTO sync_catalog (id, version, checksum, body, applied_at) VALUES (1, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version, checksum = excluded.checksum,"
        " body = excluded.body, applied_at = excluded.applied_at",
        (catalog.version, checksum, body, _now()))
    conn.execute("UPDATE sync_state SET catalog_version = ?, catalog_checksum = ? WHERE id = 1",
                 (catalog.version, checksum))
    menu.replace_catalog(conn, catalog)


def stored_catalog(conn: sqlite3.Connection) -> Catalog | None:
    row = conn.execute("SELECT body FROM sync_catalog WHERE id = 1").fetchone()
    return msgspec.json.decode(row["body"], type=Catalog) if row else None


def catalog_checksum_of(conn: sqlite3.Connection) -> str:
    """Checksum of the menu this box actually serves, with the hub's availability (local
    sold-out overrides are outlet decisions, not part of the hub's catalog); "" if none."""
    if stored_catalog(conn) is None:
        return ""
    served = menu.read_catalog(conn)
    base = dict(conn.execute("SELECT id, available FROM products").fetchall())
    served = msgspec.structs.replace(served, products=[
        msgspec.structs.replace(p, available=bool(base.get(p.id, p.available)))
        for p in served.products])
    return catalog_checksum(served)


# ---------------------------------------------------------------- staff and settings from the hub


def apply_staff(conn: sqlite3.Connection, snapshot: StaffSnapshot, version: int,
                checksum: str) -> int:
    """Replace the hub-managed staff with the snapshot, in the caller's transaction."""
    # pin_hash / pin_lookup / pin_pepper are the pre-H2 scheme: never used here (see
    # sync.protocol.StaffRecord); the verifiers are under this outlet's salt.
    active = devices.replace_hub_staff(
        conn, [(s.id, s.name, s.role, s.pin_verifier) for s in snapshot.staff],
        snapshot.pin_salt, snapshot.pin_kdf)
    conn.execute("UPDATE sync_state SET staff_version = ?, staff_checksum = ? WHERE id = 1",
                 (version, checksum))
    return active


def apply_settings(conn: sqlite3.Connection, settings: OutletSettings, version: int,
                   checksum: str) -> None:
    """Apply head office's outlet settings, in the caller's transaction."""
    outlet.apply_hub_settings(conn, name=settings.name, timezone=settings.timezone,
                              kitchen_trigger=settings.kitchen_trigger,
                              business_day_start_hour=settings.business_day_start_hour,
                              discount_reasons=list(settings.discount_reasons),
                              discount_approval_percent=settings.discount_approval_percent)
    conn.execute("UPDATE sync_state SET settings_version = ?, settings_checksum = ? WHERE id = 1",
                 (version, checksum))


def apply_feed_page(conn: sqlite3.Connection, page: PullResponse) -> int:
    """Apply one verified page and its cursor in the caller's (single) transaction; returns
    how many changes were applied (kinds this box does not know are skipped)."""
    applied = 0
    for change in page.changes:
        if change.kind == "catalog" and change.catalog is not None:
            apply_catalog(conn, change.catalog, change.checksum)
        elif change.kind == "staff" and change.staff is not None:
            apply_staff(conn, change.staff, change.version, change.checksum)
        elif change.kind == "settings" and change.settings is not None:
            apply_settings(conn, change.settings, change.version, change.checksum)
        elif change.kind == "payments" and change.payments is not None:
            payment_config.apply_hub_settings(conn, change.payments, datetime.now(UTC))
        elif change.kind == "confirmations" and change.confirmations is not None:
            payment_attempts.apply_feed_confirmations(conn, change.confirmations, datetime.now(UTC))
        elif change.kind == "floor" and change.floor is not None:
            tables.replace_floor_plan(conn, change.floor)
        else:
            continue
        applied += 1
    record_pull(conn, page.cursor)
    return applied


def applied_checksums(conn: sqlite3.Connection) -> dict[str, str]:
    """Checksum of what this box holds of each feed kind ("" for none), to compare with the
    hub's: the menu actually served for the catalog, the snapshots applied for the others."""
    state = load_state(conn)
    return {"catalog": catalog_checksum_of(conn),
            "staff": state["staff_checksum"] if state else "",
            "settings": state["settings_checksum"] if state else "",
            # the plan is kept whole as received (edge.tables), so its checksum is the hub's
            "floor": floor_checksum(tables.floor_plan(conn))}


def mark_catalog_verified(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE sync_state SET catalog_verified_at = ? WHERE id = 1", (_now(),))


def _now() -> str:
    return datetime.now(UTC).isoformat()


# ---------------------------------------------------------------- the sync engine's store


class EdgeStore:
    """The edge's journal store for the sync engine (``sync.store.JournalStore``).

    Jobs run on the edge database's read snapshot or in one write transaction of its single
    writer, so a push's acknowledgement, epoch change and status, or a feed page and its
    cursor, commit together. The hub link is ``sync.toml``, re-read when the file changes
    (``pos-edge provision --reenroll`` on a running box); without a data folder (tests that
    drive the journal directly) there is none.
    """

    def __init__(self, db: Database, data_dir: Path | str | None = None,
                 feed: live.LiveFeed | None = None) -> None:
        self.db = db
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.feed = feed  # woken after a write that published live events (a feed page's)
        self._link: HubLink | None = None
        self._link_mtime: float | None = None

    def hub_link(self) -> HubLink | None:
        if self.data_dir is None:
            return None
        try:
            mtime = config_path(self.data_dir).stat().st_mtime
        except FileNotFoundError:
            return self._link  # removed while running: keep what we had
        if mtime != self._link_mtime:
            config = read_config(self.data_dir)
            self._link_mtime = mtime
            self._link = (HubLink(hub_url=config.hub_url, outlet_id=config.outlet_id,
                                  credential=config.credential) if config else None)
        return self._link

    async def read(self, job: Callable[[_Transaction], T]) -> T:
        return await self.db.read(lambda conn: job(_Transaction(conn)))

    async def write(self, job: Callable[[_Transaction], T]) -> T:
        used: list[_Transaction] = []

        def run(conn: sqlite3.Connection) -> T:
            used.append(_Transaction(conn))
            return job(used[-1])

        result = await self.db.write(run)
        if self.feed is not None and used and used[-1].published:
            self.feed.notify()  # e.g. a relayed confirmation paid an order: screens now
        return result


class _Transaction:
    """``sync.store.Journal`` over one connection: the outbox's functions and this module's."""

    __slots__ = ("conn", "published")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.published = False  # live events were written: the streams must be woken

    def head(self) -> JournalHead:
        row = outbox.head(self.conn)
        return JournalHead(epoch=row["epoch"], seq=row["seq"], acked_seq=row["acked_seq"])

    def backlog(self) -> int:
        at = outbox.position(self.conn)
        return at[0] - at[1] if at is not None else 0

    def unacked(self, outlet_id: str, limit: int, max_bytes: int) -> list[JournalEntry]:
        return outbox.pending(self.conn, outlet_id, limit, max_bytes)

    def entries_from(self, outlet_id: str, from_seq: int, epoch: str | None, limit: int,
                     max_bytes: int) -> list[JournalEntry]:
        return outbox.entries_from(self.conn, outlet_id, from_seq, epoch, limit, max_bytes)

    def first_unacked_epoch(self) -> str | None:
        return outbox.first_unacked_epoch(self.conn)

    def mark_acked(self, acked_seq: int) -> int:
        return outbox.mark_acked(self.conn, acked_seq)

    def rotate_epoch(self, reason: str) -> str:
        return rotate_epoch(self.conn, reason)

    def prune(self, older_than: datetime) -> int:
        return outbox.prune(self.conn, older_than)

    def record_push(self, hub_acked_seq: int, pushed: int) -> None:
        record_push(self.conn, hub_acked_seq, pushed)

    def record_failure(self, error: str, *, reachable: bool, refused: bool) -> None:
        record_failure(self.conn, error, reachable=reachable, refused=refused)

    def pull_cursor(self) -> int:
        state = load_state(self.conn)
        return int(state["pull_cursor"]) if state is not None else 0

    def apply_feed_page(self, page: PullResponse) -> int:
        before = live.latest_id(self.conn)
        applied = apply_feed_page(self.conn, page)
        self.published = self.published or live.latest_id(self.conn) != before
        return applied

    def applied_checksums(self) -> dict[str, str]:
        return applied_checksums(self.conn)

    def mark_catalog_verified(self) -> None:
        mark_catalog_verified(self.conn)
