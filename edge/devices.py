"""Paired devices, staff and PIN login: everything that turns a bearer token into a Principal.

* ``pair_device`` mints a device token (``dev_...``) and stores only its SHA-256 digest.
* Staff have a PIN, stored as an argon2id hash plus an HMAC lookup key (under the box's pepper)
  so a login finds the one row to verify instead of trying every hash.
* ``login`` turns a PIN typed on a paired device into a short-lived staff JWT naming the staff
  member, their role and the device; the token alone then authorizes staff actions there.
* ``Authenticator`` resolves tokens on every request with a short in-memory cache, so the hot
  path costs a dict lookup; a revoked device stops working within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from msgspec import Struct

from edge.auth import Principal
from shared.auth import decode_jwt, digest, hash_password, issue_jwt, new_secret, verify_password
from shared.errors import Conflict, NotFound, TooManyRequests, Unauthorized, ValidationFailed
from shared.ids import new_id

__all__ = [
    "CACHE_SECONDS",
    "DEVICE_ROLES",
    "JWT_ISSUER",
    "STAFF_ROLES",
    "Authenticator",
    "Device",
    "LoginThrottle",
    "StaffMember",
    "add_staff",
    "find_staff_by_pin",
    "issue_staff_token",
    "list_devices",
    "list_staff",
    "pair_device",
    "revoke_device",
    "set_staff_active",
]

DEVICE_ROLES = ("kiosk", "cashier", "kds", "admin")
STAFF_ROLES = ("cashier", "kitchen", "manager")
JWT_ISSUER = "fnbpos-edge"
TOKEN_PREFIX = "dev_"
CACHE_SECONDS = 5.0


class Device(Struct, kw_only=True):
    id: str
    name: str
    role: str
    created_at: str
    last_seen_at: str | None = None
    revoked_at: str | None = None


class StaffMember(Struct, kw_only=True):
    id: str
    name: str
    role: str
    active: bool = True


# ---------------------------------------------------------------- devices


def pair_device(conn: sqlite3.Connection, name: str, role: str,
                now: datetime | None = None) -> tuple[Device, str]:
    """Register a device; return it and its token (shown once, never stored in clear)."""
    if role not in DEVICE_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(DEVICE_ROLES)}",
                               details={"role": role})
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("a device needs a name of 1-100 characters")
    now = now or datetime.now(UTC)
    token = new_secret(TOKEN_PREFIX)
    device = Device(id=new_id(), name=name, role=role, created_at=now.isoformat())
    conn.execute("INSERT INTO devices (id, name, role, token_digest, created_at) VALUES (?, ?, ?, ?, ?)",
                 (device.id, device.name, device.role, digest(token), device.created_at))
    return device, token


def revoke_device(conn: sqlite3.Connection, device_id: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    changed = conn.execute("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           (now.isoformat(), device_id)).rowcount
    if not changed:
        raise NotFound("no such active device", details={"device_id": device_id})


def list_devices(conn: sqlite3.Connection) -> list[Device]:
    return [Device(id=r["id"], name=r["name"], role=r["role"], created_at=r["created_at"],
                   last_seen_at=r["last_seen_at"], revoked_at=r["revoked_at"])
            for r in conn.execute("SELECT * FROM devices ORDER BY created_at")]


# ---------------------------------------------------------------- staff


def _pin_lookup(pin: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), pin.encode(), hashlib.sha256).hexdigest()


def _check_pin(pin: str) -> str:
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise ValidationFailed("a PIN is 4 to 8 digits")
    return pin


def add_staff(conn: sqlite3.Connection, name: str, role: str, pin: str, pepper: str,
              now: datetime | None = None) -> StaffMember:
    """Add a staff member; their PIN must not be in use by another active staff member."""
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(STAFF_ROLES)}", details={"role": role})
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("a staff member needs a name of 1-100 characters")
    lookup = _pin_lookup(_check_pin(pin), pepper)
    if conn.execute("SELECT 1 FROM staff WHERE pin_lookup = ? AND active = 1", (lookup,)).fetchone():
        raise Conflict("this PIN is already used by another staff member")
    now = now or datetime.now(UTC)
    member = StaffMember(id=new_id(), name=name, role=role)
    conn.execute(
        "INSERT INTO staff (id, name, role, pin_hash, pin_lookup, active, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
        (member.id, name, role, hash_password(pin), lookup, now.isoformat(), now.isoformat()))
    return member


def list_staff(conn: sqlite3.Connection) -> list[StaffMember]:
    return [StaffMember(id=r["id"], name=r["name"], role=r["role"], active=bool(r["active"]))
            for r in conn.execute("SELECT id, name, role, active FROM staff ORDER BY name")]


def set_staff_active(conn: sqlite3.Connection, staff_id: str, active: bool) -> None:
    changed = conn.execute("UPDATE staff SET active = ?, updated_at = ? WHERE id = ?",
                           (int(active), datetime.now(UTC).isoformat(), staff_id)).rowcount
    if not changed:
        raise NotFound("no such staff member", details={"staff_id": staff_id})


def find_staff_by_pin(conn: sqlite3.Connection, pin: str, pepper: str) -> StaffMember | None:
    """The active staff member with this PIN, verified against the argon2 hash."""
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        return None
    row = conn.execute("SELECT id, name, role, pin_hash FROM staff WHERE pin_lookup = ? AND active = 1",
                       (_pin_lookup(pin, pepper),)).fetchone()
    if row is None or not verify_password(row["pin_hash"], pin):
        return None
    return StaffMember(id=row["id"], name=row["name"], role=row["role"])


def issue_staff_token(device: Principal, staff: StaffMember, secret: str,
                      ttl: timedelta) -> str:
    """A staff JWT bound to the device it was issued on."""
    claims = {"sub": staff.id, "role": staff.role, "name": staff.name, "dev": device.device_id,
              "drole": device.device_role, "dname": device.device_name}
    return issue_jwt(claims, secret, ttl, JWT_ISSUER)


# ---------------------------------------------------------------- request authentication


class LoginThrottle:
    """Wrong PINs per device within a window; beyond the limit logins answer 429."""

    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def check(self, device_id: str) -> None:
        recent = self._recent(device_id)
        if len(recent) >= self.max_failures:
            retry = max(1, int(self.window - (time.monotonic() - recent[0])))
            raise TooManyRequests("too many wrong PINs on this device; wait and try again",
                                  details={"retry_after_seconds": retry})

    def failed(self, device_id: str) -> None:
        self._recent(device_id).append(time.monotonic())

    def succeeded(self, device_id: str) -> None:
        self._failures.pop(device_id, None)

    def _recent(self, device_id: str) -> deque[float]:
        found = self._failures.setdefault(device_id, deque())
        cutoff = time.monotonic() - self.window
        while found and found[0] < cutoff:
            found.popleft()
        return found


class Authenticator:
    """Resolves bearer tokens to principals: device tokens by digest, staff JWTs by signature."""

    def __init__(self, read: Any, jwt_secret: str) -> None:
        self._read = read  # read(fn) -> fn(conn) on a read connection
        self._secret = jwt_secret
        self._devices: dict[str, tuple[Principal | None, float]] = {}  # digest -> cached
        self._active: dict[str, tuple[bool, float]] = {}  # device id -> still paired?
        self._lock = threading.Lock()

    def resolve(self, token: str) -> Principal:
        if token.startswith(TOKEN_PREFIX):
            principal = self._device(digest(token))
            if principal is None:
                raise Unauthorized("unknown or revoked device token")
            return principal
        claims = decode_jwt(token, self._secret, JWT_ISSUER)
        try:
            principal = Principal(device_id=claims["dev"], device_role=claims["drole"],
                                  device_name=claims.get("dname", ""), staff_id=claims["sub"],
                                  staff_role=claims["role"], staff_name=claims.get("name", ""))
        except KeyError as exc:
            raise Unauthorized("invalid token") from exc
        if not self._device_active(principal.device_id):
            raise Unauthorized("the device this staff token was issued on is no longer paired")
        return principal

    def _device(self, token_digest: str) -> Principal | None:
        now = time.monotonic()
        cached = self._devices.get(token_digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        row = self._read(lambda c: c.execute(
            "SELECT id, name, role FROM devices WHERE token_digest = ? AND revoked_at IS NULL",
            (token_digest,)).fetchone())
        principal = (Principal(device_id=row["id"], device_role=row["role"], device_name=row["name"])
                     if row else None)
        with self._lock:
            if len(self._devices) > 10_000:  # bound memory against token spraying
                self._devices.clear()
            self._devices[token_digest] = (principal, now + CACHE_SECONDS)
        return principal

    def _device_active(self, device_id: str) -> bool:
        now = time.monotonic()
        cached = self._active.get(device_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        row = self._read(lambda c: c.execute(
            "SELECT 1 FROM devices WHERE id = ? AND revoked_at IS NULL", (device_id,)).fetchone())
        with self._lock:
            if len(self._active) > 10_000:
                self._active.clear()
            self._active[device_id] = (row is not None, now + CACHE_SECONDS)
        return row is not None
