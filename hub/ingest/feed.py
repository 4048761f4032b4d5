"""Hub -> edge: the outlet feed an edge pulls by cursor.

Two shapes, chosen by what the edge asks for:

* **Multi-kind feed** (the edge sends ``kinds``, e.g. ``catalog,staff,settings``): each kind
  is a full snapshot — the outlet's published catalog, its hub-managed staff, its settings,
  its payment gateway settings ("payments") and its recent gateway confirmations
  ("confirmations", ``hub.gateways.feed``). The last two are built only for an edge that
  asks for them, so an edge that does not never gets them (nor their checksums). So is the
  outlet's floor plan ("floor", ``hub.floor``): its version is the plan's own version.
  The staff snapshot holds only the staff who work at this outlet, with PIN verifiers under
  this outlet's own salt (hub.staff): nothing in it is valid at another outlet or tenant-wide.
  Each kind has its own version, so a staff change does not resend the menu. The cursor is
  the outlet's *feed position*: a per-outlet counter in ``outlet_feed`` that moves by one each
  time a kind's content changes. The hub notices a change when it builds the feed: a new
  catalog version, or a staff / settings checksum that differs from the one it last stated.
  Positions are assigned under a lock on the outlet row, so they only ever grow. Every change
  after the edge's cursor is in one page (at most one snapshot per kind).
* **Catalog feed** (no ``kinds``: edges of wire version 2): the cursor is the catalog version
  and only catalog changes are sent, exactly as before, so an older edge never receives a
  kind it cannot decode.

In both, a cursor the hub cannot continue from — ahead of anything it stated (the hub was
restored, the box came from another hub) — is answered with ``snapshot_required`` and the
latest snapshot of every kind. Each response also states the current version and checksum
of every kind, so the edge can verify its copies even when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import floor, staff
from hub.db import Database
from hub.gateways import feed as gateway_feed
from hub.gateways.vault import CredentialVault
from hub.ingest.enrollment import SyncIdentity
from hub.ingest.status import touch_status
from hub.models import CatalogSnapshot, Outlet
from hub.staff_models import OutletFeedEntry
from hub.staff_pins import PinVault
from shared.schemas import Catalog, FloorPlan
from sync.protocol import (
    FEED_KINDS,
    GatewayConfirmation,
    OutletSettings,
    PaymentSettings,
    PullChange,
    PullResponse,
    StaffSnapshot,
    catalog_checksum,
    confirmations_checksum,
    floor_checksum,
    payments_checksum,
    settings_checksum,
    staff_checksum,
)

__all__ = ["SERVED_KINDS", "outlet_feed", "outlet_settings", "parse_kinds", "record_pull"]

_KITCHEN_TRIGGERS = ("place", "payment")  # edge.outlet.KITCHEN_TRIGGERS
# What this hub serves: every kind an edge of this code asks for (FEED_KINDS), and "floor"
# (hub.floor) whether or not the edge code of this release asks for it yet.
SERVED_KINDS: tuple[str, ...] = tuple(dict.fromkeys((*FEED_KINDS, "floor")))


def parse_kinds(raw: str) -> frozenset[str]:
    """The known kinds named in ``raw`` ("catalog,staff"); unknown names are ignored so a
    newer edge still gets what this hub knows."""
    return frozenset(k.strip() for k in raw.split(",") if k.strip() in SERVED_KINDS)


async def outlet_feed(db: Database, who: SyncIdentity, cursor: int, snapshot: bool = False,
                      kinds: frozenset[str] = frozenset(),
                      pins: PinVault | None = None,
                      gateways: CredentialVault | None = None) -> PullResponse:
    """The outlet's changes after ``cursor`` (see the module docstring for the two shapes).
    With ``pins``, missing PIN verifiers of the outlet's staff are computed first (a bounded
    number per call, hub.staff.ensure_verifiers); ``gateways`` opens the outlet's gateway
    secret for its "payments" kind (without it, that kind is not served)."""
    if not kinds:
        return await _catalog_feed(db, who, cursor, snapshot)
    if pins is not None and "staff" in kinds:
        await staff.ensure_verifiers(db, pins, who.tenant_id, who.outlet_id)
    now = datetime.now(UTC)
    async with db.tenant(who.tenant_id) as session:
        current = await _current(session, who, kinds, gateways, now)
        stated = await _stated(session, who.outlet_id)
        if _changed(current, stated):
            # Positions must only grow: one feed builder per outlet at a time (two pulls
            # of one box racing, or two hub replicas). SQLite already holds its write lock.
            await session.execute(select(Outlet.id).where(Outlet.id == who.outlet_id)
                                  .with_for_update())
            stated = await _stated(session, who.outlet_id)
            await _advance(session, who, current, stated, now)
        await touch_status(session, who, now, pulled=True)
        head = max((row.position for row in stated.values()), default=0)
        lost = cursor > head
        changes = []
        for kind in sorted(stated, key=lambda k: stated[k].position):
            row = stated[kind]
            if kind in kinds and kind in current and (snapshot or lost or row.position > cursor):
                changes.append(await _change(session, who, current[kind], row))
    catalog = stated.get("catalog")
    return PullResponse(
        cursor=head if changes or lost else cursor, changes=changes, snapshot_required=lost,
        catalog_version=catalog.version if catalog else 0,
        catalog_checksum=catalog.checksum if catalog else "", hub_time=now,
        versions={k: r.version for k, r in stated.items() if k in current},
        checksums={k: r.checksum for k, r in stated.items() if k in current})


@dataclass
class _Current:
    """What one kind holds now at the hub: a content checksum, or (catalog) a version. The
    staff and settings snapshots are built anyway to checksum them; the catalog is loaded
    only when it is sent or its version is new."""

    kind: str
    checksum: str = ""
    catalog_version: int = 0
    staff: StaffSnapshot | None = None
    settings: OutletSettings | None = None
    payments: PaymentSettings | None = None
    confirmations: list[GatewayConfirmation] | None = None
    floor: FloorPlan | None = None


def outlet_settings(outlet: Outlet) -> OutletSettings:
    """The settings an edge applies; values it would refuse are left to the edge (None)."""
    extra = outlet.settings or {}
    trigger = extra.get("kitchen_trigger")
    hour = extra.get("business_day_start_hour")
    reasons = extra.get("discount_reasons")
    percent = extra.get("discount_approval_percent")
    return OutletSettings(
        name=outlet.name, timezone=outlet.timezone,
        kitchen_trigger=trigger if trigger in _KITCHEN_TRIGGERS else None,
        business_day_start_hour=hour if isinstance(hour, int) and not isinstance(hour, bool)
        and 0 <= hour <= 23 else None,
        # validated when set (hub.tenancy); anything else here leaves the safe default
        discount_reasons=[r for r in reasons if isinstance(r, str) and 0 < len(r) <= 100
                          and "\x00" not in r][:50]
        if isinstance(reasons, list) else [],
        discount_approval_percent=percent if isinstance(percent, int)
        and not isinstance(percent, bool) and 0 <= percent <= 100 else None)


async def _current(session: AsyncSession, who: SyncIdentity, kinds: frozenset[str],
                   gateways: CredentialVault | None, now: datetime) -> dict[str, _Current]:
    found: dict[str, _Current] = {}
    outlet = await session.get(Outlet, who.outlet_id)
    if outlet is not None:
        settings = outlet_settings(outlet)
        found["settings"] = _Current("settings", settings_checksum(settings), settings=settings)
        if "payments" in kinds and gateways is not None:
            payments = await gateway_feed.payment_settings(session, gateways, outlet)
            if payments is not None:
                found["payments"] = _Current("payments", payments_checksum(payments),
                                             payments=payments)
    confirmed = (await gateway_feed.confirmations(session, who.outlet_id, now)
                 if "confirmations" in kinds else [])
    if confirmed:
        found["confirmations"] = _Current("confirmations", confirmations_checksum(confirmed),
                                          confirmations=confirmed)
    plan = await floor.plan_for_feed(session, who.outlet_id) if "floor" in kinds else None
    if plan is not None:
        found["floor"] = _Current("floor", floor_checksum(plan), floor=plan)
    roster = await staff.outlet_snapshot(session, who.tenant_id, who.outlet_id)
    found["staff"] = _Current("staff", staff_checksum(roster), staff=roster)
    version = await session.scalar(select(func.max(CatalogSnapshot.version))
                                   .where(CatalogSnapshot.outlet_id == who.outlet_id))
    if version is not None:
        found["catalog"] = _Current("catalog", catalog_version=version)
    return found


async def _stated(session: AsyncSession, outlet_id: str) -> dict[str, OutletFeedEntry]:
    rows = await session.scalars(select(OutletFeedEntry).where(OutletFeedEntry.outlet_id == outlet_id)
                                 .execution_options(populate_existing=True))
    return {row.kind: row for row in rows}


def _differs(now: _Current, row: OutletFeedEntry | None) -> bool:
    if row is None:
        return True
    if now.kind == "catalog":  # published snapshots are immutable: a version is its content
        return row.version != now.catalog_version
    return row.checksum != now.checksum


def _changed(current: dict[str, _Current], stated: dict[str, OutletFeedEntry]) -> bool:
    return any(_differs(now, stated.get(kind)) for kind, now in current.items())


async def _advance(session: AsyncSession, who: SyncIdentity, current: dict[str, _Current],
                   stated: dict[str, OutletFeedEntry], now: datetime) -> None:
    """Give every changed kind the next feed position (and its next version)."""
    head = max((row.position for row in stated.values()), default=0)
    for kind in SERVED_KINDS:
        found = current.get(kind)
        row = stated.get(kind)
        if found is None or not _differs(found, row):
            continue
        head += 1
        if row is None:
            row = stated[kind] = OutletFeedEntry(tenant_id=who.tenant_id, outlet_id=who.outlet_id,
                                                 kind=kind, version=0, checksum="", position=0)
            session.add(row)
        if kind == "catalog":
            row.version = found.catalog_version
            row.checksum = catalog_checksum(await _catalog(session, who, row.version))
        elif kind == "floor" and found.floor is not None:  # the plan's own version
            row.version, row.checksum = found.floor.version, found.checksum
        else:
            row.version, row.checksum = row.version + 1, found.checksum
        row.position, row.changed_at = head, now


async def _catalog(session: AsyncSession, who: SyncIdentity, version: int) -> Catalog:
    found = await session.scalar(select(CatalogSnapshot.catalog).where(
        CatalogSnapshot.outlet_id == who.outlet_id, CatalogSnapshot.version == version))
    return msgspec.convert(found, Catalog)


async def _change(session: AsyncSession, who: SyncIdentity, now: _Current,
                  row: OutletFeedEntry) -> PullChange:
    if now.kind == "staff":
        return PullChange(cursor=row.position, kind="staff", version=row.version,
                          checksum=row.checksum, staff=now.staff)
    if now.kind == "settings":
        return PullChange(cursor=row.position, kind="settings", version=row.version,
                          checksum=row.checksum, settings=now.settings)
    if now.kind == "payments":
        return PullChange(cursor=row.position, kind="payments", version=row.version,
                          checksum=row.checksum, payments=now.payments)
    if now.kind == "confirmations":
        return PullChange(cursor=row.position, kind="confirmations", version=row.version,
                          checksum=row.checksum, confirmations=now.confirmations)
    if now.kind == "floor":
        return PullChange(cursor=row.position, kind="floor", version=row.version,
                          checksum=row.checksum, floor=now.floor)
    catalog = await _catalog(session, who, row.version)
    return PullChange(cursor=row.position, kind="catalog", version=row.version,
                      checksum=row.checksum, catalog=catalog)


async def _catalog_feed(db: Database, who: SyncIdentity, cursor: int,
                        snapshot: bool = False) -> PullResponse:
    """Wire-version-2 feed: changes after ``cursor`` = the published catalog snapshots.

    Each change is a full snapshot, so an outlet offline for a week gets only the newest
    one (one page). A cursor the hub cannot continue from — ahead of anything it holds (the
    hub was restored, the box came from another hub) or older than the oldest version it
    still keeps — is answered with ``snapshot_required`` and the latest snapshot.
    """
    now = datetime.now(UTC)
    async with db.tenant(who.tenant_id) as session:
        latest = (await session.execute(
            select(CatalogSnapshot).where(CatalogSnapshot.outlet_id == who.outlet_id)
            .order_by(CatalogSnapshot.version.desc()).limit(1)
        )).scalar_one_or_none()
        oldest = (await session.execute(
            select(func.min(CatalogSnapshot.version)).where(CatalogSnapshot.outlet_id == who.outlet_id)
        )).scalar_one_or_none()
        await touch_status(session, who, now, pulled=True)
    if latest is None:
        return PullResponse(cursor=cursor, snapshot_required=cursor > 0, hub_time=now)
    catalog = msgspec.convert(latest.catalog, Catalog)
    checksum = catalog_checksum(catalog)
    lost = cursor > latest.version or (0 < cursor and oldest is not None and cursor < oldest - 1)
    changes = []
    if snapshot or lost or latest.version > cursor:
        changes.append(PullChange(cursor=latest.version, kind="catalog", version=latest.version,
                                  checksum=checksum, catalog=catalog))
    return PullResponse(cursor=latest.version if changes else cursor, changes=changes,
                        snapshot_required=lost, catalog_version=latest.version,
                        catalog_checksum=checksum, hub_time=now)


async def record_pull(db: Database, who: SyncIdentity) -> None:
    async with db.tenant(who.tenant_id) as session:
        await touch_status(session, who, datetime.now(UTC), pulled=True)
