"""Tenants, brands, outlets and users: the head-office structure of a chain.

Services take a session already scoped to the caller's tenant (``Database.tenant``) and the
``Principal``; they check permissions, change rows, and write the audit entry in the same
transaction. ``create_tenant`` is the one exception: it is run by the platform operator
(``pos-hub create-tenant``) in a system session, since no tenant exists yet.

User emails are unique per tenant, not across tenants: a global uniqueness check answered
409 for another tenant's email and so told any HQ admin who has an account elsewhere. Login
tells accounts that share an email apart by password (``hub.identity.login``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import UNSET
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.db import TenantReader
from hub.identity import (
    SCOPED_ROLES,
    Principal,
    allowed,
    bump_token_version,
    hash_password_async,
    normalize_email,
    require,
    require_outlet,
)
from hub.models import Brand, Outlet, RefreshToken, Tenant, User, UserOutlet, utcnow
from hub.schemas import (
    BrandCreate,
    BrandUpdate,
    OutletCreate,
    OutletOut,
    OutletUpdate,
    TenantOut,
    TenantUpdate,
    UserCreate,
    UserUpdate,
    apply_update,
)
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.ids import new_id
from shared.schemas import control_character

__all__ = [
    "create_brand",
    "create_outlet",
    "create_tenant",
    "create_user",
    "get_brand",
    "get_outlet",
    "get_tenant",
    "get_user",
    "list_brands",
    "list_outlets",
    "list_users",
    "outlet_links",
    "outlets_json",
    "read_tenant",
    "update_brand",
    "update_outlet",
    "update_tenant",
    "update_user",
    "user_outlet_ids",
    "validate_outlet_settings",
    "validate_timezone",
]

# Outlet ``settings`` is free-form JSON sent to the edge and copied into the audit log on
# every change: bounded so it stays a handful of switches, not a document store.
MAX_SETTINGS_BYTES = 16 * 1024
MAX_SETTINGS_KEYS = 64
MAX_SETTINGS_KEY_LENGTH = 64


def validate_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone, else raise ValidationFailed."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {name!r} (use an IANA name like Asia/Jakarta)",
                               details={"field": "timezone"}) from None
    return name


def validate_outlet_settings(settings: Any) -> dict[str, Any]:
    """Return ``settings`` if it is an object of at most 64 keys (each 1-64 characters) and
    16 KiB of JSON, else raise ValidationFailed."""
    if not isinstance(settings, dict):
        raise ValidationFailed("settings must be a JSON object", details={"field": "settings"})
    if len(settings) > MAX_SETTINGS_KEYS:
        raise ValidationFailed(f"settings may have at most {MAX_SETTINGS_KEYS} keys",
                               details={"field": "settings", "keys": len(settings)})
    for key in settings:
        if not key or len(key) > MAX_SETTINGS_KEY_LENGTH:
            raise ValidationFailed(f"a settings key must be 1-{MAX_SETTINGS_KEY_LENGTH} characters",
                                   details={"field": "settings"})
    size = len(msgspec.json.encode(settings))
    if size > MAX_SETTINGS_BYTES:
        raise ValidationFailed(f"settings may be at most {MAX_SETTINGS_BYTES} bytes of JSON",
                               details={"field": "settings", "bytes": size})
    _validate_discount_settings(settings)
    return settings


MAX_DISCOUNT_REASONS = 50


def _validate_discount_settings(settings: dict[str, Any]) -> None:
    """``discount_reasons``: up to 50 distinct reasons of 1-100 characters (no control
    characters); ``discount_approval_percent``: null or a whole percent 0-100 (a discount
    above it needs a manager at the till)."""
    reasons = settings.get("discount_reasons", [])
    if not isinstance(reasons, list) or len(reasons) > MAX_DISCOUNT_REASONS or any(
            not isinstance(r, str) or not r.strip() or len(r) > 100 or control_character(r)
            for r in reasons) or len(set(reasons)) != len(reasons):
        raise ValidationFailed(f"settings.discount_reasons must be a list of at most "
                               f"{MAX_DISCOUNT_REASONS} distinct texts of 1-100 characters",
                               details={"field": "settings.discount_reasons"})
    percent = settings.get("discount_approval_percent")
    if percent is not None and (not isinstance(percent, int) or isinstance(percent, bool)
                                or not 0 <= percent <= 100):
        raise ValidationFailed("settings.discount_approval_percent must be null or 0-100",
                               details={"field": "settings.discount_approval_percent"})


# ---------------------------------------------------------------- tenants


async def create_tenant(session: AsyncSession, name: str, admin_email: str,
                        admin_password: str, currency: str = "IDR") -> Tenant:
    """A new tenant with one brand of the same name and its owner account (system session)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("tenant name must be 1-200 characters", details={"field": "name"})
    email = normalize_email(admin_email)
    if "@" not in email or len(email) > 320 or " " in email:
        raise ValidationFailed("admin email is not a valid address", details={"field": "email"})
    if len(admin_password) < 8:
        raise ValidationFailed("admin password must be at least 8 characters",
                               details={"field": "password"})
    # The operator sees every tenant: running the same create-tenant twice is a mistake to
    # refuse (one person may still own two chains of different names).
    twin = await session.scalar(select(Tenant.id).join(User, User.tenant_id == Tenant.id)
                                .where(Tenant.name == name, User.email == email).limit(1))
    if twin:
        raise Conflict("a tenant with this name and owner email already exists",
                       details={"tenant_id": twin})
    tenant = Tenant(id=new_id(), name=name, currency=currency)
    session.add(tenant)
    await session.flush()
    brand = Brand(id=new_id(), tenant_id=tenant.id, name=name)
    owner = User(id=new_id(), tenant_id=tenant.id, email=email, name="Owner", role="owner",
                 password_hash=await hash_password_async(admin_password))
    session.add_all([brand, owner])
    await session.flush()
    audit.record(session, None, "tenant.create", "tenant", tenant.id, None,
                 {"name": name, "brand_id": brand.id, "owner_email": email}, tenant_id=tenant.id)
    return tenant


async def get_tenant(session: AsyncSession, principal: Principal) -> Tenant:
    require(principal, "tenant:read")
    tenant = await session.get(Tenant, principal.tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


async def update_tenant(session: AsyncSession, principal: Principal, data: TenantUpdate) -> Tenant:
    require(principal, "tenant:update")
    tenant = await get_tenant(session, principal)
    before = audit.snapshot(tenant)
    apply_update(tenant, data)
    await session.flush()
    audit.record(session, principal, "tenant.update", "tenant", tenant.id, before,
                 audit.snapshot(tenant))
    return tenant


# ---------------------------------------------------------------- brands


async def list_brands(session: AsyncSession, principal: Principal) -> list[Brand]:
    require(principal, "brands:read")
    return list(await session.scalars(select(Brand).order_by(Brand.name)))


async def get_brand(session: AsyncSession, principal: Principal, brand_id: str) -> Brand:
    require(principal, "brands:read")
    brand = await session.get(Brand, brand_id)
    if brand is None:
        raise NotFound("brand not found", details={"id": brand_id})
    return brand


async def _unique_brand_name(session: AsyncSession, name: str, except_id: str | None = None) -> None:
    stmt = select(Brand.id).where(Brand.name == name)
    if except_id:
        stmt = stmt.where(Brand.id != except_id)
    if await session.scalar(stmt):
        raise Conflict("a brand with this name already exists", details={"name": name})


async def create_brand(session: AsyncSession, principal: Principal, data: BrandCreate) -> Brand:
    require(principal, "brands:write")
    await _unique_brand_name(session, data.name)
    brand = Brand(id=new_id(), tenant_id=principal.tenant_id, name=data.name)
    session.add(brand)
    await session.flush()
    audit.record(session, principal, "brand.create", "brand", brand.id, None, audit.snapshot(brand))
    return brand


async def update_brand(session: AsyncSession, principal: Principal, brand_id: str,
                       data: BrandUpdate) -> Brand:
    require(principal, "brands:write")
    brand = await get_brand(session, principal, brand_id)
    before = audit.snapshot(brand)
    if isinstance(data.name, str):
        await _unique_brand_name(session, data.name, except_id=brand.id)
    apply_update(brand, data)
    await session.flush()
    audit.record(session, principal, "brand.update", "brand", brand.id, before, audit.snapshot(brand))
    return brand


# ---------------------------------------------------------------- outlets


async def list_outlets(session: AsyncSession, principal: Principal) -> list[Outlet]:
    require(principal, "outlets:read")
    stmt = select(Outlet).order_by(Outlet.name, Outlet.id)
    if principal.outlet_ids is not None:
        stmt = stmt.where(Outlet.id.in_(principal.outlet_ids))
    return list(await session.scalars(stmt))


# The outlet listing as one Core statement (hub.db.TenantReader): every column the API
# returns, the tenant named explicitly as well as by RLS.
_OUTLET_ROWS = (select(*(Outlet.__table__.c[name] for name in OutletOut.__struct_fields__))
                .where(Outlet.__table__.c.tenant_id == bindparam("tenant_id"))
                .order_by(Outlet.__table__.c.name, Outlet.__table__.c.id))


async def outlets_json(reader: TenantReader, principal: Principal) -> bytes:
    """``list_outlets`` on the fast read path, as the JSON array of ``OutletOut`` (the same
    rows in the same order; an area manager's scope applied in the statement)."""
    require(principal, "outlets:read")
    keep = None if principal.outlet_ids is None else ("id", principal.outlet_ids)
    return await reader.json_array(_OUTLET_ROWS, OutletOut, keep=keep)


_TENANT_ROW = (select(*(Tenant.__table__.c[name] for name in TenantOut.__struct_fields__))
               .where(Tenant.__table__.c.id == bindparam("tenant_id")))


async def read_tenant(reader: TenantReader, principal: Principal) -> TenantOut:
    """``get_tenant`` on the fast read path."""
    require(principal, "tenant:read")
    row = await reader.first(_TENANT_ROW)
    if row is None:
        raise NotFound("tenant not found")
    return TenantOut(**row)


async def get_outlet(session: AsyncSession, principal: Principal, outlet_id: str) -> Outlet:
    require(principal, "outlets:read")
    outlet = await session.get(Outlet, outlet_id)
    if outlet is None:
        raise NotFound("outlet not found", details={"id": outlet_id})
    require_outlet(principal, outlet_id)
    return outlet


async def _default_brand(session: AsyncSession) -> Brand:
    brands = list(await session.scalars(select(Brand).order_by(Brand.created_at).limit(2)))
    if len(brands) != 1:
        raise ValidationFailed("brand_id is required when the tenant has several brands"
                               if brands else "create a brand first", details={"field": "brand_id"})
    return brands[0]


async def create_outlet(session: AsyncSession, principal: Principal | None, data: OutletCreate,
                        tenant_id: str | None = None) -> Outlet:
    """Create an outlet (principal None = CLI operator acting on ``tenant_id``)."""
    if principal is not None:
        require(principal, "outlets:write")
        tenant_id = principal.tenant_id
    validate_timezone(data.timezone)
    validate_outlet_settings(data.settings)
    if data.brand_id:
        brand = await session.get(Brand, data.brand_id)
        if brand is None or brand.tenant_id != tenant_id:
            raise ValidationFailed("brand not found", details={"field": "brand_id"})
    else:
        brand = await _default_brand(session)
    values = {f: getattr(data, f) for f in data.__struct_fields__ if f != "brand_id"}
    outlet = Outlet(id=new_id(), tenant_id=tenant_id, brand_id=brand.id, **values)
    session.add(outlet)
    await session.flush()
    audit.record(session, principal, "outlet.create", "outlet", outlet.id, None,
                 audit.snapshot(outlet), tenant_id=tenant_id)
    # Late-comers get the brand's current menu right away (see hub.catalog).
    from hub.catalog import snapshot_latest_for_outlet

    await snapshot_latest_for_outlet(session, outlet)
    return outlet


async def update_outlet(session: AsyncSession, principal: Principal, outlet_id: str,
                        data: OutletUpdate) -> Outlet:
    require(principal, "outlets:write")
    outlet = await get_outlet(session, principal, outlet_id)
    if isinstance(data.timezone, str):
        validate_timezone(data.timezone)
    if data.settings is not UNSET:
        validate_outlet_settings(data.settings)
    before = audit.snapshot(outlet)
    apply_update(outlet, data)
    await session.flush()
    audit.record(session, principal, "outlet.update", "outlet", outlet.id, before,
                 audit.snapshot(outlet))
    return outlet


# ---------------------------------------------------------------- users


async def outlet_links(session: AsyncSession, owner: Any, outlet: Any,
                       owner_ids: list[str]) -> dict[str, list[str]]:
    """owner id -> its outlet ids (sorted) from a link table, e.g. (UserOutlet.user_id,
    UserOutlet.outlet_id); every asked-for owner is present, with [] if it has none."""
    found: dict[str, list[str]] = {owner_id: [] for owner_id in owner_ids}
    if owner_ids:
        rows = await session.execute(select(owner, outlet).where(owner.in_(owner_ids))
                                     .order_by(outlet))
        for owner_id, outlet_id in rows:
            found[owner_id].append(outlet_id)
    return found


async def user_outlet_ids(session: AsyncSession, user_ids: list[str]) -> dict[str, list[str]]:
    return await outlet_links(session, UserOutlet.user_id, UserOutlet.outlet_id, user_ids)


async def list_users(session: AsyncSession, principal: Principal) -> list[User]:
    require(principal, "users:read")
    return list(await session.scalars(select(User).order_by(User.email)))


async def get_user(session: AsyncSession, principal: Principal, user_id: str) -> User:
    require(principal, "users:read")
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found", details={"id": user_id})
    return user


def _guard_role_change(principal: Principal, role: str) -> None:
    # HQ admins manage staff but cannot mint owners (or promote themselves to one).
    if role == "owner" and not allowed(principal, "owners:manage"):
        raise Forbidden("only an owner can grant the owner role",
                        details={"permission": "owners:manage"})


async def _set_outlets(session: AsyncSession, user: User, role: str, outlet_ids: list[str]) -> None:
    outlet_ids = sorted(set(outlet_ids))
    if role in {"area_manager", "outlet_manager"} and not outlet_ids:
        raise ValidationFailed(f"a {role} needs at least one outlet", details={"field": "outlet_ids"})
    if outlet_ids:
        found = set(await session.scalars(select(Outlet.id).where(Outlet.id.in_(outlet_ids))))
        missing = [oid for oid in outlet_ids if oid not in found]
        if missing:
            raise ValidationFailed("unknown outlet ids", details={"outlet_ids": missing})
    await session.execute(delete(UserOutlet).where(UserOutlet.user_id == user.id))
    if role in SCOPED_ROLES:
        session.add_all([UserOutlet(tenant_id=user.tenant_id, user_id=user.id, outlet_id=oid)
                         for oid in outlet_ids])


async def create_user(session: AsyncSession, principal: Principal, data: UserCreate) -> User:
    require(principal, "users:write")
    _guard_role_change(principal, data.role)
    email = normalize_email(data.email)
    # Emails are unique per tenant (module docstring): only a duplicate in this tenant, which
    # the caller can list anyway, is a conflict.
    user = User(id=new_id(), tenant_id=principal.tenant_id, email=email, name=data.name,
                role=data.role, password_hash=await hash_password_async(data.password))
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict("a user with this email already exists", details={"email": email}) from None
    await _set_outlets(session, user, data.role, data.outlet_ids)
    await session.flush()
    after = audit.snapshot(user) | {"outlet_ids": sorted(set(data.outlet_ids))}
    audit.record(session, principal, "user.create", "user", user.id, None, after)
    return user


async def update_user(session: AsyncSession, principal: Principal, user_id: str,
                      data: UserUpdate) -> User:
    require(principal, "users:write")
    user = await get_user(session, principal, user_id)
    if user.role == "owner" and not allowed(principal, "owners:manage"):
        raise Forbidden("only an owner can change an owner's account",
                        details={"permission": "owners:manage"})
    if isinstance(data.role, str):
        _guard_role_change(principal, data.role)
    if user.id == principal.user_id and (data.active is False or
                                         (isinstance(data.role, str) and data.role != user.role)):
        raise Forbidden("you cannot deactivate yourself or change your own role")
    current_outlets = (await user_outlet_ids(session, [user.id]))[user.id]
    before = audit.snapshot(user) | {"outlet_ids": current_outlets}
    changes: dict[str, Any] = {}
    for name in ("name", "role", "active"):
        value = getattr(data, name)
        if value is not UNSET:
            setattr(user, name, value)
            changes[name] = value
    if data.password is not UNSET:
        user.password_hash = await hash_password_async(data.password)
        changes["password"] = "changed"
    if data.outlet_ids is not UNSET or "role" in changes:
        new_outlets = data.outlet_ids if data.outlet_ids is not UNSET else current_outlets
        await _set_outlets(session, user, user.role, list(new_outlets))
    if changes.get("active") is False or "role" in changes or "password" in changes:
        # Existing sessions must not outlive a lock-out, demotion or password reset.
        await session.execute(update(RefreshToken).where(RefreshToken.user_id == user.id,
                                                         RefreshToken.revoked_at.is_(None))
                              .values(revoked_at=utcnow()))
    await session.flush()
    after_outlets = (await user_outlet_ids(session, [user.id]))[user.id]
    if (changes.get("active") is False or "role" in changes or "password" in changes
            or after_outlets != current_outlets):
        # ... nor their access tokens, which carry the role and the outlets (hub.identity).
        await bump_token_version(session, user.id)
        await session.refresh(user, ["token_version"])
    after = audit.snapshot(user) | {"outlet_ids": after_outlets}
    if "password" in changes:
        after["password"] = "changed"
    audit.record(session, principal, "user.update", "user", user.id, before, after)
    return user


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)
