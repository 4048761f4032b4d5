"""Auth helpers shared by edge and hub: secrets, hashes and JWTs. No framework imports.

* Passwords and PINs are hashed with argon2id (slow on purpose).
* Long random secrets (device tokens, refresh tokens, sync credentials, enrollment codes)
  are stored as SHA-256 digests: they carry enough entropy that a fast hash is safe, and a
  lookup by digest is one indexed read.
* Access tokens are short-lived HS256 JWTs signed with the app's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.errors import Unauthorized

__all__ = [
    "decode_jwt",
    "digest",
    "hash_password",
    "issue_jwt",
    "new_secret",
    "same_digest",
    "verify_password",
]

# Edge boxes are small: keep argon2 at about 20 ms there; still far beyond brute force speed.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(secret: str) -> str:
    return _hasher.hash(secret)


def verify_password(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random secret, optionally prefixed so its kind is obvious in config files."""
    return prefix + secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def issue_jwt(claims: dict[str, Any], key: str, ttl: timedelta, issuer: str) -> str:
    """Sign ``claims`` with iat/exp/iss added."""
    now = datetime.now(UTC)
    payload = {**claims, "iat": now, "exp": now + ttl, "iss": issuer}
    return jwt.encode(payload, key, algorithm="HS256")


def decode_jwt(token: str, key: str, issuer: str) -> dict[str, Any]:
    """Verify signature, expiry and issuer; raise Unauthorized with a clear reason."""
    try:
        return jwt.decode(token, key, algorithms=["HS256"], issuer=issuer,
                          options={"require": ["exp", "iat", "iss"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("invalid token") from exc
