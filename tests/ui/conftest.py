"""Fixtures for the browser tests: real edge processes (the edge helpers' fixtures from
tests/edge/conftest.py, re-exported here) and Chromium driven by Playwright.

* ``edge_server`` – a fresh demo edge for this test (kiosk, cashier and kds paired; demo
  staff PINs), for tests that restart it or count everything on it.
* ``shared_edge`` – one demo edge per module, for tests that only add orders and look at
  their own.
* ``chromium`` – Debian's Chromium driven by Playwright, one per test module.
* ``context`` – a browser context that fails the test on any uncaught page error.
* ``shoot(page, name)`` – saves artifacts/screenshots/ui-<name>.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.edge.conftest import edge_server, edge_server_factory, shared_edge  # noqa: F401
from tests.ui.browser_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    # Per module, not per session: Playwright's sync API keeps its event loop registered as
    # running while it is started, so a later test on the same xdist worker that calls
    # asyncio.run() would fail ("cannot be called from a running event loop").
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID")
    errors: list[str] = []
    ctx.on("weberror", lambda err: errors.append(str(err.error)))
    yield ctx
    ctx.close()
    # A script error on any screen is a bug even when the flow happened to finish.
    assert not errors, f"page errors: {errors}"


@pytest.fixture
def shoot() -> Any:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"ui-{name}.png"
        page.screenshot(path=str(path))
        return path

    return save


# Scores that browser tests measure (axe violations, Lighthouse scores) reach the end of the
# run's output through each report's user_properties ("ui_scores"), which pytest-xdist carries
# from its workers.
_SCORES: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _SCORES.extend((report.nodeid, str(v)) for k, v in report.user_properties if k == "ui_scores")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SCORES:
        terminalreporter.section("accessibility and performance scores")
        for nodeid, text in _SCORES:
            terminalreporter.write_line(f"{nodeid}\n{text}")
