"""The head-office dashboard in real Chromium against a real hub process on PostgreSQL.

A person signs in, sees the fleet, reads a sales report (checked against the API), edits a
price and an outlet override and publishes (checked through the catalog API), creates an
outlet with an enrollment code, a scoped user and a staff member, survives an expired access token, and uses
the sales page on a phone-sized screen. Every page is screenshotted to
artifacts/screenshots/hub-*.png.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.db import Database
from shared.money import format_money
from tests.hub.test_reports import PASSWORD, Seeded, seed_tenant

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def shop(pg_url: str, hub_server: Any) -> dict[str, Any]:
    """A tenant with two outlets, a week of synced orders ending today, and a small menu."""
    today = datetime.now(UTC).date()
    day_from = today - timedelta(days=6)

    async def seed() -> Seeded:
        db = Database(pg_url)
        try:
            return await seed_tenant(db, "Warung Dashboard", {"Sudirman": "Asia/Jakarta",
                                                              "Kemang": "Asia/Jakarta"},
                                     orders_per_outlet=120, seed=11, day_from=day_from,
                                     day_to=today)
        finally:
            await db.dispose()

    # A thread of its own: this fixture may be reached while an event loop is running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        seeded = pool.submit(asyncio.run, seed()).result()
    response = httpx.post(hub_server.base_url + "/api/v1/auth/login",
                          json={"email": seeded.email, "password": PASSWORD}, timeout=30)
    client = hub_server.client(response.json()["access_token"])
    brand_id = client.get("/api/v1/brands").json()["items"][0]["id"]
    drinks = client.post("/api/v1/catalog/categories",
                         json={"brand_id": brand_id, "name": "Drinks", "station": "bar"}).json()
    food = client.post("/api/v1/catalog/categories",
                       json={"brand_id": brand_id, "name": "Food", "sort": 1}).json()
    sugar = client.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": brand_id, "name": "Sugar", "min_choices": 1, "max_choices": 1,
        "options": [{"name": "Normal"}, {"name": "Less sugar"}]}).json()
    products = {}
    for category, name, price, groups in [
        (drinks, "Kopi Susu", 25_000, [sugar["id"]]), (drinks, "Es Teh", 12_000, [sugar["id"]]),
        (food, "Nasi Goreng", 38_000, []), (food, "Mie Ayam", 30_000, []),
    ]:
        created = client.post("/api/v1/catalog/products", json={
            "brand_id": brand_id, "category_id": category["id"], "name": name, "price": price,
            "modifier_group_ids": groups})
        assert created.status_code == 201, created.text
        products[name] = created.json()
    assert client.post(f"/api/v1/brands/{brand_id}/publish").status_code in (200, 201)
    return {"seeded": seeded, "client": client, "brand_id": brand_id, "products": products,
            "day_from": day_from, "day_to": today, "base_url": hub_server.base_url}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's /usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], errors


def shot(tab: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"hub-{name}.png"), full_page=True)


def sign_in(tab: Any, shop: dict[str, Any]) -> None:
    tab.goto(shop["base_url"] + "/dashboard/")
    tab.wait_for_selector("form >> text=Sign in")
    tab.get_by_label("Email").fill(shop["seeded"].email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_selector("main[data-page=fleet] tbody tr[data-outlet]")


def _enroll_a_box(shop: dict[str, Any], outlet_id: str) -> None:
    """Redeem a fresh code for the outlet as a box would (a sync credential, no edge)."""
    import secrets

    from sync.protocol import MEDIA_TYPE, EnrollRequest, encode_frame

    code = shop["client"].post(f"/api/v1/outlets/{outlet_id}/enrollment-codes", json={})
    assert code.status_code == 201, code.text
    frame = encode_frame(EnrollRequest(code=code.json()["code"], device_key=secrets.token_urlsafe(24),
                                       hostname="dashboard-test"))
    redeemed = httpx.post(shop["base_url"] + "/api/v1/enrollment/redeem", content=frame,
                          headers={"Content-Type": MEDIA_TYPE}, timeout=30)
    assert redeemed.status_code == 200, redeemed.text


def test_login_rejects_a_wrong_password_then_shows_the_fleet(page: Any, shop: dict[str, Any]) -> None:
    page.goto(shop["base_url"] + "/")  # the hub's root redirects to the dashboard
    page.wait_for_selector("form >> text=Sign in")
    assert page.url.endswith("/dashboard/#/login")
    page.get_by_label("Email").fill(shop["seeded"].email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Wrong email or password" in alert.inner_text()
    shot(page, "login")

    # Two boxes enroll one outlet: the fleet page must alert about its second credential.
    doubled = shop["client"].get("/api/v1/fleet").json()["items"][0]["outlet_id"]
    for _ in range(2):
        _enroll_a_box(shop, doubled)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("main[data-page=fleet] tbody tr[data-outlet]")
    rows = page.locator("tbody tr[data-outlet]")
    assert rows.count() == 2
    fleet = {row["outlet_id"]: row for row in shop["client"].get("/api/v1/fleet").json()["items"]}
    assert fleet[doubled]["active_credentials"] >= 2
    for i in range(rows.count()):
        row = rows.nth(i)
        entry = fleet[row.get_attribute("data-outlet")]
        assert entry["outlet_name"] in row.inner_text()
        assert ("Online" if entry["online"] else "Offline") in row.inner_text()
        alert = row.locator("[data-alert=credentials]")
        assert alert.count() == (1 if entry["active_credentials"] > 1 else 0)
        if entry["active_credentials"] > 1:
            assert f"{entry['active_credentials']} active sync credentials" in alert.inner_text()
    assert "outlets online" in page.locator("main").inner_text()
    shot(page, "fleet")


def test_sales_page_shows_the_figures_of_the_api(page: Any, shop: dict[str, Any]) -> None:
    sign_in(page, shop)
    period = {"from": shop["day_from"].isoformat(), "to": shop["day_to"].isoformat()}
    report = shop["client"].get("/api/v1/reports/sales", params=period).json()
    assert report["order_count"] > 100

    page.get_by_role("link", name="Sales").click()
    page.wait_for_selector("[data-kpi=gross_total]")
    page.get_by_label("From", exact=True).fill(period["from"])
    page.get_by_label("To", exact=True).fill(period["to"])
    page.get_by_role("button", name="Show report").click()
    page.wait_for_function(
        "text => document.querySelector('[data-kpi=gross_total]').textContent === text",
        arg=_idr(report["gross_total"]))
    kpi = {k: page.locator(f"[data-kpi={k}]").inner_text() for k in
           ("gross_total", "order_count", "average_order_value", "voids", "refunds")}
    assert kpi["gross_total"] == _idr(report["gross_total"])
    assert kpi["order_count"] == f"{report['order_count']:,}"
    assert kpi["average_order_value"] == _idr(report["average_order_value"])
    assert kpi["voids"] == f"{report['voids']['count']} · {_idr(report['voids']['amount'])}"
    assert kpi["refunds"] == f"{report['refunds']['count']} · {_idr(report['refunds']['amount'])}"
    for outlet in report["by_outlet"]:
        row = page.locator(f"tr[data-outlet='{outlet['outlet_id']}']").inner_text()
        assert outlet["name"] in row and _idr(outlet["gross_total"]) in row
    assert page.locator("svg.chart").count() == 4
    day_bars = page.locator("section[aria-labelledby=h-day] svg rect.bar")
    assert day_bars.count() == len(report["by_day"])
    top = report["by_product"][0]
    assert top["name"] in page.locator("section[aria-labelledby=h-prod]").inner_text()
    shot(page, "sales")

    # One outlet: the tiles follow the API's figures for that outlet.
    outlet = report["by_outlet"][0]
    single = shop["client"].get("/api/v1/reports/sales",
                                params={**period, "outlet_id": outlet["outlet_id"]}).json()
    page.get_by_label("Outlet", exact=True).select_option(outlet["outlet_id"])
    page.get_by_role("button", name="Show report").click()
    page.wait_for_function(
        "text => document.querySelector('[data-kpi=gross_total]').textContent === text",
        arg=_idr(single["gross_total"]))
    assert page.locator("[data-kpi=order_count]").inner_text() == f"{single['order_count']:,}"

    # A bad period is explained, not a blank page.
    page.get_by_label("From", exact=True).fill(period["to"])
    page.get_by_label("To", exact=True).fill(period["from"])
    page.get_by_role("button", name="Show report").click()
    page.get_by_role("alert").wait_for()
    assert "after" in page.get_by_role("alert").inner_text()


def test_menu_edit_and_publish_reaches_the_outlet_catalog(page: Any, shop: dict[str, Any]) -> None:
    client, brand_id = shop["client"], shop["brand_id"]
    kopi = shop["products"]["Kopi Susu"]
    outlets = shop["seeded"].outlets
    before = max(v["version"] for v in
                 client.get(f"/api/v1/brands/{brand_id}/catalog-versions").json()["items"])
    sign_in(page, shop)
    page.get_by_role("link", name="Menu").click()
    page.get_by_role("button", name=re.compile("^Drinks")).wait_for()
    page.get_by_role("button", name=re.compile("^Drinks")).click()
    row = page.locator(f"tr[data-product='{kopi['id']}']")
    row.get_by_label("Price of Kopi Susu").fill("27500")
    row.get_by_role("button", name="Save Kopi Susu").click()
    page.get_by_text("Saved Kopi Susu").wait_for()
    assert client.get(f"/api/v1/catalog/products/{kopi['id']}").json()["price"] == 27_500

    # A per-outlet override for Kemang, and Es Teh sold out there.
    page.get_by_label("Prices for").select_option(outlets["Kemang"])
    page.get_by_text("overrides for Kemang").wait_for()
    row = page.locator(f"tr[data-product='{kopi['id']}']")
    row.get_by_label(re.compile("Outlet price of Kopi Susu")).fill("29000")
    row.get_by_role("button", name="Save Kopi Susu").click()
    page.get_by_text("Saved Kopi Susu").wait_for()
    teh = shop["products"]["Es Teh"]
    row = page.locator(f"tr[data-product='{teh['id']}']")
    row.get_by_label("Es Teh available").uncheck()
    row.get_by_role("button", name="Save Es Teh").click()
    page.get_by_text("Saved Es Teh").wait_for()
    shot(page, "menu-overrides")

    # A modifier group and a new product from the forms.
    page.get_by_label("Prices for").select_option("")
    page.get_by_label("Group name").fill("Ice")
    page.get_by_label("Options, one per line: name, price change").fill("Normal ice, 0\nNo ice, 0\nExtra ice, 1000")
    page.get_by_role("button", name="Add modifier group").click()
    page.get_by_text("Modifier group “Ice” added.").wait_for()
    page.locator("form").filter(has=page.get_by_role("button", name="Add product")).get_by_label("Name").fill("Teh Tarik")
    page.get_by_label("Price (IDR)").fill("15000")
    page.get_by_role("checkbox", name="Ice").check()
    page.get_by_role("button", name="Add product").click()
    page.get_by_text("Product “Teh Tarik” added.").wait_for()

    page.get_by_role("button", name="Publish menu").click()
    page.get_by_text(re.compile(r"Published version \d+ to 2 outlet")).wait_for()
    shot(page, "menu")

    versions = client.get(f"/api/v1/brands/{brand_id}/catalog-versions").json()["items"]
    latest = max(v["version"] for v in versions)
    assert latest == before + 1
    assert f"Published version {latest}" in page.locator("[data-testid=catalog-version]").inner_text()
    sudirman = client.get(f"/api/v1/outlets/{outlets['Sudirman']}/catalog").json()
    kemang = client.get(f"/api/v1/outlets/{outlets['Kemang']}/catalog").json()
    assert sudirman["version"] == kemang["version"] == latest

    def product(catalog: dict[str, Any], name: str) -> dict[str, Any]:
        return next(p for p in catalog["products"] if p["name"] == name)

    assert product(sudirman, "Kopi Susu")["price"] == 27_500
    assert product(kemang, "Kopi Susu")["price"] == 29_000
    assert product(sudirman, "Es Teh")["available"] is True
    assert product(kemang, "Es Teh")["available"] is False
    tarik = product(sudirman, "Teh Tarik")
    assert tarik["price"] == 15_000
    ice = next(g for g in sudirman["modifier_groups"] if g["name"] == "Ice")
    assert tarik["modifier_group_ids"] == [ice["id"]]
    assert [(o["name"], o["price_delta"]) for o in ice["options"]] == [
        ("Normal ice", 0), ("No ice", 0), ("Extra ice", 1000)]


def test_outlets_page_creates_an_outlet_and_an_enrollment_code(page: Any, shop: dict[str, Any]) -> None:
    sign_in(page, shop)
    page.get_by_role("link", name="Outlets").click()
    page.get_by_role("button", name="Create outlet").wait_for()
    page.get_by_label("Name").fill("Bandung Dago")
    page.get_by_label("Time zone").fill("Asia/Jakarta")
    page.get_by_label("Address").fill("Jl. Ir. H. Juanda 1")
    page.get_by_role("button", name="Create outlet").click()
    page.get_by_text("Outlet “Bandung Dago” created.").wait_for()
    outlets = shop["client"].get("/api/v1/outlets").json()["items"]
    created = next(o for o in outlets if o["name"] == "Bandung Dago")
    assert created["timezone"] == "Asia/Jakarta" and created["address"] == "Jl. Ir. H. Juanda 1"

    page.get_by_role("button", name="Generate enrollment code for Bandung Dago").click()
    code = page.locator("[data-testid=enrollment-code]")
    code.wait_for()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", code.inner_text().strip())
    shot(page, "outlets")

    # An unknown zone is refused with the hub's message.
    page.get_by_label("Name").fill("Nowhere")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Create outlet").click()
    page.get_by_text("unknown time zone").wait_for()


def test_users_page_creates_a_scoped_user(page: Any, shop: dict[str, Any]) -> None:
    sign_in(page, shop)
    page.get_by_role("link", name="Users").click()
    page.get_by_role("button", name="Create user").wait_for()
    email = f"area-{datetime.now(UTC).strftime('%H%M%S%f')}@warung.test"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name", exact=True).fill("Area Manager Jakarta")
    page.get_by_label("Initial password").fill("area-password-9")
    page.get_by_label("Role").select_option("area_manager")
    page.get_by_role("checkbox", name="Kemang").check()
    page.get_by_role("button", name="Create user").click()
    page.get_by_text(f"User {email} created.").wait_for()
    row = page.locator("tbody tr").filter(has_text=email)
    assert "Area manager" in row.inner_text() and "Kemang" in row.inner_text()
    users = shop["client"].get("/api/v1/users").json()["items"]
    user = next(u for u in users if u["email"] == email)
    assert user["role"] == "area_manager"
    assert user["outlet_ids"] == [shop["seeded"].outlets["Kemang"]]
    shot(page, "users")


def test_staff_page_creates_and_deactivates_a_staff_member(page: Any, shop: dict[str, Any]) -> None:
    sign_in(page, shop)
    page.get_by_role("link", name="Staff").click()
    page.get_by_role("button", name="Create staff member").wait_for()
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    name = "Kasir " + "".join(chr(ord("a") + int(d)) for d in stamp).title()  # no digits
    pin = stamp[-8:]
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Role").select_option("cashier")
    page.get_by_label("PIN (4-8 digits)").fill(pin)
    page.get_by_role("checkbox", name="Kemang").check()
    page.get_by_role("button", name="Create staff member").click()
    page.get_by_text(f"{name} can log in").wait_for()
    row = page.locator("tbody tr").filter(has_text=name)
    assert "Cashier" in row.inner_text() and "Kemang" in row.inner_text()
    member = next(s for s in shop["client"].get("/api/v1/staff").json()["items"] if s["name"] == name)
    assert member["outlet_ids"] == [shop["seeded"].outlets["Kemang"]] and member["active"] is True
    assert pin not in page.locator("main").inner_text()
    shot(page, "staff")

    page.get_by_role("button", name=f"Deactivate {name}").click()
    page.get_by_text(f"{name} deactivated.").wait_for()
    assert "Disabled" in page.locator("tbody tr").filter(has_text=name).inner_text()
    assert shop["client"].get(f"/api/v1/staff/{member['id']}").json()["active"] is False

    # no PIN typed: the hub draws one and the page shows it once
    page.get_by_label("Name", exact=True).fill("Dua " + name)
    page.get_by_role("checkbox", name="Kemang").check()
    page.get_by_role("button", name="Create staff member").click()
    page.get_by_text(f"New PIN for Dua {name}:").wait_for()
    drawn = page.get_by_text(f"New PIN for Dua {name}:").inner_text().split(": ")[1][:6]
    assert drawn.isdigit() and len(drawn) == 6
    page.reload()
    page.get_by_role("button", name="Create staff member").wait_for()
    assert drawn not in page.locator("main").inner_text()


def test_expired_access_token_is_refreshed(page: Any, shop: dict[str, Any]) -> None:
    sign_in(page, shop)
    stored = page.evaluate("JSON.parse(localStorage.getItem('fnbpos.hub.session'))")
    broken = {**stored, "access_token": stored["access_token"][:-6] + "AAAAAA"}
    page.evaluate("s => localStorage.setItem('fnbpos.hub.session', JSON.stringify(s))", broken)
    page.reload()
    page.wait_for_selector("main[data-page=fleet] tbody tr[data-outlet]")
    renewed = page.evaluate("JSON.parse(localStorage.getItem('fnbpos.hub.session'))")
    # The refresh token was spent (rotated, single use) for a valid access token. (The new
    # access token may equal the first one byte for byte when issued in the same second.)
    assert renewed["refresh_token"] != stored["refresh_token"]
    assert renewed["access_token"] != broken["access_token"]
    with httpx.Client(base_url=shop["base_url"], timeout=30) as http:
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {renewed['access_token']}"})
        assert me.status_code == 200 and me.json()["email"] == shop["seeded"].email
        stale = http.post("/api/v1/auth/refresh", json={"refresh_token": stored["refresh_token"]})
        assert stale.status_code == 401

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("form >> text=Sign in")
    assert page.evaluate("localStorage.getItem('fnbpos.hub.session')") is None


def test_sales_page_on_a_phone(browser: Any, shop: dict[str, Any]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US",
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    tab = context.new_page()
    try:
        sign_in(tab, shop)
        shot(tab, "fleet-phone")
        tab.get_by_role("link", name="Sales").click()
        tab.get_by_label("From", exact=True).fill(shop["day_from"].isoformat())
        tab.get_by_role("button", name="Show report").click()
        tab.wait_for_selector("section[aria-labelledby=h-day] svg")
        # Nothing wider than the screen: the page does not scroll sideways.
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        shot(tab, "sales-phone")
    finally:
        context.close()


def _idr(amount: int) -> str:
    return format_money(amount, "IDR")
