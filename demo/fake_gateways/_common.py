"""What both fake gateways share: a tiny ASGI app with regex routes, Basic auth with the
merchant's secret key, a ledger, fault injection and webhooks sent in the background.

Test-only endpoints live under ``/_fake/`` (never a path the real gateway has):

* ``GET /_fake/ledger`` - every charge, payment, refund and webhook delivery, for tests;
* ``POST /_fake/faults`` - ``{"down": bool, "delay_creates": n, "delay_seconds": s,
  "webhook_drop": p, "webhook_duplicate": p, "seed": n}``: answer 503 to everything, sit on
  the reply of the next n creates for s seconds (the charge is made first: a lost reply),
  drop or duplicate webhooks with probability p;
* ``POST /_fake/reset`` - forget everything;
* ``GET /_fake/`` - a small page listing open charges with a "pay" button (the demo).

Webhooks are queued and posted by one background task; a failed delivery is retried a few
times with backoff, like the real gateways (which retry for hours), and every delivery is
recorded in the ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

__all__ = ["FakeGateway", "Reply", "Request", "fake_qr_string", "main", "now_utc"]

MAX_BODY = 64 * 1024  # no real charge request is near this
WEBHOOK_ATTEMPTS = 4


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    query_all: dict[str, list[str]] = field(default_factory=dict)  # repeated keys, in order

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sit on the reply (fault injection)


Handler = Callable[[Request], Awaitable[Reply]]


@dataclass
class Faults:
    down: bool = False
    delay_creates: int = 0
    delay_seconds: float = 0.0
    webhook_drop: float = 0.0
    webhook_duplicate: float = 0.0


class FakeGateway:
    """Base of the Midtrans and Xendit fakes: routing, auth, ledger, faults and webhooks."""

    name = "fake"

    def __init__(self, *, server_key: str, webhook_url: str = "", callback_token: str = "",
                 seed: int | None = None) -> None:
        self.server_key = server_key
        self.webhook_url = webhook_url
        self.callback_token = callback_token
        self.faults = Faults()
        self.random = random.Random(seed)
        self.webhooks: list[dict[str, Any]] = []
        self.requests: dict[str, int] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self._queue: asyncio.Queue[tuple[dict[str, Any], dict[str, str], str]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.route("GET", r"/_fake/ledger", self._ledger, auth=False)
        self.route("POST", r"/_fake/faults", self._set_faults, auth=False)
        self.route("POST", r"/_fake/reset", self._reset, auth=False)
        self.route("GET", r"/_fake/?", self._page, auth=False)

    # -- what a concrete gateway provides ------------------------------------------------

    def ledger(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        pass

    def unauthorized(self) -> Reply:
        return Reply(401, {"message": "unauthorized"})

    def not_found(self) -> Reply:
        return Reply(404, {"message": "not found"})

    def unavailable(self) -> Reply:
        return Reply(503, {"message": "unavailable"})

    def bad_request(self, message: str) -> Reply:
        return Reply(400, {"message": message})

    def sweep(self) -> None:
        """Expire what is due (called before every request and twice a second)."""

    def page_rows(self) -> list[tuple[str, str, int, str]]:
        """(id, label, amount, pay path) of every open charge, for the demo page."""
        return []

    # -- routing ---------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler, auth: bool = True) -> None:
        self._routes.append((method, re.compile(pattern + r"\Z"), handler, auth))

    def authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
        except ValueError:
            return False
        return secrets.compare_digest(user.encode(), self.server_key.encode())

    def take_create_delay(self) -> float:
        """The reply delay of this create, if a fault asked for one."""
        if self.faults.delay_creates > 0:
            self.faults.delay_creates -= 1
            return self.faults.delay_seconds
        return 0.0

    async def dispatch(self, request: Request) -> Reply:
        path_matched = False
        for method, pattern, handler, auth in self._routes:
            found = pattern.match(request.path)
            if not found:
                continue
            path_matched = True
            if method != request.method:
                continue
            key = f"{method} {pattern.pattern[:-2]}"
            self.requests[key] = self.requests.get(key, 0) + 1
            if not request.path.startswith("/_fake"):
                if self.faults.down:
                    return self.unavailable()
                if auth and not self.authorized(request.headers):
                    return self.unauthorized()
                self.sweep()
            request.params = found.groupdict()
            try:
                return await handler(request)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                return self.bad_request(f"invalid request: {exc}")
        if path_matched:
            return Reply(405, {"message": "method not allowed"})
        return self.not_found()

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _send(send, Reply(413, {"message": "request body too large"}))
                return
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query_all = parse_qs(scope.get("query_string", b"").decode())
        query = {k: v[0] for k, v in query_all.items()}
        reply = await self.dispatch(Request(scope["method"], scope["path"], headers, body, query,
                                            query_all=query_all))
        if reply.delay:
            await asyncio.sleep(reply.delay)
        await _send(send, reply)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start(self) -> None:
        self._queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._deliver()), loop.create_task(self._sweeper())]

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - a fake must keep serving
                print(f"fake {self.name}: sweep failed: {exc!r}", flush=True)

    # -- webhooks ----------------------------------------------------------------------------

    def notify(self, payload: dict[str, Any], headers: dict[str, str], key: str) -> None:
        """Queue a webhook (dropped or doubled when a fault says so)."""
        entry = {"key": key, "payload": payload, "dropped": False, "deliveries": []}
        self.webhooks.append(entry)
        if not self.webhook_url or self._queue is None:
            entry["dropped"] = not self.webhook_url
            return
        if self.random.random() < self.faults.webhook_drop:
            entry["dropped"] = True
            return
        copies = 2 if self.random.random() < self.faults.webhook_duplicate else 1
        for _ in range(copies):
            self._queue.put_nowait((payload, headers, key))

    async def _deliver(self) -> None:
        assert self._queue is not None
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                payload, headers, key = await self._queue.get()
                entry = next((w for w in reversed(self.webhooks) if w["key"] == key), None)
                for attempt in range(WEBHOOK_ATTEMPTS):
                    try:
                        res = await client.post(self.webhook_url, json=payload, headers=headers)
                        status = res.status_code
                    except httpx.HTTPError as exc:
                        status = f"error: {type(exc).__name__}"
                    if entry is not None:
                        entry["deliveries"].append({"status": status, "at": time.time()})
                    if isinstance(status, int) and status < 300:
                        break
                    await asyncio.sleep(0.2 * 2**attempt)

    # -- test endpoints ------------------------------------------------------------------------

    async def _ledger(self, _: Request) -> Reply:
        self.sweep()
        return Reply(200, {**self.ledger(), "webhooks": self.webhooks, "requests": self.requests})

    async def _set_faults(self, request: Request) -> Reply:
        data = request.json()
        if "seed" in data:
            self.random.seed(int(data.pop("seed")))
        for name, value in data.items():
            if not hasattr(self.faults, name):
                return Reply(400, {"message": f"unknown fault {name}"})
            setattr(self.faults, name, type(getattr(self.faults, name))(value))
        return Reply(200, vars(self.faults))

    async def _reset(self, _: Request) -> Reply:
        self.reset()
        self.webhooks.clear()
        self.requests.clear()
        self.faults = Faults()
        return Reply(200, {"reset": True})

    async def _page(self, _: Request) -> Reply:
        rows = "".join(
            f"<tr><td>{label}</td><td>{amount:,}</td><td><form method=post action='{path}'>"
            f"<button>pay</button></form></td></tr>" for _, label, amount, path in self.page_rows())
        html = (f"<!doctype html><title>fake {self.name}</title><h1>fake {self.name}: open "
                f"charges</h1><table>{rows or '<tr><td>none</td></tr>'}</table>")
        return Reply(200, html, {"content-type": "text/html; charset=utf-8"})


def fake_qr_string(reference: str, amount: int) -> str:
    """A well-formed dynamic QRIS payload (EMVCo MPM) naming this charge."""
    from edge.payments.static_qris import emv_payload

    ref = reference.replace("-", "")
    return emv_payload([("00", "01"), ("01", "12"),
                        ("26", [("00", "ID.CO.QRIS.WWW"), ("01", "936009140000000001"),
                                ("02", ref[:15])]),
                        ("52", "5812"), ("53", "360"), ("54", str(amount)), ("58", "ID"),
                        ("59", "FAKE GATEWAY"), ("60", "JAKARTA"), ("62", [("05", ref[:25])])])


async def _send(send: Any, reply: Reply) -> None:
    if isinstance(reply.body, str):
        data = reply.body.encode()
        content_type = reply.headers.get("content-type", "text/plain; charset=utf-8")
    else:
        data = json.dumps(reply.body, default=str).encode()
        content_type = "application/json"
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in reply.headers.items() if k != "content-type"]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def main(argv: list[str] | None, build: Callable[[argparse.Namespace], FakeGateway],
         default_port: int, prog: str) -> int:
    """``python -m demo.fake_gateways.<name> --port N --webhook-url URL``: serve the fake."""
    import uvicorn

    parser = argparse.ArgumentParser(prog=prog, description=f"a local fake {prog} gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--webhook-url", default="", help="where payment notifications go")
    parser.add_argument("--server-key", default="", help="the merchant's secret key it accepts")
    parser.add_argument("--callback-token", default="", help="x-callback-token (Xendit)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    app = build(args)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="on")
    return 0
