"""Benchmark: kitchen stream latency, from an order's 201 to its ticket frame on N screens.

A real edge process (``pos-edge serve`` on a fresh demo data dir), N kitchen screens holding
``WS /api/v1/stream?topics=kitchen`` open, and a kiosk placing orders one after another.
For every (order, screen) pair it records when the ``ticket.created`` frame of that order
arrived, relative to the moment the POST returned 201 (``after_201``; negative when the frame
won the race against the HTTP response, since the event is committed with the order) and to
the moment the POST was sent (``from_request``).

Prints JSON lines: one ``kitchen_stream`` figure per measure (p50/p90/p99/max in ms), and one
``order_post`` figure for the POST itself.

Run: .venv/bin/python tests/bench/bench_kitchen.py [--screens 20] [--orders 200]
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
from pathlib import Path

import httpx
import websockets

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.edge.edge_server import EdgeServer


def emit(**fields: object) -> None:
    # The 1-minute load average says how much the figures were disturbed by other work.
    print(json.dumps({**fields, "loadavg_1m": round(os.getloadavg()[0], 2),
                      "cpus": os.cpu_count()}), flush=True)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p90_ms": round(pick(0.90), 2), "p99_ms": round(pick(0.99), 2),
            "max_ms": round(ordered[-1], 2)}


async def screen(url: str, token: str, arrivals: dict[str, list[float]], ready: asyncio.Event,
                 counter: list[int], n_screens: int, stop: asyncio.Event) -> None:
    ws_url = url.replace("http://", "ws://") + f"/api/v1/stream?token={token}&topics=kitchen&after=0"
    async with websockets.connect(ws_url, max_queue=None) as ws:
        counter[0] += 1
        if counter[0] == n_screens:
            ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            at = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") == "ticket.created":
                arrivals.setdefault(frame["data"]["order_id"], []).append(at)


async def run(screens: int, orders: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        edge = EdgeServer(Path(tmp) / "edge")
        edge.start()
        try:
            kds, kiosk = edge.tokens["kds"], edge.tokens["kiosk"]
            menu = edge.menu()
            product = next(p for p in menu["products"] if p["available"]
                           and not p["modifier_group_ids"])
            arrivals: dict[str, list[float]] = {}
            ready, stop, counter = asyncio.Event(), asyncio.Event(), [0]
            tasks = [asyncio.create_task(screen(edge.base_url, kds, arrivals, ready, counter, screens,
                                                stop)) for _ in range(screens)]
            await asyncio.wait_for(ready.wait(), 30)
            await asyncio.sleep(0.5)
            sent: dict[str, tuple[float, float]] = {}
            body = {"type": "takeaway", "lines": [{"product_id": product["id"], "qty": 1}]}
            async with httpx.AsyncClient(base_url=edge.base_url, timeout=10, headers={
                    "Authorization": f"Bearer {kiosk}"}) as client:
                for _ in range(orders):
                    t0 = time.perf_counter()
                    res = await client.post("/api/v1/orders", json=body)
                    t1 = time.perf_counter()
                    assert res.status_code == 201, res.text
                    sent[res.json()["id"]] = (t0, t1)
                    # let the screens drain: we measure latency, not a queue under overload
                    await asyncio.sleep(0.02)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sum(map(len, arrivals.values())) < orders * screens:
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            after_201, from_request = [], []
            for order_id, (t0, t1) in sent.items():
                for at in arrivals.get(order_id, []):
                    after_201.append((at - t1) * 1000)
                    from_request.append((at - t0) * 1000)
            received = len(after_201)
            emit(bench="kitchen_stream", measure="after_201", screens=screens, orders=orders,
                 frames_expected=orders * screens, frames_received=received,
                 **percentiles(after_201))
            emit(bench="kitchen_stream", measure="from_request", screens=screens, orders=orders,
                 **percentiles(from_request))
            emit(bench="order_post", screens=screens, orders=orders,
                 **percentiles([(t1 - t0) * 1000 for t0, t1 in sent.values()]))
        finally:
            edge.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=20)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.screens, args.orders))


if __name__ == "__main__":
    main()
