"""The journal's hash chain, computed identically by the edge (writing) and the hub (verifying).

``genesis(epoch)`` anchors an epoch; ``hash_n = sha256(prev_hash ":" seq ":" body)``.
"""

from __future__ import annotations

import hashlib

__all__ = ["chain_hash", "genesis_hash"]


def genesis_hash(epoch: str) -> str:
    return hashlib.sha256(f"fnbpos-genesis:{epoch}".encode()).hexdigest()


def chain_hash(prev_hash: str, seq: int, body: bytes) -> str:
    """hash_n = sha256(prev_hash || ':' || seq || ':' || body)."""
    h = hashlib.sha256(prev_hash.encode())
    h.update(b":%d:" % seq)
    h.update(body)
    return h.hexdigest()
