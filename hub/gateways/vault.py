"""Sealing the gateways' secrets: AES-256-GCM under a key derived from the hub's PIN key.

The hub key is the one ``hub.settings.resolved_pin_key`` resolves (``POS_HUB_PIN_KEY``, or
the file the hub keeps it in): never in the database, never in a feed. Its checks (length,
placeholders, weak keys) are that function's; here it is only stretched, with HKDF-SHA256
under labels of its own, into

* the sealing key: a secret is sealed with the credential's tenant, id and field name as
  associated data, so a sealed value copied onto another row or field does not open;
* the lookup key: ``lookup(token)`` is the HMAC-SHA256 a callback token is found by (a
  database dump yields neither the token nor a dictionary of lookups).

Nothing here logs or returns a secret except ``unseal``.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.sealing import Sealer

__all__ = ["CredentialVault"]

_PREFIX = "g1:"


def _derive(key: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key.encode())


class CredentialVault:
    """Seals, opens and looks up gateway secrets with keys derived from the hub key."""

    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("the hub's key must be at least 32 characters")
        self._sealer = Sealer(_derive(key, b"fnbpos-hub gateway-credentials seal v1"), _PREFIX)
        self._lookup = _derive(key, b"fnbpos-hub gateway-credentials lookup v1")

    @staticmethod
    def _aad(tenant_id: str, credential_id: str, field: str) -> bytes:
        return f"{tenant_id}\x00{credential_id}\x00{field}".encode()

    def seal(self, tenant_id: str, credential_id: str, field: str, secret: str) -> str:
        return self._sealer.seal(self._aad(tenant_id, credential_id, field), secret)

    def unseal(self, tenant_id: str, credential_id: str, field: str, sealed: str) -> str | None:
        """The secret, or None when none is set or it was sealed under another key or row."""
        return self._sealer.unseal(self._aad(tenant_id, credential_id, field), sealed)

    def lookup(self, token: str) -> str:
        """HMAC-SHA256 of a callback token under the lookup key: 64 hex characters."""
        return hmac.new(self._lookup, token.encode(), hashlib.sha256).hexdigest()
