"""``pos-edge provision``: turn a blank box into an enrolled outlet edge, all or nothing.

Steps, in an order that never leaves a half-provisioned box:

1. Refuse if ``sync.toml`` exists (already provisioned).
2. Mint a random *device key* and keep it in ``provision.pending`` (0600) together with the
   code's digest, before asking the hub. A re-run with the same code reuses the key, so if
   the hub's reply was lost the hub recognises the box and completes the redemption. A code
   the hub refuses (wrong, used, expired) removes the pending file again: nothing is left.
3. Redeem the code (outlet identity + sync credential), then download a snapshot of the
   whole feed (catalog, hub-managed staff, outlet settings) with a progress display and
   verify every checksum. Nothing is written to the database yet.
4. One database transaction: journal initialised, identity saved, catalog, staff and
   settings applied with their pull cursor (so hub staff can log in at once). Then
   ``sync.toml`` is written atomically (mode 0600): from this moment the box is provisioned.
   Finally the pending file is removed.

Any failure before step 4 leaves the database untouched; a failure inside step 4 rolls it
back; a failure writing the config leaves the box "not provisioned" and a re-run completes.

**Takeover** (``--takeover [--from BACKUP]``): a new box replaces a dead one for the same
outlet. The code is redeemed with ``replace``, so the hub revokes the old box's credential,
and tells the highest journal seq it holds of the outlet. The database is built in a staged
file: from the backup (its orders, shifts, local staff, paired devices, outbox) or empty
(the hub alone: it holds every synced event). Events of the backup the hub had not
acknowledged are pushed first, under their own epoch and numbers: the hub's journal check
counts those the old box had already delivered as duplicates and applies only the missing
ones, so nothing arrives twice and no order goes back to an older snapshot. Then the
journal continues in a new epoch above every number the hub holds, so nothing the new box
sells can collide with the old box's events. Only then is the staged file put in place and
``sync.toml`` written. The backup's local PIN pepper goes into the new ``edge.toml``, so
staff added at the box keep their PINs.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from edge import lock, orders_repository, outbox, sync_state
from edge.backup import RestoreError, inspect_backup, stage_backup
from edge.db import Database
from edge.settings import write_config as write_edge_config
from shared.auth import digest, new_secret
from sync.client import HubClient, HubRefused, HubUnreachable
from sync.protocol import FEED_KINDS, EnrollRequest, EnrollResponse, PullResponse, PushRequest
from sync.pull import ChecksumMismatch, verify_change
from sync.push import EDGE_VERSION

__all__ = ["DB_NAME", "AlreadyProvisioned", "ProvisionError", "Provisioned", "provision"]

DB_NAME = "edge.db"

_REFUSALS = {
    "invalid_code": "The enrollment code is wrong (check it, or ask for a new one).",
    "code_used": "This enrollment code was already used by another box. Ask for a new code.",
    "code_expired": "This enrollment code has expired. Ask for a new code.",
    "credential_revoked": "The hub revoked this box's credential during provisioning.",
    "wrong_outlet": "This code is for another outlet than the backup: ask for a code for the "
                    "backup's outlet (nothing was changed; the code is still valid).",
}
# Refusals of the code itself: the hub redeemed nothing, so the pending key is useless.
_CODE_REFUSALS = frozenset({"invalid_code", "code_used", "code_expired", "wrong_outlet"})


class ProvisionError(Exception):
    """Provisioning failed; the message says why and what to do. Nothing was half-written."""


class AlreadyProvisioned(ProvisionError):
    pass


class _CodeRefused(ProvisionError):
    """The hub refused the code before redeeming it."""


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
    takeover: bool = False
    revoked: int = 0  # the old box's credentials the hub revoked (takeover)
    delivered: int = 0  # backup events the hub lacked and received now (takeover)
    first_seq: int = 0  # where the new box's journal continues (takeover)
    business_day: str = ""  # takeover: the day whose queue numbers continue above ...
    last_number: int = 0  # ... this one (max of the backup's counter and the hub's highest)


def _refuse_local_sales(db_file: Path) -> None:
    """A box that already sold as a local outlet would push events of another outlet id."""
    if not db_file.exists():
        return
    import sqlite3

    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        at = outbox.position(conn)
    except sqlite3.DatabaseError:
        at = None
    finally:
        conn.close()
    if at is not None and at[0] > 0:
        raise ProvisionError(
            f"{db_file} already holds {at[0]} local event(s) of an unprovisioned outlet; "
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
              on_progress: Any = None, timeout: float = 30.0, reenroll: bool = False,
              takeover: bool = False, backup: Path | str | None = None) -> Provisioned:
    """Run the whole provisioning (blocking; the CLI wraps it with a progress display).

    ``reenroll``: the box is provisioned but its credential was revoked; a new code for the
    SAME outlet replaces the credential and keeps the database, outbox and cursors.
    ``takeover``: this blank box replaces a dead one (see the module docstring); ``backup``
    is the dead box's last backup, if there is one.
    """
    data_dir = Path(data_dir)
    db_file = Path(db_path) if db_path else data_dir / DB_NAME
    existing = sync_state.read_config(data_dir) if sync_state.is_provisioned(data_dir) else None
    if backup is not None and not takeover:
        raise ProvisionError("--from BACKUP is for --takeover (a new box replacing a dead one); "
                             "to restore this box's own database use `pos-edge restore`")
    if takeover and reenroll:
        raise ProvisionError("--takeover and --reenroll do not go together")
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
    if takeover and db_file.exists():
        raise ProvisionError(f"{db_file} exists: a takeover builds the database itself; use an "
                             "empty --data-dir (nothing was changed)")
    if existing is None and not takeover:
        _refuse_local_sales(db_file)
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    if not normalized:
        raise ProvisionError("--code is empty")
    source = None
    if backup is not None:
        try:
            source = inspect_backup(Path(backup))
        except RestoreError as exc:
            raise ProvisionError(f"{exc} (nothing was changed)") from exc
        if source.outlet_id is None:
            raise ProvisionError(f"{backup} is a backup of a box that was never provisioned: "
                                 "there is no outlet to take over (nothing was changed)")
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    held = lock.acquire(data_dir, "pos-edge provision") if takeover else None
    try:
        device_key = _device_key(data_dir, hub_url, digest(normalized))
        try:
            if takeover:
                return _takeover(hub_url, normalized, device_key, data_dir, db_file, source,
                                 on_progress, timeout)
            enrolled, pulled = asyncio.run(_redeem_and_download(hub_url, normalized, device_key,
                                                                on_progress, timeout))
        except _CodeRefused:
            _pending_path(data_dir).unlink(missing_ok=True)
            if held is not None:
                held.release()
                held = None
                (data_dir / lock.LOCK_NAME).unlink(missing_ok=True)
            if created and not any(data_dir.iterdir()):
                data_dir.rmdir()  # nothing is left of the attempt
            raise
    finally:
        if held is not None:
            held.release()
    if existing is not None and enrolled.outlet_id != existing.outlet_id:
        raise ProvisionError(
            f"This code is for outlet {enrolled.outlet_id}, but this box is outlet "
            f"{existing.outlet_id}: ask for a code for this outlet (nothing was changed here; "
            "the code is used).")
    config = _config_of(hub_url, enrolled)
    catalog_change = next((c for c in pulled.changes if c.kind == "catalog"), None)

    def store(conn: Any) -> None:
        sync_state.ensure_journal(conn)
        sync_state.save_identity(conn, config)
        sync_state.apply_feed_page(conn, pulled)  # every snapshot and the pull cursor
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
    return _summary(hub_url, enrolled, pulled, path, db_file)


def _config_of(hub_url: str, enrolled: EnrollResponse) -> sync_state.SyncConfig:
    return sync_state.SyncConfig(
        hub_url=hub_url, tenant_id=enrolled.tenant_id, outlet_id=enrolled.outlet_id,
        outlet_name=enrolled.outlet_name, timezone=enrolled.timezone,
        credential_id=enrolled.credential_id, credential=enrolled.credential,
        provisioned_at=datetime.now(UTC).isoformat())


def _summary(hub_url: str, enrolled: EnrollResponse, pulled: PullResponse, config_path: Path,
             db_file: Path, **extra: Any) -> Provisioned:
    catalog_change = next((c for c in pulled.changes if c.kind == "catalog"), None)
    staff_change = next((c for c in pulled.changes if c.kind == "staff"), None)
    catalog = catalog_change.catalog if catalog_change else None
    return Provisioned(
        outlet_id=enrolled.outlet_id, outlet_name=enrolled.outlet_name,
        tenant_id=enrolled.tenant_id, hub_url=hub_url, timezone=enrolled.timezone,
        catalog_version=catalog.version if catalog else 0,
        categories=len(catalog.categories) if catalog else 0,
        products=len(catalog.products) if catalog else 0, config_path=config_path,
        db_path=db_file,
        staff=len(staff_change.staff.staff) if staff_change and staff_change.staff else 0,
        **extra)


# ---------------------------------------------------------------- takeover


def _takeover(hub_url: str, code: str, device_key: str, data_dir: Path, db_file: Path,
              source: Any, on_progress: Any, timeout: float) -> Provisioned:
    """A blank box takes over the outlet of a dead one (the caller holds the folder lock)."""
    staged = db_file.with_name(db_file.name + ".takeover")
    _remove_db(staged)
    try:
        if source is not None:
            try:
                stage_backup(source.path, staged)
            except RestoreError as exc:
                raise ProvisionError(f"{exc} (nothing was changed)") from exc
        db = Database(staged)  # migrations for a blank box
        try:
            db.write_blocking(sync_state.ensure_journal)
            enrolled, pulled, delivered = asyncio.run(_takeover_online(
                hub_url, code, device_key, db, source.outlet_id if source else "", on_progress,
                timeout))
            config = _config_of(hub_url, enrolled)
            catalog_change = next((c for c in pulled.changes if c.kind == "catalog"), None)

            def store(conn: Any) -> tuple[int, int]:
                sync_state.save_identity(conn, config)
                sync_state.apply_feed_page(conn, pulled)
                if catalog_change is not None and catalog_change.catalog is not None:
                    sync_state.mark_catalog_verified(conn)
                # Queue numbers of the day continue above every one the old box called that
                # the hub holds, and above the backup's own counter (an older hub sends no day).
                last_number = orders_repository.number_floor(
                    conn, enrolled.business_day, enrolled.last_order_number) \
                    if enrolled.business_day else 0
                return _continue_journal_above(conn, enrolled.journal_seq,
                                               f"takeover of outlet {enrolled.outlet_id}"), last_number

            first_seq, last_number = db.write_blocking(store)
        finally:
            db.close()
        for leftover in (staged.with_name(staged.name + "-wal"),
                         staged.with_name(staged.name + "-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(staged, db_file)
    except BaseException:
        _remove_db(staged)
        raise
    box = source.box if source is not None else {}
    write_edge_config(data_dir, demo=False,
                      **({"pin_pepper": box["pin_pepper"]} if box.get("pin_pepper") else {}))
    path = sync_state.write_config(data_dir, config)
    _pending_path(data_dir).unlink(missing_ok=True)
    return _summary(hub_url, enrolled, pulled, path, db_file, takeover=True,
                    revoked=enrolled.revoked, delivered=delivered, first_seq=first_seq,
                    business_day=enrolled.business_day, last_number=last_number)


def _remove_db(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)


def _continue_journal_above(conn: Any, hub_seq: int, reason: str) -> int:
    """Start a new epoch whose numbers begin above ``hub_seq`` and this journal's own head;
    returns the first seq the box will use. Every event here is acknowledged by now."""
    head = outbox.head(conn)
    if head["acked_seq"] != head["seq"]:
        raise ProvisionError("internal: the backup's events were not all delivered")
    # Numbers between the backup's head and the hub's are the old box's: never handed out here.
    return outbox.continue_above(conn, hub_seq, reason)


async def _takeover_online(hub_url: str, code: str, device_key: str, db: Database,
                           expect_outlet: str, on_progress: Any, timeout: float
                           ) -> tuple[EnrollResponse, PullResponse, int]:
    enrolled, pulled = await _redeem_and_download(hub_url, code, device_key, on_progress,
                                                  timeout, replace=True, outlet_id=expect_outlet)
    if expect_outlet and enrolled.outlet_id != expect_outlet:  # an older hub ignores outlet_id
        raise ProvisionError(f"This code is for outlet {enrolled.outlet_id}, but the backup is of "
                             f"outlet {expect_outlet}; nothing was written here.")
    try:
        async with HubClient(hub_url, enrolled.credential, timeout=timeout) as client:
            delivered = await _deliver_backlog(db, client, enrolled.outlet_id)
    except HubUnreachable as exc:
        raise ProvisionError(f"Cannot reach the hub: {exc}. Run the same command again (the "
                             "code is kept for this box).") from exc
    except HubRefused as exc:
        raise ProvisionError(
            f"The hub refused the backup's unsent events: {exc.message} ({exc.code}). Nothing was "
            "written here; take over without --from (the hub keeps every event it received) "
            "with a new code, and keep the backup for an investigation.") from exc
    return enrolled, pulled, delivered


async def _deliver_backlog(db: Database, client: HubClient, outlet_id: str) -> int:
    """Push the backup's unacknowledged events under their own epoch and numbers; returns how
    many the hub did not hold yet (the others come back as duplicates)."""
    applied = 0
    resend: tuple[int, str] | None = None
    for _ in range(100_000):
        if resend is None:
            entries = await db.read(lambda c: outbox.pending(c, outlet_id, 1000, 2_000_000))
        else:
            entries = await db.read(partial(outbox.entries_from, outlet_id=outlet_id,
                                            from_seq=resend[0], epoch=resend[1], limit=1000,
                                            max_bytes=2_000_000))
        if not entries:
            if resend is not None:
                raise ProvisionError("the hub asks for events this backup no longer holds; take "
                                     "over without --from (the hub keeps what it received)")
            return applied
        epoch = entries[0].epoch
        entries = [e for e in entries if e.epoch == epoch]  # one epoch per request
        reply = await client.push(PushRequest(
            outlet_id=outlet_id, epoch=epoch, entries=entries, backlog=len(entries),
            sent_at=datetime.now(UTC), edge_version=EDGE_VERSION))
        if reply.acked_seq:
            await db.write(partial(outbox.mark_acked, acked_seq=reply.acked_seq))
        applied += reply.applied
        if reply.status == "resend":
            resend = (reply.resend_from or 0, epoch)
        elif reply.acked_seq < entries[-1].seq:
            raise ProvisionError(f"the hub stopped at seq {reply.acked_seq} of the backup's events "
                                 f"(up to {entries[-1].seq}); run the same command again")
        else:
            resend = None
    raise ProvisionError("the hub keeps asking for the same events; see the hub's fleet view")


async def _redeem_and_download(hub_url: str, code: str, device_key: str, on_progress: Any,
                               timeout: float, replace: bool = False, outlet_id: str = ""
                               ) -> tuple[EnrollResponse, PullResponse]:
    request = EnrollRequest(code=code, device_key=device_key, hostname=socket.gethostname(),
                            edge_version=EDGE_VERSION, replace=replace, outlet_id=outlet_id)
    try:
        async with HubClient(hub_url, timeout=timeout) as anonymous:
            try:
                enrolled = await anonymous.enroll(request)
            except HubRefused as exc:
                if exc.code in _CODE_REFUSALS:
                    raise _CodeRefused(_REFUSALS[exc.code]) from exc
                raise
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
    p.add_argument("--takeover", action="store_true",
                   help="this blank box replaces a dead one: the old box's credential is revoked")
    p.add_argument("--from", dest="backup", default=None,
                   help="with --takeover: the dead box's last backup (edge-*.db)")
    p.set_defaults(func=lambda args: cli_provision(args.hub, args.code, args.data_dir,
                                                   db_file(args.data_dir), args.reenroll,
                                                   args.takeover, args.backup))

    s = sub.add_parser("status", help="sync status: backlog, last push/pull, last error, hub")
    s.add_argument("--data-dir", required=True, help="edge data folder")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=lambda args: cli_status(args.data_dir, db_file(args.data_dir), args.json))


def cli_provision(hub: str, code: str, data_dir: str, db_file: Path, reenroll: bool = False,
                  takeover: bool = False, backup: str | None = None) -> int:
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    console = Console(stderr=False, highlight=False, soft_wrap=True)
    shown: dict[str, Any] = {}

    def on_progress(received: int, total: int) -> None:
        # The bar appears only once the download runs (never a "0/?" before an error).
        if "bar" not in shown:
            bar = Progress(TextColumn("downloading catalog, staff, settings"), BarColumn(),
                           DownloadColumn(), TransferSpeedColumn(), console=console,
                           transient=False)
            shown["bar"], shown["task"] = bar, bar.add_task("feed", total=None)
            bar.start()
        shown["bar"].update(shown["task"], completed=received, total=total or None)

    console.print(f"redeeming the code at {hub} ...")
    try:
        done = provision(hub, code, data_dir, db_path=db_file, on_progress=on_progress,
                         reenroll=reenroll, takeover=takeover,
                         backup=Path(backup) if backup else None)
    except lock.FolderBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if "bar" in shown:
            shown["bar"].stop()
    console.print(f"provisioned outlet [bold]{done.outlet_name}[/bold] ({done.outlet_id})")
    console.print(f"  hub:       {done.hub_url}")
    console.print(f"  tenant:    {done.tenant_id}")
    console.print(f"  timezone:  {done.timezone}")
    console.print(f"  catalog:   version {done.catalog_version}, {done.categories} categories, "
                  f"{done.products} products")
    console.print(f"  staff:     {done.staff} managed by head office")
    console.print(f"  config:    {done.config_path} (mode 600)")
    console.print(f"  database:  {done.db_path}")
    if done.takeover:
        console.print(f"  takeover:  {done.revoked} credential(s) of the old box revoked; "
                      f"{done.delivered} event(s) of the backup the hub lacked delivered; "
                      f"journal continues at seq {done.first_seq} in a new epoch")
        if done.business_day:
            console.print(f"  numbers:   orders of {done.business_day} continue after "
                          f"#{done.last_number}")
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
    # The last error is history: say when, and whether the hub answered since.
    answered = max(filter(None, (status["last_push_at"], status["last_pull_at"])), default=None)
    stale = bool(status["last_error"] and answered and status["last_error_at"]
                 and answered > status["last_error_at"])
    status["last_error_resolved"] = stale
    if as_json:
        print(json.dumps(status, default=str))
        return 0
    print(f"outlet:          {status['outlet_id'] or '-'} ({'provisioned' if config else 'not provisioned'})")
    print(f"hub:             {status['hub_url'] or '-'} "
          f"({'reachable' if live else 'unreachable' if live is False else 'unknown'})")
    print(f"backlog:         {status['backlog']} event(s) not yet acknowledged by the hub")
    print(f"last push:       {status['last_push_at'] or 'never'}")
    print(f"last pull:       {status['last_pull_at'] or 'never'}")
    if not status["last_error"]:
        print("last error:      -")
    else:
        note = f" (resolved: the hub answered at {answered})" if stale else ""
        print(f"last error:      {status['last_error_at']}: {status['last_error']}{note}")
    print(f"catalog:         version {status['catalog_version']}"
          f" (verified {status['catalog_verified_at'] or 'never'})")
    print(f"staff, settings: version {status['staff_version']}, version {status['settings_version']}"
          " (from head office)")
    print(f"journal:         epoch {status['epoch']}, seq {status['journal_seq']},"
          f" acked {status['acked_seq']}, pruned up to {status['pruned_seq']}")
    return 0
