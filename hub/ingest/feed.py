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

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from sqlalchemy import Text, cast, func, insert, select, update
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

__all__ = ["CATALOGS", "SERVED_KINDS", "CatalogCache", "Current", "Stated", "advance",
           "changed", "feed_page", "outlet_feed", "outlet_settings", "parse_kinds",
           "record_pull", "sent_kinds"]

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
        stated = await _stated(session, who)
        if changed(current, stated):
            stated = await _advance(session, who, current, now)
        await touch_status(session, who, now, pulled=True)
        catalog = current.get("catalog")
        if catalog is not None and "catalog" in sent_kinds(stated, current, kinds, cursor,
                                                           snapshot):
            version = stated["catalog"].version
            if catalog.catalog_loaded != version:
                catalog.load(version, *await _catalog(session, who, version))
    return feed_page(stated, current, kinds, cursor, snapshot, now)


@dataclass(frozen=True)
class Stated:
    """What the hub last stated for one kind of an outlet's feed (its ``outlet_feed`` row)."""

    position: int
    version: int
    checksum: str


def sent_kinds(stated: Mapping[str, Stated], current: Mapping[str, Current],
               kinds: frozenset[str], cursor: int, snapshot: bool) -> list[str]:
    """The kinds a page after ``cursor`` carries, in feed order."""
    head = max((row.position for row in stated.values()), default=0)
    lost = cursor > head
    return [kind for kind in sorted(stated, key=lambda k: stated[k].position)
            if kind in kinds and kind in current
            and (snapshot or lost or stated[kind].position > cursor)]


def feed_page(stated: Mapping[str, Stated], current: Mapping[str, Current],
              kinds: frozenset[str], cursor: int, snapshot: bool, now: datetime) -> PullResponse:
    """The multi-kind page after ``cursor``: the changed kinds' snapshots from ``current``
    (a catalog to send is loaded there first), every kind's stated version and checksum.
    The full path (``outlet_feed``) and the fast one (``hub.pull_fast``) both answer with it."""
    head = max((row.position for row in stated.values()), default=0)
    lost = cursor > head
    changes = [_change(current[kind], stated[kind])
               for kind in sent_kinds(stated, current, kinds, cursor, snapshot)]
    catalog = stated.get("catalog")
    return PullResponse(
        cursor=head if changes or lost else cursor, changes=changes, snapshot_required=lost,
        catalog_version=catalog.version if catalog else 0,
        catalog_checksum=catalog.checksum if catalog else "", hub_time=now,
        versions={k: r.version for k, r in stated.items() if k in current},
        checksums={k: r.checksum for k, r in stated.items() if k in current})


@dataclass
class Current:
    """What one kind holds now at the hub: a content checksum, or (catalog) a version. The
    staff and settings snapshots are built anyway to checksum them; the catalog is loaded
    only when it is sent or its version is new (then kept here: loaded once per pull)."""

    kind: str
    checksum: str = ""
    catalog_version: int = 0
    catalog: Catalog | None = None  # shared with other pulls (CATALOGS): never changed
    catalog_loaded: int = 0  # the version ``catalog`` is (0: none loaded)
    catalog_checksum: str = ""  # its checksum

    def load(self, version: int, catalog: Catalog, checksum: str) -> None:
        self.catalog, self.catalog_loaded, self.catalog_checksum = catalog, version, checksum
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
                   gateways: CredentialVault | None, now: datetime) -> dict[str, Current]:
    found: dict[str, Current] = {}
    outlet = await session.get(Outlet, who.outlet_id)
    if outlet is not None:
        settings = outlet_settings(outlet)
        found["settings"] = Current("settings", settings_checksum(settings), settings=settings)
        if "payments" in kinds and gateways is not None:
            payments = await gateway_feed.payment_settings(session, gateways, outlet)
            if payments is not None:
                found["payments"] = Current("payments", payments_checksum(payments),
                                             payments=payments)
    confirmed = (await gateway_feed.confirmations(session, who.outlet_id, now)
                 if "confirmations" in kinds else [])
    if confirmed:
        found["confirmations"] = Current("confirmations", confirmations_checksum(confirmed),
                                          confirmations=confirmed)
    plan = await floor.plan_for_feed(session, who.outlet_id) if "floor" in kinds else None
    if plan is not None:
        found["floor"] = Current("floor", floor_checksum(plan), floor=plan)
    roster = await staff.outlet_snapshot(session, who.tenant_id, who.outlet_id)
    found["staff"] = Current("staff", staff_checksum(roster), staff=roster)
    version = await session.scalar(select(func.max(CatalogSnapshot.version))
                                   .where(CatalogSnapshot.outlet_id == who.outlet_id))
    if version is not None:
        found["catalog"] = Current("catalog", catalog_version=version)
    return found


_FEED = OutletFeedEntry.__table__
_OUTLETS = Outlet.__table__


async def _stated(session: AsyncSession, who: SyncIdentity) -> dict[str, Stated]:
    # Core on the session's connection (no ORM entities): every statement of the feed's
    # bookkeeping names its tenant, as RLS does on PostgreSQL (SQLite has only this)
    connection = await session.connection()
    rows = await connection.execute(
        select(_FEED.c.kind, _FEED.c.position, _FEED.c.version, _FEED.c.checksum)
        .where(_FEED.c.outlet_id == who.outlet_id, _FEED.c.tenant_id == who.tenant_id))
    return {kind: Stated(position, version, checksum)
            for kind, position, version, checksum in rows}


def _differs(now: Current, row: Stated | None) -> bool:
    if row is None:
        return True
    if now.kind == "catalog":  # published snapshots are immutable: a version is its content
        return row.version != now.catalog_version
    return row.checksum != now.checksum


def changed(current: Mapping[str, Current], stated: Mapping[str, Stated]) -> bool:
    """Whether a kind holds something the feed has not stated yet."""
    return any(_differs(now, stated.get(kind)) for kind, now in current.items())


async def advance(db: Database, who: SyncIdentity, current: dict[str, Current],
                  now: datetime) -> dict[str, Stated]:
    """Record the changed kinds of ``current`` in the outlet's feed (as ``outlet_feed``
    does, in one transaction) and return every stated kind. On PostgreSQL (behind PgBouncer
    too) on the asyncpg connection of ``Database.writer`` (BEGIN and the tenant in one
    round trip, no SQLAlchemy session), else in a tenant session."""
    if not db.is_postgres:
        async with db.tenant(who.tenant_id) as session:
            return await _advance(session, who, current, now)
    async with db.writer(who.tenant_id) as connection:
        await connection.execute(_LOCK_SQL, who.outlet_id, who.tenant_id)
        stated = {kind: Stated(position, version, checksum) for kind, position, version, checksum
                  in await connection.fetch(_STATED_SQL, who.outlet_id, who.tenant_id)}
        found = current.get("catalog")
        if found is not None and _differs(found, stated.get("catalog")) \
                and found.catalog_loaded != found.catalog_version:
            stored = await connection.fetchval(_CATALOG_SQL, who.outlet_id,
                                               found.catalog_version, who.tenant_id)
            found.load(found.catalog_version, *CATALOGS.get(who.tenant_id, stored))
        recorded = _record(current, stated)
        if recorded:  # none if another pull recorded the same change meanwhile
            await connection.execute(
                    _UPSERT_SQL, who.tenant_id, who.outlet_id, [kind for kind, _ in recorded],
                [row.position for _, row in recorded], [row.version for _, row in recorded],
                [row.checksum for _, row in recorded], now)
    return {**stated, **dict(recorded)}


# advance's statements (asyncpg, under RLS; each names its tenant too)
_LOCK_SQL = "SELECT id FROM outlets WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
_STATED_SQL = ("SELECT kind, position, version, checksum FROM outlet_feed"
               " WHERE outlet_id = $1 AND tenant_id = $2")
_CATALOG_SQL = ("SELECT catalog::text FROM catalog_snapshots"
                " WHERE outlet_id = $1 AND version = $2 AND tenant_id = $3")
_UPSERT_SQL = """
INSERT INTO outlet_feed (tenant_id, outlet_id, kind, position, version, checksum, changed_at)
SELECT $1::text, $2::text, k.kind, k.position, k.version, k.checksum, $7::timestamptz
FROM unnest($3::text[], $4::bigint[], $5::int[], $6::text[])
  AS k(kind, position, version, checksum)
ON CONFLICT (outlet_id, kind) DO UPDATE
SET position = excluded.position, version = excluded.version, checksum = excluded.checksum,
    changed_at = excluded.changed_at
WHERE outlet_feed.tenant_id = excluded.tenant_id
"""


def _record(current: Mapping[str, Current], stated: Mapping[str, Stated]
            ) -> list[tuple[str, Stated]]:
    """Every changed kind with its new stated row: the next feed position, and the next
    version (a catalog its own version, a floor plan the plan's). A changed catalog must
    have been loaded (its checksum)."""
    head = max((row.position for row in stated.values()), default=0)
    recorded = []
    for kind in SERVED_KINDS:
        found = current.get(kind)
        row = stated.get(kind)
        if found is None or not _differs(found, row):
            continue
        head += 1
        if kind == "catalog":
            if found.catalog_loaded != found.catalog_version:
                raise RuntimeError("the changed catalog was not loaded")
            version, checksum = found.catalog_version, found.catalog_checksum
        elif kind == "floor" and found.floor is not None:  # the plan's own version
            version, checksum = found.floor.version, found.checksum
        else:
            version, checksum = (row.version if row else 0) + 1, found.checksum
        recorded.append((kind, Stated(head, version, checksum)))
    return recorded


async def _advance(session: AsyncSession, who: SyncIdentity, current: dict[str, Current],
                   now: datetime) -> dict[str, Stated]:
    """Give every changed kind the next feed position (and its next version); every stated
    kind after that. Positions must only grow: one feed builder per outlet at a time (two
    pulls of one box racing, or two hub replicas), so the outlet row is locked and the
    stated rows read again under the lock. SQLite already holds its write lock."""
    connection = await session.connection()
    await connection.execute(select(_OUTLETS.c.id).where(
        _OUTLETS.c.id == who.outlet_id, _OUTLETS.c.tenant_id == who.tenant_id).with_for_update())
    stated = await _stated(session, who)
    found = current.get("catalog")
    if found is not None and _differs(found, stated.get("catalog")) \
            and found.catalog_loaded != found.catalog_version:
        found.load(found.catalog_version, *await _catalog(session, who, found.catalog_version))
    for kind, row in _record(current, stated):
        values = {"version": row.version, "checksum": row.checksum, "position": row.position,
                  "changed_at": now}
        if kind not in stated:
            await connection.execute(insert(_FEED).values(
                tenant_id=who.tenant_id, outlet_id=who.outlet_id, kind=kind, **values))
        else:
            await connection.execute(update(_FEED).where(
                _FEED.c.outlet_id == who.outlet_id, _FEED.c.kind == kind,
                _FEED.c.tenant_id == who.tenant_id).values(**values))
        stated[kind] = row
    return stated


class CatalogCache:
    """Published catalogs decoded and checksummed once per content, not once per pull.

    A chain's outlets mostly get byte-identical menus, and every outlet pulls a new one at
    once (docs/scaling.md, "Pulls that carry content"). The key is the tenant and the sha256
    of the snapshot's stored JSON text, i.e. exactly the content the catalog is decoded
    from: a stale answer cannot come out of it, whatever changed. The decoded ``Catalog``
    is shared by every page that carries it, so nothing may change it. Bounded by the
    stored texts' total size; the least recently used go first.
    """

    def __init__(self, max_bytes: int = 32 * 1024 * 1024, max_entries: int = 1024) -> None:
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._entries: OrderedDict[tuple[str, bytes], tuple[Catalog, str, int]] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, tenant_id: str, stored: str) -> tuple[Catalog, str]:
        """(the catalog, its checksum) of the stored JSON text ``stored``."""
        raw = stored.encode()
        key = (tenant_id, hashlib.sha256(raw).digest())
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0], found[1]
        self.misses += 1
        catalog = msgspec.json.decode(raw, type=Catalog)
        checksum = catalog_checksum(catalog)
        if len(raw) <= self.max_bytes // 4:
            self._entries[key] = (catalog, checksum, len(raw))
            self._bytes += len(raw)
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                _, (_, _, size) = self._entries.popitem(last=False)
                self._bytes -= size
        return catalog, checksum


CATALOGS = CatalogCache()


async def _catalog(session: AsyncSession, who: SyncIdentity, version: int) -> tuple[Catalog, str]:
    """The outlet's published catalog ``version`` and its checksum (``CATALOGS``)."""
    stored = await session.scalar(select(cast(CatalogSnapshot.catalog, Text)).where(
        CatalogSnapshot.outlet_id == who.outlet_id, CatalogSnapshot.version == version))
    if stored is None:
        raise LookupError(f"catalog version {version} of outlet {who.outlet_id} not found")
    return CATALOGS.get(who.tenant_id, stored)


def _change(now: Current, row: Stated) -> PullChange:
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
    if now.catalog is None or now.catalog_loaded != row.version:
        raise RuntimeError("the catalog to send was not loaded")  # feed_page's callers load it
    return PullChange(cursor=row.position, kind="catalog", version=row.version,
                      checksum=row.checksum, catalog=now.catalog)


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
            select(CatalogSnapshot.version, cast(CatalogSnapshot.catalog, Text))
            .where(CatalogSnapshot.outlet_id == who.outlet_id)
            .order_by(CatalogSnapshot.version.desc()).limit(1)
        )).first()
        oldest = (await session.execute(
            select(func.min(CatalogSnapshot.version)).where(CatalogSnapshot.outlet_id == who.outlet_id)
        )).scalar_one_or_none()
        await touch_status(session, who, now, pulled=True)
    if latest is None:
        return PullResponse(cursor=cursor, snapshot_required=cursor > 0, hub_time=now)
    version, stored = latest
    catalog, checksum = CATALOGS.get(who.tenant_id, stored)
    lost = cursor > version or (0 < cursor and oldest is not None and cursor < oldest - 1)
    changes = []
    if snapshot or lost or version > cursor:
        changes.append(PullChange(cursor=version, kind="catalog", version=version,
                                  checksum=checksum, catalog=catalog))
    return PullResponse(cursor=version if changes else cursor, changes=changes,
                        snapshot_required=lost, catalog_version=version,
                        catalog_checksum=checksum, hub_time=now)


async def record_pull(db: Database, who: SyncIdentity) -> None:
    async with db.tenant(who.tenant_id) as session:
        await touch_status(session, who, datetime.now(UTC), pulled=True)
