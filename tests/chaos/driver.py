"""The order driver: a seeded stream of real outlet traffic against the edge's HTTP API.

Cashier workers place orders (random products with valid modifier choices, dine-in or
takeaway), pay most of them (cash with change, card with a reference, sometimes split), void
some (unpaid ones as the cashier, paid ones as a manager) and complete some; a kitchen worker
bumps pending tickets on the KDS. Each worker has its own ``random.Random`` derived from the
run's seed.

The edge may be killed at any moment, so every call survives a dead edge: it retries until
the edge answers again. A retried order creation carries the same ``Idempotency-Key``
(exactly one order); a payment or void whose reply was lost is re-checked by reading the
order before it is tried again, so the driver never pays twice by its own mistake.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["DriverStats", "OrderDriver"]


class EdgeGone(RuntimeError):
    """The edge did not come back within the driver's patience."""


@dataclass
class DriverStats:
    orders: int = 0
    payments: int = 0
    voids: int = 0
    completed: int = 0
    bumps: int = 0
    retries: int = 0
    refusals: Counter[str] = field(default_factory=Counter)  # 4xx codes the edge answered
    server_errors: list[str] = field(default_factory=list)  # 5xx: always a finding

    def as_dict(self) -> dict[str, Any]:
        return {"orders": self.orders, "payments": self.payments, "voids": self.voids,
                "completed": self.completed, "bumps": self.bumps, "retries": self.retries,
                "refusals": dict(self.refusals), "server_errors": self.server_errors[:20]}


class OrderDriver:
    def __init__(self, base_url: str, tokens: dict[str, str], pins: dict[str, str], seed: int, *,
                 orders: int, workers: int = 3, pay_rate: float = 0.8,
                 void_rate: float = 0.07, complete_rate: float = 0.3,
                 patience: float = 90.0,
                 on_order: Callable[[int], None] | None = None) -> None:
        self.base_url = base_url
        self.tokens = dict(tokens)  # device tokens: "cashier", "kds"
        self.pins = pins  # staff PINs by role: "cashier", "manager"
        self.seed = seed
        self.target = orders
        self.workers = workers
        self.pay_rate, self.void_rate, self.complete_rate = pay_rate, void_rate, complete_rate
        self.patience = patience
        self.on_order = on_order
        self.stats = DriverStats()
        self._claimed = 0
        self._menu: dict[str, Any] = {}
        self._done = asyncio.Event()
        self._login_lock = asyncio.Lock()
        # (order id, next look at, give up at), monotonic seconds
        self._ready_to_complete: list[tuple[str, float, float]] = []

    # -- plumbing ----------------------------------------------------------------------

    async def _token(self, client: httpx.AsyncClient, role: str) -> str:
        """A device token ("cashier", "kds") or a staff token ("staff:cashier", ...), logging
        the staff member in on the cashier device when needed."""
        if role not in self.tokens:
            # One login at a time: the edge refuses concurrent PIN attempts on one device
            # (429 rate_limited), which is what the workers do together after an edge restart.
            async with self._login_lock:
                staff_role = role.split(":", 1)[1]
                while role not in self.tokens:
                    reply = await self._call(client, "POST", "/api/v1/auth/login",
                                             role="cashier", json={"pin": self.pins[staff_role]})
                    assert reply is not None, "login without an answer"
                    if reply.status_code == 429:
                        await asyncio.sleep(float(reply.headers.get("retry-after") or 1))
                        continue
                    assert reply.status_code == 200, reply.text
                    self.tokens[role] = reply.json()["access_token"]
        return self.tokens[role]

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, *,
                    role: str, json: Any = None, headers: dict[str, str] | None = None,
                    retry: bool = True) -> httpx.Response | None:
        """One request; transport failures (edge dead) are retried until ``patience``.

        Returns None when ``retry`` is False and the outcome is unknown (the caller re-reads).
        An expired staff token (the edge clock may jump days) is renewed and the call repeated.
        """
        deadline = time.monotonic() + self.patience
        while True:
            token = await self._token(client, role)
            try:
                reply = await client.request(method, path, json=json, headers={
                    "Authorization": f"Bearer {token}", **(headers or {})})
            except httpx.TransportError:
                self.stats.retries += 1
                if time.monotonic() > deadline:
                    raise EdgeGone(f"edge unreachable for {self.patience:.0f} s") from None
                await asyncio.sleep(0.2)
                if not retry:
                    return None
                continue
            if reply.status_code >= 500:
                self.stats.server_errors.append(f"{method} {path}: {reply.status_code} "
                                                f"{reply.text[:200]}")
                if time.monotonic() > deadline:
                    return reply
                await asyncio.sleep(0.2)
                if not retry:
                    return None
                continue
            if reply.status_code == 401 and role.startswith("staff:"):
                self.tokens.pop(role, None)
                continue
            if reply.status_code >= 400:
                code = "?"
                try:
                    code = reply.json()["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    pass
                self.stats.refusals[f"{method} {path.split('/')[3]}:{code}"] += 1
            return reply

    async def _order(self, client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
        reply = await self._call(client, "GET", f"/api/v1/orders/{order_id}",
                                 role="cashier")
        assert reply is not None and reply.status_code == 200, reply and reply.text
        return reply.json()

    # -- traffic -------------------------------------------------------------------------

    def _lines(self, rng: random.Random) -> list[dict[str, Any]]:
        products = [p for p in self._menu["products"] if p.get("available", True)]
        groups = {g["id"]: g for g in self._menu.get("modifier_groups", [])}
        lines = []
        for product in rng.sample(products, k=rng.choice([1, 1, 2, 2, 3, 4])):
            chosen: list[str] = []
            for group_id in product.get("modifier_group_ids", []):
                group = groups[group_id]
                options = [o for o in group["options"] if o.get("available", True)]
                low, high = group["min_choices"], min(group["max_choices"], len(options))
                chosen += [o["id"] for o in rng.sample(options, k=rng.randint(low, high))]
            line: dict[str, Any] = {"product_id": product["id"], "qty": rng.choice([1, 1, 1, 2, 3])}
            if chosen:
                line["modifiers"] = chosen
            if rng.random() < 0.1:
                line["note"] = rng.choice(["no onion", "extra napkins", "less salt"])
            lines.append(line)
        return lines

    async def _place(self, client: httpx.AsyncClient, rng: random.Random) -> dict[str, Any]:
        body = {"type": rng.choice(["dine_in", "takeaway"]), "lines": self._lines(rng)}
        if body["type"] == "dine_in":
            body["table"] = f"T{rng.randint(1, 30)}"
        key = uuid.UUID(int=rng.getrandbits(128)).hex
        reply = await self._call(client, "POST", "/api/v1/orders", role="staff:cashier",
                                 json=body, headers={"Idempotency-Key": key})
        assert reply is not None and reply.status_code in (200, 201), reply and reply.text
        self.stats.orders += 1
        return reply.json()

    async def _pay(self, client: httpx.AsyncClient, rng: random.Random,
                   order: dict[str, Any]) -> dict[str, Any]:
        total = order["total"]
        parts = [total]
        if total > 2 and rng.random() < 0.15:
            first = rng.randint(1, total - 1)
            parts = [first, total - first]
        for amount in parts:
            if rng.random() < 0.5:
                tendered = -(-amount // 10000) * 10000 if rng.random() < 0.7 else amount
                payment = {"method": "cash", "amount": amount, "tendered": tendered}
            else:
                payment = {"method": "card", "amount": amount,
                           "reference": f"AUTH{rng.randint(100000, 999999)}"}
            paid_before = order["paid"]
            while True:
                reply = await self._call(client, "POST", f"/api/v1/orders/{order['id']}/payments",
                                         role="staff:cashier", json=payment, retry=False)
                if reply is not None:
                    break
                # Reply lost (edge killed): did the payment land? Never pay twice.
                order = await self._order(client, order["id"])
                if order["paid"] >= paid_before + amount:
                    break
            if reply is not None:
                if reply.status_code != 200:
                    return order
                order = reply.json()
            self.stats.payments += 1
        return order

    async def _void(self, client: httpx.AsyncClient, rng: random.Random,
                    order: dict[str, Any]) -> None:
        role = "staff:manager" if order["paid"] else "staff:cashier"
        while True:
            reply = await self._call(client, "POST", f"/api/v1/orders/{order['id']}/void",
                                     role=role, json={"reason": rng.choice(
                                         ["customer left", "wrong item", "test"])}, retry=False)
            if reply is not None:
                if reply.status_code == 200:
                    self.stats.voids += 1
                return
            if (await self._order(client, order["id"]))["status"] == "voided":
                self.stats.voids += 1
                return

    async def _cashier(self, index: int) -> None:
        rng = random.Random(f"{self.seed}:cashier:{index}")
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            while self._claimed < self.target:
                self._claimed += 1
                order = await self._place(client, rng)
                if self.on_order:
                    self.on_order(self.stats.orders)
                roll = rng.random()
                if roll < self.pay_rate:
                    order = await self._pay(client, rng, order)
                if rng.random() < self.void_rate and order["status"] not in ("voided",
                                                                            "completed"):
                    await self._void(client, rng, order)
                elif order["paid"] >= order["total"] and rng.random() < self.complete_rate:
                    now = time.monotonic()
                    self._ready_to_complete.append((order["id"], now + 0.3, now + 20))
                await self._complete_some(client)

    async def _complete_some(self, client: httpx.AsyncClient) -> None:
        """Hand over paid orders the kitchen has finished (ready): at most three looks per
        sale, each order looked at no more than every 0.3 s and given up after 20 s."""
        now = time.monotonic()
        due = [item for item in self._ready_to_complete if item[1] <= now][:3]
        for item in due:
            self._ready_to_complete.remove(item)  # shared by the workers: claim it first
        for order_id, _next_look, give_up in due:
            order = await self._order(client, order_id)
            if order["status"] == "ready":
                reply = await self._call(client, "POST", f"/api/v1/orders/{order_id}/complete",
                                         role="staff:cashier", retry=False)
                if reply is None:
                    order = await self._order(client, order_id)
                if (reply is not None and reply.status_code == 200) or order["status"] == "completed":
                    self.stats.completed += 1
            elif order["status"] in ("in_kitchen", "placed") and time.monotonic() < give_up:
                self._ready_to_complete.append((order_id, time.monotonic() + 0.3, give_up))

    async def _kitchen(self) -> None:
        rng = random.Random(f"{self.seed}:kitchen")
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            while not self._done.is_set():
                reply = await self._call(client, "GET", "/api/v1/kitchen/tickets?status=pending",
                                         role="kds")
                tickets = reply.json()["items"] if reply is not None and reply.status_code == 200 \
                    else []
                for ticket in tickets:
                    if rng.random() < 0.7:
                        bumped = await self._call(client, "POST",
                                                  f"/api/v1/kitchen/tickets/{ticket['id']}/bump",
                                                  role="kds", retry=False)
                        if bumped is not None and bumped.status_code == 200:
                            self.stats.bumps += 1
                await asyncio.sleep(0.05 if tickets else 0.2)

    async def run(self) -> DriverStats:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            reply = await self._call(client, "GET", "/api/v1/menu", role="cashier")
            assert reply is not None and reply.status_code == 200, reply and reply.text
            self._menu = reply.json()
        kitchen = asyncio.create_task(self._kitchen())
        try:
            await asyncio.gather(*(self._cashier(i) for i in range(self.workers)))
        finally:
            self._done.set()
            await kitchen
        return self.stats
