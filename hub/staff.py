"""Outlet staff managed by head office: the people who log in at the tills with a PIN.

* A staff member has a name, an edge role (cashier, kitchen, manager), a PIN (4-8 digits, 6+
  for managers: shared.pins), an active flag, and works at every outlet of the tenant
  (``all_outlets``) or at a list.
* The PIN is kept sealed under the hub's PIN key (hub.staff_pins) with an HMAC lookup that
  makes it unique among the tenant's active staff. Nothing tenant-wide ever leaves the hub.
* Who chooses a PIN: head office (owner, hq_admin) may; everyone else gets one drawn by the
  hub and shown once (``generated_pin``), so a scoped manager cannot probe which PINs are in
  use (security M6). A chosen PIN that is taken is a 409, audited as ``staff.pin_conflict``;
  after ``PIN_CONFLICTS_PER_HOUR`` of them a user gets 429 for the rest of the hour.
  Reactivating someone whose PIN was taken meanwhile draws them a new one instead of a 409.
* Owners and HQ admins manage everyone. Area and outlet managers see the staff working at
  their outlets and manage only staff who work nowhere else (never ``all_outlets``).
* Every change is audited in its own transaction; the audit copy never holds PIN material.
* Per-outlet verifiers (security H2): each outlet has its own random salt
  (``outlet_pin_salts``); ``ensure_verifiers`` computes argon2id(PIN, outlet salt) for the
  staff of one outlet that lack a current one (off the event loop, outside any transaction,
  a bounded amount per call) and caches it in ``staff_pin_verifiers``; ``outlet_snapshot``
  is what that outlet's feed sends down: its active staff with their verifiers there, its
  salt and the cost parameters. Staff without a verifier yet (or without a PIN) are left out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from msgspec import UNSET
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.db import Database
from hub.identity import Principal, require
from hub.models import AuditEntry, Outlet, utcnow
from hub.schemas import StaffCreate, StaffUpdate
from hub.staff_models import (
    OutletPinSalt,
    StaffMember,
    StaffOutlet,
    StaffPepper,
    StaffPinVerifier,
)
from hub.staff_pins import PinVault, new_pin
from hub.tenancy import outlet_links
from shared import pins
from shared.auth import new_secret
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unavailable,
    ValidationFailed,
)
from shared.ids import new_id
from sync.protocol import StaffRecord, StaffSnapshot

__all__ = [
    "PIN_CONFLICTS_PER_HOUR",
    "VERIFIERS_PER_CALL",
    "PinInUse",
    "StaffResult",
    "create_staff",
    "ensure_verifiers",
    "get_staff",
    "list_staff",
    "outlet_snapshot",
    "outlets_of_staff",
    "update_staff",
]

log = logging.getLogger("hub.staff")
T = TypeVar("T")

PIN_CONFLICTS_PER_HOUR = 5
# Verifier work per feed build: an outlet gets this many new verifiers per pull at most, in
# at most about VERIFIER_SECONDS, so a change that touches every outlet is spread over pulls.
VERIFIERS_PER_CALL = 8
VERIFIER_SECONDS = 1.5
_SALT_BYTES = 16


class PinInUse(Conflict):
    """A PIN head office chose is already used by another active staff member."""


@dataclass
class StaffResult:
    member: StaffMember
    outlet_ids: list[str]
    generated_pin: str | None = None  # a PIN the hub drew: shown once, never stored in clear


async def _pepper(session: AsyncSession, tenant_id: str) -> str:
    found = await session.scalar(select(StaffPepper.pepper).where(StaffPepper.tenant_id == tenant_id))
    if found is not None:
        return found
    try:
        async with session.begin_nested():  # two first staff of a tenant at once: one pepper
            session.add(StaffPepper(tenant_id=tenant_id, pepper=new_secret(nbytes=32)))
            await session.flush()
    except IntegrityError:
        pass
    found = await session.scalar(select(StaffPepper.pepper).where(StaffPepper.tenant_id == tenant_id))
    assert found is not None
    return found


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


async def _pin_free(session: AsyncSession, lookup: str, except_id: str | None) -> bool:
    stmt = select(StaffMember.id).where(StaffMember.pin_lookup == lookup, StaffMember.active)
    if except_id:
        stmt = stmt.where(StaffMember.id != except_id)
    return await session.scalar(stmt.limit(1)) is None


async def _new_pin(session: AsyncSession, vault: PinVault, pepper: str, role: str,
                   chosen: str | None, except_id: str | None) -> tuple[str, str]:
    """(PIN, lookup): ``chosen`` if it is valid for ``role`` and free (else PinInUse), or a
    free PIN drawn at random."""
    if chosen is not None:
        pins.check_pin(chosen, role)
        lookup = vault.lookup(pepper, chosen)
        if not await _pin_free(session, lookup, except_id):
            raise PinInUse("this PIN is already used by another active staff member",
                           details={"field": "pin"})
        return chosen, lookup
    for _ in range(20):
        drawn = new_pin()
        lookup = vault.lookup(pepper, drawn)
        if await _pin_free(session, lookup, except_id):
            return drawn, lookup
    raise Conflict("could not draw a free PIN; try again")


def _store_pin(member: StaffMember, vault: PinVault, pin: str, lookup: str) -> None:
    member.pin_version = (member.pin_version or 0) + 1
    member.pin_lookup = lookup
    member.pin_hash = ""
    member.pin_sealed = vault.seal(member.tenant_id, member.id, member.pin_version, pin)


async def _flush_unique(session: AsyncSession, chosen: bool) -> None:
    # The partial unique index also guards two concurrent requests choosing one PIN.
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        if chosen:
            raise PinInUse("this PIN is already used by another active staff member",
                           details={"field": "pin"}) from None
        raise Conflict("could not draw a free PIN; try again") from None


def _chooses_pins(principal: Principal) -> bool:
    # Head office may set anyone's PIN anyway; a scoped manager choosing PINs could use the
    # 409 to learn which PINs are in use (M6), so the hub draws theirs.
    return principal.outlet_ids is None


def _refuse_chosen_pin(principal: Principal, pin: object) -> None:
    if pin is not UNSET and pin is not None and not _chooses_pins(principal):
        raise Forbidden("only head office chooses PINs: leave pin out and the hub draws one, "
                        "shown once", details={"field": "pin"})


async def _conflict_budget(session: AsyncSession, principal: Principal) -> None:
    since = utcnow() - timedelta(hours=1)
    recent = await session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "staff.pin_conflict", AuditEntry.actor_id == principal.user_id,
        AuditEntry.at >= since))
    if (recent or 0) >= PIN_CONFLICTS_PER_HOUR:
        raise TooManyRequests("too many PINs already in use were tried; wait an hour or leave "
                              "pin out to have one drawn", details={"retry_after_seconds": 3600})


async def _guarded(db: Database, principal: Principal, entity_id: str,
                   change: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run a staff change that may set a PIN: refused while the caller is over the conflict
    budget; a taken PIN is audited in its own transaction (the change rolled back)."""
    try:
        async with db.tenant(principal.tenant_id) as session:
            await _conflict_budget(session, principal)
            return await change(session)
    except PinInUse:
        async with db.tenant(principal.tenant_id) as session:
            audit.record(session, principal, "staff.pin_conflict", "staff", entity_id, None,
                         {"field": "pin"})
        raise


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


async def create_staff(db: Database, vault: PinVault, principal: Principal,
                       data: StaffCreate) -> StaffResult:
    """A new staff member; their PIN is ``data.pin`` (head office only) or drawn and returned."""
    require(principal, "staff:write")
    _may_manage(principal, data.all_outlets, data.outlet_ids)
    _refuse_chosen_pin(principal, data.pin)
    chosen = None if data.pin is UNSET else data.pin

    async def change(session: AsyncSession) -> StaffResult:
        outlet_ids = await _check_outlets(session, data.all_outlets, data.outlet_ids)
        pepper = await _pepper(session, principal.tenant_id)
        member = StaffMember(id=new_id(), tenant_id=principal.tenant_id, name=data.name.strip(),
                             role=data.role, pin_version=0, all_outlets=data.all_outlets,
                             active=True)
        pin, lookup = await _new_pin(session, vault, pepper, data.role, chosen, None)
        _store_pin(member, vault, pin, lookup)
        session.add(member)
        await _flush_unique(session, chosen is not None)
        await _set_outlets(session, member, outlet_ids)
        await session.flush()
        after = _audit_copy(member, outlet_ids) | {"pin": "chosen" if chosen else "generated"}
        audit.record(session, principal, "staff.create", "staff", member.id, None, after)
        return StaffResult(member, outlet_ids, None if chosen else pin)

    return await _guarded(db, principal, "", change)


async def update_staff(db: Database, vault: PinVault, principal: Principal, staff_id: str,
                       data: StaffUpdate) -> StaffResult:
    """Rename, change role, PIN (``pin``: head office; ``new_pin``: drawn), outlets;
    deactivate (``active: false``) or reactivate."""
    require(principal, "staff:write")
    _refuse_chosen_pin(principal, data.pin)
    chosen = None if data.pin is UNSET else data.pin

    async def change(session: AsyncSession) -> StaffResult:
        member, current = await get_staff(session, principal, staff_id)
        _may_manage(principal, member.all_outlets, current)
        before = _audit_copy(member, current)
        # (before any change: a query would flush a reactivated row into the unique index)
        retaken = (data.active is True and not member.active and chosen is None
                   and not await _pin_free(session, member.pin_lookup, member.id))
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
        with session.no_autoflush:
            pepper = await _pepper(session, principal.tenant_id)
        draw = data.new_pin is True
        if chosen is None and not draw and member.role == "manager" and data.role is not UNSET:
            old = vault.unseal(member.tenant_id, member.id, member.pin_version, member.pin_sealed)
            if old is not None and len(old) < pins.MANAGER_MIN_DIGITS:
                raise ValidationFailed(
                    f"a manager's PIN has at least {pins.MANAGER_MIN_DIGITS} digits: give a new "
                    "pin (or new_pin: true) with the role", details={"field": "pin"})
        if retaken:
            draw = True  # taken while they were away: a new one, not a 409 that tells it
        generated = None
        if chosen is not None or draw:
            with session.no_autoflush:  # the row must not reach the index with its old PIN
                pin, lookup = await _new_pin(session, vault, pepper, member.role, chosen, member.id)
            _store_pin(member, vault, pin, lookup)
            generated = None if chosen is not None else pin
        await _flush_unique(session, chosen is not None)
        await _set_outlets(session, member, outlet_ids)
        await session.flush()
        after = _audit_copy(member, outlet_ids)
        if chosen is not None or draw:
            after["pin"] = "changed" if chosen is not None else "generated"
        audit.record(session, principal, "staff.update", "staff", member.id, before, after)
        return StaffResult(member, outlet_ids, generated)

    return await _guarded(db, principal, staff_id, change)


# ---------------------------------------------------------------- per-outlet verifiers


def _works_at(outlet_id: str) -> Any:
    return or_(StaffMember.all_outlets, StaffMember.id.in_(
        select(StaffOutlet.staff_id).where(StaffOutlet.outlet_id == outlet_id)))


async def _outlet_salt(session: AsyncSession, tenant_id: str, outlet_id: str) -> str:
    found = await session.scalar(select(OutletPinSalt.salt).where(OutletPinSalt.outlet_id == outlet_id))
    if found is not None:
        return found
    try:
        async with session.begin_nested():  # two replicas building one outlet's first feed
            session.add(OutletPinSalt(tenant_id=tenant_id, outlet_id=outlet_id,
                                      salt=secrets.token_hex(_SALT_BYTES)))
            await session.flush()
    except IntegrityError:
        pass
    found = await session.scalar(select(OutletPinSalt.salt).where(OutletPinSalt.outlet_id == outlet_id))
    assert found is not None
    return found


def _current_verifier(outlet_id: str, salt: str) -> Any:
    return and_(StaffPinVerifier.staff_id == StaffMember.id, StaffPinVerifier.outlet_id == outlet_id,
                StaffPinVerifier.pin_version == StaffMember.pin_version,
                StaffPinVerifier.salt == salt, StaffPinVerifier.kdf == pins.PIN_KDF.encode())


async def ensure_verifiers(db: Database, vault: PinVault, tenant_id: str, outlet_id: str,
                           limit: int = VERIFIERS_PER_CALL) -> int:
    """Compute (at most ``limit``) missing or stale verifiers of the staff who work at the
    outlet; return how many were stored. Derivation runs in a worker thread between two
    short transactions, and stops early when the hub is busy deriving for other outlets."""
    async with db.tenant(tenant_id) as session:
        salt = await _outlet_salt(session, tenant_id, outlet_id)
        stale = (await session.execute(
            select(StaffMember.id, StaffMember.pin_version, StaffMember.pin_sealed)
            .outerjoin(StaffPinVerifier, _current_verifier(outlet_id, salt))
            .where(StaffMember.active, StaffMember.pin_sealed != "", _works_at(outlet_id),
                   StaffPinVerifier.staff_id.is_(None))
            .order_by(StaffMember.id).limit(limit))).all()
    if not stale:
        return 0
    work = []
    for staff_id, version, sealed in stale:
        pin = vault.unseal(tenant_id, staff_id, version, sealed)
        if pin is None:  # sealed under another key: this replica has a different POS_HUB_PIN_KEY
            log.warning("staff PIN cannot be unsealed with this hub's PIN key",
                        extra={"tenant_id": tenant_id, "staff_id": staff_id})
            continue
        work.append((staff_id, version, pin))
    done = await asyncio.to_thread(_derive_all, work, salt)
    if not done:
        return 0
    async with db.tenant(tenant_id) as session:
        for staff_id, version, verifier in done:
            row = StaffPinVerifier(tenant_id=tenant_id, staff_id=staff_id, outlet_id=outlet_id,
                                   pin_version=version, salt=salt, kdf=pins.PIN_KDF.encode(),
                                   verifier=verifier, created_at=utcnow())
            try:
                async with session.begin_nested():
                    await session.merge(row)
                    await session.flush()
            except IntegrityError:
                pass  # another replica stored the same verifier meanwhile
    return len(done)


def _derive_all(work: list[tuple[str, int, str]], salt: str) -> list[tuple[str, int, str]]:
    done: list[tuple[str, int, str]] = []
    deadline = time.monotonic() + VERIFIER_SECONDS
    for staff_id, version, pin in work:
        if done and time.monotonic() > deadline:
            break
        try:
            done.append((staff_id, version, pins.derive(pin, salt, pins.PIN_KDF, wait=1.0)))
        except Unavailable:
            break  # every slot busy: the next pull continues
    return done


async def outlet_snapshot(session: AsyncSession, tenant_id: str, outlet_id: str) -> StaffSnapshot:
    """The active staff who work at ``outlet_id`` and have a verifier there (sorted by id),
    with the outlet's salt and the cost parameters. No tenant-wide value is in it."""
    salt = await session.scalar(select(OutletPinSalt.salt).where(OutletPinSalt.outlet_id == outlet_id))
    if salt is None:
        return StaffSnapshot()
    rows = (await session.execute(
        select(StaffMember.id, StaffMember.name, StaffMember.role, StaffPinVerifier.verifier)
        .join(StaffPinVerifier, _current_verifier(outlet_id, salt))
        .where(StaffMember.tenant_id == tenant_id, StaffMember.active, _works_at(outlet_id))
        .order_by(StaffMember.id))).all()
    # pin_hash/pin_lookup stay for old edges' decoders: a lookup no typed PIN can match, unique
    # per person (their unique index); such an edge cannot log hub staff in until upgraded.
    return StaffSnapshot(pin_salt=salt, pin_kdf=pins.PIN_KDF.encode(), staff=[
        StaffRecord(id=sid, name=name, role=role, pin_hash="", pin_lookup=f"none:{sid}",
                    pin_verifier=verifier)
        for sid, name, role, verifier in rows])
