"""How the browser files are served, through real servers: a real edge (``pos-edge serve``)
and a real hub (``pos-hub serve`` on SQLite), read with httpx and with Chromium.

* JS/CSS/HTML are brotli- or gzip-compressed for a client that accepts it, JS/CSS without
  comments and indentation (every line kept);
* each app's cold load (kiosk, cashier, hub dashboard) measured in Chromium with the sizes the
  browser itself reports, on a secure origin (``127.0.0.1``: Chromium offers brotli) and on a
  LAN name over plain HTTP (``edge.local``: gzip only), each within its budget; the cashier's
  PIN pad fetches none of the modules it loads on first use, and these still open offline
  (the service worker precached them);
* HTML entry points and the service worker are ``no-cache``; the files they link are
  versioned (``?v=<hash>``, an import map for module imports) and cached for a year;
  a matching ``If-None-Match`` gets 304;
* the favicon answers 200 on both servers;
* ``/schema`` (Swagger UI) loads with every non-local host blocked and shows the API's title.
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
from playwright.sync_api import expect

from hub.db import run_migrations
from tests.edge.edge_server import EdgeServer
from tests.hub.conftest import HubServer, start_hub
from tests.ui.browser_support import CHROMIUM, CHROMIUM_ARGS, REPO, SCREENSHOTS
from tests.ui.test_screens import cashier_login

pytestmark = pytest.mark.browser

GZ = {"Accept-Encoding": "gzip"}
BR = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium sends to a secure origin
PLAIN = {"Accept-Encoding": "identity"}  # httpx would ask for gzip by default
ONE_YEAR = "public, max-age=31536000, immutable"
_LINK = re.compile(r"""(?:src|href)="([^"]+\?v=[0-9a-f]{16})\"""")
_IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """A real hub on SQLite (nothing here needs PostgreSQL)."""
    work = tmp_path_factory.mktemp("hub-static")
    url = f"sqlite:///{work}/hub.db"
    run_migrations(url)
    server = start_hub(url, work)
    yield server
    server.stop()


def raw_get(url: str, **headers: str) -> httpx.Response:
    """A GET whose body is left as sent (httpx would inflate it): sizes on the wire."""
    with httpx.Client(timeout=30) as client, client.stream("GET", url, headers=headers) as res:
        res.body = b"".join(res.iter_raw())  # type: ignore[attr-defined]
        return res


def inflate(res: httpx.Response) -> bytes:
    body: bytes = res.body  # type: ignore[attr-defined]
    coding = res.headers.get("content-encoding")
    if coding == "br":
        return bytes(brotli.decompress(body))
    return gzip.decompress(body) if coding == "gzip" else body


def test_edge_compresses_versions_and_caches_the_apps(shared_edge: EdgeServer) -> None:
    base = shared_edge.base_url
    page = raw_get(f"{base}/kiosk/", **GZ)
    assert page.status_code == 200
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-cache"
    assert "Accept-Encoding" in page.headers["vary"]
    html = inflate(page).decode()
    links = _LINK.findall(html)
    assert "/kiosk/kiosk.js?v=" in " ".join(links) and "/common/base.css?v=" in " ".join(links)
    imports = json.loads(_IMPORT_MAP.search(html).group(1))["imports"]  # type: ignore[union-attr]
    assert imports["/common/api.js"].startswith("/common/api.js?v=")
    assert "/sw.js" not in imports
    # The import map comes before the first module script (the browser requires it).
    assert html.index('type="importmap"') < html.index("<script type=\"module\"")

    raw_total = wire_total = 0
    for link in [*links, *imports.values()]:
        res = raw_get(base + link, **GZ)
        assert res.status_code == 200, link
        assert res.headers["cache-control"] == ONE_YEAR, link
        body = inflate(res)
        raw_total += len(body)
        wire_total += len(res.body)  # type: ignore[attr-defined]
        if len(body) >= 1024:
            assert res.headers["content-encoding"] == "gzip", link
    # Measured on the demo kiosk-ui: about 30% of the raw bytes go over the wire.
    assert wire_total < 0.45 * raw_total, (wire_total, raw_total)

    # Brotli for a client that offers it: the same bytes as gzip's, under its own ETag,
    # smaller; JS goes out without its comments but with every line (stack traces match).
    source = (REPO / "kiosk-ui/kiosk/kiosk.js").read_text()
    kiosk_js = next(u for u in links if u.startswith("/kiosk/kiosk.js?v="))
    gz, br = raw_get(base + kiosk_js, **GZ), raw_get(base + kiosk_js, **BR)
    assert br.headers["content-encoding"] == "br" and br.headers["cache-control"] == ONE_YEAR
    assert inflate(br) == inflate(gz) and br.headers["etag"] != gz.headers["etag"]
    assert len(br.body) < 0.9 * len(gz.body)  # type: ignore[attr-defined]
    served = inflate(br).decode()
    assert served.count("\n") == source.count("\n") and len(served) < 0.9 * len(source)
    indented = (len(re.findall(r"^[ \t]", text, re.MULTILINE)) for text in (served, source))
    assert next(indented) < 0.35 * next(indented)  # only template literals keep theirs
    assert not re.search(r"^\s*//", served, re.MULTILINE) and "async function sendLoop(pending)" in served
    assert "content-disposition" not in br.headers
    again = raw_get(base + kiosk_js, **BR, **{"If-None-Match": br.headers["etag"]})
    assert again.status_code == 304
    assert raw_get(base + kiosk_js, **{"Accept-Encoding": "br;q=0, gzip"}).headers[
        "content-encoding"] == "gzip"

    # The same file without its version, or with an old one: revalidate every time.
    js = raw_get(f"{base}/kiosk/kiosk.js", **GZ)
    assert js.headers["cache-control"] == "no-cache"
    assert raw_get(f"{base}/kiosk/kiosk.js?v=0000000000000000").headers["cache-control"] == "no-cache"
    # A client without gzip gets the plain file, under its own ETag.
    plain = raw_get(f"{base}/kiosk/kiosk.js", **PLAIN)
    assert "content-encoding" not in plain.headers and plain.headers["etag"] != js.headers["etag"]
    for res in (js, plain):
        again = raw_get(f"{base}/kiosk/kiosk.js", **(GZ if res is js else PLAIN),
                        **{"If-None-Match": res.headers["etag"]})
        assert again.status_code == 304 and again.body == b""  # type: ignore[attr-defined]
    # The service worker is never versioned nor kept: its URL is fixed, updates must land.
    for url in ("/sw.js", f"/sw.js?v={js.headers['etag'].strip(chr(34))[:16]}"):
        sw = raw_get(base + url, **GZ)
        assert sw.status_code == 200 and sw.headers["cache-control"] == "no-cache"
    # Errors keep their shape and are not touched.
    missing = httpx.get(f"{base}/kiosk/nope.js")
    assert missing.status_code == 404

    icon = httpx.get(f"{base}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


# An app's cold load: its page, CSS and JS with every response's headers (the favicon is
# printed apart), service worker off. 42.6 KB for the kiosk before issue 13 (gzip 6 only).
BUDGET = {"kiosk": 40_000, "dashboard": 40_000, "cashier": 40_000}
LAN_BUDGET = {"kiosk": 40_000, "dashboard": 40_000, "cashier": 40_000}
# What the till fetches with import() on first use (New order, Shift, a QR, a refund), not
# for its PIN pad (43.7 KB / 49.7 KB when cashier.js still imported them all at start).
CASHIER_LATER = {"/cashier/counter.js", "/cashier/shift.js", "/cashier/qr.js",
                 "/cashier/refund.js", "/common/qr.js"}
LAN_HOST = "edge.local"  # resolved to 127.0.0.1 by Chromium: a plain-HTTP, non-secure origin


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """tests/ui/conftest.py's browser, resolving the LAN name too: one browser serves both
    origins (each test has contexts of its own), not a second launch for the LAN."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {LAN_HOST} 127.0.0.1"])
        yield browser
        browser.close()


def cold_load(browser: Any, url: str, ready: str) -> list[dict[str, Any]]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, service_workers="block")
    try:
        page = ctx.new_page()
        page.goto(url)
        expect(page.locator(ready).first).to_be_visible(timeout=20000)
        page.wait_for_load_state("networkidle")
        return list(page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            return [nav, ...performance.getEntriesByType('resource')]
              .filter(e => !e.name.includes('/api/'))
              .map(e => ({name: e.name, transfer: e.transferSize,
                          encoded: e.encodedBodySize, decoded: e.decodedBodySize}));
        }"""))
    finally:
        ctx.close()


@pytest.mark.parametrize("origin", ["secure", "lan"])
@pytest.mark.parametrize("app", ["kiosk", "cashier", "dashboard"])
def test_app_cold_transfer_within_budget(app: str, origin: str, shared_edge: EdgeServer,
                                         hub: HubServer, chromium: Any) -> None:
    """Each app's first load as the browser counts it (Resource Timing transferSize)."""
    base = hub.base_url if app == "dashboard" else shared_edge.base_url
    if origin == "lan":
        base = base.replace("127.0.0.1", LAN_HOST)
    url = (f"{base}/dashboard/" if app == "dashboard"
           else f"{base}/{app}/?token={shared_edge.tokens[app]}")
    ready = {"kiosk": "[data-testid=attract]", "cashier": "[data-testid=login]",
             "dashboard": "form >> text=Sign in"}[app]
    rows = cold_load(chromium, url, ready)
    files = [r for r in rows if not r["name"].split("?")[0].endswith("/favicon.ico")]
    assert len(files) >= 8, rows
    transfer = sum(r["transfer"] for r in files)
    encoded = sum(r["encoded"] for r in files)
    decoded = sum(r["decoded"] for r in files)
    favicon = sum(r["transfer"] for r in rows) - transfer
    print(f"{app} cold ({origin}): {len(files)} files, {decoded} B decoded, {encoded} B encoded, "
          f"{transfer} B transferred (+ favicon {favicon} B)")
    assert all(r["transfer"] > 0 for r in files), files  # nothing from a cache: really cold
    if app == "cashier":
        fetched = {urllib.parse.urlsplit(r["name"]).path for r in files}
        assert not fetched & CASHIER_LATER, fetched
    assert transfer <= (LAN_BUDGET if origin == "lan" else BUDGET)[app], files
    assert encoded < 0.4 * decoded, files


def test_kiosk_reload_fetches_only_the_page(shared_edge: EdgeServer, chromium: Any) -> None:
    """A reload revalidates only the page: every versioned file comes from the cache."""
    ctx = chromium.new_context(viewport={"width": 768, "height": 1280}, service_workers="block")
    try:
        page = ctx.new_page()
        page.goto(f"{shared_edge.base_url}/kiosk/?token={shared_edge.tokens['kiosk']}")
        expect(page.get_by_test_id("attract")).to_be_visible(timeout=10000)
        page.wait_for_load_state("networkidle")
        page.reload()
        expect(page.get_by_test_id("attract")).to_be_visible(timeout=10000)
        page.wait_for_load_state("networkidle")
        refetched = page.evaluate("""() => performance.getEntriesByType('resource')
            .filter(e => e.name.includes('?v=') && e.transferSize > 0).map(e => e.name)""")
        assert refetched == [], refetched
    finally:
        ctx.close()


def _blocked_outside(page: Any) -> list[str]:
    blocked: list[str] = []

    def guard(route: Any) -> None:
        host = re.match(r"^[a-z]+://([^/:]+)", route.request.url)
        if host and host.group(1) in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return blocked


@pytest.mark.parametrize("which", ["edge", "hub"])
def test_api_docs_load_from_local_files_only(which: str, shared_edge: EdgeServer,
                                             hub: HubServer, chromium: Any) -> None:
    base, title = ((shared_edge.base_url, "fnbpos edge API") if which == "edge"
                   else (hub.base_url, "fnbpos hub"))
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    ctx.on("weberror", lambda err: errors.append(str(err.error)))
    try:
        page = ctx.new_page()
        blocked = _blocked_outside(page)
        page.goto(f"{base}/schema")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text(title, timeout=20000)
        expect(page.locator(".opblock").first).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"ui-schema-{which}.png"))
        assert blocked == [], blocked
        assert errors == [], errors
        bundle = next(u for u in _LINK.findall(page.content()) if "swagger-ui-bundle.js" in u)
        res = raw_get(base + bundle, **GZ)
        assert res.headers["content-encoding"] == "gzip" and res.headers["cache-control"] == ONE_YEAR
        assert httpx.get(f"{base}/favicon.ico").status_code == 200
        docs = raw_get(f"{base}/schema", **GZ)
        assert docs.headers["content-encoding"] == "gzip" and b"cdn" not in inflate(docs).lower()
        spec = raw_get(f"{base}/schema/openapi.json", **GZ)
        assert spec.headers["content-encoding"] == "gzip"
        assert json.loads(inflate(spec))["info"]["title"] == title
    finally:
        ctx.close()


def test_hub_dashboard_compressed_and_versioned(hub: HubServer) -> None:
    base = hub.base_url
    page = raw_get(f"{base}/dashboard/", **GZ)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    html = inflate(page).decode()
    imports = json.loads(_IMPORT_MAP.search(html).group(1))["imports"]  # type: ignore[union-attr]
    assert imports["/dashboard/js/pages/fleet.js"].startswith("/dashboard/js/pages/fleet.js?v=")
    app_js = next(u for u in _LINK.findall(html) if "/dashboard/js/app.js" in u)
    res = raw_get(base + app_js, **GZ)
    assert res.headers["content-encoding"] == "gzip" and res.headers["cache-control"] == ONE_YEAR
    assert len(res.body) < 0.6 * len(inflate(res))  # type: ignore[attr-defined]
    icon = httpx.get(f"{base}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content == (Path(__file__).resolve().parents[2] / "hub/dashboard/favicon.ico").read_bytes()


def test_cashier_modules_fetched_on_first_use_open_offline(shared_edge: EdgeServer,
                                                           context: Any) -> None:
    """What the till fetches on first use is precached by sw.js: with the edge gone, a module
    this page never fetched is still imported (from the service worker's cache), and the
    counter and shift views open."""
    edge = shared_edge  # stopped for good: this is the module's last test
    page = context.new_page()
    page.goto(f"{edge.base_url}/cashier/?token={edge.tokens['cashier']}")
    expect(page.get_by_test_id("login")).to_be_visible(timeout=20000)
    # The PIN pad fetched none of them: only the service worker's install can have kept them.
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20000)
    kept = page.evaluate("""async (paths) => (await Promise.all(paths.map((u) => caches.match(u))))
        .map(Boolean)""", sorted(CASHIER_LATER))
    assert dict(zip(sorted(CASHIER_LATER), kept)) == dict.fromkeys(sorted(CASHIER_LATER), True)
    cashier_login(page, edge.pins["cashier"])
    expect(page.get_by_test_id("order-list")).to_be_visible()

    edge.stop()
    # URLs this page never asked for (a new ?v=): nothing in the HTTP cache or module map.
    exports = page.evaluate("""async (paths) => Promise.all(paths.map(async (p) =>
        Object.keys(await import(`${p}?v=offline`)).sort().join(",")))""", sorted(CASHIER_LATER))
    found = dict(zip(sorted(CASHIER_LATER), exports))
    assert found == {"/cashier/counter.js": "counterView", "/cashier/qr.js": "channelName,qrPayments",
                     "/cashier/refund.js": "discountDialog,refundDialog,retryRefundDialog",
                     "/cashier/shift.js": "shiftView",
                     "/common/qr.js": found["/common/qr.js"]} and "qrCard" in found["/common/qr.js"]
    nav = page.get_by_role("navigation")
    nav.get_by_role("button", name="Pesanan baru").click()
    expect(page.get_by_test_id("counter-product").first).to_be_visible(timeout=10000)
    nav.get_by_role("button", name="Shift").click()
    expect(page.get_by_test_id("shift-open").or_(page.get_by_test_id("shift-report"))).to_be_visible(
        timeout=10000)
