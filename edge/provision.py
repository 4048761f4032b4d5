"""``pos-edge provision``: turn a blank box into an enrolled outlet edge, all or nothing.

Steps, in an order that never leaves a half-provisioned box:

1. Refuse if ``sync.toml`` exists (already provisioned).
2. Mint a random *device key* and keep it in ``provision.pending`` (0600) together with the
   code's digest, before asking the hub. A re-run with the same code reuses the key, so if
   the hub's reply was lost the hub recognises the box and completes the redemption.
3. Redeem the code (outlet identity + sync credential), then download the full catalog
   with a progress display and verify its checksum. Nothing is written to the database yet.
4. One database transaction: journal initialised, identity saved, catalog applied with its
   pull cursor. Then ``sync.toml`` is written atomically (mode 0600): from this moment the
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
from shared.auth import digest, new_secret
from sync.client import HubClient, HubRefused, HubUnreachable
from sync.protocol import EnrollRequest, EnrollResponse, PullResponse, catalog_checksum
from sync.push import EDGE_VERSION

__all__ = ["ProvisionError", "AlreadyProvisioned", "Provisioned", "provision", "DB_NAME"]

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
              on_progress: Any = None, timeout: float = 30.0) -> Provisioned:
    """Run the whole provisioning (blocking; the CLI wraps it with a progress display)."""
    data_dir = Path(data_dir)
    db_file = Path(db_path) if db_path else data_dir / DB_NAME
    existing = sync_state.read_config(data_dir) if sync_state.is_provisioned(data_dir) else None
    if existing is not None:
        raise AlreadyProvisioned(
            f"This box is already provisioned for outlet {existing.outlet_name or existing.outlet_id}"
            f" ({existing.outlet_id}) on {existing.hub_url}. Nothing was changed.")
    hub_url = hub_url.rstrip("/")
    if not hub_url.startswith(("http://", "https://")):
        raise ProvisionError(f"--hub must be an http(s) URL, got {hub_url!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    if not normalized:
        raise ProvisionError("--code is empty")
    device_key = _device_key(data_dir, hub_url, digest(normalized))
    enrolled, pulled = asyncio.run(_redeem_and_download(hub_url, normalized, device_key,
                                                        on_progress, timeout))
    config = sync_state.SyncConfig(
        hub_url=hub_url, tenant_id=enrolled.tenant_id, outlet_id=enrolled.outlet_id,
        outlet_name=enrolled.outlet_name, timezone=enrolled.timezone,
        credential_id=enrolled.credential_id, credential=enrolled.credential,
        provisioned_at=datetime.now(UTC).isoformat())
    catalog_change = next((c for c in pulled.changes if c.kind == "catalog"), None)

    def store(conn: Any) -> None:
        sync_state.ensure_journal(conn)
        sync_state.save_identity(conn, config)
        if catalog_change is not None and catalog_change.catalog is not None:
            sync_state.apply_catalog(conn, catalog_change.catalog, catalog_change.checksum)
            sync_state.mark_catalog_verified(conn)
        sync_state.record_pull(conn, pulled.cursor)

    db = Database(db_file)
    try:
        db.write_blocking(store)
    finally:
        db.close()
    path = sync_state.write_config(data_dir, config)
    _pending_path(data_dir).unlink(missing_ok=True)
    catalog = catalog_change.catalog if catalog_change else None
    return Provisioned(
        outlet_id=enrolled.outlet_id, outlet_name=enrolled.outlet_name,
        tenant_id=enrolled.tenant_id, hub_url=hub_url, timezone=enrolled.timezone,
        catalog_version=catalog.version if catalog else 0,
        categories=len(catalog.categories) if catalog else 0,
        products=len(catalog.products) if catalog else 0, config_path=path, db_path=db_file)


async def _redeem_and_download(hub_url: str, code: str, device_key: str, on_progress: Any,
                               timeout: float) -> tuple[EnrollResponse, PullResponse]:
    request = EnrollRequest(code=code, device_key=device_key, hostname=socket.gethostname(),
                            edge_version=EDGE_VERSION)
    try:
        async with HubClient(hub_url, timeout=timeout) as anonymous:
            enrolled = await anonymous.enroll(request)
        async with HubClient(hub_url, enrolled.credential, timeout=timeout) as client:
            pulled = await client.pull(0, snapshot=True, on_progress=on_progress)
    except HubUnreachable as exc:
        raise ProvisionError(f"Cannot reach the hub: {exc}. Check the URL and the network, then "
                             "run the same command again.") from exc
    except HubRefused as exc:
        raise ProvisionError(_REFUSALS.get(exc.code, f"The hub refused: {exc.message} ({exc.code})")
                             ) from exc
    for change in pulled.changes:
        if change.catalog is not None and catalog_checksum(change.catalog) != change.checksum:
            raise ProvisionError("The catalog downloaded from the hub failed its checksum; run the "
                                 "same command again.")
    return enrolled, pulled
