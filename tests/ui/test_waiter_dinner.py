"""A full dinner through the waiter app on a phone (390x844), with the kitchen displays and
the cashier tablet open beside it, against a real edge in Chromium.

Seat 4 at a table, two rounds (the mains held as a course), fire the mains (the kitchen's
KDS shows the course ticket with table and course), move the party to a table in the other
area, split the bill three ways evenly, pay the parts by two methods (part 1 in cash through
the cashier app, parts 2 and 3 by card through the API), close the parts in the waiter app,
mark the table clean. Every step is checked on screen and against the edge's API.

The same dinner runs on a box whose hub is down (test_waiter_dinner_offline.py): the edge
alone does all of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from edge import tables
from edge.db import connect
from tests.cli_in_process import pos_edge
from tests.edge.edge_server import EdgeServer
from tests.ui.test_screens import cashier_login, name_of, rupiah

pytestmark = pytest.mark.browser
# The dinner reloads no screen: no service worker (tests/ui/conftest.py).
SERVICE_WORKERS = "block"

WAIT_MS = 8000
PHONE = {"width": 390, "height": 844}
POLL_MS = 5000  # how often the guest page reads the table's bill (kiosk-ui/guest/guest.js)


@dataclass
class Site:
    """What the dinner needs from an outlet box, whichever way it was set up."""

    base_url: str
    waiter_device: str  # a "cashier" device: the waiter's phone
    cashier_device: str  # the cashier tablet
    kds_device: str
    waiter_pin: str
    cashier_pin: str
    call: Callable[..., Any]  # call(method, path, token, body=None) -> JSON, asserts 2xx
    login: Callable[[str, str], str]  # login(device token, pin) -> staff token
    data_dir: Path | None = None  # the box's data folder: the sticker tokens of its tables
    notes: dict[str, Any] = field(default_factory=dict)

    def sticker_token(self, table_id: str) -> str:
        """The secret on the table's QR sticker, as the box holds it (from the hub's plan)."""
        assert self.data_dir is not None
        conn = connect(self.data_dir / "edge.db")
        try:
            return next(t.guest_token for t in tables.floor_plan(conn).tables if t.id == table_id)
        finally:
            conn.close()


def pair_phone(edge: EdgeServer, name: str) -> str:
    """A waiter's phone (a "cashier" device) paired with ``pos-edge pair`` run in this
    process: the same command as ``edge.pair``, without a Python start-up each time."""
    done = pos_edge("pair", "--data-dir", str(edge.data_dir), "--role", "cashier", "--name", name,
                    env=edge.env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1].strip()


def edge_site(edge: EdgeServer) -> Site:
    phone = pair_phone(edge, "waiter-phone")
    return Site(base_url=edge.base_url, waiter_device=phone, cashier_device=edge.tokens["cashier"],
                kds_device=edge.tokens["kds"], waiter_pin=edge.pins["cashier"],
                cashier_pin=edge.pins["cashier"],
                call=lambda m, p, tok, body=None: edge.call(m, p, tok, **({} if body is None else {"json": body})),
                login=lambda device, pin: edge.login_pin(pin, device), data_dir=edge.data_dir)


# ---------------------------------------------------------------- screen helpers


def waiter_login(page: Any, pin: str) -> None:
    login = page.get_by_test_id("login")
    expect(login).to_be_visible(timeout=WAIT_MS)
    for digit in pin:
        login.locator(f"button[data-digit='{digit}']").click()
    login.locator("button[type=submit]").click()
    expect(page.get_by_test_id("plan")).to_be_visible(timeout=WAIT_MS)


def table_button(page: Any, table_id: str) -> Any:
    return page.locator(f"[data-testid=table][data-id='{table_id}']")


def show_area(page: Any, area_id: str) -> None:
    page.locator(f"[data-testid=area-tab][data-area='{area_id}']").click()


def simple_product(menu: dict[str, Any], station: str, skip: set[str] = frozenset()) -> dict[str, Any]:
    """An available product of ``station`` whose modifier groups are all optional or
    single-choice (the sheet preselects those), so a tap or two adds it."""
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    stations = {c["id"]: c.get("station", "kitchen") for c in menu["categories"]}
    for product in menu["products"]:
        own = [groups[g] for g in product.get("modifier_group_ids", []) if g in groups]
        if (stations.get(product["category_id"]) == station and product.get("available", True)
                and product["id"] not in skip
                and all(g["min_choices"] == 0 or g["max_choices"] == 1 for g in own)):
            return product
    raise AssertionError(f"no simple product at station {station}")


def add_item(page: Any, menu: dict[str, Any], product: dict[str, Any], *, course: str = "",
             hold: bool = False, qty: int = 1) -> None:
    """With the menu panel open: set course and hold for the next items, tap the product
    (through its option sheet when it has one) ``qty`` times."""
    category = next(c for c in menu["categories"] if c["id"] == product["category_id"])
    panel = page.locator(".menu-panel")
    panel.locator(".cats button").filter(has_text=re.compile(rf"^{re.escape(name_of(category))}$")).click()
    panel.get_by_test_id("pick-course").select_option(course)
    hold_box = panel.get_by_test_id("pick-hold")
    if hold_box.is_checked() != hold:
        hold_box.click()
    for _ in range(qty):
        panel.locator(f"[data-testid=menu-product][data-id='{product['id']}']").click()
        if product.get("modifier_group_ids"):
            sheet = page.get_by_test_id("product-sheet")
            expect(sheet).to_be_visible()
            sheet.get_by_test_id("sheet-add").click()
            expect(sheet).to_be_hidden()


def send_round(page: Any, expect_round: int) -> None:
    page.get_by_test_id("menu-send").click()
    expect(page.get_by_test_id("toast").filter(has_text=re.compile(rf"(Ronde|Round) {expect_round}\b"))).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("round").filter(has=page.locator("h3", has_text=re.compile(rf"{expect_round}$")))).to_be_visible()


def kds_ticket(page: Any, table: str) -> Any:
    return page.locator("[data-testid=ticket]").filter(has=page.get_by_test_id("ticket-table").filter(
        has_text=re.compile(rf"^Meja {re.escape(table)}$")))


def table_state(site: Site, staff: str, table_id: str) -> dict[str, Any]:
    return site.call("GET", f"/api/v1/tables/{table_id}", staff)


def pick_tables(site: Site, staff: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A free table for 4 in the first area and a free one in another area."""
    items = site.call("GET", "/api/v1/tables", staff)["items"]
    areas = list(dict.fromkeys(t["area_id"] for t in items))
    assert len(items) >= 8 and len(areas) >= 2, "the demo outlet has 8 tables in 2 areas"
    first = next(t for t in items if t["area_id"] == areas[0] and t["status"] == "free" and t["seats"] >= 4)
    other = next(t for t in items if t["area_id"] == areas[1] and t["status"] == "free")
    return first, other


# ---------------------------------------------------------------- the dinner


def dinner(site: Site, context: Any, shoot: Any, tag: str = "") -> dict[str, Any]:
    staff = site.login(site.cashier_device, site.cashier_pin)
    menu = site.call("GET", "/api/v1/menu", staff)
    drink = simple_product(menu, "bar")
    main = simple_product(menu, "kitchen")
    table, target = pick_tables(site, staff)

    kds_bar = context.new_page()
    kds_bar.goto(f"{site.base_url}/kds/?station=bar&token={site.kds_device}")
    kds_kitchen = context.new_page()
    kds_kitchen.goto(f"{site.base_url}/kds/?station=kitchen&token={site.kds_device}")
    expect(kds_kitchen.get_by_test_id("station")).to_have_text("kitchen")

    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(f"{site.base_url}/waiter/?token={site.waiter_device}")
    waiter_login(page, site.waiter_pin)
    expect(page.get_by_test_id("area-tab")).to_have_count(len({t["area_id"] for t in
                                                               site.call("GET", "/api/v1/tables", staff)["items"]}))
    show_area(page, table["area_id"])
    button = table_button(page, table["id"])
    expect(button).to_have_attribute("data-status", "free")
    expect(button).to_contain_text("Kosong")  # the state in words, not only in colour
    shoot(page, f"waiter-floor{tag}")

    # Seat four.
    button.click()
    seat = page.get_by_test_id("seat-dialog")
    seat.locator("button[data-covers='4']").click()
    seat.get_by_test_id("seat-submit").click()
    expect(page.get_by_test_id("bill-table")).to_have_text(table["name"], timeout=WAIT_MS)
    state = table_state(site, staff, table["id"])
    assert state["table"]["status"] == "ordering" and state["table"]["covers"] == 4
    (bill,) = state["orders"]
    assert bill["covers"] == 4 and bill["table_id"] == table["id"] and bill["type"] == "dine_in"

    # Round 1: drinks now, the mains held as their course.
    page.get_by_test_id("add-items").click()
    add_item(page, menu, drink, course="minuman", qty=2)
    add_item(page, menu, main, course="makanan", hold=True, qty=2)
    shoot(page, f"waiter-menu{tag}")
    send_round(page, 1)
    bill = site.call("GET", f"/api/v1/orders/{bill['id']}", staff)
    held = [line for line in bill["lines"] if line["state"] == "held"]
    sent = [line for line in bill["lines"] if line["state"] == "sent"]
    assert {line["product_id"] for line in held} == {main["id"]} and sum(line["qty"] for line in held) == 2
    assert {line["product_id"] for line in sent} == {drink["id"]} and {line["round"] for line in sent} == {1}
    expect(kds_ticket(kds_bar, table["name"])).to_be_visible(timeout=WAIT_MS)
    expect(kds_ticket(kds_bar, table["name"]).get_by_test_id("ticket-round")).to_have_text("Ronde 1")
    expect(page.get_by_test_id("held-course")).to_have_attribute("data-course", "makanan")

    # Round 2: one more drink, straight away.
    page.get_by_test_id("add-items").click()
    add_item(page, menu, drink, course="minuman")
    send_round(page, 2)
    expect(kds_bar.locator("[data-testid=ticket-round]", has_text="Ronde 2")).to_be_visible(timeout=WAIT_MS)
    # The held mains have not reached the kitchen.
    expect(kds_ticket(kds_kitchen, table["name"])).to_have_count(0)
    shoot(page, f"waiter-bill{tag}")

    # Round 3 from a guest's phone: the table's QR sticker opens the guest page (no app, no
    # login); the outlet has guest rounds wait for a waiter, who accepts it from the bell.
    # The phone is a browser of its own, on a clock the test can run ahead to its next poll.
    phone = context.browser.new_context(viewport=PHONE, locale="id-ID", reduced_motion="reduce")
    phone_errors: list[str] = []
    phone.on("weberror", lambda err: phone_errors.append(str(err.error)))
    phone.clock.install()
    guest = phone.new_page()
    guest.goto(f"{site.base_url}/guest/#t={site.sticker_token(table['id'])}")
    expect(guest.get_by_test_id("table-name")).to_have_text(f"Meja {table['name']}", timeout=WAIT_MS)
    category = next(c for c in menu["categories"] if c["id"] == drink["category_id"])
    guest.get_by_test_id("category").filter(has_text=name_of(category)).click()
    guest.locator(f"[data-testid=product][data-product='{drink['id']}']").click()
    sheet = guest.get_by_test_id("sheet")
    expect(sheet).to_be_visible()
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    for group_id in drink.get("modifier_group_ids", []):  # the guest picks each required one
        group = groups.get(group_id)
        if group and group["min_choices"]:
            sheet.locator(f"button[data-option='{group['options'][0]['id']}']").click()
    sheet.get_by_test_id("sheet-add").click()
    expect(sheet).to_be_hidden()
    guest.get_by_test_id("view-cart").click()
    expect(guest.get_by_test_id("send")).to_have_text("Kirim ke pelayan")
    guest.get_by_test_id("send").click()
    expect(guest.get_by_test_id("notice")).to_contain_text("Pelayan akan segera", timeout=WAIT_MS)
    expect(page.get_by_test_id("request-count")).to_have_text("1", timeout=WAIT_MS)
    page.get_by_test_id("requests").click()
    request = page.get_by_test_id("guest-request").filter(has_text=table["name"])
    expect(request).to_contain_text(name_of(drink))
    request.get_by_test_id("accept-request").click()
    expect(request).to_have_count(0, timeout=WAIT_MS)
    expect(kds_bar.locator("[data-testid=ticket-round]", has_text="Ronde 3")).to_be_visible(timeout=WAIT_MS)
    bill = site.call("GET", f"/api/v1/orders/{bill['id']}", staff)
    assert [(x["product_id"], x["qty"]) for x in bill["lines"] if x["round"] == 3] == [(drink["id"], 1)]
    guest.clock.run_for(POLL_MS)  # the guest page reads its bill every 5 s: the next read
    expect(guest.get_by_test_id("bill-total")).to_have_text(rupiah(bill["total"]), timeout=WAIT_MS)
    phone.close()
    assert not phone_errors, f"page errors on the guest's phone: {phone_errors}"
    requests_dialog = page.locator("dialog[open]")
    if requests_dialog.count():
        requests_dialog.locator("button[data-close]").first.click()
    expect(page.get_by_test_id("bill-table")).to_have_text(table["name"], timeout=WAIT_MS)

    # Fire the mains: the kitchen gets the course ticket with table and course.
    page.locator("[data-testid=fire][data-course='makanan']").click()
    expect(page.get_by_test_id("held-course")).to_have_count(0, timeout=WAIT_MS)
    fired = kds_ticket(kds_kitchen, table["name"])
    expect(fired).to_be_visible(timeout=WAIT_MS)
    expect(fired.get_by_test_id("ticket-course")).to_have_text(re.compile("makanan", re.IGNORECASE))
    expect(fired).to_have_attribute("data-course", "makanan")
    expect(fired).to_contain_text(name_of(main))
    shoot(kds_kitchen, f"kds-course{tag}")
    tickets = site.call("GET", "/api/v1/kitchen/tickets?station=kitchen&status=pending", site.kds_device)["items"]
    course_ticket = next(t for t in tickets if t["order_id"] == bill["id"])
    assert course_ticket["table"] == table["name"] and course_ticket["course"] == "makanan"
    bill = site.call("GET", f"/api/v1/orders/{bill['id']}", staff)
    assert all(line["state"] == "sent" for line in bill["lines"])
    expect(page.get_by_test_id("table-status")).to_have_text("Makan", timeout=WAIT_MS)

    # Move the party to a table in the other area.
    page.get_by_test_id("move").click()
    page.get_by_test_id("pick-item").filter(has_text=target["name"]).click()
    expect(page.get_by_test_id("bill-table")).to_have_text(target["name"], timeout=WAIT_MS)
    moved = site.call("GET", f"/api/v1/orders/{bill['id']}", staff)
    assert moved["table_id"] == target["id"] and moved["total"] == bill["total"]
    assert table_state(site, staff, table["id"])["table"]["status"] in ("free", "needs_cleaning")
    assert table_state(site, staff, target["id"])["table"]["status"] == "eating"

    # Split three ways, evenly.
    page.get_by_test_id("split").click()
    split = page.get_by_test_id("split-dialog")
    split.get_by_test_id("split-even").click()
    split.locator("button[data-even='1']").click()
    expect(split.get_by_test_id("split-even-n")).to_have_text("3")
    split.get_by_test_id("split-submit").click()
    expect(page.get_by_test_id("bill-tab")).to_have_count(3, timeout=WAIT_MS)
    parts = table_state(site, staff, target["id"])["orders"]
    assert len(parts) == 3 and {p["split_from"] for p in parts} == {bill["id"]}
    assert sum(p["total"] for p in parts) == moved["total"]
    parent = site.call("GET", f"/api/v1/orders/{bill['id']}", staff)
    assert parent["status"] == "split" and sorted(parent["split_into"]) == sorted(p["id"] for p in parts)
    shoot(page, f"waiter-split{tag}")

    # Part 1 in cash at the cashier tablet; parts 2 and 3 by card (API, as a card terminal
    # integration would).
    parts.sort(key=lambda p: p["split_part"])
    site.call("POST", "/api/v1/shifts", staff, {"opening_float": 0})
    till = context.new_page()
    till.goto(f"{site.base_url}/cashier/?token={site.cashier_device}")
    cashier_login(till, site.cashier_pin)
    till.get_by_test_id("open-order").filter(
        has=till.locator(".num", has_text=re.compile(rf"^#{parts[0]['number']}$"))).click()
    expect(till.get_by_test_id("order-total")).to_have_text(rupiah(parts[0]["total"]), timeout=WAIT_MS)
    till.get_by_test_id("pay-submit").click()  # cash, the amount owed
    expect(till.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
    for part in parts[1:]:
        site.call("POST", f"/api/v1/orders/{part['id']}/payments", staff,
                  {"method": "card", "amount": part["total"], "reference": f"APPR-{part['split_part']}"})

    # The waiter closes each paid part; the table then needs cleaning; mark it clean.
    tabs = page.get_by_test_id("bill-tab")
    for left in (2, 1, 0):
        if tabs.count():
            tabs.first.click()
        close = page.get_by_test_id("close-bill")
        expect(close).to_be_visible(timeout=WAIT_MS)
        close.click()
        expect(tabs).to_have_count(left if left > 1 else 0, timeout=WAIT_MS)
    expect(page.get_by_test_id("clean")).to_be_visible(timeout=WAIT_MS)
    page.get_by_test_id("clean").click()
    expect(page.get_by_test_id("plan")).to_be_visible(timeout=WAIT_MS)
    show_area(page, target["area_id"])
    expect(table_button(page, target["id"])).to_have_attribute("data-status", "free", timeout=WAIT_MS)

    done = [site.call("GET", f"/api/v1/orders/{p['id']}", staff) for p in parts]
    assert [o["status"] for o in done] == ["completed"] * 3
    methods = {pay["method"] for o in done for pay in o["payments"]}
    assert methods == {"cash", "card"}
    assert sum(o["paid"] for o in done) == moved["total"]
    return {"bill": parent, "parts": done, "table": table, "target": target}


def test_a_full_dinner_through_the_waiter_app(edge_server: EdgeServer, context: Any, shoot: Any) -> None:
    dinner(edge_site(edge_server), context, shoot)
