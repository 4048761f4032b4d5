"""Floor plans at head office: each outlet's areas and tables, and its table-service settings.

* A plan is a ``shared.schemas.FloorPlan``: areas, tables (seats, where the editor drew them
  on a 0..1000 grid, shape, active) and the settings the outlet's tills obey (service charge
  on dine-in only, guest orders off / to the kitchen / waiting for a waiter, the courses in
  firing order, the void amount above which a manager approves). It is stored whole per
  outlet (``hub.floor_models.FloorPlanRow``) and sent to the outlet's box as the "floor" feed
  kind (``plan_for_feed``, ``hub.ingest.feed``) exactly as stored.
* Versioned: a save names the version it was drawn on; the hub adds one. A save drawn on an
  older version (someone else saved in between) is refused with 409 ``conflict`` and the
  current version in ``details``, never merged silently. Rotating a table's token is a new
  version too (the box must learn it).
* Ids: the editor mints the ids of new areas and tables (so a new table can name a new
  area in the same save); they only need to be unique within the plan.
* Guest tokens: each table gets a random token (``secrets.token_urlsafe``) when it first
  appears; a save keeps the tokens of the tables it keeps, whatever the client sends (the
  client never sets one). ``rotate_token`` replaces one table's token: the old sticker stops
  working once the box has pulled the new plan.
* Stickers: the QR on a table's sticker is ``<guest base URL>/guest/#t=<token>``. The hub
  cannot know the box's address on the shop's network, so the base URL is a per-outlet
  setting kept with the plan (``guest_base_url``, editable on the floor page) and defaults to
  the name the box announces by mDNS, ``http://fnbpos-<last 8 of the outlet id>.local:8080``
  (``edge.discovery``; docs/table-service.md).
* Who: reading the plan and printing stickers needs ``catalog:read`` (managers, scoped ones
  for their own outlets); saving and rotating need ``catalog:write`` (owner, HQ admin), as
  the menu. Every change is audit-logged in the same transaction, tokens left out.

Services take a session already scoped to the caller's tenant (``Database.tenant``): RLS and
the ORM's tenant filter hide every other tenant's outlets and plans, so another tenant's ids
are simply not found.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.floor_models import FloorPlanRow
from hub.identity import Principal, require
from hub.models import Outlet, utcnow
from hub.tenancy import get_outlet
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.schemas import FloorArea, FloorPlan, FloorTable, InputStruct, control_character

__all__ = [
    "DEFAULT_COURSES",
    "EDGE_PORT",
    "AreaIn",
    "FloorOut",
    "FloorSave",
    "Sticker",
    "StickerSheet",
    "TableIn",
    "default_guest_base_url",
    "get_floor",
    "guest_url",
    "plan_for_feed",
    "rotate_token",
    "save_floor",
    "sticker_sheet",
]

DEFAULT_COURSES = ["minuman", "makanan", "pencuci_mulut"]
EDGE_PORT = 8080  # edge.settings.EdgeSettings.port's default
MAX_AREAS = 50
MAX_TABLES = 500
GRID = 1000

PlanId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Label = Annotated[str, Meta(min_length=1, max_length=40)]
Course = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
Names = Annotated[dict[Annotated[str, Meta(min_length=2, max_length=8)],
                       Annotated[str, Meta(max_length=40)]], Meta(max_length=4)]
Sort = Annotated[int, Meta(ge=0, le=100_000)]
Coordinate = Annotated[int, Meta(ge=0, le=GRID)]
Size = Annotated[int, Meta(ge=10, le=GRID)]
_URL = re.compile(r"^https?://[A-Za-z0-9.-]{1,253}(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?$")


class AreaIn(InputStruct):
    id: PlanId
    name: Label
    names: Names = msgspec.field(default_factory=dict)
    sort: Sort = 0


class TableIn(InputStruct):
    id: PlanId
    area_id: PlanId
    name: Label
    seats: Annotated[int, Meta(ge=1, le=99)] = 4
    sort: Sort = 0
    x: Coordinate = 0
    y: Coordinate = 0
    width: Size = 100
    height: Size = 100
    shape: Literal["rect", "round"] = "rect"
    active: bool = True


class FloorSave(InputStruct):
    """The whole plan as the editor has it, and the version it was loaded at (0: none yet)."""

    version: Annotated[int, Meta(ge=0, le=2**31 - 1)]
    areas: Annotated[list[AreaIn], Meta(max_length=MAX_AREAS)] = msgspec.field(default_factory=list)
    tables: Annotated[list[TableIn], Meta(max_length=MAX_TABLES)] = msgspec.field(
        default_factory=list)
    service_charge_dine_in_only: bool = True
    guest_orders: Literal["off", "kitchen", "confirm"] = "confirm"
    courses: Annotated[list[Course], Meta(max_length=10)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_COURSES))
    void_approval_threshold: Annotated[int, Meta(ge=0, le=10**12)] = 0
    guest_base_url: Annotated[str, Meta(max_length=200)] = ""


class FloorOut(Struct, kw_only=True):
    outlet_id: str
    outlet_name: str
    version: int
    areas: list[FloorArea]
    tables: list[FloorTable]
    service_charge_dine_in_only: bool
    guest_orders: str
    courses: list[str]
    void_approval_threshold: int
    guest_base_url: str  # as set ("" = the default below)
    default_guest_base_url: str
    updated_at: datetime | None = None
    updated_by: str = ""


class Sticker(Struct, kw_only=True):
    table_id: str
    name: str
    area: str
    seats: int
    url: str
    qr: str  # the QR of ``url`` as an SVG data URI (segno), for an <img src>


class StickerSheet(Struct, kw_only=True):
    outlet_id: str
    outlet_name: str
    base_url: str
    version: int
    items: list[Sticker]


# ---------------------------------------------------------------- repository


async def _row(session: AsyncSession, outlet_id: str) -> FloorPlanRow | None:
    return await session.scalar(select(FloorPlanRow).where(FloorPlanRow.outlet_id == outlet_id)
                                .execution_options(populate_existing=True))


def _plan(row: FloorPlanRow | None) -> FloorPlan:
    if row is None:
        return FloorPlan(version=0, courses=list(DEFAULT_COURSES))
    return msgspec.convert(row.plan, FloorPlan)


async def _store(session: AsyncSession, principal: Principal, outlet: Outlet,
                 expected: int, plan: FloorPlan, guest_base_url: str) -> FloorPlanRow:
    """Write ``plan`` as version ``expected + 1`` if the stored one is still ``expected``."""
    body = msgspec.to_builtins(plan)
    now = utcnow()
    if expected == 0:
        row = FloorPlanRow(tenant_id=outlet.tenant_id, outlet_id=outlet.id, version=1, plan=body,
                           guest_base_url=guest_base_url, updated_at=now,
                           updated_by=principal.email[:320])
        session.add(row)
        await session.flush()  # two first saves at once: the second is an IntegrityError (409)
        return row
    done = await session.execute(
        update(FloorPlanRow)
        .where(FloorPlanRow.outlet_id == outlet.id, FloorPlanRow.version == expected)
        .values(version=expected + 1, plan=body, guest_base_url=guest_base_url, updated_at=now,
                updated_by=principal.email[:320])
        .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        raise _stale(await _row(session, outlet.id))
    row = await _row(session, outlet.id)
    assert row is not None
    return row


def _stale(row: FloorPlanRow | None) -> Conflict:
    current = row.version if row is not None else 0
    return Conflict("the floor plan was changed since you loaded it: reload it and redo your "
                    "change", details={"version": current})


# ---------------------------------------------------------------- services


def default_guest_base_url(outlet_id: str) -> str:
    """The box's mDNS name and default port (edge.discovery announces fnbpos-<id[-8:]>.local)."""
    return f"http://fnbpos-{outlet_id[-8:].lower()}.local:{EDGE_PORT}"


def guest_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/guest/#t={token}"


def _out(outlet: Outlet, row: FloorPlanRow | None) -> FloorOut:
    plan = _plan(row)
    return FloorOut(
        outlet_id=outlet.id, outlet_name=outlet.name, version=row.version if row else 0,
        areas=sorted(plan.areas, key=lambda a: (a.sort, a.name)),
        tables=sorted(plan.tables, key=lambda t: (t.sort, t.name)),
        service_charge_dine_in_only=plan.service_charge_dine_in_only,
        guest_orders=plan.guest_orders, courses=list(plan.courses),
        void_approval_threshold=plan.void_approval_threshold,
        guest_base_url=row.guest_base_url if row else "",
        default_guest_base_url=default_guest_base_url(outlet.id),
        updated_at=row.updated_at if row else None, updated_by=row.updated_by if row else "")


async def get_floor(session: AsyncSession, principal: Principal, outlet_id: str) -> FloorOut:
    """The outlet's plan (version 0 and no tables when none was saved yet)."""
    require(principal, "catalog:read")
    outlet = await get_outlet(session, principal, outlet_id)
    return _out(outlet, await _row(session, outlet.id))


def _check_text(field: str, value: str) -> None:
    if not value.strip() or control_character(value) is not None:
        raise ValidationFailed(f"{field} must be a name without control characters",
                               details={"field": field})


def _validate(data: FloorSave) -> None:
    area_ids = [a.id for a in data.areas]
    if len(set(area_ids)) != len(area_ids):
        raise ValidationFailed("two areas have the same id", details={"field": "areas"})
    names = [a.name.strip().casefold() for a in data.areas]
    if len(set(names)) != len(names):
        raise ValidationFailed("two areas have the same name", details={"field": "areas"})
    for i, area in enumerate(data.areas):
        _check_text(f"areas[{i}].name", area.name)
        for lang, text in area.names.items():
            if control_character(lang) or control_character(text):
                raise ValidationFailed("area names may not hold control characters",
                                       details={"field": f"areas[{i}].names"})
    table_ids = [t.id for t in data.tables]
    if len(set(table_ids)) != len(table_ids) or set(table_ids) & set(area_ids):
        raise ValidationFailed("every area and table needs its own id",
                               details={"field": "tables"})
    known = set(area_ids)
    seen: dict[str, int] = {}
    for i, table in enumerate(data.tables):
        _check_text(f"tables[{i}].name", table.name)
        if table.area_id not in known:
            raise ValidationFailed(f"table {table.name!r} is in an area that is not in the plan",
                                   details={"field": f"tables[{i}].area_id"})
        if table.x + table.width > GRID or table.y + table.height > GRID:
            raise ValidationFailed(f"table {table.name!r} reaches past the {GRID} x {GRID} grid",
                                   details={"field": f"tables[{i}]"})
        key = table.name.strip().casefold()
        if key in seen:
            raise ValidationFailed(f"two tables are called {table.name!r}: staff could not tell "
                                   "them apart", details={"field": f"tables[{i}].name"})
        seen[key] = i
    if len(set(data.courses)) != len(data.courses):
        raise ValidationFailed("a course is listed twice", details={"field": "courses"})
    url = data.guest_base_url.strip()
    if url and not _URL.match(url):
        raise ValidationFailed("guest_base_url must be an http(s) address such as "
                               "http://192.168.1.20:8080 (no query or fragment)",
                               details={"field": "guest_base_url"})


def _summary(plan: FloorPlan, guest_base_url: str) -> dict[str, Any]:
    """The plan for the audit log: everything but the tokens."""
    body = msgspec.to_builtins(plan)
    for table in body["tables"]:
        table.pop("guest_token", None)
    return body | {"guest_base_url": guest_base_url}


async def save_floor(session: AsyncSession, principal: Principal, outlet_id: str,
                     data: FloorSave) -> FloorOut:
    """Replace the outlet's plan with ``data`` (drawn on ``data.version``) as the next version."""
    require(principal, "catalog:write")
    outlet = await get_outlet(session, principal, outlet_id)
    _validate(data)
    row = await _row(session, outlet.id)
    if (row.version if row else 0) != data.version:
        raise _stale(row)
    before, before_url = _plan(row), row.guest_base_url if row else ""
    tokens = {t.id: t.guest_token for t in before.tables if t.guest_token}
    plan = FloorPlan(
        version=data.version + 1,
        areas=[FloorArea(id=a.id, name=a.name.strip(), sort=a.sort,
                         names={k: v.strip() for k, v in a.names.items() if v.strip()})
               for a in data.areas],
        tables=[FloorTable(id=t.id, area_id=t.area_id, name=t.name.strip(), seats=t.seats,
                           sort=t.sort, x=t.x, y=t.y, width=t.width, height=t.height,
                           shape=t.shape, active=t.active,
                           guest_token=tokens.get(t.id) or _new_token())
                for t in data.tables],
        service_charge_dine_in_only=data.service_charge_dine_in_only,
        guest_orders=data.guest_orders, courses=list(data.courses),
        void_approval_threshold=data.void_approval_threshold)
    base_url = data.guest_base_url.strip().rstrip("/")
    row = await _store(session, principal, outlet, data.version, plan, base_url)
    audit.record(session, principal, "floor.update", "floor_plan", outlet.id,
                 _summary(before, before_url) if data.version else None,
                 _summary(plan, base_url))
    return _out(outlet, row)


def _new_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, 192 bits


async def rotate_token(session: AsyncSession, principal: Principal, outlet_id: str,
                       table_id: str) -> FloorOut:
    """Give one table a new guest token (its old sticker stops working at the next pull)."""
    require(principal, "catalog:write")
    outlet = await get_outlet(session, principal, outlet_id)
    row = await _row(session, outlet.id)
    plan = _plan(row)
    table = next((t for t in plan.tables if t.id == table_id), None)
    if row is None or table is None:
        raise NotFound("table not found in this outlet's floor plan", details={"id": table_id})
    rotated = msgspec.structs.replace(
        plan, version=row.version + 1,
        tables=[msgspec.structs.replace(t, guest_token=_new_token()) if t.id == table_id else t
                for t in plan.tables])
    row = await _store(session, principal, outlet, row.version, rotated, row.guest_base_url)
    audit.record(session, principal, "floor.rotate_token", "floor_table", table_id,
                 {"outlet_id": outlet.id, "table": table.name, "version": plan.version},
                 {"outlet_id": outlet.id, "table": table.name, "version": rotated.version,
                  "guest_token": "rotated"})
    return _out(outlet, row)


@functools.lru_cache(maxsize=2048)  # a URL's QR never changes; a sheet is printed again and again
def _qr_data_uri(url: str) -> str:
    import segno

    return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=2))


async def sticker_sheet(session: AsyncSession, principal: Principal,
                        outlet_id: str) -> StickerSheet:
    """One QR sticker per active table: table and outlet name, and the guest page's URL."""
    require(principal, "catalog:read")
    outlet = await get_outlet(session, principal, outlet_id)
    row = await _row(session, outlet.id)
    floor = _out(outlet, row)
    base = floor.guest_base_url or floor.default_guest_base_url
    areas = {a.id: a.name for a in floor.areas}
    order = {a.id: i for i, a in enumerate(floor.areas)}
    tables = sorted((t for t in floor.tables if t.active),
                    key=lambda t: (order.get(t.area_id, 0), t.sort, t.name))
    urls = [guest_url(base, t.guest_token) for t in tables]
    # segno is pure Python (~ms per code): render off the event loop.
    svgs = await asyncio.to_thread(lambda: [_qr_data_uri(u) for u in urls])
    return StickerSheet(outlet_id=outlet.id, outlet_name=outlet.name, base_url=base,
                        version=floor.version,
                        items=[Sticker(table_id=t.id, name=t.name, area=areas.get(t.area_id, ""),
                                       seats=t.seats, url=u, qr=s)
                               for t, u, s in zip(tables, urls, svgs, strict=True)])


async def plan_for_feed(session: AsyncSession, outlet_id: str) -> FloorPlan | None:
    """The outlet's plan as its box receives it ("floor" feed kind); None when none was saved."""
    row = await _row(session, outlet_id)
    if row is None:
        return None
    return msgspec.structs.replace(_plan(row), version=row.version)
