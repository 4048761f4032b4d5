"""Who is calling the hub and what they may do; login, refresh-token rotation, rate limiting.

* Users belong to one tenant and hold one role: owner, hq_admin, area_manager,
  outlet_manager, technician. Area managers, outlet managers and technicians are limited to
  the outlets assigned to them (``user_outlets``); owners and HQ admins see every outlet.
  An email is unique within its tenant; the same address may have accounts in two tenants.
* Login = email + password (argon2id), plus ``tenant_id`` only when one email has accounts
  in several tenants and the password does not tell them apart. It returns a short HS256
  access JWT (claims: sub, tid, role, email, outlets, ver) and an opaque refresh token,
  stored only as a SHA-256 digest.
* ``ver`` is the user's ``token_version``. Deactivation, a role, outlet or password change,
  logout and refresh-token reuse raise it; the first tenant transaction of every request
  compares it (``RequestDatabase``), so those events end the user's access at once, not
  when the 15-minute token expires.
* A refresh token works once: using it marks it used and issues the next token of the same
  *family* (one family per login). Presenting a used token again means it leaked, so the
  whole family is revoked. Logout revokes the family.
* Login attempts are counted in the database (shared by every replica) per (client IP,
  account) pair and per client IP. An attempt is *reserved* under a row lock before the
  password is checked, so parallel guesses cannot overrun the limit. Past the limit the key
  backs off exponentially (30 s, 60 s, ... up to 15 min) instead of locking the account: a
  guesser at one address never locks the owner out at another. ``unlock`` (``pos-hub users
  unlock``) clears the counters.

The permission table ``PERMISSIONS`` is the hub's whole RBAC policy (docs/api.md shows it;
a test keeps the two equal). Nothing here imports Litestar; ``hub.api.deps`` turns a bearer
token into a ``Principal``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import CallerNotCurrent, Database, TenantReader
from hub.models import ROLES, LoginAttempt, RefreshToken, Tenant, User, UserOutlet, utcnow
from hub.settings import HubSettings
from shared.auth import decode_jwt, digest, hash_password, issue_jwt, new_secret, verify_password
from shared.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from shared.ids import new_id

__all__ = [
    "PERMISSIONS",
    "SCOPED_ROLES",
    "Principal",
    "RequestDatabase",
    "SessionEnded",
    "TokenPair",
    "Tokens",
    "allowed",
    "bump_token_version",
    "check_current",
    "cleanup_auth",
    "hash_password_async",
    "login",
    "logout",
    "normalize_email",
    "outlets_of",
    "refresh",
    "require",
    "require_outlet",
    "unlock",
]

log = logging.getLogger("hub.identity")

# Roles limited to the outlets assigned to them.
SCOPED_ROLES = frozenset({"area_manager", "outlet_manager", "technician"})
_ALL = frozenset(ROLES)
_HQ = frozenset({"owner", "hq_admin"})
_MANAGERS = frozenset({"owner", "hq_admin", "area_manager", "outlet_manager"})

# permission -> the roles that hold it. Every check in the hub names a permission of this
# table (``require``/``allowed``); docs/api.md "Permissions" is the same table.
PERMISSIONS: dict[str, frozenset[str]] = {
    "tenant:read": _ALL,
    "tenant:update": frozenset({"owner"}),
    "brands:read": _ALL,
    "brands:write": _HQ,
    "outlets:read": _ALL,
    "outlets:write": _HQ,
    "users:read": _HQ,
    "users:write": _HQ,
    # grant the owner role, or change an owner's account
    "owners:manage": frozenset({"owner"}),
    "catalog:read": _MANAGERS,
    "catalog:write": _HQ,
    "catalog:publish": _HQ,
    "prices:write": frozenset({"owner", "hq_admin", "area_manager"}),
    "availability:write": _MANAGERS,
    "fleet:read": _ALL,
    "audit:read": _HQ,
    "reports:read": _MANAGERS,
    # enrollment codes, and listing / revoking the outlets' sync credentials
    "enrollment:manage": frozenset({"owner", "hq_admin", "technician"}),
    # retry or dismiss quarantined sync events
    "sync:resolve": _HQ,
    # outlet staff (PIN logins at the tills); scoped roles only for their own outlets
    "staff:read": _MANAGERS,
    "staff:write": _MANAGERS,
    # payment gateway credentials of outlets and brands (secrets never returned)
    "payments:configure": _HQ,
}


class SessionEnded(Unauthorized):
    """The access token was valid when issued, but its user was since deactivated, changed,
    logged out or caught reusing a refresh token."""

    code = "session_ended"


class Principal(Struct, kw_only=True, frozen=True):
    """An authenticated hub user, as stated by a verified access token."""

    user_id: str
    tenant_id: str
    role: str
    email: str = ""
    outlet_ids: tuple[str, ...] | None = None  # None = every outlet of the tenant
    token_version: int = 0  # the "ver" claim; compared with users.token_version
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


# ---------------------------------------------------------------- token versions


async def bump_token_version(session: AsyncSession, user_id: str) -> None:
    """End every access token of the user (they carry the old version)."""
    await session.execute(update(User).where(User.id == user_id)
                          .values(token_version=User.token_version + 1))


async def check_current(session: AsyncSession, principal: Principal) -> None:
    """Raise SessionEnded unless the principal's user is active with the token's version
    (one primary-key lookup, in the caller's tenant transaction)."""
    row = (await session.execute(select(User.token_version, User.active)
                                 .where(User.id == principal.user_id))).first()
    if row is None or not row.active or row.token_version != principal.token_version:
        raise SessionEnded("this session has ended (account changed or signed out): log in again")


class RequestDatabase(Database):
    """The app's ``Database`` as one request sees it (``hub.api.deps`` makes one per request).

    Once the request's bearer token is verified (``expect_caller``), the first tenant session
    the handler opens starts with ``check_current``: the token-version check costs one indexed
    lookup inside the transaction the handler opens anyway, and happens before the handler
    reads or writes anything. A handler that opens no tenant session calls ``check_caller``.
    """

    def __init__(self, db: Database) -> None:  # shares db's engine and session factory
        self.__dict__.update(db.__dict__)
        self._caller: Principal | None = None
        self._user_id: str | None = None
        self._writes = False

    def expect_caller(self, principal: Principal, writes: bool = False) -> None:
        """``writes``: the request may write (not GET/HEAD), so its user's reads stay on the
        primary for a while after it (hub.db.ReadRouting)."""
        self._caller, self._user_id, self._writes = principal, principal.user_id, writes

    @asynccontextmanager
    async def tenant(self, tenant_id: str, *, readonly: bool = False,
                     user_id: str | None = None) -> AsyncIterator[AsyncSession]:
        async with super().tenant(tenant_id, readonly=readonly,
                                  user_id=user_id or self._user_id) as session:
            caller, self._caller = self._caller, None
            if caller is not None:
                await check_current(session, caller)
            yield session
        if self._writes and not readonly and self._user_id is not None:
            self.reads.note_write(self._user_id)  # after the commit

    @asynccontextmanager
    async def reader(self, tenant_id: str, *, user_id: str | None = None,
                     caller: tuple[str, int] | None = None) -> AsyncIterator[TenantReader]:
        pending, self._caller = self._caller, None
        if pending is not None and caller is None:
            caller = (pending.user_id, pending.token_version)
        try:
            async with super().reader(tenant_id, user_id=user_id or self._user_id,
                                      caller=caller) as reader:
                yield reader
        except CallerNotCurrent:
            raise SessionEnded("this session has ended (account changed or signed out): "
                               "log in again") from None

    async def check_caller(self) -> None:
        if self._caller is not None:
            async with self.tenant(self._caller.tenant_id):
                pass


# ---------------------------------------------------------------- tokens


class TokenPair(Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = 0


@functools.cache
def _dummy_hash() -> str:
    """A real argon2 hash to verify against when the email is unknown, so response time does
    not reveal which emails have accounts. Made at the first login, not at import: hashing
    costs every process that imports this module (the hub, its CLI) tens of ms of CPU."""
    return hash_password(new_secret(nbytes=16))


class Tokens:
    """Issues and verifies access tokens with the hub's key and lifetimes."""

    def __init__(self, settings: HubSettings) -> None:
        self.key = settings.resolved_jwt_secret()
        self.issuer = settings.jwt_issuer
        self.access_ttl = timedelta(seconds=settings.access_ttl_seconds)
        self.refresh_ttl = timedelta(seconds=settings.refresh_ttl_seconds)
        self._verified: dict[str, tuple[Principal, float]] = {}

    def issue_access(self, user: User, outlet_ids: tuple[str, ...] | None) -> str:
        claims: dict[str, Any] = {"sub": user.id, "tid": user.tenant_id, "role": user.role,
                                  "email": user.email, "typ": "access",
                                  "ver": int(user.token_version or 0)}
        if outlet_ids is not None:
            claims["outlets"] = list(outlet_ids)
        return issue_jwt(claims, self.key, self.access_ttl, self.issuer)

    # Verified tokens kept until they expire: a dashboard polls with one token for its 15
    # minutes, and verifying it again each time is a tenth of a tenant read's CPU. Only what
    # the signature proves is kept; whether the user is still active with this token's
    # version is checked by every request in its own transaction (RequestDatabase).
    MAX_CACHED = 4096

    def principal(self, token: str) -> Principal:
        """Verify an access token and return who it speaks for (Unauthorized otherwise)."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if time.time() < expires:
                return principal
            del self._verified[token]
        principal, expires = self._verify(token)
        if len(self._verified) >= self.MAX_CACHED:
            now = time.time()
            self._verified = {k: v for k, v in self._verified.items() if v[1] > now}
            while len(self._verified) >= self.MAX_CACHED:  # all live: drop the oldest
                del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        claims = decode_jwt(token, self.key, self.issuer)
        version = claims.get("ver")
        if (claims.get("typ") != "access" or not claims.get("sub") or not claims.get("tid")
                or not isinstance(version, int) or isinstance(version, bool)):
            raise Unauthorized("invalid token")
        outlets = claims.get("outlets")
        principal = Principal(user_id=claims["sub"], tenant_id=claims["tid"], role=claims["role"],
                              email=claims.get("email", ""),
                              outlet_ids=tuple(outlets) if outlets is not None else None,
                              token_version=version)
        return principal, float(claims["exp"])


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


# ---------------------------------------------------------------- login attempts


def _backoff(failures: int, limit: int, settings: HubSettings) -> float:
    """Seconds a key must wait after its last counted attempt (0 below the limit)."""
    if failures < limit:
        return 0.0
    steps = min(failures - limit, 30)  # 2**30 s is far past any cap
    return float(min(settings.login_backoff_base_seconds * 2 ** steps,
                     settings.login_backoff_max_seconds))


def _forget_after(settings: HubSettings) -> timedelta:
    """A key quiet for this long (after its backoff) starts again from zero."""
    return timedelta(seconds=settings.login_window_seconds)


async def _reserve_attempt(db: Database, settings: HubSettings, keys: dict[str, int],
                           now: datetime) -> None:
    """Count one attempt against every key (key -> its limit), or raise TooManyRequests when
    one of them is backing off. Rows are locked in key order, so replicas and parallel
    requests count exactly; a refused attempt changes nothing (the transaction rolls back)."""
    ordered = sorted(keys)
    async with db.system() as session:
        insert = pg_insert if db.is_postgres else sqlite_insert
        await session.execute(insert(LoginAttempt).values(
            [{"key": key, "failures": 0, "window_start": now, "last_at": now} for key in ordered]
        ).on_conflict_do_nothing(index_elements=["key"]))
        rows = list(await session.scalars(select(LoginAttempt).where(LoginAttempt.key.in_(ordered))
                                          .order_by(LoginAttempt.key).with_for_update()))
        wait = 0.0
        for row in rows:
            backoff = _backoff(row.failures, keys[row.key], settings)
            if row.failures and now >= row.last_at + timedelta(seconds=backoff) + _forget_after(settings):
                row.failures, row.window_start = 0, now  # quiet long enough: start over
                continue
            wait = max(wait, (row.last_at + timedelta(seconds=backoff) - now).total_seconds())
        if wait > 0:
            retry = math.ceil(wait)
            raise TooManyRequests(f"too many failed logins; try again in {retry} s",
                                  details={"retry_after_seconds": retry})
        for row in rows:
            row.failures += 1
            row.last_at = now


async def _release_attempt(session: AsyncSession, pair_key: str, ip_key: str) -> None:
    """A successful login: the pair starts over and the IP gets its attempt back."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.key == pair_key))
    await session.execute(update(LoginAttempt)
                          .where(LoginAttempt.key == ip_key, LoginAttempt.failures > 0)
                          .values(failures=LoginAttempt.failures - 1))


# At most this many accounts share one email across tenants in a login (each costs an argon2
# verification); every login verifies at least two hashes so the answer's timing does not
# tell whether another tenant has an account with this email.
_MAX_ACCOUNTS_PER_EMAIL = 4
_MIN_VERIFICATIONS = 2


async def login(db: Database, settings: HubSettings, tokens: Tokens, email: str, password: str,
                client_ip: str, tenant_id: str = "") -> TokenPair:
    """Check email + password (rate limited per IP and account pair, and per IP) and start a
    token family."""
    email = normalize_email(email)
    client_ip = client_ip[:64]
    pair_key, ip_key = f"pair:{client_ip}|{email}", f"ip:{client_ip}"
    now = utcnow()
    await _reserve_attempt(db, settings, {pair_key: settings.login_max_failures_per_account,
                                          ip_key: settings.login_max_failures_per_ip}, now)
    async with db.system() as session:
        stmt = (select(User, Tenant.active).join(Tenant, Tenant.id == User.tenant_id)
                .where(User.email == email).order_by(User.id).limit(_MAX_ACCOUNTS_PER_EMAIL))
        if tenant_id:
            stmt = stmt.where(User.tenant_id == tenant_id)
        candidates = [(user, bool(tenant_active)) for user, tenant_active
                      in (await session.execute(stmt)).all()]
    hashes = [user.password_hash for user, _ in candidates]
    hashes += [_dummy_hash()] * max(0, _MIN_VERIFICATIONS - len(hashes))
    results = await asyncio.gather(*(asyncio.to_thread(verify_password, stored, password)
                                     for stored in hashes))
    matches = [user for (user, tenant_active), ok in zip(candidates, results, strict=False)
               if ok and user.active and tenant_active]
    if not matches:
        log.info("login failed", extra={"tenant_id": candidates[0][0].tenant_id
                                        if len(candidates) == 1 else None})
        raise Unauthorized("wrong email or password")
    async with db.system() as session:
        await _release_attempt(session, pair_key, ip_key)
        user = await session.get(User, matches[0].id)
        assert user is not None
        pair = await _issue_pair(session, tokens, user, family_id=new_id()) if len(matches) == 1 else None
    if pair is None:
        # Only someone holding the password of both accounts gets this far.
        raise Conflict("this email has accounts in several tenants: sign in with tenant_id",
                       details={"tenant_ids": sorted(user.tenant_id for user in matches)})
    log.info("login", extra={"user_id": user.id, "tenant_id": user.tenant_id})
    return pair


async def unlock(db: Database, email: str | None = None, ip: str | None = None) -> int:
    """Clear the login counters of an account (every client IP) and/or of a client IP;
    returns how many were cleared (``pos-hub users unlock``)."""
    conditions = []
    if email:
        email = normalize_email(email)
        conditions.append(LoginAttempt.key.startswith("pair:")
                          & LoginAttempt.key.endswith(f"|{email}", autoescape=True))
    if ip:
        conditions.append(LoginAttempt.key == f"ip:{ip}")
        conditions.append(LoginAttempt.key.startswith(f"pair:{ip}|", autoescape=True))
    if not conditions:
        raise ValueError("give an email, an IP address or both")
    async with db.system() as session:
        result = await session.execute(delete(LoginAttempt).where(or_(*conditions)))
    return _rowcount(result)


# ---------------------------------------------------------------- refresh, logout


async def refresh(db: Database, tokens: Tokens, refresh_token: str) -> TokenPair:
    """Rotate a refresh token; a reused one revokes its whole family and ends the user's
    access tokens."""
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
            # Whoever holds the leaked family may hold its access token too.
            await bump_token_version(session, row.user_id)
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
    """Revoke the family of ``refresh_token`` and end the user's access tokens (unknown
    tokens are ignored: nothing to do). Other logins of the user keep their refresh tokens
    and get a new access token with their next refresh."""
    async with db.system() as session:
        row = (await session.execute(select(RefreshToken.family_id, RefreshToken.user_id)
                                     .where(RefreshToken.token_digest == digest(refresh_token))
                                     )).first()
        if row is not None:
            await session.execute(update(RefreshToken)
                                  .where(RefreshToken.family_id == row.family_id,
                                         RefreshToken.revoked_at.is_(None))
                                  .values(revoked_at=utcnow()))
            await bump_token_version(session, row.user_id)


async def cleanup_auth(session: AsyncSession, settings: HubSettings) -> dict[str, int]:
    """Delete expired refresh tokens and login counters long quiet (scheduled job)."""
    now = utcnow()
    tokens = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
    quiet = timedelta(seconds=settings.login_window_seconds + settings.login_backoff_max_seconds)
    attempts = await session.execute(delete(LoginAttempt).where(LoginAttempt.last_at < now - quiet))
    return {"refresh_tokens": _rowcount(tokens), "login_attempts": _rowcount(attempts)}


def _rowcount(result: Any) -> int:
    # DELETE results are CursorResults (typed as plain Result by AsyncSession.execute).
    return int(getattr(result, "rowcount", 0) or 0)


async def get_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found", details={"id": user_id})
    return user
