"""PostgreSQL Row-Level Security: the database itself keeps tenants apart.

These tests use ``hub.db.Database`` directly (the same engine setup ``pos-hub serve`` uses)
against the session's PostgreSQL database and run raw SQL with no tenant filter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from hub.db import Database
from hub.models import Brand, OrderRow, Outlet, Tenant
from shared.ids import new_id

pytestmark = pytest.mark.postgres


async def _seed_tenant(db: Database, name: str, orders: int) -> tuple[str, str]:
    now = datetime.now(UTC)
    async with db.system() as session:
        tenant = Tenant(id=new_id(), name=name)
        session.add(tenant)
        await session.flush()
        brand = Brand(id=new_id(), tenant_id=tenant.id, name=name)
        session.add(brand)
        await session.flush()
        outlet = Outlet(id=new_id(), tenant_id=tenant.id, brand_id=brand.id, name=f"{name} 1",
                        timezone="Asia/Jakarta")
        session.add(outlet)
        await session.flush()
        for number in range(1, orders + 1):
            session.add(OrderRow(id=new_id(), tenant_id=tenant.id, outlet_id=outlet.id,
                                 number=number, business_day=date(2026, 11, 29), type="takeaway",
                                 status="completed", currency="IDR", subtotal=10_000,
                                 total=11_000, paid=11_000, created_at=now, updated_at=now))
    return tenant.id, outlet.id


@pytest.fixture
async def db(pg_url: str):
    database = Database(pg_url)
    yield database
    await database.dispose()


async def test_hub_connects_as_role_without_bypassrls(db: Database) -> None:
    async with db.tenant(new_id()) as session:
        user = await session.scalar(text("SELECT current_user"))
        bypass, superuser = (await session.execute(text(
            "SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user"))).one()
    assert user == "pos_hub_app"
    assert bypass is False and superuser is False


async def test_raw_select_without_where_sees_only_own_tenant(db: Database) -> None:
    tenant_a, _ = await _seed_tenant(db, "RlsA", orders=3)
    tenant_b, _ = await _seed_tenant(db, "RlsB", orders=2)

    async with db.tenant(tenant_a) as session:
        rows = (await session.execute(text("SELECT tenant_id FROM orders"))).all()
        tenants = (await session.execute(text("SELECT id FROM tenants"))).scalars().all()
        outlets = (await session.execute(text("SELECT tenant_id FROM outlets"))).scalars().all()
    assert len(rows) == 3 and {r.tenant_id for r in rows} == {tenant_a}
    assert tenants == [tenant_a]
    assert set(outlets) == {tenant_a}

    async with db.tenant(tenant_b) as session:
        count = await session.scalar(text("SELECT count(*) FROM orders"))
        # Even naming the other tenant explicitly finds nothing.
        leaked = await session.scalar(text("SELECT count(*) FROM orders WHERE tenant_id = :t"),
                                      {"t": tenant_a})
    assert count == 2
    assert leaked == 0


async def test_orm_query_is_filtered_too(db: Database) -> None:
    tenant_a, _ = await _seed_tenant(db, "OrmA", orders=1)
    tenant_b, _ = await _seed_tenant(db, "OrmB", orders=4)
    async with db.tenant(tenant_b) as session:
        rows = (await session.scalars(select(OrderRow))).all()
    assert len(rows) == 4 and all(r.tenant_id == tenant_b for r in rows)
    assert tenant_a not in {r.tenant_id for r in rows}


async def test_writing_another_tenants_row_is_refused(db: Database) -> None:
    tenant_a, _ = await _seed_tenant(db, "WrA", orders=0)
    tenant_b, outlet_b = await _seed_tenant(db, "WrB", orders=1)
    now = datetime.now(UTC)
    with pytest.raises((ProgrammingError, DBAPIError), match="row-level security"):
        async with db.tenant(tenant_a) as session:
            session.add(OrderRow(id=new_id(), tenant_id=tenant_b, outlet_id=outlet_b, number=9,
                                 business_day=date(2026, 11, 29), type="takeaway",
                                 status="placed", currency="IDR", subtotal=1, total=1,
                                 created_at=now, updated_at=now))
    # Updates and deletes of the other tenant's rows silently touch nothing.
    async with db.tenant(tenant_a) as session:
        updated = await session.execute(text("UPDATE orders SET status = 'voided'"))
        deleted = await session.execute(text("DELETE FROM orders WHERE tenant_id = :t"),
                                        {"t": tenant_b})
    assert updated.rowcount == 0 and deleted.rowcount == 0
    async with db.tenant(tenant_b) as session:
        statuses = (await session.execute(text("SELECT status FROM orders"))).scalars().all()
    assert statuses == ["completed"]


async def test_connection_without_tenant_setting_sees_nothing(db: Database) -> None:
    await _seed_tenant(db, "NoSet", orders=2)
    # A plain engine connection (no tenant session): the setting is unset.
    async with db.engine.connect() as conn:
        orders = await conn.scalar(text("SELECT count(*) FROM orders"))
        users = await conn.scalar(text("SELECT count(*) FROM users"))
    assert orders == 0 and users == 0


async def test_system_session_sees_all_tenants(db: Database) -> None:
    tenant_a, _ = await _seed_tenant(db, "SysA", orders=1)
    tenant_b, _ = await _seed_tenant(db, "SysB", orders=1)
    async with db.system() as session:
        seen = set((await session.execute(text("SELECT tenant_id FROM orders"))).scalars().all())
    assert {tenant_a, tenant_b} <= seen


async def test_published_catalog_and_audit_log_are_immutable(db: Database) -> None:
    tenant_a, _ = await _seed_tenant(db, "Immut", orders=0)
    with pytest.raises((ProgrammingError, DBAPIError), match="permission denied"):
        async with db.tenant(tenant_a) as session:
            await session.execute(text("DELETE FROM audit_log"))
    with pytest.raises((ProgrammingError, DBAPIError), match="permission denied"):
        async with db.tenant(tenant_a) as session:
            await session.execute(text("UPDATE catalog_snapshots SET version = 0"))
