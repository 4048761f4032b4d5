"""Floor plans at head office (issue 12) through a real hub: saving is versioned (a stale save
is a 409, never merged), tokens are minted by the hub, kept across saves and rotated one
table at a time, stickers point at the outlet's guest page, bad input is a 400, who may edit
follows the catalog, every change is audited without tokens, and another tenant cannot read
or change a plan on any endpoint, not even by guessing ids (HTTP, and raw SQL under RLS).
Runs on PostgreSQL; the embedded SQLite default gets the same main path."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.hub.conftest import TenantCtx

AREAS = [("indoor", "Indoor", {"en": "Indoor", "id": "Dalam"}), ("teras", "Teras", {})]


def uid() -> str:
    return str(uuid.uuid4())


def demo_plan(version: int = 0, **settings: Any) -> dict[str, Any]:
    indoor, teras = uid(), uid()
    tables = [{"id": uid(), "area_id": indoor, "name": str(i), "seats": 4, "sort": i,
               "x": 40 + (i - 1) % 3 * 300, "y": 60 + (i - 1) // 3 * 300, "width": 160,
               "height": 120} for i in range(1, 7)]
    tables += [{"id": uid(), "area_id": teras, "name": f"T{i}", "seats": 2, "sort": i,
                "x": 60 + (i - 1) * 220, "y": 100, "width": 120, "height": 120, "shape": "round"}
               for i in range(1, 5)]
    return {"version": version,
            "areas": [{"id": indoor, "name": "Indoor", "names": {"id": "Dalam"}, "sort": 0},
                      {"id": teras, "name": "Teras", "sort": 1}],
            "tables": tables, "courses": ["minuman", "makanan", "pencuci_mulut"],
            "guest_orders": "confirm", **settings}


def save(client: Any, outlet_id: str, body: dict[str, Any]) -> Any:
    return client.put(f"/api/v1/outlets/{outlet_id}/floor", json=body)


def test_plan_is_versioned_and_tokens_belong_to_the_hub(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Floor Sudirman")
    empty = t.client.get(f"/api/v1/outlets/{outlet['id']}/floor")
    assert empty.status_code == 200, empty.text
    assert (empty.json()["version"], empty.json()["tables"]) == (0, [])
    assert empty.json()["default_guest_base_url"] == (
        f"http://fnbpos-{outlet['id'][-8:].lower()}.local:8080")

    body = demo_plan(void_approval_threshold=50_000, service_charge_dine_in_only=False)
    first = save(t.client, outlet["id"], body)
    assert first.status_code == 200, first.text
    plan = first.json()
    assert plan["version"] == 1 and len(plan["tables"]) == 10 and len(plan["areas"]) == 2
    assert (plan["void_approval_threshold"], plan["service_charge_dine_in_only"],
            plan["guest_orders"]) == (50_000, False, "confirm")
    tokens = {table["id"]: table["guest_token"] for table in plan["tables"]}
    assert len(set(tokens.values())) == 10 and all(len(tok) >= 32 for tok in tokens.values())

    # someone else saved in between: the editor's version 0 is stale
    stale = save(t.client, outlet["id"], demo_plan(0))
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["details"]["version"] == 1
    # a client never sets a token
    forged = dict(body, version=1, tables=[dict(body["tables"][0], guest_token="mine")])
    assert save(t.client, outlet["id"], forged).status_code == 400

    # the second save keeps the tokens of kept tables, mints one for the new table, and
    # drops the removed one; names are trimmed
    kept = body["tables"][1:]
    new = {"id": uid(), "area_id": body["areas"][1]["id"], "name": " T5 ", "seats": 6,
           "x": 900, "y": 880, "width": 100, "height": 120}
    second = save(t.client, outlet["id"], dict(body, version=1, tables=[*kept, new]))
    assert second.status_code == 200, second.text
    after = {table["id"]: table for table in second.json()["tables"]}
    assert second.json()["version"] == 2 and len(after) == 10
    assert body["tables"][0]["id"] not in after
    assert all(after[table["id"]]["guest_token"] == tokens[table["id"]] for table in kept)
    assert after[new["id"]]["name"] == "T5" and after[new["id"]]["guest_token"] not in tokens.values()
    assert t.client.get(f"/api/v1/outlets/{outlet['id']}/floor").json()["version"] == 2

    # audited, without a single token
    entries = t.client.get("/api/v1/audit", params={"entity_type": "floor_plan"}).json()["items"]
    mine = [e for e in entries if e["entity_id"] == outlet["id"]]
    assert [e["action"] for e in mine] == ["floor.update", "floor.update"]
    text = str(mine)
    assert not any(tok in text for tok in tokens.values())
    assert mine[0]["after"]["version"] == 2 and mine[1]["before"] is None


def test_rotating_a_token_changes_only_that_table(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Rotate")
    plan = save(t.client, outlet["id"], demo_plan()).json()
    table = plan["tables"][3]
    rotated = t.client.post(f"/api/v1/outlets/{outlet['id']}/floor/tables/{table['id']}/rotate-token")
    assert rotated.status_code == 200, rotated.text
    now = {x["id"]: x["guest_token"] for x in rotated.json()["tables"]}
    before = {x["id"]: x["guest_token"] for x in plan["tables"]}
    assert rotated.json()["version"] == plan["version"] + 1
    assert now[table["id"]] != before[table["id"]]
    assert {k: v for k, v in now.items() if k != table["id"]} == {
        k: v for k, v in before.items() if k != table["id"]}
    missing = t.client.post(f"/api/v1/outlets/{outlet['id']}/floor/tables/{uid()}/rotate-token")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    entries = t.client.get("/api/v1/audit", params={"entity_id": table["id"]}).json()["items"]
    assert [e["action"] for e in entries] == ["floor.rotate_token"]
    assert before[table["id"]] not in str(entries) and now[table["id"]] not in str(entries)


def test_sticker_sheet_points_at_the_guest_page(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Stickers")
    body = demo_plan()
    body["tables"][0]["active"] = False
    plan = save(t.client, outlet["id"], body).json()
    sheet = t.client.get(f"/api/v1/outlets/{outlet['id']}/floor/stickers")
    assert sheet.status_code == 200, sheet.text
    data = sheet.json()
    assert data["outlet_name"] == "Stickers" and data["version"] == 1
    tokens = {x["id"]: x["guest_token"] for x in plan["tables"]}
    assert [s["table_id"] for s in data["items"]] == [x["id"] for x in body["tables"][1:]]
    base = f"http://fnbpos-{outlet['id'][-8:].lower()}.local:8080"
    for sticker in data["items"]:
        assert sticker["url"] == f"{base}/guest/#t={tokens[sticker['table_id']]}"
        assert sticker["qr"].startswith("data:image/svg+xml") and "svg" in sticker["qr"]
    assert {s["area"] for s in data["items"]} == {"Indoor", "Teras"}
    # the outlet's own address for its guest page
    moved = save(t.client, outlet["id"], dict(body, version=1, tables=plan["tables"],
                                              areas=plan["areas"],
                                              guest_base_url="http://192.168.1.20:8080/"))
    assert moved.status_code == 400  # tables carry their tokens back: refused
    tables = [{k: v for k, v in x.items() if k != "guest_token"} for x in plan["tables"]]
    moved = save(t.client, outlet["id"], dict(body, version=1, tables=tables,
                                              guest_base_url="http://192.168.1.20:8080/"))
    assert moved.status_code == 200, moved.text
    assert moved.json()["guest_base_url"] == "http://192.168.1.20:8080"
    again = t.client.get(f"/api/v1/outlets/{outlet['id']}/floor/stickers").json()
    assert again["items"][0]["url"].startswith("http://192.168.1.20:8080/guest/#t=")


@pytest.mark.parametrize("change, field", [
    (lambda b: b["tables"][0].update(x=950, width=100), "tables[0]"),
    (lambda b: b["tables"][0].update(area_id=uid()), "tables[0].area_id"),
    (lambda b: b["tables"][1].update(name=b["tables"][0]["name"]), "tables[1].name"),
    (lambda b: b["areas"][1].update(name="indoor"), "areas"),
    (lambda b: b["tables"][1].update(id=b["tables"][0]["id"]), "tables"),
    (lambda b: b.update(guest_base_url="javascript:alert(1)"), "guest_base_url"),
    (lambda b: b.update(guest_base_url="http://x.local:8080/?q=1"), "guest_base_url"),
    (lambda b: b.update(courses=["makanan", "makanan"]), "courses"),
    (lambda b: b["tables"][0].update(name="A\x1b[31m"), None),
    (lambda b: b["tables"][0].update(seats=0), None),
    (lambda b: b["tables"][0].update(shape="hexagon"), None),
    (lambda b: b.update(guest_orders="always"), None),
    (lambda b: b.update(courses=["Makanan Utama"]), None),
    (lambda b: b.update(void_approval_threshold=-1), None),
    (lambda b: b.update(tables=[dict(b["tables"][0], id=uid(), name=f"X{i}") for i in range(501)]),
     None),
    (lambda b: b["areas"][0].update(name="   "), "areas[0].name"),
])
def test_bad_plans_are_refused_with_400(tenant, change, field) -> None:
    outlet = tenant.extra.get("floor_outlet") or tenant.create_outlet(f"Bad {uid()[:6]}")
    tenant.extra["floor_outlet"] = outlet
    body = demo_plan(tenant.client.get(f"/api/v1/outlets/{outlet['id']}/floor").json()["version"])
    change(body)
    response = save(tenant.client, outlet["id"], body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    if field:
        assert response.json()["error"]["details"]["field"] == field


def test_who_may_read_and_edit_follows_the_catalog(tenant_factory) -> None:
    t = tenant_factory()
    mine, other = t.create_outlet("Managed"), t.create_outlet("Elsewhere")
    plan = save(t.client, mine["id"], demo_plan()).json()
    table = plan["tables"][0]["id"]
    _, manager = t.create_user("outlet_manager", [mine["id"]])
    _, hq = t.create_user("hq_admin")
    _, tech = t.create_user("technician", [mine["id"]])
    assert manager.get(f"/api/v1/outlets/{mine['id']}/floor").status_code == 200
    assert manager.get(f"/api/v1/outlets/{mine['id']}/floor/stickers").status_code == 200
    assert manager.get(f"/api/v1/outlets/{other['id']}/floor").status_code == 403
    for client in (manager, tech):
        assert save(client, mine["id"], demo_plan(1)).status_code == 403
        assert client.post(f"/api/v1/outlets/{mine['id']}/floor/tables/{table}/rotate-token"
                           ).status_code == 403
    assert tech.get(f"/api/v1/outlets/{mine['id']}/floor").status_code == 403
    assert t.client.get(f"/api/v1/outlets/{mine['id']}/floor").json()["version"] == 1
    done = save(hq, mine["id"], dict(demo_plan(1)))
    assert done.status_code == 200 and done.json()["updated_by"].startswith("hq_admin-")


def _endpoints(outlet_id: str, table_id: str) -> list[tuple[str, str, Any]]:
    base = f"/api/v1/outlets/{outlet_id}/floor"
    return [("GET", base, None), ("PUT", base, demo_plan(1)), ("PUT", base, demo_plan(0)),
            ("POST", f"{base}/tables/{table_id}/rotate-token", None),
            ("GET", f"{base}/stickers", None)]


def test_another_tenant_cannot_read_or_change_a_plan(tenant_factory, pg_url: str,
                                                     pg_roles) -> None:
    a, b = tenant_factory(), tenant_factory()
    victim = a.create_outlet("Victim")
    plan = save(a.client, victim["id"], demo_plan()).json()
    tokens = [x["guest_token"] for x in plan["tables"]]
    attacker_outlet = b.create_outlet("Attacker")
    save(b.client, attacker_outlet["id"], demo_plan())
    table = plan["tables"][0]["id"]
    for method, path, body in _endpoints(victim["id"], table):
        response = b.client.request(method, path, json=body)
        assert response.status_code in (403, 404), (method, path, response.text)
        assert set(response.json()) == {"error"}
        assert not any(tok in response.text for tok in tokens)
    # guessing: A's table id under B's own outlet
    guessed = b.client.post(f"/api/v1/outlets/{attacker_outlet['id']}/floor/tables/{table}/rotate-token")
    assert guessed.status_code == 404
    # B's own plan and stickers never mention A
    for path in (f"/api/v1/outlets/{attacker_outlet['id']}/floor",
                 f"/api/v1/outlets/{attacker_outlet['id']}/floor/stickers"):
        text = b.client.get(path).text
        assert victim["id"] not in text and not any(tok in text for tok in tokens)
    # B reusing A's ids in its own plan creates B's own tables, A's stay as they were
    copied = dict(demo_plan(1), areas=plan["areas"],
                  tables=[{k: v for k, v in x.items() if k != "guest_token"} for x in plan["tables"]])
    mine = save(b.client, attacker_outlet["id"], copied)
    assert mine.status_code == 200, mine.text
    assert not {x["guest_token"] for x in mine.json()["tables"]} & set(tokens)
    unchanged = a.client.get(f"/api/v1/outlets/{victim['id']}/floor").json()
    assert unchanged["version"] == 1 and [x["guest_token"] for x in unchanged["tables"]] == tokens

    # Below the API: B's database session sees only B's plans, even with raw SQL (RLS).
    async def raw() -> tuple[set[str], int]:
        from sqlalchemy import text as sql

        from hub.db import Database

        db = Database(pg_roles.app, system_url=pg_roles.system)
        try:
            async with db.tenant(b.id) as session:
                seen = set((await session.execute(sql("SELECT tenant_id FROM floor_plans")))
                           .scalars().all())
                hit = await session.execute(sql("UPDATE floor_plans SET version = 99 "
                                                "WHERE outlet_id = :o"), {"o": victim["id"]})
                return seen, hit.rowcount
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        seen, updated = pool.submit(asyncio.run, raw()).result()
    assert seen == {b.id} and updated == 0
    assert a.client.get(f"/api/v1/outlets/{victim['id']}/floor").json()["version"] == 1


def test_rls_is_forced_on_floor_plans(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                           "WHERE relname = 'floor_plans'").fetchone()
    assert row == (True, True)


def test_embedded_sqlite_hub_keeps_floor_plans(sqlite_hub_server, tenant_factory) -> None:
    t: TenantCtx = tenant_factory(server=sqlite_hub_server)
    outlet = t.create_outlet("Embedded")
    first = save(t.client, outlet["id"], demo_plan())
    assert first.status_code == 200, first.text
    assert save(t.client, outlet["id"], demo_plan(0)).status_code == 409
    table = first.json()["tables"][0]
    rotated = t.client.post(f"/api/v1/outlets/{outlet['id']}/floor/tables/{table['id']}/rotate-token")
    assert rotated.status_code == 200 and rotated.json()["version"] == 2
    assert rotated.json()["tables"][0]["guest_token"] != table["guest_token"]
    sheet = t.client.get(f"/api/v1/outlets/{outlet['id']}/floor/stickers").json()
    assert len(sheet["items"]) == 10
    other = tenant_factory(server=sqlite_hub_server)
    assert other.client.get(f"/api/v1/outlets/{outlet['id']}/floor").status_code == 404
