"""Benchmark: bill amendments on a table with 50 lines, and KDS latency of a fired course.

A real edge process (``pos-edge serve`` on a fresh demo data dir). In one run:

* ``order_create``: takeaway orders of 3 lines created one after another (POST /api/v1/orders);
* ``bill_amend``: on a bill that already holds 50 lines, amendments one after another (an
  add-round of one line, and a PATCH of a held line with If-Match), each re-pricing and
  re-storing the whole 50+ line bill with its outbox snapshot; amendments/s and the ratio to
  order creation (the same client, the same edge, the same minute);
* ``kds_latency``: a kitchen screen holds ``WS /api/v1/stream?topics=kitchen`` open; the time
  from sending POST .../fire (a held course) to its ``ticket.created`` frame on the screen,
  against the same for a new order (POST /api/v1/orders) - p50/p90/max and the ratio.

Prints JSON lines. Run: .venv/bin/python tests/bench/bench_bills.py [--n 200] [--fires 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.edge.edge_server import EdgeServer

WATER = {"product_id": "p-air-mineral", "course": "minuman"}
KLEPON = {"product_id": "p-klepon", "course": "pencuci_mulut"}
ORDER = {"type": "takeaway", "lines": [
    {"product_id": "p-nasi-goreng", "qty": 2, "modifiers": ["opt-spice-2", "opt-extra-egg"]},
    {"product_id": "p-air-mineral"}, {"product_id": "p-klepon"}]}


def emit(**fields: object) -> None:
    print(json.dumps({**fields, "loadavg_1m": round(os.getloadavg()[0], 2),
                      "cpus": os.cpu_count()}), flush=True)


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def ok(res: httpx.Response) -> Any:
    if res.status_code >= 300:
        raise SystemExit(f"{res.request.method} {res.request.url} -> {res.status_code} {res.text}")
    return res.json()


class Screen:
    """A kitchen screen: records when each order's first ticket.created frame arrives."""

    def __init__(self, url: str, token: str) -> None:
        self.arrived: dict[tuple[str, str], float] = {}  # (order id, course) -> perf_counter
        self.ws = ws_connect(url.replace("http://", "ws://")
                             + f"/api/v1/stream?token={token}&topics=kitchen&after=0",
                             open_timeout=30, max_size=None)
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop:
            try:
                frame = json.loads(self.ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            if frame.get("type") == "ticket.created":
                data = frame["data"]
                self.arrived.setdefault((data["order_id"], data["course"]), time.perf_counter())

    def wait(self, order_id: str, course: str, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while (order_id, course) not in self.arrived:
            if time.monotonic() > deadline:
                raise SystemExit(f"no ticket for {order_id} {course}")
            time.sleep(0.0005)
        return self.arrived[(order_id, course)]

    def close(self) -> None:
        self.stop = True
        self.ws.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="orders and amendments to time")
    parser.add_argument("--fires", type=int, default=50, help="fired courses and orders to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        edge = EdgeServer(Path(tmp) / "edge", env={"POS_EDGE_LOG_REQUESTS": "false"})
        edge.start(timeout=120)
        try:
            run(edge, args.n, args.fires)
        finally:
            edge.stop()


def run(edge: EdgeServer, n: int, fires: int) -> None:
    waiter = edge.login("cashier")
    client = edge.client(waiter)
    kiosk = edge.client(edge.tokens["kiosk"])
    for _ in range(10):  # warm up both paths
        ok(kiosk.post("/api/v1/orders", json=ORDER))

    started = time.perf_counter()
    for _ in range(n):
        ok(kiosk.post("/api/v1/orders", json=ORDER, headers=key()))
    create_s = (time.perf_counter() - started) / n
    emit(bench="order_create", n=n, per_second=round(1 / create_s, 1), ms=round(create_s * 1000, 2))

    bill = ok(client.post("/api/v1/tables/tbl-a1/seat", json={"covers": 4}, headers=key()))
    path = f"/api/v1/orders/{bill['id']}"
    for _ in range(5):  # 50 lines: 40 sent, 10 held
        ok(client.post(f"{path}/lines", json={"lines": [WATER] * 8 + [dict(KLEPON, hold=True)] * 2},
                       headers=key()))
    bill = ok(client.get(path))
    assert len(bill["lines"]) == 50
    held = [line["id"] for line in bill["lines"] if line["state"] == "held"]
    round_times, patch_times = [], []
    for i in range(n):
        t0 = time.perf_counter()
        if i % 2 == 0:
            bill = ok(client.post(f"{path}/lines", json={"lines": [dict(KLEPON, hold=True)]},
                                  headers=key()))
            round_times.append(time.perf_counter() - t0)
        else:
            bill = ok(client.patch(f"{path}/lines/{held[i % len(held)]}",
                                   json={"qty": 1 + i % 5},
                                   headers={"If-Match": str(bill["revision"])}))
            patch_times.append(time.perf_counter() - t0)
    amend_s = (sum(round_times) + sum(patch_times)) / n
    emit(bench="bill_amend", n=n, lines_at_start=50, lines_at_end=len(bill["lines"]),
         per_second=round(1 / amend_s, 1), ms=round(amend_s * 1000, 2),
         add_round=stats(round_times), patch_line=stats(patch_times),
         ratio_to_order_create=round(create_s / amend_s, 3))

    screen = Screen(edge.base_url, edge.tokens["kds"])
    time.sleep(0.5)
    try:
        fire_lat, order_lat = [], []
        for _ in range(fires):
            t0 = time.perf_counter()
            order = ok(kiosk.post("/api/v1/orders", json=ORDER, headers=key()))
            order_lat.append(screen.wait(order["id"], "") - t0)
        for i in range(fires):
            table = f"tbl-t{1 + i % 6}" if i % 2 else f"tbl-a{2 + i % 7}"
            seated = client.post(f"/api/v1/tables/{table}/seat", json={"covers": 2}, headers=key())
            if seated.status_code == 409:  # still open from a previous lap: use that bill
                bill = ok(client.get(f"/api/v1/tables/{table}"))["orders"][0]
            else:
                bill = ok(seated)
            ok(client.post(f"/api/v1/orders/{bill['id']}/lines",
                           json={"lines": [dict(KLEPON, hold=True)]}, headers=key()))
            t0 = time.perf_counter()
            ok(client.post(f"/api/v1/orders/{bill['id']}/fire", json={"course": "pencuci_mulut"},
                           headers=key()))
            fire_lat.append(screen.wait(bill["id"], "pencuci_mulut") - t0)
            screen.arrived.pop((bill["id"], "pencuci_mulut"), None)
        emit(bench="kds_latency", order_create=stats(order_lat), fired_course=stats(fire_lat),
             ratio_fire_to_order=round(statistics.median(fire_lat) / statistics.median(order_lat), 3))
    finally:
        screen.close()


if __name__ == "__main__":
    main()
