"""Payment screens in Chromium against a real edge process and real fake-gateway processes
(demo/fake_gateways, started as ``python -m demo.fake_gateways.midtrans``): the kiosk's
"pay here with QRIS", the cashier's QRIS (split with cash, expired, static fallback), the
refund of a handed-over order and a discount, each with a manager's PIN.

The edge polls the fake gateway like the real one; "the customer pays" is the fake's
sandbox simulator (``POST /_fake/v2/{order_id}/pay``). Nothing on a page is tapped between
the simulated payment and the screen showing it paid.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from demo.fake_gateways import FakeGatewayProcess
from edge.db import Database
from edge.outlet import apply_hub_settings
from edge.payments.__main__ import main as payments_cli
from tests.edge.edge_server import EdgeServer
from tests.edge.test_payments_offline import STATIC
from tests.ui.test_screens import (
    demo_menu,
    kiosk_add_product,
    open_app,
    open_till,
    place_api_order,
    product_with_required_group,
    rupiah,
    station_of,
    ticket_card,
)

pytestmark = pytest.mark.browser
# No screen is reloaded while the edge is away: no service worker (tests/ui/conftest.py).
SERVICE_WORKERS = "block"

WAIT_MS = 10000  # generous: the edge asks the gateway every 1-10 s
REASONS = ["Pelanggan tetap", "Makanan staf", "Keluhan"]


@pytest.fixture(scope="module")
def midtrans() -> Iterator[FakeGatewayProcess]:
    with FakeGatewayProcess("midtrans") as fake:
        yield fake


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """A demo edge whose kiosk orders wait for their money (kitchen trigger "payment"),
    with head office's discount reasons and a 10 % approval threshold, and a shift open on
    the cashier tablet. The trigger comes with head office's settings, so the edge is a copy
    of the worker's demo template rather than a fresh ``init`` and three pairings."""
    server = EdgeServer(tmp_path_factory.mktemp("payscreens") / "edge")
    db = Database(server.data_dir / "edge.db")
    try:
        db.write_blocking(lambda conn: apply_hub_settings(
            conn, name="Kopi Nusantara", timezone="Asia/Jakarta", kitchen_trigger="payment",
            discount_reasons=REASONS, discount_approval_percent=10))
    finally:
        db.close()
    server.start()
    server.call("POST", "/api/v1/shifts", server.login("cashier"), json={"opening_float": 0})
    yield server
    server.stop()


def configure(edge: EdgeServer, provider: str, base_url: str = "", server_key: str = "",
              *extra: str) -> None:
    """``python -m edge.payments configure`` run in this process: the same command, without
    a Python start-up for each of the dozen gateway changes in these tests."""
    assert payments_cli(["configure", "--data-dir", str(edge.data_dir), "--provider", provider,
                         "--api-base-url", base_url, "--server-key", server_key, *extra]) == 0


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout} s for {what}")


_staff: dict[tuple[int, str], str] = {}


def staff(edge: EdgeServer, role: str = "cashier") -> str:
    """A staff token of this edge (logged in once per module)."""
    key = (id(edge), role)
    if key not in _staff:
        _staff[key] = edge.login(role)
    return _staff[key]


def attempts_of(edge: EdgeServer, order_id: str) -> list[dict[str, Any]]:
    return edge.call("GET", f"/api/v1/orders/{order_id}/payment-attempts", staff(edge))["items"]


def order_of(edge: EdgeServer, order_id: str) -> dict[str, Any]:
    return edge.call("GET", f"/api/v1/orders/{order_id}", edge.tokens["cashier"])


def customer_pays(fake: FakeGatewayProcess, attempt_id: str) -> None:
    res = httpx.post(f"{fake.base_url}/_fake/v2/{attempt_id}/pay", timeout=10)
    assert res.status_code == 200, res.text


def gateway_expires(fake: FakeGatewayProcess, attempt_id: str) -> None:
    """The gateway ends the QR as it does when its lifetime is over (Midtrans' expire call),
    so the edge hears "expire" on its next poll instead of after a real wait."""
    res = httpx.post(f"{fake.base_url}/v2/{attempt_id}/expire", auth=(fake.server_key, ""), timeout=10)
    assert res.json().get("transaction_status") == "expire", res.text  # Midtrans answers 407 here


def pending_attempt(edge: EdgeServer, order_id: str) -> dict[str, Any]:
    return wait_for(lambda: next((a for a in attempts_of(edge, order_id) if a["status"] == "pending"), None),
                    "a pending payment attempt")


def newest_open_order(edge: EdgeServer) -> dict[str, Any]:
    return edge.call("GET", "/api/v1/orders?status=open&limit=1", edge.tokens["cashier"])["items"][0]


def open_order(page: Any, number: int) -> None:
    page.get_by_test_id("open-order").filter(
        has=page.locator(".num", has_text=re.compile(rf"^#{number}$"))).click()
    expect(page.get_by_test_id("order-title")).to_contain_text(f"#{number}")


def kiosk_to_pay_choice(context: Any, edge: EdgeServer, query: str = "") -> tuple[Any, dict, dict]:
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    kiosk = open_app(context, edge, f"/kiosk/{query}", edge.tokens["kiosk"])
    kiosk.get_by_test_id("attract").click()
    kiosk_add_product(kiosk, menu, product, groups)
    kiosk.get_by_test_id("sheet-add").click()
    kiosk.get_by_test_id("view-cart").click()
    kiosk.get_by_test_id("checkout").click()
    kiosk.get_by_test_id("type-takeaway").click()
    expect(kiosk.get_by_test_id("pay-here")).to_be_visible()
    return kiosk, menu, product


# ---------------------------------------------------------------- kiosk


def test_kiosk_order_paid_by_qris_reaches_the_kds_only_after_confirmation(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any, shoot: Any) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    kiosk, menu, product = kiosk_to_pay_choice(context, edge)
    station = station_of(menu, product)
    kds = open_app(context, edge, f"/kds/?station={station}", edge.tokens["kds"])
    expect(kds.get_by_test_id("station")).to_have_text(station)
    shoot(kiosk, "kiosk-pay-choice")
    kiosk.get_by_test_id("pay-here").click()

    pay = kiosk.get_by_test_id("kiosk-pay")
    expect(pay.get_by_test_id("qr-card")).to_be_visible(timeout=WAIT_MS)
    order = newest_open_order(edge)
    expect(pay.get_by_test_id("qr-amount")).to_have_text(rupiah(order["total"]))
    expect(pay.get_by_test_id("qr-mode")).to_have_text("Gateway")
    expect(pay.locator(".qr-code svg")).to_be_visible()
    expect(pay.get_by_test_id("qr-countdown")).to_have_text(re.compile(r"^[45]:\d\d$"))  # 300 s QR
    shoot(kiosk, "kiosk-qr")
    [attempt] = attempts_of(edge, order["id"])
    assert attempt["status"] == "pending" and attempt["amount"] == order["total"]

    # Not paid yet: the kitchen has not seen it (the KDS shows no ticket for it).
    assert order_of(edge, order["id"])["status"] == "placed"
    kds.wait_for_timeout(1500)
    expect(ticket_card(kds, order["number"])).to_have_count(0)

    customer_pays(midtrans, attempt["id"])
    expect(kiosk.get_by_test_id("number-paid")).to_be_visible(timeout=WAIT_MS)
    expect(kiosk.get_by_test_id("order-number")).to_have_text(str(order["number"]))
    shoot(kiosk, "kiosk-paid")
    expect(ticket_card(kds, order["number"])).to_be_visible(timeout=WAIT_MS)
    paid = order_of(edge, order["id"])
    assert paid["status"] == "in_kitchen" and paid["paid"] == paid["total"]
    assert [(p["method"], p["gateway"], p["verified"]) for p in paid["payments"]] == [("qris", "midtrans", True)]


def test_kiosk_qr_outlasts_the_idle_timer_while_the_customer_pays_on_their_phone(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any) -> None:
    """A customer paying on their phone touches nothing: the idle timer (2 s here, so the old
    "still there?" and reset would be over within 4 s) leaves the QR alone."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    context.clock.install()  # the kiosk's own timers, run ahead below without waiting
    kiosk, _, _ = kiosk_to_pay_choice(context, edge, "?idle=2")
    kiosk.get_by_test_id("pay-here").click()
    expect(kiosk.get_by_test_id("qr-card")).to_be_visible(timeout=WAIT_MS)
    order = newest_open_order(edge)
    attempt = pending_attempt(edge, order["id"])
    kiosk.clock.run_for(7000)  # every kiosk timer of 7 s untouched: idle 2 s + its 2 s countdown
    expect(kiosk.locator("#idle")).not_to_be_visible()
    expect(kiosk.get_by_test_id("qr-card")).to_be_visible()
    assert attempts_of(edge, order["id"])[0]["status"] == "pending"
    customer_pays(midtrans, attempt["id"])
    expect(kiosk.get_by_test_id("number-paid")).to_be_visible(timeout=WAIT_MS)
    assert order_of(edge, order["id"])["paid"] == order["total"]
    # the other screens are still idle-timed
    kiosk.get_by_role("button", name="Selesai").click()
    kiosk.get_by_test_id("attract").click()
    kiosk.clock.run_for(2000)  # 2 s untouched
    expect(kiosk.get_by_text("Masih di sana?")).to_be_visible(timeout=WAIT_MS)
    kiosk.clock.run_for(2000)  # and its 2 s countdown
    expect(kiosk.get_by_test_id("attract")).to_be_visible(timeout=WAIT_MS)


def test_kiosk_start_over_cancels_the_qr_and_its_unpaid_order(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any) -> None:
    """The customer leaves the QR with "Mulai ulang": the QR is voided (at the gateway too)
    and the unpaid order the kitchen never saw is cancelled, not left for the cashier."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    kiosk, _, _ = kiosk_to_pay_choice(context, edge)
    kiosk.get_by_test_id("pay-here").click()
    expect(kiosk.get_by_test_id("qr-card")).to_be_visible(timeout=WAIT_MS)
    order = newest_open_order(edge)
    attempt = pending_attempt(edge, order["id"])
    kiosk.get_by_role("button", name="Mulai ulang").click()
    expect(kiosk.get_by_test_id("attract")).to_be_visible()
    wait_for(lambda: attempts_of(edge, order["id"])[0]["status"] == "cancelled", "the QR to be cancelled")
    charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == attempt["id"])
    assert charge["transaction_status"] == "cancel"  # voided at the gateway too
    left = order_of(edge, order["id"])
    assert (left["status"], left["paid"]) == ("cancelled", 0)
    open_ids = [o["id"] for o in edge.call("GET", "/api/v1/orders?status=open&limit=200",
                                           edge.tokens["cashier"])["items"]]
    assert order["id"] not in open_ids  # nothing left on the cashier's list
    tickets = edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]
    assert all(t["order_id"] != order["id"] for t in tickets)


def countdown_seconds(page: Any) -> int:
    minutes, seconds = page.get_by_test_id("qr-countdown").first.inner_text().split(":")
    return int(minutes) * 60 + int(seconds)


def test_kiosk_qr_reopened_after_a_reload_counts_the_edge_time_left(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any) -> None:
    """A kiosk whose clock is an hour ahead reopens its 300 s QR after a reload: the countdown
    is what the edge has left, measured on the edge's clock at the read, not the whole
    lifetime again."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    context.clock.install(time=time.time() + 3600)
    kiosk, _, _ = kiosk_to_pay_choice(context, edge)
    kiosk.get_by_test_id("pay-here").click()
    expect(kiosk.get_by_test_id("qr-card")).to_be_visible(timeout=WAIT_MS)
    order = newest_open_order(edge)
    attempt = pending_attempt(edge, order["id"])
    assert 290 <= countdown_seconds(kiosk) <= 300
    # Edge time must pass (the kiosk's clock runs at real pace): a countdown restarted from
    # the whole lifetime would read 300 after the reload, the edge's time left at most 298.
    shown_at = time.monotonic()
    kiosk.wait_for_timeout(3000)
    kiosk.reload()
    expect(kiosk.get_by_test_id("qr-card")).to_be_visible(timeout=WAIT_MS)
    assert [a["id"] for a in attempts_of(edge, order["id"])] == [attempt["id"]]  # the same QR
    waited = int(time.monotonic() - shown_at)
    assert countdown_seconds(kiosk) <= 300 - waited + 1


def test_cashier_reopening_a_qr_on_a_tablet_ten_minutes_ahead_does_not_show_it_expired(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    context.clock.install(time=time.time() + 600)
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    counter = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
    attempt = edge.call("POST", f"/api/v1/orders/{counter['id']}/payment-attempts", staff(edge),
                        json={"method": "qris", "amount": counter["total"], "channel": ""})
    page = open_till(context, edge)
    open_order(page, counter["number"])
    panel = page.get_by_test_id("qr-panel")
    expect(panel).to_have_attribute("data-status", "pending", timeout=WAIT_MS)
    assert 280 <= countdown_seconds(panel) <= 300
    page.clock.run_for(1500)  # the countdown ticks on the edge's time, still not expired
    expect(panel).to_have_attribute("data-status", "pending")
    assert 275 <= countdown_seconds(panel) <= 299
    edge.call("POST", f"/api/v1/payment-attempts/{attempt['id']}/cancel", staff(edge))


def test_kiosk_qr_expires_the_customer_is_told_and_the_order_never_cooked(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any, shoot: Any) -> None:
    """The kiosk's countdown runs out (its clock is run 10 s ahead, not waited for): the
    customer is told at once; the gateway's QR ends too and the edge cancels the order."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key, "--qr-expiry-seconds", "10")
    context.clock.install()
    kiosk, _, _ = kiosk_to_pay_choice(context, edge)
    kiosk.get_by_test_id("pay-here").click()
    expect(kiosk.get_by_test_id("qr-card")).to_be_visible(timeout=WAIT_MS)
    order = newest_open_order(edge)
    attempt = pending_attempt(edge, order["id"])
    kiosk.clock.run_for(10_000)  # the QR's whole lifetime on the kiosk
    expect(kiosk.get_by_test_id("kiosk-expired")).to_be_visible(timeout=WAIT_MS)
    shoot(kiosk, "kiosk-qr-expired")
    gateway_expires(midtrans, attempt["id"])
    cancelled = wait_for(lambda: (o := order_of(edge, order["id"]))["status"] == "cancelled" and o,
                         "the edge to cancel the unpaid kiosk order", timeout=60)
    assert cancelled["paid"] == 0
    tickets = edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]
    assert all(t["order_id"] != order["id"] for t in tickets)
    kiosk.get_by_role("button", name="Mulai ulang").click()
    expect(kiosk.get_by_test_id("attract")).to_be_visible()


# ---------------------------------------------------------------- cashier


def test_cashier_split_cash_and_qris_paid_with_no_tap(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any, shoot: Any) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    order = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
    page = open_till(context, edge)
    open_order(page, order["number"])

    cash_part = 10000
    rest = order["total"] - cash_part
    page.get_by_test_id("pay-amount").fill(str(cash_part))
    page.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(rest), timeout=WAIT_MS)

    page.get_by_role("button", name="QRIS").click()
    expect(page.get_by_test_id("pay-amount")).to_have_value(rupiah(rest)[3:])  # grouped: "12.300"
    expect(page.get_by_test_id("pay-submit")).to_have_text("Tampilkan QR")
    page.get_by_test_id("pay-submit").click()
    view = page.get_by_test_id("customer-view")  # the tablet turned to the customer
    expect(view).to_be_visible(timeout=WAIT_MS)
    expect(view.get_by_test_id("qr-amount")).to_have_text(rupiah(rest))
    expect(view.get_by_test_id("qr-countdown")).to_have_text(re.compile(r"^[45]:\d\d$"))
    shoot(page, "cashier-qr-customer")
    view.get_by_test_id("cashier-view").click()
    panel = page.get_by_test_id("qr-panel")
    expect(panel.get_by_test_id("qr-mode-note")).to_contain_text("Mode gateway")
    shoot(page, "cashier-qr-panel")
    panel.get_by_test_id("qr-customer").click()
    expect(view).to_be_visible()

    attempt = pending_attempt(edge, order["id"])
    assert attempt["amount"] == rest and attempt["method"] == "qris"
    customer_pays(midtrans, attempt["id"])
    expect(page.get_by_test_id("customer-paid")).to_be_visible(timeout=WAIT_MS)
    shoot(page, "cashier-qr-paid")
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
    expect(page.get_by_test_id("pay-result")).to_contain_text("Pembayaran diterima")
    paid = order_of(edge, order["id"])
    assert [(p["method"], p["amount"], p["gateway"]) for p in paid["payments"]] == [
        ("cash", cash_part, ""), ("qris", rest, "midtrans")]


def test_cashier_expired_qr_offers_a_new_one_and_cancel_voids_it(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any, shoot: Any) -> None:
    """The tablet's countdown runs out (its clock is run 10 s ahead, not waited for) before
    the edge hears of it: the new QR voids the old one first."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key, "--qr-expiry-seconds", "10")
    context.clock.install()
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    order = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
    page = open_till(context, edge)
    open_order(page, order["number"])
    page.get_by_role("button", name="QRIS").click()
    page.get_by_test_id("pay-submit").click()
    view = page.get_by_test_id("customer-view")
    expect(view.get_by_test_id("qr-card")).to_be_visible(timeout=WAIT_MS)
    page.clock.run_for(10_000)  # the QR's whole lifetime on the tablet
    expect(view.get_by_test_id("customer-expired")).to_be_visible(timeout=WAIT_MS)
    shoot(page, "cashier-qr-expired-customer")
    view.get_by_test_id("cashier-view").click()
    panel = page.get_by_test_id("qr-panel")
    expect(panel.get_by_test_id("qr-ended")).to_have_text("QR ini sudah kedaluwarsa.")
    shoot(page, "cashier-qr-expired")
    [first] = attempts_of(edge, order["id"])
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)  # 300 s again
    panel.get_by_test_id("qr-new").click()
    expect(view).to_be_visible(timeout=WAIT_MS)
    expect(view.get_by_test_id("qr-card")).to_be_visible()
    found = attempts_of(edge, order["id"])
    assert len(found) == 2 and found[0]["id"] == first["id"]
    assert found[0]["status"] in ("expired", "cancelled") and found[1]["status"] == "pending"

    # The customer changes their mind: cancel voids the QR at the gateway too.
    view.get_by_test_id("cashier-view").click()
    page.get_by_test_id("qr-cancel").click()
    expect(page.get_by_test_id("qr-panel")).to_have_count(0, timeout=WAIT_MS)
    expect(page.get_by_test_id("pay-form")).to_be_visible()
    assert attempts_of(edge, order["id"])[1]["status"] == "cancelled"
    charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == found[1]["id"])
    assert charge["transaction_status"] == "cancel"
    assert order_of(edge, order["id"])["paid"] == 0


def test_static_mode_payment_when_the_gateway_is_down(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any, shoot: Any) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key, "--static-qris", STATIC)
    midtrans.faults(down=True)
    try:
        menu = demo_menu(edge, edge.tokens["kiosk"])
        product, groups = product_with_required_group(menu)
        order = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
        page = open_till(context, edge)
        open_order(page, order["number"])
        page.get_by_role("button", name="QRIS").click()
        page.get_by_test_id("pay-submit").click()
        view = page.get_by_test_id("customer-view")
        expect(view.get_by_test_id("qr-mode")).to_have_text("QRIS statis (offline)", timeout=20000)
        shoot(page, "cashier-qr-static-customer")
        view.get_by_test_id("cashier-view").click()
        panel = page.get_by_test_id("qr-panel")
        expect(panel.get_by_test_id("qr-mode-note")).to_contain_text("Mode offline (QRIS statis)")
        # Confirming takes two taps: the second after seeing the merchant's notification.
        panel.get_by_test_id("qr-confirm").click()
        expect(panel.get_by_test_id("qr-confirm")).to_contain_text("Ketuk lagi")
        shoot(page, "cashier-qr-static")
        assert order_of(edge, order["id"])["paid"] == 0
        panel.get_by_test_id("qr-confirm").click()
        expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
        expect(page.get_by_test_id("payment")).to_contain_text("belum diverifikasi")
        [payment] = order_of(edge, order["id"])["payments"]
        assert (payment["gateway"], payment["verified"], payment["amount"]) == ("static", False, order["total"])
    finally:
        midtrans.faults(down=False)


def test_kiosk_sends_the_customer_to_the_counter_when_only_a_static_qr_is_left(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any) -> None:
    """A static QR needs a cashier's eyes: the kiosk never shows one."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key, "--static-qris", STATIC)
    midtrans.faults(down=True)
    try:
        kiosk, _, _ = kiosk_to_pay_choice(context, edge)
        kiosk.get_by_test_id("pay-here").click()
        expect(kiosk.get_by_test_id("number-screen")).to_be_visible(timeout=30000)
        expect(kiosk.get_by_role("alert")).to_contain_text("Silakan bayar di kasir")
        order = newest_open_order(edge)
        assert [a["status"] for a in attempts_of(edge, order["id"])] == ["cancelled"]
        assert order_of(edge, order["id"])["status"] == "placed"
    finally:
        midtrans.faults(down=False)


# ---------------------------------------------------------------- refunds and discounts


def paid_by_qris_and_handed_over(edge: EdgeServer, fake: FakeGatewayProcess) -> dict[str, Any]:
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    cashier = staff(edge)
    order = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
    attempt = edge.call("POST", f"/api/v1/orders/{order['id']}/payment-attempts", cashier,
                        json={"method": "qris", "amount": order["total"], "channel": ""})
    customer_pays(fake, attempt["id"])
    wait_for(lambda: order_of(edge, order["id"])["paid"], "the QRIS payment")
    for ticket in edge.call("GET", "/api/v1/kitchen/tickets?status=pending", edge.tokens["kds"])["items"]:
        if ticket["order_id"] == order["id"]:
            edge.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", edge.tokens["kds"])
    return edge.call("POST", f"/api/v1/orders/{order['id']}/complete", cashier)


def test_refund_after_hand_over_needs_a_manager_pin_and_goes_back_through_the_gateway(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any, shoot: Any) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    order = paid_by_qris_and_handed_over(edge, midtrans)
    assert order["status"] == "completed"
    page = open_till(context, edge)
    page.get_by_test_id("list-completed").click()
    open_order(page, order["number"])
    page.get_by_test_id("refund-open").click()
    dialog = page.get_by_test_id("refund-dialog")
    expect(dialog.get_by_test_id("refundable")).to_have_text(rupiah(order["total"]))
    dialog.get_by_test_id("refund-method").select_option(
        label=f"QRIS lewat midtrans · {rupiah(order['total'])}")
    dialog.get_by_label("Alasan").fill("Pesanan salah")
    dialog.get_by_label("PIN manajer").fill(edge.pins["cashier"])  # not a manager
    dialog.get_by_role("button", name="Kembalikan dana").click()
    expect(dialog.get_by_role("alert")).to_have_text("PIN itu bukan milik manajer.")
    assert edge.call("GET", f"/api/v1/orders/{order['id']}/refunds", staff(edge))["items"] == []
    dialog.get_by_label("PIN manajer").fill(edge.pins["manager"])
    shoot(page, "cashier-refund")
    dialog.get_by_role("button", name="Kembalikan dana").click()
    expect(dialog).to_be_hidden(timeout=WAIT_MS)
    expect(page.get_by_test_id("refund")).to_contain_text("selesai", timeout=WAIT_MS)
    expect(page.get_by_test_id("order-refunded")).to_have_text("-" + rupiah(order["total"]))
    shoot(page, "cashier-refunded")

    [refund] = edge.call("GET", f"/api/v1/orders/{order['id']}/refunds", staff(edge))["items"]
    manager_id = edge.call("GET", "/api/v1/me", staff(edge, "manager"))["staff"]["id"]
    assert (refund["method"], refund["amount"], refund["status"], refund["approved_by"]) == (
        "qris", order["total"], "done", manager_id)
    assert refund["reason"] == "Pesanan salah" and refund["gateway"] == "midtrans"
    payment_attempt = order["payments"][0]["attempt_id"]
    charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == payment_attempt)
    assert [r["refund_amount"] for r in charge["refunds"]] == [order["total"]]
    expect(page.get_by_test_id("refund-open")).to_have_count(0)  # nothing left to refund


def test_a_failed_gateway_refund_is_retried_from_the_history_with_a_manager_pin(
        edge: EdgeServer, midtrans: FakeGatewayProcess, context: Any) -> None:
    """The gateway is down when the refund is asked: it fails with the gateway's reason and
    the order shows it with "Coba lagi"; once the gateway is back a manager's PIN retries it
    (the same refund, given back once at the gateway)."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    order = paid_by_qris_and_handed_over(edge, midtrans)
    page = open_till(context, edge)
    page.get_by_test_id("list-completed").click()
    open_order(page, order["number"])
    midtrans.faults(down=True)
    try:
        page.get_by_test_id("refund-open").click()
        dialog = page.get_by_test_id("refund-dialog")
        dialog.get_by_test_id("refund-method").select_option(
            label=f"QRIS lewat midtrans · {rupiah(order['total'])}")
        dialog.get_by_label("Alasan").fill("Salah pesan")
        dialog.get_by_label("PIN manajer").fill(edge.pins["manager"])
        dialog.get_by_role("button", name="Kembalikan dana").click()
        expect(dialog.get_by_role("alert")).to_contain_text("Refund gagal", timeout=WAIT_MS)
        dialog.get_by_role("button", name="Batal").click()
    finally:
        midtrans.faults(down=False)
    row = page.get_by_test_id("refund")
    expect(row).to_contain_text("gagal")
    [failed] = edge.call("GET", f"/api/v1/orders/{order['id']}/refunds", staff(edge))["items"]
    assert failed["status"] == "failed" and failed["error"]

    row.get_by_test_id("refund-retry").click()
    retry = page.get_by_test_id("refund-retry-dialog")
    expect(retry).to_contain_text(rupiah(order["total"]))
    retry.get_by_label("PIN manajer").fill(edge.pins["cashier"])  # not a manager
    retry.get_by_role("button", name="Ulangi refund").click()
    expect(retry.get_by_role("alert")).to_have_text("PIN itu bukan milik manajer.")
    assert edge.call("GET", f"/api/v1/orders/{order['id']}/refunds", staff(edge))["items"][0]["status"] == "failed"
    retry.get_by_label("PIN manajer").fill(edge.pins["manager"])
    retry.get_by_role("button", name="Ulangi refund").click()
    expect(retry).to_be_hidden(timeout=WAIT_MS)
    expect(row).to_contain_text("selesai", timeout=WAIT_MS)
    expect(row.get_by_test_id("refund-retry")).to_have_count(0)
    expect(page.get_by_test_id("order-refunded")).to_have_text("-" + rupiah(order["total"]))

    [done] = edge.call("GET", f"/api/v1/orders/{order['id']}/refunds", staff(edge))["items"]
    manager_id = edge.call("GET", "/api/v1/me", staff(edge, "manager"))["staff"]["id"]
    assert (done["id"], done["status"], done["approved_by"]) == (failed["id"], "done", manager_id)
    charge = next(c for c in midtrans.ledger()["charges"]
                  if c["order_id"] == order["payments"][0]["attempt_id"])
    assert [(r["refund_key"], r["refund_amount"]) for r in charge["refunds"]] == [
        (failed["id"], order["total"])]


def test_discount_by_reason_from_head_office_with_manager_approval_above_the_threshold(
        edge: EdgeServer, context: Any, shoot: Any) -> None:
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    order = place_api_order(edge, edge.tokens["cashier"], menu, product, groups)
    page = open_till(context, edge)
    open_order(page, order["number"])
    page.get_by_test_id("discount").click()
    dialog = page.get_by_test_id("discount-dialog")
    expect(dialog).to_contain_text("Di atas 10% manajer menyetujui")
    assert dialog.get_by_label("Alasan").locator("option").all_inner_texts() == REASONS
    dialog.get_by_test_id("discount-value").fill("20")  # percent, above the threshold
    dialog.get_by_label("Alasan").select_option("Keluhan")
    dialog.get_by_role("button", name="Terapkan diskon").click()
    expect(dialog.get_by_role("alert")).to_have_text("Ini perlu PIN manajer.")
    assert order_of(edge, order["id"])["discount"] == 0
    dialog.get_by_label("PIN manajer").fill(edge.pins["manager"])
    shoot(page, "cashier-discount")
    dialog.get_by_role("button", name="Terapkan diskon").click()
    expect(dialog).to_be_hidden(timeout=WAIT_MS)
    discounted = order_of(edge, order["id"])
    manager_id = edge.call("GET", "/api/v1/me", staff(edge, "manager"))["staff"]["id"]
    assert abs(discounted["discount"] - order["subtotal"] * 20 / 100) <= 1
    assert discounted["discount_reason"] == "Keluhan" and discounted["discount_approved_by"] == manager_id
    expect(page.get_by_test_id("order-total")).to_have_text(rupiah(discounted["total"]), timeout=WAIT_MS)
