"""``pos-edge provision``: turn a blank box into an enrolled outlet edge, all or nothing.

Steps, in an order that never leaves a half-provisioned box:

1. Refuse if ``sync.toml`` exists (already provisioned).
2. Mint a random *device key* and keep it in ``provision.pending`` (0600) together with the
   code's digest, before asking the hub. A re-run with the same code reuses the key, so if
   the hub's reply was lost the hub recognises the box and completes the redemption.
3. Redeem the code (outlet identity + sync credential), then download a snapshot of the
   whole feed (catalog, hub-managed staff, outlet settings) with a progress display and
   verify every checksum. Nothing is written to the database yet.
4. One database transaction: journal initialised, identity saved, catalog, staff and
   settings applied with their pull cursor (so hub staff can log in at once). Then ``sync.toml`` is written atomically (mode 0600): from this moment the
   box is provisioned. Finally the pending file is removed.

Any failure before step 4 leaves the database untouched; a failure inside step 4 rolls it
back; a failure writing the config leaves the box "not provisioned" and a re-run completes.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge import sync_state
from edge.db import Database
from edge.settings import write_config as write_edge_config
from shared.auth import digest, new_secret
from sync.client import HubClient, HubRefused, HubUnreachable
from sync.protocol import FEED_KINDS, EnrollRequest, EnrollResponse, PullResponse
from sync.pull import ChecksumMismatch, apply_changes, verify_change
from sync.push import EDGE_VERSION

__all__ = ["DB_NAME", "AlreadyProvisioned", "ProvisionError", "Provisioned", "provision"]

DB_NAME = "edge.db"

_REFUSALS = {
    "invalid_code": "The enrollment code is wrong (check it, or ask for a new one).",
    "code_used": "This enrollment code was already used by another box. Ask for a new code.",
    "code_expired": "This enrollment code has expired. Ask for a new code.",
    "credential_revoked": "The hub revoked this box's credential during provisioning.",
}


class ProvisionError(Exception):
    """Provisioning failed; the message says why and what to do. Nothing was half-written."""


class AlreadyProvisioned(ProvisionError):
    pass


@dataclass
class Provisioned:
    outlet_id: str
    outlet_name: str
    tenant_id: str
    hub_url: str
    timezone: str
    catalog_version: int
    categories: int
    products: int
    config_path: Path
    db_path: Path
    staff: int = 0  # hub-managed staff who can log in here


def _refuse_local_sales(db_file: Path) -> None:
    """A box that already sold as a local outlet would push events of another outlet id."""
    if not db_file.exists():
        return
    import sqlite3

    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT seq FROM journal_head WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        row = None
    finally:
        conn.close()
    if row is not None and row[0] > 0:
        raise ProvisionError(
            f"{db_file} already holds {row[0]} local event(s) of an unprovisioned outlet; "
            "provision into a new --data-dir (nothing was changed).")


def _pending_path(data_dir: Path) -> Path:
    return data_dir / sync_state.PENDING_NAME


def _device_key(data_dir: Path, hub_url: str, code_digest: str) -> str:
    """The key for this redemption attempt: reused when re-running with the same code."""
    path = _pending_path(data_dir)
    if path.exists():
        try:
            pending = json.loads(path.read_text())
            if pending.get("code_digest") == code_digest and pending.get("device_key"):
                return str(pending["device_key"])
        except (ValueError, OSError):
            pass  # unreadable leftovers are replaced below
    key = new_secret("dk_")
    sync_state._atomic_write(path, json.dumps({
        "device_key": key, "code_digest": code_digest, "hub_url": hub_url,
        "created_at": datetime.now(UTC).isoformat()}).encode(), mode=0o600)
    return key


def provision(hub_url: str, code: str, data_dir: Path | str, *, db_path: Path | str | None = None,
              on_progress: Any = None, timeout: float = 30.0, reenroll: bool = False) -> Provisioned:
    """Run the whole provisioning (blocking; the CLI wraps it with a progress display).

    ``reenroll``: the box is provisioned but its credential was revoked; a new code for the
    SAME outlet replaces the credential and keeps the database, outbox and cursors.
    """
    data_dir = Path(data_dir)
    db_file = Path(db_path) if db_path else data_dir / DB_NAME
    existing = sync_state.read_config(data_dir) if sync_state.is_provisioned(data_dir) else None
    if existing is not None and not reenroll:
        raise AlreadyProvisioned(
            f"This box is already provisioned for outlet {existing.outlet_name or existing.outlet_id}"
            f" ({existing.outlet_id}) on {existing.hub_url}. Nothing was changed"
            " (use --reenroll with a new code if its credential was revoked).")
    if existing is None and reenroll:
        raise ProvisionError("--reenroll needs a provisioned box; run provision without it")
    hub_url = hub_url.rstrip("/")
    if not hub_url.startswith(("http://", "https://")):
        raise ProvisionError(f"--hub must be an http(s) URL, got {hub_url!r}")
    if existing is None:
        _refuse_local_sales(db_file)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    if not normalized:
        raise ProvisionError("--code is empty")
    device_key = _device_key(data_dir, hub_url, digest(normalized))
    enrolled, pulled = asyncio.run(_redeem_and_download(hub_url, normalized, device_key,
                                                        on_progress, timeout))
    if existing is not None and enrolled.outlet_id != existing.outlet_id:
        raise ProvisionError(
            f"This code is for outlet {enrolled.outlet_id}, but this box is outlet "
            f"{existing.outlet_id}: ask for a code for this outlet (nothing was changed here; "
            "the code is used).")
    config = sync_state.SyncConfig(
        hub_url=hub_url, tenant_id=enrolled.tenant_id, outlet_id=enrolled.outlet_id,
        outlet_name=enrolled.outlet_name, timezone=enrolled.timezone,
        credential_id=enrolled.credential_id, credential=enrolled.credential,
        provisioned_at=datetime.now(UTC).isoformat())
    catalog_change = next((c for c in pulled.changes if c.kind == "catalog"), None)
    staff_change = next((c for c in pulled.changes if c.kind == "staff"), None)

    def store(conn: Any) -> None:
        sync_state.ensure_journal(conn)
        sync_state.save_identity(conn, config)
        apply_changes(conn, pulled)  # every snapshot and the pull cursor
        if catalog_change is not None and catalog_change.catalog is not None:
            sync_state.mark_catalog_verified(conn)

    db = Database(db_file)
    try:
        db.write_blocking(store)
    finally:
        db.close()
    write_edge_config(data_dir, demo=False)  # the box's own secrets (kept if already there)
    path = sync_state.write_config(data_dir, config)
    _pending_path(data_dir).unlink(missing_ok=True)
    catalog = catalog_change.catalog if catalog_change else None
    return Provisioned(
        outlet_id=enrolled.outlet_id, outlet_name=enrolled.outlet_name,
        tenant_id=enrolled.tenant_id, hub_url=hub_url, timezone=enrolled.timezone,
        catalog_version=catalog.version if catalog else 0,
        categories=len(catalog.categories) if catalog else 0,
        products=len(catalog.products) if catalog else 0, config_path=path, db_path=db_file,
        staff=len(staff_change.staff.staff) if staff_change and staff_change.staff else 0)


async def _redeem_and_download(hub_url: str, code: str, device_key: str, on_progress: Any,
                               timeout: float) -> tuple[EnrollResponse, PullResponse]:
    request = EnrollRequest(code=code, device_key=device_key, hostname=socket.gethostname(),
                            edge_version=EDGE_VERSION)
    try:
        async with HubClient(hub_url, timeout=timeout) as anonymous:
            enrolled = await anonymous.enroll(request)
        async with HubClient(hub_url, enrolled.credential, timeout=timeout) as client:
            pulled = await client.pull(0, snapshot=True, on_progress=on_progress,
                                       kinds=FEED_KINDS)
    except HubUnreachable as exc:
        raise ProvisionError(f"Cannot reach the hub: {exc}. Check the URL and the network, then "
                             "run the same command again.") from exc
    except HubRefused as exc:
        raise ProvisionError(_REFUSALS.get(exc.code, f"The hub refused: {exc.message} ({exc.code})")
                             ) from exc
    for change in pulled.changes:
        try:
            verify_change(change)
        except ChecksumMismatch as exc:
            raise ProvisionError(f"The {change.kind} downloaded from the hub failed its checksum "
                                 f"({exc}); run the same command again.") from exc
    return enrolled, pulled


# ---------------------------------------------------------------- CLI (pos-edge provision / status)


def register_cli(sub: Any, db_path_for: Any = None) -> None:
    """Add ``provision`` and ``status`` to pos-edge's subcommands.

    ``db_path_for(data_dir) -> Path`` lets the edge CLI say where its database lives.
    """
    def db_file(data_dir: str) -> Path:
        return Path(db_path_for(Path(data_dir))) if db_path_for else Path(data_dir) / DB_NAME

    p = sub.add_parser("provision", help="enroll this box with the hub using a one-time code")
    p.add_argument("--hub", required=True, help="hub URL, e.g. https://hub.example.com")
    p.add_argument("--code", required=True, help="one-time enrollment code from the hub")
    p.add_argument("--data-dir", required=True, help="edge data folder")
    p.add_argument("--reenroll", action="store_true",
                   help="replace a revoked credential (same outlet; keeps data and outbox)")
    p.set_defaults(func=lambda args: cli_provision(args.hub, args.code, args.data_dir,
                                                   db_file(args.data_dir), args.reenroll))

    s = sub.add_parser("status", help="sync status: backlog, last push/pull, last error, hub")
    s.add_argument("--data-dir", required=True, help="edge data folder")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=lambda args: cli_status(args.data_dir, db_file(args.data_dir), args.json))


def cli_provision(hub: str, code: str, data_dir: str, db_file: Path, reenroll: bool = False) -> int:
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    console = Console(stderr=False, highlight=False)
    progress = Progress(TextColumn("downloading catalog"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), console=console, transient=False)
    task = progress.add_task("catalog", total=None)

    def on_progress(received: int, total: int) -> None:
        progress.update(task, completed=received, total=total or None)

    try:
        with progress:
            done = provision(hub, code, data_dir, db_path=db_file, on_progress=on_progress,
                             reenroll=reenroll)
    except ProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    console.print(f"provisioned outlet [bold]{done.outlet_name}[/bold] ({done.outlet_id})")
    console.print(f"  hub:       {done.hub_url}")
    console.print(f"  tenant:    {done.tenant_id}")
    console.print(f"  timezone:  {done.timezone}")
    console.print(f"  catalog:   version {done.catalog_version}, {done.categories} categories, "
                  f"{done.products} products")
    console.print(f"  staff:     {done.staff} managed by head office")
    console.print(f"  config:    {done.config_path} (mode 600)")
    console.print(f"  database:  {done.db_path}")
    print(done.outlet_id)
    return 0


def cli_status(data_dir: str, db_file: Path, as_json: bool) -> int:
    import sys

    import httpx

    if not db_file.exists():
        print(f"error: no edge database in {data_dir}", file=sys.stderr)
        return 1
    db = Database(db_file)
    try:
        status = db.read_now(sync_state.status)
    finally:
        db.close()
    config = sync_state.read_config(data_dir)
    live: bool | None = None
    if config is not None:
        try:
            live = httpx.get(config.hub_url.rstrip("/") + "/api/health", timeout=3).status_code < 500
        except httpx.HTTPError:
            live = False
    status["hub_reachable_now"] = live
    status["provisioned"] = config is not None
    if as_json:
        print(json.dumps(status, default=str))
        return 0
    print(f"outlet:          {status['outlet_id'] or '-'} ({'provisioned' if config else 'not provisioned'})")
    print(f"hub:             {status['hub_url'] or '-'} "
          f"({'reachable' if live else 'unreachable' if live is False else 'unknown'})")
    print(f"backlog:         {status['backlog']} event(s) not yet acknowledged by the hub")
    print(f"last push:       {status['last_push_at'] or 'never'}")
    print(f"last pull:       {status['last_pull_at'] or 'never'}")
    print(f"last error:      {status['last_error'] or '-'}")
    print(f"catalog:         version {status['catalog_version']}"
          f" (verified {status['catalog_verified_at'] or 'never'})")
    print(f"staff, settings: version {status['staff_version']}, version {status['settings_version']}"
          " (from head office)")
    print(f"journal:         epoch {status['epoch']}, seq {status['journal_seq']},"
          f" acked {status['acked_seq']}, pruned up to {status['pruned_seq']}")
    return 0
