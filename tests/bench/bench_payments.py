"""Benchmark of QRIS payments: create -> confirmation on the cashier's live stream, and the
edge's order throughput with payments mixed in.

Real processes (tests/chaos/payments.py ``start_cluster``): ``pos-hub serve`` on PostgreSQL,
a provisioned ``pos-edge serve`` syncing through the (clean) proxy, the fake Midtrans
(``demo.fake_gateways``) whose notifications go to the hub; the outlet's gateway is set at
the hub and reaches the box through the pull feed. The edge pulls every
``POS_SYNC_PULL_INTERVAL`` seconds (``--pull-interval``, default 1; the product's default is
30). The cashier holds ``WS /api/v1/stream?topics=orders`` open. Prints JSON lines:

* ``confirm_poll``  - the webhook is dropped by the fake: the edge's poller finds the payment.
  Per payment: ``create`` (POST /orders/{id}/payment-attempts answered), ``pay_to_stream``
  (the fake's pay action answered -> the attempt's ``paid`` frame on the cashier's stream)
  and ``create_to_stream`` (the create sent -> that frame). The customer pays a seeded
  random 0 to ``--pay-within`` seconds after the QR is shown (scanning takes a moment; it
  also spreads the payments over the poller's schedule).
* ``confirm_relay`` - the gateway's API is down after the QR is made (the poller learns
  nothing): the fake's webhook goes to the hub, which relays it down the pull feed.
* ``throughput``    - closed loop, the same workers and seconds: plain orders, then orders of
  which ``--qris-share`` are paid by QRIS (attempt created, paid on the fake, confirmed by the
  poller meanwhile), with ``ratio`` = mixed orders/s / plain orders/s, the edge process's CPU
  per order in each phase (``/proc/<pid>/stat``: what a free core sustains, whatever else
  runs on the machine) and how many of the mixed run's QRs were confirmed within 30 s.

Run: .venv/bin/python tests/bench/bench_payments.py [--payments 40] [--workers 16]
     [--seconds 10] [--qris-share 0.3] [--pull-interval 1] [--pay-within 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Self

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httpx
from websockets.asyncio.client import connect as ws_connect

from tests.chaos import payments as chaos_payments
from tests.chaos.cluster import PINS


def emit(**fields: Any) -> None:
    print(json.dumps({**fields, "load_1m": round(os.getloadavg()[0], 2)}), flush=True)


def percentiles(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(pick(0.95) * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


class Stream:
    """The cashier's live stream; remembers when each attempt's ``paid`` frame arrived."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.paid_at: dict[str, float] = {}
        self.arrived: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._socket = await ws_connect(self.url, open_timeout=30, max_size=None)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await self._socket.close()

    async def _read(self) -> None:
        async for text in self._socket:
            frame = json.loads(text)
            data = frame.get("data") or {}
            if frame.get("type") == "payment_attempt" and data.get("status") == "paid":
                self.paid_at.setdefault(data["id"], time.monotonic())
                self.arrived.setdefault(data["id"], asyncio.Event()).set()

    async def wait_paid(self, attempt_id: str, timeout: float = 60) -> float:
        event = self.arrived.setdefault(attempt_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)
        return self.paid_at[attempt_id]


async def _order(client: httpx.AsyncClient, product: str) -> dict[str, Any]:
    reply = await client.post("/api/v1/orders", json={
        "type": "takeaway", "lines": [{"product_id": product, "qty": 1}]},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert reply.status_code == 201, reply.text
    return reply.json()  # type: ignore[no-any-return]


async def _qr(client: httpx.AsyncClient, order: dict[str, Any]) -> dict[str, Any]:
    reply = await client.post(f"/api/v1/orders/{order['id']}/payment-attempts",
                              json={"method": "qris", "amount": order["total"]})
    assert reply.status_code == 201 and reply.json()["mode"] == "gateway", reply.text
    return reply.json()  # type: ignore[no-any-return]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def confirmations(client: httpx.AsyncClient, fake: httpx.AsyncClient, stream: Stream,
                        product: str, count: int, *, relay: bool, pay_within: float,
                        rng: random.Random) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"create": [], "pay_to_stream": [], "create_to_stream": []}
    for _ in range(count):
        order = await _order(client, product)
        sent = time.monotonic()
        attempt = await _qr(client, order)
        found["create"].append(time.monotonic() - sent)
        if relay:
            await fake.post("/_fake/faults", json={"down": True})
        await asyncio.sleep(rng.uniform(0, pay_within))  # the customer scans and pays
        paid = await fake.post(f"/_fake/v2/{attempt['gateway_order_id']}/pay")
        assert paid.status_code == 200, paid.text
        paid_done = time.monotonic()
        shown = await stream.wait_paid(attempt["id"])
        found["pay_to_stream"].append(shown - paid_done)
        found["create_to_stream"].append(shown - sent)
        if relay:
            await fake.post("/_fake/faults", json={"down": False})
    return found


async def throughput(base_url: str, token: str, fake_url: str, products: list[str],
                     workers: int, seconds: float, qris_share: float,
                     seed: int) -> tuple[int, list[str]]:
    """Orders placed in ``seconds`` by ``workers`` clients; the QRIS attempts paid meanwhile."""
    paid: list[str] = []
    done = 0
    stop_at = time.monotonic() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        rng = random.Random(f"{seed}:{index}")
        async with httpx.AsyncClient(base_url=base_url, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as client, \
                httpx.AsyncClient(base_url=fake_url, timeout=30) as fake:
            while time.monotonic() < stop_at:
                order = await _order(client, rng.choice(products))
                done += 1
                if rng.random() < qris_share:
                    attempt = await _qr(client, order)
                    answer = await fake.post(f"/_fake/v2/{attempt['gateway_order_id']}/pay")
                    assert answer.status_code == 200, answer.text
                    paid.append(attempt["id"])

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return done, paid


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-payments-"))
    cluster, gateway = chaos_payments.start_cluster(workdir, 77, "midtrans",
                                                    proxy_profile="clean",
                                                    pull_interval=args.pull_interval)
    try:
        assert cluster.edge is not None and cluster.proxy is not None
        cluster.proxy.configure(mode="pass")
        base = cluster.edge.url
        async with httpx.AsyncClient(base_url=base, timeout=30) as device:
            device.headers["Authorization"] = f"Bearer {cluster.tokens['cashier']}"
            login = await device.post("/api/v1/auth/login", json={"pin": PINS["cashier"]})
            assert login.status_code == 200, login.text
            staff_token = login.json()["access_token"]
            menu = (await device.get("/api/v1/menu")).json()
        products = [p["id"] for p in menu["products"] if not p["modifier_group_ids"]]
        stream_url = (base.replace("http://", "ws://") + "/api/v1/stream?topics=orders"
                      f"&token={cluster.tokens['cashier']}")
        async with httpx.AsyncClient(base_url=base, timeout=30, headers={
                "Authorization": f"Bearer {staff_token}"}) as client, \
                httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as fake, \
                Stream(stream_url) as stream:
            rng = random.Random(11)
            await fake.post("/_fake/faults", json={"webhook_drop": 1.0})
            poll = await confirmations(client, fake, stream, products[0], args.payments,
                                       relay=False, pay_within=args.pay_within, rng=rng)
            emit(bench="confirm_poll", path="poller (webhooks dropped)",
                 pay_within_s=args.pay_within,
                 **{k: percentiles(v) for k, v in poll.items()})
            await fake.post("/_fake/faults", json={"webhook_drop": 0.0})
            relay = await confirmations(client, fake, stream, products[0], args.payments,
                                        relay=True, pay_within=args.pay_within, rng=rng)
            emit(bench="confirm_relay", path="webhook -> hub -> pull feed (gateway API down)",
                 pull_interval_s=args.pull_interval, pay_within_s=args.pay_within,
                 **{k: percentiles(v) for k, v in relay.items()})

            pid = cluster.edge.process.pid if cluster.edge.process else 0
            cpu = cpu_seconds(pid)
            plain, _ = await throughput(base, staff_token, gateway.base_url, products,
                                        args.workers, args.seconds, 0.0, 1)
            plain_cpu, cpu = cpu_seconds(pid) - cpu, cpu_seconds(pid)
            mixed, paid = await throughput(base, staff_token, gateway.base_url, products,
                                           args.workers, args.seconds, args.qris_share, 2)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(a in stream.paid_at for a in paid):
                await asyncio.sleep(0.2)
            confirmed = sum(1 for a in paid if a in stream.paid_at)
            mixed_cpu = cpu_seconds(pid) - cpu  # the confirmations' work included
        plain_rate, mixed_rate = plain / args.seconds, mixed / args.seconds
        emit(bench="throughput", workers=args.workers, seconds=args.seconds,
             qris_share=args.qris_share, plain_orders_per_s=round(plain_rate, 1),
             mixed_orders_per_s=round(mixed_rate, 1), qris_in_mixed=len(paid),
             qris_confirmed_within_30s=confirmed,
             ratio=round(mixed_rate / plain_rate, 3) if plain_rate else None,
             cpu_ms_per_order_plain=round(plain_cpu * 1000 / max(plain, 1), 2),
             cpu_ms_per_order_mixed=round(mixed_cpu * 1000 / max(mixed, 1), 2),
             cpu_ms_per_qris_payment=round((mixed_cpu - plain_cpu * mixed / max(plain, 1))
                                           * 1000 / max(len(paid), 1), 2))
    finally:
        gateway.stop()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=40, help="payments per path")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--qris-share", type=float, default=0.3)
    parser.add_argument("--pull-interval", type=float, default=1.0)
    parser.add_argument("--pay-within", type=float, default=3.0,
                        help="the customer pays 0 to this many seconds after the QR shows")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
