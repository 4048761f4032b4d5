"""AES-256-GCM sealing of short secrets kept in the hub's database (staff PINs, gateway keys).

A sealed value is ``prefix + urlsafe-base64(nonce | ciphertext | tag)``; the caller's
associated data binds it to its row, so a value copied onto another row does not open. Key
derivation stays with each caller (its labels are part of what its stored values mean).
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["Sealer"]

_NONCE_BYTES = 12


class Sealer:
    """Seals and opens strings under one 32-byte key, tagged with ``prefix``."""

    def __init__(self, key: bytes, prefix: str) -> None:
        self._aead = AESGCM(key)
        self._prefix = prefix

    def seal(self, aad: bytes, secret: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), aad)
        return self._prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, aad: bytes, sealed: str) -> str | None:
        """The secret, or None when none is set or it was sealed under another key or row."""
        if not sealed.startswith(self._prefix):
            return None
        try:
            blob = base64.urlsafe_b64decode(sealed[len(self._prefix):])
            secret = self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            return None
        return secret.decode()
