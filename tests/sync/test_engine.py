"""The edge's background sync engine (APScheduler jobs) against a real hub behind a switchable
link: sales never wait for the hub, the backlog drains on its own once the hub is back, and a
reply lost after the hub committed is neither lost nor doubled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from netproxy import LinkProxy

from edge import sync_state
from edge.provision import provision
from sync.engine import SyncEngine, SyncSettings
from tests.sync.conftest import EdgeJournal, issue_code, pg_query

pytestmark = pytest.mark.postgres

FAST = SyncSettings(tick=0.05, interval=0.3, pull_interval=1.0, min_backoff=0.05, max_backoff=0.4,
                    batch_events=20, timeout=3.0)


async def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
async def linked_box(hub_server, tenant_factory, tmp_path: Path):
    tenant = await asyncio.to_thread(tenant_factory)  # fresh tenant: no published catalog
    outlet = await asyncio.to_thread(tenant.create_outlet, "Engine Outlet")
    code = (await asyncio.to_thread(issue_code, tenant, outlet["id"])).json()["code"]
    target = urlparse(hub_server.base_url)
    proxy = LinkProxy(target.hostname or "127.0.0.1", target.port or 80)
    await proxy.start()
    data_dir = tmp_path / "box"
    await asyncio.to_thread(provision, proxy.url, code, data_dir)
    journal = EdgeJournal(data_dir / "edge.db", outlet["id"])
    engine = SyncEngine(sync_state.EdgeStore(journal.db, data_dir), FAST)
    engine.start()
    yield outlet, proxy, journal, engine
    await engine.stop()
    await proxy.stop()
    journal.close()


def hub_orders(db_url: str, outlet_id: str) -> tuple[int, int]:
    return pg_query(db_url, "SELECT count(*), coalesce(sum(total), 0) FROM orders"
                    " WHERE outlet_id = %s", outlet_id)[0]


async def test_backlog_drains_by_timer_after_an_outage(hub_server, linked_box):
    outlet, proxy, journal, engine = linked_box
    db = journal.db
    sales = [journal.sale([("Nasi Kuning", 20_000, 1)])[0] for _ in range(3)]
    await wait_for(lambda: db.read_now(sync_state.status)["backlog"] == 0)
    assert hub_orders(hub_server.db_url, outlet["id"]) == (3, sum(o.total for o in sales))

    proxy.up = False  # the outlet loses its internet
    started = time.monotonic()
    outage_sales = [journal.sale([("Es Campur", 12_000, 2)])[0] for _ in range(40)]
    assert time.monotonic() - started < 5  # selling never waited for the hub
    await wait_for(lambda: (s := db.read_now(sync_state.status))["last_error"] and not s["hub_reachable"])
    status = db.read_now(sync_state.status)
    assert status["backlog"] == 160 and proxy.url in status["last_error"]
    assert engine.push_backoff.failures >= 1

    proxy.up = True  # back online; no new sale happens: the timer alone drains the backlog
    await wait_for(lambda: db.read_now(sync_state.status)["backlog"] == 0)
    status = db.read_now(sync_state.status)
    assert status["hub_reachable"] and status["last_error"] is None and status["last_push_at"]
    assert hub_orders(hub_server.db_url, outlet["id"]) == (
        43, sum(o.total for o in sales + outage_sales))


async def test_lost_replies_are_retried_without_doubling(hub_server, linked_box):
    outlet, proxy, journal, _ = linked_box
    db = journal.db
    proxy.drop_replies = True  # requests reach the hub, answers never come back
    sales = [journal.sale([("Bakmi", 24_000, 1)])[0] for _ in range(5)]
    await wait_for(lambda: hub_orders(hub_server.db_url, outlet["id"])[0] == 5)
    await asyncio.sleep(0.5)
    assert db.read_now(sync_state.status)["backlog"] == 20  # never acknowledged: kept
    proxy.drop_replies = False
    await wait_for(lambda: db.read_now(sync_state.status)["backlog"] == 0)
    assert hub_orders(hub_server.db_url, outlet["id"]) == (5, sum(o.total for o in sales))
    held = pg_query(hub_server.db_url, "SELECT count(*) FROM sync_journal WHERE outlet_id = %s",
                    outlet["id"])
    assert held == [(20,)]


async def test_synced_events_are_pruned_and_the_chain_stays_verifiable(hub_server, linked_box):
    outlet, proxy, journal, engine = linked_box
    db = journal.db
    for _ in range(3):
        journal.sale([("Pisang Goreng", 9_000, 3)])
    await wait_for(lambda: db.read_now(sync_state.status)["backlog"] == 0)
    engine.settings.retention_days = 0  # keep synced events for no time at all
    await asyncio.sleep(0.01)
    assert await engine.prune() == 12
    head = journal.head()
    assert head["pruned_seq"] == 12 and db.read_now(lambda c: c.execute(
        "SELECT count(*) FROM outbox").fetchone()[0]) == 0
    # the anchor kept on the box is the hash the hub holds for seq 12: the chain continues
    held = pg_query(hub_server.db_url, "SELECT last_seq, last_hash FROM sync_cursors"
                    " WHERE outlet_id = %s", outlet["id"])
    assert held == [(12, head["pruned_hash"])]
    journal.sale([("Pisang Goreng", 9_000, 1)])
    await wait_for(lambda: db.read_now(sync_state.status)["backlog"] == 0)
    assert hub_orders(hub_server.db_url, outlet["id"])[0] == 4
    # nothing unacknowledged is ever pruned
    proxy.up = False
    journal.sale([("Pisang Goreng", 9_000, 1)])
    await asyncio.sleep(0.3)
    await engine.prune()
    assert db.read_now(lambda c: c.execute("SELECT min(seq), count(*) FROM outbox").fetchone()[:]) == (17, 4)


async def test_hub_restored_from_backup_gets_the_missing_events_resent(hub_server, linked_box):
    outlet, _, journal, _ = linked_box
    db = journal.db
    sales = [journal.sale([("Tahu Telor", 19_000, 1)])[0] for _ in range(3)]
    await wait_for(lambda: db.read_now(sync_state.status)["backlog"] == 0)
    # The hub is restored from a backup taken after seq 4: it lost seqs 5..12 and the orders
    # they carried (simulated on its database as the superuser).
    oid = outlet["id"]
    fourth = pg_query(hub_server.db_url, "SELECT hash FROM sync_journal WHERE outlet_id = %s AND seq = 4",
                      oid)[0][0]
    pg_query(hub_server.db_url, "DELETE FROM sync_journal WHERE outlet_id = %s AND seq > 4"
             " RETURNING seq", oid)
    pg_query(hub_server.db_url, "UPDATE sync_cursors SET last_seq = 4, last_hash = %s"
             " WHERE outlet_id = %s RETURNING last_seq", fourth, oid)
    pg_query(hub_server.db_url, "DELETE FROM order_lines WHERE outlet_id = %s AND order_id <> %s"
             " RETURNING id", oid, sales[0].id)
    pg_query(hub_server.db_url, "DELETE FROM orders WHERE outlet_id = %s AND id <> %s RETURNING id",
             oid, sales[0].id)
    assert hub_orders(hub_server.db_url, oid)[0] == 1
    later = journal.sale([("Tahu Telor", 19_000, 2)])[0]  # the box pushes seq 13..: a gap
    await wait_for(lambda: hub_orders(hub_server.db_url, oid)[0] == 4)
    await wait_for(lambda: db.read_now(sync_state.status)["backlog"] == 0)
    assert hub_orders(hub_server.db_url, oid) == (4, sum(o.total for o in [*sales, later]))
    assert pg_query(hub_server.db_url, "SELECT count(*), max(seq) FROM sync_journal WHERE outlet_id = %s",
                    oid) == [(16, 16)]
