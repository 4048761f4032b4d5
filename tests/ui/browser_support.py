"""What the browser tests and the UI benchmark share: how Chromium is launched, where
screenshots go, and which files an app loads. The edge processes themselves come from
tests/edge/edge_server.py."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
UI = REPO / "kiosk-ui"
APPS = ("kiosk", "cashier", "kds", "board", "waiter")
KIOSK_BUDGET_BYTES = 150_000  # the whole kiosk app, uncompressed, images excluded

# static imports and dynamic import("...") (a module loaded on first use is still the app's)
_IMPORT = re.compile(r"""(?:import|from)\s*\(?\s*(?:[^'"]*?from\s*)?["']([^"']+\.js)["']""")
_LINKED = re.compile(r"""(?:href|src)=["'](/[^"']+\.(?:css|js))["']""")


def app_files(app: str) -> list[Path]:
    """index.html, what it links, every module reachable by import, and the service worker;
    a file referenced but missing is listed too (tests/ui/test_app_budget.py fails on it)."""
    html = UI / app / "index.html"
    todo = [UI / p.lstrip("/") for p in _LINKED.findall(html.read_text())]
    seen: set[Path] = {html.resolve(), (UI / "sw.js").resolve()}
    while todo:
        path = todo.pop().resolve()
        if path in seen:
            continue
        seen.add(path)
        if path.suffix == ".js" and path.exists():
            for spec in _IMPORT.findall(path.read_text()):
                todo.append((UI / spec.lstrip("/")) if spec.startswith("/") else (path.parent / spec))
    return sorted(seen)
