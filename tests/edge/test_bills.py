"""Bill money (edge.bills.reprice) as properties: whatever lines a bill holds and in what
state, its figures are shared.pricing's over the lines not voided, add up, and pass the
hub's money check; a random run of amendments through HTTP keeps every answer equal to a
recomputation; the pre-bill prints service charge and tax."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import bills, printing
from hub.ingest.apply import check_money
from shared.pricing import PricedLine, price_order
from shared.schemas import FloorPlan, Order, OrderLine, TaxConfig
from tests.edge.edge_server import EdgeServer

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

line_strategy = st.builds(
    lambda price, qty, state, disc: (price, qty, state, disc),
    st.integers(0, 2_000_000), st.integers(1, 999), st.sampled_from(["sent", "held", "voided"]),
    st.integers(0, 100))
tax_strategy = st.builds(
    TaxConfig, service_rate_bp=st.sampled_from([0, 500, 1000]),
    tax_rate_bp=st.sampled_from([0, 1000, 1100]), prices_include_tax=st.booleans(),
    rounding_unit=st.sampled_from([1, 100, 500]))


def bill_of(raw: list[tuple[int, int, str, int]], order_type: str, discount: int) -> Order:
    lines = [OrderLine(id=f"l{i}", product_id="p", name=f"item{i}", qty=qty, unit_price=price,
                       line_total=price * qty, state=state, round=1)  # type: ignore[arg-type]
             for i, (price, qty, state, _) in enumerate(raw)]
    return Order(id="o", outlet_id="x", number=1, business_day="2026-11-30", type=order_type,  # type: ignore[arg-type]
                 status="in_kitchen", currency="IDR", lines=lines, subtotal=0, discount=discount,
                 service_charge=0, tax=0, rounding=0, total=0, created_at=NOW, updated_at=NOW,
                 table_id="t1")


@settings(max_examples=300, deadline=None)
@given(st.lists(line_strategy, max_size=40), tax_strategy, st.booleans(),
       st.sampled_from(["dine_in", "takeaway"]), st.integers(0, 500_000))
def test_reprice_is_shared_pricing_over_the_lines_not_voided(
        raw: list[tuple[int, int, str, int]], tax: TaxConfig, dine_in_only: bool,
        order_type: str, discount: int) -> None:
    plan = FloorPlan(service_charge_dine_in_only=dine_in_only)
    priced = bills.reprice(bill_of(raw, order_type, discount), tax=tax, floor=plan)
    active = [line for line in priced.lines if line.state != "voided"]
    assert all(line.line_total == line.unit_price * line.qty for line in priced.lines
               if line.state != "voided")
    assert priced.subtotal == sum(line.line_total for line in active)
    charged = tax if not (dine_in_only and order_type == "takeaway") else msgspec.structs.replace(
        tax, service_rate_bp=0)
    expected = price_order([PricedLine(base_price=l.unit_price, qty=l.qty) for l in active],
                           charged, discount)
    assert (priced.discount, priced.service_charge, priced.tax, priced.rounding, priced.total) == (
        expected.discount, expected.service_charge, expected.tax, expected.rounding, expected.total)
    if dine_in_only and order_type == "takeaway":
        assert priced.service_charge == 0
    assert check_money(priced, tax) == []  # the hub accepts what the edge computes
    assert bills.reprice(priced, tax=tax, floor=plan) == priced  # a fixed point


def test_random_amendments_always_equal_a_recomputation(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    rng = random.Random(12)
    waiter = edge.login("manager")  # voids above the threshold need no PIN
    tax = msgspec.convert(edge.menu()["tax"], TaxConfig)
    products = [("p-air-mineral", [], "minuman"), ("p-klepon", [], "pencuci_mulut"),
                ("p-nasi-rendang", ["opt-extra-egg"], "makanan"),
                ("p-es-teh", ["opt-size-large", "opt-sugar-none"], "minuman"),
                ("p-nasi-goreng", ["opt-spice-3", "opt-extra-cheese"], "makanan")]
    bill = edge.call("POST", "/api/v1/tables/tbl-t1/seat", waiter, json={"covers": 4},
                     headers={"Idempotency-Key": str(uuid.uuid4())})
    path = f"/api/v1/orders/{bill['id']}"
    plan = FloorPlan(service_charge_dine_in_only=False)
    done: dict[str, int] = {}
    for _ in range(40):
        held = [l for l in bill["lines"] if l["state"] == "held"]
        sent = [l for l in bill["lines"] if l["state"] == "sent"]
        action = rng.choice(["round", "round", "fire", "patch", "delete", "void"])
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if action == "round" or (action == "fire" and not held) or (
                action in ("patch", "delete") and not held) or (action == "void" and not sent):
            lines: list[dict[str, Any]] = []
            for _ in range(rng.randint(1, 4)):
                pid, mods, course = rng.choice(products)
                lines.append({"product_id": pid, "modifiers": mods, "course": course,
                              "qty": rng.randint(1, 5), "hold": rng.random() < 0.4,
                              "seat": rng.randint(0, 4)})
            res = edge.request("POST", f"{path}/lines", waiter, json={"lines": lines}, headers=headers)
            action = "round"
        elif action == "fire":
            res = edge.request("POST", f"{path}/fire", waiter,
                               json={"course": rng.choice([held[0]["course"], ""])}, headers=headers)
        elif action == "patch":
            res = edge.request("PATCH", f"{path}/lines/{rng.choice(held)['id']}", waiter,
                               json={"qty": rng.randint(1, 9)},
                               headers={"If-Match": str(bill["revision"])})
        elif action == "delete":
            res = edge.request("DELETE", f"{path}/lines/{rng.choice(held)['id']}", waiter)
        else:
            res = edge.request("POST", f"{path}/lines/{rng.choice(sent)['id']}/void", waiter,
                               json={"reason": "tes"}, headers=headers)
        assert res.status_code == 200, (action, res.text)
        done[action] = done.get(action, 0) + 1
        bill = res.json()
        order = msgspec.convert(bill, Order)
        assert bills.reprice(order, tax=tax, floor=plan) == order, action
        assert check_money(order, tax) == []
        stored = edge.call("GET", path, waiter)
        assert stored == bill
    assert len(done) >= 4, done


def test_the_prebill_shows_service_and_tax_and_leaves_voided_lines_out() -> None:
    tax = TaxConfig(service_rate_bp=500, tax_rate_bp=1000, tax_name="PB1")
    raw = [(42_000, 1, "sent", 0), (6_000, 3, "voided", 0), (12_000, 2, "held", 0)]
    order = msgspec.structs.replace(
        bills.reprice(bill_of(raw, "dine_in", 0), tax=tax, floor=FloorPlan()),
        table="A3", covers=3)
    doc = printing.receipt_document(order, outlet_name="Warung", tax=tax, prebill=True)
    text = "\n".join(str(args[0]) for method, args, _ in doc.ops if method == "textln")
    for expected in ("PRE-BILL", "Table A3", "Service 5%", "PB1 10%", "Due", "3 tamu",
                     "item0", "item2"):
        assert expected in text, expected
    assert "item1" not in text  # the voided line is not charged, so not printed
    assert order.service_charge > 0 and order.tax > 0
