"""The outlet apps stay small and self-contained: the kiosk under its 150 KB budget, every
file an app imports present, and nothing loaded from outside the edge (no CDN, no web
fonts): an outlet must keep working with the internet down."""

from __future__ import annotations

import re

import pytest

from tests.ui.browser_support import APPS, KIOSK_BUDGET_BYTES, UI, app_files

EXTERNAL = re.compile(r"""(?:src|href|import|from|url\()\s*=?\s*["']?(?:https?:)?//""")


def test_kiosk_app_is_under_its_size_budget() -> None:
    files = app_files("kiosk")
    assert all(f.exists() for f in files), "a file the kiosk loads is missing"
    size = sum(f.stat().st_size for f in files if f.suffix != ".png")
    assert size < KIOSK_BUDGET_BYTES, f"kiosk app is {size} bytes"


@pytest.mark.parametrize("app", APPS)
def test_every_module_an_app_imports_exists(app: str) -> None:
    files = app_files(app)
    missing = [str(f.relative_to(UI.resolve())) for f in files if not f.exists()]
    assert not missing, f"{app} loads files that do not exist: {missing}"
    assert any(f.name == f"{app}.js" for f in files), "the app's own module is loaded"
    assert (UI / "common" / "api.js").resolve() in files


def test_nothing_is_loaded_from_outside_the_edge() -> None:
    for path in UI.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text()
            assert not EXTERNAL.search(text), f"{path.relative_to(UI)} loads something from the internet"


def test_the_service_worker_precaches_every_shell_file() -> None:
    shell = set(re.findall(r'"(/[^"]*)"', (UI / "sw.js").read_text().split("const CACHED_API")[0]))
    for app in APPS:
        for path in app_files(app):
            if path.name == "sw.js":
                continue
            rel = "/" + str(path.relative_to(UI.resolve()))
            assert rel in shell, f"{rel} is not precached by sw.js"
