"""Catalog editing, outlet prices and availability, publishing immutable versions, and the
per-outlet menu (shared.schemas.Catalog) that edges receive."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from hub.catalog import catalog_for_outlet, latest_catalog_version
from hub.db import Database
from hub.models import EdgeAvailability
from shared import schemas as wire
from tests.hub.conftest import TenantCtx

pytestmark = pytest.mark.postgres


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _menu(t: TenantCtx, brand_id: str) -> dict[str, Any]:
    c = t.client
    drinks = _ok(c.post("/api/v1/catalog/categories", json={
        "brand_id": brand_id, "name": "Drinks", "station": "bar", "sort": 2}), 201)
    food = _ok(c.post("/api/v1/catalog/categories", json={
        "brand_id": brand_id, "name": "Food", "sort": 1, "names": {"id": "Makanan"}}), 201)
    spice = _ok(c.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": brand_id, "name": "Spice", "min_choices": 1, "max_choices": 1,
        "options": [{"name": "Mild"}, {"name": "Hot", "price_delta": 2000}]}), 201)
    rice = _ok(c.post("/api/v1/catalog/products", json={
        "brand_id": brand_id, "category_id": food["id"], "name": "Nasi Goreng", "price": 25000,
        "modifier_group_ids": [spice["id"]]}), 201)
    tea = _ok(c.post("/api/v1/catalog/products", json={
        "brand_id": brand_id, "category_id": drinks["id"], "name": "Es Teh", "price": 8000}), 201)
    return {"drinks": drinks, "food": food, "spice": spice, "rice": rice, "tea": tea}


def test_publish_resolves_prices_availability_and_tax_per_outlet(tenant_factory) -> None:
    t = tenant_factory()
    menu = _menu(t, t.brand_id)
    jakarta = t.create_outlet("Jakarta", "Asia/Jakarta", service_rate_bp=0, tax_rate_bp=1100,
                              tax_name="PPN", rounding_unit=100)
    bali = t.create_outlet("Bali", "Asia/Makassar")
    _ok(t.client.put(f"/api/v1/outlets/{jakarta['id']}/prices/{menu['rice']['id']}",
                     json={"price": 27000}))
    _ok(t.client.put(f"/api/v1/outlets/{bali['id']}/availability/{menu['tea']['id']}",
                     json={"available": False}))

    published = _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)
    assert published["version"] == 1 and published["outlets"] == 2

    jkt = msgspec.convert(_ok(t.client.get(f"/api/v1/outlets/{jakarta['id']}/catalog")), wire.Catalog)
    products = {p.name: p for p in jkt.products}
    assert jkt.version == 1 and jkt.currency == "IDR"
    assert jkt.tax == wire.TaxConfig(service_rate_bp=0, tax_rate_bp=1100, tax_name="PPN",
                                     prices_include_tax=False, rounding_unit=100)
    assert products["Nasi Goreng"].price == 27000 and products["Es Teh"].price == 8000
    assert products["Nasi Goreng"].modifier_group_ids == [menu["spice"]["id"]]
    assert [c.name for c in jkt.categories] == ["Food", "Drinks"]  # by sort
    assert jkt.categories[1].station == "bar" and jkt.categories[0].names == {"id": "Makanan"}
    (group,) = jkt.modifier_groups
    assert [(o.name, o.price_delta) for o in group.options] == [("Hot", 2000), ("Mild", 0)]

    bal = msgspec.convert(_ok(t.client.get(f"/api/v1/outlets/{bali['id']}/catalog")), wire.Catalog)
    bal_products = {p.name: p for p in bal.products}
    assert bal_products["Nasi Goreng"].price == 25000
    assert bal_products["Es Teh"].available is False
    assert bal.tax == wire.TaxConfig()  # outlet defaults: 5% service, 10% PB1


def test_published_versions_are_immutable_and_numbered(tenant_factory) -> None:
    t = tenant_factory()
    menu = _menu(t, t.brand_id)
    outlet = t.create_outlet("Solo", "Asia/Jakarta")
    _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)

    _ok(t.client.patch(f"/api/v1/catalog/products/{menu['tea']['id']}", json={"price": 9000}))
    _ok(t.client.delete(f"/api/v1/catalog/products/{menu['rice']['id']}"), 204)
    # Draft edits do not reach the outlet until the next publish.
    still = _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog"))
    assert {p["name"]: p["price"] for p in still["products"]} == {"Nasi Goreng": 25000,
                                                                  "Es Teh": 8000}
    v2 = _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)
    assert v2["version"] == 2
    latest = _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog"))
    assert latest["version"] == 2
    assert {p["name"]: p["price"] for p in latest["products"]} == {"Es Teh": 9000}
    old = _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog", params={"version": 1}))
    assert {p["name"] for p in old["products"]} == {"Nasi Goreng", "Es Teh"}
    versions = _ok(t.client.get(f"/api/v1/brands/{t.brand_id}/catalog-versions"))["items"]
    assert [v["version"] for v in versions] == [2, 1]
    missing = t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog", params={"version": 7})
    assert missing.status_code == 404


def test_outlet_created_after_publish_gets_latest_menu(tenant_factory) -> None:
    t = tenant_factory()
    _menu(t, t.brand_id)
    _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)
    late = t.create_outlet("Late", "Asia/Jakarta")
    catalog = _ok(t.client.get(f"/api/v1/outlets/{late['id']}/catalog"))
    assert catalog["version"] == 1 and len(catalog["products"]) == 2


def test_catalog_before_any_publish_is_404(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Fresh", "Asia/Jakarta")
    response = t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog")
    assert response.status_code == 404
    nothing = t.client.post(f"/api/v1/brands/{t.brand_id}/publish")
    assert nothing.status_code == 400 and "nothing to publish" in nothing.json()["error"]["message"]


async def test_catalog_for_outlet_renders_shared_catalog(tenant_factory, pg_url: str) -> None:
    t = tenant_factory()
    _menu(t, t.brand_id)
    outlet = t.create_outlet("Api", "Asia/Jakarta")
    _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)
    db = Database(pg_url)
    try:
        async with db.tenant(t.id) as session:
            catalog = await catalog_for_outlet(session, outlet["id"])
            assert await latest_catalog_version(session, outlet["id"]) == 1
        async with db.tenant(tenant_factory().id) as session:  # another tenant sees nothing
            assert await latest_catalog_version(session, outlet["id"]) is None
    finally:
        await db.dispose()
    assert isinstance(catalog, wire.Catalog)
    assert catalog == msgspec.convert(
        _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog")), wire.Catalog)


def test_modifier_group_options_are_replaced_keeping_ids(tenant_factory) -> None:
    t = tenant_factory()
    group = _ok(t.client.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": t.brand_id, "name": "Size", "options": [{"name": "S"}, {"name": "L"}]}), 201)
    small = next(o for o in group["options"] if o["name"] == "S")
    updated = _ok(t.client.patch(f"/api/v1/catalog/modifier-groups/{group['id']}", json={
        "options": [{"id": small["id"], "name": "Small"}, {"name": "XL", "price_delta": 5000}]}))
    assert {o["name"]: o["id"] == small["id"] for o in updated["options"]} == {
        "Small": True, "XL": False}
    foreign = t.client.patch(f"/api/v1/catalog/modifier-groups/{group['id']}", json={
        "options": [{"id": "not-an-option", "name": "X"}]})
    assert foreign.status_code == 400


@pytest.mark.parametrize("body, field", [
    ({"name": "X", "price": -1}, "price"),
    ({"name": "", "price": 100}, "name"),
    ({"name": "X", "price": 1.5}, "price"),
    ({"name": "X", "price": 100, "colour": "red"}, "colour"),
])
def test_bad_product_input_is_400(tenant: TenantCtx, body: dict, field: str) -> None:
    category = _ok(tenant.client.post("/api/v1/catalog/categories",
                                      json={"brand_id": tenant.brand_id, "name": "Misc"}), 201)
    response = tenant.client.post("/api/v1/catalog/products", json={
        "brand_id": tenant.brand_id, "category_id": category["id"], **body})
    assert response.status_code == 400, response.text
    assert field in response.text


def test_cross_brand_references_are_refused(tenant: TenantCtx) -> None:
    other_brand = _ok(tenant.client.post("/api/v1/brands", json={"name": "Second Brand"}), 201)
    category = _ok(tenant.client.post("/api/v1/catalog/categories",
                                      json={"brand_id": tenant.brand_id, "name": "Mains"}), 201)
    response = tenant.client.post("/api/v1/catalog/products", json={
        "brand_id": other_brand["id"], "category_id": category["id"], "name": "X", "price": 1})
    assert response.status_code == 400 and "category" in response.json()["error"]["message"]
    bad_group = tenant.client.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": tenant.brand_id, "name": "G", "min_choices": 3, "max_choices": 1})
    assert bad_group.status_code == 400


async def test_head_office_sees_sold_outs_reported_by_the_outlet(tenant_factory, pg_url: str) -> None:
    t = tenant_factory()
    menu = _menu(t, t.brand_id)
    outlet = t.create_outlet("Reported", "Asia/Jakarta")
    db = Database(pg_url)
    try:
        async with db.tenant(t.id) as session:  # what the sync engine does on an AvailabilityEvent
            session.add(EdgeAvailability(tenant_id=t.id, outlet_id=outlet["id"],
                                         product_id=menu["tea"]["id"], available=False,
                                         at=datetime(2026, 11, 29, 4, 0, tzinfo=UTC)))
    finally:
        await db.dispose()
    items = _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/reported-availability"))["items"]
    assert items == [{"product_id": menu["tea"]["id"], "available": False,
                      "at": "2026-11-29T04:00:00Z"}]


def test_concurrent_publishes_get_distinct_consecutive_versions(tenant_factory) -> None:
    t = tenant_factory()
    _menu(t, t.brand_id)
    t.create_outlet("Race", "Asia/Jakarta")
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: t.client.post(f"/api/v1/brands/{t.brand_id}/publish"),
                                  range(4)))
    assert [r.status_code for r in responses] == [201] * 4
    assert sorted(r.json()["version"] for r in responses) == [1, 2, 3, 4]
