"""Discounts at the till through a real edge process whose discount rules came from head
office (applied with ``edge.outlet.apply_hub_settings``, the pull feed's own function):
a reason from the hub's list (else 400), a cashier alone up to the threshold, a manager
above it (logged in, or the manager's PIN on the cashier's session, counted by the login
throttle), totals re-priced with shared.pricing, reason and approver stored and journalled;
a void of a paid order records who approved it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from edge.catalog import read_catalog
from edge.db import Database
from edge.outlet import apply_hub_settings
from shared.pricing import PricedLine, percent_of, price_order
from shared.schemas import OrderEvent
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import journal, place
from tests.edge.test_refunds import MANAGER_PIN, staff_id

REASONS = ["regular customer", "staff meal", "complaint"]
THRESHOLD = 10  # percent


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("discounts") / "edge")
    db = Database(server.data_dir / "edge.db")
    try:
        db.write_blocking(lambda conn: apply_hub_settings(
            conn, name="Discount outlet", timezone="Asia/Jakarta", discount_reasons=REASONS,
            discount_approval_percent=THRESHOLD))
    finally:
        db.close()
    server.start()
    yield server
    server.stop()


def discount(edge: EdgeServer, order_id: str, token: str, body: dict[str, Any],
             pin: str | None = None) -> httpx.Response:
    return edge.request("POST", f"/api/v1/orders/{order_id}/discount", token, json=body,
                        headers={MANAGER_PIN: pin} if pin else {})


def repriced(edge: EdgeServer, order: dict[str, Any], discount: int) -> tuple[int, ...]:
    db = Database(edge.data_dir / "edge.db")
    try:
        tax = db.read_now(read_catalog).tax
    finally:
        db.close()
    totals = price_order([PricedLine(base_price=line["unit_price"], qty=line["qty"])
                          for line in order["lines"]], tax, discount)
    return (totals.discount, totals.service_charge, totals.tax, totals.rounding, totals.total)


def money(order: dict[str, Any]) -> tuple[int, ...]:
    return tuple(order[k] for k in ("discount", "service_charge", "tax", "rounding", "total"))


def test_a_cashier_discounts_up_to_the_threshold(edge: EdgeServer) -> None:
    cashier = edge.login("cashier")
    order = place(edge)
    res = discount(edge, order["id"], cashier, {"percent": THRESHOLD, "reason": "regular customer"})
    assert res.status_code == 200, res.text
    done = res.json()
    expected = percent_of(order["subtotal"], THRESHOLD)
    assert money(done) == repriced(edge, order, expected)
    assert done["total"] < order["total"]
    assert (done["discount_reason"], done["discount_approved_by"]) == ("regular customer", None)
    # the reason and the re-priced snapshot are journalled for the hub
    last = [b.order for _, _, b in journal(edge)
            if isinstance(b, OrderEvent) and b.order.id == order["id"]][-1]
    assert (last.discount, last.total, last.discount_reason) == (
        expected, done["total"], "regular customer")


def test_above_the_threshold_a_manager_approves(edge: EdgeServer) -> None:
    cashier, manager_id = edge.login("cashier"), staff_id(edge, "manager")
    order = place(edge)
    body = {"percent": THRESHOLD + 5, "reason": "complaint"}
    res = discount(edge, order["id"], cashier, body)
    assert res.status_code == 403, res.text
    assert res.json()["error"]["details"]["approval_percent"] == THRESHOLD
    assert discount(edge, order["id"], cashier, body, pin="999999").status_code == 403
    unchanged = edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)
    assert money(unchanged) == money(order)
    res = discount(edge, order["id"], cashier, body, pin=edge.pins["manager"])
    assert res.status_code == 200, res.text
    done = res.json()
    assert done["discount_approved_by"] == manager_id and done["discount_reason"] == "complaint"
    assert money(done) == repriced(edge, order, percent_of(order["subtotal"], THRESHOLD + 5))
    # a manager logged in approves by themselves; a fixed amount on one line
    line = order["lines"][1]
    res = discount(edge, order["id"], edge.login("manager"),
                   {"line_id": line["id"], "amount": 2_000, "reason": "staff meal"})
    assert res.status_code == 200, res.text
    both = res.json()
    total_discount = percent_of(order["subtotal"], THRESHOLD + 5) + 2_000
    assert money(both) == repriced(edge, order, total_discount)
    assert [ln["discount"] for ln in both["lines"]] == [0, 2_000, 0]


def test_reasons_off_the_hubs_list_and_bad_bodies_are_400(edge: EdgeServer) -> None:
    manager = edge.login("manager")
    order = place(edge)
    for body in ({"percent": 5, "reason": "my cousin"}, {"percent": 5, "reason": " "},
                 {"percent": 5, "amount": 100, "reason": "staff meal"},
                 {"reason": "staff meal"}, {"percent": 101, "reason": "staff meal"},
                 {"amount": order["subtotal"] + 1, "reason": "staff meal"},
                 {"percent": 5, "reason": "staff meal", "line_id": "nope", "extra": 1}):
        res = discount(edge, order["id"], manager, body)
        assert res.status_code == 400, (body, res.text)
        assert res.json()["error"]["code"] == "validation_failed"
    res = discount(edge, order["id"], manager, {"percent": 5, "reason": "x", "line_id": "nope"})
    assert res.status_code in (400, 404)
    assert money(edge.call("GET", f"/api/v1/orders/{order['id']}", manager)) == money(order)
    # a discount may not take the total below what was paid
    cashier = edge.login("cashier")
    edge.call("POST", f"/api/v1/orders/{order['id']}/payments", cashier,
              json={"method": "card", "amount": order["total"], "reference": "EDC-9"})
    res = discount(edge, order["id"], manager, {"percent": 50, "reason": "complaint"})
    assert res.status_code == 409


def test_the_manager_pin_is_throttled_like_a_login(edge: EdgeServer) -> None:
    device = edge.pair("cashier", "till-throttle")
    cashier = edge.login_pin(edge.pins["cashier"], device)
    order = place(edge)
    body = {"percent": 50, "reason": "complaint"}
    codes = [discount(edge, order["id"], cashier, body, pin=f"90000{i}").status_code
             for i in range(5)]
    assert codes == [403] * 5
    # the device is locked now: even the right PIN is not looked at
    res = discount(edge, order["id"], cashier, body, pin=edge.pins["manager"])
    assert res.status_code == 429, res.text
    assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["discount"] == 0


def test_voiding_a_paid_order_records_the_approving_manager(edge: EdgeServer) -> None:
    cashier, manager_id = edge.login("cashier"), staff_id(edge, "manager")
    order = place(edge)
    edge.call("POST", f"/api/v1/orders/{order['id']}/payments", cashier,
              json={"method": "cash", "amount": order["total"]})
    path = f"/api/v1/orders/{order['id']}/void"
    res = edge.request("POST", path, cashier, json={"reason": "wrong order"})
    assert res.status_code == 403
    res = edge.request("POST", path, cashier, json={"reason": "wrong order"},
                       headers={MANAGER_PIN: edge.pins["manager"]})
    assert res.status_code == 200, res.text
    voided = res.json()
    assert (voided["status"], voided["void_approved_by"]) == ("voided", manager_id)
    unpaid = place(edge)
    done = edge.call("POST", f"/api/v1/orders/{unpaid['id']}/void", cashier,
                     json={"reason": "left"})
    assert done["void_approved_by"] is None
