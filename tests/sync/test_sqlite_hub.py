"""The embedded demo hub (SQLite): the same push guarantees, with two hub processes on one file."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

from shared.ids import new_id
from shared.schemas import KitchenEvent
from sync.client import HubClient
from sync.protocol import PushRequest, PushResponse
from tests.sync.conftest import enroll, issue_code


def test_sqlite_hub_applies_concurrent_replayed_batches_once(sqlite_hub_server, hub_server_factory,
                                                             sqlite_url, tenant_factory,
                                                             journal_factory):
    second = hub_server_factory(sqlite_url)
    tenant = tenant_factory(server=sqlite_hub_server)
    outlet = tenant.create_outlet("SQLite Outlet")
    credential = enroll(sqlite_hub_server.base_url,
                        issue_code(tenant, outlet["id"]).json()["code"]).credential
    journal = journal_factory(outlet["id"])
    sales = [journal.sale([("Nasi Liwet", 27_000, 1 + n % 2)]) for n in range(10)]
    entries = journal.pending()
    batches = [entries[i:i + 6] for i in range(0, len(entries), 6)]

    async def go() -> list[PushResponse]:
        async with HubClient(sqlite_hub_server.base_url, credential) as a, \
                HubClient(second.base_url, credential) as b:
            replies: list[PushResponse] = []
            for batch in batches:
                request = PushRequest(outlet_id=outlet["id"], epoch=entries[0].epoch, entries=batch)
                replies.extend(await asyncio.gather(a.push(request), b.push(request)))
            return replies

    replies = asyncio.run(go())
    assert sum(r.applied for r in replies) == 40 and max(r.acked_seq for r in replies) == 40
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        orders = conn.execute("SELECT count(*), sum(total), sum(paid) FROM orders WHERE outlet_id = ?",
                              (outlet["id"],)).fetchone()
        payments = conn.execute("SELECT count(*) FROM payments WHERE outlet_id = ?",
                                (outlet["id"],)).fetchone()
        journal_rows = conn.execute("SELECT count(*) FROM sync_journal WHERE outlet_id = ?",
                                    (outlet["id"],)).fetchone()
    total = sum(order.total for order, _ in sales)
    assert orders == (10, total, total) and payments == (10,) and journal_rows == (40,)


def test_sqlite_hub_keeps_one_row_per_kitchen_action(sqlite_hub_server, sqlite_url, tenant_factory,
                                                     journal_factory):
    # The same bump journaled twice under two event ids (as a re-chained epoch can): one
    # kitchen row, nothing quarantined, also when both arrive in one batch.
    tenant = tenant_factory(server=sqlite_hub_server)
    outlet = tenant.create_outlet("SQLite Kitchen")
    credential = enroll(sqlite_hub_server.base_url,
                        issue_code(tenant, outlet["id"]).json()["code"]).credential
    journal = journal_factory(outlet["id"])
    order, _ = journal.sale([("Soto Ayam", 30_000, 1)])
    ticket = journal.pending()[1]  # the sale's kitchen "created" event
    bump = KitchenEvent(ticket_id=new_id(), order_id=order.id, station="kitchen",
                        action="bumped", at=datetime.now(UTC))
    journal.append(bump, bump)
    entries = journal.pending()

    async def go() -> PushResponse:
        async with HubClient(sqlite_hub_server.base_url, credential) as client:
            return await client.push(PushRequest(outlet_id=outlet["id"], epoch=entries[0].epoch,
                                                 entries=entries))

    reply = asyncio.run(go())
    assert (reply.status, reply.applied, reply.quarantined, reply.acked_seq) == ("ok", 6, [], 6)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        kitchen = conn.execute("SELECT action, count(*) FROM kitchen_events WHERE outlet_id = ?"
                               " GROUP BY action ORDER BY action", (outlet["id"],)).fetchall()
    assert ticket.seq == 2 and kitchen == [("bumped", 1), ("created", 1)]
