"""The hub's side of push, through a real `pos-hub serve` on PostgreSQL and the real edge client.

Events are written to a real edge SQLite outbox (edge.outbox) and pushed with sync.push /
sync.client exactly as the running edge does; assertions read the hub's tables.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
import pytest

from edge import outbox
from hub.db import Database
from hub.ingest.retention import prune_journal
from hub.scheduler import Job, run_once
from hub.settings import HubSettings
from shared.schemas import JournalEntry, OrderEvent, event_encoder
from sync.client import HubClient, HubRefused
from sync.protocol import PushRequest, PushResponse
from sync.push import PushOutcome, push_once, push_pipelined
from tests.sync.conftest import EdgeJournal, enroll, issue_code, pg_query

pytestmark = pytest.mark.postgres


def push(base_url: str, credential: str, journal: EdgeJournal, **kw: Any) -> PushOutcome:
    async def go() -> PushOutcome:
        async with HubClient(base_url, credential) as client:
            return await push_once(journal.store, client, journal.outlet_id,
                                   max_events=kw.pop("max_events", 500),
                                   max_bytes=kw.pop("max_bytes", 10**6), **kw)
    return asyncio.run(go())


def send(base_url: str, credential: str, request: PushRequest) -> PushResponse:
    async def go() -> PushResponse:
        async with HubClient(base_url, credential) as client:
            return await client.push(request)
    return asyncio.run(go())


def drain(base_url: str, credential: str, journal: EdgeJournal, **kw: Any) -> list[PushOutcome]:
    outcomes = []
    for _ in range(100):
        outcome = push(base_url, credential, journal, **kw)
        outcomes.append(outcome)
        if not outcome.ok or not outcome.more:
            break
    return outcomes


@pytest.fixture
def enrolled(tenant, outlet_factory, journal_factory):
    outlet = outlet_factory(tenant)
    code = issue_code(tenant, outlet["id"])
    assert code.status_code == 201, code.text
    identity = enroll(tenant.server.base_url, code.json()["code"])
    assert identity.outlet_id == outlet["id"] and identity.tenant_id == tenant.id
    return outlet, identity.credential, journal_factory(outlet["id"])


def hub_counts(db_url: str, outlet_id: str) -> dict[str, Any]:
    def one(sql: str) -> Any:
        return pg_query(db_url, sql, outlet_id)[0][0]
    return {
        "orders": one("SELECT count(*) FROM orders WHERE outlet_id = %s"),
        "order_total": one("SELECT coalesce(sum(total), 0) FROM orders WHERE outlet_id = %s"),
        "order_lines": one("SELECT count(*) FROM order_lines WHERE outlet_id = %s"),
        "payments": one("SELECT count(*) FROM payments WHERE outlet_id = %s"),
        "paid": one("SELECT coalesce(sum(amount), 0) FROM payments WHERE outlet_id = %s"),
        "kitchen": one("SELECT count(*) FROM kitchen_events WHERE outlet_id = %s"),
        "journal": one("SELECT count(*) FROM sync_journal WHERE outlet_id = %s"),
    }


def test_orders_payments_kitchen_reach_the_hub_exactly_once(hub_server, enrolled):
    outlet, credential, journal = enrolled
    sales = [journal.sale([("Nasi Goreng", 25_000, 2), ("Es Teh", 5_000, n + 1)]) for n in range(7)]
    outcomes = drain(hub_server.base_url, credential, journal, max_events=5)
    assert all(o.ok for o in outcomes) and len(outcomes) >= 6  # 28 events in batches of 5
    assert journal.head()["acked_seq"] == 28
    expected_total = sum(order.total for order, _ in sales)
    counts = hub_counts(hub_server.db_url, outlet["id"])
    assert counts == {"orders": 7, "order_total": expected_total, "order_lines": 14,
                      "payments": 7, "paid": expected_total, "kitchen": 7, "journal": 28}
    # the later snapshot (paid, in_kitchen) won over the first one
    rows = pg_query(hub_server.db_url, "SELECT status, paid, edge_seq FROM orders WHERE id = %s",
                    sales[0][0].id)
    assert rows == [("in_kitchen", sales[0][0].total, 4)]

    # Re-pushing everything (a lost reply, a replaying proxy) changes nothing.
    entries = journal.db.read_now(lambda c: outbox.entries_from(c, outlet["id"], 1, None, 1000, 10**9))
    again = send(hub_server.base_url, credential,
                 PushRequest(outlet_id=outlet["id"], epoch=journal.head()["epoch"], entries=entries))
    assert (again.status, again.applied, again.duplicates, again.acked_seq) == ("ok", 0, 28, 28)
    assert hub_counts(hub_server.db_url, outlet["id"]) == counts
    metrics = httpx.get(hub_server.base_url + "/metrics", timeout=10).text
    assert 'hub_sync_events_total{result="duplicate"}' in metrics


def test_gap_asks_for_resend_from_the_right_point(hub_server, enrolled):
    outlet, credential, journal = enrolled
    for n in range(6):
        journal.sale([("Kopi", 18_000, n + 1)])
    entries = journal.pending()
    first = send(hub_server.base_url, credential, PushRequest(
        outlet_id=outlet["id"], epoch=entries[0].epoch, entries=entries[:4]))
    assert (first.status, first.acked_seq) == ("ok", 4)
    # seqs 5..8 lost on the way; 9.. arrive
    gap = send(hub_server.base_url, credential, PushRequest(
        outlet_id=outlet["id"], epoch=entries[0].epoch, entries=entries[8:12]))
    assert (gap.status, gap.resend_from, gap.applied) == ("resend", 5, 0)
    # the edge's push loop resends from there and everything lands once
    outcome = push(hub_server.base_url, credential, journal, resend_from=5)
    assert outcome.ok and outcome.acked_seq == 24
    assert hub_counts(hub_server.db_url, outlet["id"])["journal"] == 24
    assert hub_counts(hub_server.db_url, outlet["id"])["payments"] == 6


def test_a_pipelined_batch_that_overtakes_its_predecessor_waits_for_it(hub_server, enrolled):
    outlet, credential, journal = enrolled
    for n in range(6):
        journal.sale([("Kopi", 18_000, n + 1)])
    entries = journal.pending()
    epoch = entries[0].epoch

    async def go() -> tuple[PushResponse, PushResponse]:
        async with HubClient(hub_server.base_url, credential) as first, \
                HubClient(hub_server.base_url, credential) as second:
            # The second batch (seqs 13..24) reaches the hub 0.3 s before the first one.
            later = asyncio.create_task(second.push(PushRequest(
                outlet_id=outlet["id"], epoch=epoch, entries=entries[12:], pipelined=True)))
            await asyncio.sleep(0.3)
            earlier = await first.push(PushRequest(outlet_id=outlet["id"], epoch=epoch,
                                                   entries=entries[:12]))
            return earlier, await later

    earlier, later = asyncio.run(go())
    assert (earlier.status, earlier.acked_seq, earlier.applied) == ("ok", 12, 12)
    assert (later.status, later.acked_seq, later.applied) == ("ok", 24, 12)
    counts = hub_counts(hub_server.db_url, outlet["id"])
    assert (counts["journal"], counts["orders"], counts["payments"]) == (24, 6, 6)


def test_a_pipelined_batch_whose_predecessor_never_comes_gets_a_resend(hub_server, enrolled):
    outlet, credential, journal = enrolled
    for n in range(3):
        journal.sale([("Kopi", 18_000, n + 1)])
    entries = journal.pending()
    reply = send(hub_server.base_url, credential, PushRequest(
        outlet_id=outlet["id"], epoch=entries[0].epoch, entries=entries[4:], pipelined=True))
    # the hub has nothing of this epoch yet: resend from the epoch's start
    assert (reply.status, reply.resend_from, reply.applied) == ("resend", 0, 0)
    assert hub_counts(hub_server.db_url, outlet["id"])["journal"] == 0


def test_the_engine_drains_with_two_batches_in_flight_exactly_once(hub_server, enrolled):
    outlet, credential, journal = enrolled
    sales = [journal.sale([("Soto", 30_000, 1), ("Es Teh", 5_000, n % 3 + 1)])
             for n in range(40)]

    class CountingTransport(httpx.AsyncHTTPTransport):
        """Records how many pushes were in flight at once."""

        def __init__(self) -> None:
            super().__init__()
            self.in_flight = self.most_in_flight = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                response = await super().handle_async_request(request)
                await response.aread()
                return response
            finally:
                self.in_flight -= 1

    transport = CountingTransport()

    async def go() -> PushOutcome:
        async with HubClient(hub_server.base_url, credential, transport=transport) as client:
            return await push_pipelined(journal.store, client, outlet["id"], max_events=7,
                                        max_bytes=10**6, depth=2)

    outcome = asyncio.run(go())
    assert transport.most_in_flight == 2
    assert outcome.ok and (outcome.sent, outcome.acked_seq, outcome.more) == (160, 160, False)
    assert journal.head()["acked_seq"] == 160
    total = sum(order.total for order, _ in sales)
    counts = hub_counts(hub_server.db_url, outlet["id"])
    assert (counts["journal"], counts["orders"], counts["order_total"], counts["paid"]) == (
        160, 40, total, total)
    batches = pg_query(hub_server.db_url, "SELECT count(DISTINCT received_at) FROM sync_journal"
                       " WHERE outlet_id = %s", outlet["id"])[0][0]
    assert batches == 23  # ceil(160 / 7), each applied once in its own transaction


def test_journal_entries_past_retention_go_and_a_replay_of_them_is_a_duplicate(hub_server, enrolled):
    outlet, credential, journal = enrolled
    bad = msgspec.structs.replace(journal.order([("Bakso", 20_000, 2)]), total=1)
    journal.append(OrderEvent(order=bad))  # seq 1: quarantined
    sales = [journal.sale([("Soto", 30_000, n + 1)]) for n in range(3)]  # seqs 2..13
    assert push(hub_server.base_url, credential, journal).acked_seq == 13
    assert sorted(pg_query(hub_server.db_url, "UPDATE sync_journal SET received_at = received_at"
                           " - interval '100 days' WHERE outlet_id = %s RETURNING seq",
                           outlet["id"])) == [(seq,) for seq in range(1, 14)]

    async def prune() -> bool:
        db = Database(hub_server.db_url)
        try:
            return await run_once(db, HubSettings(journal_retention_days=90),
                                  Job("journal_prune", 3600, prune_journal))
        finally:
            await db.dispose()

    assert asyncio.run(prune()) is True
    assert pg_query(hub_server.db_url, "SELECT seq, status FROM sync_journal WHERE outlet_id = %s",
                    outlet["id"]) == [(1, "quarantined")]
    counts = hub_counts(hub_server.db_url, outlet["id"])
    assert (counts["orders"], counts["order_total"]) == (3, sum(o.total for o, _ in sales))
    # A replay of the pruned seqs (a proxy replaying old requests) is answered as duplicates,
    # not as a conflict with content the hub no longer holds.
    entries = journal.db.read_now(lambda c: outbox.entries_from(c, outlet["id"], 1, None, 100, 10**9))
    again = send(hub_server.base_url, credential, PushRequest(
        outlet_id=outlet["id"], epoch=entries[0].epoch, entries=entries))
    assert (again.status, again.applied, again.duplicates, again.acked_seq) == ("ok", 0, 13, 13)
    assert pg_query(hub_server.db_url, "SELECT count(*) FROM sync_alarms WHERE outlet_id = %s"
                    " AND kind = 'seq_conflict'", outlet["id"]) == [(0,)]
    assert hub_counts(hub_server.db_url, outlet["id"])["orders"] == 3


def _fleet_entry(tenant, outlet_id: str) -> dict[str, Any]:
    fleet = tenant.client.get("/api/v1/fleet")
    assert fleet.status_code == 200, fleet.text
    return next(e for e in fleet.json()["items"] if e["outlet_id"] == outlet_id)


def test_broken_chain_is_refused_and_shown_on_the_fleet(hub_server, tenant, enrolled):
    outlet, credential, journal = enrolled
    journal.sale([("Mie Ayam", 22_000, 1)])
    entries = journal.pending()
    # Someone edits event 2's body on the box (a cheaper price) but cannot fix the chain.
    tampered = msgspec.structs.replace(entries[1], body=entries[1].body.replace(b"kitchen", b"kitchem"))
    with pytest.raises(HubRefused) as refused:
        send(hub_server.base_url, credential, PushRequest(
            outlet_id=outlet["id"], epoch=entries[0].epoch, entries=[entries[0], tampered]))
    assert refused.value.status == 409 and refused.value.details["reason"] == "broken_chain"
    assert refused.value.details["acked_seq"] == 1  # the valid prefix was kept
    assert hub_counts(hub_server.db_url, outlet["id"])["journal"] == 1
    entry = _fleet_entry(tenant, outlet["id"])
    assert entry["journal_alarm"].startswith("broken_chain")
    health = tenant.client.get(f"/api/v1/sync/outlets/{outlet['id']}").json()
    assert health["alarms"][0]["kind"] == "broken_chain"


def test_same_seq_with_another_payload_raises_an_alarm_never_overwrites(hub_server, tenant, enrolled):
    outlet, credential, journal = enrolled
    order, _ = journal.sale([("Sate", 30_000, 1)])
    assert push(hub_server.base_url, credential, journal).acked_seq == 4
    # A restored copy of the box writes a different first event under the same epoch and seq.
    head = journal.head()
    other = journal.order([("Soto", 99_000, 1)])
    body = event_encoder.encode(OrderEvent(order=other))
    genesis = outbox.genesis_hash(head["epoch"])
    forged = JournalEntry(outlet_id=outlet["id"], epoch=head["epoch"], seq=1, event_id="x-1",
                          occurred_at=other.created_at, body=body, prev_hash=genesis,
                          hash=outbox.chain_hash(genesis, 1, body))
    with pytest.raises(HubRefused) as refused:
        send(hub_server.base_url, credential,
             PushRequest(outlet_id=outlet["id"], epoch=head["epoch"], entries=[forged]))
    assert refused.value.details["reason"] == "seq_conflict"
    rows = pg_query(hub_server.db_url, "SELECT id, total FROM orders WHERE outlet_id = %s",
                    outlet["id"])
    assert rows == [(order.id, order.total)]  # the held order is untouched
    assert _fleet_entry(tenant, outlet["id"])["journal_alarm"].startswith("seq_conflict")


def test_unappliable_event_is_quarantined_and_the_stream_moves_on(hub_server, tenant, enrolled):
    outlet, credential, journal = enrolled
    bad = journal.order([("Bakso", 20_000, 2)])
    bad = msgspec.structs.replace(bad, total=1)  # a total that does not add up
    journal.append(OrderEvent(order=bad))
    good, _ = journal.sale([("Bakso", 20_000, 1)])
    outcome = push(hub_server.base_url, credential, journal)
    assert outcome.ok and outcome.acked_seq == 5
    counts = hub_counts(hub_server.db_url, outlet["id"])
    assert counts["orders"] == 1 and counts["order_total"] == good.total and counts["journal"] == 5
    health = tenant.client.get(f"/api/v1/sync/outlets/{outlet['id']}").json()
    assert [(q["seq"], q["kind"]) for q in health["quarantine"]] == [(1, "order")]
    assert "money does not add up" in health["quarantine"][0]["reason"]
    assert "quarantined" in _fleet_entry(tenant, outlet["id"])["last_error"]
    # head office can retry it (still wrong: 422, stays quarantined) or dismiss it with a note;
    # the event itself stays in the journal either way
    item = health["quarantine"][0]["id"]
    path = f"/api/v1/sync/outlets/{outlet['id']}/quarantine/{item}/resolve"
    _, technician = tenant.create_user("technician", outlet_ids=[outlet["id"]])
    assert technician.post(path, json={"action": "dismiss"}).status_code == 403
    retry = tenant.client.post(path, json={"action": "retry"})
    assert retry.status_code == 422 and "still cannot apply" in retry.json()["error"]["message"]
    dismissed = tenant.client.post(path, json={"action": "dismiss", "note": "voided at the till"})
    assert dismissed.status_code == 200 and dismissed.json()["resolution"].startswith("dismissed")
    assert tenant.client.post(path, json={"action": "dismiss"}).status_code == 409
    assert pg_query(hub_server.db_url, "SELECT status FROM sync_journal WHERE outlet_id = %s"
                    " AND seq = 1", outlet["id"]) == [("quarantined",)]


def test_events_claiming_another_outlet_are_refused(hub_server, tenant, enrolled, outlet_factory,
                                                    journal_factory):
    _, credential, journal = enrolled
    neighbour = outlet_factory(tenant)
    foreign = journal_factory(neighbour["id"], name="neighbour")
    foreign.sale([("Teh", 5_000, 1)])
    with pytest.raises(HubRefused) as refused:
        send(hub_server.base_url, credential, PushRequest(outlet_id=neighbour["id"], epoch=foreign.head()["epoch"],
                                entries=foreign.pending()))
    assert refused.value.status == 403 and refused.value.code == "foreign_outlet"
    assert hub_counts(hub_server.db_url, neighbour["id"])["journal"] == 0
    # an order inside the outlet's own journal that claims the neighbour is refused too
    journal.append(OrderEvent(order=journal.order([("Teh", 5_000, 1)], outlet_id=neighbour["id"])))
    outcome = push(hub_server.base_url, credential, journal)
    assert outcome.refused == "foreign_outlet"
    assert hub_counts(hub_server.db_url, neighbour["id"])["orders"] == 0


def test_revoked_credential_is_refused(hub_server, tenant, enrolled):
    outlet, credential, journal = enrolled
    journal.sale([("Roti", 12_000, 1)])
    revoke = tenant.client.post(f"/api/v1/outlets/{outlet['id']}/sync-credentials/revoke")
    assert revoke.status_code == 200 and revoke.json() == {"revoked": 1}
    outcome = push(hub_server.base_url, credential, journal)
    assert outcome.refused == "credential_revoked"
    assert journal.head()["acked_seq"] == 0  # the outbox is kept
    assert hub_counts(hub_server.db_url, outlet["id"])["journal"] == 0


def test_another_tenant_cannot_read_an_outlets_sync_health(hub_server, other_tenant, enrolled):
    outlet, _, _ = enrolled
    response = other_tenant.client.get(f"/api/v1/sync/outlets/{outlet['id']}")
    assert response.status_code == 404, response.text


def test_an_order_id_taken_by_another_outlet_or_tenant_is_quarantined_alone(
        hub_server, tenant, other_tenant, enrolled, outlet_factory, journal_factory):
    outlet, credential, journal = enrolled
    for owner in (tenant, other_tenant):
        neighbour = outlet_factory(owner)
        theirs = journal_factory(neighbour["id"], name="n")
        code = issue_code(owner, neighbour["id"]).json()["code"]
        their_credential = enroll(hub_server.base_url, code).credential
        taken, _ = theirs.sale([("Martabak", 45_000, 1)])
        assert push(hub_server.base_url, their_credential, theirs).ok
        # our box (by a bug or an attack) reuses their order id, between two good sales
        journal.sale([("Kopi", 18_000, 1)])
        journal.append(OrderEvent(order=journal.order([("Kopi", 18_000, 9)], order_id=taken.id)))
        journal.sale([("Kopi", 18_000, 2)])
        outcome = push(hub_server.base_url, credential, journal)
        assert outcome.ok
        rows = pg_query(hub_server.db_url, "SELECT outlet_id, total FROM orders WHERE id = %s",
                        taken.id)
        assert rows == [(neighbour["id"], taken.total)]  # theirs is untouched
    ours = pg_query(hub_server.db_url, "SELECT count(*) FROM orders WHERE outlet_id = %s",
                    outlet["id"])
    assert ours == [(4,)]
    quarantined = pg_query(hub_server.db_url, "SELECT seq FROM sync_quarantine WHERE outlet_id = %s"
                           " ORDER BY seq", outlet["id"])
    assert quarantined == [(5,), (14,)]


def test_ordering_is_the_sequence_never_the_clock(hub_server, enrolled):
    from datetime import UTC, datetime, timedelta

    outlet, credential, journal = enrolled
    placed = journal.order([("Nasi Bakar", 26_000, 1)])
    # the box's clock jumps back a day between the two snapshots of the same order
    skewed = datetime.now(UTC) - timedelta(days=1)
    completed = msgspec.structs.replace(placed, status="completed", updated_at=skewed,
                                        created_at=skewed)
    journal.append(OrderEvent(order=placed), OrderEvent(order=completed))
    before = datetime.now(UTC)
    assert push(hub_server.base_url, credential, journal).acked_seq == 2
    rows = pg_query(hub_server.db_url, "SELECT status, edge_seq, updated_at, received_at"
                    " FROM orders WHERE id = %s", placed.id)
    status, edge_seq, updated_at, received_at = rows[0]
    assert (status, edge_seq) == ("completed", 2)  # the higher seq won despite its older clock
    assert updated_at < before - timedelta(hours=23)  # the edge's time is kept as sent
    assert received_at >= before - timedelta(seconds=5)  # and the hub's own receive time recorded
    occurred = pg_query(hub_server.db_url, "SELECT occurred_at, received_at FROM sync_journal"
                        " WHERE outlet_id = %s ORDER BY seq", outlet["id"])
    assert all(r[1] >= before - timedelta(seconds=5) for r in occurred)


def test_shifts_and_cash_movements_upsert_by_id(hub_server, enrolled):
    from datetime import UTC, datetime

    from shared.ids import new_id
    from shared.schemas import CashMovement, CashMovementEvent, Shift, ShiftEvent

    outlet, credential, journal = enrolled
    now = datetime.now(UTC)
    opened = Shift(id=new_id(), outlet_id=outlet["id"], opened_by="staff-1", opened_at=now,
                   opening_float=200_000)
    movement = CashMovement(id=new_id(), shift_id=opened.id, direction="out", amount=50_000,
                            reason="ice supplier", created_at=now)
    closed = msgspec.structs.replace(opened, closed_by="staff-1", closed_at=now, counted_cash=151_000,
                                     expected_cash=150_000, difference=1_000)
    journal.append(ShiftEvent(shift=opened), CashMovementEvent(movement=movement),
                   ShiftEvent(shift=closed))
    assert push(hub_server.base_url, credential, journal).acked_seq == 3
    # the open snapshot arriving again later (a replay) does not reopen the shift
    entries = journal.db.read_now(lambda c: outbox.entries_from(c, outlet["id"], 1, None, 10, 10**9))
    send(hub_server.base_url, credential, PushRequest(outlet_id=outlet["id"],
                                                      epoch=entries[0].epoch, entries=entries))
    shifts = pg_query(hub_server.db_url, "SELECT opening_float, counted_cash, expected_cash,"
                      " difference, edge_seq FROM shifts WHERE id = %s", opened.id)
    assert shifts == [(200_000, 151_000, 150_000, 1_000, 3)]
    movements = pg_query(hub_server.db_url, "SELECT direction, amount, shift_id FROM cash_movements"
                         " WHERE outlet_id = %s", outlet["id"])
    assert movements == [("out", 50_000, opened.id)]
