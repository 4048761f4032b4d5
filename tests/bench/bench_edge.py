"""Benchmark of the edge core: durable order intake against the same server's trivial endpoint.

One real ``pos-edge serve`` process on a fresh demo data dir (nothing mocked: each 201 means
the order, its kitchen tickets and outbox events were committed with synchronous=FULL).
Prints JSON lines:

* ``startup``   - process start to the first 200 from /api/health (median of 4 starts) and the CPU it took
* ``idle_rss``  - resident memory of the idle server after warm-up
* ``trivial``   - GET /api/v1/ping (authenticated, same middleware) at fixed concurrency
* ``orders``    - POST /api/v1/orders, 3 lines with modifiers, unique Idempotency-Key each,
                  same concurrency, plus ``ratio_to_trivial``
* ``orders_at_rate`` - open loop: orders offered at a fixed rate (default 100/s), latency p50/p95/p99

The load generator is a small keep-alive HTTP/1.1 client on asyncio streams (uvloop), so the
figures measure the server rather than a client library; it shares the machine's cores.

Run: .venv/bin/python tests/bench/bench_edge.py [--concurrency 32] [--seconds 10] [--rate 100]
     [--nice -10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.edge.edge_server import EdgeServer

ORDER = json.dumps({"type": "takeaway", "lines": [
    {"product_id": "p-nasi-goreng", "qty": 2, "modifiers": ["opt-spice-2", "opt-extra-egg"]},
    {"product_id": "p-kopi-susu", "modifiers": ["opt-size-large", "opt-ice-less"]},
    {"product_id": "p-es-teh", "modifiers": ["opt-size-regular", "opt-sugar-less"]},
]}).encode()


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(pick(0.95) * 1000, 2), "p99_ms": round(pick(0.99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, token: str, body: bytes = b"",
                      extra: str = "") -> int:
        for attempt in (1, 2):
            try:
                return await self._request(method, path, token, body, extra)
            except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.writer = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _request(self, method: str, path: str, token: str, body: bytes, extra: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n")
        self.writer.write(head.encode() + body)
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


async def closed_loop(host: str, port: int, token: str, method: str, path: str, body_fn: Any,
                      concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        conn = Conn(host, port)
        while time.perf_counter() < stop_at:
            body, extra = body_fn()
            started = time.perf_counter()
            status = await conn.request(method, path, token, body, extra)
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors, "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1), **percentiles(latencies)}


async def open_loop(host: str, port: int, token: str, rate: float, seconds: float) -> dict[str, Any]:
    """Offer orders at ``rate`` per second regardless of how fast they complete."""
    latencies: list[float] = []
    errors = 0
    idle: list[Conn] = []

    async def one(scheduled: float) -> None:
        nonlocal errors
        conn = idle.pop() if idle else Conn(host, port)
        body, extra = order_body()
        status = await conn.request("POST", "/api/v1/orders", token, body, extra)
        latencies.append(time.perf_counter() - scheduled)  # includes any queueing delay
        if status >= 300:
            errors += 1
        idle.append(conn)

    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    return {"offered_per_s": rate, "requests": total, "errors": errors, **percentiles(latencies)}


def order_body() -> tuple[bytes, str]:
    return ORDER, f"Idempotency-Key: {uuid.uuid4()}\r\n"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        edge = EdgeServer(Path(tmp) / "edge")  # default settings: request logs on
        emit(bench="edge", metric="load_average", value=os.getloadavg()[0], cpus=os.cpu_count())
        startups, startup_cpu = [], []
        for run in range(4):
            startups.append(edge.start())
            assert edge.proc is not None
            # CPU the process used until its first 200: what start-up costs on an idle core.
            startup_cpu.append(cpu_seconds(edge.proc.pid))
            if run < 3:
                edge.stop()
        emit(bench="edge", metric="startup", median_s=round(statistics.median(startups), 3),
             runs_s=[round(s, 3) for s in startups],
             median_cpu_s=round(statistics.median(startup_cpu), 3))
        try:
            assert edge.proc is not None
            token = edge.tokens["kiosk"]
            host, port = "127.0.0.1", edge.port
            # Warm up (imports, menu cache, connection setup), then let it go idle.
            await closed_loop(host, port, token, "POST", "/api/v1/orders", order_body, 4, 1.0)
            await asyncio.sleep(1.0)
            emit(bench="edge", metric="idle_rss", rss_mb=round(rss_kb(edge.proc.pid) / 1024, 1))

            pid = edge.proc.pid
            cpu = cpu_seconds(pid)
            trivial = await closed_loop(host, port, token, "GET", "/api/v1/ping",
                                        lambda: (b"", ""), args.concurrency, args.seconds)
            trivial_cpu = (cpu_seconds(pid) - cpu) / trivial["requests"]
            emit(bench="edge", metric="trivial", endpoint="GET /api/v1/ping",
                 concurrency=args.concurrency, **trivial,
                 server_cpu_ms_per_request=round(trivial_cpu * 1000, 3))
            cpu = cpu_seconds(pid)
            orders = await closed_loop(host, port, token, "POST", "/api/v1/orders", order_body,
                                       args.concurrency, args.seconds)
            orders_cpu = (cpu_seconds(pid) - cpu) / orders["requests"]
            emit(bench="edge", metric="orders", endpoint="POST /api/v1/orders (3 lines, modifiers)",
                 concurrency=args.concurrency, **orders,
                 server_cpu_ms_per_request=round(orders_cpu * 1000, 3),
                 ratio_to_trivial=round(orders["rps"] / trivial["rps"], 3),
                 cpu_ratio_trivial_to_order=round(trivial_cpu / orders_cpu, 3))
            await asyncio.sleep(1.0)
            at_rate = await open_loop(host, port, token, args.rate, args.seconds)
            emit(bench="edge", metric="orders_at_rate", **at_rate)
            emit(bench="edge", metric="load_average_after", value=os.getloadavg()[0])
            emit(bench="edge", metric="rss_after_load",
                 rss_mb=round(rss_kb(edge.proc.pid) / 1024, 1))
        finally:
            edge.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--nice", type=int, default=0,
                        help="scheduling priority change for this script and the server it starts "
                             "(e.g. -10 as root: measure the edge as if it had the box to itself)")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    arguments = parser.parse_args()
    if arguments.nice:
        os.nice(arguments.nice)  # inherited by the `pos-edge serve` child
    emit(bench="edge", metric="priority", nice=os.getpriority(os.PRIO_PROCESS, 0))
    asyncio.run(main(arguments))
