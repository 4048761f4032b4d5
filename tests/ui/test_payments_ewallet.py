"""The cashier's e-wallet channel in Chromium (issue 11), against a real edge and the fake
Midtrans: the cashier picks "Dompet digital", then GoPay or ShopeePay; the customer view
shows the charge's QR (GoPay's QR string, ShopeePay's deeplink) with the amount; the fake's
sandbox simulator pays it and the order is paid with no tap at the till."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from demo.fake_gateways import FakeGatewayProcess
from tests.edge.edge_server import EdgeServer
from tests.ui.test_payments_screens import (  # noqa: F401 - fixtures
    WAIT_MS,
    configure,
    customer_pays,
    edge,
    midtrans,
    open_order,
    order_of,
    pending_attempt,
    wait_for,
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


@pytest.mark.parametrize("channel,label", [("gopay", "GoPay"), ("shopeepay", "ShopeePay")])
def test_cashier_ewallet_charge_is_paid_with_no_tap(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any, channel: str,  # noqa: F811
        label: str) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key,
              "--ewallet-channels", "gopay,shopeepay")
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    order = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
    page = open_app(context, edge, "/cashier/", edge.tokens["cashier"])
    cashier_login(page, edge.pins["cashier"])
    open_order(page, order["number"])

    page.get_by_role("button", name="Dompet digital").click()
    page.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_role("button", name=label, exact=True)).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("pay-submit").click()
    view = page.get_by_test_id("customer-view")
    expect(view).to_be_visible(timeout=WAIT_MS)
    expect(view.get_by_test_id("qr-amount")).to_have_text(rupiah(order["total"]))
    expect(view.get_by_test_id("qr-card")).to_contain_text(f"Scan dengan {label}")
    expect(view.locator(".qr-code svg")).to_be_visible()  # the QR / deeplink, drawn
    expect(view.get_by_test_id("qr-countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))

    attempt = pending_attempt(edge, order["id"])
    assert (attempt["method"], attempt["channel"]) == ("ewallet", channel)
    charge = wait_for(lambda: next((c for c in midtrans.ledger()["charges"]
                                    if c["order_id"] == attempt["id"]), None),
                      "the charge at Midtrans")
    assert charge["payment_type"] == channel
    customer_pays(midtrans, attempt["id"])
    expect(page.get_by_test_id("customer-paid")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
    paid = order_of(edge, order["id"])
    assert [(p["method"], p["amount"], p["gateway"]) for p in paid["payments"]] == [
        ("ewallet", order["total"], "midtrans")]
    configure(edge, "none")


def test_cashier_ovo_asks_for_the_customers_number_and_is_paid_on_approval(
        edge: EdgeServer, context: Any) -> None:  # noqa: F811
    with FakeGatewayProcess("xendit") as xendit:
        configure(edge, "xendit", xendit.base_url, xendit.server_key,
                  "--ewallet-channels", "ovo,dana")
        menu = demo_menu(edge, edge.tokens["kiosk"])
        product, groups = product_with_required_group(menu)
        order = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
        page = open_app(context, edge, "/cashier/", edge.tokens["cashier"])
        cashier_login(page, edge.pins["cashier"])
        open_order(page, order["number"])

        page.get_by_role("button", name="Dompet digital").click()
        expect(page.get_by_test_id("ovo-mobile")).to_be_visible()  # OVO, the first channel
        page.get_by_role("button", name="DANA", exact=True).click()
        expect(page.get_by_test_id("ovo-mobile")).to_have_count(0)  # DANA asks no number
        page.get_by_role("button", name="OVO", exact=True).click()
        number = page.get_by_test_id("ovo-mobile")
        expect(number).to_be_visible()
        number.fill("0812-3456-7890")  # as a customer says it: the leading 0 becomes +62
        page.get_by_test_id("pay-submit").click()
        attempt = pending_attempt(edge, order["id"])
        assert (attempt["method"], attempt["channel"]) == ("ewallet", "ovo")
        # the attempt is pending from before the gateway answers: wait for the charge itself
        [charge] = wait_for(lambda: xendit.ledger()["ewallets"] or None, "the OVO charge at Xendit")
        assert charge["channel_code"] == "ID_OVO"
        assert charge["channel_properties"] == {"mobile_number": "+6281234567890"}
        # the till says where the payment went: "sent to the OVO app of 81234567890"
        expect(page.locator("body")).to_contain_text("81234567890", timeout=WAIT_MS)

        assert httpx.post(f"{xendit.base_url}/_fake/ewallets/charges/{charge['id']}/pay",
                          timeout=10).status_code == 200
        expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
        paid = order_of(edge, order["id"])
        assert [(p["method"], p["gateway"]) for p in paid["payments"]] == [("ewallet", "xendit")]
        configure(edge, "none")
