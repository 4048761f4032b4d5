"""Limits on the edge's TCP connections, below the app: a slow or greedy client cannot take the
box's connections away from the tills, kiosks and kitchen screens.

uvicorn keeps a connection open as long as its client likes while a request has not arrived
whole: a socket that connects and says nothing, or sends a header byte every few seconds,
stays open for ever (its keep-alive timer only runs between requests, and any byte stops it).
The edge is reachable by anyone on the shop's network, guests' phones included (QR ordering
at the table), so one phone could hold tens of thousands of such sockets until the box runs out
of file descriptors and no screen can connect any more.

* **Request read timeout**: a request must arrive whole (headers and body) within
  ``request_read_timeout_seconds`` of its first byte (of the connection, for the first
  request); else the connection is closed. Time the app spends not reading a large body does
  not count.
* **Header size**: a request's line and headers may take at most ``MAX_HEADER_BYTES``;
  more is answered ``431`` and the connection closed. uvicorn's httptools parser sets no
  limit: one request with 300 MB of headers was read whole (the edge's memory grew by as
  much) and answered 200.
* **Per-client cap**: at most ``max_connections_per_client`` open connections, WebSockets
  included, per client address; one more is closed as soon as it is accepted. A tablet's
  browser uses about 6 plus its live streams; the default leaves room for a guest network
  behind one NAT address.

Both are counted on ``/metrics`` (``edge_connections_open``, ``edge_connections_closed_total``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from shared.errors import error_body

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["MAX_HEADER_BYTES", "ConnectionGuard", "guarded_http_protocol"]

log = logging.getLogger("edge.connections")

# As nginx's default (4 buffers of 8 KiB): a device sends a token and a few short headers.
MAX_HEADER_BYTES = 32 * 1024
_WARN_EVERY_SECONDS = 60.0  # one warning per client and reason a minute, not one per socket


class ConnectionGuard:
    """Open connections per client address, and why connections were closed early."""

    def __init__(self, *, max_per_client: int, read_timeout_seconds: float) -> None:
        if max_per_client < 1:
            raise ValueError("max_per_client must be at least 1")
        if read_timeout_seconds <= 0:
            raise ValueError("read_timeout_seconds must be positive")
        self.max_per_client = max_per_client
        self.read_timeout_seconds = read_timeout_seconds
        self.open_by_client: dict[str, int] = {}
        self.closed = {"over_client_limit": 0, "read_timeout": 0, "headers_too_large": 0}
        self._warned: dict[tuple[str, str], float] = {}

    @property
    def open_connections(self) -> int:
        return sum(self.open_by_client.values())

    def admit(self, client: str) -> bool:
        """Count a new connection of ``client``; False (not counted) if it has too many."""
        count = self.open_by_client.get(client, 0)
        if count >= self.max_per_client:
            self._closed_early(client, "over_client_limit")
            return False
        self.open_by_client[client] = count + 1
        return True

    def release(self, client: str) -> None:
        count = self.open_by_client.get(client, 0) - 1
        if count > 0:
            self.open_by_client[client] = count
        else:
            self.open_by_client.pop(client, None)

    def timed_out(self, client: str) -> None:
        self._closed_early(client, "read_timeout")

    def headers_too_large(self, client: str) -> None:
        self._closed_early(client, "headers_too_large")

    def _closed_early(self, client: str, reason: str) -> None:
        self.closed[reason] += 1
        now = time.monotonic()
        if now - self._warned.get((client, reason), -_WARN_EVERY_SECONDS) >= _WARN_EVERY_SECONDS:
            if len(self._warned) > 10_000:  # bounded, whatever the number of addresses
                self._warned.clear()
            self._warned[(client, reason)] = now
            log.warning("connection closed early", extra={
                "client": client, "reason": reason, "open_from_client": self.open_by_client.get(client, 0),
                "limit": {"over_client_limit": self.max_per_client, "headers_too_large": MAX_HEADER_BYTES,
                          "read_timeout": self.read_timeout_seconds}[reason]})


def guarded_http_protocol(guard: ConnectionGuard) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with ``guard``'s limits (pass it as ``uvicorn.run(http=...)``)."""
    # Imported here, as edge.cli imports uvicorn: only `pos-edge serve` needs the server.
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _client_address = ""
        _counted = False
        _read_timer: asyncio.TimerHandle | None = None
        _reading_headers = True  # bytes received now belong to a request's line and headers
        _header_bytes = 0
        _refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._client_address = self.client[0] if self.client else ""
            self._counted = guard.admit(self._client_address)
            if not self._counted:
                transport.close()
                return
            self._arm_read_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_read_timer()
            super().connection_lost(exc)
            if self._counted:
                self._counted = False
                guard.release(self._client_address)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            if self._reading_headers:
                self._header_bytes += len(data)
            super().data_received(data)
            # Headers still unfinished after this much: the parser would go on buffering them.
            if self._reading_headers and self._header_bytes > MAX_HEADER_BYTES:
                self._refuse_headers()

        # A request is being read from its first byte until its last.
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_read_timer()

        def on_headers_complete(self) -> None:
            self._reading_headers = False
            self._header_bytes = 0
            # Headers that ended within one large read are measured here.
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > MAX_HEADER_BYTES:
                self._refuse_headers()
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            self._disarm_read_timer()
            self._reading_headers = True
            if not self._refused:
                super().on_message_complete()

        def _refuse_headers(self) -> None:
            if self._refused:
                return
            self._refused = True
            self._disarm_read_timer()
            guard.headers_too_large(self._client_address)
            body = msgspec.json.encode(error_body(
                "headers_too_large", f"the request line and headers are over {MAX_HEADER_BYTES} bytes",
                {"max_bytes": MAX_HEADER_BYTES}))
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
            self.transport.close()

        def handle_websocket_upgrade(self) -> None:
            if self._refused:  # an upgrade whose headers were too large: already answered 431
                return
            self._disarm_read_timer()
            super().handle_websocket_upgrade()
            # The WebSocket protocol now owns the socket; it gives the count back when it ends.
            if self._counted:
                self._counted = False
                _release_when_lost(self.transport.get_protocol(), lambda: guard.release(self._client_address))

        def _arm_read_timer(self) -> None:
            if self._read_timer is None:
                self._read_timer = self.loop.call_later(guard.read_timeout_seconds, self._read_timed_out)

        def _disarm_read_timer(self) -> None:
            if self._read_timer is not None:
                self._read_timer.cancel()
                self._read_timer = None

        def _read_timed_out(self) -> None:
            self._read_timer = None
            if self.transport.is_closing():
                return
            if self.flow.read_paused:  # the app has not taken the body yet: not the client's delay
                self._arm_read_timer()
                return
            guard.timed_out(self._client_address)
            self.transport.close()

    return GuardedHttpToolsProtocol


def _release_when_lost(protocol: Any, release: Callable[[], None]) -> None:
    lost = protocol.connection_lost

    def connection_lost(exc: Exception | None) -> None:
        try:
            lost(exc)
        finally:
            release()

    protocol.connection_lost = connection_lost
