"""Staff PIN verifiers: the one slow function hub and edge both compute from a typed PIN.

A till must check PINs with the internet down, so every outlet box holds *some* verifier of
the PINs that work there. This module makes that verifier as expensive as we can afford and
different everywhere (docs/security.md has the threat model and the measured costs):

* ``derive(pin, salt, kdf)`` is argon2id's raw output (32 bytes, hex) of the PIN under a salt.
  The salt is per outlet (hub staff) or per box (local staff), so a verifier copied from one
  box is worth nothing at another and every box must be brute-forced on its own.
* ``PIN_KDF`` is the cost: 64 MiB of memory and 3 passes (about 0.13 s on one core of the
  reference machine). The parameters travel with every staff snapshot as an encoded string
  (``argon2id$v=19$m=65536,t=3,p=1``) so they can be raised later; ``parse_kdf`` refuses
  values outside ``KDF_BOUNDS`` so a bad snapshot cannot make a box allocate gigabytes.
* At most ``MAX_CONCURRENT`` derivations run at once per process (each holds its memory
  cost): 300 parallel logins queue, they do not exhaust the box's memory.
* ``check_pin(pin, role)``: 4-8 digits, 6+ for managers (a manager's PIN voids and refunds).

Because a verifier is also the lookup key (a login derives once and finds the one staff row
by it), PINs must be unique among the staff who share a salt; hub and edge enforce that.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from shared.errors import Unavailable, ValidationFailed

__all__ = [
    "KDF_BOUNDS",
    "MANAGER_MIN_DIGITS",
    "MAX_CONCURRENT",
    "PIN_KDF",
    "Kdf",
    "check_pin",
    "check_salt",
    "derive",
    "is_pin",
    "parse_kdf",
]

MANAGER_MIN_DIGITS = 6
MAX_CONCURRENT = 2
_SLOT_WAIT_SECONDS = 30.0
_SALT_HEX = re.compile(r"^[0-9a-f]{32,64}$")
_KDF_TEXT = re.compile(r"^argon2id\$v=19\$m=([0-9]{1,7}),t=([0-9]{1,2}),p=([0-9]{1,2})$")


@dataclass(frozen=True)
class Kdf:
    """argon2id cost: memory in KiB, passes, lanes."""

    memory_kib: int
    time_cost: int
    parallelism: int = 1

    def encode(self) -> str:
        return f"argon2id$v=19$m={self.memory_kib},t={self.time_cost},p={self.parallelism}"


PIN_KDF = Kdf(memory_kib=64 * 1024, time_cost=3, parallelism=1)
# What a box accepts from a snapshot: at least argon2's recommended floor, at most 256 MiB.
KDF_BOUNDS = {"memory_kib": (8 * 1024, 256 * 1024), "time_cost": (1, 10), "parallelism": (1, 4)}

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


def parse_kdf(text: str) -> Kdf:
    """The Kdf an encoded string names; ValidationFailed if malformed or out of bounds."""
    found = _KDF_TEXT.match(text)
    if found is None:
        raise ValidationFailed("unknown PIN key derivation", details={"pin_kdf": text[:80]})
    kdf = Kdf(memory_kib=int(found[1]), time_cost=int(found[2]), parallelism=int(found[3]))
    for name, (low, high) in KDF_BOUNDS.items():
        if not low <= getattr(kdf, name) <= high:
            raise ValidationFailed(f"PIN key derivation {name} out of bounds ({low}-{high})",
                                   details={"pin_kdf": text})
    return kdf


def check_salt(salt: str) -> bytes:
    """A salt as bytes: 16-32 random bytes written as lowercase hex."""
    if not _SALT_HEX.match(salt) or len(salt) % 2:
        raise ValidationFailed("a PIN salt is 32-64 hex characters")
    return bytes.fromhex(salt)


def derive(pin: str, salt: str, kdf: Kdf, wait: float = _SLOT_WAIT_SECONDS) -> str:
    """argon2id(pin, salt) as 64 hex characters. Slow on purpose; waits up to ``wait``
    seconds for a free slot, then raises Unavailable (503)."""
    salt_bytes = check_salt(salt)
    if not _slots.acquire(timeout=wait):
        raise Unavailable("too many PIN checks at once; try again")
    try:
        return hash_secret_raw(pin.encode(), salt_bytes, time_cost=kdf.time_cost,
                               memory_cost=kdf.memory_kib, parallelism=kdf.parallelism,
                               hash_len=32, type=Type.ID).hex()
    finally:
        _slots.release()


def is_pin(pin: str) -> bool:
    """4-8 ASCII digits (any role)."""
    return 4 <= len(pin) <= 8 and pin.isascii() and pin.isdigit()


def check_pin(pin: str, role: str) -> str:
    """``pin`` if it is a valid PIN for ``role``; ValidationFailed (400) otherwise."""
    if not is_pin(pin):
        raise ValidationFailed("a PIN is 4 to 8 digits", details={"field": "pin"})
    if role == "manager" and len(pin) < MANAGER_MIN_DIGITS:
        raise ValidationFailed(f"a manager's PIN has at least {MANAGER_MIN_DIGITS} digits",
                               details={"field": "pin"})
    return pin
