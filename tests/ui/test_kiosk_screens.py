"""The kiosk as a customer meets it (issue 13), in Chromium against a real edge: each customer
starts in the outlet's language, a review step before anything is sent, "start over" asks
before emptying a cart, the layout at 1280x800 and on a 390x844 phone (nothing hidden,
nothing clipped, 72 px targets, focus rings for the keyboard only, options in catalog
order), and a cart that loses a sold-out item says exactly what went."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from playwright.sync_api import expect

from shared.pricing import PricedLine, price_order
from shared.schemas import TaxConfig
from tests.edge.edge_server import EdgeServer
from tests.ui.test_screens import (
    demo_menu,
    name_of,
    product_with_required_group,
    rupiah,
)

pytestmark = pytest.mark.browser

WAIT_MS = 5000


def open_kiosk(context: Any, edge: EdgeServer, query: str = "", size: tuple[int, int] = (768, 1280)) -> Any:
    page = context.new_page()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    sep = "&" if query else "?"
    page.goto(f"{edge.base_url}/kiosk/{query}{sep}token={edge.tokens['kiosk']}")
    expect(page.get_by_test_id("attract")).to_be_visible()
    return page


def add_to_cart(page: Any, menu: dict, product: dict, groups: list[dict], qty: int = 1) -> list[str]:
    """Open ``product`` (in whatever language the kiosk shows), take the first options of each
    required group, add ``qty``; return the chosen options' base names."""
    page.locator(f"[data-action=category][data-id='{product['category_id']}']").click()
    page.locator(f"[data-testid=product][data-id='{product['id']}']").click()
    sheet = page.get_by_test_id("product-sheet")
    expect(sheet).to_be_visible()
    chosen: list[str] = []
    for group in groups:
        for option in [o for o in group["options"] if o.get("available", True)][: group["min_choices"]]:
            button = sheet.locator(f"button[data-id='{option['id']}']")
            if button.get_attribute("aria-pressed") != "true":  # required single options come pre-selected
                button.click()
            chosen.append(option["name"])
    for _ in range(qty - 1):
        sheet.locator("[data-action=qty-more]").click()
    page.get_by_test_id("sheet-add").click()
    expect(sheet).to_be_hidden()
    return chosen


def orders_on(edge: EdgeServer) -> list[dict[str, Any]]:
    return edge.call("GET", "/api/v1/orders?limit=200", edge.tokens["cashier"])["items"]


def lang_of(page: Any) -> str:
    return str(page.evaluate("document.documentElement.lang"))


def test_each_customer_starts_in_the_outlets_language(
        shared_edge: EdgeServer, context: Any) -> None:
    edge = shared_edge
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    page = open_kiosk(context, edge, "?idle=2")
    expect(page.get_by_test_id("attract")).to_contain_text("Sentuh untuk mulai")
    assert lang_of(page) == "id"

    # Customer 1 taps English and orders; "Done" hands the next customer Indonesian.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_test_id("attract")).to_contain_text("Touch to start")
    page.get_by_test_id("attract").click()
    add_to_cart(page, menu, product, groups)
    page.get_by_test_id("view-cart").click()
    page.get_by_test_id("checkout").click()
    page.get_by_test_id("type-takeaway").click()
    expect(page.get_by_test_id("review")).to_contain_text("Check your order")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("number-screen")).to_contain_text("Your order number", timeout=WAIT_MS)
    assert page.evaluate("localStorage.getItem('pos.lang.kiosk')") is None  # never saved
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("attract")).to_contain_text("Sentuh untuk mulai")
    assert lang_of(page) == "id"

    # Customer 2 taps English, starts, and walks away: the idle reset brings Indonesian back.
    page.get_by_role("button", name="English").click()
    page.get_by_test_id("attract").click()
    expect(page.get_by_test_id("view-cart")).to_contain_text("View order")
    expect(page.get_by_text("Are you still there?")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("attract")).to_contain_text("Sentuh untuk mulai", timeout=WAIT_MS)

    # Customer 3 taps English on the attract screen only and leaves: back to Indonesian too.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_test_id("attract")).to_contain_text("Touch to start")
    expect(page.get_by_test_id("attract")).to_contain_text("Sentuh untuk mulai", timeout=WAIT_MS)

    # A reload in the middle of an English order: the screen comes back in Indonesian.
    page.get_by_role("button", name="English").click()
    page.get_by_test_id("attract").click()
    page.reload()
    expect(page.get_by_test_id("attract")).to_contain_text("Sentuh untuk mulai")
    assert lang_of(page) == "id"


def test_review_before_placing_and_start_over_asks_first(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    page = open_kiosk(context, edge)
    page.get_by_test_id("attract").click()
    chosen = add_to_cart(page, menu, product, groups, qty=2)
    page.get_by_test_id("view-cart").click()
    cart_total = page.get_by_test_id("cart-total").inner_text()
    before = {o["id"] for o in orders_on(edge)}

    # Choosing the order type sends nothing: it shows the review.
    page.get_by_test_id("checkout").click()
    page.get_by_test_id("type-takeaway").click()
    review = page.get_by_test_id("review")
    expect(review).to_be_visible()
    line = page.get_by_test_id("review-line")
    expect(line).to_have_count(1)
    expect(line).to_contain_text(f"2 × {name_of(product)}")
    options = {o["name"]: o for g in groups for o in g["options"]}
    for name in chosen:
        expect(line).to_contain_text(name_of(options[name]))
    expect(page.get_by_test_id("review-type")).to_have_text("Bawa pulang")
    expect(page.get_by_test_id("cart-total")).to_have_text(cart_total)
    page.wait_for_timeout(300)
    assert {o["id"] for o in orders_on(edge)} == before, "nothing is placed before the review"

    # The customer changes the order type from the review.
    page.get_by_role("button", name="Ubah", exact=True).click()
    page.get_by_test_id("type-dine_in").click()
    expect(page.get_by_test_id("review-type")).to_have_text("Makan di sini")
    shoot(page, "kiosk-review")
    page.get_by_test_id("place-order").click()
    number = page.get_by_test_id("order-number")
    expect(number).to_be_visible(timeout=WAIT_MS)
    new = [o for o in orders_on(edge) if o["id"] not in before]
    assert len(new) == 1
    placed = new[0]
    assert placed["number"] == int(number.inner_text())
    assert placed["type"] == "dine_in"
    assert placed["lines"][0]["qty"] == 2
    assert rupiah(placed["total"]) == cart_total
    page.get_by_role("button", name="Selesai").click()

    # "Mulai ulang" with a cart asks first; "no" keeps the cart, "yes" empties it.
    page.get_by_test_id("attract").click()
    add_to_cart(page, menu, product, groups)
    page.get_by_test_id("start-over").click()
    dialog = page.get_by_test_id("confirm-reset")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("1 item")
    shoot(page, "kiosk-start-over")
    page.get_by_role("button", name="Tidak, lanjut pesan").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("view-cart")).to_contain_text("1 item")
    page.get_by_test_id("start-over").click()
    page.get_by_role("button", name="Ya, kosongkan pesanan").click()
    expect(page.get_by_test_id("attract")).to_be_visible()
    page.get_by_test_id("attract").click()
    expect(page.get_by_test_id("view-cart")).to_be_disabled()
    # An empty kiosk just starts over, no question.
    page.get_by_test_id("start-over").click()
    expect(page.get_by_test_id("attract")).to_be_visible()
    expect(page.get_by_test_id("confirm-reset")).to_be_hidden()


def busiest_product(menu: dict[str, Any]) -> tuple[dict, list[dict]]:
    """The product whose sheet has the most options (the tallest sheet)."""
    groups = {g["id"]: g for g in menu["modifier_groups"]}

    def own(p: dict) -> list[dict]:
        return [groups[g] for g in p.get("modifier_group_ids", []) if g in groups]

    product = max((p for p in menu["products"] if p.get("available", True)),
                  key=lambda p: sum(len(g["options"]) for g in own(p)))
    return product, own(product)


SHEET_TARGETS = """() => [...document.querySelectorAll('#sheet button')].map(b => {
  const r = b.getBoundingClientRect();
  return {text: b.textContent.trim().replace(/\\s+/g, ' '), h: r.height};
})"""

UNCOVERED = """(sel) => [...document.querySelectorAll(sel)].map(b => {
  const r = b.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = document.elementFromPoint(x, y);
  return {inside: r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth,
          visible: !!hit && (hit === b || b.contains(hit))};
})"""


def assert_no_horizontal_overflow(page: Any, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{where}: the page is {width} px wide on a 390 px phone"


def test_layout_at_1280x800_and_on_a_phone(shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = busiest_product(menu)
    category = next(c for c in menu["categories"] if c["id"] == product["category_id"])

    # 1280x800: the quantity control is in the sheet's footer, on screen and not covered.
    page = open_kiosk(context, edge, size=(1280, 800))
    page.get_by_test_id("attract").click()
    page.get_by_role("button", name=name_of(category), exact=True).click()
    page.locator(f"[data-testid=product][data-id='{product['id']}']").click()
    expect(page.get_by_test_id("product-sheet")).to_be_visible()
    for spot in page.evaluate(UNCOVERED, "#sheet .stepper button, #sheet [data-action=sheet-add]"):
        assert spot == {"inside": True, "visible": True}, spot
    targets = page.evaluate(SHEET_TARGETS)
    assert len(targets) >= 6
    assert all(t["h"] >= 72 for t in targets), [t for t in targets if t["h"] < 72]
    shoot(page, "kiosk-sheet-1280")

    # Options in catalog order: a drink's size reads Regular before Large, as the menu lists it.
    size_group = next(g for g in menu["modifier_groups"] if any(o["name"] == "Large" for o in g["options"]))
    sized = next(p for p in menu["products"] if size_group["id"] in p.get("modifier_group_ids", []))
    page.get_by_role("button", name="Batal").click()
    sized_cat = next(c for c in menu["categories"] if c["id"] == sized["category_id"])
    page.get_by_role("button", name=name_of(sized_cat), exact=True).click()
    page.locator(f"[data-testid=product][data-id='{sized['id']}']").click()
    shown = page.locator(f"#sheet fieldset:has(legend:text-is('{name_of(size_group)}'))").first
    shown_ids = shown.locator("button[data-action=option]").evaluate_all("bs => bs.map(b => b.dataset.id)")
    assert shown_ids == [o["id"] for o in size_group["options"]]
    names = shown.locator("button[data-action=option]").all_inner_texts()
    assert names[0].startswith("Reguler") and names[1].startswith("Besar"), names
    page.get_by_role("button", name="Batal").click()

    # Many lines in the cart: every line's stepper can be reached, none under the footer.
    for p in [p for p in menu["products"] if p["category_id"] == sized_cat["id"] and p.get("available", True)][:6]:
        page.locator(f"[data-testid=product][data-id='{p['id']}']").click()
        sheet = page.get_by_test_id("product-sheet")
        for group in [g for g in menu["modifier_groups"] if g["id"] in p.get("modifier_group_ids", [])]:
            for option in group["options"][: group["min_choices"]]:
                button = sheet.locator(f"button[data-id='{option['id']}']")
                if button.get_attribute("aria-pressed") != "true":
                    button.click()
        page.get_by_test_id("sheet-add").click()
    page.get_by_test_id("view-cart").click()
    last = page.get_by_test_id("cart-line").last
    last.locator("[data-action=line-more]").scroll_into_view_if_needed()
    covered = page.evaluate(UNCOVERED, "[data-testid=cart-line] .stepper button")[-2:]  # the last line's
    assert len(covered) == 2 and all(s == {"inside": True, "visible": True} for s in covered), covered

    # Focus rings: none after a tap (the heading focused for screen readers included)...
    page.get_by_role("button", name="Tambah lagi").click()
    outline = "() => { const e = document.activeElement; const s = getComputedStyle(e); return [e.tagName, s.outlineStyle, s.outlineWidth]; }"
    tag, style, _ = page.evaluate(outline)
    assert style == "none", (tag, style)
    page.get_by_role("button", name=name_of(category), exact=True).click()
    tag, style, _ = page.evaluate(outline)
    assert tag == "BUTTON" and style == "none", (tag, style)
    # ...and a clear one for the keyboard.
    page.keyboard.press("Tab")
    tag, style, width = page.evaluate(outline)
    assert tag == "BUTTON" and style == "solid" and width == "4px", (tag, style, width)
    page.get_by_test_id("start-over").click()
    page.get_by_role("button", name="Ya, kosongkan pesanan").click()
    page.close()

    # A 390x844 phone: nothing wider than the screen, the Add button's price whole.
    phone = open_kiosk(context, edge, size=(390, 844))
    assert_no_horizontal_overflow(phone, "attract")
    phone.get_by_test_id("attract").click()
    assert_no_horizontal_overflow(phone, "menu")
    shoot(phone, "kiosk-phone-menu")
    phone.get_by_role("button", name=name_of(category), exact=True).click()
    phone.locator(f"[data-testid=product][data-id='{product['id']}']").click()
    expect(phone.get_by_test_id("product-sheet")).to_be_visible()
    assert_no_horizontal_overflow(phone, "product sheet")
    targets = phone.evaluate(SHEET_TARGETS)
    assert all(t["h"] >= 72 for t in targets), [t for t in targets if t["h"] < 72]
    for spot in phone.evaluate(UNCOVERED, "#sheet .stepper button, #sheet [data-action=sheet-add]"):
        assert spot == {"inside": True, "visible": True}, spot
    clipped = phone.evaluate("""() => {
      const b = document.querySelector('[data-testid=sheet-add]'), p = b.querySelector('[data-testid=sheet-add-price]');
      const rb = b.getBoundingClientRect(), rp = p.getBoundingClientRect();
      return {text: p.textContent, inButton: rp.left >= rb.left && rp.right <= rb.right && rp.top >= rb.top && rp.bottom <= rb.bottom,
              onScreen: rp.right <= innerWidth, whole: p.scrollWidth <= p.clientWidth + 1};
    }""")
    assert re.fullmatch(r"Rp [\d.]+", clipped.pop("text"))
    assert clipped == {"inButton": True, "onScreen": True, "whole": True}, clipped
    shoot(phone, "kiosk-phone-sheet")
    phone.get_by_test_id("product-sheet").locator("[data-action=sheet-cancel]").click()
    add_to_cart(phone, menu, product, groups)
    phone.get_by_test_id("view-cart").click()
    assert_no_horizontal_overflow(phone, "cart")
    phone.get_by_test_id("checkout").click()
    assert_no_horizontal_overflow(phone, "order type")
    phone.get_by_test_id("type-takeaway").click()
    expect(phone.get_by_test_id("review")).to_be_visible()
    assert_no_horizontal_overflow(phone, "review")
    shoot(phone, "kiosk-phone-review")
    phone.get_by_test_id("start-over").click()
    phone.get_by_role("button", name="Ya, kosongkan pesanan").click()


def test_sold_out_item_leaves_the_cart_and_the_customer_sees_which(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    menu = demo_menu(edge, edge.tokens["kiosk"])
    product, groups = product_with_required_group(menu)
    other = next(p for p in menu["products"] if p["id"] != product["id"] and p.get("available", True)
                 and not p.get("modifier_group_ids"))
    manager = edge.login("manager")
    page = open_kiosk(context, edge)
    page.get_by_test_id("attract").click()
    # Tiles without a photo show a drawn cup or bowl, not initials.
    tile = page.locator("[data-testid=product] .tile").first
    expect(tile.locator("svg.glyph")).to_have_count(1)
    assert tile.inner_text().strip() == ""

    chosen = add_to_cart(page, menu, product, groups, qty=2)
    other_cat = next(c for c in menu["categories"] if c["id"] == other["category_id"])
    page.get_by_role("button", name=name_of(other_cat), exact=True).click()
    page.locator(f"[data-testid=product][data-id='{other['id']}']").click()
    page.get_by_test_id("sheet-add").click()
    page.get_by_test_id("view-cart").click()
    page.get_by_test_id("checkout").click()
    page.get_by_test_id("type-takeaway").click()
    expect(page.get_by_test_id("review-line")).to_have_count(2)

    try:
        edge.call("PUT", f"/api/v1/menu/products/{product['id']}/availability", manager,
                  json={"available": False})
        notice = page.get_by_test_id("removed-notice")
        expect(notice).to_be_visible(timeout=WAIT_MS)  # live, on the review itself
        expect(notice).to_contain_text("Habis – dihapus dari pesanan Anda")
        expect(notice).to_contain_text(f"2 × {name_of(product)}")
        options = {o["name"]: o for g in groups for o in g["options"]}
        for name in chosen:
            expect(notice).to_contain_text(name_of(options[name]))
        expect(page.get_by_test_id("review-line")).to_have_count(1)
        expect(page.get_by_test_id("review-line")).to_contain_text(name_of(other))
        expected = one_unit_total(menu, other)
        expect(page.get_by_test_id("cart-total")).to_have_text(rupiah(expected))
        shoot(page, "kiosk-sold-out-removed")
        # Acknowledged: the message goes and does not come back on the next screens.
        page.get_by_role("button", name="Mengerti").click()
        expect(notice).to_have_count(0)
        page.get_by_test_id("review-edit").click()
        expect(page.get_by_test_id("cart-line")).to_have_count(1)
        expect(page.get_by_test_id("removed-notice")).to_have_count(0)
    finally:
        edge.call("PUT", f"/api/v1/menu/products/{product['id']}/availability", manager,
                  json={"available": True})
    page.get_by_test_id("start-over").click()
    page.get_by_role("button", name="Ya, kosongkan pesanan").click()


def one_unit_total(menu: dict[str, Any], product: dict[str, Any]) -> int:
    """The total of one unit of ``product`` by shared/pricing.py (the edge's own rules)."""
    tax = msgspec.convert(menu["tax"], TaxConfig)
    return price_order([PricedLine(base_price=product["price"], qty=1)], tax).total
