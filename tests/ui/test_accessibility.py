"""axe-core on every screen (issue 13): the outlet apps a real edge serves (kiosk, cashier,
KDS, board, waiter, guest, the screen list) and every page of the head-office dashboard a
real hub serves, each driven by Chromium into its main states (the kiosk's attract, menu,
product sheet, cart, order type, review and number; the cashier's PIN pad, order list,
payment form, void dialog and shift; ...). Every violation of WCAG 2.2 A/AA or of axe's best
practices is reported (test summary and artifacts/accessibility/*.json); a serious or
critical one fails the test. Lighthouse's scores: tests/ui/test_lighthouse.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.edge.test_guest import change_plan, plan_of, token_of
from tests.hub import conftest as hubfx
from tests.ui.axe_support import Audit
from tests.ui.test_guest_page import simple_and_optioned
from tests.ui.test_screens import (
    cashier_login,
    cashier_token,
    place_api_order,
    product_with_required_group,
)
from tests.ui.test_waiter_dinner import add_item, simple_product, waiter_login

# The hub area's fixtures (a real pos-hub on PostgreSQL), registered for this module.
pg_admin_url, pg_url, pg_roles = hubfx.pg_admin_url, hubfx.pg_url, hubfx.pg_roles
hub_server_factory, hub_server = hubfx.hub_server_factory, hubfx.hub_server
tenant_factory = hubfx.tenant_factory

pytestmark = pytest.mark.browser

WAIT_MS = 15000
PORTRAIT = {"width": 768, "height": 1280}  # the kiosk's screen
PHONE = {"width": 390, "height": 844}  # the waiter's and the guest's phones
DASHBOARD_PAGES = ("fleet", "sales", "payments", "tables", "menu", "outlets", "floor", "users",
                   "staff", "audit")


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    """A page of its own context, reduced motion (no half-faded frame is measured), failing
    the test on any script error; no service worker (nothing here is offline, and it would
    fetch every app's files into each fresh context)."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID",
                               reduced_motion="reduce", service_workers="block")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.dismiss())
    yield page
    ctx.close()
    assert not errors, f"page errors: {errors}"


def open_app(page: Any, edge: EdgeServer, path: str, role: str, size: dict | None = None) -> Any:
    if size:
        page.set_viewport_size(size)
    sep = "&" if "?" in path else "?"
    page.goto(f"{edge.base_url}{path}{sep}token={edge.tokens[role]}")
    return page


# ---------------------------------------------------------------- the outlet apps


def test_kiosk(shared_edge: EdgeServer, tab: Any, record_property: Any) -> None:
    edge, audit = shared_edge, Audit("kiosk")
    menu = edge.menu()
    product, groups = product_with_required_group(menu)
    page = open_app(tab, edge, "/kiosk/", "kiosk", PORTRAIT)
    expect(page.get_by_test_id("attract")).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "attract")
    page.get_by_test_id("attract").click()
    expect(page.get_by_test_id("product").first).to_be_visible()
    audit.check(page, "menu")
    page.locator(f"[data-action=category][data-id='{product['category_id']}']").click()
    page.locator(f"[data-testid=product][data-id='{product['id']}']").click()
    expect(page.get_by_test_id("product-sheet")).to_be_visible()
    audit.check(page, "product sheet")
    sheet = page.get_by_test_id("product-sheet")
    for group in groups:
        for option in [o for o in group["options"] if o.get("available", True)][: group["min_choices"]]:
            button = sheet.locator(f"button[data-id='{option['id']}']")
            if button.get_attribute("aria-pressed") != "true":
                button.click()
    page.get_by_test_id("sheet-add").click()
    expect(sheet).to_be_hidden()
    audit.check(page, "menu with a cart")
    page.get_by_test_id("view-cart").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    audit.check(page, "cart")
    page.get_by_test_id("checkout").click()
    expect(page.get_by_test_id("type-takeaway")).to_be_visible()
    audit.check(page, "order type")
    page.get_by_test_id("type-takeaway").click()
    expect(page.get_by_test_id("review")).to_be_visible()
    audit.check(page, "review")
    page.get_by_test_id("start-over").click()
    expect(page.get_by_test_id("confirm-reset")).to_be_visible()
    audit.check(page, "start over?")
    page.keyboard.press("Escape")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("order-number")).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "order number")
    audit.assert_clean(record_property)


def test_cashier(shared_edge: EdgeServer, tab: Any, record_property: Any) -> None:
    edge, audit = shared_edge, Audit("cashier")
    menu = edge.menu()
    product, groups = product_with_required_group(menu)
    order = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    staff = cashier_token(edge)
    if edge.request("GET", "/api/v1/shifts/current", staff).status_code != 200:
        edge.call("POST", "/api/v1/shifts", staff, json={"opening_float": 0})
    page = open_app(tab, edge, "/cashier/", "cashier")
    expect(page.get_by_test_id("login")).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "PIN pad")
    cashier_login(page, edge.pins["cashier"])
    expect(page.get_by_test_id("open-order").first).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "order list")
    page.get_by_test_id("open-order").filter(
        has=page.locator(".num", has_text=re.compile(rf"^#{order['number']}$"))).click()
    expect(page.get_by_test_id("pay-form")).to_be_visible()
    audit.check(page, "order and payment form")
    page.get_by_role("button", name="Kartu").click()
    expect(page.get_by_test_id("pay-reference")).to_be_visible()
    audit.check(page, "card payment")
    page.get_by_test_id("void").click()
    expect(page.get_by_test_id("void-dialog")).to_be_visible()
    audit.check(page, "void dialog")
    page.get_by_test_id("void-back").click()
    page.get_by_role("button", name="Shift").click()
    expect(page.get_by_test_id("shift-float").or_(page.get_by_test_id("shift-counted"))).to_be_visible()
    audit.check(page, "shift")
    audit.assert_clean(record_property)


def test_kds_and_board(shared_edge: EdgeServer, tab: Any, record_property: Any) -> None:
    edge, audit = shared_edge, Audit("kds and board")
    menu = edge.menu()
    product, groups = product_with_required_group(menu)
    station = next(c["station"] for c in menu["categories"] if c["id"] == product["category_id"])
    place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    page = open_app(tab, edge, f"/kds/?station={station}", "kds")
    expect(page.locator("[data-testid=ticket]").first).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "kds tickets")
    page.get_by_role("button", name="Total hari ini").click()
    expect(page.get_by_test_id("allday")).to_be_visible()
    audit.check(page, "kds all-day")
    page.locator("[data-testid=ticket] [data-testid=bump]").first.click()
    open_app(page, edge, "/board/", "kds", {"width": 1920, "height": 1080})
    expect(page.get_by_test_id("ready").locator("li").first).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "board")
    page.goto(edge.base_url + "/")
    audit.check(page, "screen list")
    audit.assert_clean(record_property)


def test_waiter(shared_edge: EdgeServer, tab: Any, record_property: Any) -> None:
    edge, audit = shared_edge, Audit("waiter")
    staff = cashier_token(edge)
    menu = edge.menu()
    drink = simple_product(menu, "bar")
    table = next(t for t in edge.call("GET", "/api/v1/tables", staff)["items"] if t["status"] == "free")
    page = open_app(tab, edge, "/waiter/", "cashier", PHONE)
    expect(page.get_by_test_id("login")).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "PIN pad")
    waiter_login(page, edge.pins["cashier"])
    audit.check(page, "floor plan")
    page.locator(f"[data-testid=area-tab][data-area='{table['area_id']}']").click()
    page.locator(f"[data-testid=table][data-id='{table['id']}']").click()
    seat = page.get_by_test_id("seat-dialog")
    expect(seat).to_be_visible()
    audit.check(page, "seat dialog")
    seat.locator("button[data-covers='2']").click()
    seat.get_by_test_id("seat-submit").click()
    expect(page.get_by_test_id("bill-table")).to_have_text(table["name"], timeout=WAIT_MS)
    audit.check(page, "bill")
    page.get_by_test_id("add-items").click()
    add_item(page, menu, drink)
    audit.check(page, "menu panel")
    page.get_by_test_id("menu-send").click()
    expect(page.get_by_test_id("round").first).to_be_visible(timeout=WAIT_MS)
    audit.check(page, "bill with a round")
    audit.assert_clean(record_property)


def test_guest(shared_edge: EdgeServer, tab: Any, record_property: Any) -> None:
    edge, audit = shared_edge, Audit("guest")
    change_plan(edge, guest_orders="kitchen")
    menu = edge.menu()
    staff = cashier_token(edge)
    busy = {t["name"] for t in edge.call("GET", "/api/v1/tables", staff)["items"] if t["status"] != "free"}
    table = next(t.name for t in plan_of(edge).tables if t.name not in busy)
    tab.set_viewport_size(PHONE)
    tab.goto(f"{edge.base_url}/guest/#t={token_of(edge, table)}")
    page = tab
    expect(page.get_by_test_id("table-name")).to_contain_text(table, timeout=WAIT_MS)
    audit.check(page, "menu")
    product, _, _ = simple_and_optioned(menu)
    category = next(c for c in menu["categories"] if c["id"] == product["category_id"])
    page.get_by_test_id("category").filter(
        has_text=category.get("names", {}).get("id") or category["name"]).click()
    page.locator(f"[data-testid=product][data-product='{product['id']}']").click()
    sheet = page.get_by_test_id("sheet")
    expect(sheet).to_be_visible()
    audit.check(page, "product sheet")
    sheet.get_by_test_id("sheet-add").click()
    expect(sheet).to_be_hidden()
    page.get_by_test_id("tab-cart").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    audit.check(page, "cart")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("bill-line")).to_have_count(1, timeout=WAIT_MS)
    audit.check(page, "bill")
    audit.assert_clean(record_property)


# ---------------------------------------------------------------- the head-office dashboard


@pytest.mark.postgres
def test_dashboard(tenant_factory: Any, chromium: Any, record_property: Any) -> None:
    t, audit = tenant_factory(), Audit("dashboard")
    t.create_outlet("Sudirman")
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                               reduced_motion="reduce")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(t.server.base_url + "/dashboard/")
        expect(page.get_by_label("Email")).to_be_visible(timeout=WAIT_MS)
        audit.check(page, "sign in")
        page.get_by_label("Email").fill(t.email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible(timeout=WAIT_MS)
        audit.check(page, "sign in refused")
        page.get_by_label("Password").fill(t.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("main[data-page=fleet]")).to_be_visible(timeout=WAIT_MS)
        for name in DASHBOARD_PAGES:
            page.locator(f"nav a[data-page={name}]").click()
            expect(page.locator(f"main[data-page={name}]")).to_be_visible(timeout=WAIT_MS)
            page.wait_for_load_state("networkidle")
            audit.check(page, name)
        page.locator("#lang").select_option("id")
        page.wait_for_load_state("networkidle")
        audit.check(page, "audit (Indonesian)")
    finally:
        ctx.close()
    assert not errors, f"page errors: {errors}"
    audit.assert_clean(record_property)
