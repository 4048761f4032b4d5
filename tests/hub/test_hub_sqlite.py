"""The embedded SQLite default: the same flows work, and tenant sessions filter ORM queries
by tenant (SQLite has no RLS, so this filter is what keeps tenants apart there)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from hub.db import Database
from hub.models import OrderRow, Outlet, Tenant
from tests.hub.conftest import HubServer


def test_publish_and_isolation_over_http_on_sqlite(sqlite_hub_server: HubServer,
                                                   tenant_factory) -> None:
    a = tenant_factory(server=sqlite_hub_server)
    b = tenant_factory(server=sqlite_hub_server)
    outlet_b = b.create_outlet("B1", "Asia/Jakarta")
    category = b.client.post("/api/v1/catalog/categories",
                             json={"brand_id": b.brand_id, "name": "Cat"}).json()
    b.client.post("/api/v1/catalog/products", json={
        "brand_id": b.brand_id, "category_id": category["id"], "name": "Kopi", "price": 18000})
    assert b.client.post(f"/api/v1/brands/{b.brand_id}/publish").status_code == 201
    menu = b.client.get(f"/api/v1/outlets/{outlet_b['id']}/catalog").json()
    assert [p["price"] for p in menu["products"]] == [18000]

    assert a.client.get(f"/api/v1/outlets/{outlet_b['id']}").status_code == 404
    assert a.client.get(f"/api/v1/outlets/{outlet_b['id']}/catalog").status_code == 404
    assert a.client.post(f"/api/v1/brands/{b.brand_id}/publish").status_code == 404
    assert outlet_b["id"] not in a.client.get("/api/v1/outlets").text
    assert category["id"] not in a.client.get("/api/v1/catalog/categories").text

    rotated = a.client.post("/api/v1/auth/refresh", json={"refresh_token": a.refresh_token})
    assert rotated.status_code == 200
    reused = a.client.post("/api/v1/auth/refresh", json={"refresh_token": a.refresh_token})
    assert reused.status_code == 401


async def test_orm_queries_are_tenant_filtered_on_sqlite(sqlite_url: str, tenant_factory,
                                                         sqlite_hub_server: HubServer) -> None:
    a = tenant_factory(server=sqlite_hub_server)
    b = tenant_factory(server=sqlite_hub_server)
    outlets = {t.id: t.create_outlet("O", "Asia/Jakarta")["id"] for t in (a, b)}
    now = datetime.now(UTC)
    db = Database(sqlite_url)
    try:
        async with db.system() as session:
            for tenant_id, outlet_id in outlets.items():
                session.add(OrderRow(id=f"order-{tenant_id}", tenant_id=tenant_id,
                                     outlet_id=outlet_id, number=1, business_day=date(2026, 1, 2),
                                     type="dine_in", status="completed", currency="IDR",
                                     subtotal=5, total=5, created_at=now, updated_at=now))
        async with db.tenant(a.id) as session:
            orders = (await session.scalars(select(OrderRow))).all()
            seen_outlets = (await session.scalars(select(Outlet.id))).all()
            assert await session.get(Tenant, a.id) is not None
        async with db.tenant(b.id) as session:  # the cached ORM filter takes the new tenant
            orders_b = (await session.scalars(select(OrderRow))).all()
        assert [o.id for o in orders_b] == [f"order-{b.id}"]
        assert [o.id for o in orders] == [f"order-{a.id}"]
        assert seen_outlets == [outlets[a.id]]
        assert orders[0].created_at.tzinfo is not None  # UTC-aware on SQLite too
    finally:
        await db.dispose()
