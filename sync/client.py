"""The edge's HTTP client for the hub's sync API (httpx): transport only, no policy.

Failures split in two, because the engine reacts to them differently:

    SyncError
    ├── HubUnreachable   connection refused/reset, timeout, 5xx, a body that is not ours
    │                    (a proxy's error page), a request that arrived damaged
    │                    (400 corrupt_frame): back off and retry, keep the outbox
    └── HubRefused       the hub answered with a 4xx JSON error (revoked credential, broken
                         chain, bad code, a message past the protocol's limits: 400
                         invalid_frame, 413 payload_too_large): record it, show it, don't
                         hammer the hub (429 is the exception: a HubUnreachable, retried)

A reply lost halfway is a HubUnreachable: the request may or may not have been applied, and
every sync request is safe to repeat (pushes are idempotent by seq+hash, redemption by the
box's device key, pulls are reads).

Every request carries a fresh ``X-Request-ID`` (``shared.logs``): the hub tags its log lines
of that request with it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self, TypeVar

import httpx
import msgspec

from shared.logs import REQUEST_ID_HEADER, new_request_id
from sync.protocol import (
    MEDIA_TYPE,
    EnrollRequest,
    EnrollResponse,
    FrameError,
    PullResponse,
    PushRequest,
    PushResponse,
    decode_frame,
    encode_frame,
)

__all__ = ["HubClient", "HubRefused", "HubUnreachable", "SyncError", "retry_after_seconds"]

T = TypeVar("T")


class SyncError(Exception):
    """Base of the sync client's errors."""


class HubUnreachable(SyncError):
    """The hub could not be reached or did not answer properly: try again later.

    ``retry_after`` is the pause (seconds) the hub asked for with ``Retry-After`` on a 503 or
    429, when it gave one: the engine waits at least that long, so 200 outlets told to come
    back at different times do not all return at once after a hub restart.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HubRefused(SyncError):
    """The hub answered and said no."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class HubClient:
    """One hub, one credential. ``credential`` may be None for enrollment."""

    def __init__(self, base_url: str, credential: str | None = None, *, timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"User-Agent": "fnbpos-edge-sync"}
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                       timeout=httpx.Timeout(timeout, connect=5.0),
                                       transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- calls ---------------------------------------------------------------------

    async def push(self, request: PushRequest) -> PushResponse:
        return await self._call("POST", "/api/v1/sync/push", request, PushResponse)

    async def pull(self, cursor: int, limit: int = 20, snapshot: bool = False,
                   on_progress: Any = None, kinds: tuple[str, ...] = ()) -> PullResponse:
        """One page of the outlet's feed after ``cursor`` (or a snapshot of everything).

        ``kinds`` asks for the multi-kind feed (cursor = feed position); without it the hub
        sends the catalog feed of wire version 2 (cursor = catalog version)."""
        params = {"cursor": str(cursor), "limit": str(limit)}
        if snapshot:
            params["snapshot"] = "1"
        if kinds:
            params["kinds"] = ",".join(kinds)
        if on_progress is None:
            return await self._call("GET", "/api/v1/sync/pull", None, PullResponse, params=params)
        frame = await self.download("/api/v1/sync/pull", params=params, on_progress=on_progress)
        try:
            return decode_frame(frame, PullResponse)
        except FrameError as exc:
            raise HubUnreachable(f"unreadable reply from {self.base_url}: {exc}") from exc

    async def enroll(self, request: EnrollRequest) -> EnrollResponse:
        return await self._call("POST", "/api/v1/enrollment/redeem", request, EnrollResponse)

    async def download(self, path: str, params: dict[str, str] | None = None,
                       on_progress: Any = None) -> bytes:
        """GET a body, reporting (received, total) as it streams (for progress bars)."""
        try:
            async with self._http.stream("GET", path, params=params,
                                         headers={"Accept": MEDIA_TYPE,
                                                  REQUEST_ID_HEADER: new_request_id()}) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._raise_for(response)
                total = int(response.headers.get("Content-Length") or 0)
                chunks, received = [], 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    received += len(chunk)
                    if on_progress:
                        on_progress(received, total)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise HubUnreachable(_describe(exc, self.base_url)) from exc

    # -- plumbing ------------------------------------------------------------------

    async def _call(self, method: str, path: str, message: msgspec.Struct | None,
                    reply: type[T], params: dict[str, str] | None = None) -> T:
        if isinstance(message, PushRequest) and len(message.entries) > 100:
            # A drain batch takes milliseconds to compress: off the event loop, so the
            # edge keeps answering the tills meanwhile (zlib releases the GIL).
            content: bytes | None = await asyncio.to_thread(encode_frame, message)
        else:
            content = encode_frame(message) if message is not None else None
        headers = {"Accept": MEDIA_TYPE, REQUEST_ID_HEADER: new_request_id()}
        if content is not None:
            headers["Content-Type"] = MEDIA_TYPE
        try:
            response = await self._http.request(method, path, content=content, headers=headers,
                                                params=params)
        except httpx.HTTPError as exc:
            raise HubUnreachable(_describe(exc, self.base_url)) from exc
        if response.status_code >= 400:
            self._raise_for(response)
        try:
            return decode_frame(response.content, reply)
        except FrameError as exc:
            # e.g. a captive portal or proxy page with status 200: not the hub speaking.
            raise HubUnreachable(f"unreadable reply from {self.base_url}: {exc}") from exc

    def _raise_for(self, response: httpx.Response) -> None:
        status = response.status_code
        error = _json_error(response)
        if error is not None and error.get("code") == "corrupt_frame":
            # our body was damaged on the way: a transport fault, not the hub saying no
            raise HubUnreachable(f"the request reached the hub damaged: {error.get('message')}")
        if status >= 500 or status in (408, 429) or error is None:
            detail = error["message"] if error else response.reason_phrase
            raise HubUnreachable(f"hub at {self.base_url} answered HTTP {status}: {detail}",
                                 retry_after=retry_after_seconds(response))
        raise HubRefused(status, str(error.get("code", "")), str(error.get("message", "")),
                         error.get("details"))


MAX_RETRY_AFTER = 3600.0  # a hub (or a proxy) asking for more is capped: an hour at most


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), capped at an hour; None when
    absent or unreadable."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        seconds = float(raw)
    else:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _json_error(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


def _describe(exc: httpx.HTTPError, base_url: str) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to the hub at {base_url}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the hub at {base_url} did not answer in time"
    return f"connection to the hub at {base_url} failed: {type(exc).__name__}: {exc}"
