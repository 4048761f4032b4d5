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

Waiter workers (``dinners`` > 0) serve tables through the edge's table-service endpoints
(docs/table-service.md): seat a party at a free table of their own section, add rounds (drinks
sent at once, mains held), fire the held course, void a sent line (a manager's PIN in
``X-Manager-PIN`` when the edge asks for one), and end the dinner one of several ways: paid
and closed; split by item, by seat or evenly with every part paid and closed; moved to another
table first; a second table's bill merged in (after one of its lines was moved over); or left
open (a split part unpaid, a bill still eating). Closed tables are cleaned. Every one of those
calls carries its own ``Idempotency-Key`` and is retried with it while the edge is away, as an
order creation is; payments and closings are re-checked by reading the bill.
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

# How a dinner ends: the dinners go through these in a seeded order, again and again (by the
# order the waiters take them), so any six dinners in a row have every kind; near the end of
# the run some bills are left open.
ENDINGS = ["pay", "split_item", "split_seat", "split_even", "move", "merge"]


class EdgeGone(RuntimeError):
    """The edge did not come back within the driver's patience."""


class DinnerFailed(RuntimeError):
    """The edge refused a table-service step the driver had every right to take."""


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
    tables: Counter[str] = field(default_factory=Counter)  # table-service steps done
    table_errors: list[str] = field(default_factory=list)  # DinnerFailed: always a finding

    def as_dict(self) -> dict[str, Any]:
        return {"orders": self.orders, "payments": self.payments, "voids": self.voids,
                "completed": self.completed, "bumps": self.bumps, "retries": self.retries,
                "refusals": dict(self.refusals), "server_errors": self.server_errors[:20],
                "tables": dict(sorted(self.tables.items())),
                "table_errors": self.table_errors[:20]}


class OrderDriver:
    def __init__(self, base_url: str, tokens: dict[str, str], pins: dict[str, str], seed: int, *,
                 orders: int, workers: int = 3, pay_rate: float = 0.8,
                 void_rate: float = 0.07, complete_rate: float = 0.3,
                 patience: float = 90.0,
                 on_order: Callable[[int], None] | None = None,
                 dinners: int = 0, waiters: int = 2) -> None:
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
        self._failing: dict[int, int] = {}  # transport failures in a row, by id of the client
        # not the login's: a call may log in again (an expired token) while holding this one
        self._manager_pin_lock = asyncio.Lock()
        # (order id, next look at, give up at), monotonic seconds
        self._ready_to_complete: list[tuple[str, float, float]] = []
        self.dinners, self.waiters = dinners, waiters
        self._dinners_claimed = 0
        self._table_ids: list[str] = []
        self._courses: dict[str, str] = {}
        self._endings = list(ENDINGS)
        random.Random(f"{seed}:endings").shuffle(self._endings)

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
                # A first failure is often a kept-alive connection the edge has just closed
                # (its idle timeout fires at every jump of the outage run's clock): the call
                # (or, with retry=False, the caller's next one) goes again at once; while the
                # edge stays away, every 0.2 s. Failures are counted per client, in a row, so
                # a caller that loops on retry=False gets the pause from its second try on.
                in_a_row = self._failing.get(id(client), 0)
                self._failing[id(client)] = in_a_row + 1
                if in_a_row:
                    await asyncio.sleep(0.2)
                if not retry:
                    return None
                continue
            self._failing.pop(id(client), None)
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

    # -- table service -----------------------------------------------------------------

    def _round_lines(self, rng: random.Random, covers: int, *,
                     hold_mains: bool) -> list[dict[str, Any]]:
        """A round: drinks (bar products) in course "minuman", the rest "makanan", each on a
        guest's seat or shared (0); with ``hold_mains`` the food waits to be fired."""
        lines = self._lines(rng)
        for line in lines:
            line["course"] = self._courses.get(line["product_id"], "makanan")
            line["seat"] = rng.randint(0, covers)
            if hold_mains and line["course"] != "minuman":
                line["hold"] = True
        return lines

    async def _step(self, client: httpx.AsyncClient, rng: random.Random, path: str,
                    body: Any, what: str, *, ok: tuple[int, ...] = (200,),
                    headers: dict[str, str] | None = None) -> Any:
        """One table-service change with its own Idempotency-Key, retried with that key while
        the edge is away (the edge answers a repeat with the bill as it is, changing nothing)."""
        key = uuid.UUID(int=rng.getrandbits(128)).hex
        reply = await self._call(client, "POST", path, role="staff:cashier", json=body,
                                 headers={"Idempotency-Key": key, **(headers or {})})
        if reply is None or reply.status_code not in ok:
            raise DinnerFailed(f"{what} {path}: {reply.status_code if reply else '-'} "
                               f"{reply.text[:300] if reply else ''}")
        self.stats.tables[what] += 1
        return reply.json()

    async def _free_tables(self, client: httpx.AsyncClient, section: list[str]) -> list[str]:
        reply = await self._call(client, "GET", "/api/v1/tables", role="staff:cashier")
        assert reply is not None and reply.status_code == 200, reply and reply.text
        return [t["id"] for t in reply.json()["items"]
                if t["id"] in section and t["status"] in ("free", "needs_cleaning")]

    async def _void_line(self, client: httpx.AsyncClient, rng: random.Random,
                         bill: dict[str, Any]) -> dict[str, Any]:
        """Void one sent line (never the last one left on the bill); the edge asks for a
        manager above the floor plan's threshold: the PIN comes along on the repeat."""
        sent = [line for line in bill["lines"] if line["state"] == "sent"]
        if len(sent) < 2:
            return bill
        line = rng.choice(sent)
        path = f"/api/v1/orders/{bill['id']}/lines/{line['id']}/void"
        body = {"reason": rng.choice(["wrong item", "guest changed mind", "spilled"])}
        headers = {"Idempotency-Key": uuid.UUID(int=rng.getrandbits(128)).hex}
        reply = await self._call(client, "POST", path, role="staff:cashier", json=body,
                                 headers=headers)
        if reply is not None and reply.status_code == 403 and (
                reply.json().get("error", {}).get("details") or {}).get("approval") == "manager":
            self.stats.tables["void_manager_pin"] += 1
            # A PIN typed on the cashier device: one at a time there, as logins are (the
            # edge answers concurrent PIN attempts on one device with 429), and after a 429
            # the manager types it again once the edge says so.
            async with self._manager_pin_lock:
                while True:
                    reply = await self._call(
                        client, "POST", path, role="staff:cashier", json=body,
                        headers={**headers, "X-Manager-PIN": self.pins["manager"]})
                    if reply is None or reply.status_code != 429:
                        break
                    self.stats.tables["void_pin_waited"] += 1
                    await asyncio.sleep(float(reply.headers.get("retry-after") or 1))
        if reply is None or reply.status_code != 200:
            raise DinnerFailed(f"void line {path}: {reply.status_code if reply else '-'} "
                               f"{reply.text[:300] if reply else ''}")
        self.stats.tables["lines_voided"] += 1
        return reply.json()

    async def _close(self, client: httpx.AsyncClient, rng: random.Random,
                     bill: dict[str, Any]) -> None:
        """Pay what is due (cash or card, sometimes in two) and complete the bill; a lost
        answer is checked by reading the bill, never paid or completed twice."""
        if bill["paid"] < bill["total"]:
            bill = await self._pay(client, rng, bill)
            if bill["paid"] < bill["total"]:
                raise DinnerFailed(f"bill {bill['id']} not paid: {bill['paid']} of {bill['total']}")
            self.stats.tables["bills_paid"] += 1
        while True:
            reply = await self._call(client, "POST", f"/api/v1/orders/{bill['id']}/complete",
                                     role="staff:cashier", retry=False)
            if reply is None:
                if (await self._order(client, bill["id"]))["status"] == "completed":
                    break
                continue
            if reply.status_code != 200:
                raise DinnerFailed(f"complete {bill['id']}: {reply.status_code} {reply.text[:300]}")
            break
        self.stats.tables["bills_completed"] += 1

    async def _clean(self, client: httpx.AsyncClient, table_id: str) -> None:
        reply = await self._call(client, "POST", f"/api/v1/tables/{table_id}/clean",
                                 role="staff:cashier")
        if reply is None or reply.status_code != 200:
            raise DinnerFailed(f"clean {table_id}: {reply.status_code if reply else '-'} "
                               f"{reply.text[:300] if reply else ''}")
        self.stats.tables["tables_cleaned"] += 1

    async def _dinner(self, client: httpx.AsyncClient, rng: random.Random, section: list[str],
                      ending: str, closing: bool) -> None:
        """One party from seating to a clean table (or, near the end, a bill left open)."""
        free = await self._free_tables(client, section)
        if not free:
            self.stats.tables["no_free_table"] += 1
            await asyncio.sleep(0.2)
            return
        table = rng.choice(free)
        covers = rng.randint(1, 6)
        bill = await self._step(client, rng, f"/api/v1/tables/{table}/seat", {"covers": covers},
                                "seated", ok=(200, 201))
        rounds = f"/api/v1/orders/{bill['id']}/lines"
        bill = await self._step(client, rng, rounds, {"lines": self._round_lines(
            rng, covers, hold_mains=True)}, "rounds")
        if rng.random() < 0.6:
            bill = await self._step(client, rng, rounds, {"lines": self._round_lines(
                rng, covers, hold_mains=False)}, "rounds")
        if any(line["state"] == "held" for line in bill["lines"]):
            bill = await self._step(client, rng, f"/api/v1/orders/{bill['id']}/fire",
                                    {"course": rng.choice(["makanan", ""])}, "courses_fired")
        if rng.random() < 0.7:
            bill = await self._void_line(client, rng, bill)
        if rng.random() < 0.3:
            bill = await self._step(client, rng, f"/api/v1/orders/{bill['id']}/request-bill",
                                    None, "bills_requested")
        ending = "open" if closing and rng.random() < 0.3 else ending
        active = [line for line in bill["lines"] if line["state"] != "voided"]
        if ending in ("split_item", "split_seat") and len(active) < 2:  # one more round first
            bill = await self._step(client, rng, rounds, {"lines": self._round_lines(
                rng, covers, hold_mains=False)}, "rounds")
            active = [line for line in bill["lines"] if line["state"] != "voided"]
        if ending == "split_seat" and len({line["seat"] for line in active}) < 2:
            ending = "split_even"
        if ending == "split_item" and len(active) < 2:
            ending = "split_even"
        self.stats.tables[f"ending_{ending}"] += 1
        tables_used = [table]
        if ending == "open":
            return
        if ending == "move":
            others = [t for t in await self._free_tables(client, section) if t != table]
            if others:
                table = rng.choice(others)
                bill = await self._step(client, rng, f"/api/v1/orders/{bill['id']}/move",
                                        {"table_id": table}, "moves")
                tables_used.append(table)
        elif ending == "merge":
            others = [t for t in await self._free_tables(client, section) if t != table]
            if others:
                other_table = rng.choice(others)
                tables_used.append(other_table)
                other = await self._step(client, rng, f"/api/v1/tables/{other_table}/seat",
                                         {"covers": rng.randint(1, 4)}, "seated", ok=(200, 201))
                for _ in range(2):  # two rounds: at least two lines, one of them moves over
                    other = await self._step(client, rng, f"/api/v1/orders/{other['id']}/lines",
                                             {"lines": self._round_lines(rng, 2, hold_mains=False)},
                                             "rounds")
                if len(other["lines"]) > 1:
                    moved = await self._step(
                        client, rng, f"/api/v1/orders/{other['id']}/move-lines",
                        {"line_ids": [rng.choice(other["lines"])["id"]],
                         "to_order_id": bill["id"]}, "lines_moved")
                    bill, other = moved["to"], moved["from"]
                bill = await self._step(client, rng, f"/api/v1/orders/{bill['id']}/merge",
                                        {"order_id": other["id"]}, "merges")
        if ending.startswith("split"):
            path = f"/api/v1/orders/{bill['id']}/split"
            if ending == "split_item":
                ids = [line["id"] for line in active]
                rng.shuffle(ids)
                n = rng.randint(2, min(3, len(ids)))
                body: dict[str, Any] = {"parts": [{"line_ids": ids[k::n]} for k in range(n)]}
            elif ending == "split_seat":
                body = {"by": "seat"}
            else:
                body = {"even": rng.randint(2, 4)}
            parts = (await self._step(client, rng, path, body, ending, ok=(200, 201)))["orders"]
            self.stats.tables["split_parts"] += len(parts)
            left_open = rng.randrange(len(parts)) if closing and rng.random() < 0.5 else -1
            for k, part in enumerate(parts):
                if k == left_open:
                    self.stats.tables["parts_left_open"] += 1
                    continue
                await self._close(client, rng, part)
            if left_open >= 0:
                return
        else:
            await self._close(client, rng, bill)
        for used in tables_used:
            await self._clean(client, used)
        self.stats.tables["dinners_done"] += 1

    async def _waiter(self, index: int) -> None:
        rng = random.Random(f"{self.seed}:waiter:{index}")
        section = self._table_ids[index::self.waiters]
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            while self._dinners_claimed < self.dinners:
                self._dinners_claimed += 1
                closing = self._dinners_claimed > self.dinners - self.waiters
                ending = self._endings[(self._dinners_claimed - 1) % len(self._endings)]
                try:
                    await self._dinner(client, rng, section, ending, closing)
                except DinnerFailed as exc:
                    self.stats.table_errors.append(str(exc))

    async def _load_floor(self, client: httpx.AsyncClient) -> None:
        """The tables (the floor plan arrives with the box's first pull) and each product's
        course: bar products are drinks."""
        deadline = time.monotonic() + self.patience
        while True:
            reply = await self._call(client, "GET", "/api/v1/tables", role="cashier")
            items = reply.json()["items"] if reply is not None and reply.status_code == 200 else []
            if items:
                self._table_ids = [t["id"] for t in items]
                break
            if time.monotonic() > deadline:
                raise EdgeGone("the edge shows no tables: the floor plan never arrived")
            await asyncio.sleep(0.5)
        stations = {c["id"]: c.get("station", "") for c in self._menu.get("categories", [])}
        self._courses = {p["id"]: "minuman" if stations.get(p.get("category_id")) == "bar"
                         else "makanan" for p in self._menu["products"]}

    async def run(self) -> DriverStats:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            reply = await self._call(client, "GET", "/api/v1/menu", role="cashier")
            assert reply is not None and reply.status_code == 200, reply and reply.text
            self._menu = reply.json()
            if self.dinners:
                await self._load_floor(client)
        kitchen = asyncio.create_task(self._kitchen())
        try:
            await asyncio.gather(*(self._cashier(i) for i in range(self.workers)),
                                 *(self._waiter(i) for i in range(self.waiters if self.dinners
                                                                  else 0)))
        finally:
            self._done.set()
            await kitchen
        return self.stats
