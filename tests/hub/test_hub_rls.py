"""PostgreSQL Row-Level Security: the database itself keeps tenants apart.

These tests use ``hub.db.Database`` directly with the roles ``pos-hub serve`` logs in as (the
app role for tenant sessions, the BYPASSRLS system role for system sessions; see
tests/hub/conftest.py) against the session's PostgreSQL database, and run raw SQL with no
tenant filter. tests/hub/test_security_roles.py does the same through the documented install.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from hub.db import Database, DatabaseRoleError
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
async def db(pg_roles):
    database = Database(pg_roles.app, system_url=pg_roles.system)
    yield database
    await database.dispose()


def _role(url: str) -> str:
    return url.split("//", 1)[1].split("@", 1)[0]


_WHO = text("SELECT current_user, r.rolbypassrls, r.rolsuper,"
            " pg_has_role(current_user, (SELECT tableowner FROM pg_tables"
            "  WHERE schemaname = 'public' AND tablename = 'orders'), 'MEMBER')"
            " FROM pg_roles r WHERE r.rolname = current_user")


async def test_hub_connects_as_role_without_bypassrls(db: Database, pg_roles) -> None:
    async with db.tenant(new_id()) as session:
        user, bypass, superuser, owner = (await session.execute(_WHO)).one()
    assert user == _role(pg_roles.app)
    assert bypass is False and superuser is False and owner is False
    async with db.system() as session:
        user, bypass, superuser, owner = (await session.execute(_WHO)).one()
    assert user == _role(pg_roles.system)
    assert bypass is True and superuser is False and owner is False


async def test_the_old_bypass_setting_lifts_nothing(db: Database) -> None:
    """M4: any session could set app.bypass_rls = 'on' and see every tenant."""
    tenant_a, _ = await _seed_tenant(db, "GucA", orders=2)
    tenant_b, _ = await _seed_tenant(db, "GucB", orders=3)
    async with db.tenant(tenant_a) as session:
        await session.execute(text("SET LOCAL app.bypass_rls = 'on'"))
        seen = set((await session.execute(text("SELECT tenant_id FROM orders"))).scalars().all())
        tenants = (await session.execute(text("SELECT id FROM tenants"))).scalars().all()
    assert seen == {tenant_a} and tenants == [tenant_a]
    async with db.engine.connect() as conn:  # no tenant at all, setting on for the session
        await conn.execute(text("SELECT set_config('app.bypass_rls', 'on', false)"))
        leaked = await conn.scalar(text("SELECT count(*) FROM orders WHERE tenant_id = :t"),
                                   {"t": tenant_b})
    assert leaked == 0


async def test_app_role_cannot_become_the_owner_or_lift_rls(db: Database, pg_roles) -> None:
    """M4: the hub used to SET ROLE from the owner, and RESET ROLE gave the owner back."""
    async with db.engine.connect() as conn:
        await conn.execute(text("RESET ROLE"))
        assert await conn.scalar(text("SELECT current_user")) == _role(pg_roles.app)
        await conn.rollback()
        for statement in (f'SET ROLE "{_role(pg_roles.owner)}"',
                          f'SET ROLE "{_role(pg_roles.system)}"',
                          f'SET SESSION AUTHORIZATION "{_role(pg_roles.owner)}"',
                          "ALTER TABLE orders DISABLE ROW LEVEL SECURITY",
                          "ALTER TABLE orders NO FORCE ROW LEVEL SECURITY",
                          "DROP POLICY tenant_isolation ON orders",
                          "CREATE TABLE sneaky (id int)"):
            with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                await conn.execute(text(statement))
            await conn.rollback()


async def test_policies_have_no_escape_hatch(pg_url: str) -> None:
    db = Database(pg_url)  # the superuser's view of the catalog
    try:
        async with db.system() as session:
            policies = (await session.execute(text(
                "SELECT tablename, qual, with_check FROM pg_policies"
                " WHERE schemaname = 'public'"))).all()
            unforced = (await session.execute(text(
                "SELECT relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname"
                " WHERE p.schemaname = 'public' AND NOT c.relforcerowsecurity"))).scalars().all()
    finally:
        await db.dispose()
    assert len(policies) >= 30 and unforced == []
    for table, qual, check in policies:
        assert "bypass" not in qual and "bypass" not in check, table
        assert "current_setting('app.tenant_id'" in qual, table


@pytest.mark.parametrize("logins, error", [
    ("owner", "owns the hub's tables"),
    ("app", "POS_HUB_DB_SYSTEM_URL is not set"),
    ("app+owner", "lacks BYPASSRLS"),
    ("app+app", "POS_HUB_DB_SYSTEM_URL is not set"),
])
async def test_start_up_refuses_logins_that_cannot_keep_tenants_apart(
        pg_roles, logins: str, error: str) -> None:
    url, _, system = logins.partition("+")
    db = Database(getattr(pg_roles, url),
                  system_url=getattr(pg_roles, system) if system else None)
    try:
        with pytest.raises(DatabaseRoleError, match=error):
            await db.verify_roles()
    finally:
        await db.dispose()


async def test_start_up_accepts_the_documented_roles(db: Database) -> None:
    await db.verify_roles()


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
