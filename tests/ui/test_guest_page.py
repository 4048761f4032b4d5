"""The guest QR page on a phone (390×844, Chromium) against a real edge process.

* mode "kitchen": a guest orders a round from the table's sticker URL; it reaches the table's
  bill (and the kitchen) at once, and the page shows it with the bill's total;
* mode "confirm": a round with a required option waits for a waiter; the page says so until
  the waiter accepts it, then shows it on the bill; the guest calls the waiter;
* the token travels only in the X-Table-Token header, never in a URL the page asks for;
  Indonesian first, English for this tab only.

Screenshots: artifacts/screenshots/ui-guest-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.edge.test_guest import change_plan, open_bills, rotate, token_of

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WAIT_MS = 15000


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                               has_touch=True, locale="id-ID")
    errors: list[str] = []
    ctx.on("weberror", lambda err: errors.append(str(err.error)))
    yield ctx
    ctx.close()
    assert not errors, f"page errors: {errors}"


def rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def name_id(item: dict[str, Any]) -> str:
    return item.get("names", {}).get("id") or item["name"]


def open_guest_page(phone: Any, edge: EdgeServer, table: str) -> tuple[Any, list[Any]]:
    page = phone.new_page()
    seen: list[Any] = []
    page.on("request", lambda req: seen.append(req))
    page.goto(f"{edge.base_url}/guest/#t={token_of(edge, table)}")
    expect(page.get_by_test_id("table-name")).to_have_text(f"Meja {table}", timeout=WAIT_MS)
    return page, seen


def add_product(page: Any, menu: dict[str, Any], product: dict[str, Any],
                options: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    category = next(c for c in menu["categories"] if c["id"] == product["category_id"])
    page.get_by_test_id("category").filter(has_text=name_id(category)).click()
    page.get_by_test_id("product").filter(has_text=name_id(product)).first.click()
    sheet = page.get_by_test_id("sheet")
    expect(sheet).to_be_visible()
    for option in options:
        sheet.locator(f"button[data-option='{option['id']}']").click()
    sheet.get_by_test_id("sheet-add").click()
    expect(sheet).to_be_hidden()


def fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"


def simple_and_optioned(menu: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[dict]]:
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    simple = next(p for p in menu["products"] if p.get("available", True) and not any(
        groups[g]["min_choices"] for g in p.get("modifier_group_ids", []) if g in groups))
    for product in menu["products"]:
        own = [groups[g] for g in product.get("modifier_group_ids", []) if g in groups]
        if product.get("available", True) and any(g["min_choices"] for g in own):
            chosen = [o for g in own for o in g["options"][: g["min_choices"]]]
            return simple, product, chosen
    raise AssertionError("the demo menu has no product with a required option")


def test_guest_round_reaches_the_bill_in_kitchen_mode(shared_edge: EdgeServer, phone: Any,
                                                      shoot: Any) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="kitchen")
    menu = edge.menu()
    simple, _, _ = simple_and_optioned(menu)
    page, seen = open_guest_page(phone, edge, "A1")
    fits_the_phone(page)
    add_product(page, menu, simple)
    add_product(page, menu, simple)
    expect(page.get_by_test_id("cart-count")).to_have_text("2")
    page.get_by_test_id("tab-cart").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)  # the same item twice: qty 2
    page.get_by_test_id("cart-line").get_by_role("button", name="Tambah satu").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("3")
    shoot(page, "guest-cart")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Terkirim ke dapur", timeout=WAIT_MS)
    expect(page.get_by_test_id("bill-line")).to_have_count(1)
    expect(page.get_by_test_id("bill-line")).to_contain_text(f"3 × {name_id(simple)}")

    bills = open_bills(edge, "A1")
    assert len(bills) == 1
    bill = bills[0]
    assert [(x["product_id"], x["qty"], x["round"], x["state"]) for x in bill["lines"]] == [
        (simple["id"], 3, 1, "sent")]
    expect(page.get_by_test_id("bill-total")).to_have_text(rupiah(bill["total"]))
    tickets = [t for station in ("kitchen", "bar") for t in edge.call(
        "GET", f"/api/v1/kitchen/tickets?station={station}&status=pending",
        edge.tokens["kds"])["items"] if t["order_id"] == bill["id"]]
    assert tickets and {t["table"] for t in tickets} == {"A1"}
    fits_the_phone(page)
    shoot(page, "guest-bill")

    # the token left the phone only as a header
    token = token_of(edge, "A1")
    api_calls = [r for r in seen if "/api/v1/guest/" in r.url]
    assert api_calls and all(r.headers.get("x-table-token") == token for r in api_calls)
    assert not [r.url for r in seen if token in r.url]


def test_guest_round_waits_for_the_waiter_and_the_guest_calls_one(shared_edge: EdgeServer,
                                                                 phone: Any, shoot: Any) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="confirm")
    menu = edge.menu()
    _, product, options = simple_and_optioned(menu)
    page, _ = open_guest_page(phone, edge, "T2")
    add_product(page, menu, product, options)
    page.get_by_test_id("view-cart").click()
    expect(page.get_by_test_id("send")).to_have_text("Kirim ke pelayan")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Pelayan akan segera", timeout=WAIT_MS)
    waiting = page.locator("[data-testid=request][data-kind=order]")
    expect(waiting).to_have_attribute("data-status", "pending")
    expect(waiting).to_contain_text("Menunggu konfirmasi pelayan")
    expect(page.get_by_test_id("bill-line")).to_have_count(0)
    assert open_bills(edge, "T2") == []
    shoot(page, "guest-waiting")

    waiter = edge.login("cashier")
    pending = edge.call("GET", "/api/v1/guest-requests?status=pending&kind=order", waiter)["items"]
    request = next(r for r in pending if r["table"] == "T2")
    assert [x["product_id"] for x in request["lines"]] == [product["id"]]
    order = edge.call("POST", f"/api/v1/guest-requests/{request['id']}/accept", waiter)["order"]
    assert sorted(m["option_id"] for m in order["lines"][0]["modifiers"]) == sorted(
        o["id"] for o in options)
    # the page polls: the round shows on the bill and the waiting note goes
    expect(page.get_by_test_id("bill-line")).to_have_count(1, timeout=WAIT_MS)
    expect(waiting).to_have_count(0)
    expect(page.get_by_test_id("bill-total")).to_have_text(rupiah(order["total"]))
    names = [name_id(o) for o in options]  # the options in the guest's language
    expect(page.get_by_test_id("bill-line")).to_contain_text(", ".join(names))

    page.get_by_test_id("call-waiter").click()
    expect(page.get_by_test_id("notice")).to_have_text("Pelayan segera datang.", timeout=WAIT_MS)
    expect(page.get_by_test_id("call-waiter")).to_be_disabled()
    calls = edge.call("GET", "/api/v1/guest-requests?status=pending&kind=call", waiter)["items"]
    assert [(c["table"], c["kind"]) for c in calls] == [("T2", "waiter")]
    fits_the_phone(page)
    shoot(page, "guest-called")

    # English for this tab (kept across a reload); a new tab starts in Indonesian again
    page.get_by_test_id("lang").click()
    expect(page.get_by_test_id("table-name")).to_have_text("Table T2")
    page.reload()
    expect(page.get_by_test_id("table-name")).to_have_text("Table T2", timeout=WAIT_MS)
    other, _ = open_guest_page(phone, edge, "T2")
    expect(other.get_by_test_id("tab-bill")).to_have_text("Tagihan meja")


def test_a_rotated_sticker_says_so(shared_edge: EdgeServer, phone: Any) -> None:
    edge = shared_edge
    page, _ = open_guest_page(phone, edge, "A3")
    rotate(edge, "A3")
    page.reload()
    expect(page.get_by_test_id("fatal")).to_contain_text("tidak berlaku", timeout=WAIT_MS)
    assert httpx.get(f"{edge.base_url}/guest/", timeout=10).status_code == 200
