"""Outlet staff managed by head office: the people who log in at the tills with a PIN.

* A staff member has a name, an edge role (cashier, kitchen, manager), a 4-8 digit PIN, an
  active flag, and works at every outlet of the tenant (``all_outlets``) or at a list.
* The PIN is never stored: only an argon2id hash and an HMAC *lookup* under the tenant's
  random PIN pepper (``staff_peppers``, made on first use). The lookup is what makes a PIN
  unique among the tenant's active staff (a clear 409), and what an edge computes from a
  typed PIN to find the one row to verify.
* Owners and HQ admins manage everyone. Area and outlet managers see the staff working at
  their outlets and manage only staff who work nowhere else (never ``all_outlets``).
* Every change is audited in its own transaction; the audit copy never holds PIN material.
* ``outlet_snapshot`` is what the outlet feed (hub.feed) sends down: the active staff of one
  outlet with their hashes and lookups, plus the pepper.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from msgspec import UNSET
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.identity import Principal, hash_password_async, require
from hub.models import Outlet
from hub.schemas import StaffCreate, StaffUpdate
from hub.staff_models import StaffMember, StaffOutlet, StaffPepper
from hub.tenancy import outlet_links
from shared.auth import new_secret
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.ids import new_id
from sync.protocol import StaffRecord, StaffSnapshot

__all__ = [
    "create_staff",
    "get_staff",
    "list_staff",
    "outlet_snapshot",
    "outlets_of_staff",
    "pin_lookup",
    "update_staff",
]


def pin_lookup(pin: str, pepper: str) -> str:
    """HMAC-SHA256 of the PIN under the pepper: the same function as edge.devices._pin_lookup."""
    return hmac.new(pepper.encode(), pin.encode(), hashlib.sha256).hexdigest()


async def _pepper(session: AsyncSession, tenant_id: str, create: bool) -> str | None:
    found = await session.scalar(select(StaffPepper.pepper).where(StaffPepper.tenant_id == tenant_id))
    if found is not None or not create:
        return found
    try:
        async with session.begin_nested():  # two first staff of a tenant at once: one pepper
            session.add(StaffPepper(tenant_id=tenant_id, pepper=new_secret(nbytes=32)))
            await session.flush()
    except IntegrityError:
        pass
    return await session.scalar(select(StaffPepper.pepper).where(StaffPepper.tenant_id == tenant_id))


async def outlets_of_staff(session: AsyncSession, staff_ids: list[str]) -> dict[str, list[str]]:
    return await outlet_links(session, StaffOutlet.staff_id, StaffOutlet.outlet_id, staff_ids)


def _sees(principal: Principal, member: StaffMember, outlet_ids: list[str]) -> bool:
    if principal.outlet_ids is None or member.all_outlets:
        return True
    return bool(set(outlet_ids) & set(principal.outlet_ids))


def _may_manage(principal: Principal, all_outlets: bool, outlet_ids: list[str]) -> None:
    """Scoped managers act only on staff who work at their outlets and nowhere else."""
    if principal.outlet_ids is None:
        return
    if all_outlets:
        raise Forbidden("only head office manages staff who work at every outlet")
    outside = sorted(set(outlet_ids) - set(principal.outlet_ids))
    if outside:
        raise Forbidden("this staff member works at outlets not assigned to you",
                        details={"outlet_ids": outside})


async def _check_outlets(session: AsyncSession, all_outlets: bool, outlet_ids: list[str]) -> list[str]:
    outlet_ids = sorted(set(outlet_ids))
    if all_outlets:
        return []
    if not outlet_ids:
        raise ValidationFailed("a staff member works at all outlets or at one outlet at least",
                               details={"field": "outlet_ids"})
    found = set(await session.scalars(select(Outlet.id).where(Outlet.id.in_(outlet_ids))))
    missing = [oid for oid in outlet_ids if oid not in found]
    if missing:
        raise ValidationFailed("unknown outlet ids", details={"outlet_ids": missing})
    return outlet_ids


async def _unique_pin(session: AsyncSession, lookup: str, except_id: str | None = None) -> None:
    stmt = select(StaffMember.id).where(StaffMember.pin_lookup == lookup, StaffMember.active)
    if except_id:
        stmt = stmt.where(StaffMember.id != except_id)
    if await session.scalar(stmt.limit(1)):
        raise Conflict("this PIN is already used by another active staff member",
                       details={"field": "pin"})


async def _flush_unique(session: AsyncSession) -> None:
    # The partial unique index also guards two concurrent requests choosing one PIN.
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict("this PIN is already used by another active staff member",
                       details={"field": "pin"}) from None


def _audit_copy(member: StaffMember, outlet_ids: list[str]) -> dict[str, Any]:
    return audit.snapshot(member) | {"outlet_ids": outlet_ids}


async def list_staff(session: AsyncSession, principal: Principal,
                     outlet_id: str | None = None) -> list[tuple[StaffMember, list[str]]]:
    """Staff visible to the caller (optionally: those working at ``outlet_id``), by name."""
    require(principal, "staff:read")
    stmt = select(StaffMember).order_by(StaffMember.name, StaffMember.id)
    if outlet_id:
        stmt = stmt.where(or_(StaffMember.all_outlets, StaffMember.id.in_(
            select(StaffOutlet.staff_id).where(StaffOutlet.outlet_id == outlet_id))))
    members = list(await session.scalars(stmt))
    outlets = await outlets_of_staff(session, [m.id for m in members])
    return [(m, outlets[m.id]) for m in members if _sees(principal, m, outlets[m.id])]


async def get_staff(session: AsyncSession, principal: Principal,
                    staff_id: str) -> tuple[StaffMember, list[str]]:
    require(principal, "staff:read")
    member = await session.get(StaffMember, staff_id)
    outlets = (await outlets_of_staff(session, [staff_id]))[staff_id] if member else []
    if member is None or not _sees(principal, member, outlets):
        raise NotFound("staff member not found", details={"id": staff_id})
    return member, outlets


async def _set_outlets(session: AsyncSession, member: StaffMember, outlet_ids: list[str]) -> None:
    await session.execute(delete(StaffOutlet).where(StaffOutlet.staff_id == member.id))
    session.add_all([StaffOutlet(tenant_id=member.tenant_id, staff_id=member.id, outlet_id=oid)
                     for oid in outlet_ids])


async def create_staff(session: AsyncSession, principal: Principal,
                       data: StaffCreate) -> tuple[StaffMember, list[str]]:
    require(principal, "staff:write")
    _may_manage(principal, data.all_outlets, data.outlet_ids)
    outlet_ids = await _check_outlets(session, data.all_outlets, data.outlet_ids)
    pepper = await _pepper(session, principal.tenant_id, create=True)
    assert pepper is not None
    lookup = pin_lookup(data.pin, pepper)
    await _unique_pin(session, lookup)
    member = StaffMember(id=new_id(), tenant_id=principal.tenant_id, name=data.name.strip(),
                         role=data.role, pin_hash=await hash_password_async(data.pin),
                         pin_lookup=lookup, all_outlets=data.all_outlets, active=True)
    session.add(member)
    await _flush_unique(session)
    await _set_outlets(session, member, outlet_ids)
    await session.flush()
    audit.record(session, principal, "staff.create", "staff", member.id, None,
                 _audit_copy(member, outlet_ids))
    return member, outlet_ids


async def update_staff(session: AsyncSession, principal: Principal, staff_id: str,
                       data: StaffUpdate) -> tuple[StaffMember, list[str]]:
    """Rename, change role, PIN, outlets; deactivate (``active: false``) or reactivate."""
    require(principal, "staff:write")
    member, current = await get_staff(session, principal, staff_id)
    _may_manage(principal, member.all_outlets, current)
    before = _audit_copy(member, current)
    all_outlets = member.all_outlets if data.all_outlets is UNSET else data.all_outlets
    wanted = current if data.outlet_ids is UNSET else list(data.outlet_ids)
    _may_manage(principal, all_outlets, wanted)
    outlet_ids = await _check_outlets(session, all_outlets, wanted)
    if data.name is not UNSET:
        member.name = data.name.strip()
    if data.role is not UNSET:
        member.role = data.role
    if data.active is not UNSET:
        member.active = data.active
    member.all_outlets = all_outlets
    if data.pin is not UNSET:
        pepper = await _pepper(session, principal.tenant_id, create=True)
        assert pepper is not None
        member.pin_lookup = pin_lookup(data.pin, pepper)
        member.pin_hash = await hash_password_async(data.pin)
    if member.active and (data.pin is not UNSET or data.active is True):
        await _unique_pin(session, member.pin_lookup, except_id=member.id)
    await _flush_unique(session)
    await _set_outlets(session, member, outlet_ids)
    await session.flush()
    after = _audit_copy(member, outlet_ids)
    if data.pin is not UNSET:
        after["pin"] = "changed"
    audit.record(session, principal, "staff.update", "staff", member.id, before, after)
    return member, outlet_ids


async def outlet_snapshot(session: AsyncSession, tenant_id: str, outlet_id: str) -> StaffSnapshot:
    """The active staff who work at ``outlet_id`` (sorted by id) and the tenant's PIN pepper."""
    stmt = (select(StaffMember).where(StaffMember.tenant_id == tenant_id, StaffMember.active,
                                      or_(StaffMember.all_outlets, StaffMember.id.in_(
                                          select(StaffOutlet.staff_id)
                                          .where(StaffOutlet.outlet_id == outlet_id))))
            .order_by(StaffMember.id))
    members = list(await session.scalars(stmt))
    pepper = await _pepper(session, tenant_id, create=False) or ""
    return StaffSnapshot(pin_pepper=pepper, staff=[
        StaffRecord(id=m.id, name=m.name, role=m.role, pin_hash=m.pin_hash, pin_lookup=m.pin_lookup)
        for m in members])
