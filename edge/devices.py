"""Paired devices, staff and PIN login: everything that turns a bearer token into a Principal.

* ``pair_device`` mints a device token (``dev_...``) and stores only its SHA-256 digest.
* Staff have a PIN (4-8 digits, 6+ for managers), stored only as a *verifier*: argon2id of
  the PIN under a salt (shared.pins, 64 MiB of memory per derivation). A login derives it
  once and finds the one row by it. Local staff (``pos-edge staff add``) use this box's own
  salt; staff managed by head office come down from the hub (``source = 'hub'``,
  ``replace_hub_staff``) with verifiers under the outlet's salt, which comes with them and is
  valid nowhere else. A PIN typed at the till is never sent anywhere. Local rows from before
  migration 0010 (HMAC lookup + argon2 hash) still log in and are rewritten on first login.
* ``login`` turns a PIN typed on a paired device into a short-lived staff JWT naming the staff
  member, their role and the device; the token alone then authorizes staff actions there.
* ``Authenticator`` resolves tokens on every request with a short in-memory cache, so the hot
  path costs a dict lookup; a revoked device, or a staff member deactivated (at the box or
  by head office's staff snapshot), stops working within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from msgspec import Struct

from edge.auth import Principal
from shared import pins
from shared.auth import decode_jwt, digest, issue_jwt, new_secret, verify_password
from shared.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from shared.ids import new_id
from shared.schemas import control_character

__all__ = [
    "CACHE_SECONDS",
    "DEVICE_ROLES",
    "JWT_ISSUER",
    "STAFF_ROLES",
    "Authenticator",
    "Device",
    "StaffMember",
    "add_staff",
    "find_staff_by_pin",
    "issue_staff_token",
    "list_devices",
    "list_staff",
    "pair_device",
    "replace_hub_staff",
    "revoke_device",
    "set_staff_active",
]

DEVICE_ROLES = ("kiosk", "cashier", "kds", "board", "admin")
STAFF_ROLES = ("cashier", "kitchen", "manager")
JWT_ISSUER = "fnbpos-edge"
TOKEN_PREFIX = "dev_"
CACHE_SECONDS = 5.0
_VERIFIER = re.compile(r"^[0-9a-f]{64}$")


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
    source: str = "local"  # "local" (made on this box) or "hub" (managed by head office)


# ---------------------------------------------------------------- devices


def pair_device(conn: sqlite3.Connection, name: str, role: str,
                now: datetime | None = None) -> tuple[Device, str]:
    """Register a device; return it and its token (shown once, never stored in clear)."""
    if role not in DEVICE_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(DEVICE_ROLES)}",
                               details={"role": role})
    name = name.strip()
    if not name or len(name) > 100 or control_character(name):
        raise ValidationFailed("a device needs a name of 1-100 characters, no control characters")
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
    """The HMAC lookup of rows from before migration 0010 ('legacy' local staff only)."""
    return hmac.new(pepper.encode(), pin.encode(), hashlib.sha256).hexdigest()


def _check_pin(pin: str, role: str) -> str:
    return pins.check_pin(pin, role)


def _derive(conn: sqlite3.Connection, source: str, pin: str) -> str | None:
    """The verifier of ``pin`` under ``source``'s salt and cost (None: no salt for it yet)."""
    row = conn.execute("SELECT salt, kdf FROM pin_kdf WHERE source = ?", (source,)).fetchone()
    if row is None or not row["salt"]:
        return None
    return pins.derive(pin, row["salt"], pins.parse_kdf(row["kdf"]))


def _has_active(conn: sqlite3.Connection, source: str, scheme: str) -> bool:
    return conn.execute("SELECT 1 FROM staff WHERE active = 1 AND source = ? AND pin_scheme = ?"
                        " LIMIT 1", (source, scheme)).fetchone() is not None


def _by_verifier(conn: sqlite3.Connection, source: str, pin: str) -> sqlite3.Row | None:
    """The active ``source`` staff row whose verifier is the PIN's (one slow derivation,
    skipped when there is no such staff at all)."""
    if not _has_active(conn, source, "verifier"):
        return None
    verifier = _derive(conn, source, pin)
    if verifier is None:
        return None
    return conn.execute(
        "SELECT id, name, role, source FROM staff WHERE active = 1 AND source = ?"
        " AND pin_scheme = 'verifier' AND pin_lookup = ?", (source, verifier)).fetchone()


def _by_legacy_lookup(conn: sqlite3.Connection, pin: str, pepper: str) -> sqlite3.Row | None:
    if not _has_active(conn, "local", "legacy"):
        return None
    row = conn.execute(
        "SELECT id, name, role, source, pin_hash FROM staff WHERE active = 1 AND source = 'local'"
        " AND pin_scheme = 'legacy' AND pin_lookup = ?", (_pin_lookup(pin, pepper),)).fetchone()
    return row if row is not None and row["pin_hash"] and verify_password(row["pin_hash"], pin) else None


def _member(row: sqlite3.Row) -> StaffMember:
    return StaffMember(id=row["id"], name=row["name"], role=row["role"], source=row["source"])


def add_staff(conn: sqlite3.Connection, name: str, role: str, pin: str, pepper: str,
              now: datetime | None = None) -> StaffMember:
    """Add a local staff member; their PIN (6+ digits for a manager) must not be in use by
    another active staff member. ``pepper`` is the box's, for rows made before 0010."""
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(STAFF_ROLES)}", details={"role": role})
    name = name.strip()
    if not name or len(name) > 100 or control_character(name):
        raise ValidationFailed("a staff member needs a name of 1-100 characters, no control characters")
    _check_pin(pin, role)
    if _by_verifier(conn, "hub", pin) or _by_legacy_lookup(conn, pin, pepper):
        raise Conflict("this PIN is already used by another staff member")
    verifier = _derive(conn, "local", pin)
    if verifier is None:
        raise ValidationFailed("this box has no PIN salt (run the migrations)")
    if conn.execute("SELECT 1 FROM staff WHERE active = 1 AND source = 'local' AND pin_lookup = ?",
                    (verifier,)).fetchone():
        raise Conflict("this PIN is already used by another staff member")
    now = now or datetime.now(UTC)
    member = StaffMember(id=new_id(), name=name, role=role)
    conn.execute(
        "INSERT INTO staff (id, name, role, pin_hash, pin_lookup, pin_scheme, active, created_at,"
        " updated_at) VALUES (?, ?, ?, '', ?, 'verifier', 1, ?, ?)",
        (member.id, name, role, verifier, now.isoformat(), now.isoformat()))
    return member


def list_staff(conn: sqlite3.Connection) -> list[StaffMember]:
    return [StaffMember(id=r["id"], name=r["name"], role=r["role"], active=bool(r["active"]),
                        source=r["source"])
            for r in conn.execute("SELECT id, name, role, active, source FROM staff ORDER BY name")]


def set_staff_active(conn: sqlite3.Connection, staff_id: str, active: bool) -> None:
    row = conn.execute("SELECT source FROM staff WHERE id = ?", (staff_id,)).fetchone()
    if row is None:
        raise NotFound("no such staff member", details={"staff_id": staff_id})
    if row["source"] == "hub":
        # The next staff snapshot would undo it: head office owns these people.
        raise Conflict("this staff member is managed by head office: change them at the hub",
                       details={"staff_id": staff_id})
    conn.execute("UPDATE staff SET active = ?, updated_at = ? WHERE id = ?",
                 (int(active), datetime.now(UTC).isoformat(), staff_id))


def find_staff_by_pin(conn: sqlite3.Connection, pin: str, pepper: str) -> StaffMember | None:
    """The active staff member with this PIN: hub staff first (head office's assignment wins
    a shared PIN), then local staff; one argon2id derivation per kind of staff present.

    A local row from before migration 0010 is found by its HMAC lookup under the box's
    ``pepper`` and rewritten as a verifier row on its first login (when ``conn`` may write).
    """
    if not pins.is_pin(pin):
        return None
    for source in ("hub", "local"):
        row = _by_verifier(conn, source, pin)
        if row is not None:
            return _member(row)
    row = _by_legacy_lookup(conn, pin, pepper)
    if row is None:
        return None
    verifier = _derive(conn, "local", pin)
    if verifier is not None:
        try:
            conn.execute("UPDATE staff SET pin_hash = '', pin_lookup = ?, pin_scheme = 'verifier',"
                         " updated_at = ? WHERE id = ? AND pin_scheme = 'legacy'",
                         (verifier, datetime.now(UTC).isoformat(), row["id"]))
        except sqlite3.Error:
            pass  # a read-only connection: rewritten at a later login
    return _member(row)


def replace_hub_staff(conn: sqlite3.Connection, staff: list[tuple[str, str, str, str]],
                      salt: str, kdf: str, now: datetime | None = None) -> int:
    """Make the hub-managed staff exactly ``staff`` — (id, name, role, verifier) rows whose
    verifiers are under the outlet's ``salt`` and ``kdf`` — in the caller's transaction;
    return how many are active.

    Hub staff not in the list can no longer log in here: they stay as inactive rows without
    PIN material (orders and shifts keep naming them). Local staff are never touched. A
    record without a verifier (from a hub before H2) is kept but cannot log in.
    """
    stamp = (now or datetime.now(UTC)).isoformat()
    for _, _, role, verifier in staff:
        if role not in STAFF_ROLES:
            raise ValidationFailed(f"unknown staff role {role!r} from the hub", details={"role": role})
        if verifier and not _VERIFIER.match(verifier):
            raise ValidationFailed("a PIN verifier from the hub is not 64 hex characters")
    if salt or kdf:
        pins.check_salt(salt)
        pins.parse_kdf(kdf)  # refuse a cost this box must not pay before anything changes
    conn.execute("UPDATE staff SET active = 0, pin_hash = '', pin_lookup = '', pin_scheme = 'verifier',"
                 " updated_at = ? WHERE source = 'hub' AND active = 1", (stamp,))
    for staff_id, name, role, verifier in staff:
        conn.execute(
            "INSERT INTO staff (id, name, role, pin_hash, pin_lookup, pin_scheme, active, created_at,"
            " updated_at, source) VALUES (?, ?, ?, '', ?, 'verifier', 1, ?, ?, 'hub')"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,"
            " pin_hash = '', pin_lookup = excluded.pin_lookup, pin_scheme = 'verifier', active = 1,"
            " updated_at = excluded.updated_at WHERE staff.source = 'hub'",
            (staff_id, name, role, verifier or f"none:{staff_id}", stamp, stamp))
    if salt:
        conn.execute("INSERT INTO pin_kdf (source, salt, kdf, updated_at) VALUES ('hub', ?, ?, ?)"
                     " ON CONFLICT (source) DO UPDATE SET salt = excluded.salt, kdf = excluded.kdf,"
                     " updated_at = excluded.updated_at", (salt, kdf, stamp))
    else:
        conn.execute("DELETE FROM pin_kdf WHERE source = 'hub'")
    return len(staff)


def issue_staff_token(device: Principal, staff: StaffMember, secret: str,
                      ttl: timedelta) -> str:
    """A staff JWT bound to the device it was issued on."""
    claims = {"sub": staff.id, "role": staff.role, "name": staff.name, "dev": device.device_id,
              "drole": device.device_role, "dname": device.device_name}
    return issue_jwt(claims, secret, ttl, JWT_ISSUER)


# ---------------------------------------------------------------- request authentication


class Authenticator:
    """Resolves bearer tokens to principals: device tokens by digest, staff JWTs by signature."""

    def __init__(self, read: Any, jwt_secret: str) -> None:
        self._read = read  # read(fn) -> fn(conn) on a read connection
        self._secret = jwt_secret
        self._devices: dict[str, tuple[Principal | None, float]] = {}  # digest -> cached
        self._active: dict[str, tuple[bool, float]] = {}  # device id -> still paired?
        self._staff: dict[str, tuple[bool, float]] = {}  # staff id -> still active?
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
        if not self._staff_active(principal.staff_id or ""):
            # deactivated (at the box, or by head office in the last staff snapshot)
            raise Unauthorized("this staff member can no longer log in here")
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

    def _staff_active(self, staff_id: str) -> bool:
        now = time.monotonic()
        cached = self._staff.get(staff_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        row = self._read(lambda c: c.execute(
            "SELECT 1 FROM staff WHERE id = ? AND active = 1", (staff_id,)).fetchone())
        with self._lock:
            if len(self._staff) > 10_000:
                self._staff.clear()
            self._staff[staff_id] = (row is not None, now + CACHE_SECONDS)
        return row is not None

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
