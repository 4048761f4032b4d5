"""The hub's two apply paths give the same result for every event kind, on PostgreSQL (as
the app role, under Row-Level Security) and SQLite.

A push applies its batch set-based; when the database refuses that, it applies the batch
again one event at a time so only the faulty event is quarantined. Both must agree on what
each event becomes and on what is quarantined: before the two paths shared one mapping, a
payment or cash movement whose id another outlet holds was quarantined by the set-based
path and silently skipped by the one-by-one path, and kitchen events were de-duplicated by
other rules on each.

One scenario holds every event kind in every situation the mapping knows (new, replayed,
older and newer snapshots, duplicates inside the batch, a re-chained kitchen event, ids held
by another outlet and by another tenant, money that does not add up). It is applied three
ways, each in a transaction that is rolled back afterwards:

* ``batch``: the whole scenario at once, as a push does (the set-based attempt fails on the
  foreign ids, the batch is applied again event by event);
* ``set-based``: every applicable event in ONE set-based statement set (which must succeed),
  then each foreign event alone;
* ``one by one``: every event alone, in journal order.

The three must leave identical rows and quarantine the same events for the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub import tenancy
from hub.db import Database
from hub.ingest import SyncIdentity
from hub.ingest import apply as ingest_apply
from hub.ingest.apply import Event, apply_events, apply_one, precheck
from hub.models import (
    CashMovementRow,
    EdgeAvailability,
    KitchenEventRow,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    ShiftRow,
)
from hub.schemas import OutletCreate
from hub.sync_models import SyncAlarm
from shared.ids import new_id
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    AvailabilityEvent,
    CashMovement,
    CashMovementEvent,
    KitchenEvent,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    Shift,
    ShiftEvent,
    TaxConfig,
)

TAX = TaxConfig(service_rate_bp=500, tax_rate_bp=1000)
T0 = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["postgres", "sqlite"])
def database(request: pytest.FixtureRequest) -> Database:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        roles = request.getfixturevalue("pg_roles")
        return Database(roles.app, system_url=roles.system)  # as `pos-hub serve` logs in
    return Database(request.getfixturevalue("sqlite_url"))


# ---------------------------------------------------------------- events


def order(outlet_id: str, order_id: str | None = None, line_id: str | None = None, *,
          status: str = "in_kitchen", qty: int = 2, total_off: int = 0) -> Order:
    totals = price_order([PricedLine(base_price=25_000, qty=qty)], TAX, 0)
    line = OrderLine(id=line_id or new_id(), product_id="p-coffee", name="Kopi Susu", qty=qty,
                     unit_price=25_000, line_total=25_000 * qty)
    return Order(id=order_id or new_id(), outlet_id=outlet_id, number=1,
                 business_day="2026-03-27", type="takeaway", status=status,  # type: ignore[arg-type]
                 currency="IDR", lines=[line], subtotal=totals.subtotal, discount=0,
                 service_charge=totals.service_charge, tax=totals.tax,
                 rounding=totals.rounding, total=totals.total + total_off, created_at=T0,
                 updated_at=T0, source="kiosk-1")


def payment(payment_id: str | None = None, *, amount: int = 10_000) -> PaymentEvent:
    return PaymentEvent(payment=Payment(id=payment_id or new_id(), order_id=new_id(),
                                        method="cash", amount=amount, tendered=amount,
                                        created_at=T0))


def kitchen(ticket_id: str, action: str = "created", at: datetime = T0) -> KitchenEvent:
    return KitchenEvent(ticket_id=ticket_id, order_id=new_id(), station="kitchen",
                        action=action, at=at)  # type: ignore[arg-type]


def shift(shift_id: str, outlet_id: str, **closed: Any) -> ShiftEvent:
    return ShiftEvent(shift=Shift(id=shift_id, outlet_id=outlet_id, opened_by="staff-1",
                                  opened_at=T0, opening_float=200_000, **closed))


def movement(movement_id: str | None = None, amount: int = 50_000) -> CashMovementEvent:
    return CashMovementEvent(movement=CashMovement(id=movement_id or new_id(), shift_id=new_id(),
                                                   direction="out", amount=amount,
                                                   reason="ice supplier", created_at=T0))


def availability(product_id: str, available: bool, at: datetime) -> AvailabilityEvent:
    return AvailabilityEvent(product_id=product_id, available=available, at=at)


@dataclass
class Case:
    label: str
    seq: int
    body: Any
    event_id: str = ""
    quarantined: bool = False  # what every path must decide

    def event(self) -> Event:
        return Event(seq=self.seq, event_id=self.event_id or f"ev-{self.label}", body=self.body)


@dataclass
class World:
    tenant_id: str
    ours: SyncIdentity  # the outlet whose batch is applied
    neighbour: SyncIdentity  # another outlet of the same tenant
    stranger: SyncIdentity  # an outlet of another tenant
    cases: list[Case]


async def _outlet(db: Database, tenant_id: str, name: str) -> SyncIdentity:
    async with db.tenant(tenant_id) as session:
        outlet = await tenancy.create_outlet(session, None, OutletCreate(
            name=name, timezone="Asia/Jakarta", service_rate_bp=500, tax_rate_bp=1000),
            tenant_id=tenant_id)
    return SyncIdentity(tenant_id, outlet.id, "test-credential")


async def _hold(db: Database, who: SyncIdentity, events: list[Event]) -> None:
    """Rows ``who`` already holds before the scenario (committed)."""
    async with db.tenant(who.tenant_id) as session:
        await apply_events(session, who, TAX, events, NOW - timedelta(days=1))
    assert [e.problem for e in events] == [""] * len(events)


async def build_world(db: Database) -> World:
    tenants = []
    async with db.system() as session:
        for name in ("Kopi Nusantara", "Warung Lain"):
            email = f"owner-{new_id()[-12:]}@apply.test"
            tenants.append((await tenancy.create_tenant(session, name, email,
                                                        "correct horse battery")).id)
    ours = await _outlet(db, tenants[0], "Ours")
    neighbour = await _outlet(db, tenants[0], "Neighbour")
    stranger = await _outlet(db, tenants[1], "Stranger")
    o = ours.outlet_id

    # What our outlet already holds.
    held_order, held_line = new_id(), new_id()
    held_payment, held_movement, held_shift = new_id(), new_id(), new_id()
    cooked_ticket, cooked_event = new_id(), "ev-held-kitchen"
    await _hold(db, ours, [
        Event(10, "ev-held-order", OrderEvent(order=order(o, held_order, held_line))),
        Event(11, "ev-held-payment", payment(held_payment)),
        Event(12, "ev-held-movement", movement(held_movement)),
        Event(13, cooked_event, kitchen(cooked_ticket, "bumped")),
        Event(14, "ev-held-shift", shift(held_shift, o)),
        Event(15, "ev-held-availability", availability("p-tea", False, T0 + timedelta(hours=2))),
    ])
    # What the neighbour and the stranger hold: ids our batch must never take over.
    theirs: dict[str, dict[str, str]] = {}
    for who in (neighbour, stranger):
        ids = theirs[who.outlet_id] = {"order": new_id(), "payment": new_id(),
                                       "movement": new_id(), "shift": new_id(),
                                       "ticket": new_id(), "kitchen": f"ev-k-{who.outlet_id}"}
        await _hold(db, who, [
            Event(1, f"ev-o-{who.outlet_id}", OrderEvent(order=order(who.outlet_id, ids["order"]))),
            Event(2, f"ev-p-{who.outlet_id}", payment(ids["payment"])),
            Event(3, f"ev-m-{who.outlet_id}", movement(ids["movement"])),
            Event(4, f"ev-s-{who.outlet_id}", shift(ids["shift"], who.outlet_id)),
            Event(5, ids["kitchen"], kitchen(ids["ticket"], "created")),
        ])
    near, far = theirs[neighbour.outlet_id], theirs[stranger.outlet_id]

    two_snapshots, snapshot_line = new_id(), new_id()
    twice_paid, twice_cooked, new_shift = new_id(), new_id(), new_id()
    cases = [
        # orders: snapshots by id, the higher seq wins
        Case("order new", 20, OrderEvent(order=order(o))),
        Case("order first snapshot", 21, OrderEvent(order=order(o, two_snapshots, snapshot_line))),
        Case("order second snapshot", 22, OrderEvent(order=order(
            o, two_snapshots, snapshot_line, status="completed", qty=3))),
        Case("order older than held", 5, OrderEvent(order=order(
            o, held_order, held_line, status="voided"))),
        Case("order newer than held", 23, OrderEvent(order=order(
            o, held_order, held_line, status="completed", qty=4))),
        Case("order money off", 24, OrderEvent(order=order(o, total_off=1)), quarantined=True),
        Case("order id of neighbour", 25, OrderEvent(order=order(o, near["order"])),
             quarantined=True),
        Case("order id of other tenant", 26, OrderEvent(order=order(o, far["order"])),
             quarantined=True),
        # payments: once by id
        Case("payment new", 30, payment()),
        Case("payment replayed", 31, payment(held_payment)),
        Case("payment twice in batch", 32, payment(twice_paid)),
        Case("payment twice in batch again", 33, payment(twice_paid, amount=99_000)),
        Case("payment change off", 34, PaymentEvent(payment=Payment(
            id=new_id(), order_id=new_id(), method="cash", amount=10_000, tendered=20_000,
            change=5_000, created_at=T0)), quarantined=True),
        Case("payment id of neighbour", 35, payment(near["payment"]), quarantined=True),
        Case("payment id of other tenant", 36, payment(far["payment"]), quarantined=True),
        # kitchen: once by event id and once per (ticket, action, at)
        Case("kitchen new", 40, kitchen(new_id())),
        Case("kitchen replayed", 41, kitchen(cooked_ticket, "bumped"), event_id=cooked_event),
        Case("kitchen re-chained", 42, kitchen(cooked_ticket, "bumped")),
        Case("kitchen action twice in batch", 43, kitchen(twice_cooked, "bumped")),
        Case("kitchen action twice in batch again", 44, kitchen(twice_cooked, "bumped")),
        Case("kitchen event id of neighbour", 45, kitchen(new_id()), event_id=near["kitchen"],
             quarantined=True),
        Case("kitchen action of neighbour", 46, kitchen(near["ticket"], "created"),
             quarantined=True),
        Case("kitchen event id of other tenant", 47, kitchen(new_id()), event_id=far["kitchen"],
             quarantined=True),
        # shifts: snapshots by id, the higher seq wins
        Case("shift opened", 50, shift(new_shift, o)),
        Case("shift closed", 51, shift(new_shift, o, closed_by="staff-1", closed_at=T0,
                                       counted_cash=151_000, expected_cash=150_000,
                                       difference=1_000)),
        Case("shift older than held", 6, shift(held_shift, o, closed_by="staff-9",
                                               closed_at=T0)),
        Case("shift id of neighbour", 52, shift(near["shift"], o), quarantined=True),
        Case("shift id of other tenant", 53, shift(far["shift"], o), quarantined=True),
        # cash movements: once by id
        Case("movement new", 60, movement()),
        Case("movement replayed", 61, movement(held_movement, amount=1)),
        Case("movement id of neighbour", 62, movement(near["movement"]), quarantined=True),
        Case("movement id of other tenant", 63, movement(far["movement"]), quarantined=True),
        # availability: the latest decision by time
        Case("availability later", 70, availability("p-cake", False, T0 + timedelta(hours=3))),
        Case("availability earlier, sent after", 71, availability("p-cake", True, T0)),
        Case("availability older than held", 72, availability("p-tea", True, T0)),
    ]
    return World(tenants[0], ours, neighbour, stranger, cases)


# ---------------------------------------------------------------- the three paths


def _columns(model: Any) -> list[Any]:
    return [c for c in model.__table__.c if c.name != "received_at"]  # the hub's clock


async def _state(session: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the tenant's session sees in the applied tables (and its alarms)."""
    state = {}
    for model in (OrderRow, OrderLineRow, PaymentRow, KitchenEventRow, ShiftRow,
                  CashMovementRow, EdgeAvailability):
        rows = await session.execute(select(*_columns(model)))
        state[model.__tablename__] = sorted(tuple(str(v) for v in row) for row in rows)
    alarms = await session.execute(select(SyncAlarm.kind, SyncAlarm.message))
    state["sync_alarms"] = sorted(tuple(row) for row in alarms)
    return state


async def _path_batch(session: Any, world: World, events: list[Event]) -> None:
    await apply_events(session, world.ours, TAX, events, NOW)


async def _path_set_based(session: Any, world: World, events: list[Event]) -> None:
    wanted = {case.label: case.quarantined for case in world.cases}
    labels = [case.label for case in world.cases]
    good = [e for e, label in zip(events, labels, strict=True) if not wanted[label]]
    foreign = [e for e, label in zip(events, labels, strict=True)
               if wanted[label] and not precheck(e.body, TAX)]
    for event in foreign:  # the set-based path refuses a batch holding a foreign id
        assert await ingest_apply._attempt(session, world.ours, TAX, [*good, event], NOW)
    # ...and applies every other event in one go (no fallback)
    assert await ingest_apply._attempt(session, world.ours, TAX, good, NOW) == ""
    for event in events:
        if event in good:
            continue
        event.problem = await apply_one(session, world.ours, TAX, event, NOW)


async def _path_one_by_one(session: Any, world: World, events: list[Event]) -> None:
    for event in events:
        event.problem = await apply_one(session, world.ours, TAX, event, NOW)


PATHS = {"batch": _path_batch, "set-based": _path_set_based, "one by one": _path_one_by_one}


async def _run(db: Database, world: World, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply the scenario by ``path``; the rows afterwards and each event's problem. The
    transaction is rolled back, so every path starts from the same held rows."""
    events = [case.event() for case in world.cases]
    async with db.tenant(world.tenant_id) as session:
        before = await _state(session)
        await PATHS[path](session, world, events)
        after = await _state(session)
        await session.rollback()
    assert after != before
    return after, {case.label: _reason(event.problem)
                   for case, event in zip(world.cases, events, strict=True)}


def _reason(problem: str) -> str:
    """A database error's text carries the statement's parameters (the hub's clock among
    them): its class is what must agree."""
    return problem.split(" (", 1)[0] if problem.startswith("could not apply") else problem


async def test_both_apply_paths_give_the_same_result_for_every_event_kind(
        database: Database) -> None:
    try:
        world = await build_world(database)
        results = {path: await _run(database, world, path) for path in PATHS}
        async with database.tenant(world.tenant_id) as session:
            untouched = await _state(session)
    finally:
        await database.dispose()

    state, problems = results["one by one"]
    expected = {case.label for case in world.cases if case.quarantined}
    assert {label for label, problem in problems.items() if problem} == expected
    for path in ("batch", "set-based"):
        assert results[path][1] == problems, path
        assert results[path][0] == state, path

    # A few figures read directly, so "the same" cannot mean "the same wrong".
    neighbour, o = world.neighbour.outlet_id, world.ours.outlet_id
    ours = {table: [row for row in state[table] if o in row] for table in state}
    assert len(ours["orders"]) == 3  # new, two snapshots -> one, held (updated)
    assert len(ours["payments"]) == 3  # held, new, twice -> one
    assert len(ours["cash_movements"]) == 2  # held, new
    assert len(ours["kitchen_events"]) == 3  # held, new, twice -> one
    assert len(ours["shifts"]) == 2
    assert len(ours["edge_availability"]) == 2  # the latest decisions: both sold out
    assert all("False" in row and "True" not in row for row in ours["edge_availability"])
    assert "money does not add up" in problems["order money off"]
    assert "another outlet" in problems["payment id of neighbour"]
    assert "another outlet" in problems["movement id of neighbour"]
    assert "another outlet" in problems["kitchen action of neighbour"]
    # the neighbour's rows are as they were, and nothing was left behind by the rollbacks
    assert [row for row in state["payments"] if neighbour in row] == [
        row for row in untouched["payments"] if neighbour in row]
    assert len([r for r in untouched["orders"] if o in r]) == 1
