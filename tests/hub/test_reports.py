"""Sales reports equal the raw synced orders, figure by figure (the report oracle).

Orders, payments and kitchen events are generated as an edge would journal them (snapshots
priced by shared.pricing, hash-chained entries) and pushed through the hub's real ingest path
(``hub.ingest.push.ingest_push``). Every report figure is then recomputed here in plain Python from
the raw journal (every entry pushed, decoded again: the latest snapshot of each order by seq)
and compared: through the service on PostgreSQL and SQLite, before and after the roll-up job,
after late changes to rolled-up days, and over HTTP against a real hub process (tenant
isolation, outlet scoping, bad input).

One day of the period also carries table service beside the counter orders
(``tests.hub.table_bills``, issue 12): bills amended in rounds with held courses fired and
voided lines, split by item and evenly (a part left open, a part cancelled), merged bills,
moved parties. The money rules of docs/table-service.md: split and merged bills are no sales
(their parts / the receiving bill are), voided lines are never sold, items count where they
were ordered (a split bill's lines once all its parts are sales, never a part's copies).
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
from sqlalchemy import NullPool, create_engine, select, update

from edge.outbox import chain_hash, genesis_hash
from hub import reports, tenancy
from hub.db import Database, sync_url
from hub.identity import Principal
from hub.ingest import SyncIdentity, ingest_push
from hub.models import STATEMENT_SCALARS, User, report_daily
from hub.schemas import OutletCreate
from shared.errors import BadRequest
from shared.ids import new_id
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    JournalEntry,
    KitchenEvent,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    TaxConfig,
    event_decoder,
    event_encoder,
)
from sync.protocol import PushRequest
from tests.hub.conftest import pg_roles_for
from tests.hub.table_bills import Floor, table_day

PASSWORD = "correct horse battery"
# Europe/Berlin moves to summer time on 2026-03-29 at 01:00 UTC: local hours must follow it.
DAY_FROM, DAY_TO = date(2026, 3, 27), date(2026, 3, 31)
PRODUCTS = [("p-coffee", "Kopi Susu", 25_000), ("p-tea", "Es Teh", 12_000),
            ("p-rice", "Nasi Goreng", 38_000), ("p-noodle", "Mie Ayam", 30_000),
            ("p-cake", "Bolu Pandan", 18_000)]
VOID = ("voided", "cancelled")
NOT_SALE = (*VOID, "split", "merged")
TABLE_DAY = date(2026, 3, 30)


# ---------------------------------------------------------------- generating synced data


@dataclass
class Seeded:
    tenant_id: str
    owner_id: str
    email: str
    outlets: dict[str, str]  # name -> id
    zones: dict[str, ZoneInfo]  # outlet id -> zone
    orders: dict[str, Order] = field(default_factory=dict)  # final snapshots
    payments: list[Payment] = field(default_factory=list)
    kitchen: list[KitchenEvent] = field(default_factory=list)
    journals: dict[str, Journal] = field(default_factory=dict)  # outlet id -> its outbox
    taxes: dict[str, TaxConfig] = field(default_factory=dict)  # outlet id -> how it prices

    def owner(self) -> Principal:
        return Principal(user_id=self.owner_id, tenant_id=self.tenant_id, role="owner",
                         email=self.email)


class Journal:
    """One outlet's outbox: numbered, hash-chained entries, pushed through hub ingest."""

    def __init__(self, outlet_id: str) -> None:
        self.outlet_id = outlet_id
        self.epoch = new_id()
        self.seq = 0
        self.prev = genesis_hash(self.epoch)
        self.pending: list[JournalEntry] = []
        self.sent: list[JournalEntry] = []  # every entry pushed: the oracle reads them

    def append(self, body: Any, at: datetime) -> None:
        self.seq += 1
        raw = event_encoder.encode(body)
        digest = chain_hash(self.prev, self.seq, raw)
        self.pending.append(JournalEntry(outlet_id=self.outlet_id, epoch=self.epoch, seq=self.seq,
                                         event_id=new_id(), occurred_at=at, body=raw,
                                         prev_hash=self.prev, hash=digest))
        self.prev = digest

    async def push(self, db: Database, tenant_id: str, batch: int = 250) -> None:
        who = SyncIdentity(tenant_id, self.outlet_id, "test-credential")
        while self.pending:
            chunk, self.pending = self.pending[:batch], self.pending[batch:]
            self.sent += chunk
            response = await ingest_push(db, who, PushRequest(
                outlet_id=self.outlet_id, epoch=self.epoch, entries=chunk,
                backlog=len(self.pending), edge_version="0.1.0"))
            assert response.status == "ok" and response.quarantined == [], response
            assert response.acked_seq == chunk[-1].seq


def void_late(seeded: Seeded, outlet_id: str) -> tuple[Any, date]:
    """A late sync: a paid, completed order of the period (``outlet_id``'s) is voided three
    days after its last change, in the outlet's journal (not pushed yet). Returns the
    journal and the voided order's business day."""
    victim = next(o for o in seeded.orders.values()
                  if o.status == "completed" and o.paid >= o.total and o.outlet_id == outlet_id
                  and DAY_FROM <= date.fromisoformat(o.business_day) <= DAY_TO)
    journal = seeded.journals[outlet_id]
    later = victim.updated_at + timedelta(days=3)
    voided = _snapshot(victim, status="voided", void_reason="late refund", updated_at=later)
    journal.append(OrderEvent(order=voided), later)
    seeded.orders[victim.id] = voided
    return journal, date.fromisoformat(victim.business_day)


def _snapshot(order: Order, **changes: Any) -> Order:
    values = {f: getattr(order, f) for f in order.__struct_fields__}
    values.update(changes)
    return Order(**values)


def generate_outlet_orders(seeded: Seeded, outlet_id: str, journal: Journal, count: int,
                           rnd: random.Random, tax: TaxConfig,
                           day_from: date = DAY_FROM, day_to: date = DAY_TO) -> None:
    """``count`` orders over the period (plus a day either side), journaled like an edge."""
    zone = seeded.zones[outlet_id]
    start = datetime.combine(day_from - timedelta(days=1), datetime.min.time(), zone)
    span_minutes = ((day_to - day_from).days + 3) * 24 * 60
    for number in range(1, count + 1):
        created = (start + timedelta(minutes=rnd.randrange(span_minutes),
                                     microseconds=rnd.randrange(1_000_000))).astimezone(UTC)
        business_day = created.astimezone(zone).date().isoformat()
        picked = rnd.sample(PRODUCTS, rnd.randint(1, 3))
        qtys = [rnd.randint(1, 3) for _ in picked]
        discount = rnd.choice([0, 0, 0, 5_000])
        totals = price_order([PricedLine(base_price=p, qty=q) for (_, _, p), q in zip(picked, qtys)],
                             tax, discount)
        lines = [OrderLine(id=new_id(), product_id=pid, name=name, qty=q, unit_price=price,
                           line_total=price * q)
                 for (pid, name, price), q in zip(picked, qtys)]
        order = Order(id=new_id(), outlet_id=outlet_id, number=number, business_day=business_day,
                      type=rnd.choice(["dine_in", "takeaway"]), status="in_kitchen",
                      currency="IDR", lines=lines, subtotal=totals.subtotal,
                      discount=totals.discount, service_charge=totals.service_charge,
                      tax=totals.tax, rounding=totals.rounding, total=totals.total,
                      created_at=created, updated_at=created, source="kiosk-1")
        journal.append(OrderEvent(order=order), created)
        tickets = [new_id() for _ in range(rnd.choice([1, 1, 2]))]
        for ticket in tickets:
            journal.append(KitchenEvent(ticket_id=ticket, order_id=order.id, station="kitchen",
                                        action="created", at=created), created)
            seeded.kitchen.append(KitchenEvent(ticket_id=ticket, order_id=order.id,
                                               station="kitchen", action="created", at=created))
        fate = rnd.random()
        clock = created
        payments: list[Payment] = []
        if fate >= 0.10:  # everything but "voided before paying" pays something
            methods = ["cash", "card", "qris", "ewallet"]
            due = order.total
            parts = [due] if rnd.random() < 0.8 or due < 2 else [due // 2, due - due // 2]
            if 0.25 <= fate < 0.30:
                parts = [max(1, due // 3)]  # partly paid, still open
            for amount in parts:
                clock += timedelta(seconds=rnd.randint(5, 90))
                payment = Payment(id=new_id(), order_id=order.id, method=rnd.choice(methods),
                                  amount=amount, tendered=amount, created_at=clock)
                payments.append(payment)
                journal.append(PaymentEvent(payment=payment), clock)
            order = _snapshot(order, paid=sum(p.amount for p in payments), payments=payments,
                              updated_at=clock)
            journal.append(OrderEvent(order=order), clock)
        for ticket in tickets:
            if rnd.random() < 0.08:
                continue  # still cooking
            bump = created + timedelta(seconds=rnd.randint(45, 1500), microseconds=rnd.randrange(10**6))
            if rnd.random() < 0.04:  # the box's clock stepped back before the bump (NTP after
                bump = created - timedelta(seconds=rnd.randint(1, 600))  # days offline)
            events = [("bumped", bump)]
            if rnd.random() < 0.15:  # recalled, then maybe bumped again
                recall = bump + timedelta(seconds=rnd.randint(5, 120))
                events.append(("recalled", recall))
                if rnd.random() < 0.7:
                    events.append(("bumped", recall + timedelta(seconds=rnd.randint(20, 300))))
            for action, at in events:
                event = KitchenEvent(ticket_id=ticket, order_id=order.id, station="kitchen",
                                     action=action, at=at)  # type: ignore[arg-type]
                journal.append(event, at)
                seeded.kitchen.append(event)
        end = max([clock, created + timedelta(minutes=30)])
        if fate < 0.20:
            order = _snapshot(order, status=rnd.choice(["voided", "voided", "cancelled"]),
                              void_reason="customer left", updated_at=end)
        elif fate >= 0.30:
            order = _snapshot(order, status="completed", updated_at=end)
        if order.status != "in_kitchen":
            journal.append(OrderEvent(order=order), end)
        seeded.orders[order.id] = order
        seeded.payments.extend(payments)


def generate_table_day(seeded: Seeded, outlet_id: str, journal: Journal, rnd: random.Random,
                       tax: TaxConfig, day: date = TABLE_DAY, parties: int = 16) -> None:
    """A day of table service at six tables beside the counter orders (from 11:00 local)."""
    zone = seeded.zones[outlet_id]
    floor = Floor(outlet_id, journal, tax, day.isoformat())
    start = datetime.combine(day, datetime.min.time(), zone).replace(hour=11).astimezone(UTC)
    tables = [(f"{outlet_id[-6:]}-t{i}", f"T{i}") for i in range(1, 7)]
    table_day(floor, tables, start, rnd, parties)
    seeded.orders.update(floor.orders)
    seeded.payments.extend(floor.payments)


async def seed_tenant(db: Database, name: str, outlets: dict[str, str], orders_per_outlet: int,
                      seed: int, day_from: date = DAY_FROM, day_to: date = DAY_TO,
                      table_parties: int = 0, taxes: dict[str, TaxConfig] | None = None
                      ) -> Seeded:
    """A tenant with outlets {name: timezone} and synced orders pushed through ingest; an
    outlet prices with ``taxes[name]`` (default: 5 % service, 10 % tax on top, no rounding)."""
    email = f"owner-{new_id()[-12:]}@{name.lower().replace(' ', '-')}.test"
    async with db.system() as session:
        tenant = await tenancy.create_tenant(session, name, email, PASSWORD)
        owner_id = await session.scalar(select(User.id).where(User.email == email))
    seeded = Seeded(tenant_id=tenant.id, owner_id=owner_id, email=email, outlets={}, zones={})
    async with db.tenant(tenant.id) as session:
        for outlet_name, zone in outlets.items():
            tax = (taxes or {}).get(outlet_name, TaxConfig(service_rate_bp=500, tax_rate_bp=1000))
            outlet = await tenancy.create_outlet(session, None, OutletCreate(
                name=outlet_name, timezone=zone, service_rate_bp=tax.service_rate_bp,
                tax_rate_bp=tax.tax_rate_bp, prices_include_tax=tax.prices_include_tax,
                rounding_unit=tax.rounding_unit), tenant_id=tenant.id)
            seeded.outlets[outlet_name] = outlet.id
            seeded.zones[outlet.id] = ZoneInfo(zone)
            seeded.taxes[outlet.id] = tax
    rnd = random.Random(seed)
    for outlet_id in seeded.outlets.values():
        journal = seeded.journals[outlet_id] = Journal(outlet_id)
        tax = seeded.taxes[outlet_id]
        generate_outlet_orders(seeded, outlet_id, journal, orders_per_outlet, rnd, tax,
                               day_from, day_to)
        if table_parties:
            generate_table_day(seeded, outlet_id, journal, rnd, tax, parties=table_parties)
        await journal.push(db, tenant.id)
    return seeded


# ---------------------------------------------------------------- the figures, recomputed


def _whole_seconds(moment: datetime) -> int:
    return int(moment.replace(microsecond=0).timestamp())


def _nearest_rank(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(fraction * len(ordered)) - 1]


@dataclass
class Replayed:
    """What the outlets' raw journals say: the latest snapshot of each order (by seq), every
    payment and kitchen event, as decoded from the bytes pushed."""

    orders: dict[str, Order]
    payments: list[Payment]
    kitchen: list[KitchenEvent]


def replay_journals(seeded: Seeded) -> Replayed:
    orders: dict[str, tuple[int, Order]] = {}
    payments: dict[str, Payment] = {}
    kitchen: list[KitchenEvent] = []
    for journal in seeded.journals.values():
        assert not journal.pending, "push before reading the journal"
        for entry in journal.sent:
            body = event_decoder.decode(entry.body)
            if isinstance(body, OrderEvent):
                held = orders.get(body.order.id)
                if held is None or held[0] < entry.seq:
                    orders[body.order.id] = (entry.seq, body.order)
            elif isinstance(body, PaymentEvent):
                payments.setdefault(body.payment.id, body.payment)
            elif isinstance(body, KitchenEvent):
                kitchen.append(body)
    return Replayed({oid: order for oid, (_, order) in orders.items()},
                    list(payments.values()), kitchen)


def item_lines(order: Order, orders: dict[str, Order]) -> list[OrderLine]:
    """The lines that count as items sold (docs/table-service.md, "Money rules")."""
    if order.status == "split":
        parts = [orders.get(pid) for pid in order.split_into]
        if not parts or any(p is None or p.status in NOT_SALE for p in parts):
            return []
    elif order.status in NOT_SALE or order.split_from is not None:
        return []
    return [line for line in order.lines if line.state != "voided"]


STATEMENT = ("orders", "gross_sales", "discounts", "included_tax_service", "net_sales",
             "service_charge", "tax", "rounding", "total", "paid", "outstanding", "overpaid")


def expected_statement(orders: list[Order]) -> dict[str, int]:
    """The sales statement of ``orders`` (sales), order by order as an accountant reads a
    receipt: with prices that exclude tax the total is net + service + tax + rounding, with
    prices that include them the total is net of discounts + rounding and holds the service
    and tax; payments count up to the order's total, the rest is overpaid."""
    figures = dict.fromkeys(STATEMENT, 0)
    for o in orders:
        after_discount = o.subtotal - o.discount
        adds_up_exclusive = o.total == after_discount + o.service_charge + o.tax + o.rounding
        included = 0 if adds_up_exclusive else o.service_charge + o.tax
        assert adds_up_exclusive or o.total == after_discount + o.rounding, o
        for name, amount in (
                ("orders", 1), ("gross_sales", o.subtotal), ("discounts", o.discount),
                ("included_tax_service", included), ("net_sales", after_discount - included),
                ("service_charge", o.service_charge), ("tax", o.tax),
                ("rounding", o.rounding), ("total", o.total), ("paid", min(o.paid, o.total)),
                ("outstanding", max(o.total - o.paid, 0)),
                ("overpaid", max(o.paid - o.total, 0))):
            figures[name] += amount
    return figures


def expected_report(seeded: Seeded, day_from: date, day_to: date,
                    outlet_ids: list[str] | None = None) -> dict[str, Any]:
    """Every report figure from the outlets' raw journals, without SQL."""
    scope = set(outlet_ids if outlet_ids is not None else seeded.outlets.values())
    raw = replay_journals(seeded)
    assert raw.orders == seeded.orders  # the journal holds what was generated
    in_period = [o for o in raw.orders.values()
                 if o.outlet_id in scope and day_from <= date.fromisoformat(o.business_day) <= day_to]
    sales = [o for o in in_period if o.status not in NOT_SALE]
    voids = [o for o in in_period if o.status in VOID]
    sale_ids = {o.id for o in sales}
    period_ids = {o.id for o in in_period}

    by_day = {(day_from + timedelta(days=i)).isoformat(): [0, 0]
              for i in range((day_to - day_from).days + 1)}
    by_hour = {h: [0, 0] for h in range(24)}
    by_outlet: dict[str, list[int]] = {oid: [0, 0, 0] for oid in scope}
    products: dict[str, list[Any]] = {}
    for o in sales:
        by_day[o.business_day][0] += 1
        by_day[o.business_day][1] += o.total
        hour = o.created_at.astimezone(seeded.zones[o.outlet_id]).hour
        by_hour[hour][0] += 1
        by_hour[hour][1] += o.total
        by_outlet[o.outlet_id][0] += 1
        by_outlet[o.outlet_id][1] += o.total
    for o in in_period:
        for line in item_lines(o, raw.orders):
            slot = products.setdefault(line.product_id, [line.name, 0, 0])
            slot[1] += line.qty
            slot[2] += line.line_total
    for o in voids:
        by_outlet[o.outlet_id][2] += 1
    methods: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in raw.payments:
        if p.order_id in sale_ids:
            methods[p.method][0] += 1
            methods[p.method][1] += p.amount

    tickets: dict[str, list[KitchenEvent]] = defaultdict(list)
    for event in raw.kitchen:
        if event.order_id in period_ids:
            tickets[event.ticket_id].append(event)
    durations = []
    for events in tickets.values():
        bumps = [e.at for e in events if e.action == "bumped"]
        reopens = [e.at for e in events if e.action in ("recalled", "undone")]
        if not bumps or (reopens and max(reopens) >= max(bumps)):
            continue  # pending, or recalled and not bumped again
        created = min(e.at for e in events if e.action == "created")
        # A ticket bumped "before" it was made (the box's clock stepped back) still counts,
        # as done at once: the edge counted it, and its true duration is unknown.
        durations.append(max(0, _whole_seconds(max(bumps)) - _whole_seconds(created)))

    day_sales: dict[str, list[Order]] = {day: [] for day in by_day}
    outlet_sales: dict[str, list[Order]] = {oid: [] for oid in scope}
    for o in sales:
        day_sales[o.business_day].append(o)
        outlet_sales[o.outlet_id].append(o)
    paid_orders = sum(1 for o in sales if o.paid >= o.total)
    voided_unpaid = sum(1 for o in voids if o.paid == 0)
    order_count = len(sales)
    gross = sum(o.total for o in sales)
    return {
        "order_count": order_count,
        "gross_total": gross,
        "average_order_value": gross // order_count if order_count else 0,
        "voids": {"count": len(voids), "amount": sum(o.total for o in voids)},
        "refunds": {"count": sum(1 for o in voids if o.paid > 0),
                    "amount": sum(o.paid for o in voids)},
        "payment_success": {"paid_orders": paid_orders, "voided_unpaid_orders": voided_unpaid,
                            "rate": round(paid_orders / (paid_orders + voided_unpaid), 4)
                            if paid_orders + voided_unpaid else None},
        "sales": expected_statement(sales),
        "settled": expected_statement([o for o in sales if o.paid >= o.total]),
        "open": expected_statement([o for o in sales if o.paid < o.total]),
        "by_day": [{"day": d, "order_count": v[0], "gross_total": v[1],
                    "statement": expected_statement(day_sales[d])} for d, v in by_day.items()],
        "by_hour": [{"hour": h, "order_count": v[0], "gross_total": v[1]} for h, v in by_hour.items()],
        "by_outlet": {oid: {"order_count": v[0], "gross_total": v[1], "void_count": v[2],
                            "statement": expected_statement(outlet_sales[oid])}
                      for oid, v in by_outlet.items()},
        "by_product": sorted(({"product_id": pid, "name": v[0], "qty": v[1], "revenue": v[2]}
                              for pid, v in products.items()),
                             key=lambda p: (-p["revenue"], -p["qty"], p["product_id"])),
        "by_payment_method": sorted(({"method": m, "count": v[0], "amount": v[1]}
                                     for m, v in methods.items()),
                                    key=lambda p: (-p["amount"], p["method"])),
        "kitchen": {"tickets": len(durations), "p50_seconds": _nearest_rank(durations, 0.5),
                    "p90_seconds": _nearest_rank(durations, 0.9),
                    "average_seconds": round(sum(durations) / len(durations), 1)
                    if durations else None},
    }


def assert_statement_adds_up(statement: dict[str, int]) -> None:
    """The accountant's identities of one sales statement."""
    s = statement
    assert s["gross_sales"] - s["discounts"] - s["included_tax_service"] == s["net_sales"], s
    assert s["net_sales"] + s["service_charge"] + s["tax"] + s["rounding"] == s["total"], s
    assert s["paid"] + s["outstanding"] == s["total"], s
    assert min(s.values()) >= 0 or s["rounding"] < 0, s  # only rounding may be negative


def assert_matches(report: dict[str, Any], expected: dict[str, Any]) -> None:
    for key in ("order_count", "gross_total", "average_order_value", "voids", "refunds",
                "by_day", "by_hour", "by_product", "by_payment_method", "kitchen",
                "sales", "settled", "open"):
        assert report[key] == expected[key], key
    success = dict(report["payment_success"])
    success.pop("definition")
    assert success == expected["payment_success"]
    got_outlets = {o["outlet_id"]: {k: o[k] for k in ("order_count", "gross_total", "void_count",
                                                      "statement")}
                   for o in report["by_outlet"]}
    assert got_outlets == expected["by_outlet"]
    # The statement adds up, its two parts add up to it, and it ties to the other figures.
    sales, settled, open_ = report["sales"], report["settled"], report["open"]
    for statement in (sales, settled, open_, *(d["statement"] for d in report["by_day"]),
                      *(o["statement"] for o in report["by_outlet"])):
        assert_statement_adds_up(statement)
    assert {k: settled[k] + open_[k] for k in STATEMENT} == sales
    assert settled["outstanding"] == 0 and open_["overpaid"] == 0
    assert (sales["orders"], sales["total"]) == (report["order_count"], report["gross_total"])
    assert settled["orders"] == report["payment_success"]["paid_orders"]
    assert sales["paid"] + sales["overpaid"] == sum(m["amount"] for m in report["by_payment_method"])
    assert sales["discounts"] == sum(d["amount"] for d in report["discounts_by_reason"])
    for part in STATEMENT:
        assert sum(d["statement"][part] for d in report["by_day"]) == sales[part], part


# ---------------------------------------------------------------- fixtures


async def _report(db: Database, principal: Principal, day_from: date = DAY_FROM,
                  day_to: date = DAY_TO, outlet_id: str | None = None,
                  use_rollups: bool = True) -> dict[str, Any]:
    async with db.tenant(principal.tenant_id) as session:
        report = await reports.sales_report(session, principal, outlet_id=outlet_id,
                                            day_from=day_from, day_to=day_to,
                                            use_rollups=use_rollups)
    return msgspec.to_builtins(report)  # as the HTTP answer carries it


async def _roll_up(db: Database, now: datetime) -> dict[str, int]:
    async with db.system() as session:
        return await reports.refresh_rollups(session, now=now, lookback_days=60)


def add_money_edge_cases(seeded: Seeded, outlet_id: str, day: date) -> None:
    """Orders whose money is unusual, journaled on ``day``: paid twice over (a gateway's late
    payment, flagged for refund at the till), fully discounted (total 0, nothing to pay),
    and open with nothing paid yet."""
    journal, tax = seeded.journals[outlet_id], seeded.taxes[outlet_id]
    at = datetime.combine(day, datetime.min.time(), seeded.zones[outlet_id]).replace(
        hour=12).astimezone(UTC)
    for number, (discount, paid_parts, status) in enumerate(
            [(0, [None, 7_000], "completed"), (10**9, [], "completed"), (0, [], "in_kitchen")],
            start=9001):
        totals = price_order([PricedLine(base_price=38_000, qty=2)], tax, discount)
        order = Order(id=new_id(), outlet_id=outlet_id, number=number,
                      business_day=day.isoformat(), type="dine_in", status="placed",
                      currency="IDR", lines=[OrderLine(id=new_id(), product_id="p-rice",
                                                       name="Nasi Goreng", qty=2,
                                                       unit_price=38_000, line_total=76_000)],
                      subtotal=totals.subtotal, discount=totals.discount,
                      service_charge=totals.service_charge, tax=totals.tax,
                      rounding=totals.rounding, total=totals.total, created_at=at,
                      updated_at=at, source="cashier-1",
                      discount_reason="staff meal" if discount else "")
        journal.append(OrderEvent(order=order), at)
        payments = [Payment(id=new_id(), order_id=order.id, method="qris",
                            amount=order.total if amount is None else amount,
                            created_at=at + timedelta(minutes=i + 1))
                    for i, amount in enumerate(paid_parts)]
        for payment in payments:
            journal.append(PaymentEvent(payment=payment), payment.created_at)
        order = _snapshot(order, status=status, paid=sum(p.amount for p in payments),
                          payments=payments, updated_at=at + timedelta(minutes=5))
        journal.append(OrderEvent(order=order), order.updated_at)
        seeded.orders[order.id] = order
        seeded.payments.extend(payments)


# Jakarta rounds cash totals to Rp 100, Berlin's prices include service and tax (and round
# to 100), Mumbai adds them on top exactly.
SCENARIO_TAXES = {
    "Jakarta Sudirman": TaxConfig(service_rate_bp=500, tax_rate_bp=1000, rounding_unit=100),
    "Berlin Mitte": TaxConfig(service_rate_bp=500, tax_rate_bp=1000, prices_include_tax=True,
                              rounding_unit=100),
}


async def _exactness_scenario(db: Database) -> None:
    # Jakarta: UTC+7; Berlin: DST starts in the period; Mumbai: UTC+5:30 (not whole hours).
    seeded = await seed_tenant(db, "Kopi Nusantara", {"Jakarta Sudirman": "Asia/Jakarta",
                                                      "Berlin Mitte": "Europe/Berlin",
                                                      "Mumbai Bandra": "Asia/Kolkata"},
                               orders_per_outlet=120, seed=7, table_parties=24,
                               taxes=SCENARIO_TAXES)
    for outlet_id in seeded.outlets.values():
        add_money_edge_cases(seeded, outlet_id, date(2026, 3, 28))
        await seeded.journals[outlet_id].push(db, seeded.tenant_id)
    owner = seeded.owner()
    expected = expected_report(seeded, DAY_FROM, DAY_TO)
    # every kind of figure of the statement is exercised
    sales = expected["sales"]
    assert expected["open"]["orders"] > 5 and expected["open"]["paid"] > 0
    assert sales["overpaid"] == 3 * 7_000 and sales["included_tax_service"] > 0
    assert min(o.rounding for o in seeded.orders.values()) < 0 < max(
        o.rounding for o in seeded.orders.values())
    assert expected["order_count"] > 150 and expected["voids"]["count"] > 10
    # the table-service day holds every kind of amended bill
    statuses = {o.status for o in seeded.orders.values() if o.table_id}
    assert {"split", "merged", "completed", "cancelled", "in_kitchen"} <= statuses
    assert any(line.state == "voided" for o in seeded.orders.values() for line in o.lines)
    assert any(o.split_from and o.lines[0].product_id == "split-share"
               for o in seeded.orders.values())
    assert any(o.revision > 3 for o in seeded.orders.values())
    assert expected["refunds"]["count"] > 3 and expected["kitchen"]["tickets"] > 100

    live = await _report(db, owner)
    assert live["source"]["rollup_cells"] == 0
    assert_matches(live, expected)

    # One outlet, one day, and a period with no orders at all.
    jakarta = seeded.outlets["Jakarta Sudirman"]
    jakarta_report = await _report(db, owner, outlet_id=jakarta)
    assert_matches(jakarta_report, expected_report(seeded, DAY_FROM, DAY_TO, [jakarta]))
    # prices exclude tax: gross sales less discounts is the net, nothing is inside the prices
    assert jakarta_report["sales"]["included_tax_service"] == 0
    assert jakarta_report["sales"]["rounding"] != 0
    one_day = date(2026, 3, 29)
    assert_matches(await _report(db, owner, day_from=one_day, day_to=one_day),
                   expected_report(seeded, one_day, one_day))
    empty = await _report(db, owner, day_from=date(2025, 1, 1), day_to=date(2025, 1, 3))
    assert empty["order_count"] == 0 and empty["kitchen"]["p50_seconds"] is None
    assert empty["payment_success"]["rate"] is None

    # The roll-up job stores past days; the report then reads them and still matches.
    built = await _roll_up(db, now=datetime(2026, 4, 10, tzinfo=UTC))
    assert built["built"] >= 10
    rolled = await _report(db, owner)
    assert rolled["source"]["live_cells"] == 0 and rolled["source"]["rollup_cells"] >= 10
    assert rolled["source"]["tenant_wide_days"] == 5  # every day of the period, all outlets
    assert_matches(rolled, expected)
    assert_matches(await _report(db, owner, outlet_id=jakarta),
                   expected_report(seeded, DAY_FROM, DAY_TO, [jakarta]))
    assert (await _roll_up(db, now=datetime(2026, 4, 10, tzinfo=UTC)))["built"] == 0

    # A late sync voids an old paid order and adds one to a rolled-up day: the stale cells
    # are recomputed live, so the report equals the raw data again.
    journal, day = void_late(seeded, jakarta)
    generate_outlet_orders(seeded, jakarta, journal, 3, random.Random(99), seeded.taxes[jakarta],
                           day, day)
    await journal.push(db, seeded.tenant_id)
    expected_after = expected_report(seeded, DAY_FROM, DAY_TO)
    assert expected_after != expected
    after = await _report(db, owner)
    assert after["source"]["live_cells"] >= 1 and after["source"]["tenant_wide_days"] < 5
    assert_matches(after, expected_after)
    assert (await _roll_up(db, now=datetime(2026, 4, 10, tzinfo=UTC)))["built"] >= 2
    rebuilt = await _report(db, owner)
    assert rebuilt["source"]["live_cells"] == 0 and rebuilt["source"]["tenant_wide_days"] == 5
    assert_matches(rebuilt, expected_after)
    assert_matches(await _report(db, owner, use_rollups=False), expected_after)


@pytest.mark.postgres
async def test_report_matches_raw_orders_on_postgres(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        await _exactness_scenario(db)
    finally:
        await db.dispose()


async def test_report_matches_raw_orders_on_sqlite(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await _exactness_scenario(db)
    finally:
        await db.dispose()


# ---------------------------------------------------------------- migration 0440's backfill


def _migration(name: str) -> Any:
    path = Path(__file__).resolve().parents[2] / "hub" / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hub_migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _stored_rows(db: Database, tenant_id: str) -> dict[tuple[str, date], dict[str, Any]]:
    r = report_daily.c
    async with db.tenant(tenant_id) as session:
        rows = (await session.execute(select(report_daily).where(r.tenant_id == tenant_id))).all()
    return {(row.outlet_id, row.business_day): {name: getattr(row, name)
                                                 for name in ("format", *STATEMENT_SCALARS)}
            for row in rows}


async def _backfill_scenario(db: Database, migrate_url: str) -> None:
    """Cells a hub stored before migration 0440 (format 4, no statement) get the statement
    their orders say, as the migration runs (the owner under RLS on PostgreSQL), and the
    report reads them from the roll-ups again."""
    seeded = await seed_tenant(db, "Kopi Backfill", {"Bandung": "Asia/Jakarta",
                                                     "Bali": "Asia/Makassar"},
                               orders_per_outlet=60, seed=13, table_parties=8,
                               taxes={"Bali": SCENARIO_TAXES["Berlin Mitte"]})
    owner, expected = seeded.owner(), expected_report(seeded, DAY_FROM, DAY_TO)
    await _roll_up(db, now=datetime(2026, 4, 10, tzinfo=UTC))
    stored = await _stored_rows(db, seeded.tenant_id)
    assert len(stored) >= 10 and all(row["format"] == 5 for row in stored.values())
    assert any(row["open_total"] for row in stored.values())
    r = report_daily.c
    async with db.tenant(seeded.tenant_id) as session:  # as a hub before 0440 left them
        await session.execute(update(report_daily).where(r.tenant_id == seeded.tenant_id)
                              .values(format=4, **dict.fromkeys(STATEMENT_SCALARS, 0)))
    before = await _report(db, owner)
    assert before["source"]["rollup_cells"] == 0  # format 4: never read as current
    assert_matches(before, expected)

    engine = create_engine(sync_url(migrate_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            _migration("0440_sales_statement").backfill(connection)
    finally:
        engine.dispose()
    assert await _stored_rows(db, seeded.tenant_id) == stored
    after = await _report(db, owner)
    assert after["source"]["live_cells"] == 0 and after["source"]["tenant_wide_days"] == 5
    assert_matches(after, expected)


@pytest.mark.postgres
async def test_migration_backfills_the_statement_on_postgres(pg_url: str) -> None:
    roles = pg_roles_for(pg_url)
    assert roles is not None
    db = Database(pg_url)
    try:
        await _backfill_scenario(db, roles.owner)
    finally:
        await db.dispose()


async def test_migration_backfills_the_statement_on_sqlite(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await _backfill_scenario(db, sqlite_url)
    finally:
        await db.dispose()


def test_period_validation() -> None:
    assert reports.parse_period("2026-03-01", "2026-03-31") == (date(2026, 3, 1), date(2026, 3, 31))
    for bad in (("2026-03-31", "2026-03-01"), ("2026-02-30", "2026-03-01"), ("yesterday", "2026-03-01"),
                (None, "2026-03-01"), ("2024-01-01", "2026-01-01")):
        with pytest.raises(BadRequest):
            reports.parse_period(*bad)


def test_offset_segments_follow_dst() -> None:
    start = datetime(2026, 3, 28, tzinfo=UTC)
    segments = reports.utc_offset_segments(ZoneInfo("Europe/Berlin"), start, start + timedelta(days=3))
    assert segments == [(start, 3600), (datetime(2026, 3, 29, 1, tzinfo=UTC), 7200)]
    india = reports.utc_offset_segments(ZoneInfo("Asia/Kolkata"), start, start + timedelta(days=3))
    assert india == [(start, 19800)]


# ---------------------------------------------------------------- over HTTP


def _login(server: Any, email: str, password: str = PASSWORD) -> httpx.Client:
    response = httpx.post(server.base_url + "/api/v1/auth/login",
                          json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    return server.client(response.json()["access_token"])


def _period(day_from: date = DAY_FROM, day_to: date = DAY_TO, **extra: str) -> dict[str, str]:
    return {"from": day_from.isoformat(), "to": day_to.isoformat(), **extra}


@pytest.mark.postgres
async def test_report_over_http_is_tenant_isolated_scoped_and_validated(pg_url: str,
                                                                        hub_server: Any) -> None:
    db = Database(pg_url)
    try:
        alpha = await seed_tenant(db, "Alpha Reports", {"A Jakarta": "Asia/Jakarta",
                                                        "A Makassar": "Asia/Makassar"}, 50, seed=1,
                                  table_parties=10)
        bravo = await seed_tenant(db, "Bravo Reports", {"B Jakarta": "Asia/Jakarta"}, 50, seed=2,
                                  table_parties=10)
    finally:
        await db.dispose()
    url = "/api/v1/reports/sales"
    with _login(hub_server, alpha.email) as owner_a, _login(hub_server, bravo.email) as owner_b:
        mine = owner_a.get(url, params=_period())
        assert mine.status_code == 200, mine.text
        assert_matches(mine.json(), expected_report(alpha, DAY_FROM, DAY_TO))
        assert sorted(mine.json()["outlet_ids"]) == sorted(alpha.outlets.values())
        theirs = owner_b.get(url, params=_period())
        assert_matches(theirs.json(), expected_report(bravo, DAY_FROM, DAY_TO))
        assert theirs.json()["gross_total"] != mine.json()["gross_total"]

        # Another tenant's outlet does not exist for this token: no figures leak.
        foreign = owner_a.get(url, params=_period(outlet_id=bravo.outlets["B Jakarta"]))
        assert foreign.status_code == 404
        assert foreign.json()["error"]["code"] == "not_found"
        assert "gross_total" not in foreign.text

        # An area manager sees only the outlets assigned to them.
        jakarta, makassar = alpha.outlets["A Jakarta"], alpha.outlets["A Makassar"]
        created = owner_a.post("/api/v1/users", json={
            "email": f"area-{new_id()[-8:]}@alpha.test", "password": "area-password-1",
            "role": "area_manager", "outlet_ids": [jakarta]})
        assert created.status_code == 201, created.text
        with _login(hub_server, created.json()["email"], "area-password-1") as area:
            scoped = area.get(url, params=_period())
            assert scoped.status_code == 200
            assert scoped.json()["outlet_ids"] == [jakarta]
            assert_matches(scoped.json(), expected_report(alpha, DAY_FROM, DAY_TO, [jakarta]))
            denied = area.get(url, params=_period(outlet_id=makassar))
            assert denied.status_code == 403
            assert denied.json()["error"]["code"] == "forbidden"
        technician = owner_a.post("/api/v1/users", json={
            "email": f"tech-{new_id()[-8:]}@alpha.test", "password": "tech-password-1",
            "role": "technician", "outlet_ids": [jakarta]})
        with _login(hub_server, technician.json()["email"], "tech-password-1") as tech:
            assert tech.get(url, params=_period()).status_code == 403

        # Bad input is a clear 4xx in the one error shape.
        for params, status in [
            (_period(date(2026, 3, 31), date(2026, 3, 1)), 400),
            ({"from": "2026-02-30", "to": "2026-03-01"}, 400),
            ({"from": "last week", "to": "2026-03-01"}, 400),
            ({"to": "2026-03-01"}, 400),
            (_period(date(2020, 1, 1), date(2026, 1, 1)), 400),
            (_period(outlet_id="no-such-outlet"), 404),
            (_period(outlet_id="x" * 65), 400),
        ]:
            response = owner_a.get(url, params=params)
            assert response.status_code == status, (params, response.text)
            error = response.json()["error"]
            assert error["code"] and error["message"]
        with hub_server.client() as anonymous:
            assert anonymous.get(url, params=_period()).status_code == 401


if __name__ == "__main__":  # pragma: no cover - handy for a quick manual run
    asyncio.run(_exactness_scenario(Database("sqlite:///manual-reports.db")))
