"""Load shedding: a bounded number of requests in flight per process, a bounded queue behind
it, and an early 503 + Retry-After past both (docs/scaling.md, "Overload").

A request that finds a free slot runs at once. Past ``max_in_flight`` it waits in a FIFO
queue of at most ``max_queued`` for up to ``queue_timeout`` seconds; a request that finds the
queue full, or waits too long, gets 503 ``overloaded`` before anything else is done for it
(no token check, no body read, no database). ``Retry-After`` is drawn between 1 and
``RETRY_AFTER_MAX`` seconds so the refused clients do not all come back in the same second.
Health and metrics never wait here: a balancer and Prometheus see a saturated hub, not a dead
one.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque

import msgspec
from litestar.types import ASGIApp, Receive, Scope, Send

from shared.errors import error_body

__all__ = ["EXEMPT_PATHS", "RETRY_AFTER_MAX", "Admission", "shed_load"]

EXEMPT_PATHS = frozenset({"/api/health", "/metrics"})
RETRY_AFTER_MAX = 5


class Admission:
    """The in-flight slots and the queue of one process (one event loop)."""

    def __init__(self, max_in_flight: int, max_queued: int, queue_timeout: float) -> None:
        self.max_in_flight = max_in_flight  # 0 = no limit
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self.in_flight = 0
        self.shed = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> bool:
        """Take a slot (True), or False when the request is to be refused."""
        if self.max_in_flight <= 0:
            self.in_flight += 1
            return True
        if self.in_flight < self.max_in_flight and not self._waiters:
            self.in_flight += 1
            return True
        if len(self._waiters) >= self.max_queued:
            self.shed += 1
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.queue_timeout):
                await waiter
            return True  # release() handed its slot over: in_flight already counts it
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot arrived as the wait ended: pass it on
            else:
                self._discard(waiter)
            if isinstance(exc, asyncio.CancelledError):
                raise
            self.shed += 1
            return False

    def release(self) -> None:
        """Give the slot to the oldest waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    def _discard(self, waiter: asyncio.Future[None]) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass


def _refusal() -> tuple[bytes, int]:
    retry = random.randint(1, RETRY_AFTER_MAX)  # jitter, not a secret
    body = msgspec.json.encode(error_body(
        "overloaded", "the hub is at capacity; retry after the pause in Retry-After",
        {"retry_after_seconds": retry}))
    return body, retry


def shed_load(app: ASGIApp) -> ASGIApp:
    """Middleware: admit the request through the app's ``Admission`` or answer 503 at once."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await app(scope, receive, send)
            return
        admission: Admission = scope["litestar_app"].state.admission
        if not await admission.acquire():
            body, retry = _refusal()
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await app(scope, receive, send)
        finally:
            admission.release()

    return middleware
