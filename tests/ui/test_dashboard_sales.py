"""The sales page's statement (issue 13) in real Chromium against a real hub on PostgreSQL.

Two outlets' orders are pushed through the hub's real ingest (tests.hub.test_reports): one
prices without tax and rounds cash totals to Rp 100, the other's menu prices include service
and tax; each has an order paid twice over (a gateway's late payment), a fully discounted one
and an unpaid open one, beside orders paid in full, paid in part and voided. The page must
show every figure of the statement (gross sales, discounts, tax and service in menu prices,
net sales, service charge, tax, cash rounding, total, paid, outstanding, overpaid) for the
sales paid in full, the open ones and all, and per outlet, exactly as
GET /api/v1/reports/sales says; define each; carry them all in the CSV; and say them in
Indonesian. Screenshots: artifacts/screenshots/hub-sales-statement.png (and -id), copied to
docs/img/hub-sales.png and hub-sales-id.png.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.db import Database
from shared.money import format_money
from shared.schemas import TaxConfig
from tests.hub import conftest as hubfx
from tests.hub.test_reports import (
    DAY_FROM,
    DAY_TO,
    PASSWORD,
    STATEMENT,
    Seeded,
    add_money_edge_cases,
    assert_statement_adds_up,
    seed_tenant,
)
from tests.ui.browser_support import SCREENSHOTS

# The hub area's fixtures (a real pos-hub on PostgreSQL), registered for this module.
pg_admin_url, pg_url, pg_roles = hubfx.pg_admin_url, hubfx.pg_url, hubfx.pg_roles
hub_server_factory, hub_server = hubfx.hub_server_factory, hubfx.hub_server

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

TAXES = {"Sudirman": TaxConfig(service_rate_bp=500, tax_rate_bp=1000, rounding_unit=100),
         "Seminyak": TaxConfig(service_rate_bp=500, tax_rate_bp=1000, prices_include_tax=True,
                               rounding_unit=100)}
PARTS = ("settled", "open", "sales")
ROWS = ("gross_sales", "discounts", "included_tax_service", "net_sales", "service_charge",
        "tax", "rounding", "total", "paid", "outstanding", "overpaid")
ENGLISH = {"gross_sales": "Gross sales", "discounts": "Discounts",
           "included_tax_service": "Tax and service in menu prices", "net_sales": "Net sales",
           "service_charge": "Service charge", "tax": "Tax", "rounding": "Cash rounding",
           "total": "Total", "paid": "Paid", "outstanding": "Outstanding", "overpaid": "Overpaid"}


@pytest.fixture(scope="module")
def shop(pg_url: str, hub_server: Any) -> dict[str, Any]:
    async def seed() -> Seeded:
        db = Database(pg_url)
        try:
            seeded = await seed_tenant(db, "Warung Neraca", {"Sudirman": "Asia/Jakarta",
                                                             "Seminyak": "Asia/Makassar"},
                                       orders_per_outlet=80, seed=21, table_parties=8,
                                       taxes=TAXES)
            for outlet_id in seeded.outlets.values():
                add_money_edge_cases(seeded, outlet_id, date(2026, 3, 29))
                await seeded.journals[outlet_id].push(db, seeded.tenant_id)
            return seeded
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:  # a browser's event loop may be running
        seeded = pool.submit(asyncio.run, seed()).result()
    login = httpx.post(hub_server.base_url + "/api/v1/auth/login",
                       json={"email": seeded.email, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    client = hub_server.client(login.json()["access_token"])
    report = client.get("/api/v1/reports/sales", params={
        "from": DAY_FROM.isoformat(), "to": DAY_TO.isoformat()}).json()
    return {"seeded": seeded, "report": report, "base_url": hub_server.base_url}


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                   accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def _idr(amount: int) -> str:
    return format_money(amount, "IDR")


def _spaces(text: str) -> str:
    """Table money keeps its parts together with no-break spaces."""
    return text.replace("\u00a0", " ")


def _sign_in(tab: Any, shop: dict[str, Any]) -> None:
    tab.goto(shop["base_url"] + "/dashboard/")
    tab.wait_for_selector("form >> text=Sign in")
    tab.get_by_label("Email").fill(shop["seeded"].email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_selector("main[data-page=fleet]")


def _show_report(tab: Any, shop: dict[str, Any]) -> None:
    _sign_in(tab, shop)
    tab.get_by_role("link", name="Sales").click()
    tab.get_by_label("From", exact=True).fill(DAY_FROM.isoformat())
    tab.get_by_label("To", exact=True).fill(DAY_TO.isoformat())
    tab.get_by_role("button", name="Show report").click()
    tab.wait_for_function(
        "text => document.querySelector('[data-kpi=gross_total]')?.textContent === text",
        arg=_idr(shop["report"]["gross_total"]))


def _statement_cells(tab: Any) -> dict[str, str]:
    return tab.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-testid=statement] tbody td[data-part]')]
          .map(td => [td.closest('tr').dataset.figure + '/' + td.dataset.part,
                      td.textContent.replaceAll('\\u00a0', ' ')]))""")


def test_statement_every_figure_defined_exported_and_in_indonesian(
        tab: Any, shop: dict[str, Any]) -> None:
    report = shop["report"]
    sales = report["sales"]
    # The data exercises every row: prices with tax inside, rounding both ways, overpaid,
    # open orders with part payments.
    assert sales["included_tax_service"] > 0 and sales["overpaid"] == 2 * 7_000
    assert report["open"]["orders"] > 0 and report["open"]["paid"] > 0
    assert sales["rounding"] != 0
    for part in PARTS:
        assert_statement_adds_up(report[part])

    _show_report(tab, shop)
    cells = _statement_cells(tab)
    for part in PARTS:
        assert cells[f"orders/{part}"] == f"{report[part]['orders']:,}"
        for key in ROWS:
            assert cells[f"{key}/{part}"] == _idr(report[part][key]), (key, part)
    labels = tab.locator("[data-testid=statement] tbody th").all_inner_texts()
    assert [label.lstrip("−+=± ") for label in labels] == ["Orders", *ENGLISH.values()]
    heads = tab.locator("[data-testid=statement] thead th").all_inner_texts()
    assert heads == ["Figure", "Paid in full", "Open (not fully paid)", "All sales"]
    kpi = {k: tab.locator(f"[data-kpi={k}]").inner_text()
           for k in ("net_sales", "paid", "outstanding", "discounts")}
    assert kpi == {"net_sales": _idr(sales["net_sales"]), "paid": _idr(sales["paid"]),
                   "outstanding": _idr(sales["outstanding"]),
                   "discounts": _idr(sales["discounts"])}

    # Per outlet: the statement of each, in the outlet's own row.
    for outlet in report["by_outlet"]:
        row = tab.locator(f"tr[data-outlet='{outlet['outlet_id']}']")
        for key in ("gross_sales", "discounts", "net_sales", "service_charge", "tax", "total",
                    "outstanding"):
            assert _spaces(row.locator(f"[data-figure={key}]").inner_text()) == _idr(
                outlet["statement"][key]), (outlet["name"], key)

    # Every figure is defined; nothing is said to be missing any more.
    defs = tab.get_by_test_id("definitions").inner_text()
    for term in ("Sales incl. open orders", "Paid in full", "Open (not fully paid)",
                 *ENGLISH.values()):
        assert term in defs, term
    assert "not in this report yet" not in tab.locator("main").inner_text()
    assert "Net sales + service charge + tax + cash rounding = total" in defs
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / "hub-sales-statement.png"), full_page=True)

    # The CSV: the statement (three columns), then by day and by outlet with every figure.
    with tab.expect_download() as download:
        tab.get_by_test_id("sales-csv").click()
    rows = list(csv.reader(io.StringIO(
        Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Sales statement", "Paid in full", "Open (not fully paid)",
                       "All sales", "Currency"]
    assert rows[1] == ["Orders", *(str(report[p]["orders"]) for p in PARTS)]
    for offset, key in enumerate(ROWS, start=2):
        assert rows[offset] == [ENGLISH[key], *(str(report[p][key]) for p in PARTS), "IDR"]
    head = ["Orders", *ENGLISH.values()]
    by_day = rows.index(["Sales by day", *head])
    for i, day in enumerate(report["by_day"], start=by_day + 1):
        assert rows[i] == [day["day"], str(day["order_count"]),
                           *(str(day["statement"][k]) for k in ROWS)]
    by_outlet = rows.index(["By outlet", "Currency", *head, "Voids"])
    for i, outlet in enumerate(report["by_outlet"], start=by_outlet + 1):
        assert rows[i] == [outlet["name"], "IDR", str(outlet["order_count"]),
                           *(str(outlet["statement"][k]) for k in ROWS),
                           str(outlet["void_count"])]
    assert sum(int(r[1 + STATEMENT.index("net_sales")]) for r in
               rows[by_day + 1:by_day + 1 + len(report["by_day"])]) == sales["net_sales"]

    # In Indonesian.
    tab.locator("#lang").select_option("id")
    tab.wait_for_function("() => document.documentElement.lang === 'id'")
    tab.get_by_label("Dari", exact=True).fill(DAY_FROM.isoformat())  # the page is drawn anew
    tab.get_by_label("Sampai", exact=True).fill(DAY_TO.isoformat())
    tab.get_by_role("button", name="Tampilkan laporan").click()
    tab.wait_for_function(
        "text => document.querySelector('[data-kpi=gross_total]')?.textContent === text",
        arg=_idr(report["gross_total"]))
    heads = tab.locator("[data-testid=statement] thead th").all_inner_texts()
    assert heads == ["Angka", "Lunas", "Terbuka (belum lunas)", "Semua penjualan"]
    statement = tab.locator("section[aria-labelledby=h-statement]").inner_text()
    for text in ("Ikhtisar penjualan", "Penjualan kotor", "Diskon",
                 "Pajak dan layanan dalam harga menu", "Penjualan bersih", "Biaya layanan",
                 "Pajak", "Pembulatan", "Dibayar", "Belum dibayar", "Kelebihan bayar"):
        assert text in statement, text
    assert _statement_cells(tab)["net_sales/sales"] == _idr(sales["net_sales"])
    tab.screenshot(path=str(SCREENSHOTS / "hub-sales-statement-id.png"), full_page=True)


def test_the_period_opens_on_the_outlets_business_day_not_the_browsers(
        chromium: Any, shop: dict[str, Any]) -> None:
    """Head office in Los Angeles at 10:30 on 30 March: the outlets (Jakarta, Makassar) are
    already in 31 March, so the sales and table reports open on the week ending then, with
    that morning's sales in it (the browser's own calendar would leave them out)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                   timezone_id="America/Los_Angeles")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.clock.set_fixed_time("2026-03-30T17:30:00Z")  # 00:30 in Jakarta, 01:30 Makassar
        assert page.evaluate("new Date().getDate()") == 30  # the browser's own day
        _sign_in(page, shop)
        for link, name in (("Sales", "sales"), ("Tables", "tables")):
            page.get_by_role("link", name=link, exact=True).click()
            page.wait_for_selector(f"main[data-page={name}]")
            # the fields are set once the outlets are read, before the report is asked for
            page.wait_for_function("() => document.querySelector('[aria-live] *') !== null")
            assert (page.get_by_label("From", exact=True).input_value(),
                    page.get_by_label("To", exact=True).input_value()) == (
                        "2026-03-25", "2026-03-31"), link
    finally:
        context.close()
    assert errors == [], errors
