"""Outlet staff over HTTP: head office creates, changes and deactivates the people who log in
at the tills with a PIN. PINs are validated (6+ digits for managers), unique among a tenant's
active staff, never returned (except a PIN the hub drew, once) or audited, chosen only by
head office, and scoped managers act only on staff of their own outlets."""

from __future__ import annotations

import pytest

from tests.hub.conftest import TenantCtx

pytestmark = pytest.mark.postgres


def _staff(t: TenantCtx, client=None, **fields):  # type: ignore[no-untyped-def]
    body = {"name": "Sari", "role": "cashier", "pin": "482915", **fields}
    return (client or t.client).post("/api/v1/staff", json=body)


def test_create_update_deactivate_without_pin_material(tenant_factory) -> None:
    t = tenant_factory()
    north = t.create_outlet("North")
    created = _staff(t, outlet_ids=[north["id"]])
    assert created.status_code == 201, created.text
    member = created.json()
    assert set(member) == {"id", "name", "role", "active", "all_outlets", "outlet_ids",
                           "created_at", "updated_at", "has_pin"}  # a chosen PIN is not echoed
    assert member["has_pin"] is True
    assert (member["name"], member["role"], member["active"], member["outlet_ids"]) == (
        "Sari", "cashier", True, [north["id"]])
    assert t.client.get(f"/api/v1/staff/{member['id']}").json() == member
    assert [s["id"] for s in t.client.get("/api/v1/staff").json()["items"]] == [member["id"]]

    changed = t.client.patch(f"/api/v1/staff/{member['id']}",
                             json={"name": "Sari W.", "role": "manager", "pin": "730155",
                                   "all_outlets": True})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["role"], changed.json()["all_outlets"],
            changed.json()["outlet_ids"]) == ("Sari W.", "manager", True, [])
    off = t.client.patch(f"/api/v1/staff/{member['id']}", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False

    audit = t.client.get("/api/v1/audit", params={"entity_id": member["id"]}).json()["items"]
    assert [e["action"] for e in audit] == ["staff.update", "staff.update", "staff.create"]
    text = str(audit)
    assert "482915" not in text and "730155" not in text and "pin_hash" not in text
    assert "pin_lookup" not in text and "pin_sealed" not in text
    assert audit[1]["after"]["pin"] == "changed" and audit[2]["after"]["pin"] == "chosen"


def test_pin_is_unique_among_active_staff_of_the_tenant(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Only")
    first = _staff(t, pin="1111", outlet_ids=[outlet["id"]]).json()
    again = _staff(t, name="Budi", pin="1111", all_outlets=True)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert "PIN" in again.json()["error"]["message"]
    second = _staff(t, name="Budi", pin="2222", all_outlets=True).json()
    taken = t.client.patch(f"/api/v1/staff/{second['id']}", json={"pin": "1111"})
    assert taken.status_code == 409
    # once the first holder is deactivated the PIN is free; reactivating them then conflicts
    assert t.client.patch(f"/api/v1/staff/{first['id']}", json={"active": False}).status_code == 200
    assert t.client.patch(f"/api/v1/staff/{second['id']}", json={"pin": "1111"}).status_code == 200
    # reactivating the first holder draws them a new PIN (shown once) instead of a 409
    back = t.client.patch(f"/api/v1/staff/{first['id']}", json={"active": True})
    assert back.status_code == 200 and back.json()["active"] is True
    assert len(back.json()["generated_pin"]) == 6 and back.json()["generated_pin"] != "1111"
    assert "generated_pin" not in t.client.get(f"/api/v1/staff/{first['id']}").json()


def test_bad_input_is_a_json_400(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Only")
    bad = [
        {"name": "A", "role": "cashier", "pin": "123", "outlet_ids": [outlet["id"]]},
        {"name": "A", "role": "cashier", "pin": "123456789", "outlet_ids": [outlet["id"]]},
        {"name": "A", "role": "cashier", "pin": "12a4", "outlet_ids": [outlet["id"]]},
        {"name": "A", "role": "owner", "pin": "1234", "outlet_ids": [outlet["id"]]},
        {"name": "", "role": "cashier", "pin": "1234", "outlet_ids": [outlet["id"]]},
        {"name": "A", "role": "cashier", "pin": "1234"},  # works nowhere
        {"name": "A", "role": "cashier", "pin": "1234", "outlet_ids": ["no-such-outlet"]},
        {"name": "A", "role": "cashier", "pin": "1234", "all_outlets": True, "colour": "red"},
        {"name": "A", "role": "manager", "pin": "2468", "all_outlets": True},  # 6+ for managers
        {"name": "A", "role": "manager", "pin": "24680", "all_outlets": True},
    ]
    for body in bad:
        response = t.client.post("/api/v1/staff", json=body)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()) == {"error"}
    member = _staff(t, all_outlets=True).json()
    assert t.client.patch(f"/api/v1/staff/{member['id']}", json={"pin": "12"}).status_code == 400
    # promoted to manager with a 6-digit PIN: fine; a 4-digit one: refused unless a new PIN
    short = _staff(t, name="Short", pin="4321", all_outlets=True).json()
    assert t.client.patch(f"/api/v1/staff/{short['id']}", json={"role": "manager"}).status_code == 400
    assert t.client.patch(f"/api/v1/staff/{short['id']}",
                          json={"role": "manager", "pin": "9876"}).status_code == 400
    promoted = t.client.patch(f"/api/v1/staff/{short['id']}", json={"role": "manager", "new_pin": True})
    assert promoted.status_code == 200 and len(promoted.json()["generated_pin"]) == 6
    assert t.client.patch(f"/api/v1/staff/{member['id']}", json={"role": "manager"}).status_code == 200
    assert t.client.patch(f"/api/v1/staff/{member['id']}",
                          json={"all_outlets": False, "outlet_ids": []}).status_code == 400
    assert t.client.get("/api/v1/staff/no-such-staff").status_code == 404


def test_scoped_managers_manage_only_staff_of_their_outlets(tenant_factory) -> None:
    t = tenant_factory()
    north, south = t.create_outlet("North"), t.create_outlet("South")
    everywhere = _staff(t, name="Rotating", pin="5000", all_outlets=True).json()
    southern = _staff(t, name="Southern", pin="5001", outlet_ids=[south["id"]]).json()
    _, manager = t.create_user("outlet_manager", [north["id"]])

    # a scoped manager does not choose PINs (M6): the hub draws one, shown once
    assert _staff(t, client=manager, name="Northern", pin="5002",
                  outlet_ids=[north["id"]]).status_code == 403
    mine = manager.post("/api/v1/staff", json={"name": "Northern", "role": "cashier",
                                               "outlet_ids": [north["id"]]})
    assert mine.status_code == 201, mine.text
    assert mine.json()["generated_pin"].isdigit() and len(mine.json()["generated_pin"]) == 6
    for body in ({"outlet_ids": [south["id"]]}, {"outlet_ids": [north["id"], south["id"]]},
                 {"all_outlets": True}):
        assert manager.post("/api/v1/staff", json={"name": "X", "role": "cashier",
                                                   **body}).status_code == 403

    listed = {s["name"] for s in manager.get("/api/v1/staff").json()["items"]}
    assert listed == {"Rotating", "Northern"}  # staff who work at North
    assert manager.get(f"/api/v1/staff/{southern['id']}").status_code == 404
    assert manager.patch(f"/api/v1/staff/{southern['id']}", json={"active": False}).status_code == 404
    assert manager.patch(f"/api/v1/staff/{everywhere['id']}",
                         json={"active": False}).status_code == 403
    own = mine.json()["id"]
    assert manager.patch(f"/api/v1/staff/{own}", json={"pin": "600200"}).status_code == 403
    renewed = manager.patch(f"/api/v1/staff/{own}", json={"new_pin": True})
    assert renewed.status_code == 200 and renewed.json()["generated_pin"] != mine.json()["generated_pin"]
    assert manager.patch(f"/api/v1/staff/{own}", json={"outlet_ids": [south["id"]]}).status_code == 403
    assert manager.patch(f"/api/v1/staff/{own}", json={"active": False}).status_code == 200

    _, technician = t.create_user("technician", [north["id"]])
    assert technician.get("/api/v1/staff").status_code == 403
    assert technician.post("/api/v1/staff", json={"name": "X", "role": "cashier",
                                                  "outlet_ids": [north["id"]]}).status_code == 403
    _, hq = t.create_user("hq_admin")
    assert hq.patch(f"/api/v1/staff/{southern['id']}", json={"role": "kitchen"}).status_code == 200
    by_outlet = t.client.get("/api/v1/staff", params={"outlet_id": south["id"]}).json()["items"]
    assert {s["name"] for s in by_outlet} == {"Rotating", "Southern"}


async def test_staff_tables_are_under_forced_row_level_security(pg_url: str, pg_roles,
                                                                tenant_factory) -> None:
    import psycopg
    from sqlalchemy import text

    from hub.db import Database
    from hub.ingest import SyncIdentity
    from hub.ingest.feed import outlet_feed
    from hub.staff_models import STAFF_TENANT_TABLES
    from hub.staff_pins import PinVault
    from sync.protocol import FEED_KINDS
    from tests.hub.conftest import PIN_KEY

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
                            " WHERE relname = ANY(%s)", (list(STAFF_TENANT_TABLES),)).fetchall()
    assert sorted(rows) == sorted((t, True, True) for t in STAFF_TENANT_TABLES)
    a, b = tenant_factory(), tenant_factory()
    db = Database(pg_roles.app, system_url=pg_roles.system)  # as `pos-hub serve` logs in
    try:
        for t in (a, b):  # a feed built for each: salts, verifiers and feed rows exist for both
            outlet = t.create_outlet("Only")
            _staff(t, pin="424242", outlet_ids=[outlet["id"]])
            built = await outlet_feed(db, SyncIdentity(t.id, outlet["id"], "c"), 0,
                                      kinds=frozenset(FEED_KINDS), pins=PinVault(PIN_KEY))
            assert len(next(c for c in built.changes if c.kind == "staff").staff.staff) == 1
        async with db.tenant(a.id) as session:  # raw SQL: only RLS stands between tenants
            seen = {table: set((await session.execute(text(f"SELECT tenant_id FROM {table}")))
                               .scalars().all()) for table in STAFF_TENANT_TABLES}
    finally:
        await db.dispose()
    assert seen == {table: {a.id} for table in STAFF_TENANT_TABLES}
