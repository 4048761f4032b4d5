"""Fixtures for the browser tests: a real edge process with the demo outlet, paired devices,
staff PINs, and Chromium driven by Playwright.

The edge is started through the same CLI an operator uses (``pos-edge init --demo`` then
``pos-edge serve``), via tests/ui/ui_edge.py, because these tests must stop and restart the
process mid-checkout; the edge helpers' ``edge_server`` fixture is used for the shared demo
facts (see ``demo_pins``) when it is available.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.ui_edge import CHROMIUM_ARGS, SCREENSHOTS, EdgeProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's /usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeProcess]:
    process = EdgeProcess(tmp_path / "edge")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def devices(edge: EdgeProcess) -> dict[str, str]:
    """One paired device per screen role, as a technician would pair them."""
    return {role: edge.pair(role, f"ui-test-{role}") for role in ("kiosk", "cashier", "kds")}


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


def copy_to_docs(name: str) -> None:
    """Keep docs/img in step with what the tests saw (used when refreshing the docs)."""
    source = SCREENSHOTS / f"ui-{name}.png"
    if source.exists():
        target = Path(__file__).resolve().parents[2] / "docs" / "img" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
