"""Head-office administration over HTTP: tenant, brands, outlets, users, the audit log and
the fleet view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from hub.db import Database
from hub.ingest.status import SyncIdentity, status_row, touch_status
from hub.models import OutletStatus, utcnow
from tests.hub.conftest import TenantCtx, login

pytestmark = pytest.mark.postgres


def test_outlet_settings_round_trip_and_validation(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Kemang", "Asia/Jakarta", address="Jl. Kemang Raya 1",
                             service_rate_bp=750, tax_rate_bp=1100, tax_name="PPN",
                             prices_include_tax=True, rounding_unit=500,
                             settings={"kitchen_trigger": "payment"})
    assert outlet["brand_id"] == t.brand_id and outlet["currency"] == "IDR"
    fetched = t.client.get(f"/api/v1/outlets/{outlet['id']}").json()
    assert fetched == outlet
    updated = t.client.patch(f"/api/v1/outlets/{outlet['id']}",
                             json={"timezone": "Asia/Makassar", "tax_rate_bp": 1000})
    assert updated.status_code == 200
    assert updated.json()["timezone"] == "Asia/Makassar" and updated.json()["tax_rate_bp"] == 1000
    assert updated.json()["tax_name"] == "PPN"  # untouched fields stay

    for body in [{"name": "X", "timezone": "Mars/Olympus"}, {"name": "", "timezone": "UTC"},
                 {"name": "X", "timezone": "UTC", "tax_rate_bp": 20000},
                 {"name": "X", "timezone": "UTC", "rounding_unit": 0},
                 {"name": "X", "timezone": "UTC", "currency": "rupiah"},
                 {"name": "X", "timezone": "UTC", "brand_id": "no-such-brand"},
                 {"timezone": "UTC"}]:
        response = t.client.post("/api/v1/outlets", json=body)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}
    assert t.client.patch(f"/api/v1/outlets/{outlet['id']}",
                          json={"timezone": "Nowhere/City"}).status_code == 400
    assert t.client.get("/api/v1/outlets/unknown-id").status_code == 404


def test_several_brands_require_brand_id(tenant_factory) -> None:
    t = tenant_factory()
    second = t.client.post("/api/v1/brands", json={"name": "Kopi Kita"})
    assert second.status_code == 201
    duplicate = t.client.post("/api/v1/brands", json={"name": "Kopi Kita"})
    assert duplicate.status_code == 409
    response = t.client.post("/api/v1/outlets", json={"name": "X", "timezone": "Asia/Jakarta"})
    assert response.status_code == 400 and "brand_id" in response.json()["error"]["message"]
    outlet = t.create_outlet("Kopi 1", "Asia/Jakarta", brand_id=second.json()["id"])
    assert outlet["brand_id"] == second.json()["id"]


def test_users_roles_and_outlet_scopes(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Scope", "Asia/Jakarta")
    user, client = t.create_user("outlet_manager", [outlet["id"]])
    assert user["outlet_ids"] == [outlet["id"]] and user["role"] == "outlet_manager"
    assert "password" not in str(user) and "hash" not in str(user)
    me = client.get("/api/v1/me").json()
    assert me["outlet_ids"] == [outlet["id"]]

    no_outlets = t.client.post("/api/v1/users", json={
        "email": "m@scope.test", "password": "password-1", "role": "area_manager"})
    assert no_outlets.status_code == 400
    duplicate = t.client.post("/api/v1/users", json={
        "email": user["email"].upper(), "password": "password-1", "role": "hq_admin"})
    assert duplicate.status_code == 409
    other_tenant_email = t.client.post("/api/v1/users", json={
        "email": tenant_factory().email, "password": "password-1", "role": "hq_admin"})
    # Emails are unique per tenant: another tenant's address is no conflict (no oracle).
    assert other_tenant_email.status_code == 201
    for body in [{"email": "not-an-email", "password": "password-1", "role": "hq_admin"},
                 {"email": "a@b.test", "password": "short", "role": "hq_admin"},
                 {"email": "a@b.test", "password": "password-1", "role": "superuser"}]:
        assert t.client.post("/api/v1/users", json=body).status_code == 400, body

    # Changing a user's role or password ends their sessions.
    tokens = login(t.server, user["email"], "password-123")
    promoted = t.client.patch(f"/api/v1/users/{user['id']}", json={"role": "hq_admin"})
    assert promoted.status_code == 200 and promoted.json()["outlet_ids"] == []
    refreshed = t.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    # The owner cannot lock themselves out.
    me_owner = t.client.get("/api/v1/me").json()
    assert t.client.patch(f"/api/v1/users/{me_owner['user_id']}",
                          json={"active": False}).status_code == 403


def test_outlet_manager_permissions(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Perm", "Asia/Jakarta")
    category = t.client.post("/api/v1/catalog/categories",
                             json={"brand_id": t.brand_id, "name": "C"}).json()
    product = t.client.post("/api/v1/catalog/products", json={
        "brand_id": t.brand_id, "category_id": category["id"], "name": "P", "price": 1000}).json()
    _, manager = t.create_user("outlet_manager", [outlet["id"]])
    # May mark items sold out at their outlet, may not change prices, publish or edit outlets.
    assert manager.put(f"/api/v1/outlets/{outlet['id']}/availability/{product['id']}",
                       json={"available": False}).status_code == 200
    assert manager.put(f"/api/v1/outlets/{outlet['id']}/prices/{product['id']}",
                       json={"price": 5}).status_code == 403
    assert manager.post(f"/api/v1/brands/{t.brand_id}/publish").status_code == 403
    assert manager.patch(f"/api/v1/outlets/{outlet['id']}", json={"name": "Mine"}).status_code == 403
    assert manager.get("/api/v1/audit").status_code == 403
    assert manager.patch("/api/v1/tenant", json={"name": "Mine"}).status_code == 403


def test_audit_log_records_who_what_when_before_after(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Audited", "Asia/Jakarta")
    t.client.patch(f"/api/v1/outlets/{outlet['id']}", json={"tax_rate_bp": 1100})
    user, _ = t.create_user("hq_admin")
    entries = t.client.get("/api/v1/audit", params={"entity_id": outlet["id"]}).json()["items"]
    assert [e["action"] for e in entries] == ["outlet.update", "outlet.create"]
    update_entry = entries[0]
    assert update_entry["actor_email"] == t.email
    assert update_entry["before"]["tax_rate_bp"] == 1000
    assert update_entry["after"]["tax_rate_bp"] == 1100
    assert update_entry["ip"] == "127.0.0.1"
    assert entries[1]["before"] is None and entries[1]["after"]["name"] == "Audited"

    user_entries = t.client.get("/api/v1/audit", params={"entity_type": "user"}).json()["items"]
    assert user_entries[0]["entity_id"] == user["id"]
    assert "password_hash" not in str(user_entries)
    tenant_entries = t.client.get("/api/v1/audit", params={"entity_type": "tenant"}).json()["items"]
    assert tenant_entries[-1]["action"] == "tenant.create"
    assert tenant_entries[-1]["actor_email"] == "cli"

    # Paging backwards by id
    first_page = t.client.get("/api/v1/audit", params={"limit": 2}).json()["items"]
    second_page = t.client.get("/api/v1/audit", params={"limit": 2,
                                                        "before_id": first_page[-1]["id"]}).json()
    assert first_page[-1]["id"] > second_page["items"][0]["id"]
    assert t.client.get("/api/v1/audit", params={"limit": 0}).status_code == 400
    assert t.client.get("/api/v1/audit", params={"limit": "lots"}).status_code == 400


async def test_fleet_view_reports_status_and_online(tenant_factory, pg_url: str) -> None:
    t = tenant_factory()
    live = t.create_outlet("Live", "Asia/Jakarta")
    stale = t.create_outlet("Stale", "Asia/Jakarta")
    never = t.create_outlet("Never", "Asia/Jakarta")
    db = Database(pg_url)
    try:
        async with db.tenant(t.id) as session:
            now = utcnow()
            await touch_status(session, SyncIdentity(t.id, live["id"], ""), now, pushed=True,
                               backlog=7, edge_version="0.1.0")
            stale_outlet = SyncIdentity(t.id, stale["id"], "")
            await touch_status(session, stale_outlet, now, pulled=True, error="hub rejected batch")
            (await status_row(session, stale_outlet, now)).journal_alarm = "gap at seq 41"
            await session.execute(update(OutletStatus).where(OutletStatus.outlet_id == stale["id"])
                                  .values(last_contact_at=utcnow() - timedelta(hours=2)))
    finally:
        await db.dispose()
    entries = {e["outlet_name"]: e for e in t.client.get("/api/v1/fleet").json()["items"]}
    assert set(entries) == {"Live", "Stale", "Never"}
    assert entries["Live"]["online"] is True
    assert entries["Live"]["reported_backlog"] == 7 and entries["Live"]["edge_version"] == "0.1.0"
    assert entries["Live"]["last_push_at"] is not None and entries["Live"]["last_pull_at"] is None
    assert entries["Stale"]["online"] is False
    assert entries["Stale"]["last_error"] == "hub rejected batch"
    assert entries["Stale"]["journal_alarm"] == "gap at seq 41"
    assert entries["Never"]["online"] is False and entries["Never"]["last_contact_at"] is None
    assert never["id"] == entries["Never"]["outlet_id"]


def test_tenant_read_and_update(tenant: TenantCtx) -> None:
    assert tenant.client.get("/api/v1/tenant").json()["name"] == tenant.name
    bad = tenant.client.patch("/api/v1/tenant", json={"currency": "idr"})
    assert bad.status_code == 400
    assert tenant.client.patch("/api/v1/tenant", json={"name": tenant.name}).status_code == 200
