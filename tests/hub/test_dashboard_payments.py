"""The dashboard's payments page (issue 11) in real Chromium against a real hub on PostgreSQL.

A tenant with an outlet, a Midtrans credential and synced payment attempts (pushed as journal
events, confirmed by signed webhooks) opens #/payments as the owner: the figures shown equal
GET /api/v1/reports/payments, the reconciliation lists the API's differences, the CSV holds
the same figures, and in Indonesian the labels are translated. Screenshot: docs/img/hub-payments.png
(taken with FNBPOS_DOCS_IMAGES=1).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.money import format_money
from tests.hub.test_dashboard import REPO, browser, page  # noqa: F401 (fixtures)
from tests.hub.test_gateways_feed import enroll
from tests.hub.test_gateways_reports import TODAY, attempt, push
from tests.hub.test_gateways_webhooks import MIDTRANS_PATH, SERVER_KEY, midtrans_body

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PAYMENTS_JS = REPO / "hub" / "dashboard" / "js" / "pages" / "payments.js"
COLS = ("attempts", "paid", "paid_amount", "pending", "expired", "cancelled_failed", "late",
        "success_rate")


def _percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.1f} %"


def _shown(f: dict[str, Any]) -> list[str]:
    return [str(f["attempts"]), str(f["paid"]), format_money(f["paid_amount"], "IDR"),
            str(f["pending"]), str(f["expired"]), str(f["cancelled"] + f["failed"]), str(f["late"]),
            _percent(f["success_rate"])]


def _wait_for_report_of(tab: Any, day: str) -> None:
    """Wait until the page shows the figures asked for with ``day`` as the reconcile day.

    The page loads once with its default period and day when drawn: its attempts table can
    show the same counts as the one asked for, so only the reconciliation heading (drawn with
    the attempts table, from the same load) tells which load is on screen. The Show button is
    enabled again when no load is running."""
    tab.wait_for_function(
        """day => {
            const heading = document.querySelector('#h-recon');
            const show = document.querySelector('main[data-page=payments] form button[type=submit]');
            return !!heading && heading.textContent.includes(day) && !!show && !show.disabled;
        }""", arg=day, timeout=90_000)


def test_payments_page_shows_the_api_figures_in_both_languages(
        page: Any, tenant_factory: Any) -> None:  # noqa: F811
    t = tenant_factory()
    outlet = t.create_outlet("Kasir Payments")
    put = t.client.put(f"/api/v1/outlets/{outlet['id']}/payment-gateway",
                       json={"provider": "midtrans", "server_key": SERVER_KEY})
    assert put.status_code == 200, put.text
    secret = enroll(t, outlet["id"])
    confirmed, unconfirmed, mismatched = attempt("paid", 20000), attempt("paid", 15000), \
        attempt("paid", 30000)
    attempts = [confirmed, unconfirmed, mismatched, attempt("pending", 11000),
                attempt("expired", 9000), attempt("paid", 12000, gateway="static"),
                attempt("paid", 8000, gateway="xendit", method="ewallet", late=True),
                attempt("cancelled", 50000)]
    result = push(t, outlet["id"], secret, attempts)
    assert (result.status, result.applied) == ("ok", len(attempts))
    for body in (midtrans_body(confirmed.id, outlet["id"], amount="20000.00"),
                 midtrans_body(mismatched.id, outlet["id"], amount="3000.00")):
        assert httpx.post(t.server.base_url + MIDTRANS_PATH, json=body, timeout=30).status_code == 200

    r = t.client.get("/api/v1/reports/payments", params={"from": TODAY, "to": TODAY}).json()
    rec = t.client.get("/api/v1/reports/payments/reconciliation", params={"day": TODAY}).json()
    assert r["totals"]["attempts"] == len(attempts) and r["totals"]["pending"] == 1
    assert rec["differences"] >= 3

    page.goto(t.server.base_url + "/dashboard/")
    page.get_by_label("Email").fill(t.email)
    page.get_by_label("Password").fill(t.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("main[data-page=fleet]")
    page.goto(t.server.base_url + "/dashboard/#/payments")
    page.wait_for_selector("main[data-page=payments] form")
    page.get_by_label("From", exact=True).fill(TODAY)
    page.get_by_label("To", exact=True).fill(TODAY)
    page.get_by_label("Reconcile day (UTC)").fill(TODAY)
    page.get_by_role("button", name="Show", exact=True).click()
    _wait_for_report_of(page, TODAY)
    total = page.locator("tr[data-row=all] td[data-col=attempts]")
    assert total.inner_text() == str(r["totals"]["attempts"]) == str(len(attempts))

    def cells(key: str) -> list[str]:
        row = page.locator(f"tr[data-row='{key}']")
        return [row.locator(f"td[data-col={c}]").inner_text() for c in COLS]

    assert cells("all") == _shown(r["totals"])
    for m in r["by_method"]:
        assert cells(f"method:{m['method']}") == _shown(m), m["method"]
    for g in r["by_gateway"]:
        assert cells(f"gateway:{g['gateway']}") == _shown(g), g["gateway"]
    assert page.locator("tr[data-row='method:qris'] th").inner_text() == "QRIS"
    assert page.locator("tr[data-row='method:ewallet'] th").inner_text() == "E-wallet"
    kinds = sorted(d["kind"] for o in rec["outlets"] for d in o["differences"])
    assert sorted(page.locator("tr[data-kind]").evaluate_all(
        "rows => rows.map(r => r.dataset.kind)")) == kinds
    assert f"{rec['differences']} difference(s)" in page.locator("#h-recon").inner_text()
    assert "Amount differs" in page.locator("[data-table=reconciliation]").inner_text()

    with page.expect_download() as download:
        page.get_by_test_id("payments-csv").click()
    assert download.value.suggested_filename == f"payments-{TODAY}-{TODAY}.csv"
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    f = r["totals"]
    assert ["All", str(f["attempts"]), str(f["paid"]), str(f["paid_amount"]), str(f["pending"]),
            str(f["expired"]), str(f["cancelled"] + f["failed"]), str(f["late"]),
            str(f["success_rate"])] in rows
    assert sum(1 for row in rows if row and row[0] == "Amount differs") == kinds.count("amount_mismatch")

    # Indonesian: labels translated, no English left in the table heads.
    page.locator("#lang").select_option("id")
    page.wait_for_function("() => document.documentElement.lang === 'id'")
    page.wait_for_selector("main[data-page=payments] h2 >> text=Pembayaran")
    page.get_by_label("Dari", exact=True).fill(TODAY)  # the page is drawn anew in Indonesian
    page.get_by_label("Sampai", exact=True).fill(TODAY)
    page.get_by_label("Hari rekonsiliasi (UTC)").fill(TODAY)
    page.get_by_role("button", name="Tampilkan", exact=True).click()
    _wait_for_report_of(page, TODAY)
    heads = page.locator("[data-table=payments] thead").inner_text()
    assert "Kedaluwarsa" in heads and "Berhasil" in heads and "Expired" not in heads, heads
    assert page.locator("tr[data-row=all] th").inner_text() == "Semua"
    assert page.locator("tr[data-row='method:ewallet'] th").inner_text() == "Dompet digital"
    assert "Nominal berbeda" in page.locator("[data-table=reconciliation]").inner_text()
    assert cells("all") == _shown(r["totals"])
    if os.environ.get("FNBPOS_DOCS_IMAGES"):  # a test run leaves the checkout as it was
        page.screenshot(path=str(REPO / "docs" / "img" / "hub-payments.png"), full_page=True)


def test_every_payments_page_text_has_indonesian(page: Any, hub_server: Any) -> None:  # noqa: F811
    source = PAYMENTS_JS.read_text()
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("//", "import")))
    keys = set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', code))
    keys |= {k for k in re.findall(r'"([A-Z][^"]*)"', code)}  # KINDS, COLUMNS, table heads
    assert {"Attempts", "Amount differs", "via {gateway}", "Reconcile day (UTC)"} <= keys, keys
    page.goto(hub_server.base_url + "/dashboard/")
    missing = page.evaluate("""async (keys) => {
        const m = await import('/dashboard/js/i18n.js');
        return keys.filter(k => !(k in m.DEFINED));
    }""", sorted(keys))
    assert missing == [], missing
