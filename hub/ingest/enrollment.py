"""Enrollment: one-time codes that turn a blank outlet box into a known, credentialed edge.

* A hub user holding ``enrollment:manage`` (owner, hq_admin, technician; see
  ``hub.identity.PERMISSIONS``) creates a code for one active outlet of their tenant: 16
  characters from an unambiguous alphabet (80 bits), shown once, stored as a SHA-256 digest,
  single use, expiring (default 24 h).
* The box redeems it with a *device key* it minted and kept before asking. Redemption marks
  the code used and issues a sync credential (``fpc_...``, stored as a digest). If the reply
  is lost, the same box (same device key) may redeem the same code again, while the code is
  still valid and its credential is not revoked: it gets a fresh credential and the unseen
  one is revoked. Any other key gets "code already used"; once an admin revokes the
  credential, its code can never mint another one (``code_revoked``).
* A credential can be revoked; the revoked box's pushes are refused with 401
  ``credential_revoked`` (the box keeps selling offline and keeps its outbox). Revocation
  locks the outlet's codes first, so a redemption running at the same moment either finishes
  before (and its credential is revoked too) or sees the revocation.
* A deactivated outlet redeems nothing, and its boxes' pushes and pulls are refused with 403
  ``outlet_inactive`` (``authenticate``) until it is reactivated.
* ``authenticate`` resolves the bearer credential of a push or pull to the outlet it was
  issued for (``SyncIdentity``): every sync request after enrollment starts there.
* Redemption is audited with the box as actor (``device:<device key digest prefix>``) and
  the client IP.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.db import Database
from hub.identity import Principal, require, require_outlet
from hub.models import OrderRow, Outlet, Tenant
from hub.sync_models import EnrollmentCode, SyncCredential, SyncCursor
from shared.auth import digest, new_secret
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, PosError, Unauthorized
from sync.protocol import EnrollRequest, EnrollResponse

__all__ = [
    "DEFAULT_TTL",
    "CodeExpired",
    "CodeRevoked",
    "CodeUsed",
    "CredentialRevoked",
    "InvalidCode",
    "IssuedCode",
    "KnownCredentials",
    "OutletInactive",
    "SyncIdentity",
    "authenticate",
    "check_credential",
    "create_code",
    "list_credentials",
    "normalize_code",
    "redeem",
    "revoke_outlet_credentials",
]

DEFAULT_TTL = timedelta(hours=24)
MAX_TTL = timedelta(days=7)
# Crockford-like alphabet without 0/O, 1/I/L, U: easy to read aloud and type on a box.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LEN = 16


class InvalidCode(PosError):
    status = 404
    code = "invalid_code"


class CodeUsed(Conflict):
    code = "code_used"


class CodeExpired(PosError):
    status = 410
    code = "code_expired"


class CodeRevoked(PosError):
    """The credential this code minted was revoked: the code is spent for good."""

    status = 410
    code = "code_revoked"


class OutletInactive(Forbidden):
    """The outlet was deactivated at head office: no enrollment, no push, no pull."""

    code = "outlet_inactive"


class WrongOutlet(Conflict):
    code = "wrong_outlet"


class CredentialRevoked(Unauthorized):
    code = "credential_revoked"


@dataclass(frozen=True)
class SyncIdentity:
    """The outlet a verified sync credential belongs to."""

    tenant_id: str
    outlet_id: str
    credential_id: str


class IssuedCode:
    def __init__(self, code: str, row: EnrollmentCode) -> None:
        self.code = code
        self.id = row.id
        self.outlet_id = row.outlet_id
        self.expires_at = row.expires_at


def normalize_code(raw: str) -> str:
    """Codes are shown as XXXX-XXXX-XXXX-XXXX; accept any case, spaces and dashes."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def _format(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LEN))


async def create_code(session: AsyncSession, principal: Principal | None, outlet_id: str,
                      ttl: timedelta = DEFAULT_TTL, tenant_id: str | None = None) -> IssuedCode:
    """Create a code for ``outlet_id`` in the session's tenant (principal None = the CLI)."""
    if principal is not None:
        require(principal, "enrollment:manage")
        require_outlet(principal, outlet_id)
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise BadRequest(f"an enrollment code lives between 1 minute and {MAX_TTL.days} days")
    outlet = (await session.execute(select(Outlet).where(Outlet.id == outlet_id))).scalar_one_or_none()
    if outlet is None or (tenant_id is not None and outlet.tenant_id != tenant_id):
        raise NotFound("outlet not found", details={"outlet_id": outlet_id})
    if not outlet.active:
        raise Conflict("outlet is not active", details={"outlet_id": outlet_id})
    code = _new_code()
    now = datetime.now(UTC)
    row = EnrollmentCode(tenant_id=outlet.tenant_id, outlet_id=outlet.id, code_digest=digest(code),
                         created_by=principal.user_id if principal else None, created_at=now,
                         expires_at=now + ttl)
    session.add(row)
    await session.flush()
    audit.record(session, principal, "enrollment_code.create", "outlet", outlet.id, None,
                 {"code_id": row.id, "expires_at": row.expires_at.isoformat()},
                 tenant_id=outlet.tenant_id)
    return IssuedCode(_format(code), row)


async def redeem(db: Database, request: EnrollRequest, client_ip: str = "") -> EnrollResponse:
    """Exchange a code for the outlet identity and a sync credential (see module docstring)."""
    code = normalize_code(request.code)
    if len(code) != _CODE_LEN or len(request.device_key) < 16:
        raise InvalidCode("this enrollment code is not valid")
    now = datetime.now(UTC)
    key_digest = digest(request.device_key)
    # No tenant is known before the code is found: look it up in a system session, locked so
    # two redemptions of one code cannot both win.
    async with db.system() as session:
        row = (await session.execute(
            select(EnrollmentCode).where(EnrollmentCode.code_digest == digest(code)).with_for_update()
        )).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            raise InvalidCode("this enrollment code is not valid")
        if row.redeemed_at is not None:
            if row.device_key_digest != key_digest:
                raise CodeUsed("this enrollment code was already used by another box",
                               details={"redeemed_at": row.redeemed_at.isoformat()})
            # The same box again: its earlier reply was lost. Replace the credential it never
            # saw, but only while the code is valid and nobody revoked that credential.
            if row.expires_at <= now:
                raise CodeExpired("this enrollment code has expired: ask for a new one",
                                  details={"expired_at": row.expires_at.isoformat()})
            if row.credential_id:
                minted = (await session.execute(
                    select(SyncCredential).where(SyncCredential.id == row.credential_id)
                    .with_for_update())).scalar_one_or_none()
                if minted is None or minted.revoked_at is not None:
                    raise CodeRevoked("the credential of this enrollment code was revoked: "
                                      "ask for a new code")
                minted.revoked_at = now
        elif row.expires_at <= now:
            raise CodeExpired("this enrollment code has expired: ask for a new one",
                              details={"expired_at": row.expires_at.isoformat()})
        if request.outlet_id and request.outlet_id != row.outlet_id:  # a takeover's backup
            raise WrongOutlet("this enrollment code is for another outlet than the box expects",
                              details={"expected_outlet_id": request.outlet_id})
        outlet = (await session.execute(select(Outlet).where(Outlet.id == row.outlet_id))).scalar_one()
        if not outlet.active:
            raise OutletInactive("this outlet is deactivated at head office",
                                 details={"outlet_id": outlet.id})
        tenant = (await session.execute(select(Tenant).where(Tenant.id == row.tenant_id))).scalar_one()
        secret = new_secret("fpc_")
        credential = SyncCredential(tenant_id=row.tenant_id, outlet_id=row.outlet_id,
                                    secret_digest=digest(secret), enrollment_code_id=row.id,
                                    device_key_digest=key_digest, hostname=request.hostname[:200],
                                    created_at=now)
        session.add(credential)
        await session.flush()
        revoked = 0
        if request.replace:  # a box replacing a dead one: the old box's credentials stop working
            revoked = (await session.execute(
                update(SyncCredential).where(SyncCredential.outlet_id == row.outlet_id,
                                             SyncCredential.id != credential.id,
                                             SyncCredential.revoked_at.is_(None))
                .values(revoked_at=now))).rowcount or 0
        journal_seq = await session.scalar(select(func.max(SyncCursor.last_seq))
                                           .where(SyncCursor.outlet_id == row.outlet_id))
        day, last_number = (await _last_order_number(session, outlet, now)) if request.replace \
            else ("", 0)
        first = row.redeemed_at is None
        row.redeemed_at = row.redeemed_at or now
        row.device_key_digest = key_digest
        row.credential_id = credential.id
        audit.record(session, None, "enrollment_code.redeem" if first else "enrollment_code.re_redeem",
                     "outlet", outlet.id, None,
                     {"code_id": row.id, "credential_id": credential.id, "hostname": request.hostname,
                      "replace": request.replace, "revoked": revoked},
                     tenant_id=row.tenant_id, ip=client_ip, actor=f"device:{key_digest[:16]}")
        return EnrollResponse(tenant_id=row.tenant_id, outlet_id=outlet.id, outlet_name=outlet.name,
                              timezone=outlet.timezone, currency=outlet.currency or tenant.currency,
                              credential_id=credential.id, credential=secret, hub_time=now,
                              journal_seq=int(journal_seq or 0), revoked=revoked,
                              last_order_number=last_number, business_day=day)


async def _last_order_number(session: AsyncSession, outlet: Outlet, now: datetime
                             ) -> tuple[str, int]:
    """The outlet's current business day (its timezone and start hour, as the edge reckons
    it) and the highest queue number the hub holds of that day (0 when none)."""
    hour = (outlet.settings or {}).get("business_day_start_hour")
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        hour = 0
    try:
        zone = ZoneInfo(outlet.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    day = (now.astimezone(zone) - timedelta(hours=hour)).date()
    highest = await session.scalar(select(func.max(OrderRow.number))
                                   .where(OrderRow.tenant_id == outlet.tenant_id,
                                          OrderRow.outlet_id == outlet.id,
                                          OrderRow.business_day == day))
    return day.isoformat(), int(highest or 0)


async def revoke_outlet_credentials(session: AsyncSession, principal: Principal | None,
                                    outlet_id: str, credential_id: str | None = None) -> int:
    """Revoke the outlet's active credentials (or one of them); returns how many."""
    if principal is not None:
        require(principal, "enrollment:manage")
        require_outlet(principal, outlet_id)
    await _require_outlet_exists(session, outlet_id)
    # Lock the outlet's codes as redeem does: a redemption in flight finishes first (and its
    # new credential is revoked below) or waits and then sees its credential revoked.
    await session.execute(select(EnrollmentCode.id).where(EnrollmentCode.outlet_id == outlet_id)
                          .with_for_update())
    now = datetime.now(UTC)
    stmt = (update(SyncCredential)
            .where(SyncCredential.outlet_id == outlet_id, SyncCredential.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by=principal.user_id if principal else None))
    if credential_id:
        stmt = stmt.where(SyncCredential.id == credential_id)
    result = await session.execute(stmt)
    count = result.rowcount or 0
    if count:
        outlet = (await session.execute(select(Outlet).where(Outlet.id == outlet_id))).scalar_one()
        audit.record(session, principal, "sync_credential.revoke", "outlet", outlet_id, None,
                     {"revoked": count, "credential_id": credential_id}, tenant_id=outlet.tenant_id)
    return count


async def _require_outlet_exists(session: AsyncSession, outlet_id: str) -> None:
    """404 for an outlet the session cannot see (another tenant's, under RLS, or none)."""
    found = await session.scalar(select(Outlet.id).where(Outlet.id == outlet_id))
    if found is None:
        raise NotFound("outlet not found", details={"outlet_id": outlet_id})


async def list_credentials(session: AsyncSession, principal: Principal,
                           outlet_id: str) -> list[SyncCredential]:
    """The outlet's sync credentials, newest first (revoked ones too)."""
    require(principal, "enrollment:manage")
    require_outlet(principal, outlet_id)
    await _require_outlet_exists(session, outlet_id)
    return list(await session.scalars(select(SyncCredential)
                                      .where(SyncCredential.outlet_id == outlet_id)
                                      .order_by(SyncCredential.created_at.desc())))


class KnownCredentials:
    """Which outlet each sync credential seen by this process belongs to (that never changes),
    so a push skips the credential lookup of ``authenticate``. Whether the credential is
    still valid (not revoked, its outlet active) is NOT remembered: the push checks it again
    in its own transaction (``check_credential``), so a revocation takes effect at once on
    every replica."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._known: dict[str, SyncIdentity] = {}

    def get(self, token: str | None) -> SyncIdentity | None:
        return self._known.get(digest(token)) if token else None

    def remember(self, token: str, who: SyncIdentity) -> None:
        if len(self._known) >= self.size:
            self._known.clear()  # bounded; the next pushes look themselves up again
        self._known[digest(token)] = who


def check_credential(who: SyncIdentity, revoked_at: datetime | None, outlet_active: bool) -> None:
    """Refuse a revoked credential or a deactivated outlet (as ``authenticate`` does)."""
    if revoked_at is not None:
        raise CredentialRevoked("this outlet's sync credential was revoked: re-enroll the box",
                                details={"outlet_id": who.outlet_id,
                                         "revoked_at": revoked_at.isoformat()})
    if not outlet_active:  # deactivated at head office
        raise OutletInactive("this outlet is deactivated at head office: its box keeps "
                             "selling offline and syncs again once it is reactivated",
                             details={"outlet_id": who.outlet_id})


# The valid credentials among several digests ($1), with the digest each matched.
_VALID_CREDENTIALS_SQL = (
    "SELECT c.id, c.tenant_id, c.outlet_id, c.secret_digest FROM sync_credentials c"
    " JOIN outlets o ON o.id = c.outlet_id AND o.tenant_id = c.tenant_id"
    " WHERE c.secret_digest = ANY($1::text[]) AND c.revoked_at IS NULL AND o.active")
_LOOKUPS_PER_STATEMENT = 1_000


class CredentialLookups:
    """A process's lookups of valid sync credentials on PostgreSQL, batched: the lookups
    asked for while one statement runs go together in the next, on one kept system
    connection. A fleet reconnecting to a restarted hub sends every outlet's first push at
    once; one lookup each queued for the system pool's few connections (about 65 ms each
    at the median with 200 at once)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: dict[str, list[asyncio.Future[SyncIdentity | None]]] = {}
        self._running: asyncio.Task[None] | None = None

    async def find(self, token_digest: str) -> SyncIdentity | None:
        """The outlet of a valid credential; ``None`` for any other (unknown, revoked, its
        outlet inactive)."""
        found: asyncio.Future[SyncIdentity | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(token_digest, []).append(found)
        if self._running is None:
            # its own context: its log lines carry no request's id
            self._running = asyncio.create_task(self._run(), context=contextvars.Context())
        return await asyncio.shield(found)

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = dict(itertools.islice(self._waiting.items(), _LOOKUPS_PER_STATEMENT))
                for token_digest in batch:
                    del self._waiting[token_digest]
                try:
                    async with self.db.system_statement() as system:
                        rows = await system.plain("fetch", _VALID_CREDENTIALS_SQL, list(batch))
                except Exception as exc:  # noqa: BLE001 - each caller sees the database's error
                    for waiters in batch.values():
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(exc)
                    continue
                known = {row[3]: SyncIdentity(row[1], row[2], row[0]) for row in rows}
                for token_digest, waiters in batch.items():
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(known.get(token_digest))
        finally:
            self._running = None


_lookups: WeakKeyDictionary[Database, CredentialLookups] = WeakKeyDictionary()


async def authenticate(db: Database, token: str | None) -> SyncIdentity:
    """Resolve a bearer sync credential to its outlet; refuse unknown and revoked ones."""
    if not token:
        raise Unauthorized("sync credential required")
    if db.is_postgres:
        # No ORM session for a valid credential (``CredentialLookups``); anything else is
        # looked up again below, to refuse it with its reason.
        lookups = _lookups.get(db)
        if lookups is None:
            lookups = _lookups[db] = CredentialLookups(db)
        who = await lookups.find(digest(token))
        if who is not None:
            return who
    async with db.system() as session:
        found = (await session.execute(
            select(SyncCredential, Outlet.active).join(Outlet, Outlet.id == SyncCredential.outlet_id)
            .where(SyncCredential.secret_digest == digest(token))
        )).first()
        if found is None:
            raise Unauthorized("unknown sync credential")
        credential, outlet_active = found
        who = SyncIdentity(credential.tenant_id, credential.outlet_id, credential.id)
        check_credential(who, credential.revoked_at, outlet_active)
        return who
