"""The waiter app's harder paths in Chromium against a real edge (phone-sized, 390x844):

* pairing: a kitchen token is refused, a cashier-role token is the waiter's phone;
* the floor follows the live stream in place: a table seated elsewhere changes colour and
  words without the plan being redrawn (the same DOM element, nothing flickers);
* a round whose answer is lost is re-sent with the same Idempotency-Key: one round;
* a round sent while the edge is down is kept on the phone, said so, and sent by itself
  (once) when the edge is back;
* a change that lost a race (the course was fired from another device meanwhile) is refused
  with 409, the bill refreshes and the waiter reads what happened;
* a void asks for a manager's PIN when the edge wants one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.ui.test_screens import cashier_token
from tests.ui.test_waiter_dinner import (
    PHONE,
    WAIT_MS,
    add_item,
    pair_phone,
    show_area,
    simple_product,
    table_button,
    waiter_login,
)

pytestmark = pytest.mark.browser
# Only the test marked service_worker reloads a screen while the edge is away; the others
# run without the service worker (tests/ui/conftest.py).
SERVICE_WORKERS = "block"


def api_line(menu: dict[str, Any], product: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An order line for ``product`` with its required choices made (first options)."""
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    chosen = [o["id"] for gid in product.get("modifier_group_ids", []) if gid in groups
              for o in [o for o in groups[gid]["options"] if o.get("available", True)][: groups[gid]["min_choices"]]]
    return {"product_id": product["id"], "modifiers": chosen, **extra}


def free_table(edge: EdgeServer, staff: str) -> dict[str, Any]:
    items = edge.call("GET", "/api/v1/tables", staff)["items"]
    return next(t for t in items if t["status"] == "free")


def open_waiter(context: Any, edge: EdgeServer, token: str) -> Any:
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(f"{edge.base_url}/waiter/?token={token}")
    return page


def seated_bill(edge: EdgeServer, staff: str, table_id: str, covers: int = 2) -> dict[str, Any]:
    return edge.call("POST", f"/api/v1/tables/{table_id}/seat", staff, json={"covers": covers})


def open_bill_page(context: Any, edge: EdgeServer, phone: str, table: dict[str, Any]) -> Any:
    page = open_waiter(context, edge, phone)
    waiter_login(page, edge.pins["cashier"])
    show_area(page, table["area_id"])
    table_button(page, table["id"]).click()
    expect(page.get_by_test_id("bill-table")).to_have_text(table["name"], timeout=WAIT_MS)
    return page


def test_pairing_and_the_live_floor_without_redraw(shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    page = open_waiter(context, edge, edge.tokens["kds"])
    form = page.get_by_test_id("pairing")
    expect(form).to_contain_text("kds")  # a kitchen screen's token cannot run the waiter app
    page.get_by_label("Token perangkat").fill(pair_phone(edge, "waiter-1"))
    page.get_by_role("button", name="Pasangkan").click()
    waiter_login(page, edge.pins["cashier"])

    staff = cashier_token(edge)
    table = free_table(edge, staff)
    show_area(page, table["area_id"])
    button = table_button(page, table["id"])
    expect(button).to_have_attribute("data-status", "free")
    button.evaluate("el => { el.dataset.marker = 'same-element'; }")
    seated_bill(edge, staff, table["id"], covers=3)  # the cashier seats a party meanwhile
    expect(button).to_have_attribute("data-status", "ordering", timeout=WAIT_MS)
    expect(button).to_contain_text("Memesan")
    expect(button).to_contain_text("3 tamu")
    assert button.get_attribute("data-marker") == "same-element", "the plan was redrawn"
    shoot(page, "waiter-floor-live")


def test_a_round_whose_answer_is_lost_is_sent_once(shared_edge: EdgeServer, context: Any) -> None:
    edge = shared_edge
    staff = cashier_token(edge)
    menu = edge.call("GET", "/api/v1/menu", staff)
    drink = simple_product(menu, "bar")
    table = free_table(edge, staff)
    bill = seated_bill(edge, staff, table["id"])
    page = open_bill_page(context, edge, pair_phone(edge, "waiter-2"), table)
    keys: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key", ""))
        response = route.fetch()  # the edge adds the round now
        if len(keys) == 1:
            assert response.status == 200
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route("**/api/v1/orders/*/lines", lose_first_answer)
    page.get_by_test_id("add-items").click()
    add_item(page, menu, drink, course="minuman", qty=2)
    page.get_by_test_id("menu-send").click()
    expect(page.get_by_test_id("toast").filter(has_text="Ronde 1")).to_be_visible(timeout=WAIT_MS)
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    lines = edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)["lines"]
    assert sum(line["qty"] for line in lines) == 2 and {line["round"] for line in lines} == {1}


@pytest.mark.service_worker
def test_a_round_sent_while_the_edge_is_down_is_kept_and_sent_once(
        edge_server: EdgeServer, context: Any, shoot: Any) -> None:
    edge = edge_server
    staff = cashier_token(edge)
    menu = edge.call("GET", "/api/v1/menu", staff)
    drink = simple_product(menu, "bar")
    table = free_table(edge, staff)
    bill = seated_bill(edge, staff, table["id"])
    page = open_bill_page(context, edge, pair_phone(edge, "waiter-3"), table)
    page.get_by_test_id("add-items").click()
    add_item(page, menu, drink, course="minuman", qty=3)

    edge.stop()
    page.get_by_test_id("menu-send").click()
    page.get_by_test_id("review-round").click()  # back to the bill: the round is still there
    kept = page.get_by_test_id("round-kept")
    expect(kept).to_be_visible(timeout=20000)
    expect(kept).to_contain_text("disimpan")
    expect(page.get_by_test_id("draft-line")).to_have_count(1)
    # Said in a banner, not a full-screen cover: the waiter still sees the bill and the round.
    expect(page.get_by_test_id("offline")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("reconnecting")).to_have_count(0)
    shoot(page, "waiter-round-kept")
    # A reload while the edge is away keeps the round too (localStorage, with its key).
    page.reload()

    edge.start()
    expect(page.get_by_test_id("round").filter(has=page.locator("h3", has_text=re.compile("1$")))).to_be_visible(timeout=30000)
    expect(page.get_by_test_id("draft-line")).to_have_count(0)
    expect(page.get_by_test_id("offline")).to_be_hidden()
    waiter_lines = edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)["lines"]
    assert [(line["product_id"], line["qty"], line["round"]) for line in waiter_lines] == [(drink["id"], 3, 1)]


def test_a_change_that_lost_a_race_is_refused_and_explained(shared_edge: EdgeServer, context: Any) -> None:
    edge = shared_edge
    staff = cashier_token(edge)
    menu = edge.call("GET", "/api/v1/menu", staff)
    main = simple_product(menu, "kitchen")
    table = free_table(edge, staff)
    bill = seated_bill(edge, staff, table["id"])
    edge.call("POST", f"/api/v1/orders/{bill['id']}/lines", staff, json={"lines": [
        api_line(menu, main, qty=1, course="makanan", hold=True)]})
    page = open_bill_page(context, edge, pair_phone(edge, "waiter-4"), table)
    expect(page.get_by_test_id("held-line")).to_have_count(1)
    page.get_by_test_id("edit-held").click()
    dialog = page.get_by_test_id("edit-dialog")
    dialog.locator("button[data-q='1']").click()
    # Meanwhile the cashier fires the mains.
    edge.call("POST", f"/api/v1/orders/{bill['id']}/fire", staff, json={"course": "makanan"})
    dialog.get_by_test_id("edit-save").click()
    message = page.get_by_test_id("bill-message")
    expect(message).to_be_visible(timeout=WAIT_MS)
    expect(message).to_contain_text(re.compile("sudah dikirim ke dapur|diubah orang lain"))
    expect(page.get_by_test_id("held-line")).to_have_count(0)  # refreshed: the line is sent now
    expect(page.get_by_test_id("sent-line")).to_have_count(1)
    lines = edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)["lines"]
    assert [(line["qty"], line["state"]) for line in lines] == [(1, "sent")]


def test_void_asks_for_a_manager_above_the_threshold(shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    staff = cashier_token(edge)
    menu = edge.call("GET", "/api/v1/menu", staff)
    main = simple_product(menu, "kitchen")
    table = free_table(edge, staff)
    bill = seated_bill(edge, staff, table["id"])
    qty = 50_000 // main["price"] + 1  # the demo floor plan's void_approval_threshold is Rp 50.000
    edge.call("POST", f"/api/v1/orders/{bill['id']}/lines", staff, json={"lines": [
        api_line(menu, main, qty=qty, course="makanan")]})
    page = open_bill_page(context, edge, pair_phone(edge, "waiter-5"), table)
    page.get_by_test_id("void-line").click()
    dialog = page.get_by_test_id("void-dialog")
    dialog.locator("input[name=reason]").fill("Tamu berubah pikiran")
    dialog.get_by_test_id("void-submit").click()
    pin = dialog.get_by_test_id("manager-pin")
    expect(pin).to_be_visible(timeout=WAIT_MS)  # the edge said a manager must approve
    expect(dialog).to_contain_text("perlu manajer")
    shoot(page, "waiter-void-manager")
    pin.fill(edge.pins["cashier"])  # not a manager's PIN
    dialog.get_by_test_id("void-submit").click()
    expect(dialog.locator(".error")).not_to_be_empty(timeout=WAIT_MS)
    assert edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)["lines"][0]["state"] == "sent"
    dialog.get_by_test_id("manager-pin").fill(edge.pins["manager"])
    dialog.get_by_test_id("void-submit").click()
    voided = page.locator("[data-testid=sent-line].voided")
    expect(voided).to_have_count(1, timeout=WAIT_MS)
    expect(voided).to_contain_text("Tamu berubah pikiran")
    after = edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)
    assert after["lines"][0]["state"] == "voided" and after["lines"][0]["void_reason"] == "Tamu berubah pikiran"
    assert after["lines"][0]["voided_by"] and after["subtotal"] == 0


def test_a_guest_round_from_the_qr_page_is_accepted_from_the_bell(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    from edge import tables
    from edge.db import connect

    edge = shared_edge
    staff = cashier_token(edge)
    menu = edge.call("GET", "/api/v1/menu", staff)
    drink = simple_product(menu, "bar")
    table = free_table(edge, staff)
    conn = connect(edge.data_dir / "edge.db")
    try:
        plan = tables.floor_plan(conn)
    finally:
        conn.close()
    token = next(t.guest_token for t in plan.tables if t.id == table["id"])
    page = open_waiter(context, edge, pair_phone(edge, "waiter-6"))
    waiter_login(page, edge.pins["cashier"])
    count = page.get_by_test_id("request-count")
    before = int(count.inner_text() or 0)

    sent = edge.request("POST", "/api/v1/guest/orders", None, json={"lines": [
        api_line(menu, drink, qty=2)]}, headers={"X-Table-Token": token, "Idempotency-Key": "guest-1"})
    assert sent.status_code == 201, sent.text
    expect(count).to_have_text(str(before + 1), timeout=WAIT_MS)  # live, from the tables topic
    page.get_by_test_id("requests").click()
    request = page.get_by_test_id("guest-request").filter(has_text=table["name"])
    expect(request).to_contain_text("2 ×")
    shoot(page, "waiter-guest-requests")
    request.get_by_test_id("accept-request").click()
    expect(request).to_have_count(0, timeout=WAIT_MS)
    expect(count).to_have_text(str(before) if before else "")
    bills = edge.call("GET", f"/api/v1/tables/{table['id']}", staff)["orders"]
    assert [(line["product_id"], line["qty"]) for line in bills[0]["lines"]] == [(drink["id"], 2)]


def test_change_delete_held_merge_and_split_by_item(shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    staff = cashier_token(edge)
    menu = edge.call("GET", "/api/v1/menu", staff)
    drink, main = simple_product(menu, "bar"), simple_product(menu, "kitchen")
    free = [t for t in edge.call("GET", "/api/v1/tables", staff)["items"] if t["status"] == "free"]
    table, other = free[0], free[1]
    bill = seated_bill(edge, staff, table["id"])
    edge.call("POST", f"/api/v1/orders/{bill['id']}/lines", staff, json={"lines": [
        api_line(menu, drink, qty=1, course="minuman"),
        api_line(menu, main, qty=1, course="makanan", hold=True),
        api_line(menu, main, qty=1, course="makanan", hold=True, seat=2)]})
    theirs = seated_bill(edge, staff, other["id"])
    edge.call("POST", f"/api/v1/orders/{theirs['id']}/lines", staff, json={"lines": [
        api_line(menu, drink, qty=2, course="minuman")]})
    page = open_bill_page(context, edge, pair_phone(edge, "waiter-7"), table)

    # Change a held item (qty 1 -> 2) and delete the other.
    held = page.get_by_test_id("held-line")
    expect(held).to_have_count(2)
    held.first.get_by_test_id("edit-held").click()
    page.get_by_test_id("edit-dialog").locator("button[data-q='1']").click()
    page.get_by_test_id("edit-save").click()
    expect(held.first).to_contain_text("2 ×", timeout=WAIT_MS)
    held.nth(1).get_by_test_id("delete-held").click()
    expect(held).to_have_count(1, timeout=WAIT_MS)
    lines = edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)["lines"]
    assert sorted((line["qty"], line["state"]) for line in lines) == [(1, "sent"), (2, "held")]

    # Merge the other table's bill into this one: its lines come here, its table is free.
    page.get_by_test_id("merge").click()
    page.get_by_test_id("pick-item").filter(has_text=other["name"]).click()
    expect(page.get_by_test_id("sent-line")).to_have_count(2, timeout=WAIT_MS)
    merged = edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)
    assert edge.call("GET", f"/api/v1/orders/{theirs['id']}", staff)["status"] == "merged"
    assert edge.call("GET", f"/api/v1/tables/{other['id']}", staff)["table"]["status"] in ("free", "needs_cleaning")

    # Split by item: the held mains to part 2, everything else stays in part 1.
    page.get_by_test_id("split").click()
    dialog = page.get_by_test_id("split-dialog")
    main_line = next(line for line in merged["lines"] if line["state"] == "held")
    dialog.locator(f"[data-testid=split-line][data-id='{main_line['id']}'] button[data-part='2']").click()
    shoot(page, "waiter-split-by-item")
    dialog.get_by_test_id("split-submit").click()
    expect(page.get_by_test_id("bill-tab")).to_have_count(2, timeout=WAIT_MS)
    parts = edge.call("GET", f"/api/v1/tables/{table['id']}", staff)["orders"]
    assert sorted(len(p["lines"]) for p in parts) == [1, 2]
    assert sum(p["total"] for p in parts) == edge.call("GET", f"/api/v1/orders/{bill['id']}", staff)["total"]
