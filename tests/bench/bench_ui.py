"""Benchmark of the outlet browser apps: size on the wire and paint times from a real edge.

Prints one JSON line per figure:
* ``app_size`` – bytes of every file an app loads (its folder, the common modules it imports
  transitively, the service worker), raw and gzip-compressed; images excluded (there are none).
* ``first_paint`` – Chromium's first-paint / first-contentful-paint and the time until the
  app's first real screen is rendered, median of N fresh browser contexts (cold: no cache,
  no service worker) and of N reloads with the service worker installed (warm).
* ``kds_latency`` – from sending POST /api/v1/orders to the ticket being in the KDS DOM.

Run: .venv/bin/python tests/bench/bench_ui.py [--runs 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.edge.edge_server import EdgeServer
from tests.ui.browser_support import CHROMIUM, CHROMIUM_ARGS, app_files

APPS = {
    "kiosk": ("/kiosk/", "kiosk", "[data-testid=attract]"),
    "cashier": ("/cashier/", "cashier", "[data-testid=login]"),
    "kds": ("/kds/?station=kitchen", "kds", "[data-testid=station]"),
    "board": ("/board/", "kds", "[data-testid=ready]"),
}
def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def measure_sizes() -> None:
    for app in APPS:
        files = app_files(app)
        raw = sum(f.stat().st_size for f in files)
        gz = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files)
        emit(metric="app_size", app=app, files=len(files), bytes=raw, gzip_bytes=gz,
             budget_bytes=150_000 if app == "kiosk" else None)


PAINT_JS = """() => {
  const p = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
  const nav = performance.getEntriesByType('navigation')[0];
  return {fp: p['first-paint'] ?? null, fcp: p['first-contentful-paint'] ?? null,
          dcl: nav ? nav.domContentLoadedEventEnd : null, ready: window.__benchReady ?? null};
}"""
# Records when the app's first real screen exists, relative to navigation start.
READY_HOOK = """(selector) => {
  const check = () => { if (document.querySelector(selector)) { window.__benchReady = performance.now(); return true; } return false; };
  if (!check()) new MutationObserver((_, obs) => { if (check()) obs.disconnect(); })
    .observe(document, {childList: true, subtree: true});
}"""


def measure_paint(browser, edge: EdgeServer, tokens: dict[str, str], runs: int) -> None:
    for app, (path, role, ready_selector) in APPS.items():
        for mode in ("cold", "warm"):
            samples: list[dict] = []
            context = browser.new_context(viewport={"width": 768, "height": 1280})
            page = context.new_page()
            token_url = f"{edge.base_url}{path}{'&' if '?' in path else '?'}token={tokens[role]}"
            if mode == "warm":  # install the service worker and cache, then measure reloads
                page.goto(token_url)
                page.wait_for_selector(ready_selector)
                page.evaluate("async () => { await navigator.serviceWorker.ready; }")
            for i in range(runs):
                if mode == "cold" and i:
                    context.close()
                    context = browser.new_context(viewport={"width": 768, "height": 1280})
                    page = context.new_page()
                page.add_init_script(f"({READY_HOOK})({json.dumps(ready_selector)})")
                page.goto(token_url if mode == "cold" else f"{edge.base_url}{path}")
                page.wait_for_selector(ready_selector)
                page.wait_for_function("window.__benchReady !== undefined")
                samples.append(page.evaluate(PAINT_JS))
            context.close()
            for key in ("fp", "fcp", "dcl", "ready"):
                values = [s[key] for s in samples if s[key] is not None]
                if values:
                    emit(metric="first_paint", app=app, mode=mode, measure=key, runs=len(values),
                         median_ms=round(statistics.median(values), 1), max_ms=round(max(values), 1))


def measure_kds_latency(browser, edge: EdgeServer, tokens: dict[str, str], runs: int) -> None:
    menu = edge.call("GET", "/api/v1/menu", tokens["kiosk"])
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    product = next(p for p in menu["products"] if p.get("available", True))
    station = next(c["station"] for c in menu["categories"] if c["id"] == product["category_id"])
    modifiers = [o["id"] for gid in product.get("modifier_group_ids", []) for o in
                 groups[gid]["options"][: groups[gid]["min_choices"]]]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{edge.base_url}/kds/?station={station}&token={tokens['kds']}")
    page.wait_for_selector("[data-testid=station]")
    page.evaluate("""() => { window.__seen = {}; new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid=ticket]'))
          if (!(el.dataset.id in window.__seen)) window.__seen[el.dataset.id] = performance.timeOrigin + performance.now();
      }).observe(document.body, {childList: true, subtree: true}); }""")
    latencies = []
    for _ in range(runs):
        body = {"type": "takeaway", "lines": [{"product_id": product["id"], "qty": 1, "modifiers": modifiers}]}
        sent = time.time() * 1000
        order = edge.call("POST", "/api/v1/orders", tokens["kiosk"], json=body)
        ticket_ids = [t["id"] for t in edge.call(
            "GET", f"/api/v1/kitchen/tickets?station={station}&status=pending", tokens["kds"])["items"]
            if t["order_id"] == order["id"]]
        page.wait_for_function("(id) => id in window.__seen", arg=ticket_ids[0], timeout=10000)
        latencies.append(page.evaluate("(id) => window.__seen[id]", ticket_ids[0]) - sent)
        time.sleep(0.2)
    context.close()
    emit(metric="kds_latency", runs=runs, median_ms=round(statistics.median(latencies), 1),
         max_ms=round(max(latencies), 1),
         note="POST /api/v1/orders sent -> the ticket is in the KDS page's DOM")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    measure_sizes()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        edge = EdgeServer(Path(tmp) / "edge")
        edge.start()
        try:
            tokens = edge.tokens
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            measure_paint(browser, edge, tokens, args.runs)
            measure_kds_latency(browser, edge, tokens, args.runs)
            browser.close()
        finally:
            edge.stop()


if __name__ == "__main__":
    main()
