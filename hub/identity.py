"""Who is calling the hub and what they may do; login, refresh-token rotation, rate limiting.

* Users belong to one tenant and hold one role: owner, hq_admin, area_manager,
  outlet_manager, technician. Area managers, outlet managers and technicians are limited to
  the outlets assigned to them (``user_outlets``); owners and HQ admins see every outlet.
* Login = email + password (argon2id). It returns a short HS256 access JWT (claims: sub,
  tid, role, email, outlets) and an opaque refresh token, stored only as a SHA-256 digest.
* A refresh token works once: using it marks it used and issues the next token of the same
  *family* (one family per login). Presenting a used token again means it leaked, so the
  whole family is revoked. Logout revokes the family.
* Failed logins are counted in the database (shared by every replica) per account and per
  client IP; beyond the limit inside the window the login answers 429 before checking the
  password.

The permission table ``PERMISSIONS`` is the hub's whole RBAC policy. Nothing here imports
Litestar; ``hub.api.deps`` turns a bearer token into a ``Principal``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.models import ROLES, LoginFailure, RefreshToken, Tenant, User, UserOutlet, utcnow
from hub.settings import HubSettings
from shared.auth import decode_jwt, digest, hash_password, issue_jwt, new_secret, verify_password
from shared.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from shared.ids import new_id

__all__ = [
    "PERMISSIONS",
    "SCOPED_ROLES",
    "Principal",
    "TokenPair",
    "Tokens",
    "allowed",
    "cleanup_auth",
    "hash_password_async",
    "login",
    "logout",
    "normalize_email",
    "outlets_of",
    "refresh",
    "require",
    "require_outlet",
]

log = logging.getLogger("hub.identity")

# Roles limited to the outlets assigned to them.
SCOPED_ROLES = frozenset({"area_manager", "outlet_manager", "technician"})
_ALL = frozenset(ROLES)
_HQ = frozenset({"owner", "hq_admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "tenant:read": _ALL,
    "tenant:update": frozenset({"owner"}),
    "brands:read": _ALL,
    "brands:write": _HQ,
    "outlets:read": _ALL,
    "outlets:write": _HQ,
    "users:read": _HQ,
    "users:write": _HQ,
    "catalog:read": frozenset({"owner", "hq_admin", "area_manager", "outlet_manager"}),
    "catalog:write": _HQ,
    "catalog:publish": _HQ,
    "prices:write": frozenset({"owner", "hq_admin", "area_manager"}),
    "availability:write": frozenset({"owner", "hq_admin", "area_manager", "outlet_manager"}),
    "fleet:read": _ALL,
    "audit:read": _HQ,
    "reports:read": frozenset({"owner", "hq_admin", "area_manager", "outlet_manager"}),
    "enrollment:manage": frozenset({"owner", "hq_admin", "technician"}),
    # outlet staff (PIN logins at the tills); scoped roles only for their own outlets
    "staff:read": frozenset({"owner", "hq_admin", "area_manager", "outlet_manager"}),
    "staff:write": frozenset({"owner", "hq_admin", "area_manager", "outlet_manager"}),
}


class Principal(Struct, kw_only=True, frozen=True):
    """An authenticated hub user, as stated by a verified access token."""

    user_id: str
    tenant_id: str
    role: str
    email: str = ""
    outlet_ids: tuple[str, ...] | None = None  # None = every outlet of the tenant
    ip: str = ""  # the request's client address (for the audit log), not from the token

    def sees_outlet(self, outlet_id: str) -> bool:
        return self.outlet_ids is None or outlet_id in self.outlet_ids


def allowed(principal: Principal, permission: str) -> bool:
    holders = PERMISSIONS.get(permission)
    if holders is None:
        raise KeyError(f"unknown permission {permission!r}")
    return principal.role in holders


def require(principal: Principal, permission: str) -> None:
    """Raise Forbidden unless the principal's role holds ``permission``."""
    if not allowed(principal, permission):
        raise Forbidden(f"{permission} is not allowed for role {principal.role}",
                        details={"permission": permission})


def require_outlet(principal: Principal, outlet_id: str) -> None:
    """Raise Forbidden when a scoped principal asks about an outlet not assigned to them."""
    if not principal.sees_outlet(outlet_id):
        raise Forbidden("this outlet is not assigned to you", details={"outlet_id": outlet_id})


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def hash_password_async(password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(hash_password, password)


async def outlets_of(session: AsyncSession, user: User) -> tuple[str, ...] | None:
    """The outlet scope of a user: None for unscoped roles, else the assigned outlet ids."""
    if user.role not in SCOPED_ROLES:
        return None
    rows = await session.scalars(select(UserOutlet.outlet_id).where(UserOutlet.user_id == user.id)
                                 .order_by(UserOutlet.outlet_id))
    return tuple(rows)


class TokenPair(Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = 0


# A real argon2 hash to verify against when the email is unknown, so response time does not
# reveal which emails have accounts.
_DUMMY_HASH = hash_password(new_secret(nbytes=16))


class Tokens:
    """Issues and verifies access tokens with the hub's key and lifetimes."""

    def __init__(self, settings: HubSettings) -> None:
        self.key = settings.resolved_jwt_secret()
        self.issuer = settings.jwt_issuer
        self.access_ttl = timedelta(seconds=settings.access_ttl_seconds)
        self.refresh_ttl = timedelta(seconds=settings.refresh_ttl_seconds)

    def issue_access(self, user: User, outlet_ids: tuple[str, ...] | None) -> str:
        claims: dict[str, Any] = {"sub": user.id, "tid": user.tenant_id, "role": user.role,
                                  "email": user.email, "typ": "access"}
        if outlet_ids is not None:
            claims["outlets"] = list(outlet_ids)
        return issue_jwt(claims, self.key, self.access_ttl, self.issuer)

    def principal(self, token: str) -> Principal:
        """Verify an access token and return who it speaks for (Unauthorized otherwise)."""
        claims = decode_jwt(token, self.key, self.issuer)
        if claims.get("typ") != "access" or not claims.get("sub") or not claims.get("tid"):
            raise Unauthorized("invalid token")
        outlets = claims.get("outlets")
        return Principal(user_id=claims["sub"], tenant_id=claims["tid"], role=claims["role"],
                         email=claims.get("email", ""),
                         outlet_ids=tuple(outlets) if outlets is not None else None)


async def _new_refresh_token(session: AsyncSession, tokens: Tokens, user: User,
                             family_id: str) -> str:
    secret = new_secret("rt_")
    session.add(RefreshToken(id=new_id(), tenant_id=user.tenant_id, user_id=user.id,
                             family_id=family_id, token_digest=digest(secret),
                             expires_at=utcnow() + tokens.refresh_ttl))
    return secret


async def _issue_pair(session: AsyncSession, tokens: Tokens, user: User, family_id: str) -> TokenPair:
    outlet_ids = await outlets_of(session, user)
    return TokenPair(access_token=tokens.issue_access(user, outlet_ids),
                     refresh_token=await _new_refresh_token(session, tokens, user, family_id),
                     expires_in=int(tokens.access_ttl.total_seconds()))


async def _failures_since(session: AsyncSession, key: str, since: datetime) -> int:
    count = await session.scalar(select(func.count()).select_from(LoginFailure)
                                 .where(LoginFailure.key == key, LoginFailure.at >= since))
    return int(count or 0)


async def login(db: Database, settings: HubSettings, tokens: Tokens, email: str, password: str,
                client_ip: str) -> TokenPair:
    """Check email + password (rate limited per account and IP) and start a token family."""
    email = normalize_email(email)
    account_key, ip_key = f"account:{email}", f"ip:{client_ip}"
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    async with db.system() as session:
        account_failures = await _failures_since(session, account_key, since)
        ip_failures = await _failures_since(session, ip_key, since)
    if (account_failures >= settings.login_max_failures_per_account
            or ip_failures >= settings.login_max_failures_per_ip):
        raise TooManyRequests("too many failed logins; try again later",
                              details={"retry_after_seconds": settings.login_window_seconds})
    async with db.system() as session:
        user = await session.scalar(select(User).where(User.email == email))
        tenant_active = bool(user and await session.scalar(
            select(Tenant.active).where(Tenant.id == user.tenant_id)))
    stored_hash = user.password_hash if user is not None else _DUMMY_HASH
    password_ok = await asyncio.to_thread(verify_password, stored_hash, password)
    if user is None or not password_ok or not user.active or not tenant_active:
        async with db.system() as session:
            session.add_all([LoginFailure(key=account_key), LoginFailure(key=ip_key)])
        log.info("login failed", extra={"tenant_id": user.tenant_id if user else None})
        raise Unauthorized("wrong email or password")
    async with db.system() as session:
        await session.execute(delete(LoginFailure).where(LoginFailure.key == account_key))
        user = await session.get(User, user.id)
        assert user is not None
        pair = await _issue_pair(session, tokens, user, family_id=new_id())
    log.info("login", extra={"user_id": user.id, "tenant_id": user.tenant_id})
    return pair


async def refresh(db: Database, tokens: Tokens, refresh_token: str) -> TokenPair:
    """Rotate a refresh token; a reused one revokes its whole family."""
    now = utcnow()
    token_digest = digest(refresh_token)
    reused_family: str | None = None
    async with db.system() as session:
        stmt = select(RefreshToken).where(RefreshToken.token_digest == token_digest)
        if db.is_postgres:
            stmt = stmt.with_for_update()  # two concurrent uses: the second sees used_at
        row = await session.scalar(stmt)
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise Unauthorized("refresh token is invalid, expired or revoked")
        if row.used_at is not None:
            reused_family = row.family_id
            await session.execute(update(RefreshToken)
                                  .where(RefreshToken.family_id == row.family_id,
                                         RefreshToken.revoked_at.is_(None))
                                  .values(revoked_at=now))
        else:
            user = await session.get(User, row.user_id)
            if user is None or not user.active:
                raise Unauthorized("account is disabled")
            row.used_at = now
            pair = await _issue_pair(session, tokens, user, row.family_id)
    if reused_family is not None:
        # Raised after the block so the revocation above is committed.
        log.warning("refresh token reuse: family revoked", extra={"family_id": reused_family})
        raise Unauthorized("refresh token was already used; all sessions of this login are revoked")
    return pair


async def logout(db: Database, refresh_token: str) -> None:
    """Revoke the family of ``refresh_token`` (unknown tokens are ignored: nothing to do)."""
    async with db.system() as session:
        family = await session.scalar(select(RefreshToken.family_id)
                                      .where(RefreshToken.token_digest == digest(refresh_token)))
        if family is not None:
            await session.execute(update(RefreshToken)
                                  .where(RefreshToken.family_id == family,
                                         RefreshToken.revoked_at.is_(None))
                                  .values(revoked_at=utcnow()))


async def cleanup_auth(session: AsyncSession, settings: HubSettings) -> dict[str, int]:
    """Delete expired refresh tokens and login failures outside the window (scheduled job)."""
    now = utcnow()
    tokens = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
    failures = await session.execute(delete(LoginFailure).where(
        LoginFailure.at < now - timedelta(seconds=settings.login_window_seconds)))
    return {"refresh_tokens": _rowcount(tokens), "login_failures": _rowcount(failures)}


def _rowcount(result: Any) -> int:
    # DELETE results are CursorResults (typed as plain Result by AsyncSession.execute).
    return int(getattr(result, "rowcount", 0) or 0)


async def get_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found", details={"id": user_id})
    return user
