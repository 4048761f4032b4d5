"""How the browser files are served, through real servers: a real edge (``pos-edge serve``)
and a real hub (``pos-hub serve`` on SQLite), read with httpx and with Chromium.

* JS/CSS/HTML are gzip-compressed for a client that accepts it (and measured: the kiosk's
  transfer in Chromium, cold, with the sizes the browser itself reports);
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from hub.db import run_migrations
from tests.edge.edge_server import EdgeServer
from tests.hub.conftest import HubServer, start_hub
from tests.ui.browser_support import SCREENSHOTS

pytestmark = pytest.mark.browser

GZ = {"Accept-Encoding": "gzip"}
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
    return gzip.decompress(body) if res.headers.get("content-encoding") == "gzip" else body


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


def test_kiosk_cold_transfer_measured_in_chromium(shared_edge: EdgeServer, chromium: Any) -> None:
    """The kiosk's first load as the browser counts it (Resource Timing transferSize),
    service worker off so that every byte comes from the network."""
    ctx = chromium.new_context(viewport={"width": 768, "height": 1280}, service_workers="block")
    try:
        page = ctx.new_page()
        page.goto(f"{shared_edge.base_url}/kiosk/?token={shared_edge.tokens['kiosk']}")
        expect(page.get_by_test_id("attract")).to_be_visible(timeout=10000)
        page.wait_for_load_state("networkidle")
        sizes = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const rows = [nav, ...performance.getEntriesByType('resource')]
              .filter(e => !e.name.includes('/api/'))
              .filter(e => /\\.(js|css)(\\?|$)|\\/kiosk\\/(\\?|$)/.test(e.name));
            return rows.map(e => ({name: e.name, transfer: e.transferSize,
                                   encoded: e.encodedBodySize, decoded: e.decodedBodySize}));
        }""")
        assert len(sizes) >= 8, sizes
        encoded = sum(s["encoded"] for s in sizes)
        decoded = sum(s["decoded"] for s in sizes)
        transfer = sum(s["transfer"] for s in sizes)
        print(f"kiosk cold: {len(sizes)} files, {decoded} B decoded, {encoded} B encoded, "
              f"{transfer} B transferred")
        assert encoded < 0.45 * decoded, sizes
        # A reload revalidates only the page: every versioned file comes from the cache.
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
