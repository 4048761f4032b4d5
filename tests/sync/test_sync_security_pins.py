"""Security H2: what a sync credential's pull reveals about staff PINs, through a real hub.

The attack: a technician (or anyone holding an enrollment code) redeems it with a raw request
and pulls the outlet feed. Before the fix the staff snapshot carried the tenant-wide
``pin_pepper`` and HMAC(pepper, PIN) of every staff member, managers of every outlet
included: every PIN fell to brute force in a fraction of a second. Now the snapshot holds no
tenant-wide value, only the staff who work at that outlet, and per-outlet argon2id verifiers
(64 MiB each): the same PIN has another verifier at every outlet.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import uuid
from typing import Any

import httpx
import msgspec
import pytest

from hub.staff import VERIFIERS_PER_CALL
from shared import pins
from sync.client import HubClient
from sync.protocol import FEED_KINDS, MEDIA_TYPE, PullResponse, StaffSnapshot, decode_frame
from tests.sync.conftest import EdgeServer, enroll, issue_code, pg_query, run_edge_cli

pytestmark = pytest.mark.postgres


def raw_pull(base_url: str, credential: str) -> tuple[bytes, PullResponse]:
    """A full snapshot pull the way an attacker would make it: plain HTTP, every kind."""
    response = httpx.get(base_url + "/api/v1/sync/pull", timeout=60,
                         params={"cursor": 0, "snapshot": 1, "kinds": ",".join(FEED_KINDS)},
                         headers={"Authorization": f"Bearer {credential}", "Accept": MEDIA_TYPE})
    assert response.status_code == 200, response.text
    return response.content, decode_frame(response.content, PullResponse)


def roster_of(page: PullResponse) -> StaffSnapshot:
    found = next(c.staff for c in page.changes if c.kind == "staff")
    assert found is not None
    return found


def add_staff(tenant: Any, name: str, pin: str, role: str = "cashier", **fields: Any) -> dict[str, Any]:
    response = tenant.client.post("/api/v1/staff", json={"name": name, "role": role, "pin": pin,
                                                         **fields})
    assert response.status_code == 201, response.text
    return response.json()


def settled_pull(base_url: str, credential: str, staff_count: int) -> tuple[bytes, PullResponse]:
    """A full pull once the roster has ``staff_count`` people. Verifiers are derived within a
    time budget per pull (hub.staff.VERIFIER_SECONDS): on a loaded machine, as on a busy hub,
    the roster may need a few pulls to fill, and a person without a verifier yet is left out."""
    for _ in range(10):
        body, page = raw_pull(base_url, credential)
        if len(roster_of(page).staff) >= staff_count:
            break
    return body, page


def settled_roster(base_url: str, credential: str, staff_count: int) -> StaffSnapshot:
    return roster_of(settled_pull(base_url, credential, staff_count)[1])


def credential_for(hub_server: Any, tenant: Any, outlet_id: str) -> str:
    return enroll(hub_server.base_url, issue_code(tenant, outlet_id).json()["code"]).credential


def test_a_sync_credential_reveals_no_tenant_key_and_only_its_outlets_staff(hub_server, tenant_factory):
    tenant = tenant_factory()
    north, south = tenant.create_outlet("North"), tenant.create_outlet("South")
    cashier = add_staff(tenant, "North Cashier", "4821", outlet_ids=[north["id"]])
    add_staff(tenant, "South Cashier", "5932", outlet_ids=[south["id"]])
    manager = add_staff(tenant, "Area Manager", "735102", role="manager", all_outlets=True)

    body, page = settled_pull(hub_server.base_url, credential_for(hub_server, tenant, north["id"]), 2)
    roster = roster_of(page)
    assert {s.name for s in roster.staff} == {"North Cashier", "Area Manager"}  # not South's
    assert roster.pin_pepper == ""  # was the tenant's pepper: the key to every PIN
    assert all(s.pin_hash == "" and s.pin_lookup == f"none:{s.id}" for s in roster.staff)
    # nothing the hub keeps for the tenant is in the bytes: pepper, lookups, sealed PINs
    (pepper,), = pg_query(hub_server.db_url, "SELECT pepper FROM staff_peppers WHERE tenant_id = %s",
                          tenant.id)
    kept = pg_query(hub_server.db_url, "SELECT pin_lookup, pin_sealed FROM staff WHERE tenant_id = %s",
                    tenant.id)
    text = msgspec.json.encode(page).decode()
    for secret in [pepper, *(value for row in kept for value in row)]:
        assert secret not in text and secret.encode() not in body
    # not as a value of its own; as a run of digits inside an id or hex digest it is chance
    # (a 4-digit run turns up in ~3 % of pages)
    for pin in ("4821", "735102"):
        assert not re.search(rf"(?<![0-9A-Za-z-]){pin}(?![0-9A-Za-z-])", text), pin
    # the old attack (HMAC of every 4-8 digit PIN under the pepper) has nothing to match
    by_hmac = {hmac.new(pepper.encode(), p.encode(), hashlib.sha256).hexdigest() for p in ("4821", "735102")}
    assert not by_hmac & {value for s in roster.staff for value in (s.pin_lookup, s.pin_verifier)}
    # what the box gets is a slow verifier, only under this outlet's salt
    kdf = pins.parse_kdf(roster.pin_kdf)
    assert kdf.memory_kib >= 64 * 1024
    verifiers = {s.id: s.pin_verifier for s in roster.staff}
    assert verifiers[cashier["id"]] == pins.derive("4821", roster.pin_salt, kdf)
    assert verifiers[manager["id"]] == pins.derive("735102", roster.pin_salt, kdf)


def test_a_pin_has_another_verifier_at_each_outlet_and_later_outlets_get_one(hub_server, tenant_factory):
    tenant = tenant_factory()
    north, south = tenant.create_outlet("North"), tenant.create_outlet("South")
    manager = add_staff(tenant, "Area Manager", "735102", role="manager", all_outlets=True)
    moving = add_staff(tenant, "Moving Cashier", "6093", outlet_ids=[north["id"]])
    north_key = credential_for(hub_server, tenant, north["id"])
    north_roster = settled_roster(hub_server.base_url, north_key, 2)
    south_roster = settled_roster(hub_server.base_url, credential_for(hub_server, tenant, south["id"]), 1)
    assert north_roster.pin_salt != south_roster.pin_salt
    at_north = {s.id: s.pin_verifier for s in north_roster.staff}
    at_south = {s.id: s.pin_verifier for s in south_roster.staff}
    assert at_north[manager["id"]] != at_south[manager["id"]]  # a copied verifier is worth nothing
    assert moving["id"] not in at_south

    # assigned to South later: South's feed gets a verifier of their PIN under South's salt
    assert tenant.client.patch(f"/api/v1/staff/{moving['id']}", json={
        "outlet_ids": [north["id"], south["id"]]}).status_code == 200
    south_key = credential_for(hub_server, tenant, south["id"])
    later = settled_roster(hub_server.base_url, south_key, 2)
    kdf = pins.parse_kdf(later.pin_kdf)
    assert {s.id: s.pin_verifier for s in later.staff}[moving["id"]] == pins.derive("6093", later.pin_salt, kdf)

    # an outlet opened after the manager was entered: the manager's PIN works there too
    east = tenant.create_outlet("East")
    east_roster = settled_roster(hub_server.base_url, credential_for(hub_server, tenant, east["id"]), 1)
    kdf = pins.parse_kdf(east_roster.pin_kdf)
    assert [s.id for s in east_roster.staff] == [manager["id"]]
    assert east_roster.staff[0].pin_verifier == pins.derive("735102", east_roster.pin_salt, kdf)
    assert east_roster.pin_salt not in (north_roster.pin_salt, south_roster.pin_salt)

    # a new PIN: a new verifier at every outlet, the old one gone
    assert tenant.client.patch(f"/api/v1/staff/{manager['id']}", json={"pin": "918273"}).status_code == 200
    renewed = settled_roster(hub_server.base_url, north_key, 2)
    assert {s.id: s.pin_verifier for s in renewed.staff}[manager["id"]] == pins.derive(
        "918273", renewed.pin_salt, pins.parse_kdf(renewed.pin_kdf))


def test_verifier_work_per_pull_is_bounded(hub_server, tenant_factory):
    tenant = tenant_factory()
    outlet = tenant.create_outlet("Busy")
    many = VERIFIERS_PER_CALL + 3
    for n in range(many):
        add_staff(tenant, f"Cashier {n}", f"{5100 + n}", outlet_ids=[outlet["id"]])
    key = credential_for(hub_server, tenant, outlet["id"])
    first = roster_of(raw_pull(hub_server.base_url, key)[1])
    assert 1 <= len(first.staff) <= VERIFIERS_PER_CALL  # the rest come with the next pulls
    seen = len(first.staff)
    for _ in range(many):
        seen = len(roster_of(raw_pull(hub_server.base_url, key)[1]).staff)
        if seen == many:
            break
    assert seen == many


class OldRecord(msgspec.Struct, kw_only=True):
    """sync.protocol.StaffRecord as an edge built before H2 declares it."""

    id: str
    name: str
    role: str
    pin_hash: str
    pin_lookup: str


class OldSnapshot(msgspec.Struct, kw_only=True):
    pin_pepper: str = ""
    staff: list[OldRecord] = []


def test_an_older_edge_still_decodes_the_snapshot(hub_server, tenant_factory):
    """The wire evolution rule: an edge built before H2 decodes the new snapshot (its staff
    simply cannot log in until it is upgraded), and its unique index on lookups holds."""

    tenant = tenant_factory()
    outlet = tenant.create_outlet("Old box")
    for n, pin in enumerate(("4821", "5932", "735102")):
        add_staff(tenant, f"Person {n}", pin, role="manager" if len(pin) == 6 else "cashier",
                  outlet_ids=[outlet["id"]])
    key = credential_for(hub_server, tenant, outlet["id"])
    roster = settled_roster(hub_server.base_url, key, 3)
    old = msgspec.json.decode(msgspec.json.encode(roster), type=OldSnapshot)
    assert len(old.staff) == 3 and old.pin_pepper == ""
    assert len({s.pin_lookup for s in old.staff}) == 3  # distinct: the old edge's index holds


def test_hub_staff_log_in_at_a_real_edge_and_nowhere_else(hub_server, tenant_factory, tmp_path):
    tenant = tenant_factory()
    here = tenant.create_outlet(f"Here {uuid.uuid4().hex[:4]}")
    there = tenant.create_outlet("There")
    add_staff(tenant, "Here Cashier", "4821", outlet_ids=[here["id"]])
    add_staff(tenant, "There Cashier", "5932", outlet_ids=[there["id"]])
    add_staff(tenant, "Area Manager", "735102", role="manager", all_outlets=True)
    box = tmp_path / "box"
    done = run_edge_cli("provision", "--hub", hub_server.base_url, "--code",
                        issue_code(tenant, here["id"]).json()["code"], "--data-dir", str(box))
    assert done.returncode == 0, done.stderr
    edge = EdgeServer(box)
    edge.start()
    try:
        till = edge.pair("cashier", "Till 1")
        assert edge.call("GET", "/api/v1/me", edge.login(till, "4821"))["staff"]["name"] == "Here Cashier"
        assert edge.call("GET", "/api/v1/me", edge.login(till, "735102"))["staff"]["role"] == "manager"
        refused = httpx.post(edge.url + "/api/v1/auth/login", json={"pin": "5932"}, timeout=15,
                             headers={"Authorization": f"Bearer {till}"})
        assert refused.status_code == 401  # another outlet's staff member
    finally:
        edge.stop()
    # what the stolen box holds: verifiers under its outlet's salt, no pepper, no fast lookup
    from edge.db import connect

    conn = connect(box / "edge.db")
    try:
        rows = conn.execute("SELECT pin_hash, pin_lookup FROM staff WHERE source = 'hub'").fetchall()
        salt = conn.execute("SELECT salt FROM pin_kdf WHERE source = 'hub'").fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM hub_pin_pepper").fetchone()[0] == 0
    finally:
        conn.close()
    assert sorted(r["pin_lookup"] for r in rows) == sorted(
        pins.derive(pin, salt, pins.PIN_KDF) for pin in ("4821", "735102"))
    assert all(r["pin_hash"] == "" for r in rows)


def test_pulls_of_a_credential_of_another_tenant_never_carry_these_staff(hub_server, tenant_factory,
                                                                          other_tenant):
    tenant = tenant_factory()
    add_staff(tenant, "Chain Manager", "735102", role="manager", all_outlets=True)
    theirs = other_tenant.create_outlet("Elsewhere")
    key = credential_for(hub_server, other_tenant, theirs["id"])

    async def pull() -> PullResponse:
        async with HubClient(hub_server.base_url, key) as client:
            return await client.pull(0, snapshot=True, kinds=FEED_KINDS)

    assert "Chain Manager" not in msgspec.json.encode(asyncio.run(pull())).decode()
