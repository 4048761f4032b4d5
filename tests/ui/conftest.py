"""Fixtures for the browser tests: real edge processes (the edge helpers' fixtures from
tests/edge/conftest.py, re-exported here) and Chromium driven by Playwright.

* ``edge_server`` – a fresh demo edge for this test (kiosk, cashier and kds paired; demo
  staff PINs), for tests that restart it or count everything on it.
* ``shared_edge`` – one demo edge per module, for tests that only add orders and look at
  their own.
* ``chromium`` – Debian's Chromium driven by Playwright, one per test module; every page
  it opens gets a window of its own (see ``_pages_in_own_windows``).
* ``context`` – a browser context (reduced motion) that fails the test on any uncaught page
  error; without service workers in modules that say ``SERVICE_WORKERS = "block"``.
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
        _pages_in_own_windows(browser)
        yield browser
        browser.close()


def _pages_in_own_windows(browser: Any) -> None:
    """Make ``new_page`` of every context of ``browser`` open a window, not a tab.

    Headless Chromium draws the tabs of a window other than the one in front at about three
    frames a second, and Playwright waits for two frames in a row before each click ("visible,
    enabled and stable"): a test that works the KDS while the kiosk was opened after it waited
    1-2 s per tap. A window per page keeps every screen drawing as a screen on its own device
    does; the pages still share their context (storage, routes, clock, offline switch)."""
    cdp = browser.new_browser_cdp_session()
    new_context = browser.new_context

    def context_with_windows(*args: Any, **kwargs: Any) -> Any:
        ctx = new_context(*args, **kwargs)
        first_page = ctx.new_page
        context_id: list[str] = []

        def new_page() -> Any:
            if not context_id:  # the context's first page has its window to itself
                page = first_page()
                info = ctx.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
                context_id.append(info["browserContextId"])
                return page
            with ctx.expect_page() as opened:
                cdp.send("Target.createTarget", {"url": "about:blank", "newWindow": True,
                                                 "browserContextId": context_id[0]})
            return opened.value

        ctx.new_page = new_page
        return ctx

    browser.new_context = context_with_windows


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "service_worker: the test needs the apps' service worker "
                            "(a screen reloaded while the edge is away) in a module that blocks it")


@pytest.fixture
def context(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    # Reduced motion: the kiosk's attract screen pulses forever otherwise, ~9 % of a core
    # for every kiosk page left open; no test looks at an animation.
    # Service workers: a module whose tests never reload a screen while the edge is away sets
    # SERVICE_WORKERS = "block" (a test of it that does is marked service_worker): in every
    # fresh context the worker installs and fetches the whole shell (~45 files) from the
    # edge, about 0.3 s of CPU per test between Chromium and the edge.
    workers = ("allow" if request.node.get_closest_marker("service_worker")
               else getattr(request.module, "SERVICE_WORKERS", "allow"))
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID",
                               reduced_motion="reduce", service_workers=workers)
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
