"""The fleet page's open bills (issue 12) in real Chromium against a real hub on PostgreSQL.

One outlet's table service is pushed through the hub's real ingest (tests.hub.table_bills):
a party seated 95 minutes ago still eating, one seated 20 minutes ago, a bill split evenly in
two whose parts are still open (the parts count, the split bill does not), a bill merged into
another (never counted), a bill paid and completed (not open any more). A second outlet has
no table service. The page must show, per outlet, what GET /api/v1/fleet says: the number of
open bills, their value in rupiah and how long the party seated first has been at its table,
and the fleet's total in the summary; in English and in Indonesian.
Screenshot: artifacts/screenshots/hub-fleet-bills.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.db import Database
from shared.money import format_money
from shared.schemas import TaxConfig
from tests.hub import conftest as hubfx
from tests.hub.table_bills import Floor, Item
from tests.hub.test_reports import Journal
from tests.ui.browser_support import SCREENSHOTS

# The hub area's fixtures (a real pos-hub on PostgreSQL), registered for this module.
pg_admin_url, pg_url, pg_roles = hubfx.pg_admin_url, hubfx.pg_url, hubfx.pg_roles
hub_server_factory, hub_server = hubfx.hub_server_factory, hubfx.hub_server
tenant_factory = hubfx.tenant_factory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

TAX = TaxConfig(service_rate_bp=500, tax_rate_bp=1000)
MENU = [Item("p-kopi", "Kopi Susu", 25_000, course="minuman"),
        Item("p-nasi", "Nasi Goreng", 38_000, course="makanan"),
        Item("p-ayam", "Ayam Bakar", 52_000, qty=2, course="makanan")]


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def _table_service(outlet_id: str, journal: Journal, now: datetime) -> Floor:
    day = now.astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    floor = Floor(outlet_id, journal, TAX, day)
    first = floor.seat("tbl-a1", "A1", 4, now - timedelta(minutes=95))
    floor.add_round(first, MENU, now - timedelta(minutes=90))
    second = floor.seat("tbl-a2", "A2", 2, now - timedelta(minutes=20))
    floor.add_round(second, MENU[:2], now - timedelta(minutes=18))
    split = floor.seat("tbl-t1", "T1", 3, now - timedelta(minutes=50))
    floor.add_round(split, MENU, now - timedelta(minutes=48))
    floor.split_even(split, 2, now - timedelta(minutes=5))
    into = floor.seat("tbl-t2", "T2", 2, now - timedelta(minutes=40))
    into = floor.add_round(into, MENU[1:], now - timedelta(minutes=39))
    other = floor.seat("tbl-t3", "T3", 2, now - timedelta(minutes=60))
    other = floor.add_round(other, MENU[:1], now - timedelta(minutes=59))
    floor.merge(into, other, now - timedelta(minutes=30))
    done = floor.seat("tbl-a3", "A3", 2, now - timedelta(hours=3))  # long gone: not open
    done = floor.add_round(done, MENU[:1], now - timedelta(hours=3))
    floor.pay_and_complete(done, now - timedelta(hours=2))
    return floor


def _push(db_url: str, tenant_id: str, outlet_id: str, now: datetime) -> Floor:
    async def push() -> Floor:
        db = Database(db_url, pool_size=1)
        try:
            journal = Journal(outlet_id)
            floor = _table_service(outlet_id, journal, now)
            await journal.push(db, tenant_id)
            return floor
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:  # the browser's event loop is running
        return pool.submit(asyncio.run, push()).result()


def _cells(tab: Any, outlet_id: str) -> dict[str, str]:
    row = tab.locator(f"tbody tr[data-outlet='{outlet_id}']")
    return {field: row.locator(f"[data-field={field}]").inner_text()
            for field in ("open_bills", "open_bill_value", "oldest_seated")}


def test_fleet_shows_each_outlets_open_bills_in_both_languages(tab: Any,
                                                                tenant_factory: Any) -> None:
    t = tenant_factory()
    resto = t.create_outlet("Menteng", service_rate_bp=500, tax_rate_bp=1000)
    counter = t.create_outlet("Kemang")
    now = datetime.now(UTC)
    floor = _push(t.server.db_url, t.id, resto["id"], now)
    open_ = [o for o in floor.orders.values() if o.status in ("placed", "in_kitchen", "ready")]
    statuses = sorted(o.status for o in floor.orders.values())
    assert statuses.count("split") == 1 and statuses.count("merged") == 1
    assert len(open_) == 5  # two eating, two split parts, the bill that took a merge
    value = sum(o.total for o in open_)

    fleet = {e["outlet_id"]: e for e in t.client.get("/api/v1/fleet").json()["items"]}
    assert (fleet[resto["id"]]["open_bills"], fleet[resto["id"]]["open_bill_value"]) == (5, value)
    assert datetime.fromisoformat(fleet[resto["id"]]["oldest_seated_at"]) == (
        now - timedelta(minutes=95))
    assert fleet[counter["id"]]["open_bills"] == 0

    tab.goto(t.server.base_url + "/dashboard/")
    tab.wait_for_selector("form >> text=Sign in")
    tab.get_by_label("Email").fill(t.email)
    tab.get_by_label("Password").fill(t.password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_selector(f"main[data-page=fleet] tbody tr[data-outlet='{resto['id']}']")
    cells = _cells(tab, resto["id"])
    assert cells["open_bills"] == "5"
    assert cells["open_bill_value"] == format_money(value, "IDR")
    # 95 minutes ago when seeded; the page may have taken a minute to come up under load
    assert cells["oldest_seated"] in ("1 h 35 min", "1 h 36 min"), cells
    assert _cells(tab, counter["id"]) == {"open_bills": "0", "open_bill_value": "–",
                                          "oldest_seated": "–"}
    head = tab.locator("main[data-page=fleet] thead").inner_text()
    assert "Open bills" in head and "Open bill value" in head and "Seated longest" in head
    summary = tab.locator("main[data-page=fleet] p.muted").inner_text()
    assert f"5 open bills ({format_money(value, 'IDR')})" in summary
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / "hub-fleet-bills.png"), full_page=True)

    tab.locator("#lang").select_option("id")
    tab.wait_for_function("() => document.documentElement.lang === 'id'")
    tab.wait_for_function("() => document.querySelector('main[data-page=fleet] thead')"
                          "?.textContent.includes('Tagihan terbuka')")
    head = tab.locator("main[data-page=fleet] thead").inner_text()
    assert "Nilai tagihan terbuka" in head and "Duduk terlama" in head
    # the page is drawn anew in the new language (and loads the fleet again)
    tab.wait_for_function("() => document.querySelector('main[data-page=fleet] p.muted')"
                          "?.textContent.includes('tagihan terbuka')")
    cells = _cells(tab, resto["id"])
    assert cells["oldest_seated"] in ("1 j 35 mnt", "1 j 36 mnt", "1 j 37 mnt"), cells
    assert cells["open_bill_value"] == format_money(value, "IDR")
    summary = tab.locator("main[data-page=fleet] p.muted").inner_text()
    assert f"5 tagihan terbuka ({format_money(value, 'IDR')})" in summary
