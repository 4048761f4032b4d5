"""Identifiers: UUIDv7 minted where a record is born, so they sort by creation time."""

from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["id_time_ms", "new_id"]

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """Return a new UUIDv7 as a string; monotonic within this process (RFC 9562 method 1)."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        else:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    # Same text as str(uuid.UUID(int=value)), without building a UUID object: ids are minted
    # several times per order on the hot path.
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_time_ms(value: str) -> int:
    """The millisecond timestamp carried by a UUIDv7."""
    return uuid.UUID(value).int >> 80
