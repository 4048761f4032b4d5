"""Per-client-IP rate limits kept in the memory of one hub process (token buckets).

Used where a request needs no login and is cheap to send but not to answer: redeeming an
enrollment code (``POST /api/v1/enrollment/redeem``). Each IP gets a bucket of ``burst``
requests that refills at ``burst / window_seconds`` per second; a request that finds it
empty is refused with the seconds until the next one would pass (the caller's
``Retry-After``). Buckets live in this process only: with N replicas an IP gets N times the
rate at most, which is still a bound. The table is bounded too: past ``max_clients`` IPs the
least recently seen is forgotten (it comes back with a full bucket).

The client IP is the one uvicorn puts in the ASGI scope: the socket's peer, or, behind a
load balancer listed in ``forwarded_allow_ips``, the address it put in ``X-Forwarded-For``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """``hit(key)`` answers 0 when the request may pass, else the seconds to wait."""

    def __init__(self, burst: int, window_seconds: float, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1 or window_seconds <= 0:
            raise ValueError("a rate limit needs burst >= 1 and window_seconds > 0")
        self.burst = burst
        self.rate = burst / window_seconds  # tokens per second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def hit(self, key: str) -> int:
        now = self._clock()
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._trim()
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _trim(self) -> None:
        # The table is ordered by last request: the first entries are the longest idle.
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
