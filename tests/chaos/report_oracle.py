"""The hub's sales report against a raw recomputation from the edge's own journal.

After a chaos run the edge's outbox still holds every event it journalled (the runs never
prune). ``journal_facts`` decodes them: the latest snapshot of each order by journal seq,
every payment, every kitchen event. ``expected_sales`` computes every figure of ``GET
/api/v1/reports/sales`` from those facts in plain Python, with the money rules of
docs/table-service.md (the same rules as the report oracle of tests/hub/test_reports.py):

* sales ("Sales incl. open orders", ``gross_total``) are the orders that are not voided,
  cancelled, split or merged: open bills and split parts count, split and merged bills never;
* voids are voided and cancelled orders; refunds the voids that had payments;
* items sold are the lines that are not voided, of sales that are not split parts, plus the
  lines of a split bill whose parts are all sales (items where they were ordered, money where
  it was paid);
* payments by method are the payments of sales;
* kitchen times are per ticket, created to last bump, unless recalled or undone after it.

``report_problems`` names every figure where the hub's answer differs.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.schemas import (
    KitchenEvent,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    event_decoder,
)

__all__ = ["JournalFacts", "expected_sales", "hub_sales", "journal_facts", "report_problems"]

VOID = ("voided", "cancelled")
NOT_SALE = (*VOID, "split", "merged")
# The day's sales statement figures the journal's order snapshots give directly (gross sales
# and tax inside menu prices need the outlet's pricing; test_reports checks those).
STATEMENT_CHECKED = ("orders", "discounts", "net_sales", "service_charge", "tax", "rounding",
                     "total", "paid", "outstanding", "overpaid")
COMPARED = ("order_count", "gross_total", "average_order_value", "voids", "refunds",
            "payment_success", "by_day", "by_hour", "by_product", "by_payment_method",
            "kitchen", "by_outlet")


@dataclass
class JournalFacts:
    orders: dict[str, Order]  # the latest snapshot of each order, by journal seq
    payments: dict[str, Payment]
    kitchen: list[KitchenEvent]
    events: int


def journal_facts(edge_db: Path) -> JournalFacts:
    conn = sqlite3.connect(f"file:{edge_db}?mode=ro", uri=True, timeout=30)
    latest: dict[str, tuple[int, Order]] = {}
    payments: dict[str, Payment] = {}
    kitchen: list[KitchenEvent] = []
    events = 0
    try:
        for seq, body in conn.execute("SELECT seq, body FROM outbox ORDER BY seq"):
            events += 1
            event = event_decoder.decode(body)
            if isinstance(event, OrderEvent):
                held = latest.get(event.order.id)
                if held is None or held[0] < seq:
                    latest[event.order.id] = (seq, event.order)
            elif isinstance(event, PaymentEvent):
                payments.setdefault(event.payment.id, event.payment)
            elif isinstance(event, KitchenEvent):
                kitchen.append(event)
    finally:
        conn.close()
    return JournalFacts({oid: order for oid, (_, order) in latest.items()}, payments, kitchen,
                        events)


def _whole_seconds(moment: datetime) -> int:
    return int(moment.replace(microsecond=0).timestamp())


def _nearest_rank(histogram: list[int], fraction: float) -> int | None:
    if not histogram:
        return None
    ordered = sorted(histogram)
    rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))  # ceil(fraction * n)
    return ordered[rank - 1]


def item_lines(order: Order, orders: dict[str, Order]) -> list[OrderLine]:
    """The lines that count as items sold (docs/table-service.md, "Money rules")."""
    if order.status == "split":
        parts = [orders.get(pid) for pid in order.split_into]
        if not parts or any(p is None or p.status in NOT_SALE for p in parts):
            return []
    elif order.status in NOT_SALE or order.split_from is not None:
        return []
    return [line for line in order.lines if line.state != "voided"]


def expected_sales(facts: JournalFacts, outlet_id: str, zone: ZoneInfo, day_from: date,
                   day_to: date) -> dict[str, Any]:
    """Every figure of the sales report for one outlet, from the journal, without SQL."""
    in_period = [o for o in facts.orders.values()
                 if day_from <= date.fromisoformat(o.business_day) <= day_to]
    sales = [o for o in in_period if o.status not in NOT_SALE]
    voids = [o for o in in_period if o.status in VOID]
    sale_ids = {o.id for o in sales}
    period_ids = {o.id for o in in_period}
    by_day = {(day_from + timedelta(days=i)).isoformat(): [0, 0]
              for i in range((day_to - day_from).days + 1)}
    statements = {day: dict.fromkeys(STATEMENT_CHECKED, 0) for day in by_day}
    by_hour = {h: [0, 0] for h in range(24)}
    for o in sales:
        by_day[o.business_day][0] += 1
        by_day[o.business_day][1] += o.total
        figures = statements[o.business_day]
        figures["orders"] += 1
        figures["discounts"] += o.discount
        figures["service_charge"] += o.service_charge
        figures["tax"] += o.tax
        figures["rounding"] += o.rounding
        figures["net_sales"] += o.total - o.rounding - o.service_charge - o.tax
        figures["total"] += o.total
        figures["paid"] += min(o.paid, o.total)
        figures["outstanding"] += o.total - min(o.paid, o.total)
        figures["overpaid"] += max(0, o.paid - o.total)
        hour = o.created_at.astimezone(zone).hour
        by_hour[hour][0] += 1
        by_hour[hour][1] += o.total
    products: dict[str, list[Any]] = {}
    for o in in_period:
        for line in item_lines(o, facts.orders):
            slot = products.setdefault(line.product_id, [line.name, 0, 0])
            slot[1] += line.qty
            slot[2] += line.line_total
    methods: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in facts.payments.values():
        if p.order_id in sale_ids:
            methods[p.method][0] += 1
            methods[p.method][1] += p.amount
    # kitchen: per ticket, first "created" to last "bumped", unless reopened after that bump
    tickets: dict[str, list[KitchenEvent]] = defaultdict(list)
    for event in facts.kitchen:
        if event.order_id in period_ids:
            tickets[event.ticket_id].append(event)
    durations = []
    for events in tickets.values():
        created = [e.at for e in events if e.action == "created"]
        bumped = [e.at for e in events if e.action == "bumped"]
        reopened = [e.at for e in events if e.action in ("recalled", "undone")]
        if not created or not bumped or (reopened and max(reopened) >= max(bumped)):
            continue
        durations.append(max(0, _whole_seconds(max(bumped)) - _whole_seconds(min(created))))
    paid_orders = sum(1 for o in sales if o.paid >= o.total)
    voided_unpaid = sum(1 for o in voids if o.paid == 0)
    gross = sum(o.total for o in sales)
    decided = paid_orders + voided_unpaid
    return {
        "order_count": len(sales),
        "gross_total": gross,
        "average_order_value": gross // len(sales) if sales else 0,
        "voids": {"count": len(voids), "amount": sum(o.total for o in voids)},
        "refunds": {"count": sum(1 for o in voids if o.paid > 0),
                    "amount": sum(o.paid for o in voids)},
        "payment_success": {"paid_orders": paid_orders, "voided_unpaid_orders": voided_unpaid,
                            "rate": round(paid_orders / decided, 4) if decided else None},
        "by_day": [{"day": d, "order_count": v[0], "gross_total": v[1], "statement": statements[d]}
                   for d, v in by_day.items()],
        "by_hour": [{"hour": h, "order_count": v[0], "gross_total": v[1]}
                    for h, v in by_hour.items()],
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
        "by_outlet": {outlet_id: {"order_count": len(sales), "gross_total": gross,
                                  "void_count": len(voids)}},
    }


def hub_sales(client: httpx.Client, outlet_id: str, day_from: date,
              day_to: date) -> dict[str, Any]:
    """The hub's answer to GET /api/v1/reports/sales for the outlet and period."""
    reply = client.get("/api/v1/reports/sales", params={
        "from": day_from.isoformat(), "to": day_to.isoformat(), "outlet_id": outlet_id})
    reply.raise_for_status()
    report: dict[str, Any] = reply.json()
    report["payment_success"] = {k: v for k, v in report["payment_success"].items()
                                 if k != "definition"}
    report["by_day"] = [{**day, "statement": {k: day["statement"][k] for k in STATEMENT_CHECKED}}
                        for day in report["by_day"]]
    report["by_outlet"] = {o["outlet_id"]: {k: o[k] for k in ("order_count", "gross_total",
                                                              "void_count")}
                           for o in report["by_outlet"]}
    return report


def report_problems(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    problems = []
    for key in COMPARED:
        if got.get(key) != expected[key]:
            problems.append(f"sales report {key}: hub {str(got.get(key))[:400]} but the edge's "
                            f"journal says {str(expected[key])[:400]}")
    return problems
