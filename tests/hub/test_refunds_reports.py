"""Refunds and till discounts at the hub (PostgreSQL): refund events pushed through the real
ingest path are stored once with their approver (a pending gateway refund becomes done or
failed: the later snapshot wins), the orders keep who approved their discount and void, and the
sales report's refunds by method and discounts by reason equal a raw recomputation, live
and from the roll-ups."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import Database
from hub.models import OrderRow, RefundRow
from shared.ids import new_id
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    Refund,
    RefundEvent,
    RefundLine,
    TaxConfig,
)
from tests.hub.test_reports import DAY_FROM, DAY_TO, VOID, _report, _roll_up, _snapshot, seed_tenant

REASONS = ["regular customer", "staff meal", "complaint"]
TAX = TaxConfig(service_rate_bp=500, tax_rate_bp=1000)


def discounted_orders(outlet_id: str, zone_day: date, rnd: random.Random,
                      count: int) -> list[Order]:
    """Completed, paid orders with a till discount, its reason and approver."""
    made = []
    for number in range(1000, 1000 + count):
        created = datetime.combine(zone_day, datetime.min.time(), UTC) + timedelta(hours=10)
        lines = [OrderLine(id=new_id(), product_id="p-rice", name="Nasi Goreng", qty=2,
                           unit_price=38_000, line_total=76_000,
                           discount=rnd.choice([0, 3_000]))]
        discount = lines[0].discount + rnd.choice([0, 5_000, 7_600])
        totals = price_order([PricedLine(base_price=38_000, qty=2)], TAX, discount)
        order = Order(id=new_id(), outlet_id=outlet_id, number=number,
                      business_day=zone_day.isoformat(), type="takeaway", status="completed",
                      currency="IDR", lines=lines, subtotal=totals.subtotal,
                      discount=totals.discount, service_charge=totals.service_charge,
                      tax=totals.tax, rounding=totals.rounding, total=totals.total,
                      paid=totals.total, created_at=created, updated_at=created,
                      discount_reason=rnd.choice(REASONS) if totals.discount else "",
                      discount_approved_by=rnd.choice([None, "mgr-1"]))
        made.append(order)
    return made


@pytest.mark.postgres
async def test_refunds_and_discounts_reach_the_hub_and_its_report(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        await _scenario(db)
    finally:
        await db.dispose()


async def _scenario(db: Database) -> None:
    seeded = await seed_tenant(db, "Refund Kopi", {"Jakarta": "Asia/Jakarta",
                                                   "Bandung": "Asia/Jakarta"},
                               orders_per_outlet=60, seed=11)
    rnd = random.Random(5)
    refunds: dict[str, Refund] = {}
    for outlet_id in seeded.outlets.values():
        journal = seeded.journals[outlet_id]
        for order in discounted_orders(outlet_id, date(2026, 3, 28), rnd, 12):
            payment = Payment(id=new_id(), order_id=order.id, method="cash", amount=order.total,
                              created_at=order.created_at)
            order = _snapshot(order, payments=[payment])
            journal.append(PaymentEvent(payment=payment), order.created_at)
            journal.append(OrderEvent(order=order), order.created_at)
            seeded.orders[order.id] = order
        paid = [o for o in seeded.orders.values() if o.outlet_id == outlet_id
                and o.status == "completed" and o.paid >= o.total > 0]
        for order in rnd.sample(paid, 15):
            at = order.updated_at + timedelta(hours=rnd.randint(1, 50))
            amount = rnd.randint(1, order.paid)
            method = rnd.choice(["cash", "card", "qris", "ewallet"])
            status = rnd.choice(["done", "done", "done", "failed"])
            refund = Refund(id=new_id(), order_id=order.id, method=method, amount=amount,
                            lines=[RefundLine(line_id=order.lines[0].id, qty=1, amount=amount)],
                            reason="cold food", approved_by="mgr-approver",
                            gateway="midtrans" if method in ("qris", "ewallet") else "",
                            status="pending" if method in ("qris", "ewallet") else status,
                            created_at=at, updated_at=at, staff_id="cashier-1")
            journal.append(RefundEvent(refund=refund), at)
            if refund.status == "pending":  # the gateway answered later
                refund = _refund(refund, status=status, gateway_refund_id="rf-1",
                                 error="" if status == "done" else "gateway down",
                                 updated_at=at + timedelta(seconds=3))
                journal.append(RefundEvent(refund=refund), at + timedelta(seconds=3))
            refunds[refund.id] = refund
            if refund.status != "failed":
                order = _snapshot(order, refunded=amount, updated_at=at)
                journal.append(OrderEvent(order=order), at)
                seeded.orders[order.id] = order
        voided = next(o for o in seeded.orders.values() if o.outlet_id == outlet_id
                      and o.status not in VOID and o.status != "completed" and o.paid > 0)
        voided = _snapshot(voided, status="voided", void_reason="wrong order",
                           void_approved_by="mgr-void", updated_at=voided.updated_at)
        journal.append(OrderEvent(order=voided), voided.updated_at)
        seeded.orders[voided.id] = voided
        await journal.push(db, seeded.tenant_id)

    async with db.tenant(seeded.tenant_id) as session:
        rows = {r.id: r for r in (await session.scalars(select(RefundRow))).all()}
        orders = {o.id: o for o in (await session.scalars(select(OrderRow))).all()}
    assert set(rows) == set(refunds)
    for refund in refunds.values():
        row = rows[refund.id]
        assert (row.status, row.amount, row.method, row.approved_by, row.staff_id) == (
            refund.status, refund.amount, refund.method, "mgr-approver", "cashier-1")
        assert row.lines == [{"line_id": refund.lines[0].line_id, "qty": 1,
                              "amount": refund.amount}]
    for order in seeded.orders.values():
        row = orders[order.id]
        assert (row.discount_reason, row.discount_approved_by, row.void_approved_by,
                row.refunded) == (order.discount_reason, order.discount_approved_by,
                                  order.void_approved_by, order.refunded)
    assert sum(1 for o in orders.values() if o.void_approved_by == "mgr-void") == 2

    owner = seeded.owner()
    expected = _expected(seeded.orders, refunds)
    assert len(expected["refunds_by_method"]) >= 3 and len(expected["discounts_by_reason"]) >= 3
    live = await _report(db, owner)
    assert _figures(live) == expected
    built = await _roll_up(db, now=datetime(2026, 4, 10, tzinfo=UTC))
    assert built["built"] >= 1
    rolled = await _report(db, owner)
    assert rolled["source"]["live_cells"] == 0
    assert _figures(rolled) == expected


def _refund(refund: Refund, **changes: Any) -> Refund:
    values = {f: getattr(refund, f) for f in refund.__struct_fields__}
    values.update(changes)
    return Refund(**values)


def _expected(orders: dict[str, Order], refunds: dict[str, Refund]) -> dict[str, Any]:
    in_period = {o.id: o for o in orders.values()
                 if DAY_FROM <= date.fromisoformat(o.business_day) <= DAY_TO}
    by_method: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for refund in refunds.values():
        if refund.status == "done" and refund.order_id in in_period:
            by_method[refund.method][0] += 1
            by_method[refund.method][1] += refund.amount
    by_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for order in in_period.values():
        if order.status not in VOID and order.discount > 0:
            by_reason[order.discount_reason][0] += 1
            by_reason[order.discount_reason][1] += order.discount
    return {"refunds_by_method": sorted(({"method": m, "count": c, "amount": a}
                                         for m, (c, a) in by_method.items()),
                                        key=lambda x: (-x["amount"], x["method"])),
            "discounts_by_reason": sorted(({"reason": r, "count": c, "amount": a}
                                           for r, (c, a) in by_reason.items()),
                                          key=lambda x: (-x["amount"], x["reason"]))}


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    return {"refunds_by_method": report["refunds_by_method"],
            "discounts_by_reason": report["discounts_by_reason"]}
