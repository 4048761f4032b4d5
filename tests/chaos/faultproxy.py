"""A fault-injecting HTTP/1.1 reverse proxy, run as its own process between an edge and a hub.

    python -m tests.chaos.faultproxy --listen 127.0.0.1:0 --control 127.0.0.1:0 \
        --upstream 127.0.0.1:8001 [--upstream 127.0.0.1:8002] --seed 7 --profile chaos

On start it prints one JSON line ``{"event": "ready", "listen": "HOST:PORT", "control":
"HOST:PORT", ...}`` on stdout (so callers can bind port 0 and read the ports back), then a
JSON line per fault on stderr.

Bytes are forwarded as they came: the request head and body (Content-Length or chunked,
trailers included) are read whole, then written to a fresh upstream connection; the response
is read by its own framing (Content-Length, chunked, or until close) and written back. Client
connections are kept alive as long as the client and the upstream allow.

Per request, one seeded random draw decides the fault (the same seed gives the same fault for
the n-th request the proxy receives):

===============  ==========================================================================
drop_request     close the client connection without forwarding anything
drop_response    forward, read the upstream's complete answer (it has committed), then
                 abort the client connection without a byte of it
duplicate        send the request to the upstream twice (one after the other, or both at
                 once), answer the client with the first reply
reorder          hold the request until another request has been forwarded (or
                 ``reorder_hold`` seconds passed), then forward it: stale requests arrive
                 after newer ones
cut_request      send the head and part of the body upstream, then abort both connections
cut_response     forward, then send the client the head and part of the body and abort
delay            (drawn separately, can come with any of the above) sleep up to
                 ``delay_max`` seconds before forwarding
===============  ==========================================================================

``mode`` overrides the draws: ``pass`` forwards everything untouched, ``faults`` applies the
rates, ``down`` closes every new connection at once (a partition / hub outage), ``hang``
accepts and never answers (a black hole: clients time out).

Control API (JSON over HTTP on ``--control``): ``GET /config``, ``PUT /config`` (a partial
update: any rate, ``mode``, ``upstreams``, ``seed`` re-seeds), ``GET /stats`` (counters and
the recent fault log), ``POST /stats/reset``. Tests use it to change faults mid-run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["PROFILES", "FaultConfig", "FaultProxy", "main"]

FAULTS = ("drop_request", "drop_response", "duplicate", "reorder", "cut_request",
          "cut_response")
MODES = ("pass", "faults", "down", "hang")
MAX_HEAD = 64 * 1024
EVENT_LOG_SIZE = 5000


@dataclass
class FaultConfig:
    """What the proxy does to each request. Rates are probabilities per request."""

    mode: str = "faults"
    drop_request: float = 0.0
    drop_response: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    cut_request: float = 0.0
    cut_response: float = 0.0
    delay: float = 0.0
    delay_max: float = 0.2
    reorder_hold: float = 1.0
    # Only requests whose path starts with one of these get faults (empty = all paths).
    fault_paths: list[str] = field(default_factory=list)
    upstreams: list[str] = field(default_factory=list)

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name: f for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r}")
            if key == "mode" and value not in MODES:
                raise ValueError(f"mode must be one of {MODES}")
            if key in FAULTS or key == "delay":
                value = float(value)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{key} must be a probability between 0 and 1")
            if key in ("delay_max", "reorder_hold"):
                value = float(value)
            if key in ("fault_paths", "upstreams"):
                value = [str(v) for v in value]
            setattr(self, key, value)
        if sum(getattr(self, f) for f in FAULTS) > 1.0:
            raise ValueError("the fault rates add up to more than 1")


# Named starting points; anything can be changed later through the control API.
PROFILES: dict[str, dict[str, Any]] = {
    "clean": {"mode": "pass"},
    "chaos": {"mode": "faults", "drop_request": 0.05, "drop_response": 0.08, "duplicate": 0.08,
              "reorder": 0.05, "cut_request": 0.04, "cut_response": 0.05, "delay": 0.2,
              "delay_max": 0.15, "reorder_hold": 0.5},
    "lossy": {"mode": "faults", "drop_request": 0.15, "drop_response": 0.15, "delay": 0.1},
    "down": {"mode": "down"},
}


@dataclass
class Request:
    """One HTTP request as read from the client, raw bytes kept for faithful forwarding."""

    method: str
    path: str
    head: bytes
    body: bytes
    keep_alive: bool


@dataclass
class Response:
    status: int
    head: bytes
    body: bytes
    keep_alive: bool


@dataclass
class Decision:
    n: int
    fault: str | None
    delay: float
    cut_fraction: float
    concurrent_duplicate: bool
    upstream_pick: float


class ProtocolError(Exception):
    """The peer sent something that is not HTTP/1.1 we can frame."""


def _parse_headers(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    start = lines[0]
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line!r}")
        headers.append((name.strip().lower(), value.strip()))
    return start, headers


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The head up to and including the blank line; None on a clean close before any byte."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise ProtocolError("connection closed inside a head") from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError("head too large") from exc


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body, raw (sizes, extensions, data, trailers) so it is forwarded as is."""
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        parts.append(size_line)
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, ended by an empty line
                trailer = await reader.readuntil(b"\r\n")
                parts.append(trailer)
                if trailer == b"\r\n":
                    return b"".join(parts)
        parts.append(await reader.readexactly(size + 2))


async def _read_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]],
                     until_close: bool) -> bytes:
    encoding = (_header(headers, "transfer-encoding") or "").lower()
    if "chunked" in encoding:
        return await _read_chunked(reader)
    length = _header(headers, "content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    if until_close:
        return await reader.read()
    return b""


def _keep_alive(version: str, headers: list[tuple[str, str]]) -> bool:
    connection = (_header(headers, "connection") or "").lower()
    if "close" in connection:
        return False
    return version == "HTTP/1.1" or "keep-alive" in connection


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await _read_head(reader)
    if head is None:
        return None
    start, headers = _parse_headers(head)
    try:
        method, path, version = start.split(" ", 2)
    except ValueError as exc:
        raise ProtocolError(f"bad request line {start!r}") from exc
    body = await _read_body(reader, headers, until_close=False)
    return Request(method=method, path=path, head=head, body=body,
                   keep_alive=_keep_alive(version, headers))


async def read_response(reader: asyncio.StreamReader, method: str) -> Response:
    while True:
        head = await _read_head(reader)
        if head is None:
            raise ProtocolError("upstream closed without answering")
        start, headers = _parse_headers(head)
        parts = start.split(" ", 2)
        status = int(parts[1])
        if status >= 200 or status == 101:
            break
        # 1xx interim answers are dropped: the client never asked for 100-continue through us.
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = await _read_body(reader, headers, until_close=True)
    has_length = (_header(headers, "content-length") is not None
                  or "chunked" in (_header(headers, "transfer-encoding") or "").lower())
    keep = _keep_alive(parts[0], headers) and (has_length or method == "HEAD"
                                                or status in (204, 304))
    return Response(status=status, head=head, body=body, keep_alive=keep)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Hard close (RST where the OS allows): what a cut cable looks like to the peer."""
    with contextlib.suppress(Exception):
        writer.transport.abort()


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
        await writer.wait_closed()


class FaultProxy:
    """The proxy: a listening server, a control server, a seeded fault schedule, counters."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        self._rng = random.Random(seed)
        self._requests = 0
        self.stats: Counter[str] = Counter()
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)
        self._forwarded = 0
        self._forwarded_changed = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self._control: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    # -- lifecycle -----------------------------------------------------------------

    async def start(self, listen: tuple[str, int], control: tuple[str, int] | None) -> None:
        self._server = await asyncio.start_server(self._serve_client, *listen, limit=MAX_HEAD)
        if control is not None:
            self._control = await asyncio.start_server(self._serve_control, *control,
                                                       limit=MAX_HEAD)

    @property
    def listen_address(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    @property
    def control_address(self) -> str | None:
        if self._control is None:
            return None
        host, port = self._control.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    # -- decisions -----------------------------------------------------------------

    def _decide(self, request: Request) -> Decision:
        # Always the same number of draws per request, so the n-th request's fate depends only
        # on the seed and n, not on which faults earlier requests got.
        self._requests += 1
        draws = [self._rng.random() for _ in range(6)]
        cfg = self.config
        fault = None
        if cfg.mode == "faults" and self._path_has_faults(request.path):
            threshold = 0.0
            for name in FAULTS:
                threshold += getattr(cfg, name)
                if draws[0] < threshold:
                    fault = name
                    break
        delay = 0.0
        if cfg.mode == "faults" and self._path_has_faults(request.path) and draws[1] < cfg.delay:
            delay = draws[2] * cfg.delay_max
        return Decision(n=self._requests, fault=fault, delay=delay,
                        cut_fraction=0.1 + 0.8 * draws[3],
                        concurrent_duplicate=draws[4] < 0.5, upstream_pick=draws[5])

    def _path_has_faults(self, path: str) -> bool:
        prefixes = self.config.fault_paths
        return not prefixes or any(path.startswith(p) for p in prefixes)

    def _upstream(self, decision: Decision) -> tuple[str, int]:
        upstreams = self.config.upstreams
        if not upstreams:
            raise ProtocolError("no upstream configured")
        host, _, port = upstreams[int(decision.upstream_pick * len(upstreams))].rpartition(":")
        return host, int(port)

    def _record(self, decision: Decision, request: Request, what: str, **extra: Any) -> None:
        self.stats[what] += 1
        if what in ("forwarded", "request"):
            return
        event = {"n": decision.n, "fault": what, "method": request.method,
                 "path": request.path, "at": round(time.time(), 3), **extra}
        self.events.append(event)
        print(json.dumps({"event": "fault", **event}), file=sys.stderr, flush=True)

    # -- the data path -------------------------------------------------------------

    async def _serve_client(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            if self.config.mode == "down":
                self.stats["refused_connections"] += 1
                _abort(writer)
                return
            if self.config.mode == "hang":
                self.stats["hung_connections"] += 1
                await reader.read()  # until the client gives up
                return
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                keep_going = await self._handle(request, writer)
                if not keep_going or not request.keep_alive:
                    break
        except (ProtocolError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            self.stats["client_errors"] += 1
        finally:
            self._clients.discard(writer)
            await _close(writer)

    async def _handle(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Apply this request's fault; False when the client connection must end."""
        self.stats["request"] += 1
        if self.config.mode == "down":  # switched mid-connection
            self._record(Decision(0, None, 0, 0, False, 0), request, "down")
            _abort(writer)
            return False
        decision = self._decide(request)
        if decision.delay:
            self._record(decision, request, "delay", seconds=round(decision.delay, 3))
            await asyncio.sleep(decision.delay)
        fault = decision.fault
        if fault == "drop_request":
            self._record(decision, request, fault)
            _abort(writer)
            return False
        if fault == "reorder":
            await self._hold_for_next(decision, request)
        if fault == "cut_request":
            await self._cut_request(decision, request)
            _abort(writer)
            return False
        try:
            if fault == "duplicate":
                response = await self._duplicate(decision, request)
            else:
                response = await self._forward(decision, request)
        except (OSError, ProtocolError, asyncio.IncompleteReadError) as exc:
            # Upstream unreachable or broke: a gateway error, like any reverse proxy.
            self._record(decision, request, "upstream_error", error=type(exc).__name__)
            body = json.dumps({"error": {"code": "bad_gateway", "message": str(exc) or
                                         type(exc).__name__, "details": None}}).encode()
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() +
                         b"\r\nConnection: close\r\n\r\n" + body)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            return False
        if fault == "drop_response":
            self._record(decision, request, fault, status=response.status)
            _abort(writer)
            return False
        if fault == "cut_response":
            raw = response.head + response.body
            cut_at = len(response.head) + int(len(response.body) * decision.cut_fraction)
            if not response.body:
                cut_at = int(len(response.head) * decision.cut_fraction)
            self._record(decision, request, fault, status=response.status, sent=cut_at,
                         of=len(raw))
            writer.write(raw[:cut_at])
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            _abort(writer)
            return False
        writer.write(response.head + response.body)
        await writer.drain()
        return response.keep_alive

    async def _hold_for_next(self, decision: Decision, request: Request) -> None:
        seen = self._forwarded
        deadline = time.monotonic() + self.config.reorder_hold
        while self._forwarded == seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._forwarded_changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._forwarded_changed.wait(), remaining)
        overtaken = self._forwarded - seen
        self._record(decision, request, "reorder", overtaken_by=overtaken)

    async def _open_upstream(self, decision: Decision
                             ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = self._upstream(decision)
        return await asyncio.open_connection(host, port, limit=MAX_HEAD)

    async def _exchange(self, decision: Decision, request: Request) -> Response:
        reader, writer = await self._open_upstream(decision)
        try:
            writer.write(request.head + request.body)
            await writer.drain()
            self._forwarded += 1
            self._forwarded_changed.set()
            self.stats["upstream_requests"] += 1
            return await read_response(reader, request.method)
        finally:
            await _close(writer)

    async def _forward(self, decision: Decision, request: Request) -> Response:
        response = await self._exchange(decision, request)
        self.stats["forwarded"] += 1
        return response

    async def _duplicate(self, decision: Decision, request: Request) -> Response:
        if decision.concurrent_duplicate:
            results = await asyncio.gather(self._exchange(decision, request),
                                           self._exchange(decision, request),
                                           return_exceptions=True)
        else:
            first = await self._exchange(decision, request)
            second: Response | BaseException
            try:
                second = await self._exchange(decision, request)
            except (OSError, ProtocolError, asyncio.IncompleteReadError) as exc:
                second = exc
            results = [first, second]
        self._record(decision, request, "duplicate", concurrent=decision.concurrent_duplicate,
                     statuses=[r.status if isinstance(r, Response) else type(r).__name__
                               for r in results])
        for result in results:
            if isinstance(result, Response):
                return result
        raise results[0] if isinstance(results[0], Exception) else ProtocolError("duplicate")

    async def _cut_request(self, decision: Decision, request: Request) -> None:
        """Head and part of the body reach the upstream; then both sides are cut."""
        try:
            _reader, writer = await self._open_upstream(decision)
        except OSError:
            self._record(decision, request, "cut_request", sent=0, of=0)
            return
        raw = request.head + request.body
        if request.body:
            cut_at = len(request.head) + int(len(request.body) * decision.cut_fraction)
        else:
            cut_at = int(len(request.head) * decision.cut_fraction)
        writer.write(raw[:cut_at])
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        self.stats["upstream_requests"] += 1
        self._record(decision, request, "cut_request", sent=cut_at, of=len(raw))
        _abort(writer)

    # -- control -------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"seed": self.seed, "requests": self._requests, "stats": dict(self.stats),
                "events": list(self.events)}

    async def _serve_control(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                status, payload = self._control_call(request)
                body = json.dumps(payload).encode()
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
                if not request.keep_alive:
                    break
        except (ProtocolError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await _close(writer)

    def _control_call(self, request: Request) -> tuple[int, dict[str, Any]]:
        path = request.path.split("?", 1)[0]
        if request.method == "GET" and path == "/config":
            return 200, asdict(self.config)
        if request.method == "PUT" and path == "/config":
            try:
                changes = json.loads(request.body or b"{}")
                if not isinstance(changes, dict):
                    raise TypeError("expected a JSON object")
                if "seed" in changes:
                    self.seed = int(changes.pop("seed"))
                    self._rng = random.Random(self.seed)
                    self._requests = 0
                self.config.update(changes)
            except (ValueError, TypeError) as exc:
                return 400, {"error": {"code": "invalid_config", "message": str(exc),
                                       "details": None}}
            print(json.dumps({"event": "config", **asdict(self.config)}), file=sys.stderr,
                  flush=True)
            return 200, asdict(self.config)
        if request.method == "GET" and path == "/stats":
            return 200, self.snapshot()
        if request.method == "POST" and path == "/stats/reset":
            self.stats.clear()
            self.events.clear()
            return 200, self.snapshot()
        return 404, {"error": {"code": "not_found", "message": f"no {request.method} {path}",
                               "details": None}}


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def _run(args: argparse.Namespace) -> None:
    config = FaultConfig()
    config.update(PROFILES[args.profile])
    config.update({"upstreams": args.upstream})
    if args.config:
        config.update(json.loads(args.config))
    proxy = FaultProxy(config, args.seed)
    await proxy.start(_address(args.listen), _address(args.control) if args.control else None)
    print(json.dumps({"event": "ready", "listen": proxy.listen_address,
                      "control": proxy.control_address, "seed": args.seed,
                      "profile": args.profile}), flush=True)
    await proxy.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.faultproxy",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (0 = any free port)")
    parser.add_argument("--control", default=None, help="HOST:PORT of the control API")
    parser.add_argument("--upstream", action="append", default=[],
                        help="HOST:PORT of an upstream; repeat for several (picked at random)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="clean")
    parser.add_argument("--config", default=None, help="JSON object of settings over the profile")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
