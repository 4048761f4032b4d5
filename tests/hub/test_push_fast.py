"""The push's fast path (hub.ingest.push_fast) writes exactly what the full path writes, and
leaves every batch that is not plain to the full path, on PostgreSQL as the app role (RLS).

Two outlets of one tenant receive the same journal (the same events, under their own ids):
one through ``ingest_push`` as it runs (the fast path takes its plain batches), the other
with the fast path switched off. Their rows - orders (new, then newer snapshots replacing
their lines, a completed one), lines with modifiers and awkward text, payments, kitchen
events, cash movements, the journal, the cursors and the status row - must be equal once
the outlet's own ids are set aside, and so must the answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import tenancy
from hub.db import Database
from hub.ingest import CredentialRevoked, OutletInactive, SyncIdentity, enrollment, push_fast
from hub.ingest import push as ingest_module
from hub.ingest.push import ingest_push
from hub.schemas import OutletCreate
from shared.errors import Unauthorized
from shared.ids import new_id
from shared.journal import chain_hash, genesis_hash
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    CashMovement,
    CashMovementEvent,
    JournalEntry,
    KitchenEvent,
    LineModifier,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    Shift,
    ShiftEvent,
    TaxConfig,
    event_encoder,
)
from sync.protocol import EnrollRequest, PushRequest, PushResponse

pytestmark = pytest.mark.postgres

TAX = TaxConfig(service_rate_bp=500, tax_rate_bp=1000)
T0 = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(pg_roles: Any) -> Database:
    return Database(pg_roles.app, system_url=pg_roles.system)


class Journal:
    """An edge's hash-chained journal; ``ids`` maps a name to this outlet's own id."""

    def __init__(self, outlet_id: str) -> None:
        self.outlet_id, self.epoch = outlet_id, f"ep-{outlet_id}"
        self.prev, self.entries = genesis_hash(self.epoch), []
        self.ids: dict[str, str] = {}

    def id(self, name: str) -> str:
        return self.ids.setdefault(name, new_id())

    def add(self, body: Any, at: datetime) -> None:
        seq = len(self.entries) + 1
        payload = event_encoder.encode(body)
        digest = chain_hash(self.prev, seq, payload)
        self.entries.append(JournalEntry(outlet_id=self.outlet_id, epoch=self.epoch, seq=seq,
                                         event_id=self.id(f"event-{seq}"), occurred_at=at,
                                         body=payload, prev_hash=self.prev, hash=digest))
        self.prev = digest

    def batch(self, first: int, last: int) -> PushRequest:
        """Entries ``first``..``last`` (seqs, inclusive)."""
        return PushRequest(outlet_id=self.outlet_id, epoch=self.epoch,
                           entries=self.entries[first - 1:last], backlog=0,
                           sent_at=T0, edge_version="test-1.0")


def order(j: Journal, name: str, n: int, *, status: str = "in_kitchen", paid: bool = False,
          at: datetime = T0, extra_qty: int = 0) -> Order:
    modifier = LineModifier(option_id=j.id("opt-oat"), group_id=j.id("grp-milk"),
                            name="Oat milk \"barista\"", price_delta=5_000)
    lines = [(j.id(f"{name}-l1"), "p-kopi", "Kopi Susu 'Gula Aren' ☕", 20_000, [5_000],
              [modifier], 1 + extra_qty),
             (j.id(f"{name}-l2"), "p-roti", "Roti\\bakar {keju}", 15_000, [], [], 2)]
    totals = price_order([PricedLine(base_price=base, option_deltas=deltas, qty=qty)
                          for _, _, _, base, deltas, _, qty in lines], TAX)
    payment = Payment(id=j.id(f"{name}-pay"), order_id=j.id(name), method="cash",
                      amount=totals.total, tendered=totals.total + 3_000, change=3_000,
                      created_at=at)
    return Order(
        id=j.id(name), outlet_id=j.outlet_id, number=n, business_day="2026-03-27",
        type="takeaway", status=status,  # type: ignore[arg-type]
        currency="IDR", note="tanpa es, \u00e9 ok", customer_name="Budi ✓",
        lines=[OrderLine(id=line_id, product_id=product, name=label, qty=qty,
                         unit_price=base + sum(deltas), line_total=total, modifiers=mods)
               for (line_id, product, label, base, deltas, mods, qty), total
               in zip(lines, totals.line_totals, strict=True)],
        subtotal=totals.subtotal, discount=0, service_charge=totals.service_charge,
        tax=totals.tax, rounding=totals.rounding, total=totals.total,
        paid=totals.total if paid else 0, payments=[payment] if paid else [],
        created_at=T0, updated_at=at)


def script(j: Journal) -> list[tuple[int, int]]:
    """The journal every outlet writes; the batches it is pushed in (first, last seq)."""
    at = T0
    for n, name in enumerate(("o1", "o2", "o3"), start=1):
        j.add(OrderEvent(order=order(j, name, n, at=at)), at)
        j.add(KitchenEvent(ticket_id=j.id(f"{name}-ticket"), order_id=j.id(name),
                           station="kitchen", action="created", at=at), at)
        at += timedelta(minutes=1)
    # batch 2: payments, newer snapshots (one with another line count), a completion, cash
    for name in ("o1", "o2"):
        paid = order(j, name, 1 if name == "o1" else 2, paid=True, at=at)
        j.add(PaymentEvent(payment=paid.payments[0]), at)
        j.add(OrderEvent(order=paid), at)
        at += timedelta(seconds=10)
    j.add(OrderEvent(order=order(j, "o3", 3, at=at, extra_qty=1)), at)
    j.add(KitchenEvent(ticket_id=j.id("o1-ticket"), order_id=j.id("o1"), station="kitchen",
                       action="bumped", at=at), at)
    done = order(j, "o1", 1, status="completed", paid=True, at=at + timedelta(seconds=5))
    j.add(OrderEvent(order=done), at + timedelta(seconds=5))
    j.add(CashMovementEvent(movement=CashMovement(
        id=j.id("cash-out"), shift_id=j.id("shift"), direction="out", amount=40_000,
        reason="es batu", created_at=at)), at)
    # an entry whose time has no zone (an old edge): UTC, as on the full path
    j.add(KitchenEvent(ticket_id=j.id("o2-ticket"), order_id=j.id("o2"), station="kitchen",
                       action="bumped", at=at), at.replace(tzinfo=None))
    return [(1, 6), (7, 15)]


async def _outlet(db: Database, tenant_id: str, name: str) -> SyncIdentity:
    async with db.tenant(tenant_id) as session:
        outlet = await tenancy.create_outlet(session, None, OutletCreate(
            name=name, timezone="Asia/Jakarta", service_rate_bp=500, tax_rate_bp=1000),
            tenant_id=tenant_id)
    return SyncIdentity(tenant_id, outlet.id, "test-credential")


async def _tenant(db: Database) -> str:
    async with db.system() as session:
        return (await tenancy.create_tenant(session, "Kopi Cepat", f"o-{new_id()[-10:]}@f.test",
                                            "correct horse battery")).id


_TABLES = {
    "orders": "SELECT * FROM orders WHERE outlet_id = $1 ORDER BY number",
    "order_lines": "SELECT * FROM order_lines WHERE outlet_id = $1 ORDER BY name, qty",
    "payments": "SELECT * FROM payments WHERE outlet_id = $1 ORDER BY amount",
    "kitchen_events": "SELECT * FROM kitchen_events WHERE outlet_id = $1 ORDER BY at, action",
    "cash_movements": "SELECT * FROM cash_movements WHERE outlet_id = $1",
    "sync_journal": "SELECT * FROM sync_journal WHERE outlet_id = $1 ORDER BY seq",
    "sync_cursors": "SELECT * FROM sync_cursors WHERE outlet_id = $1",
    "outlet_status": "SELECT * FROM outlet_status WHERE outlet_id = $1",
    "sync_alarms": "SELECT kind, message FROM sync_alarms WHERE outlet_id = $1",
    "shifts": "SELECT id, opening_float FROM shifts WHERE outlet_id = $1",
}
# set by the clock of each push, not by what was pushed
_CLOCK = {"received_at", "updated_at", "last_contact_at", "last_push_at", "started_at",
          "created_at_hub"}


async def _rows(db: Database, who: SyncIdentity, j: Journal) -> dict[str, list[dict[str, Any]]]:
    """The outlet's rows with its own ids, outlet id, epoch and hashes replaced by names."""
    names = {v: k for k, v in j.ids.items()} | {who.outlet_id: "outlet", j.epoch: "epoch"}
    names |= {e.hash: f"hash-{e.seq}" for e in j.entries} | {genesis_hash(j.epoch): "genesis"}

    def named(value: Any) -> Any:
        if isinstance(value, str):
            for raw, name in names.items():
                value = value.replace(raw, name)
        elif isinstance(value, list):
            return [named(v) for v in value]
        elif isinstance(value, dict):
            return {k: named(v) for k, v in value.items()}
        return value

    found: dict[str, list[dict[str, Any]]] = {}
    async with db.writer(who.tenant_id) as conn:
        for table, sql in _TABLES.items():
            rows = await conn.fetch(sql, who.outlet_id)
            found[table] = [{k: named(v) for k, v in dict(r).items() if k not in _CLOCK}
                            for r in rows]
    for row in found["sync_journal"]:
        row.pop("body")  # names the outlet's own ids: compared through the rows above
    return found


def _answer(reply: PushResponse) -> dict[str, Any]:
    return {f: getattr(reply, f) for f in reply.__struct_fields__ if f not in ("hub_time", "epoch")}


def _spy(monkeypatch: pytest.MonkeyPatch, *, off: Callable[[], bool]) -> list[bool]:
    """Record, for every push, whether the fast path answered it; ``off()``: switched off."""
    taken: list[bool] = []
    real = ingest_module.plain_push

    async def spied(*args: Any, **kw: Any) -> PushResponse | None:
        reply = None if off() else await real(*args, **kw)
        taken.append(reply is not None)
        return reply

    monkeypatch.setattr(ingest_module, "plain_push", spied)
    return taken


async def test_the_fast_path_writes_what_the_full_path_writes(database, monkeypatch):
    db = database
    tenant_id = await _tenant(db)
    fast, full = await _outlet(db, tenant_id, "Fast"), await _outlet(db, tenant_id, "Full")
    journals = {fast.outlet_id: Journal(fast.outlet_id), full.outlet_id: Journal(full.outlet_id)}
    batches = script(journals[fast.outlet_id])
    assert script(journals[full.outlet_id]) == batches
    switched_off = {"now": False}
    taken = _spy(monkeypatch, off=lambda: switched_off["now"])
    answers: dict[str, list[dict[str, Any]]] = {}
    try:
        for who in (fast, full):
            switched_off["now"] = who is full
            j = journals[who.outlet_id]
            answers[who.outlet_id] = [_answer(await ingest_push(db, who, j.batch(a, b)))
                                      for a, b in batches]
        assert taken == [True, True, False, False]
        assert answers[fast.outlet_id] == answers[full.outlet_id]
        assert answers[fast.outlet_id][-1]["acked_seq"] == 15
        ours = await _rows(db, fast, journals[fast.outlet_id])
        theirs = await _rows(db, full, journals[full.outlet_id])
        assert len(ours["orders"]) == 3 and len(ours["order_lines"]) == 6
        assert [o["status"] for o in ours["orders"]] == ["completed", "in_kitchen", "in_kitchen"]
        assert ours["orders"][0]["completed_at"] is not None
        assert len(ours["sync_journal"]) == 15 and ours["sync_alarms"] == []
        line = next(r for r in ours["order_lines"] if r["product_id"] == "p-kopi")
        assert "barista" in str(line["modifiers"])
        for table in _TABLES:
            assert ours[table] == theirs[table], table
    finally:
        await db.dispose()


async def test_what_is_not_plain_goes_to_the_full_path(database, monkeypatch):
    db = database
    tenant_id = await _tenant(db)
    who, other = await _outlet(db, tenant_id, "Ours"), await _outlet(db, tenant_id, "Theirs")
    j = Journal(who.outlet_id)
    batches = script(j)
    taken = _spy(monkeypatch, off=lambda: False)
    try:
        first = await ingest_push(db, who, j.batch(*batches[0]))
        assert taken == [True] and first.acked_seq == 6
        # the same batch again: duplicates, answered by the full path
        again = await ingest_push(db, who, j.batch(*batches[0]))
        assert taken[-1] is False and (again.duplicates, again.applied) == (6, 0)
        # a gap (entry 8 without 7): the full path asks for a resend
        gap = await ingest_push(db, who, j.batch(8, 9))
        assert taken[-1] is False and (gap.status, gap.resend_from) == ("resend", 7)
        # a shift (applied through the ORM) in an otherwise plain batch
        j.add(ShiftEvent(shift=Shift(id=j.id("shift"), outlet_id=who.outlet_id,
                                     opened_by="staff-1", opened_at=T0, opening_float=200_000)),
              T0)
        mixed = await ingest_push(db, who, j.batch(7, 16))
        assert (taken[-1], mixed.applied, mixed.acked_seq) == (False, 10, 16)
        # an order id another outlet holds: the full path quarantines that event alone
        k = Journal(other.outlet_id)
        k.add(OrderEvent(order=order(k, "theirs", 1)), T0)
        assert (await ingest_push(db, other, k.batch(1, 1))).applied == 1
        stolen = order(k, "theirs", 1)
        j.add(OrderEvent(order=Order(**{**{f: getattr(stolen, f)
                                           for f in stolen.__struct_fields__},
                                        "outlet_id": who.outlet_id})), T0)
        j.add(PaymentEvent(payment=Payment(id=j.id("tip"), order_id=j.id("o2"), method="cash",
                                           amount=1_000, tendered=1_000, created_at=T0)), T0)
        clash = await ingest_push(db, who, j.batch(17, 18))
        assert taken[-1] is False and clash.quarantined == [17] and clash.applied == 1
        # plain again afterwards
        j.add(KitchenEvent(ticket_id=j.id("o3-ticket"), order_id=j.id("o3"), station="kitchen",
                           action="bumped", at=T0 + timedelta(hours=1)), T0)
        assert (await ingest_push(db, who, j.batch(19, 19))).acked_seq == 19
        assert taken[-1] is True
        rows = await _rows(db, who, j)
        assert len(rows["sync_journal"]) == 19
        assert [c["last_seq"] for c in rows["sync_cursors"]] == [19]
        assert [r["id"] for r in rows["shifts"]] == ["shift"]
    finally:
        await db.dispose()


async def test_concurrent_pushes_of_a_tenant_commit_together(database, monkeypatch):
    """Group commit: plain pushes of several outlets arriving at once share one transaction
    and write exactly what each outlet's pushes write alone; a push in the group that is not
    plain, an outlet deactivated meanwhile and an order id two pushes of one group share
    are each decided as they would be alone, and nothing of the others is lost or doubled."""
    db = database
    tenant_id = await _tenant(db)
    alone = await _outlet(db, tenant_id, "Alone")
    crowd = [await _outlet(db, tenant_id, f"Crowd {n}") for n in range(6)]
    journals = {who.outlet_id: Journal(who.outlet_id) for who in [alone, *crowd]}
    batches = script(journals[alone.outlet_id])
    for who in crowd:
        assert script(journals[who.outlet_id]) == batches
    groups = push_fast._groups_of(db)
    try:
        expected = [_answer(await ingest_push(db, alone, journals[alone.outlet_id].batch(a, b)))
                    for a, b in batches]
        assert groups.grouped_pushes == 0  # one at a time: groups of one
        for a, b in batches:
            replies = await asyncio.gather(*(
                ingest_push(db, who, journals[who.outlet_id].batch(a, b)) for who in crowd))
            assert [_answer(r) for r in replies] == [expected[batches.index((a, b))]] * 6
        assert (groups.groups, groups.grouped_pushes) == (2, 12)
        reference = await _rows(db, alone, journals[alone.outlet_id])
        for who in crowd:
            assert await _rows(db, who, journals[who.outlet_id]) == reference

        # One group: a replayed batch (duplicates), an outlet deactivated at head office,
        # two outlets pushing one new order id, and plain pushes.
        first, replay, inactive, clash_a, clash_b = crowd[:5]
        async with db.writer(tenant_id) as conn:
            await conn.execute("UPDATE outlets SET active = false WHERE id = $1",
                               inactive.outlet_id)
        shared_id = new_id()
        for who in (first, inactive, clash_a, clash_b):
            j = journals[who.outlet_id]
            made = order(j, "late", 9, at=T0 + timedelta(hours=2))
            if who in (clash_a, clash_b):
                made = Order(**{**{f: getattr(made, f) for f in made.__struct_fields__},
                                "id": shared_id})
            j.add(OrderEvent(order=made), T0 + timedelta(hours=2))
        before = groups.groups
        results = await asyncio.gather(
            ingest_push(db, first, journals[first.outlet_id].batch(16, 16)),
            ingest_push(db, replay, journals[replay.outlet_id].batch(7, 15)),
            ingest_push(db, inactive, journals[inactive.outlet_id].batch(16, 16)),
            ingest_push(db, clash_a, journals[clash_a.outlet_id].batch(16, 16)),
            ingest_push(db, clash_b, journals[clash_b.outlet_id].batch(16, 16)),
            return_exceptions=True)
        assert groups.groups == before + 1
        plain, duplicates, refused, clash_first, clash_second = results
        assert isinstance(plain, PushResponse) and (plain.applied, plain.acked_seq) == (1, 16)
        assert isinstance(duplicates, PushResponse)
        assert (duplicates.duplicates, duplicates.applied) == (9, 0)
        assert isinstance(refused, OutletInactive)
        # the order id goes to the first outlet; the second's event is quarantined
        assert isinstance(clash_first, PushResponse) and clash_first.applied == 1
        assert isinstance(clash_second, PushResponse) and clash_second.quarantined == [16]
        for who, held in ((first, 16), (replay, 15), (inactive, 15), (clash_a, 16),
                          (clash_b, 16)):
            rows = await _rows(db, who, journals[who.outlet_id])
            assert [c["last_seq"] for c in rows["sync_cursors"]] == [held], who
            assert len(rows["sync_journal"]) == held
        async with db.writer(tenant_id) as conn:
            owners = await conn.fetch("SELECT outlet_id FROM orders WHERE id = $1", shared_id)
        assert [r["outlet_id"] for r in owners] == [clash_a.outlet_id]
    finally:
        await db.dispose()


async def test_credential_lookups_at_once_share_one_statement(database, monkeypatch):
    """A fleet reconnecting after a hub restart: the first lookups of its sync credentials,
    made at once, go in one statement, and each caller gets its own outlet or its own
    refusal (revoked, outlet deactivated, unknown)."""
    db = database
    tenant_id = await _tenant(db)
    outlets = [await _outlet(db, tenant_id, f"Box {n}") for n in range(5)]
    secrets: list[str] = []
    for who in outlets:
        async with db.tenant(tenant_id) as session:
            issued = await enrollment.create_code(session, None, who.outlet_id,
                                                  tenant_id=tenant_id)
        reply = await enrollment.redeem(db, EnrollRequest(code=issued.code,
                                                          device_key="box-key-" + "k" * 16))
        secrets.append(reply.credential)
    revoked, inactive = outlets[3], outlets[4]
    async with db.writer(tenant_id) as conn:
        await conn.execute("UPDATE sync_credentials SET revoked_at = now() WHERE outlet_id = $1",
                           revoked.outlet_id)
        await conn.execute("UPDATE outlets SET active = false WHERE id = $1", inactive.outlet_id)
    statements = []
    real = Database.system_statement

    def counted(self: Database) -> Any:
        statements.append(1)
        return real(self)

    monkeypatch.setattr(Database, "system_statement", counted)
    try:
        found = await asyncio.gather(
            *(enrollment.authenticate(db, secret) for secret in [*secrets, secrets[0]]),
            enrollment.authenticate(db, "not-a-credential-" + "x" * 30),
            return_exceptions=True)
        assert len(statements) == 1  # eight lookups, one statement
        assert [w.outlet_id for w in found[:3]] == [w.outlet_id for w in outlets[:3]]
        assert found[5].outlet_id == outlets[0].outlet_id  # the same token twice
        assert all(w.tenant_id == tenant_id for w in found[:3])
        assert isinstance(found[3], CredentialRevoked)
        assert isinstance(found[4], OutletInactive)
        assert isinstance(found[6], Unauthorized)
    finally:
        await db.dispose()
