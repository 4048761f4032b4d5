"""Sync pulls that carry content on the fast path (issue 14; docs/scaling.md, "Pulls that
carry content"): ``hub.pull_fast.pull`` answers what ``hub.ingest.feed.outlet_feed`` (the
full path) answers, field for field and byte for byte once encoded, for a new catalog, a
staff change, a settings change, a snapshot, a lost cursor and a repeated pull; whichever of
the two records a change first, the other states the same feed. Each outlet gets its own
catalog (its own prices) although catalogs are decoded once per content
(``feed.CATALOGS``, keyed by tenant and content), nothing of another outlet or tenant, and a
revoked credential is refused at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from hub import pull_fast
from hub.db import Database
from hub.ingest import enrollment, feed
from hub.staff_pins import PinVault
from sync.protocol import PullResponse, decode_frame, encode_frame
from tests.hub.conftest import PIN_KEY, PgRoles, TenantCtx
from tests.sync.conftest import enroll, issue_code, publish_catalog

pytestmark = pytest.mark.postgres

KINDS = frozenset({"catalog", "staff", "settings"})
_SAME_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def _frame_of(page: PullResponse) -> bytes:
    """The page as the hub sends it, with one fixed time (the only field allowed to differ)."""
    return encode_frame(msgspec.structs.replace(page, hub_time=_SAME_TIME), version=2)


class Pulls:
    """One outlet's credential against the test database, as ``pos-hub serve`` logs in."""

    def __init__(self, roles: PgRoles, token: str) -> None:
        self.roles, self.token = roles, token

    async def _run(self, first: str, cursor: int, snapshot: bool
                   ) -> tuple[PullResponse | None, PullResponse]:
        db = Database(self.roles.app, system_url=self.roles.system, pool_size=2)
        try:
            async def fast() -> PullResponse | None:
                return (await pull_fast.pull(db, self.token, cursor, snapshot, KINDS))[0]

            async def full() -> PullResponse:
                who = await enrollment.authenticate(db, self.token)
                return await feed.outlet_feed(db, who, cursor, snapshot=snapshot, kinds=KINDS,
                                              pins=PinVault(PIN_KEY))

            if first == "fast":
                quick = await fast()
                return quick, await full()
            slow = await full()
            return await fast(), slow
        finally:
            await db.dispose()

    def both(self, cursor: int, snapshot: bool = False, first: str = "fast") -> PullResponse:
        """Both paths' pages for ``cursor``: the fast one answered and equals the full one."""
        quick, slow = asyncio.run(self._run(first, cursor, snapshot))
        assert quick is not None, "the fast path sent this pull to the full path"
        assert _frame_of(quick) == _frame_of(slow)
        assert msgspec.structs.replace(quick, hub_time=slow.hub_time) == slow
        return quick

    def fast_only(self, cursor: int) -> tuple[PullResponse | None, Any]:
        async def go() -> tuple[PullResponse | None, Any]:
            db = Database(self.roles.app, system_url=self.roles.system, pool_size=2)
            try:
                return await pull_fast.pull(db, self.token, cursor, False, KINDS)
            finally:
                await db.dispose()
        return asyncio.run(go())


def _through_hub(tenant: TenantCtx, token: str, cursor: int) -> httpx.Response:
    return httpx.get(f"{tenant.server.base_url}/api/v1/sync/pull",
                     params={"cursor": cursor, "kinds": "catalog,staff,settings"},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _kinds(page: PullResponse) -> list[str]:
    return [change.kind for change in page.changes]


def _prices(page: PullResponse) -> dict[str, int]:
    catalog = next(c.catalog for c in page.changes if c.kind == "catalog")
    assert catalog is not None
    return {p.name: p.price for p in catalog.products}


def test_content_pulls_equal_the_full_path(tenant_factory: Any, pg_roles: PgRoles) -> None:
    t = tenant_factory()
    here, there = t.create_outlet("Here"), t.create_outlet("There")
    made = publish_catalog(t, [("Soto", 28_000), ("Teh", 8_000)])
    staff = t.client.post("/api/v1/staff", json={"name": "Dewi", "role": "cashier",
                                                 "pin": "314159", "all_outlets": True})
    assert staff.status_code == 201, staff.text
    tokens = {o["id"]: enroll(t.server.base_url, issue_code(t, o["id"]).json()["code"]).credential
              for o in (here, there)}
    heads = {}
    for outlet_id, token in tokens.items():  # first contact (full path): verifiers derived
        first = decode_frame(_through_hub(t, token, 0).content, PullResponse)
        assert sorted(_kinds(first)) == ["catalog", "settings", "staff"]
        heads[outlet_id] = first.cursor
    pulls = Pulls(pg_roles, tokens[here["id"]])
    head = heads[here["id"]]

    assert pulls.both(head).changes == []  # caught up
    assert sorted(_kinds(pulls.both(0))) == ["catalog", "settings", "staff"]

    # a new menu, "There" with a price of its own: the fast path records it (first)
    price = t.client.put(f"/api/v1/outlets/{there['id']}/prices/{made[0]['id']}",
                         json={"price": 30_500})
    assert price.status_code == 200, price.text
    republished = t.client.post(f"/api/v1/brands/{t.brand_id}/publish")
    assert republished.status_code in (200, 201), republished.text
    menu = pulls.both(head)
    assert _kinds(menu) == ["catalog"] and menu.cursor == head + 1
    assert _prices(menu) == {"Soto": 28_000, "Teh": 8_000}
    elsewhere = Pulls(pg_roles, tokens[there["id"]]).both(heads[there["id"]], first="full")
    assert _prices(elsewhere) == {"Soto": 30_500, "Teh": 8_000}  # its own, not a cached one
    assert _prices(pulls.both(head)) == {"Soto": 28_000, "Teh": 8_000}  # repeated: the same
    head = menu.cursor

    # a staff change, recorded by the full path first: the fast one states the same
    renamed = t.client.patch(f"/api/v1/staff/{staff.json()['id']}", json={"name": "Dewi S"})
    assert renamed.status_code == 200, renamed.text
    roster = pulls.both(head, first="full")
    assert _kinds(roster) == ["staff"]
    assert [s.name for s in roster.changes[0].staff.staff] == ["Dewi S"]  # type: ignore[union-attr]
    head = roster.cursor

    # a settings change, and a catalog in the same page
    patched = t.client.patch(f"/api/v1/outlets/{here['id']}",
                             json={"settings": {"kitchen_trigger": "payment"}})
    assert patched.status_code == 200, patched.text
    assert t.client.post(f"/api/v1/brands/{t.brand_id}/publish").status_code in (200, 201)
    both = pulls.both(head)
    assert sorted(_kinds(both)) == ["catalog", "settings"] and both.cursor == head + 2
    settings = next(c.settings for c in both.changes if c.kind == "settings")
    assert settings is not None and (settings.name, settings.kitchen_trigger) == ("Here", "payment")
    head = both.cursor

    # a snapshot asked for, a cursor the hub never issued, an old cursor
    assert sorted(_kinds(pulls.both(head, snapshot=True))) == ["catalog", "settings", "staff"]
    lost = pulls.both(head + 7)
    assert lost.snapshot_required and lost.cursor == head and len(lost.changes) == 3
    assert pulls.both(head - 1).changes != []

    # through the hub: the page the edge decodes is the full path's
    served = decode_frame(_through_hub(t, tokens[here["id"]], head - 2).content, PullResponse)
    assert sorted(_kinds(served)) == ["catalog", "settings"]
    assert _frame_of(served) == _frame_of(pulls.both(head - 2))


def test_an_outlet_gets_nothing_of_another_and_a_revoked_credential_is_refused(
        tenant_factory: Any, pg_roles: PgRoles) -> None:
    a, b = tenant_factory(), tenant_factory()
    mine, sibling = a.create_outlet("Mine"), a.create_outlet("Sibling")
    theirs = b.create_outlet("Theirs")
    publish_catalog(a, [("Nasi", 20_000)])
    publish_catalog(b, [("Secret Sauce", 99_000)])
    b_staff = b.client.post("/api/v1/staff", json={"name": "Spy", "role": "cashier",
                                                   "pin": "864209", "all_outlets": True})
    sibling_staff = a.client.post("/api/v1/staff", json={
        "name": "Sibling Only", "role": "cashier", "pin": "271828",
        "outlet_ids": [sibling["id"]]})
    assert b_staff.status_code == sibling_staff.status_code == 201
    a.client.patch(f"/api/v1/outlets/{sibling['id']}", json={"settings": {"kitchen_trigger": "payment"}})
    token = enroll(a.server.base_url, issue_code(a, mine["id"]).json()["code"]).credential
    enroll(b.server.base_url, issue_code(b, theirs["id"]).json()["code"])
    first = decode_frame(_through_hub(a, token, 0).content, PullResponse)
    pulls = Pulls(pg_roles, token)

    page = pulls.both(0)
    wire = _frame_of(page)
    body = msgspec.json.encode(page).decode()
    for foreign in ("Secret Sauce", "Spy", "Sibling Only", theirs["id"], sibling["id"],
                    b.id):
        assert foreign not in body
    assert _prices(page) == {"Nasi": 20_000}
    settings = next(c.settings for c in page.changes if c.kind == "settings")
    assert settings is not None and settings.name == "Mine" and settings.kitchen_trigger is None
    assert wire == _frame_of(pulls.both(0))

    revoked = a.client.post(f"/api/v1/outlets/{mine['id']}/sync-credentials/revoke")
    assert revoked.status_code in (200, 204), revoked.text
    assert pulls.fast_only(0) == (None, None)  # no page, no outlet: the full path refuses
    assert pulls.fast_only(first.cursor) == (None, None)
    refused = _through_hub(a, token, 0)
    assert refused.status_code in (401, 403) and "revoked" in refused.text


def test_catalogs_are_cached_per_tenant_and_content() -> None:
    cache = feed.CatalogCache(max_bytes=4000, max_entries=3)
    stored = '{"version": 3, "currency": "IDR", "products": []}'
    one, checksum = cache.get("tenant-a", stored)
    assert cache.get("tenant-a", stored) == (one, checksum) and cache.hits == 1
    other, other_checksum = cache.get("tenant-b", stored)  # another tenant: its own entry
    assert other is not one and other_checksum == checksum and cache.misses == 2
    changed, changed_checksum = cache.get("tenant-a", stored.replace("IDR", "SGD"))
    assert changed.currency == "SGD" and changed_checksum != checksum
    for n in range(5):  # bounded: the least recently used go first
        cache.get("tenant-a", stored.replace("3", str(10 + n)))
    assert len(cache._entries) == 3


def test_pulls_racing_after_a_change_record_it_once(tenant_factory: Any,
                                                    pg_roles: PgRoles) -> None:
    """Several pulls of one outlet at once after a publication (a box retrying, two hub
    replicas): the change gets one feed position, and every pull answers the same page."""
    t = tenant_factory()
    outlet = t.create_outlet("Racing")
    publish_catalog(t, [("Kopi", 12_000)])
    token = enroll(t.server.base_url, issue_code(t, outlet["id"]).json()["code"]).credential
    head = decode_frame(_through_hub(t, token, 0).content, PullResponse).cursor
    assert t.client.post(f"/api/v1/brands/{t.brand_id}/publish").status_code in (200, 201)

    async def race() -> list[PullResponse | None]:
        db = Database(pg_roles.app, system_url=pg_roles.system, pool_size=6)
        try:
            answers = await asyncio.gather(*(pull_fast.pull(db, token, head, False, KINDS)
                                             for _ in range(6)))
            return [page for page, _ in answers]
        finally:
            await db.dispose()

    pages = asyncio.run(race())
    assert all(page is not None for page in pages)
    frames = {_frame_of(page) for page in pages if page is not None}
    assert len(frames) == 1
    page = pages[0]
    assert page is not None and _kinds(page) == ["catalog"] and page.cursor == head + 1
    assert Pulls(pg_roles, token).both(page.cursor).changes == []
