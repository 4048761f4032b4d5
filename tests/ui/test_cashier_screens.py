"""The cashier items of issue 13, driven in Chromium against a real edge: a list that holds a
lunch rush, cash entry (separators, note buttons, short cash blocked, rounding line), actions
offered by state, the wrong-PIN and void wording, the blind shift count, outages that say
what happened to the payment, names and errors in the screen's language, and table service
on the order cards. Screenshots: artifacts/screenshots/ui-cashier-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge.edge_server import EdgeServer
from tests.ui.test_screens import (
    WAIT_MS,
    cashier_login,
    cashier_token,
    demo_menu,
    name_of,
    open_app,
    open_till,
    place_api_order,
    product_with_required_group,
    rupiah,
)

pytestmark = pytest.mark.browser
# No screen is reloaded while the edge is away: no service worker (tests/ui/conftest.py).
SERVICE_WORKERS = "block"


def ensure_shift(edge: EdgeServer) -> None:
    res = edge.request("POST", "/api/v1/shifts", cashier_token(edge), json={"opening_float": 0})
    assert res.status_code in (201, 200, 409), res.text  # 409: already open on this till


def order_card(page: Any, number: int) -> Any:
    return page.get_by_test_id("open-order").filter(
        has=page.locator(".num", has_text=re.compile(rf"^#{number}$")))


def bump_order(edge: EdgeServer, order_id: str) -> None:
    for ticket in edge.call("GET", "/api/v1/kitchen/tickets?status=pending", edge.tokens["kds"])["items"]:
        if ticket["order_id"] == order_id:
            edge.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", edge.tokens["kds"])


def simple_order(edge: EdgeServer, **extra: Any) -> dict[str, Any]:
    body = {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": 1}], **extra}
    return edge.call("POST", "/api/v1/orders", edge.tokens["kiosk"], json=body)


def test_shift_close_is_a_blind_count_with_large_segmented_controls(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    # First on the module's edge: no shift is open and no cash taken yet (the other tests
    # open a shift when they need one).
    edge = shared_edge
    page = open_till(context, edge)
    page.get_by_role("button", name="Shift").click()
    page.get_by_test_id("shift-float").fill("200000")
    expect(page.get_by_test_id("shift-float")).to_have_value("200.000")
    page.get_by_role("button", name="Buka shift").click()
    counted = page.get_by_test_id("shift-counted")
    expect(counted).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("expected-cash")).to_have_count(0)
    expect(page.get_by_test_id("blind-note")).to_be_visible()
    for label in ("Kas masuk", "Kas keluar"):
        box = page.locator(".segmented .seg", has_text=label).bounding_box()
        assert box["height"] >= 56 and box["width"] >= 100, box
    page.get_by_label("Kas keluar").check()
    expect(page.get_by_label("Kas keluar")).to_be_checked()
    shoot(page, "cashier-shift-blind")
    counted.fill("195000")
    page.get_by_role("button", name="Tutup shift").click()
    expect(page.get_by_test_id("expected-cash")).to_have_text(rupiah(200000), timeout=WAIT_MS)
    expect(page.get_by_test_id("counted-cash")).to_have_text(rupiah(195000))
    expect(page.get_by_test_id("cash-difference")).to_have_text("-" + rupiah(5000))


def test_an_amount_typed_while_the_shift_report_refreshes_is_kept(
        shared_edge: EdgeServer, context: Any) -> None:
    """The Shift tab shows the last figures at once and redraws when the fresh report comes:
    what the cashier typed meanwhile (and the caret's field) survives that redraw."""
    edge = shared_edge
    ensure_shift(edge)
    page = open_till(context, edge)
    page.get_by_role("button", name="Shift").click()
    expect(page.get_by_test_id("shift-counted")).to_be_visible(timeout=WAIT_MS)
    page.locator("nav button[data-view=orders]").click()
    # Cash comes in meanwhile, so the fresh report differs from the one the tab shows first.
    shift = edge.call("GET", "/api/v1/shifts/current", cashier_token(edge))
    edge.call("POST", f"/api/v1/shifts/{shift['id']}/cash-movements", cashier_token(edge),
              json={"direction": "in", "amount": 12_345, "reason": "change from the bank"})
    fresh = edge.call("GET", f"/api/v1/shifts/{shift['id']}/report", cashier_token(edge))
    held: list[Any] = []
    page.route("**/api/v1/shifts/*/report", lambda route: held.append(route))  # it waits
    page.get_by_role("button", name="Shift").click()
    counted = page.get_by_test_id("shift-counted")
    counted.press_sequentially("195000")
    expect(counted).to_have_value("195.000")
    while not held:
        page.wait_for_timeout(20)
    report = page.get_by_test_id("shift-report")
    expect(report).not_to_contain_text(rupiah(fresh["cash_in"]))
    held[0].continue_()
    expect(report).to_contain_text(rupiah(fresh["cash_in"]), timeout=WAIT_MS)  # redrawn
    expect(counted).to_have_value("195.000")
    expect(counted).to_be_focused()
    page.unroute("**/api/v1/shifts/*/report")


def test_open_orders_list_holds_a_lunch_rush_with_search_and_filters(
        edge_server: EdgeServer, context: Any, shoot: Any) -> None:
    edge = edge_server
    cashier = cashier_token(edge)
    names = ["Budi", "Siti Rahayu", "Andi", "Dewi", "Made"]
    placed = []
    for i in range(100):
        extra: dict[str, Any] = {"customer_name": names[i % 5]} if i % 3 == 0 else {}
        if i % 7 == 0:
            extra = {"type": "dine_in", "table": f"Teras {i}"}
        placed.append(simple_order(edge, **extra))
    for o in placed[::2]:  # half of them paid
        edge.call("POST", f"/api/v1/orders/{o['id']}/payments", cashier, json={"method": "cash", "amount": o["total"]})
    for o in placed[:10]:
        bump_order(edge, o["id"])
    # Signed in at the PIN pad: a till opened signed in reads its list twice at start (the
    # view and the stream's first connection), and the sizes below are read between reads.
    page = open_app(context, edge, "/cashier/", edge.tokens["cashier"])
    cashier_login(page, edge.pins["cashier"])
    cards = page.get_by_test_id("open-order")
    expect(cards).to_have_count(100, timeout=WAIT_MS)
    # Every card keeps its size and shows its paid/unpaid badge whole, inside the card.
    clipped = cards.evaluate_all("""cards => cards.filter(c => {
        const b = c.querySelector('[data-testid=card-paid]'), cr = c.getBoundingClientRect(), br = b.getBoundingClientRect();
        return cr.height < 56 || br.width < 20 || b.scrollWidth > b.clientWidth + 1
          || br.left < cr.left || br.right > cr.right + 0.5 || br.top < cr.top || br.bottom > cr.bottom + 0.5;
      }).map(c => c.querySelector('.num').textContent)""")
    assert clipped == []
    assert cards.first.bounding_box()["height"] >= 56
    shoot(page, "cashier-rush")

    search = page.get_by_test_id("order-search")
    target = placed[41]
    search.fill(f"#{target['number']}")
    expect(cards).to_have_count(1)
    expect(cards.first.locator(".num")).to_have_text(f"#{target['number']}")
    search.fill("siti")
    expect(cards).to_have_count(sum(1 for i in range(100) if i % 3 == 0 and i % 7 and names[i % 5] == "Siti Rahayu"))
    search.fill("Teras 14")
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_test_id("card-table")).to_have_text("Meja Teras 14")
    search.fill("tidak ada")
    expect(page.get_by_test_id("no-match")).to_be_visible()
    search.fill("")
    page.get_by_test_id("filter-unpaid").click()
    expect(cards).to_have_count(50)
    expect(cards.get_by_test_id("card-paid").filter(has_text="Lunas")).to_have_count(0)
    page.get_by_test_id("filter-ready").click()
    expect(cards).to_have_count(10)
    page.get_by_test_id("filter-all").click()
    expect(cards).to_have_count(100)


def test_cash_entry_groups_thousands_offers_notes_blocks_short_cash_and_shows_rounding(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    ensure_shift(edge)
    menu = demo_menu(edge, edge.tokens["cashier"])
    product, groups = product_with_required_group(menu)
    order = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    assert order["total"] % 100 == 0  # the demo outlet rounds cash totals to Rp 100
    page = open_till(context, edge)
    order_card(page, order["number"]).click()
    expect(page.get_by_test_id("order-rounding")).to_have_text(
        ("-" if order["rounding"] < 0 else "") + rupiah(abs(order["rounding"])))
    expect(page.get_by_text("Pembulatan (ke Rp 100)")).to_be_visible()
    total = order["total"]
    expect(page.get_by_test_id("pay-amount")).to_have_value(rupiah(total)[3:])

    tendered = page.get_by_test_id("pay-tendered")
    tendered.click()
    tendered.press_sequentially("5000")
    expect(tendered).to_have_value("5.000")  # grouped while typing
    warning = page.get_by_test_id("pay-warning")
    expect(warning).to_have_text(f"Uang kurang {rupiah(total - 5000)} – pembayaran belum bisa diterima.")
    expect(page.get_by_test_id("pay-submit")).to_be_disabled()
    expect(page.get_by_test_id("pay-change")).to_have_count(0)  # never "Rp 0" change for short cash
    shoot(page, "cashier-short-cash")

    page.get_by_role("button", name="Hapus", exact=True).click()
    for note in (20000, 50000, 100000):
        expect(page.get_by_test_id(f"tender-{note}")).to_have_text(f"+ {rupiah(note)}")
    assert total < 150000
    page.get_by_test_id("tender-100000").click()
    page.get_by_test_id("tender-50000").click()  # the notes add up
    expect(tendered).to_have_value("150.000")
    expect(page.get_by_test_id("pay-change")).to_have_text(rupiah(150000 - total))
    page.get_by_test_id("tender-exact").click()
    expect(tendered).to_have_value(rupiah(total)[3:])
    expect(page.get_by_test_id("pay-change")).to_have_text(rupiah(0))
    page.get_by_test_id("tender-100000").click()
    shoot(page, "cashier-cash-notes")
    page.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("pay-result")).to_contain_text(rupiah(100000), timeout=WAIT_MS)
    paid = edge.call("GET", f"/api/v1/orders/{order['id']}", edge.tokens["cashier"])
    assert [(p["amount"], p["tendered"], p["change"]) for p in paid["payments"]] == [(total, total + 100000, 100000)]


def test_actions_follow_the_state_wrong_pin_and_an_unambiguous_void(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    ensure_shift(edge)
    order = simple_order(edge)
    page = open_app(context, edge, "/cashier/", edge.tokens["cashier"])
    login = page.get_by_test_id("login")
    for digit in "999999":
        login.locator(f"button[data-digit='{digit}']").click()
    login.get_by_role("button", name="Masuk").click()
    expect(login.get_by_role("alert")).to_have_text("PIN salah. Coba lagi.")
    expect(page.get_by_text(re.compile("sesi", re.IGNORECASE))).to_have_count(0)
    cashier_login(page, edge.pins["cashier"])

    order_card(page, order["number"]).click()
    expect(page.get_by_test_id("order-title")).to_contain_text("Di dapur")
    expect(page.get_by_role("button", name="Serahkan")).to_have_count(0)  # unpaid, in the kitchen
    page.get_by_test_id("pay-submit").click()  # cash, exact
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
    expect(page.get_by_test_id("handover-hint")).to_have_text("Serahkan setelah dapur menandai siap.")
    expect(page.get_by_role("button", name="Serahkan")).to_have_count(0)  # paid, still cooking
    bump_order(edge, order["id"])
    expect(page.get_by_role("button", name="Serahkan")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Serahkan").click()
    expect(page.get_by_test_id("order-title")).to_contain_text("Selesai", timeout=WAIT_MS)

    other = simple_order(edge)
    order_card(page, other["number"]).click()
    page.get_by_test_id("void").click()
    dialog = page.get_by_test_id("void-dialog")
    expect(dialog.get_by_test_id("void-back")).to_have_text("Kembali – pesanan tetap")
    expect(dialog.get_by_test_id("void-submit")).to_have_text("Batalkan pesanan")
    expect(dialog.get_by_role("button", name="Batal", exact=True)).to_have_count(0)
    dialog.get_by_label("Alasan").fill("salah input")
    dialog.get_by_label("PIN manajer").fill("999999")  # nobody's PIN
    dialog.get_by_test_id("void-submit").click()
    expect(dialog.get_by_role("alert")).to_have_text("PIN salah. Coba lagi.")
    expect(page.get_by_test_id("staff")).to_be_visible()  # still logged in
    shoot(page, "cashier-void-dialog")
    dialog.get_by_test_id("void-back").click()
    expect(dialog).to_be_hidden()
    assert edge.call("GET", f"/api/v1/orders/{other['id']}", edge.tokens["cashier"])["status"] != "voided"


def test_outage_says_exactly_what_happened_to_a_payment(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge  # stopped and started again here: it ends serving
    ensure_shift(edge)
    lost, down = simple_order(edge), simple_order(edge)
    page = open_till(context, edge)
    # The head office link is not the outlet server: this box has no hub, the till works.
    expect(page.get_by_test_id("hub-status")).to_contain_text("Kantor pusat belum ditautkan", timeout=20000)
    expect(page.locator("edge-status")).to_have_text("Server outlet terhubung")

    # 1. The payment reaches the edge but no answer comes back, however often it is re-sent.
    sent: list[str] = []

    def answer_lost(route: Any) -> None:
        sent.append(route.request.headers.get("idempotency-key", ""))
        if len(sent) == 1:
            route.fetch()  # recorded on the edge
        route.abort("connectionreset")

    page.route("**/api/v1/orders/*/payments", answer_lost)
    order_card(page, lost["number"]).click()
    page.get_by_test_id("pay-submit").click()
    outcome = page.get_by_test_id("pay-outcome")
    # The edge answers health checks again at once: the till reads the order and says so.
    expect(outcome).to_have_text(f"Server tersambung lagi: pembayaran {rupiah(lost['total'])} SUDAH tercatat.",
                                 timeout=20000)
    assert len(set(sent)) == 1 and len(sent) == 3
    page.unroute("**/api/v1/orders/*/payments")

    # 2. The edge is down when the cashier presses Pay: not confirmed, then NOT recorded.
    order_card(page, down["number"]).click()
    expect(page.get_by_test_id("pay-form")).to_be_visible()
    edge.stop()
    page.get_by_test_id("pay-submit").click()
    expect(outcome).to_have_attribute("data-kind", "unknown", timeout=20000)
    expect(outcome).to_contain_text(f"Pembayaran {rupiah(down['total'])} BELUM terkonfirmasi")
    expect(page.get_by_test_id("edge-down")).to_contain_text("Server outlet tidak terjangkau", timeout=WAIT_MS)
    expect(page.get_by_text("Pesanan aman")).to_have_count(0)
    shoot(page, "cashier-outage")
    edge.start()
    expect(outcome).to_have_text(
        f"Server tersambung lagi: pembayaran {rupiah(down['total'])} TIDAK tercatat. "
        "Terima ulang (aman: tidak akan tercatat dua kali).", timeout=30000)
    assert edge.call("GET", f"/api/v1/orders/{down['id']}", edge.tokens["cashier"])["paid"] == 0
    page.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("order-due")).to_have_text(rupiah(0), timeout=WAIT_MS)
    again = edge.call("GET", f"/api/v1/orders/{down['id']}", edge.tokens["cashier"])
    assert len(again["payments"]) == 1


def test_names_and_errors_in_the_screens_language(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    ensure_shift(edge)
    menu = demo_menu(edge, edge.tokens["cashier"])
    product, groups = product_with_required_group(menu)
    order = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    options = [o for g in groups for o in g["options"][: g["min_choices"]]]
    assert name_of(product, "id") != product["name"]  # the demo menu has both languages
    page = context.new_page()
    # No live stream: the till keeps showing the order as it was when it was opened.
    page.route_web_socket(re.compile(r".*/api/v1/stream.*"), lambda ws: ws.close())
    page.goto(f"{edge.base_url}/cashier/?token={edge.tokens['cashier']}")
    cashier_login(page, edge.pins["cashier"])
    card = order_card(page, order["number"])
    expect(card.get_by_test_id("card-items")).to_contain_text(name_of(product, "id"))
    card.click()
    expect(page.get_by_test_id("line-name").first).to_have_text(name_of(product, "id"))
    mods = page.get_by_test_id("line-mods").first
    for option in options:
        expect(mods).to_contain_text(name_of(option, "id"))

    # The order is voided elsewhere while the till still shows it: the refusal is said in
    # Indonesian, not with the edge's English message.
    manager = edge.login("manager")
    edge.call("POST", f"/api/v1/orders/{order['id']}/void", manager, json={"reason": "tes"})
    page.get_by_test_id("pay-submit").click()
    outcome = page.get_by_test_id("pay-outcome")
    expect(outcome).to_have_text(
        f"Pembayaran {rupiah(order['total'])} TIDAK tercatat: Pesanan ini tidak bisa dibayar lagi.", timeout=WAIT_MS)
    expect(page.get_by_text("order takes no payments")).to_have_count(0)
    shoot(page, "cashier-refused-id")

    page.get_by_role("button", name="English").click()
    other = place_api_order(edge, edge.tokens["kiosk"], menu, product, groups)
    page.locator("[data-action=refresh]").click()
    order_card(page, other["number"]).click()
    expect(page.get_by_test_id("line-name").first).to_have_text(product["name"], timeout=WAIT_MS)
    for option in options:
        expect(page.get_by_test_id("line-mods").first).to_contain_text(option["name"])


def test_table_name_and_split_part_on_cards_and_a_tables_link(
        shared_edge: EdgeServer, context: Any, shoot: Any) -> None:
    edge = shared_edge
    staff = cashier_token(edge)
    table = next(t for t in edge.call("GET", "/api/v1/tables", staff)["items"] if t["status"] == "free")
    bill = edge.call("POST", "/api/v1/orders", staff, json={
        "type": "dine_in", "table_id": table["id"], "lines": [{"product_id": "p-air-mineral", "qty": 3}]})
    assert bill["table"]  # the floor plan's name of the table
    res = edge.request("POST", f"/api/v1/orders/{bill['id']}/split", staff, json={"even": 3},
                       headers={"Idempotency-Key": "split-teras-7"})
    assert res.status_code == 201, res.text
    parts = sorted(res.json()["orders"], key=lambda o: o["split_part"])
    page = open_till(context, edge)
    for part in parts:
        card = order_card(page, part["number"])
        expect(card.get_by_test_id("card-split")).to_have_text(f"Bagian {part['split_part']}", timeout=WAIT_MS)
        expect(card.get_by_test_id("card-table")).to_have_text(f"Meja {bill['table']}")
    shoot(page, "cashier-split-cards")
    link = page.get_by_test_id("tables-link")
    expect(link).to_have_text("Meja")
    expect(link).to_have_attribute("href", "/waiter/")
    link.click()
    expect(page).to_have_url(re.compile(r"/waiter/"), timeout=WAIT_MS)
