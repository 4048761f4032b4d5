"""The hub's PIN secrets: sealing staff PINs, their uniqueness lookups, and new PINs.

The hub must know each staff PIN later (an outlet opened next year needs a verifier of every
``all_outlets`` manager's PIN, computed under *its* salt), so it keeps the PIN itself, sealed:

* ``PinVault.seal`` encrypts a PIN with AES-256-GCM under a key derived from the hub's PIN
  key (``POS_HUB_PIN_KEY``, hub.settings), a setting that is never in the database, never in
  a feed. The row's tenant, id and PIN version are the associated data, so a sealed PIN
  copied onto another row does not open. A database dump alone yields no PIN.
* ``PinVault.lookup`` is the HMAC that makes a PIN unique among a tenant's active staff; its
  key is derived from the same hub key and the tenant's pepper (``staff_peppers``), so the
  dump does not allow a dictionary of lookups either.
* ``new_pin`` draws a random PIN (``GENERATED_DIGITS`` digits) for PINs the hub chooses.

Nothing here logs; no function returns a PIN except ``unseal`` and ``new_pin``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hub.sealing import Sealer

__all__ = ["GENERATED_DIGITS", "PinVault", "new_pin"]

GENERATED_DIGITS = 6
_SEALED_PREFIX = "v1:"


def _subkey(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, b"fnbpos-hub-pins\x00" + label, hashlib.sha256).digest()


def new_pin(digits: int = GENERATED_DIGITS) -> str:
    """A uniformly random PIN of ``digits`` digits (leading zeros allowed)."""
    return f"{secrets.randbelow(10 ** digits):0{digits}d}"


class PinVault:
    """Seals and looks up PINs with keys derived from the hub's PIN key."""

    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("the hub's PIN key must be at least 32 characters")
        raw = key.encode()
        self._sealer = Sealer(_subkey(raw, b"seal"), _SEALED_PREFIX)
        self._lookup_key = _subkey(raw, b"lookup")

    @staticmethod
    def _aad(tenant_id: str, staff_id: str, version: int) -> bytes:
        return f"{tenant_id}\x00{staff_id}\x00{version}".encode()

    def seal(self, tenant_id: str, staff_id: str, version: int, pin: str) -> str:
        return self._sealer.seal(self._aad(tenant_id, staff_id, version), pin)

    def unseal(self, tenant_id: str, staff_id: str, version: int, sealed: str) -> str | None:
        """The PIN, or None when there is none or it was sealed under another key."""
        return self._sealer.unseal(self._aad(tenant_id, staff_id, version), sealed)

    def lookup(self, pepper: str, pin: str) -> str:
        """HMAC-SHA256 of the PIN under (hub key, tenant pepper): 64 hex characters."""
        tenant_key = hmac.new(self._lookup_key, pepper.encode(), hashlib.sha256).digest()
        return hmac.new(tenant_key, pin.encode(), hashlib.sha256).hexdigest()
