"""Pull on the edge against a real hub: a page is verified before it is written, applied with
its cursor in one transaction, and a catalog is never half-applied."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import msgspec
import pytest

from edge import catalog as menu
from edge import sync_state
from edge.db import Database
from edge.provision import provision
from shared.errors import PosError
from shared.schemas import Product
from sync.client import HubClient
from sync.protocol import PullChange, PullResponse, decode_frame, encode_frame
from sync.pull import PullOutcome, pull_once
from tests.sync.conftest import issue_code, publish_catalog

pytestmark = pytest.mark.postgres


class TamperingTransport(httpx.AsyncBaseTransport):
    """Forwards to the real hub, then changes a price in the catalog it sends back (a broken
    or malicious middlebox) without being able to fix the checksum."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if request.url.path.endswith("/sync/pull") and response.status_code == 200:
            page = decode_frame(body, PullResponse)
            for change in page.changes:
                if change.catalog is not None and change.catalog.products:
                    first = msgspec.structs.replace(change.catalog.products[0], price=1)
                    change.catalog = msgspec.structs.replace(
                        change.catalog, products=[first, *change.catalog.products[1:]])
            body = encode_frame(page)
        return httpx.Response(response.status_code, headers={"content-type": "application/x-fnbpos-sync"},
                              content=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


def pull(db: Database, base_url: str, credential: str, transport: httpx.AsyncBaseTransport | None = None
         ) -> PullOutcome:
    async def go() -> PullOutcome:
        async with HubClient(base_url, credential, transport=transport) as client:
            return await pull_once(sync_state.EdgeStore(db), client)
    return asyncio.run(go())


def menu_prices(db: Database) -> dict[str, int]:
    return {p.name: p.price for p in db.read_now(menu.read_catalog).products}


def test_pages_are_verified_then_applied_with_their_cursor(hub_server, tenant_factory, tmp_path):
    tenant = tenant_factory()
    publish_catalog(tenant, [("Sop Buntut", 55_000), ("Jus Alpukat", 18_000)])
    outlet = tenant.create_outlet(f"Pull {uuid.uuid4().hex[:4]}")
    box = tmp_path / "box"
    provision(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"], box)
    credential = sync_state.read_config(box).credential
    db = Database(box / "edge.db")
    try:
        state = db.read_now(sync_state.load_state)
        v1, cursor = state["catalog_version"], state["pull_cursor"]
        # the cursor is the hub's feed position (catalog, staff and settings each moved it)
        assert v1 >= 1 and cursor >= 1 and menu_prices(db)["Sop Buntut"] == 55_000
        products = tenant.client.get("/api/v1/catalog/products").json()["items"]
        soup = next(p for p in products if p["name"] == "Sop Buntut")
        tenant.client.patch(f"/api/v1/catalog/products/{soup['id']}", json={"price": 60_000})
        tenant.client.post(f"/api/v1/brands/{tenant.brand_id}/publish")

        tampered = pull(db, hub_server.base_url, credential, TamperingTransport())
        assert "checksum" in tampered.error and tampered.applied == 0
        state = db.read_now(sync_state.load_state)
        assert state["pull_cursor"] == cursor and "checksum" in state["last_error"]
        assert menu_prices(db)["Sop Buntut"] == 55_000  # nothing of the bad page was written

        honest = pull(db, hub_server.base_url, credential)
        assert honest.ok and honest.applied == 1 and honest.verified
        state = db.read_now(sync_state.load_state)
        assert state["pull_cursor"] == cursor + 1 and state["catalog_version"] > v1
        assert menu_prices(db)["Sop Buntut"] == 60_000
        assert db.read_now(sync_state.catalog_checksum_of) == state["catalog_checksum"]

        # A catalog the edge's menu rules reject (a product in a missing category) is refused
        # whole: the menu and the cursor stay as they were.
        current = db.read_now(menu.read_catalog)
        broken = msgspec.structs.replace(current, version=current.version + 1, products=[
            *current.products, Product(id="orphan", category_id="nowhere", name="Orphan", price=1)])
        page = PullResponse(cursor=broken.version, changes=[PullChange(
            cursor=broken.version, kind="catalog", version=broken.version, checksum="x",
            catalog=broken)])
        with pytest.raises(PosError):
            db.write_blocking(lambda c: sync_state.apply_feed_page(c, page))
        assert db.read_now(sync_state.load_state)["pull_cursor"] == state["pull_cursor"]
        assert "Orphan" not in menu_prices(db) and len(menu_prices(db)) == 2
    finally:
        db.close()
