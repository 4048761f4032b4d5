"""Two hub processes on one PostgreSQL: batches (and replays of them) sent to either hub, at the
same time, are applied exactly once."""

from __future__ import annotations

import asyncio

import pytest

from sync.client import HubClient
from sync.protocol import PushRequest, PushResponse
from tests.sync.conftest import enroll, issue_code, pg_query

pytestmark = pytest.mark.postgres


def test_pushes_to_either_of_two_hubs_never_double_apply(hub_server, hub_server_factory, pg_url,
                                                         tenant, outlet_factory, journal_factory):
    second = hub_server_factory(pg_url)
    outlet = outlet_factory(tenant)
    credential = enroll(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"]).credential
    journal = journal_factory(outlet["id"])
    sales = [journal.sale([("Ayam Bakar", 35_000, 1 + n % 3)]) for n in range(30)]
    entries = journal.pending()
    assert len(entries) == 120
    epoch = entries[0].epoch
    batches = [entries[i:i + 8] for i in range(0, len(entries), 8)]

    async def go() -> list[PushResponse]:
        async with HubClient(hub_server.base_url, credential) as a, \
                HubClient(second.base_url, credential) as b:
            replies: list[PushResponse] = []
            for n, batch in enumerate(batches):
                request = PushRequest(outlet_id=outlet["id"], epoch=epoch, entries=batch)
                # the same batch to both hubs at once (a proxy replaying to another replica),
                # plus the previous batch again
                calls = [a.push(request), b.push(request)]
                if n:
                    calls.append((b if n % 2 else a).push(PushRequest(
                        outlet_id=outlet["id"], epoch=epoch, entries=batches[n - 1])))
                replies.extend(await asyncio.gather(*calls))
            return replies

    replies = asyncio.run(go())
    assert all(r.status == "ok" for r in replies)
    assert sum(r.applied for r in replies) == 120
    assert max(r.acked_seq for r in replies) == 120
    rows = pg_query(hub_server.db_url, "SELECT count(*), sum(total), sum(paid) FROM orders"
                    " WHERE outlet_id = %s", outlet["id"])
    total = sum(order.total for order, _ in sales)
    assert rows == [(30, total, total)]
    assert pg_query(hub_server.db_url, "SELECT count(*), sum(amount) FROM payments WHERE outlet_id = %s",
                    outlet["id"]) == [(30, total)]
    assert pg_query(hub_server.db_url, "SELECT count(*) FROM kitchen_events WHERE outlet_id = %s",
                    outlet["id"]) == [(30,)]
    assert pg_query(hub_server.db_url, "SELECT count(*), max(seq) FROM sync_journal WHERE outlet_id = %s",
                    outlet["id"]) == [(120, 120)]
