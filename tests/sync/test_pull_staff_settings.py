"""Staff and outlet settings come down from the hub.

* The hub's multi-kind feed, through a real hub: each kind (catalog, staff, settings) has its
  own version, a change to one does not resend the others, the cursor is the outlet's feed
  position, a lost cursor gets every snapshot, an edge that asks for no kinds still gets the
  catalog feed of wire version 2, and nothing of another outlet or tenant is ever in it.
* End to end through real processes: staff created at the hub log in with their PIN at a
  freshly provisioned box; deactivated at the hub, they are refused after the next pull;
  staff added at the box keep working; a settings change at the hub reaches the edge.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Literal

import httpx
import msgspec
import pytest

from edge import outlet as outlet_service
from edge.db import Database
from sync.client import HubClient
from sync.protocol import (
    FEED_KINDS,
    MEDIA_TYPE,
    PullResponse,
    decode_frame,
    settings_checksum,
    staff_checksum,
)
from tests.sync.conftest import (
    EdgeServer,
    enroll,
    issue_code,
    publish_catalog,
    run_edge_cli,
    wait_for,
)

pytestmark = pytest.mark.postgres

FAST_SYNC = {"POS_SYNC_TICK": "0.1", "POS_SYNC_INTERVAL": "0.5", "POS_SYNC_PULL_INTERVAL": "0.5",
             "POS_SYNC_MIN_BACKOFF": "0.1", "POS_SYNC_MAX_BACKOFF": "0.5"}


def pull(base_url: str, credential: str, cursor: int, snapshot: bool = False,
         kinds: tuple[str, ...] = FEED_KINDS) -> PullResponse:
    async def go() -> PullResponse:
        async with HubClient(base_url, credential) as client:
            return await client.pull(cursor, snapshot=snapshot, kinds=kinds)
    return asyncio.run(go())


def add_staff(tenant: Any, name: str, pin: str, **fields: Any) -> dict[str, Any]:
    response = tenant.client.post("/api/v1/staff", json={"name": name, "role": "cashier",
                                                         "pin": pin, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_feed_has_a_version_per_kind_and_one_cursor(hub_server, tenant_factory, other_tenant):
    tenant = tenant_factory()
    outlet, elsewhere = tenant.create_outlet("Feed"), tenant.create_outlet("Elsewhere")
    add_staff(other_tenant, "Bravo Spy", "864209", all_outlets=True)
    add_staff(tenant, "Across Town", "271828", outlet_ids=[elsewhere["id"]])
    credential = enroll(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"]).credential

    first = pull(hub_server.base_url, credential, 0)
    kinds = {c.kind: c for c in first.changes}
    assert set(kinds) == {"staff", "settings"}  # nothing published yet: no catalog
    assert first.cursor == max(c.cursor for c in first.changes) == 2
    assert kinds["staff"].staff is not None and kinds["staff"].staff.staff == []
    assert kinds["settings"].settings is not None
    assert (kinds["settings"].settings.name, kinds["settings"].settings.timezone) == (
        "Feed", "Asia/Jakarta")
    assert settings_checksum(kinds["settings"].settings) == kinds["settings"].checksum
    assert first.checksums == {"staff": kinds["staff"].checksum,
                               "settings": kinds["settings"].checksum}
    same = pull(hub_server.base_url, credential, first.cursor)
    assert same.changes == [] and same.cursor == first.cursor and same.checksums == first.checksums

    # a staff change moves only the staff kind
    member = add_staff(tenant, "Dewi", "314159", outlet_ids=[outlet["id"]])
    staffed = pull(hub_server.base_url, credential, first.cursor)
    assert [c.kind for c in staffed.changes] == ["staff"] and staffed.cursor == 3
    roster = staffed.changes[0].staff
    assert roster is not None and staffed.changes[0].version == 2
    assert [(s.id, s.name, s.role) for s in roster.staff] == [(member["id"], "Dewi", "cashier")]
    assert roster.pin_pepper == "" and roster.staff[0].pin_hash == ""  # nothing tenant-wide
    assert roster.pin_salt and len(roster.staff[0].pin_verifier) == 64
    assert "314159" not in msgspec.json.encode(roster).decode()
    assert staff_checksum(roster) == staffed.changes[0].checksum == staffed.checksums["staff"]

    # a catalog publication and a settings change: two kinds, one page, settings not resent twice
    publish_catalog(tenant, [("Soto Ayam", 28_000)])
    patched = tenant.client.patch(f"/api/v1/outlets/{outlet['id']}", json={
        "timezone": "Asia/Makassar", "settings": {"kitchen_trigger": "payment",
                                                  "business_day_start_hour": 4}})
    assert patched.status_code == 200, patched.text
    both = pull(hub_server.base_url, credential, staffed.cursor)
    assert sorted(c.kind for c in both.changes) == ["catalog", "settings"] and both.cursor == 5
    settings = next(c for c in both.changes if c.kind == "settings").settings
    assert settings is not None and (settings.timezone, settings.kitchen_trigger,
                                     settings.business_day_start_hour) == ("Asia/Makassar", "payment", 4)
    assert both.versions == {"catalog": both.catalog_version, "staff": 2, "settings": 2}

    # an outlet setting the edge could not apply is left to the edge, not sent
    tenant.client.patch(f"/api/v1/outlets/{outlet['id']}",
                        json={"settings": {"kitchen_trigger": "never", "business_day_start_hour": 30}})
    odd = pull(hub_server.base_url, credential, both.cursor).changes[0].settings
    assert odd is not None and (odd.kitchen_trigger, odd.business_day_start_hour) == (None, None)

    # a cursor the hub never issued: every snapshot, and the hub's own cursor
    ahead = pull(hub_server.base_url, credential, 999)
    # (no gateway credential and no confirmation: those kinds are not stated)
    assert ahead.snapshot_required and {c.kind for c in ahead.changes} == {
        "catalog", "staff", "settings"}
    assert ahead.cursor == 6
    # deactivated at the hub: gone from the next staff snapshot
    tenant.client.patch(f"/api/v1/staff/{member['id']}", json={"active": False})
    gone = pull(hub_server.base_url, credential, ahead.cursor)
    assert [c.kind for c in gone.changes] == ["staff"] and gone.changes[0].staff.staff == []

    # never another outlet's or another tenant's staff, even in a full snapshot
    everything = pull(hub_server.base_url, credential, 0, snapshot=True)
    text = msgspec.json.encode(everything).decode()
    assert "Across Town" not in text and "Bravo Spy" not in text


class PullChangeV2(msgspec.Struct, kw_only=True):
    """What an edge of wire version 2 decodes a change into (frozen copy of the v2 struct)."""

    cursor: int
    kind: Literal["catalog"]
    version: int
    checksum: str
    catalog: Any = None


class PullResponseV2(msgspec.Struct, kw_only=True):
    cursor: int
    changes: list[PullChangeV2] = []
    snapshot_required: bool = False
    catalog_version: int = 0


def test_an_edge_that_asks_for_no_kinds_gets_the_v2_catalog_feed(hub_server, tenant_factory):
    tenant = tenant_factory()
    outlet = tenant.create_outlet("Old box")
    add_staff(tenant, "Wayan", "555123", outlet_ids=[outlet["id"]])
    publish_catalog(tenant, [("Bakso", 20_000)])
    credential = enroll(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"]).credential
    reply = httpx.get(hub_server.base_url + "/api/v1/sync/pull", params={"cursor": "0"}, timeout=30,
                      headers={"Authorization": f"Bearer {credential}", "Accept": MEDIA_TYPE})
    assert reply.status_code == 200
    old = decode_frame(reply.content, PullResponseV2)  # an old edge can read every change
    assert [c.kind for c in old.changes] == ["catalog"]
    assert old.cursor == old.catalog_version == old.changes[0].version  # cursor = catalog version


def try_login(edge: EdgeServer, device: str, pin: str) -> int:
    return httpx.post(edge.url + "/api/v1/auth/login", json={"pin": pin}, timeout=15,
                      headers={"Authorization": f"Bearer {device}"}).status_code


def test_hub_staff_log_in_at_the_edge_and_settings_reach_it(hub_server, tenant_factory,
                                                            other_tenant, tmp_path):
    tenant = tenant_factory()
    publish_catalog(tenant, [("Mie Ayam", 22_000)])
    outlet = tenant.create_outlet(f"Staffed {uuid.uuid4().hex[:4]}", timezone="Asia/Jakarta")
    other = tenant.create_outlet("Other outlet")
    dewi = add_staff(tenant, "Dewi", "314159", outlet_ids=[outlet["id"]])
    add_staff(tenant, "Rotating Manager", "600600", role="manager", all_outlets=True)
    add_staff(tenant, "Across Town", "271828", outlet_ids=[other["id"]])
    add_staff(other_tenant, "Bravo Cashier", "864208", all_outlets=True)

    box = tmp_path / "box"
    done = run_edge_cli("provision", "--hub", hub_server.base_url, "--code",
                        issue_code(tenant, outlet["id"]).json()["code"], "--data-dir", str(box))
    assert done.returncode == 0, done.stderr
    assert "2 managed by head office" in done.stdout
    local = run_edge_cli("staff", "add", "--data-dir", str(box), "--name", "Local Lina",
                         "--role", "cashier", "--pin", "2468")
    assert local.returncode == 0, local.stderr
    listed = run_edge_cli("staff", "disable", "--data-dir", str(box), dewi["id"])
    assert listed.returncode != 0  # head office's people are changed at the hub
    edge = EdgeServer(box, env=FAST_SYNC)
    edge.start()
    try:
        till, kds = edge.pair("cashier", "Till 1"), edge.pair("kds", "Grill")
        # a fresh box: hub staff log in at once (provisioning applied the staff snapshot)
        session = httpx.post(edge.url + "/api/v1/auth/login", json={"pin": "314159"}, timeout=15,
                             headers={"Authorization": f"Bearer {till}"})
        assert session.status_code == 200, session.text
        assert session.json()["staff"] == {"id": dewi["id"], "name": "Dewi", "role": "cashier"}
        manager = edge.login(kds, "600600")
        lina = edge.login(till, "2468")
        assert try_login(edge, kds, "271828") == 401  # another outlet's staff
        assert try_login(edge, kds, "864208") == 401  # another tenant's staff

        def status() -> dict[str, Any]:
            return edge.call("GET", "/api/v1/sync/status", lina)

        before = status()["staff_version"]
        assert tenant.client.patch(f"/api/v1/staff/{dewi['id']}",
                                   json={"active": False}).status_code == 200
        wait_for(lambda: status()["staff_version"] > before, what="staff snapshot on the edge")
        assert try_login(edge, till, "314159") == 401  # deactivated at the hub
        dewi_token = session.json()["access_token"]  # and her open session ends too
        wait_for(lambda: httpx.get(edge.url + "/api/v1/me", timeout=15, headers={
            "Authorization": f"Bearer {dewi_token}"}).status_code == 401, what="session ended")
        assert edge.login(till, "2468")  # the box's own staff are untouched
        assert edge.call("GET", "/api/v1/me", manager)["staff"]["name"] == "Rotating Manager"

        # a PIN change at the hub: the new PIN works after the next pull, the old one not
        rotating = next(s for s in tenant.client.get("/api/v1/staff").json()["items"]
                        if s["name"] == "Rotating Manager")
        before = status()["staff_version"]
        tenant.client.patch(f"/api/v1/staff/{rotating['id']}", json={"pin": "700700"})
        wait_for(lambda: status()["staff_version"] > before, what="PIN change on the edge")
        assert try_login(edge, kds, "600600") == 401  # the old PIN dies with the first pull
        # That pull may come before the hub has derived his verifier under the new PIN (a pull
        # whose derivation ran before the change landed, or found the slots busy): he is then
        # left out, fail-closed, and the next pull brings him back with it.
        if try_login(edge, kds, "700700") != 200:
            seen = status()["staff_version"]
            wait_for(lambda: status()["staff_version"] > seen, what="the new PIN's verifier")
        assert edge.login(kds, "700700")

        # settings decided at head office reach the edge
        changed = tenant.client.patch(f"/api/v1/outlets/{outlet['id']}", json={
            "name": "Staffed Renamed", "timezone": "Asia/Makassar",
            "settings": {"kitchen_trigger": "payment", "business_day_start_hour": 5}})
        assert changed.status_code == 200, changed.text
        def identity() -> dict[str, Any]:  # /me's outlet carries more (discount settings)
            shown = edge.call("GET", "/api/v1/me", lina)["outlet"]
            return {key: shown[key] for key in ("id", "name", "timezone")}

        wait_for(lambda: identity() == {
            "id": outlet["id"], "name": "Staffed Renamed", "timezone": "Asia/Makassar"},
            what="settings on the edge")
        db = Database(box / "edge.db")
        try:
            info = db.read_now(outlet_service.load_outlet)
        finally:
            db.close()
        assert (info.kitchen_trigger, info.business_day_start_hour) == ("payment", 5)
        assert status()["last_error"] is None
    finally:
        edge.stop()
