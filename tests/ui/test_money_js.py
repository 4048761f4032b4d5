"""The kiosk's running total must equal what the edge charges.

common/money.js re-implements shared/pricing.py (the one place order money is computed) so
the cart can show totals before the order is sent. This test runs the browser module in
Chromium on many generated orders and compares every figure with the Python original, and
the "Rp 25.000" formatting with shared.money.format_money.
"""

from __future__ import annotations

import functools
import http.server
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from shared.money import format_money
from shared.pricing import PricedLine, price_order
from shared.schemas import TaxConfig
from tests.ui.browser_support import REPO

pytestmark = pytest.mark.browser


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # no access log in the test output
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a page closed mid-file (BrokenPipeError) is not the test's business


@pytest.fixture(scope="module")
def static_ui() -> Iterator[str]:
    """kiosk-ui served as plain files (no edge needed for pure modules)."""
    handler = functools.partial(_QuietFiles, directory=str(REPO / "kiosk-ui"))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def random_case(rng: random.Random) -> dict[str, Any]:
    tax = {"service_rate_bp": rng.choice([0, 500, 750, 1000]), "tax_rate_bp": rng.choice([0, 1000, 1100, 725]),
           "prices_include_tax": rng.random() < 0.3, "rounding_unit": rng.choice([1, 1, 100, 500, 1000]),
           "tax_name": "PB1"}
    lines = [{"price": rng.choice([0, 1, 999, 8000, 25_000, 33_333, 1_250_000, 10**11]),
              "deltas": [rng.choice([-5000, 0, 1500, 3000, 7777]) for _ in range(rng.randint(0, 3))],
              "qty": rng.randint(1, 999)} for _ in range(rng.randint(1, 6))]
    return {"tax": tax, "lines": lines, "discount": rng.choice([0, 0, 1000, 50_000, 10**12])}


def test_money_js_matches_shared_pricing(chromium: Any, static_ui: str) -> None:
    rng = random.Random(20261129)
    cases = [random_case(rng) for _ in range(400)]
    page = chromium.new_page()
    page.goto(f"{static_ui}/index.html")
    results = page.evaluate("""async (cases) => {
        const m = await import('/common/money.js');
        return cases.map(c => m.priceOrder(c.lines, c.tax, c.discount));
    }""", cases)
    page.close()
    for case, got in zip(cases, results, strict=True):
        expected = price_order([PricedLine(base_price=l["price"], option_deltas=l["deltas"], qty=l["qty"])
                                for l in case["lines"]], TaxConfig(**case["tax"]), case["discount"])
        assert (got["subtotal"], got["discount"], got["serviceCharge"], got["tax"], got["rounding"],
                got["total"]) == (expected.subtotal, expected.discount, expected.service_charge,
                                  expected.tax, expected.rounding, expected.total), case
        assert got["lineTotals"] == expected.line_totals


def test_money_js_formats_like_the_receipt(chromium: Any, static_ui: str) -> None:
    amounts = [0, 5, 999, 1000, 25_000, 1_234_567, -45_500, 10**12]
    currencies = ["IDR", "USD", "JPY"]
    page = chromium.new_page()
    page.goto(f"{static_ui}/index.html")
    shown = page.evaluate("""async ([amounts, currencies]) => {
        const m = await import('/common/money.js');
        return currencies.map(c => amounts.map(a => m.formatMoney(a, c)));
    }""", [amounts, currencies])
    page.close()
    assert shown[0][4] == "Rp 25.000"
    for row, currency in zip(shown, currencies, strict=True):
        assert row == [format_money(a, currency) for a in amounts]

