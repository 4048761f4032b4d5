"""The head-office menu editor (issue 13) in real Chromium against a real hub on PostgreSQL.

A head-office user renames and translates a product and types its price as "21.500" (both
names shown in the matching language), reorders a category's products and finds that order in
the published catalog the outlet receives — and in the edge's copy of it and the kiosk's
category view —, deletes a product after a confirmation (cancel first: nothing happens) and
restores it, and edits a modifier group: renamed, translated, options reordered, added with a
price change, removed after a confirmation, min/max rules (a broken rule refused, nothing
saved). Every check reads the hub's API. Screenshots: artifacts/screenshots/hub-menu-editor*.png
(docs/img/hub-menu-editor.png is a copy of the group editor's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from edge import catalog as edge_catalog
from edge import sync_state
from edge.db import Database as EdgeDatabase
from shared import schemas as wire
from tests.hub import conftest as hubfx
from tests.hub.conftest import TenantCtx
from tests.ui.browser_support import SCREENSHOTS
from tests.ui.test_money_js import static_ui  # noqa: F401 - fixture: kiosk-ui as plain files

# The hub area's fixtures (a real pos-hub on PostgreSQL), registered for this module.
pg_admin_url, pg_url, pg_roles = hubfx.pg_admin_url, hubfx.pg_url, hubfx.pg_roles
hub_server_factory, hub_server = hubfx.hub_server_factory, hubfx.hub_server
tenant_factory = hubfx.tenant_factory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture
def shop(tenant_factory: Any) -> dict[str, Any]:
    """A tenant with one outlet, two categories, a sugar group and four products."""
    t: TenantCtx = tenant_factory()
    outlet = t.create_outlet("Sudirman")
    c = t.client
    drinks = _ok(c.post("/api/v1/catalog/categories", json={
        "brand_id": t.brand_id, "name": "Drinks", "station": "bar", "sort": 0,
        "names": {"id": "Minuman"}}), 201)
    food = _ok(c.post("/api/v1/catalog/categories", json={
        "brand_id": t.brand_id, "name": "Food", "sort": 1}), 201)
    sugar = _ok(c.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": t.brand_id, "name": "Sugar", "min_choices": 1, "max_choices": 1,
        "options": [{"name": "Normal", "sort": 0}, {"name": "Less sugar", "sort": 1}]}), 201)
    products = {}
    for sort, (category, name, price, groups) in enumerate([
            (drinks, "Kopi Susu", 25_000, [sugar["id"]]), (drinks, "Es Teh", 12_000, [sugar["id"]]),
            (drinks, "Teh Tarik", 15_000, []), (food, "Nasi Goreng", 38_000, [])]):
        products[name] = _ok(c.post("/api/v1/catalog/products", json={
            "brand_id": t.brand_id, "category_id": category["id"], "name": name, "price": price,
            "modifier_group_ids": groups, "sort": sort}), 201)
    return {"t": t, "outlet": outlet, "drinks": drinks, "food": food, "sugar": sugar,
            "products": products}


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The editor asks in a <dialog> of its own; a native confirm() would be a regression.
    page.on("dialog", lambda dialog: errors.append(f"native dialog: {dialog.message}"))
    yield page
    context.close()
    assert errors == [], errors


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"hub-menu-editor{'-' + name if name else ''}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_menu(page: Any, shop: dict[str, Any], category: str = "Drinks") -> None:
    t = shop["t"]
    page.goto(t.server.base_url + "/dashboard/")
    page.wait_for_selector("form >> text=Sign in")
    page.get_by_label("Email").fill(t.email)
    page.get_by_label("Password").fill(t.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("main[data-page=fleet]")
    page.get_by_role("navigation").get_by_role("link", name="Menu", exact=True).click()
    page.get_by_role("button", name=re.compile(f"^{category}")).click()
    page.locator("tr[data-product]").first.wait_for()


def choose_language(page: Any, lang: str) -> None:
    page.locator("#lang").select_option(lang)
    page.wait_for_function("l => document.documentElement.lang === l", arg=lang)


def row_names(page: Any) -> list[str]:
    return page.locator("table.menu-products tbody th .product-name").all_inner_texts()


def product(shop: dict[str, Any], name: str) -> dict[str, Any]:
    return _ok(shop["t"].client.get(f"/api/v1/catalog/products/{shop['products'][name]['id']}"))


def published(shop: dict[str, Any]) -> dict[str, Any]:
    return _ok(shop["t"].client.get(f"/api/v1/outlets/{shop['outlet']['id']}/catalog"))




def test_rename_translate_and_indonesian_price(tab: Any, shop: dict[str, Any]) -> None:
    open_menu(tab, shop)
    kopi = shop["products"]["Kopi Susu"]
    row = tab.locator(f"tr[data-product='{kopi['id']}']")
    row.get_by_label("English name of Kopi Susu").fill("Iced Milk Coffee")
    row.get_by_label("Indonesian name of Kopi Susu").fill("Es Kopi Susu")
    row.get_by_label("Price of Kopi Susu").fill("21.500")
    row.get_by_role("button", name="Save Kopi Susu").click()
    tab.get_by_text("Saved Iced Milk Coffee").wait_for()
    saved = product(shop, "Kopi Susu")
    assert saved["name"] == "Iced Milk Coffee" and saved["price"] == 21_500
    assert saved["names"] == {"en": "Iced Milk Coffee", "id": "Es Kopi Susu"}
    row = tab.locator(f"tr[data-product='{kopi['id']}']")
    assert row.locator(".product-name").inner_text() == "Iced Milk Coffee"
    assert row.get_by_label("Price of Iced Milk Coffee").input_value() == "21.500"

    # An empty name is refused in the page, nothing sent.
    row.get_by_label("English name of Iced Milk Coffee").fill("  ")
    row.get_by_role("button", name="Save Iced Milk Coffee").click()
    tab.locator("main p.notice.error").wait_for()
    assert "needs a name" in tab.locator("main p.notice.error").inner_text()
    assert product(shop, "Kopi Susu")["name"] == "Iced Milk Coffee"

    # In Indonesian the same row shows the Indonesian name, the category its own.
    choose_language(tab, "id")
    tab.get_by_role("button", name=re.compile("^Minuman")).wait_for()
    row = tab.locator(f"tr[data-product='{kopi['id']}']")
    assert row.locator(".product-name").inner_text() == "Es Kopi Susu"
    assert tab.get_by_role("heading", name="Minuman: produk").is_visible()
    # Delete asks first, in Indonesian; "Batal" (cancel) leaves the product alone.
    teh = shop["products"]["Es Teh"]
    tab.locator(f"tr[data-product='{teh['id']}']").get_by_role("button", name="Hapus Es Teh").click()
    dialog = tab.get_by_role("dialog")
    assert "Hapus “Es Teh” dari menu?" in dialog.inner_text()
    assert dialog.get_by_role("button", name="Batal").evaluate("b => b === document.activeElement")
    dialog.get_by_role("button", name="Batal").click()
    dialog.wait_for(state="detached")
    assert product(shop, "Es Teh")["archived"] is False
    shot(tab, "id")

    tab.get_by_role("button", name="Terbitkan menu").click()
    tab.get_by_text(re.compile(r"Versi \d+ diterbitkan ke 1 outlet")).wait_for()
    menu = published(shop)
    coffee = next(p for p in menu["products"] if p["id"] == kopi["id"])
    assert (coffee["name"], coffee["names"]["id"], coffee["price"]) == ("Iced Milk Coffee", "Es Kopi Susu", 21_500)
    choose_language(tab, "en")
    row = tab.locator(f"tr[data-product='{kopi['id']}']")
    assert row.locator(".product-name").inner_text() == "Iced Milk Coffee"


def test_reorder_delete_and_restore_reach_the_outlet_in_order(
        tab: Any, shop: dict[str, Any], static_ui: str, tmp_path: Path) -> None:  # noqa: F811
    open_menu(tab, shop)
    assert row_names(tab) == ["Kopi Susu", "Es Teh", "Teh Tarik"]
    tab.get_by_role("button", name="Move Teh Tarik up").click()
    tab.get_by_text("Order saved").wait_for()
    assert row_names(tab) == ["Kopi Susu", "Teh Tarik", "Es Teh"]
    # The keyboard stays on the moved product: Enter again moves it to the top.
    up = tab.get_by_role("button", name="Move Teh Tarik up")
    assert up.evaluate("b => b === document.activeElement")
    tab.keyboard.press("Enter")
    tab.wait_for_function("() => document.querySelector('table.menu-products tbody th .product-name')"
                          ".textContent === 'Teh Tarik'")
    assert row_names(tab) == ["Teh Tarik", "Kopi Susu", "Es Teh"]
    assert tab.get_by_role("button", name="Move Teh Tarik up").is_disabled()
    assert tab.get_by_role("button", name="Move Es Teh down").is_disabled()
    ids = {name: p["id"] for name, p in shop["products"].items()}
    order = [ids["Teh Tarik"], ids["Kopi Susu"], ids["Es Teh"]]
    listed = _ok(shop["t"].client.get(f"/api/v1/catalog/products?category_id={shop['drinks']['id']}"))
    assert [p["id"] for p in listed["items"]] == order

    # Delete Es Teh: a confirmation first, then it leaves the list and can come back.
    teh = tab.locator(f"tr[data-product='{ids['Es Teh']}']")
    teh.get_by_role("button", name="Delete Es Teh").click()
    dialog = tab.get_by_role("dialog")
    assert "Past orders and reports keep it" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete").click()
    tab.get_by_text("“Es Teh” deleted.").wait_for()
    assert row_names(tab) == ["Teh Tarik", "Kopi Susu"]
    assert product(shop, "Es Teh")["archived"] is True
    tab.get_by_text("Deleted products (1)").click()
    tab.get_by_role("button", name="Restore Es Teh").click()
    tab.get_by_text("“Es Teh” restored").wait_for()
    assert row_names(tab) == ["Teh Tarik", "Kopi Susu", "Es Teh"]
    teh = tab.locator(f"tr[data-product='{ids['Es Teh']}']")
    teh.get_by_role("button", name="Delete Es Teh").click()
    tab.get_by_role("dialog").get_by_role("button", name="Delete").click()
    tab.get_by_text("“Es Teh” deleted.").wait_for()
    shot(tab, "order")

    tab.get_by_role("button", name="Publish menu").click()
    tab.get_by_text(re.compile(r"Published version \d+ to 1 outlet")).wait_for()
    menu = published(shop)
    drinks = [p for p in menu["products"] if p["category_id"] == shop["drinks"]["id"]]
    assert [p["id"] for p in sorted(drinks, key=lambda p: p["sort"])] == order[:2]
    assert ids["Es Teh"] not in {p["id"] for p in menu["products"]}

    # The edge installs that catalog and reads it back in the same order...
    edge = EdgeDatabase(tmp_path / "edge.db")
    try:
        catalog = msgspec.convert(menu, wire.Catalog)

        def install(conn: Any) -> None:
            sync_state.ensure_journal(conn)
            edge_catalog.replace_catalog(conn, catalog, datetime.now(UTC))

        edge.write_blocking(install)
        stored = edge.read_now(edge_catalog.read_catalog)
    finally:
        edge.close()
    stored_drinks = sorted((p for p in stored.products if p.category_id == shop["drinks"]["id"]),
                           key=lambda p: p.sort)
    assert [p.id for p in stored_drinks] == order[:2]
    # ...and the kiosk (and till and waiter: kiosk-ui/common/menu.js) lists it so.
    page = tab.context.new_page()
    page.goto(static_ui + "/kiosk/index.html")
    shown = page.evaluate("""async ([catalog, category]) => {
        const { Menu } = await import('/common/menu.js');
        return new Menu(catalog).productsIn(category).map((p) => p.id);
    }""", [msgspec.to_builtins(stored), shop["drinks"]["id"]])
    page.close()
    assert shown == order[:2]


def test_edit_a_modifier_group_options_and_rules(tab: Any, shop: dict[str, Any]) -> None:
    sugar = shop["sugar"]
    normal, less = sugar["options"]
    open_menu(tab, shop)
    tab.locator(f"tr[data-group='{sugar['id']}']").wait_for()
    assert "Exactly 1" in tab.locator(f"tr[data-group='{sugar['id']}']").inner_text()
    tab.get_by_role("button", name="Edit Sugar").click()
    editor = tab.locator("form.group-editor")
    assert editor.get_by_label("Group name").evaluate("i => i === document.activeElement")
    editor.get_by_label("Group name").fill("Sweetness")
    editor.get_by_label("Name (Indonesian)").fill("Tingkat manis")
    editor.get_by_role("button", name="Move option 2 up").click()
    assert editor.get_by_label("Option 1: name").input_value() == "Less sugar"
    assert editor.get_by_role("button", name="Move option 1 up").is_disabled()
    editor.get_by_label("Option 1: Indonesian name").fill("Kurang manis")
    editor.get_by_role("button", name="Add option").click()
    assert editor.get_by_label("Option 3: name").evaluate("i => i === document.activeElement")
    editor.get_by_label("Option 3: name").fill("Extra sweet")
    editor.get_by_label("Option 3: Indonesian name").fill("Ekstra manis")
    editor.get_by_label("Option 3: price change").fill("2.500")
    editor.get_by_label("Option 3: available").uncheck()
    editor.get_by_label("Min choices").fill("0")
    editor.get_by_label("Max choices").fill("2")
    shot(tab, "")

    # A rule that cannot be met is refused before anything is sent.
    editor.get_by_label("Min choices").fill("3")
    editor.get_by_role("button", name="Save group").click()
    tab.locator("main p.notice.error").wait_for()
    assert "more than max choices" in tab.locator("main p.notice.error").inner_text()
    assert _ok(shop["t"].client.get(f"/api/v1/catalog/modifier-groups/{sugar['id']}"))["name"] == "Sugar"
    editor.get_by_label("Min choices").fill("0")

    # Removing "Normal" (now option 2) asks first; cancel keeps the editor as it was.
    editor.get_by_role("button", name="Remove option 2").click()
    assert editor.get_by_label("Option 2: name").input_value() == "Extra sweet"
    editor.get_by_role("button", name="Save group").click()
    dialog = tab.get_by_role("dialog")
    assert "Remove Normal from “Sugar”?" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    assert editor.get_by_label("Option 2: price change").input_value() == "2.500"
    editor.get_by_role("button", name="Save group").click()
    tab.get_by_role("dialog").get_by_role("button", name="Remove").click()
    tab.get_by_text("Saved Sweetness").wait_for()

    group = _ok(shop["t"].client.get(f"/api/v1/catalog/modifier-groups/{sugar['id']}"))
    assert (group["name"], group["names"], group["min_choices"], group["max_choices"]) == (
        "Sweetness", {"en": "Sweetness", "id": "Tingkat manis"}, 0, 2)
    assert [(o["name"], o["names"].get("id"), o["price_delta"], o["available"]) for o in group["options"]] == [
        ("Less sugar", "Kurang manis", 0, True), ("Extra sweet", "Ekstra manis", 2_500, False)]
    assert group["options"][0]["id"] == less["id"]
    assert normal["id"] not in {o["id"] for o in group["options"]}
    assert "Up to 2, optional" in tab.locator(f"tr[data-group='{sugar['id']}']").inner_text()

    # A product's groups are chosen in its row.
    teh = tab.locator(f"tr[data-product='{shop['products']['Teh Tarik']['id']}']")
    teh.get_by_text("No modifier groups").click()
    teh.get_by_role("checkbox", name="Sweetness").check()
    teh.get_by_role("button", name="Save Teh Tarik").click()
    tab.get_by_text("Saved Teh Tarik").wait_for()
    assert product(shop, "Teh Tarik")["modifier_group_ids"] == [sugar["id"]]

    tab.get_by_role("button", name="Publish menu").click()
    tab.get_by_text(re.compile(r"Published version \d+ to 1 outlet")).wait_for()
    sent = next(g for g in published(shop)["modifier_groups"] if g["id"] == sugar["id"])
    assert [o["name"] for o in sent["options"]] == ["Less sugar", "Extra sweet"]
    assert (sent["min_choices"], sent["max_choices"]) == (0, 2)

    # Deleting a group in use names the products that lose it, and asks first.
    tab.get_by_role("button", name="Delete Sweetness").click()
    dialog = tab.get_by_role("dialog")
    assert "Kopi Susu" in dialog.inner_text() and "Teh Tarik" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete").click()
    tab.get_by_text("Modifier group “Sweetness” deleted.").wait_for()
    assert _ok(shop["t"].client.get(f"/api/v1/catalog/modifier-groups/{sugar['id']}"))["archived"] is True
