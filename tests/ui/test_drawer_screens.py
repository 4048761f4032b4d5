"""Issue 11: the cash drawer is kicked through the receipt printer for cash only, driven from
the cashier screen in Chromium against a real edge process, a real fake ESC/POS printer
(tests/fakes/escpos_printer.py, a TCP server on 127.0.0.1) and a real fake Midtrans process.

A card payment (with the terminal's approval code) and a QRIS payment (the customer pays
through the fake gateway's sandbox simulator) send nothing to the printer; a cash payment
sends exactly one drawer pulse (ESC p, pin 2) and prints nothing else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from demo.fake_gateways import FakeGatewayProcess
from tests.edge.edge_server import EdgeServer
from tests.edge.test_payments_gateway import configure
from tests.fakes.escpos_printer import FakeEscposPrinter
from tests.ui.test_payments_screens import (
    WAIT_MS,
    customer_pays,
    open_order,
    order_of,
    pending_attempt,
)
from tests.ui.test_screens import (
    cashier_login,
    demo_menu,
    open_app,
    place_api_order,
    product_with_required_group,
    rupiah,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def midtrans() -> Iterator[FakeGatewayProcess]:
    with FakeGatewayProcess("midtrans") as fake:
        yield fake


@pytest.fixture(scope="module")
def printer() -> Iterator[FakeEscposPrinter]:
    with FakeEscposPrinter() as fake:
        yield fake


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, printer: FakeEscposPrinter,
         midtrans: FakeGatewayProcess) -> Iterator[EdgeServer]:
    """A demo edge with the fake printer as its receipt printer (the drawer hangs off it),
    Midtrans (fake) as its QRIS gateway and a shift open on the cashier tablet."""
    server = EdgeServer(tmp_path_factory.mktemp("drawerscreens") / "edge")
    configure(server, "midtrans", midtrans.base_url, midtrans.server_key)
    server.start()
    server.call("POST", "/api/v1/printers", server.login("manager"),
                json={"name": "Front counter", "host": "127.0.0.1", "port": printer.port,
                      "role": "receipt"})
    server.call("POST", "/api/v1/shifts", server.login("cashier"), json={"opening_float": 0})
    yield server
    server.stop()


def drawer_jobs(edge: EdgeServer) -> list[str]:
    """The order id of every drawer pulse the edge queued, oldest first."""
    conn = sqlite3.connect(f"file:{edge.data_dir / 'edge.db'}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute(
            "SELECT order_id FROM print_jobs WHERE kind = 'drawer' ORDER BY created_at")]
    finally:
        conn.close()


def test_cashier_cash_payment_kicks_the_drawer_card_and_qris_do_not(
        edge: EdgeServer, printer: FakeEscposPrinter, midtrans: FakeGatewayProcess,
        context: Any, shoot: Any) -> None:
    menu = demo_menu(edge, edge.tokens["cashier"])
    product, groups = product_with_required_group(menu)
    card, qris, cash = (place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
                        for _ in range(3))
    page = open_app(context, edge, "/cashier/", edge.tokens["cashier"])
    cashier_login(page, edge.pins["cashier"])

    # Card: the EDC terminal's approval code goes in the reference field.
    open_order(page, card["number"])
    page.get_by_role("button", name="Kartu").click()
    page.get_by_test_id("pay-reference").fill("APPR 482913")
    page.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
    paid_card = order_of(edge, card["id"])
    assert [(p["method"], p["reference"]) for p in paid_card["payments"]] == [("card", "APPR 482913")]

    # QRIS: the customer pays on their phone (the fake gateway's simulator); no tap after.
    open_order(page, qris["number"])
    page.get_by_role("button", name="QRIS").click()
    page.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("customer-view")).to_be_visible(timeout=WAIT_MS)
    customer_pays(midtrans, pending_attempt(edge, qris["id"])["id"])
    expect(page.get_by_test_id("customer-paid")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
    paid_qris = order_of(edge, qris["id"])
    assert [(p["method"], p["gateway"]) for p in paid_qris["payments"]] == [("qris", "midtrans")]

    # Neither queued a pulse, and the printer received nothing.
    assert drawer_jobs(edge) == []
    assert printer.documents == [] and not printer.unknown_commands
    page.get_by_test_id("customer-paid").click()  # the cashier turns the tablet back
    expect(page.get_by_test_id("customer-view")).to_have_count(0)

    # Cash, with change: exactly one pulse reaches the printer.
    open_order(page, cash["number"])
    tendered = (cash["total"] // 50000 + 1) * 50000
    page.get_by_test_id("pay-tendered").fill(str(tendered))
    page.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("pay-result")).to_contain_text(rupiah(tendered - cash["total"]),
                                                              timeout=WAIT_MS)
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0))
    shoot(page, "cashier-cash-drawer")
    [kick] = printer.wait_for_documents(1)
    assert kick.drawer_kicked and kick.text.strip() == ""  # a pulse, nothing printed
    assert [c for c in kick.commands if c.startswith("ESC p")] == ["ESC p 003232"]
    assert drawer_jobs(edge) == [cash["id"]]
    assert len(printer.documents) == 1 and not printer.unknown_commands
    assert [p["method"] for p in order_of(edge, cash["id"])["payments"]] == ["cash"]
