"""Cashier shifts through a real edge process: payments fall into the till's open shift,
cash in/out, close with a count, X and Z reports, and the rules around them."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from shared.schemas import CashMovementEvent, ShiftEvent, event_decoder
from tests.edge.edge_server import EdgeServer
from tests.edge.kitchen_support import Edge, call, place_order, products_by_station


@pytest.fixture(scope="module")
def shift_edge(shared_edge: EdgeServer) -> Edge:
    return Edge(shared_edge)


def _order(edge: Edge, qty: int = 1) -> dict[str, Any]:
    product = products_by_station(edge.url, edge.kiosk)["kitchen"][0]
    return place_order(edge.url, edge.kiosk, [(product, qty)])


def _pay(edge: Edge, token: str, order: dict[str, Any], method: str, **extra: Any) -> dict[str, Any]:
    body = {"method": method, "amount": order["total"], **extra}
    return call(edge.url, "POST", f"/api/v1/orders/{order['id']}/payments", token, body)


def _shift_events(edge: Edge, shift_id: str) -> list[str]:
    conn = sqlite3.connect(f"file:{edge.data_dir / 'edge.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT body FROM outbox WHERE kind IN ('shift', 'cash_movement')"
                            " ORDER BY seq").fetchall()
    finally:
        conn.close()
    found = []
    for (body,) in rows:
        event = event_decoder.decode(body)
        if isinstance(event, ShiftEvent) and event.shift.id == shift_id:
            found.append("closed" if event.shift.closed_at else "opened")
        elif isinstance(event, CashMovementEvent) and event.movement.shift_id == shift_id:
            found.append(f"cash_{event.movement.direction}")
    return found


def test_a_shift_counts_the_drawer(shift_edge: Edge) -> None:
    edge, url = shift_edge, shift_edge.url
    _, cashier, manager = edge.new_till("till-count")
    shift = call(url, "POST", "/api/v1/shifts", cashier, {"opening_float": 500_000}, expect=201)
    assert shift["opening_float"] == 500_000 and shift["closed_at"] is None
    again = call(url, "POST", "/api/v1/shifts", manager, {"opening_float": 1}, expect=409)
    assert again["error"]["details"]["shift_id"] == shift["id"]
    assert call(url, "GET", "/api/v1/shifts/current", cashier)["id"] == shift["id"]

    cash_order, card_order, voided_order = _order(edge, 1), _order(edge, 2), _order(edge, 3)
    # the customer hands over more than the total: the drawer keeps only the amount
    paid = _pay(edge, cashier, cash_order, "cash", tendered=cash_order["total"] + 7_000)
    assert paid["payments"][0]["change"] == 7_000
    assert paid["payments"][0]["shift_id"] == shift["id"]
    _pay(edge, cashier, card_order, "card", reference="EDC-778812")
    _pay(edge, cashier, voided_order, "cash")
    call(url, "POST", f"/api/v1/orders/{voided_order['id']}/void", manager, {"reason": "wrong table"})
    call(url, "POST", f"/api/v1/shifts/{shift['id']}/cash-movements", cashier,
         {"direction": "in", "amount": 100_000, "reason": "small notes from the safe"}, expect=201)
    call(url, "POST", f"/api/v1/shifts/{shift['id']}/cash-movements", cashier,
         {"direction": "out", "amount": 25_000, "reason": "ice delivery"}, expect=201)

    expected = 500_000 + cash_order["total"] + 100_000 - 25_000
    x = call(url, "GET", f"/api/v1/shifts/{shift['id']}/report", cashier)
    assert x["kind"] == "X"
    assert x["sales_by_method"] == {"cash": cash_order["total"], "card": card_order["total"]}
    assert x["gross_sales"] == cash_order["total"] + card_order["total"]
    assert x["order_count"] == 2
    assert (x["void_count"], x["void_amount"]) == (1, voided_order["total"])
    assert x["cash_sales"] == cash_order["total"] + voided_order["total"]
    assert x["cash_refunds"] == voided_order["total"]
    assert (x["cash_in"], x["cash_out"]) == (100_000, 25_000)
    assert [m["reason"] for m in x["movements"]] == ["small notes from the safe", "ice delivery"]
    assert x["expected_cash"] == expected and x["counted_cash"] is None

    closed = call(url, "POST", f"/api/v1/shifts/{shift['id']}/close", cashier,
                  {"counted_cash": expected - 2_000})
    assert (closed["expected_cash"], closed["counted_cash"], closed["difference"]) == (
        expected, expected - 2_000, -2_000)
    z = call(url, "GET", f"/api/v1/shifts/{shift['id']}/report", manager)
    assert z["kind"] == "Z" and z["difference"] == -2_000 and z["expected_cash"] == expected
    assert {k: z[k] for k in ("sales_by_method", "void_count", "cash_in", "cash_out")} == {
        k: x[k] for k in ("sales_by_method", "void_count", "cash_in", "cash_out")}

    # closed means final: no more movements, no second close, and the Z report stays as written
    call(url, "POST", f"/api/v1/shifts/{shift['id']}/cash-movements", cashier,
         {"direction": "in", "amount": 1, "reason": "late"}, expect=409)
    call(url, "POST", f"/api/v1/shifts/{shift['id']}/close", cashier, {"counted_cash": 0},
         expect=409)
    late = _order(edge)
    after_close = _pay(edge, cashier, late, "cash")
    assert after_close["payments"][0]["shift_id"] is None
    assert call(url, "GET", f"/api/v1/shifts/{shift['id']}/report", manager) == z
    call(url, "GET", "/api/v1/shifts/current", cashier, expect=404)
    assert _shift_events(edge, shift["id"]) == ["opened", "cash_in", "cash_out", "closed"]


def test_payments_belong_to_the_shift_of_their_till(shift_edge: Edge) -> None:
    edge, url = shift_edge, shift_edge.url
    _, cashier_a, _ = edge.new_till("till-a")
    _, cashier_b, _ = edge.new_till("till-b")
    shift_a = call(url, "POST", "/api/v1/shifts", cashier_a, {"opening_float": 0}, expect=201)
    order = _order(edge)
    paid = _pay(edge, cashier_b, order, "qris", reference="QR-1")  # till b has no open shift
    assert paid["payments"][0]["shift_id"] is None
    report = call(url, "GET", f"/api/v1/shifts/{shift_a['id']}/report", cashier_a)
    assert report["sales_by_method"] == {} and report["expected_cash"] == 0


def test_shift_rules(shift_edge: Edge) -> None:
    edge, url = shift_edge, shift_edge.url
    device, cashier, _ = edge.new_till("till-rules")
    # a device token alone (no staff logged in) and kitchen staff may not run a shift
    call(url, "POST", "/api/v1/shifts", device, {"opening_float": 0}, expect=403)
    call(url, "POST", "/api/v1/shifts", edge.login("kitchen", edge.kds), {"opening_float": 0},
         expect=403)
    # a manager logged in on a kitchen screen is not at a till
    manager_on_kds = edge.login("manager", edge.kds)
    refused = call(url, "POST", "/api/v1/shifts", manager_on_kds, {"opening_float": 0}, expect=403)
    assert refused["error"]["code"] == "forbidden"
    bad = call(url, "POST", "/api/v1/shifts", cashier, {"opening_float": -5}, expect=400)
    assert bad["error"]["code"] == "validation_failed"
    call(url, "POST", "/api/v1/shifts", cashier, {"opening_float": 1, "extra": 1}, expect=400)
    shift = call(url, "POST", "/api/v1/shifts", cashier, {"opening_float": 50_000}, expect=201)
    too_much = call(url, "POST", f"/api/v1/shifts/{shift['id']}/cash-movements", cashier,
                    {"direction": "out", "amount": 50_001, "reason": "bank"}, expect=400)
    assert too_much["error"]["details"]["expected_cash"] == 50_000
    call(url, "POST", f"/api/v1/shifts/{shift['id']}/cash-movements", cashier,
         {"direction": "in", "amount": 10, "reason": ""}, expect=400)
    call(url, "POST", f"/api/v1/shifts/{shift['id']}/cash-movements", cashier,
         {"direction": "sideways", "amount": 10, "reason": "x"}, expect=400)
    call(url, "GET", "/api/v1/shifts/no-such-shift/report", cashier, expect=404)
    call(url, "POST", "/api/v1/shifts/no-such-shift/close", cashier, {"counted_cash": 0},
         expect=404)
