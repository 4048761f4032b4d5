"""A tiny real upstream for the fault proxy's own tests (a raw ASGI app served by uvicorn).

It records every request it *started* to receive and whether the body arrived whole, so a
test can tell a dropped request (never seen), a duplicated one (seen twice), a cut one (seen,
incomplete) and a reordered one (seen out of order) apart.

* ``POST /echo`` → the body back (Content-Length), with ``X-Body-Sha256``.
* ``GET /chunked?size=N`` → N bytes in a chunked (streamed) response, ``X-Body-Sha256``.
* ``GET /log`` → ``[{"id", "method", "path", "complete", "length", "sha256"}...]`` in order.

Run: ``python -m uvicorn tests.chaos.echo_upstream:app --port P``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

LOG: list[dict[str, Any]] = []


def _pattern(size: int) -> bytes:
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    entry: dict[str, Any] = {"id": headers.get("x-request-id"), "method": scope["method"],
                             "path": scope["path"], "complete": False, "length": 0,
                             "sha256": None}
    if scope["path"] != "/log":
        LOG.append(entry)
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # body cut short: the entry stays incomplete
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    entry.update(complete=True, length=len(body), sha256=hashlib.sha256(body).hexdigest())

    if scope["path"] == "/log":
        payload = json.dumps(LOG).encode()
        await _send_whole(send, 200, payload, b"application/json")
    elif scope["path"] == "/chunked":
        size = int(dict(p.split("=") for p in scope["query_string"].decode().split("&") if p)
                   .get("size", "1000"))
        data = _pattern(size)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/octet-stream"),
            (b"x-body-sha256", hashlib.sha256(data).hexdigest().encode())]})
        step = 4096
        for start in range(0, len(data), step):
            await send({"type": "http.response.body", "body": data[start:start + step],
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    else:
        await _send_whole(send, 200, body, b"application/octet-stream",
                          [(b"x-body-sha256", entry["sha256"].encode())])


async def _send_whole(send: Any, status: int, body: bytes, content_type: bytes,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()),
        *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
