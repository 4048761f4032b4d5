"""The floor plan page of the head-office dashboard in real Chromium against a real hub on
PostgreSQL (issue 12): areas and tables drawn with the mouse and the keyboard, settings,
saving (checked through the API), a stale save refused and reloaded, a table's new QR code,
the sticker sheet (one QR per table in use, A4 print layout), Indonesian, and a read-only
outlet manager. Screenshots: artifacts/screenshots/hub-floor-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.hub import conftest as hubfx
from tests.ui.browser_support import SCREENSHOTS

# The hub area's fixtures (a real pos-hub on PostgreSQL), registered for this module.
pg_admin_url, pg_url, pg_roles = hubfx.pg_admin_url, hubfx.pg_url, hubfx.pg_roles
hub_server_factory, hub_server = hubfx.hub_server_factory, hubfx.hub_server
tenant_factory = hubfx.tenant_factory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
    assert errors == [], errors


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"hub-floor-{name}.png"), full_page=True)


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/dashboard/")
    page.wait_for_selector("form >> text=Sign in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("main[data-page=fleet]")


def floor(t: Any, outlet_id: str) -> dict[str, Any]:
    response = t.client.get(f"/api/v1/outlets/{outlet_id}/floor")
    assert response.status_code == 200, response.text
    return response.json()


def test_drawing_saving_and_printing_a_floor_plan(tab: Any, tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Sudirman")
    sign_in(tab, t.server.base_url, t.email, t.password)
    tab.get_by_role("link", name="Floor plan").click()
    tab.wait_for_selector("main[data-page=floor] [data-testid=floor-version]")
    assert tab.get_by_test_id("floor-version").inner_text() == "Not saved yet"

    # An area and two tables, all with the keyboard.
    tab.get_by_label("New area name").fill("Indoor")
    tab.get_by_label("New area name").press("Enter")
    add = tab.get_by_role("button", name="Add table")
    add.focus()
    tab.keyboard.press("Enter")
    first = tab.locator(".floor-canvas button[data-table]").first
    assert first.evaluate("el => el === document.activeElement")
    for _ in range(3):
        tab.keyboard.press("ArrowRight")
    tab.keyboard.press("Shift+ArrowDown")
    tab.get_by_label("Seats", exact=True).fill("6")
    tab.get_by_label("Seats", exact=True).press("Tab")
    tab.get_by_role("button", name="Add table").click()
    # the second table dragged with the mouse: 100 grid units right, 200 down
    second = tab.locator(".floor-canvas button[data-table]").nth(1)
    box = second.bounding_box()
    width = tab.locator(".floor-canvas").bounding_box()["width"]
    tab.mouse.move(box["x"] + 10, box["y"] + 10)
    tab.mouse.down()
    tab.mouse.move(box["x"] + 10 + width / 20, box["y"] + 10 + width / 10, steps=8)
    tab.mouse.move(box["x"] + 10 + width / 10, box["y"] + 10 + width / 5, steps=8)
    tab.mouse.up()
    # A second area with a round table, and the table-service settings.
    tab.get_by_label("New area name").fill("Teras")
    tab.get_by_role("button", name="Add area").click()
    tab.get_by_role("button", name="Add table").click()
    tab.get_by_label("Table name", exact=True).fill("T1")
    tab.get_by_label("Shape", exact=True).select_option("round")
    tab.get_by_label("Guest orders from the table's QR code").select_option("kitchen")
    tab.get_by_label("Voids above this need a manager (0 = always)").fill("50.000")
    tab.get_by_label("Service charge on dine-in only").uncheck()
    assert tab.get_by_text("Unsaved changes").is_visible()
    shot(tab, "editor")
    tab.get_by_role("button", name="Save floor plan").click()
    tab.wait_for_selector("text=Saved as version 1")

    plan = floor(t, outlet["id"])
    assert plan["version"] == 1 and [a["name"] for a in plan["areas"]] == ["Indoor", "Teras"]
    by_name = {x["name"]: x for x in plan["tables"]}
    assert set(by_name) == {"1", "2", "T1"}
    assert (by_name["1"]["x"], by_name["1"]["y"], by_name["1"]["seats"]) == (50, 70, 6)
    assert (by_name["2"]["x"], by_name["2"]["y"]) == (320, 220)  # from (220, 20)
    assert by_name["T1"]["shape"] == "round"
    assert by_name["T1"]["area_id"] == plan["areas"][1]["id"]
    assert (plan["guest_orders"], plan["void_approval_threshold"],
            plan["service_charge_dine_in_only"]) == ("kitchen", 50_000, False)

    # Someone else saves meanwhile: this editor's save is refused, reload shows theirs.
    theirs = {"version": 1, "areas": [{"id": a["id"], "name": a["name"]} for a in plan["areas"]],
              "tables": [{k: v for k, v in x.items() if k != "guest_token"} | (
                  {"name": "Bar 1"} if x["name"] == "T1" else {}) for x in plan["tables"]]}
    assert t.client.put(f"/api/v1/outlets/{outlet['id']}/floor", json=theirs).status_code == 200
    tab.get_by_label("Table name", exact=True).fill("T9")
    tab.get_by_role("button", name="Save floor plan").click()
    tab.wait_for_selector("text=Someone else saved this floor plan (version 2)")
    assert floor(t, outlet["id"])["version"] == 2
    tab.get_by_role("button", name="Reload").click()
    tab.wait_for_selector("[data-testid=floor-version] >> text=Version 2")
    tab.locator("[data-area]", has_text="Teras").click()
    assert tab.locator(".floor-canvas button[data-table]").inner_text().startswith("Bar 1")

    # A new QR code for one table: only its token changes.
    before = {x["id"]: x["guest_token"] for x in floor(t, outlet["id"])["tables"]}
    bar = tab.locator(".floor-canvas button[data-table]").first
    bar_id = bar.get_attribute("data-table")
    bar.click()
    tab.get_by_role("button", name="New QR code").click()
    tab.wait_for_selector("text=Table Bar 1 has a new QR code")
    after = {x["id"]: x["guest_token"] for x in floor(t, outlet["id"])["tables"]}
    assert after[bar_id] != before[bar_id]
    assert {k: v for k, v in after.items() if k != bar_id} == {
        k: v for k, v in before.items() if k != bar_id}

    # The sticker sheet: one QR per table in use, each rendered, printed without the editor.
    tab.get_by_role("button", name="Show QR stickers").click()
    tab.wait_for_selector(".sticker-sheet figure.sticker")
    stickers = tab.locator("figure.sticker")
    assert stickers.count() == 3
    assert tab.locator("figure.sticker", has_text="Bar 1").inner_text().startswith("Sudirman")
    tab.wait_for_function("[...document.querySelectorAll('.sticker img')].every(i => i.complete)")
    sizes = tab.eval_on_selector_all(".sticker img", "els => els.map(e => [e.complete, e.naturalWidth, e.getAttribute('src').slice(0, 19)])")
    assert all(done and natural > 0 and src == "data:image/svg+xml;" for done, natural, src in sizes), sizes
    sheet = t.client.get(f"/api/v1/outlets/{outlet['id']}/floor/stickers").json()
    assert {s["url"] for s in sheet["items"]} == {
        f"http://fnbpos-{outlet['id'][-8:].lower()}.local:8080/guest/#t={tok}" for tok in after.values()}
    tab.emulate_media(media="print")
    assert not tab.locator(".floor-editor").is_visible() and not tab.locator("header.top").is_visible()
    assert stickers.first.is_visible()
    columns = tab.eval_on_selector(".sticker-grid", "el => getComputedStyle(el).gridTemplateColumns.split(' ').length")
    assert columns == 3
    shot(tab, "stickers-print")
    tab.emulate_media(media="screen")

    # Indonesian.
    tab.locator("#lang").select_option("id")
    tab.wait_for_selector("main[data-page=floor] >> text=Simpan denah")
    assert tab.get_by_role("navigation").get_by_role("link", name="Denah meja").is_visible()
    assert tab.get_by_text("Layanan meja").is_visible()
    shot(tab, "editor-id")


def test_an_outlet_manager_sees_the_plan_read_only(tab: Any, tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Kemang")
    area = "a-" + outlet["id"][-12:]
    body = {"version": 0, "areas": [{"id": area, "name": "Lantai 2"}],
            "tables": [{"id": f"t{i}-{outlet['id'][-12:]}", "area_id": area, "name": f"L{i}",
                        "x": i * 150, "y": 100} for i in range(1, 4)]}
    assert t.client.put(f"/api/v1/outlets/{outlet['id']}/floor", json=body).status_code == 200
    user, _ = t.create_user("outlet_manager", [outlet["id"]])
    sign_in(tab, t.server.base_url, user["email"], "password-123")
    tab.goto(t.server.base_url + "/dashboard/#/floor")
    tab.wait_for_selector("[data-testid=floor-version] >> text=Version 1")
    assert tab.get_by_text("You may view this floor plan but not change it.").is_visible()
    assert tab.get_by_role("button", name="Save floor plan").is_disabled()
    assert tab.get_by_role("button", name="Add table").count() == 0
    table = tab.locator(".floor-canvas button[data-table]").first
    table.focus()
    tab.keyboard.press("ArrowRight")
    assert floor(t, outlet["id"])["tables"][0]["x"] == 150
    assert table.get_attribute("aria-label").endswith("at 150, 100")
    tab.get_by_role("button", name="Show QR stickers").click()
    tab.wait_for_selector("figure.sticker")
    assert tab.locator("figure.sticker").count() == 3
