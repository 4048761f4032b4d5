"""The kiosk when the edge goes away at checkout (issue 13), in Chromium against a real edge
that is stopped: the customer is told plainly, may go to the counter, and an order held
while the edge was down expires (after ``?hold=`` seconds, at "order at the counter" or at
the idle reset, whichever comes first) and never reaches the edge once it is back."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.ui.test_kiosk_screens import add_to_cart, open_kiosk, orders_on
from tests.ui.test_screens import demo_menu, product_with_required_group

pytestmark = pytest.mark.browser

WAIT_MS = 5000


def to_review(page: Any, menu: dict, product: dict, groups: list[dict]) -> None:
    page.get_by_test_id("attract").click()
    add_to_cart(page, menu, product, groups)
    page.get_by_test_id("view-cart").click()
    page.get_by_test_id("checkout").click()
    page.get_by_test_id("type-takeaway").click()
    expect(page.get_by_test_id("review")).to_be_visible()


def order_posts(page: Any) -> list[str]:
    """The Idempotency-Key of every POST /api/v1/orders the page sends, as it sends it."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.headers.get("idempotency-key", ""))
            if r.method == "POST" and r.url.endswith("/api/v1/orders") else None)
    return sent


def test_held_order_expires_goes_to_the_counter_or_leaves_with_the_customer_and_is_never_sent(
        edge_server: EdgeServer, context: Any, shoot: Any) -> None:
    edge = edge_server
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    before = {o["id"] for o in orders_on(edge)}

    # 1. The edge is gone when the customer places: told plainly, with a deadline.
    page = open_kiosk(context, edge, "?hold=6&idle=60")
    posts = order_posts(page)
    to_review(page, menu, product, groups)
    edge.stop()
    page.get_by_test_id("place-order").click()
    held = page.get_by_test_id("kiosk-held")
    expect(held).to_be_visible(timeout=WAIT_MS)
    expect(held).to_contain_text("Pesanan Anda belum terkirim")
    expect(held).to_contain_text("tidak akan dibuat")
    expect(page.get_by_test_id("held-counter")).to_have_text("Pesan di kasir saja")
    expect(page.get_by_test_id("reconnecting")).to_have_count(0)  # no overlay over the message
    shoot(page, "kiosk-held")
    # A reload meanwhile keeps the same held order and its deadline.
    page.reload()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    gone = page.get_by_test_id("kiosk-gone")
    expect(gone).to_be_visible(timeout=10000)
    sent = len(posts)
    expect(gone).to_have_attribute("data-why", "expired")
    expect(gone).to_contain_text("Pesanan Anda tidak terkirim")
    expect(gone).to_contain_text("Silakan pesan di kasir")
    assert page.evaluate("localStorage.getItem('pos.kiosk.pending')") is None
    shoot(page, "kiosk-not-sent")
    page.get_by_role("button", name="Selesai").click()
    # The attract screen says the kiosk cannot take orders right now.
    banner = page.get_by_test_id("kiosk-offline")
    expect(banner).to_be_visible(timeout=WAIT_MS)
    expect(banner).to_contain_text("pesan di kasir")
    shoot(page, "kiosk-offline-banner")

    # The edge comes back: the expired order is not sent.
    edge.start()
    expect(banner).to_be_hidden(timeout=WAIT_MS)

    # 2. "Order at the counter" drops the held order at once.
    page.goto(f"{edge.base_url}/kiosk/?hold=120&idle=60")
    to_review(page, menu, product, groups)
    assert len(posts) == sent, "the expired order was sent again"
    edge.stop()
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    page.get_by_test_id("held-counter").click()
    expect(page.get_by_test_id("kiosk-gone")).to_have_attribute("data-why", "counter")
    sent = len(posts)
    assert page.evaluate("localStorage.getItem('pos.kiosk.pending')") is None
    page.get_by_role("button", name="Selesai").click()

    # 3. The customer walks away from the held screen: the idle reset drops it.
    edge.start()
    page.goto(f"{edge.base_url}/kiosk/?hold=120&idle=3")
    expect(page.get_by_test_id("attract")).to_be_visible()
    assert len(posts) == sent, "the order given up for the counter was sent again"
    edge.stop()  # before the customer starts: the kiosk keeps working from its menu
    to_review(page, menu, product, groups)
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Masih di sana?")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("attract")).to_be_visible(timeout=WAIT_MS)
    sent = len(posts)
    assert page.evaluate("localStorage.getItem('pos.kiosk.pending')") is None

    # The edge comes back: the kiosk notices, and none of the three orders is ever sent.
    edge.start()
    expect(page.get_by_test_id("kiosk-offline")).to_be_hidden(timeout=WAIT_MS)
    page.wait_for_timeout(3000)
    page.reload()  # a reload finds nothing to send either
    expect(page.get_by_test_id("attract")).to_be_visible()
    page.wait_for_timeout(1500)
    assert [o for o in orders_on(edge) if o["id"] not in before] == [], "a ghost order reached the edge"
    assert len(posts) == sent, "a dropped order was sent once the edge was back"

def test_held_order_is_sent_once_when_the_edge_is_back_in_time(
        edge_server: EdgeServer, context: Any) -> None:
    """The other side of the deadline: the customer waits, the edge returns within it, and
    the same held order (one key) is placed once."""
    edge = edge_server
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    before = {o["id"] for o in orders_on(edge)}
    page = open_kiosk(context, edge, "?hold=120&idle=60")
    keys: list[str] = []
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key", ""))
            if r.method == "POST" and r.url.endswith("/api/v1/orders") else None)
    to_review(page, menu, product, groups)
    edge.stop()
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("kiosk-held")).to_be_visible(timeout=WAIT_MS)
    left = page.get_by_test_id("held-left").inner_text()
    assert left.startswith(("1:", "2:0")), left  # the time left is shown, counting down from 2:00
    edge.start()
    number = page.get_by_test_id("order-number")
    expect(number).to_be_visible(timeout=15000)
    new = [o for o in orders_on(edge) if o["id"] not in before]
    assert len(new) == 1 and new[0]["number"] == int(number.inner_text())
    assert len(set(keys)) == 1 and keys[0]
