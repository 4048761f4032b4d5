"""The head-office dashboard in real Chromium against a real hub process on PostgreSQL.

A person signs in, sees the fleet, reads a sales report (checked against the API), edits a
price and an outlet override and publishes (checked through the catalog API), creates an
outlet with an enrollment code, a scoped user and a staff member, survives an expired access token, and uses
the sales page on a phone-sized screen. Every page is screenshotted to
artifacts/screenshots/hub-*.png.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
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
    for outlet in report["by_outlet"]:  # table money keeps its parts with no-break spaces
        row = page.locator(f"tr[data-outlet='{outlet['outlet_id']}']").inner_text()
        assert outlet["name"] in row and _idr(outlet["gross_total"]) in row.replace("\xa0", " ")
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
    page.locator("form").filter(has=page.get_by_role("button", name="Add product")).get_by_label(
        "Name", exact=True).fill("Teh Tarik")
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


# ---------------------------------------------------------------- issue 13: language, labels,
# audit, prices as Indonesians type them, accountant's figures, CSV, contrast

DASHBOARD = REPO / "hub" / "dashboard" / "js"
RAW_CODES = re.compile(r"\b(cashier|kitchen|manager|hq_admin|area_manager|outlet_manager|owner|qris|cash)\b")


def _t_keys() -> set[str]:
    """Every text the dashboard's code passes to t("…") (the payments page is another's)."""
    keys: set[str] = set()
    for path in DASHBOARD.rglob("*.js"):
        if path.name not in ("payments.js", "i18n.js"):
            keys |= set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', path.read_text()))
    return keys


def _fresh_client(shop: dict[str, Any]) -> httpx.Client:
    """An API client with a login of its own (signing out in the browser ends other logins)."""
    response = httpx.post(shop["base_url"] + "/api/v1/auth/login",
                          json={"email": shop["seeded"].email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return httpx.Client(base_url=shop["base_url"], timeout=30,
                        headers={"Authorization": f"Bearer {response.json()['access_token']}"})


def _contrast(fg: list[float], bg: list[float]) -> float:
    def lum(rgb: list[float]) -> float:
        def channel(c: float) -> float:
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (channel(c) for c in rgb[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _choose(page: Any, lang: str) -> None:
    page.locator("#lang").select_option(lang)
    page.wait_for_function("l => document.documentElement.lang === l", arg=lang)


def test_every_dashboard_text_has_indonesian(page: Any, shop: dict[str, Any]) -> None:
    keys = _t_keys()
    assert len(keys) > 150, len(keys)
    page.goto(shop["base_url"] + "/dashboard/")
    missing = page.evaluate("""async (keys) => {
        const m = await import('/dashboard/js/i18n.js');
        return keys.filter(k => !(k in m.DEFINED));
    }""", sorted(keys))
    assert missing == [], missing


def test_dashboard_speaks_indonesian_per_user_and_shows_labels_not_codes(
        page: Any, shop: dict[str, Any]) -> None:
    client = _fresh_client(shop)
    other = f"admin-{secrets.token_hex(4)}@example.com"
    created = client.post("/api/v1/users", json={"email": other, "name": "Admin Dua",
                                                  "password": "other-password-9", "role": "hq_admin"})
    assert created.status_code == 201, created.text
    for person, role in (("Budi", "cashier"), ("Sari", "kitchen")):
        assert client.post("/api/v1/staff", json={"name": f"{person} {secrets.token_hex(2)}",
                                                  "role": role, "all_outlets": True}).status_code == 201

    sign_in(page, shop)  # an en-US browser starts in English
    assert page.get_by_role("link", name="Sales").is_visible()
    _choose(page, "id")
    nav = page.get_by_role("navigation")
    for label in ("Armada outlet", "Penjualan", "Pembayaran", "Menu", "Staf", "Log audit"):
        assert nav.get_by_role("link", name=label, exact=True).is_visible(), label
    assert page.get_by_role("button", name="Keluar").is_visible()
    assert "Pemilik" in page.locator("#who").inner_text()  # the role as a word, not "owner"

    # Staff: roles as words in Indonesian, never the API's codes.
    nav.get_by_role("link", name="Staf", exact=True).click()
    page.wait_for_selector("main[data-page=staff] tbody tr[data-staff]")
    table = page.locator("main table").inner_text()
    assert "Kasir" in table and "Dapur" in table
    assert not RAW_CODES.search(table), RAW_CODES.search(table)
    shot(page, "staff-id")
    # Menu: stations as words; the sales page: methods as words; the header too.
    nav.get_by_role("link", name="Menu", exact=True).click()
    page.get_by_role("button", name=re.compile("^Drinks")).wait_for()
    categories = page.locator("ul.cat-list").inner_text()
    assert "Bar" in categories and not RAW_CODES.search(categories), categories
    nav.get_by_role("link", name="Penjualan", exact=True).click()
    page.wait_for_selector("section[aria-labelledby=h-pay] svg")
    assert "Penjualan termasuk pesanan terbuka" in page.locator(".kpis").inner_text()
    methods = page.locator("section[aria-labelledby=h-pay]").inner_text()
    assert "Tunai" in methods and not RAW_CODES.search(methods), methods
    assert not RAW_CODES.search(page.locator("header nav").inner_text())
    assert page.locator("#who").inner_text().endswith(" · Pemilik")
    shot(page, "sales-id")

    # The choice survives a reload, and belongs to this user in this browser.
    page.reload()
    page.wait_for_selector("main[data-page=sales]")
    assert page.evaluate("document.documentElement.lang") == "id"
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_selector("form >> text=Masuk")
    page.get_by_label("Email").fill(other)
    page.get_by_label("Kata sandi").fill("other-password-9")
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_selector("main[data-page=fleet]")
    _choose(page, "en")  # the second user prefers English
    assert page.get_by_role("link", name="Fleet").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("form >> text=Sign in")
    sign_in(page, shop)  # the first user gets Indonesian back
    assert page.evaluate("document.documentElement.lang") == "id"
    assert page.get_by_role("link", name="Penjualan").is_visible()


def test_menu_reads_indonesian_prices_and_names(page: Any, shop: dict[str, Any]) -> None:
    client = _fresh_client(shop)
    mie = shop["products"]["Mie Ayam"]
    sign_in(page, shop)
    _choose(page, "id")
    page.get_by_role("navigation").get_by_role("link", name="Menu", exact=True).click()
    page.get_by_role("button", name=re.compile("^Food")).click()
    row = page.locator(f"tr[data-product='{mie['id']}']")
    # Ambiguous for rupiah: refused with what to type instead, nothing saved.
    answer = client.get(f"/api/v1/catalog/products/{mie['id']}")
    assert answer.status_code == 200, answer.text
    before = answer.json()["price"]
    row.get_by_label("Harga Mie Ayam").fill("21.5")
    row.get_by_role("button", name="Simpan Mie Ayam").click()
    alert = page.locator("main p.notice.error")
    alert.wait_for()
    assert "21.500" in alert.inner_text() and "21.5" in alert.inner_text()
    assert client.get(f"/api/v1/catalog/products/{mie['id']}").json()["price"] == before
    row.get_by_label("Harga Mie Ayam").fill("abc")
    row.get_by_role("button", name="Simpan Mie Ayam").click()
    page.get_by_text("“abc” bukan harga").wait_for()
    # The Indonesian thousands separator, and the Indonesian name.
    row.get_by_label("Harga Mie Ayam").fill("21.500")
    row.get_by_label("Nama Indonesia untuk Mie Ayam").fill("Mi Ayam Jamur")
    row.get_by_role("button", name="Simpan Mie Ayam").click()
    page.get_by_text("Mie Ayam disimpan").wait_for()
    saved = client.get(f"/api/v1/catalog/products/{mie['id']}").json()
    assert saved["price"] == 21_500
    assert saved["names"]["id"] == "Mi Ayam Jamur" and saved["names"]["en"] == "Mie Ayam"
    # The field shows it back the Indonesian way.
    row = page.locator(f"tr[data-product='{mie['id']}']")
    assert row.get_by_label("Harga Mie Ayam").input_value() == "21.500"
    # A new product with "Rp 18.000" and its Indonesian name.
    form = page.locator("form").filter(has=page.get_by_role("button", name="Tambah produk"))
    form.get_by_label("Nama", exact=True).fill("Chicken Porridge")
    form.get_by_label("Nama (Indonesia)").fill("Bubur Ayam")
    form.get_by_label("Harga (IDR)").fill("Rp 18.000")
    form.get_by_role("button", name="Tambah produk").click()
    page.get_by_text("Produk “Chicken Porridge” ditambahkan.").wait_for()
    shot(page, "menu-id")
    brand = shop["brand_id"]
    made = next(p for p in client.get(f"/api/v1/catalog/products?brand_id={brand}").json()["items"]
                if p["name"] == "Chicken Porridge")
    assert made["price"] == 18_000 and made["names"]["id"] == "Bubur Ayam"


def test_audit_page_lists_the_api_entries_and_exports_csv(page: Any, shop: dict[str, Any]) -> None:
    client = _fresh_client(shop)
    kopi = shop["products"]["Kopi Susu"]
    assert client.patch(f"/api/v1/catalog/products/{kopi['id']}", json={"price": 26_000}).status_code == 200
    entries = client.get("/api/v1/audit", params={"limit": 50}).json()["items"]
    sign_in(page, shop)
    page.goto(shop["base_url"] + "/dashboard/#/audit")
    page.wait_for_selector("main[data-page=audit] tbody tr[data-entry]")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Audit log"
    rows = page.locator("tbody tr[data-entry]")
    assert rows.count() == len(entries)
    first = rows.first
    assert first.get_attribute("data-entry") == entries[0]["id"]
    assert "Product changed" in first.inner_text()
    assert "price: 25000 → 26000" in first.inner_text() or "price:" in first.inner_text()
    assert "product.update" not in page.locator("main").inner_text()
    with page.expect_download() as download:
        page.get_by_test_id("audit-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:4] == ["When", "Who", "Action", "Subject"]
    assert len(lines) == len(entries) + 1
    assert lines[1][4] == entries[0]["entity_id"]
    # Filtered by kind, in Indonesian.
    _choose(page, "id")
    page.get_by_label("Jenis").select_option("outlet")
    page.get_by_role("button", name="Tampilkan").click()
    page.wait_for_function("() => [...document.querySelectorAll('tbody tr[data-entry]')]"
                           ".every(r => r.textContent.includes('Outlet'))")
    shot(page, "audit")


def test_sales_figures_defined_exported_and_active_link_readable(page: Any, shop: dict[str, Any]) -> None:
    period = {"from": shop["day_from"].isoformat(), "to": shop["day_to"].isoformat()}
    report = _fresh_client(shop).get("/api/v1/reports/sales", params=period).json()
    paid = report["sales"]["paid"]  # each order's payments up to its total; the rest overpaid
    assert paid + report["sales"]["overpaid"] == sum(p["amount"] for p in report["by_payment_method"])
    sign_in(page, shop)
    page.get_by_role("link", name="Sales").click()
    page.get_by_label("From", exact=True).fill(period["from"])
    page.get_by_label("To", exact=True).fill(period["to"])
    page.get_by_role("button", name="Show report").click()
    page.wait_for_function(
        "text => document.querySelector('[data-kpi=gross_total]').textContent === text",
        arg=_idr(report["gross_total"]))
    assert page.locator("[data-kpi=paid]").inner_text() == _idr(paid)
    assert page.locator("[data-kpi=outstanding]").inner_text() == _idr(report["gross_total"] - paid)
    # "Gross sales" is the statement's line totals at menu prices, never the sales total.
    gross = page.locator("[data-testid=statement] tr[data-figure=gross_sales] td[data-part=sales]")
    assert gross.inner_text().replace("\xa0", " ") == _idr(report["sales"]["gross_sales"])
    assert report["sales"]["gross_sales"] != report["gross_total"]
    defs = page.get_by_test_id("definitions").inner_text()
    for term in ("Sales incl. open orders", "Paid", "Outstanding", "Discounts", "Voids", "Refunds"):
        assert term in defs, term
    assert "open and unpaid orders included" in defs and "not money received" in defs
    with page.expect_download() as download:
        page.get_by_test_id("sales-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    figures = {r[0]: r[1] for r in rows if len(r) >= 2}
    assert figures["Sales incl. open orders"] == str(report["gross_total"])
    assert next(r for r in rows if r[0] == "Paid")[3] == str(paid)  # the "All sales" column
    for product in report["by_product"]:
        assert [product["name"], str(product["qty"]), str(product["revenue"])] in rows

    # The active navigation link: WCAG AA for normal text.
    colours = page.evaluate("""() => {
        const a = document.querySelector('nav a[aria-current=page]');
        const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
        return [rgb(getComputedStyle(a).color), rgb(getComputedStyle(a).backgroundColor)];
    }""")
    assert colours[1][3:] in ([], [1]), colours  # an opaque background
    assert _contrast(colours[0], colours[1]) >= 4.5, colours
