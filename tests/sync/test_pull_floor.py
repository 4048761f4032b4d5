"""The "floor" feed kind (issue 12) from a real hub on PostgreSQL down to a real edge.

* The feed: an edge that names "floor" in its kinds gets the outlet's plan as one change,
  versioned with the plan and carrying ``floor_checksum``; nothing when nothing changed; a
  new change after each save or token rotation; another outlet's box never sees it.
* Edges one wire version behind (their kinds without "floor", or no kinds at all: wire
  version 2's catalog feed) never receive it: the page decodes into a frozen copy of the
  PullChange an older edge knows (whose ``kind`` cannot be "floor"), and no token is in the
  bytes.
* A page whose plan does not hash as stated is refused before anything is written.
* End to end: a provisioned ``pos-edge serve`` process pulls the plan drawn at the hub: its
  GET /api/v1/tables lists the tables; after a token rotation, the old sticker's token is
  refused by the guest API (403) and the new one opens the table.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import httpx
import msgspec
import pytest

from edge import sync_state, tables
from edge.db import Database, connect
from shared.schemas import FloorPlan
from sync.protocol import (
    FEED_KINDS,
    MEDIA_TYPE,
    EnrollRequest,
    EnrollResponse,
    PullChange,
    PullResponse,
    decode_frame,
    encode_frame,
    floor_checksum,
)
from sync.pull import ChecksumMismatch, verify_change
from tests.hub.test_floor import demo_plan
from tests.sync.conftest import EdgeServer, issue_code, publish_catalog, run_edge_cli, wait_for

pytestmark = pytest.mark.postgres

# What an edge of the release before table service asks for, and decodes pages into.
PREVIOUS_KINDS = ("catalog", "staff", "settings", "payments", "confirmations")


class PullChangeBefore(msgspec.Struct, kw_only=True):
    cursor: int
    kind: Literal["catalog", "staff", "settings", "payments", "confirmations"]
    version: int
    checksum: str


class PullResponseBefore(msgspec.Struct, kw_only=True):
    cursor: int
    changes: list[PullChangeBefore] = []
    checksums: dict[str, str] = {}
    versions: dict[str, int] = {}


def enroll(t: Any, outlet_id: str) -> str:
    code = issue_code(t, outlet_id).json()["code"]
    frame = encode_frame(EnrollRequest(code=code, device_key="dk_" + uuid.uuid4().hex))
    reply = httpx.post(t.server.base_url + "/api/v1/enrollment/redeem", content=frame,
                       headers={"Content-Type": MEDIA_TYPE}, timeout=30)
    assert reply.status_code == 200, reply.text
    return decode_frame(reply.content, EnrollResponse).credential


def pull(t: Any, credential: str, cursor: int = 0, kinds: tuple[str, ...] | None = FEED_KINDS
         ) -> tuple[bytes, PullResponse]:
    params: dict[str, Any] = {"cursor": cursor}
    if kinds is not None:
        params["kinds"] = ",".join(kinds)
    response = httpx.get(t.server.base_url + "/api/v1/sync/pull", params=params, timeout=30,
                         headers={"Authorization": f"Bearer {credential}", "Accept": MEDIA_TYPE})
    assert response.status_code == 200, response.text
    return response.content, decode_frame(response.content, PullResponse)


def floor_change(page: PullResponse) -> PullChange | None:
    found = [c for c in page.changes if c.kind == "floor"]
    assert len(found) <= 1
    return found[0] if found else None


def test_floor_reaches_only_edges_that_ask_for_it(tenant_factory) -> None:
    assert "floor" in FEED_KINDS and "floor" not in PREVIOUS_KINDS
    t = tenant_factory()
    publish_catalog(t, [("Es Teh", 8_000)])
    outlet, neighbour = t.create_outlet("Floor feed"), t.create_outlet("Neighbour")
    key, other_key = enroll(t, outlet["id"]), enroll(t, neighbour["id"])
    _, first = pull(t, key)
    assert floor_change(first) is None and "floor" not in first.checksums  # no plan yet

    saved = t.client.put(f"/api/v1/outlets/{outlet['id']}/floor", json=demo_plan())
    assert saved.status_code == 200, saved.text
    tokens = [x["guest_token"] for x in saved.json()["tables"]]
    _, page = pull(t, key, first.cursor)
    change = floor_change(page)
    assert change is not None and change.version == 1 and change.floor is not None
    assert change.checksum == floor_checksum(change.floor) == page.checksums["floor"]
    assert page.versions["floor"] == 1 and change.floor.version == 1
    assert sorted(x.guest_token for x in change.floor.tables) == sorted(tokens)
    assert {a.name for a in change.floor.areas} == {"Indoor", "Teras"}
    assert change.floor.courses == ["minuman", "makanan", "pencuci_mulut"]
    verify_change(change)
    _, again = pull(t, key, page.cursor)  # nothing changed: nothing resent, still stated
    assert floor_change(again) is None and again.checksums["floor"] == change.checksum

    # another outlet's box: not a byte of this plan
    raw_other, other = pull(t, other_key)
    assert floor_change(other) is None and "floor" not in other.checksums
    assert not any(tok.encode() in raw_other for tok in tokens)

    # one wire version behind: its kinds without "floor", or no kinds at all (catalog feed)
    for kinds in (PREVIOUS_KINDS, None):
        raw_old, _ = pull(t, key, 0, kinds=kinds)
        old = decode_frame(raw_old, PullResponseBefore)  # fails on a change of kind "floor"
        assert old.changes and {c.kind for c in old.changes} <= set(PREVIOUS_KINDS)
        assert "floor" not in old.checksums and "floor" not in old.versions
        assert not any(tok.encode() in raw_old for tok in tokens)

    # a rotation is a new version of the plan, and a new change after the edge's cursor
    table = saved.json()["tables"][0]
    rotated = t.client.post(f"/api/v1/outlets/{outlet['id']}/floor/tables/{table['id']}/rotate-token")
    assert rotated.status_code == 200, rotated.text
    _, later = pull(t, key, page.cursor)
    newer = floor_change(later)
    assert newer is not None and newer.version == 2 and later.cursor > page.cursor
    assert next(x for x in newer.floor.tables if x.id == table["id"]).guest_token != table["guest_token"]


def test_a_plan_that_does_not_hash_as_stated_is_never_applied(tmp_path) -> None:
    drawn = demo_plan(1)
    plan = msgspec.convert({**drawn, "tables": [x | {"guest_token": f"tok-{i}"}
                                                for i, x in enumerate(drawn["tables"])]}, FloorPlan)
    good = PullChange(cursor=1, kind="floor", version=1, checksum=floor_checksum(plan), floor=plan)
    verify_change(good)
    tampered = msgspec.structs.replace(plan, tables=[
        msgspec.structs.replace(plan.tables[0], guest_token="attacker"), *plan.tables[1:]])
    with pytest.raises(ChecksumMismatch):
        verify_change(msgspec.structs.replace(good, floor=tampered))
    with pytest.raises(ChecksumMismatch):
        verify_change(msgspec.structs.replace(good, floor=None))
    # a verified page is applied with its cursor, and the box states the hub's checksum
    db = Database(tmp_path / "edge.db")
    try:
        db.write_blocking(sync_state.ensure_journal)
        page = PullResponse(cursor=7, changes=[good])
        assert db.write_blocking(lambda c: sync_state.apply_feed_page(c, page)) == 1
        assert db.read_now(tables.floor_plan) == plan
        assert db.read_now(sync_state.applied_checksums)["floor"] == good.checksum
        assert db.read_now(lambda c: tables.table_by_token(c, "tok-3")).id == plan.tables[3].id
    finally:
        db.close()


def plan_checksum(out: dict[str, Any]) -> str:
    """floor_checksum of the plan a hub answer (GET/PUT .../floor) describes."""
    fields = set(FloorPlan.__struct_fields__)
    return floor_checksum(msgspec.convert({k: v for k, v in out.items() if k in fields}, FloorPlan))


FAST_SYNC = {"POS_SYNC_TICK": "0.1", "POS_SYNC_INTERVAL": "0.5", "POS_SYNC_PULL_INTERVAL": "0.5",
             "POS_SYNC_MIN_BACKOFF": "0.1", "POS_SYNC_MAX_BACKOFF": "0.5"}


def test_plan_drawn_at_the_hub_reaches_a_running_edge(hub_server, tenant_factory,
                                                       tmp_path) -> None:
    t = tenant_factory()
    publish_catalog(t, [("Nasi Goreng", 25_000)])
    outlet = t.create_outlet(f"E2E floor {uuid.uuid4().hex[:4]}", timezone="Asia/Jakarta")
    first = t.client.put(f"/api/v1/outlets/{outlet['id']}/floor", json=demo_plan())
    assert first.status_code == 200, first.text
    box = tmp_path / "box"
    done = run_edge_cli("provision", "--hub", hub_server.base_url, "--code",
                        issue_code(t, outlet["id"]).json()["code"], "--data-dir", str(box))
    assert done.returncode == 0, done.stderr
    edge = EdgeServer(box, env=FAST_SYNC)
    edge.start(timeout=90)  # generous: the suite shares two cores
    try:
        device = edge.pair("cashier", "Till 1")
        # provisioning pulled the plan: ten tables in two areas
        views = edge.call("GET", "/api/v1/tables", device)["items"]
        assert sorted((v["area"], v["name"], v["seats"]) for v in views) == sorted(
            [("Indoor", str(i), 4) for i in range(1, 7)] + [("Teras", f"T{i}", 2) for i in range(1, 5)])
        assert all(v["status"] == "free" for v in views)

        # head office redraws: a table removed, one renamed and given more seats
        plan = first.json()
        kept = [{k: v for k, v in x.items() if k != "guest_token"} for x in plan["tables"]]
        kept[0].update(name="VIP", seats=8)
        body = dict(demo_plan(1), areas=plan["areas"], tables=kept[:-1])
        second = t.client.put(f"/api/v1/outlets/{outlet['id']}/floor", json=body)
        assert second.status_code == 200, second.text

        def redrawn() -> list[dict[str, Any]] | None:
            items = edge.call("GET", "/api/v1/tables", device)["items"]
            return items if any(v["name"] == "VIP" for v in items) else None

        views = wait_for(redrawn, timeout=90, what="the new plan on the edge")
        assert len(views) == 9 and next(v for v in views if v["name"] == "VIP")["seats"] == 8

        # a new QR code: the old sticker is refused by the guest API once the box has pulled
        table = next(x for x in second.json()["tables"] if x["name"] == "VIP")
        old = table["guest_token"]

        def guest(token: str) -> httpx.Response:
            return httpx.get(edge.url + "/api/v1/guest/table", params={"menu": "false"},
                             headers={"X-Table-Token": token}, timeout=15)

        assert guest(old).status_code == 200 and guest(old).json()["table"]["name"] == "VIP"
        rotated = t.client.post(
            f"/api/v1/outlets/{outlet['id']}/floor/tables/{table['id']}/rotate-token")
        assert rotated.status_code == 200, rotated.text
        new = next(x for x in rotated.json()["tables"] if x["id"] == table["id"])["guest_token"]
        conn = connect(box / "edge.db")  # the box's database, read beside the running box
        try:
            wait_for(lambda: tables.floor_plan(conn).version == 3, timeout=90,
                     what="the rotation pulled")
            refused = guest(old)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "forbidden"
            opened = guest(new)
            assert opened.status_code == 200 and opened.json()["table"]["name"] == "VIP"
            # the box states the hub's plan: its copy verifies, no resync, no pull error
            assert sync_state.applied_checksums(conn)["floor"] == plan_checksum(rotated.json())
        finally:
            conn.close()
        assert edge.call("GET", "/api/v1/sync/status", device)["last_error"] is None
    finally:
        edge.stop()
