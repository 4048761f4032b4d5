"""Printing through a real edge process to fake ESC/POS network printers (real TCP servers
that decode the byte stream): receipts, kitchen chits per station, a printer that is down
and comes back, and the errors a cashier sees."""

from __future__ import annotations

import time
from typing import Any

import pytest

from edge.printing import BACKOFF_CAP
from shared.money import format_money
from tests.edge.edge_server import EdgeServer
from tests.edge.kitchen_support import Edge, call, place_order, products_by_station
from tests.fakes.escpos_printer import FakeEscposPrinter, free_port


@pytest.fixture(scope="module")
def print_edge(shared_edge: EdgeServer) -> Edge:
    return Edge(shared_edge)


def _add_printer(edge: Edge, manager: str, **fields: Any) -> dict[str, Any]:
    body = {"host": "127.0.0.1", "port": 9100, "role": "receipt", **fields}
    return call(edge.url, "POST", "/api/v1/printers", manager, body, expect=201)


def _printer(edge: Edge, name: str) -> dict[str, Any]:
    items = call(edge.url, "GET", "/api/v1/printers", edge.cashier_device)["items"]
    return next(p for p in items if p["name"] == name)


def _paid_order(edge: Edge, method: str = "cash") -> dict[str, Any]:
    menu = products_by_station(edge.url, edge.kiosk)
    order = place_order(edge.url, edge.kiosk, [(menu["kitchen"][0], 2), (menu["bar"][0], 1)],
                        table="4")
    tendered = (order["total"] // 50_000 + 1) * 50_000
    payment = ({"method": "cash", "amount": order["total"], "tendered": tendered}
               if method == "cash" else
               {"method": "card", "amount": order["total"], "reference": "APPR 1"})
    return call(edge.url, "POST", f"/api/v1/orders/{order['id']}/payments", edge.login("cashier"),
                payment)


def test_receipt_is_printed_with_the_money_lines(print_edge: Edge) -> None:
    edge = print_edge
    manager = edge.login("manager")
    order = _paid_order(edge)
    # nothing configured yet: a clear refusal, not a job that can never print
    refused = call(edge.url, "POST", f"/api/v1/orders/{order['id']}/print", edge.cashier_device,
                   {"kind": "receipt"}, expect=422)
    assert refused["error"]["code"] == "rejected"
    with FakeEscposPrinter() as printer:
        _add_printer(edge, manager, name="front desk", port=printer.port)
        queued = call(edge.url, "POST", f"/api/v1/orders/{order['id']}/print", edge.cashier_device,
                      {"kind": "receipt"}, expect=202)
        assert [j["status"] for j in queued["jobs"]] == ["queued"]
        [receipt] = printer.wait_for_documents(1)
    lines = receipt.lines
    assert printer.unknown_commands == [] and receipt.cut == "full"
    assert "Warung Demo Kemang" in receipt.large_text
    assert f"Order #{order['number']}" in lines and "Dine in - Table 4" in lines
    for line in order["lines"]:
        assert any(l.startswith(f"{line['qty']} x {line['name']}")
                   and l.endswith(format_money(line["line_total"])) for l in lines)

    def amount(label: str) -> str:
        return next(l for l in lines if l.startswith(label)).split()[-1]

    assert amount("Subtotal") == format_money(order["subtotal"]).split()[-1]
    assert amount("Service") == format_money(order["service_charge"]).split()[-1]
    assert amount("PB1") == format_money(order["tax"]).split()[-1]
    assert amount("TOTAL") == format_money(order["total"]).split()[-1]
    assert "TOTAL" in receipt.bold_text
    payment = order["payments"][0]
    assert amount("Cash") == format_money(payment["tendered"]).split()[-1]
    assert amount("Change") == format_money(payment["change"]).split()[-1]
    status = _printer(edge, "front desk")
    assert status["status"] == "ok" and status["queued_jobs"] == 0 and status["last_ok_at"]


def test_kitchen_chits_go_to_their_station_printer(print_edge: Edge) -> None:
    edge = print_edge
    manager = edge.login("manager")
    # card: a cash payment would queue a drawer pulse on "front desk", whose printer is gone,
    # and leave it backing off ahead of the next test's receipt
    order = _paid_order(edge, method="card")
    with FakeEscposPrinter() as hot, FakeEscposPrinter() as bar:
        _add_printer(edge, manager, name="hot line", port=hot.port, role="kitchen",
                     station="kitchen")
        _add_printer(edge, manager, name="bar", port=bar.port, role="kitchen", station="bar")
        jobs = call(edge.url, "POST", f"/api/v1/orders/{order['id']}/print", edge.kds,
                    {"kind": "kitchen"}, expect=202)["jobs"]
        assert len(jobs) == 2
        [hot_chit] = hot.wait_for_documents(1)
        [bar_chit] = bar.wait_for_documents(1)
    by_station = {line["station"]: line for line in order["lines"]}
    assert hot_chit.lines[:2] == ["KITCHEN", f"#{order['number']}"]
    assert f"2 x {by_station['kitchen']['name']}" in hot_chit.lines
    assert by_station["bar"]["name"] not in hot_chit.text
    assert bar_chit.lines[:2] == ["BAR", f"#{order['number']}"]
    assert f"1 x {by_station['bar']['name']}" in bar_chit.lines


def test_kitchen_printers_print_new_orders_by_themselves(print_edge: Edge) -> None:
    edge = print_edge
    manager = edge.login("manager")
    menu = products_by_station(edge.url, edge.kiosk)
    with FakeEscposPrinter() as hot, FakeEscposPrinter() as bar:
        _add_printer(edge, manager, name="hot line", port=hot.port, role="kitchen",
                     station="kitchen")
        _add_printer(edge, manager, name="bar", port=bar.port, role="kitchen", station="bar")
        order = place_order(edge.url, edge.kiosk, [(menu["kitchen"][1], 3), (menu["bar"][1], 1)])
        [hot_chit] = hot.wait_for_documents(1)
        [bar_chit] = bar.wait_for_documents(1)
        assert f"#{order['number']}" in hot_chit.lines and f"#{order['number']}" in bar_chit.lines
        assert f"3 x {menu['kitchen'][1]['name']}" in hot_chit.lines
        assert f"1 x {menu['bar'][1]['name']}" in bar_chit.lines
        # only on the way into the kitchen: paying the order prints no second chit
        call(edge.url, "POST", f"/api/v1/orders/{order['id']}/payments", edge.login("cashier"),
             {"method": "card", "amount": order["total"], "reference": "EDC-1"})
        time.sleep(1.5)
        assert len(hot.documents) == 1 and len(bar.documents) == 1
    # disabled: the next tests' orders print no chits to printers that are gone
    _add_printer(edge, manager, name="hot line", port=free_port(), role="kitchen",
                 station="kitchen", enabled=False)
    _add_printer(edge, manager, name="bar", port=free_port(), role="kitchen", station="bar",
                 enabled=False)


def test_a_printer_that_is_down_gets_the_job_when_it_comes_back(print_edge: Edge) -> None:
    edge = print_edge
    manager = edge.login("manager")
    port = free_port()  # nothing listens here yet: the printer is switched off
    _add_printer(edge, manager, name="front desk", port=port)  # same name: reconfigured
    order = _paid_order(edge, method="card")  # card: no drawer pulse queued beside the receipt
    call(edge.url, "POST", f"/api/v1/orders/{order['id']}/print", edge.cashier_device,
         {"kind": "receipt"}, expect=202)
    # The printer shows its error at the next attempt of its oldest queued job, which may be
    # backing off (up to BACKOFF_CAP) if an earlier test left a job there (a drawer pulse of a
    # cash payment: sent if fresh, dropped once stale); the receipt is printed after it.
    patience = BACKOFF_CAP + 30
    deadline = time.monotonic() + patience
    while (status := _printer(edge, "front desk"))["status"] != "error":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["queued_jobs"] >= 1 and "refused" in status["last_error"].lower()
    with FakeEscposPrinter(port=port) as printer:  # switched on
        count = 1
        while not [d for d in printer.wait_for_documents(count, timeout=patience)
                   if f"Order #{order['number']}" in d.lines]:
            count += 1
        # The paper is out before the edge records the job as printed, and "ok" may already be
        # the status left by the drawer pulse: wait until the queue is empty as well.
        deadline = time.monotonic() + patience
        while (status := _printer(edge, "front desk"))["status"] != "ok" or status["queued_jobs"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
    assert status["queued_jobs"] == 0 and status["last_error"] == ""


def test_print_requests_are_checked(print_edge: Edge) -> None:
    edge = print_edge
    cashier = edge.login("cashier")
    order = _paid_order(edge)
    call(edge.url, "POST", "/api/v1/orders/no-such-order/print", cashier, {"kind": "receipt"},
         expect=404)
    call(edge.url, "POST", f"/api/v1/orders/{order['id']}/print", cashier, {"kind": "poster"},
         expect=400)
    denied = call(edge.url, "POST", "/api/v1/printers", cashier,
                  {"name": "rogue", "host": "10.0.0.9"}, expect=403)
    assert denied["error"]["code"] == "forbidden"
    call(edge.url, "POST", "/api/v1/printers", edge.login("manager"),
         {"name": "bad", "host": "10.0.0.9", "port": 70000}, expect=400)
    call(edge.url, "POST", f"/api/v1/orders/{order['id']}/print", None, {"kind": "receipt"},
         expect=401)
    manager = edge.login("manager")
    call(edge.url, "POST", "/api/v1/printers/no-such-printer/retry", manager, expect=404)
    printer = _add_printer(edge, manager, name="spare", port=free_port(), enabled=False)
    assert call(edge.url, "POST", f"/api/v1/printers/{printer['id']}/retry", manager) == {
        "requeued": 0}
    call(edge.url, "POST", f"/api/v1/printers/{printer['id']}/retry", cashier, expect=403)
