"""The hub's feed for an outlet, through a real hub: catalog snapshots by cursor, checksums,
snapshot resync, and nothing of another tenant."""

from __future__ import annotations

import asyncio

import pytest

from sync.client import HubClient
from sync.protocol import PullResponse, catalog_checksum
from tests.sync.conftest import enroll, issue_code, pg_query, publish_catalog

pytestmark = pytest.mark.postgres


def pull(base_url: str, credential: str, cursor: int, snapshot: bool = False) -> PullResponse:
    async def go() -> PullResponse:
        async with HubClient(base_url, credential) as client:
            return await client.pull(cursor, snapshot=snapshot)
    return asyncio.run(go())


def test_feed_by_cursor_with_checksums(hub_server, tenant, other_tenant, outlet_factory):
    outlet = outlet_factory(tenant)
    credential = enroll(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"]).credential
    empty = pull(hub_server.base_url, credential, 0)
    assert empty.changes == [] and empty.cursor == 0
    publish_catalog(tenant, [("Nasi Campur", 30_000), ("Es Jeruk", 8_000)])
    first = pull(hub_server.base_url, credential, 0)
    assert len(first.changes) == 1
    change = first.changes[0]
    assert change.kind == "catalog" and change.catalog is not None
    assert catalog_checksum(change.catalog) == change.checksum == first.catalog_checksum
    names = {p.name: p.price for p in change.catalog.products}
    assert names["Nasi Campur"] == 30_000 and names["Es Jeruk"] == 8_000
    version = first.cursor
    assert version == change.version == first.catalog_version >= 1
    # up to date: nothing to send, the checksum still stated for verification
    same = pull(hub_server.base_url, credential, version)
    assert same.changes == [] and same.catalog_checksum == change.checksum
    # three more publications while the box is offline: it catches up in one page
    for n in range(3):
        publish_catalog(tenant, [(f"Special {n}", 10_000 + n)])
    week = pull(hub_server.base_url, credential, version)
    assert len(week.changes) == 1 and week.cursor == version + 3 and not week.more
    assert {f"Special {n}" for n in range(3)} <= {p.name for p in week.changes[0].catalog.products}
    # a cursor the hub never issued (restored hub, foreign box): resync from a snapshot
    ahead = pull(hub_server.base_url, credential, version + 50)
    assert ahead.snapshot_required and ahead.changes[0].version == version + 3
    # the hub no longer keeps the versions right after the box's cursor (retention): the box
    # is told to resync from a snapshot
    pg_query(hub_server.db_url, "DELETE FROM catalog_snapshots WHERE outlet_id = %s AND version < %s"
             " RETURNING version", outlet["id"], version + 3)
    stale = pull(hub_server.base_url, credential, version)
    assert stale.snapshot_required and stale.changes[0].version == version + 3
    # another tenant's catalog never appears in this outlet's feed
    publish_catalog(other_tenant, [("Bravo Secret Dish", 1)])
    latest = pull(hub_server.base_url, credential, 0, snapshot=True)
    assert "Bravo Secret Dish" not in {p.name for p in latest.changes[0].catalog.products}
    fleet = tenant.client.get("/api/v1/fleet").json()["items"]
    assert next(e for e in fleet if e["outlet_id"] == outlet["id"])["last_pull_at"] is not None
