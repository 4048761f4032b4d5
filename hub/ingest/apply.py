"""The one event -> row mapping of the hub's reporting tables, and how a batch is applied.

What each event kind becomes (idempotent by record, so a replay changes nothing):

* ``order``: an ``orders`` snapshot upserted by id, the higher journal seq wins (never an
  older one over a newer), its ``order_lines`` replaced with it; table service's fields come
  along (table, covers, seated, split and merge links, each line's state, round, course,
  seat), and ``completed_at`` is the ``updated_at`` of the first snapshot that was
  "completed" (later snapshots of a completed order keep it);
* ``payment``, ``cash_movement``: inserted once by id;
* ``kitchen``: inserted once by event id, and once per (ticket, action, at): a re-chained
  event (a new epoch) carries a new id for the same kitchen action;
* ``shift``: a snapshot upserted by id, the higher journal seq wins;
* ``refund``: a ``refunds`` snapshot upserted by id, the higher journal seq wins (a pending
  gateway refund becomes done or failed); its order's ``refunded`` comes with the order;
* ``availability``: the latest decision per (outlet, product) by its time;
* ``payment_attempt``: a ``hub_payment_attempts`` snapshot upserted by id, the higher journal
  seq wins (hub.gateways: the payments report and the reconciliation read them).

An event is *unappliable* (``Unappliable``: the caller quarantines it, nothing of it is
written) when its money does not add up (``precheck``: an order's arithmetic, a cash payment's
change; known before any database work) or when its id is already held by another outlet or
tenant (an order, payment, cash movement, kitchen event, shift or payment attempt: known from
the database).

``apply_events`` writes a batch set-based (one or two statements for all the fact tables,
``hub.ingest.store.IngestStore.write_facts``) in a SAVEPOINT (or, for a push's first try,
without one: ``BulkRefused`` then tells the caller to start again with it). If that fails,
the batch is applied again as batches of one, each in its own
SAVEPOINT, through the same code: only the faulty event is quarantined, and every other event
lands exactly as the set-based path would have put it (tests/hub/test_ingest_apply.py).
Re-applying a quarantined event (``hub.ingest.quarantine``) is a batch of one too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.gateways.models import HubPaymentAttempt
from hub.ingest.enrollment import SyncIdentity
from hub.ingest.store import ExistingOrder, Facts, IngestStore, Row, store_for
from hub.models import CashMovementRow, EdgeAvailability, Outlet, PaymentRow, RefundRow, ShiftRow
from hub.sync_models import SyncAlarm
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
    PaymentAttempt,
    PaymentAttemptEvent,
    PaymentEvent,
    Refund,
    RefundEvent,
    Shift,
    ShiftEvent,
    TaxConfig,
)

__all__ = ["PLAIN_KINDS", "BulkRefused", "Event", "NotPlain", "Unappliable", "apply_events",
           "apply_one", "check_money", "plain_facts", "precheck", "tax_of"]

log = logging.getLogger("hub.ingest")


class Unappliable(Exception):
    """This event cannot be applied; it is quarantined with the message as reason."""


@dataclass
class Event:
    """A decoded journal event whose place in the journal is proven, to be applied.
    ``problem`` set = not applied (quarantined with this reason)."""

    seq: int
    event_id: str
    body: Any
    problem: str = ""


def tax_of(outlet: Outlet) -> TaxConfig:
    return TaxConfig(service_rate_bp=outlet.service_rate_bp, tax_rate_bp=outlet.tax_rate_bp,
                     tax_name=outlet.tax_name, prices_include_tax=outlet.prices_include_tax,
                     rounding_unit=outlet.rounding_unit)


# ---------------------------------------------------------------- checks before any write


def check_money(order: Order, tax: TaxConfig) -> list[str]:
    """Arithmetic the order must satisfy whatever the outlet's settings were at the time
    (amounts are never negative: the wire type refuses that).

    Table service (docs/table-service.md, "Money rules"): a voided line keeps its figures
    but is not in the subtotal; a merged bill has no lines and all figures 0 (so it adds up
    like any other); a split part's figures are allocations of its parent's, each part
    adding up as total = subtotal - discount + service + tax + rounding (with prices that
    include tax, that or the inclusive sum is accepted: the allocation may keep either)."""
    problems = []
    for line in order.lines:
        if line.unit_price * line.qty != line.line_total:
            problems.append(f"line {line.id}: {line.qty} x {line.unit_price} != {line.line_total}")
    subtotal = sum(line.line_total for line in order.lines if line.state != "voided")
    if subtotal != order.subtotal:
        problems.append(f"subtotal {order.subtotal} != sum of lines not voided {subtotal}")
    if order.discount > order.subtotal:
        problems.append(f"discount {order.discount} exceeds subtotal {order.subtotal}")
    exclusive = (order.subtotal - order.discount + order.service_charge + order.tax
                 + order.rounding)
    inclusive = order.subtotal - order.discount + order.rounding
    if not tax.prices_include_tax:
        accepted = {exclusive}
    elif order.split_from is not None:
        accepted = {inclusive, exclusive}
    else:
        accepted = {inclusive}
    expected_total = inclusive if tax.prices_include_tax else exclusive
    if order.total not in accepted:
        problems.append(f"total {order.total} != subtotal - discount + service + tax + rounding "
                        f"({expected_total})")
    return problems


def precheck(body: Any, tax: TaxConfig) -> str:
    """Why this event cannot be applied whatever the database holds ("" = it may be)."""
    match body:
        case OrderEvent(order=order):
            problems = check_money(order, tax)
            if problems:
                return "money does not add up: " + "; ".join(problems)
        case PaymentEvent(payment=payment):
            if payment.method == "cash" and payment.tendered and (
                    payment.tendered - payment.amount != payment.change):
                return (f"payment {payment.id}: change {payment.change} is not "
                        f"tendered {payment.tendered} - amount {payment.amount}")
    return ""


def _priced_differently(order: Order, tax: TaxConfig) -> str:
    """Recompute with shared.pricing under the outlet's current tax settings (an alarm only:
    the settings may have changed since the order was placed). Voided lines are not priced;
    a split part's figures are allocations of its parent's (checked by ``check_money``), and
    a takeaway order may carry no service charge (the floor plan's
    ``service_charge_dine_in_only``)."""
    if order.split_from is not None or order.status == "merged":
        return ""
    priced = [PricedLine(base_price=line.unit_price, qty=line.qty)
              for line in order.lines if line.state != "voided"]
    figures = (order.service_charge, order.tax, order.rounding, order.total)
    totals = price_order(priced, tax, order.discount)
    if order.type == "takeaway" and tax.service_rate_bp and figures != (
            totals.service_charge, totals.tax, totals.rounding, totals.total):
        no_service = msgspec.structs.replace(tax, service_rate_bp=0)
        takeaway = price_order(priced, no_service, order.discount)
        if figures == (takeaway.service_charge, takeaway.tax, takeaway.rounding,
                       takeaway.total):
            return ""
    if (totals.service_charge, totals.tax, totals.rounding, totals.total) != figures:
        return (f"order {order.id}: edge total {order.total} (service {order.service_charge}, "
                f"tax {order.tax}) differs from the hub's recomputation {totals.total} "
                f"(service {totals.service_charge}, tax {totals.tax})")
    return ""


# ---------------------------------------------------------------- event -> row


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def order_row(who: SyncIdentity, order: Order, seq: int, now: datetime,
              completed_at: datetime | None = None) -> Row:
    """``store.ORDER_COLUMNS`` of an order snapshot (``completed_at``: when the journal first
    showed it completed, see ``_Batch.completed``; a stored one is kept by the store)."""
    return (who.tenant_id, who.outlet_id, order.id, order.number,
            date.fromisoformat(order.business_day), order.type, order.status, order.currency,
            order.subtotal, order.discount, order.service_charge, order.tax, order.rounding,
            order.total, order.paid, order.note, order.customer_name, order.table,
            order.void_reason, order.source, _aware(order.created_at), _aware(order.updated_at),
            seq, now, order.discount_reason, order.discount_approved_by, order.void_approved_by,
            order.refunded, order.table_id, order.covers,
            _aware(order.seated_at) if order.seated_at else None, order.revision,
            order.split_from, order.split_part, len(order.split_into), order.merged_into,
            completed_at if order.status == "completed" else None)


def line_row(who: SyncIdentity, order: Order, line: OrderLine) -> Row:
    """``store.LINE_COLUMNS`` of an order line (modifiers as structs: the store encodes them
    for its database); it carries its order's business day (the partition key)."""
    return (who.tenant_id, who.outlet_id, line.id, order.id, line.product_id, line.name,
            line.qty, line.unit_price, line.line_total, line.modifiers, line.note,
            line.station, line.state, line.round, line.course, line.seat,
            _aware(line.added_at) if line.added_at else None, line.void_reason, line.voided_by,
            date.fromisoformat(order.business_day))


def payment_row(who: SyncIdentity, p: Payment, now: datetime) -> Row:
    """``store.PAYMENT_COLUMNS`` of a payment."""
    return (who.tenant_id, who.outlet_id, p.id, p.order_id, p.method, p.amount, p.tendered,
            p.change, p.reference, _aware(p.created_at), p.shift_id, p.staff_id, now)


def kitchen_row(who: SyncIdentity, event_id: str, k: KitchenEvent, now: datetime) -> Row:
    """``store.KITCHEN_COLUMNS`` of a kitchen event (keyed by its journal event id)."""
    return (who.tenant_id, who.outlet_id, event_id, k.ticket_id, k.order_id, k.station,
            k.action, _aware(k.at), now)


def movement_row(who: SyncIdentity, m: CashMovement, now: datetime) -> Row:
    """``store.MOVEMENT_COLUMNS`` of a cash movement."""
    return (who.tenant_id, who.outlet_id, m.id, m.shift_id, m.direction, m.amount, m.reason,
            _aware(m.created_at), m.staff_id, now)


# ---------------------------------------------------------------- applying


class BulkRefused(Exception):
    """The set-based write of a batch applied without a SAVEPOINT failed: the caller's
    transaction must be rolled back and the batch applied again with ``savepoint=True``."""


async def apply_events(session: AsyncSession, who: SyncIdentity, tax: TaxConfig,
                       events: list[Event], now: datetime,
                       existing: dict[str, ExistingOrder] | None = None,
                       savepoint: bool = True) -> None:
    """Apply a batch: set-based, or (when the database refuses that) event by event, so
    only the event at fault is quarantined. Sets ``problem`` on every event not applied.
    ``existing``: the held orders among the batch's, when the caller read them already.
    ``savepoint=False``: the set-based write is tried without a SAVEPOINT (two round trips
    fewer); if it fails, ``BulkRefused`` is raised and the caller's transaction is spoiled."""
    for event in events:
        if not event.problem:
            event.problem = precheck(event.body, tax)
    valid = [event for event in events if not event.problem]
    if not valid:
        return
    if not savepoint:
        try:
            await _apply_set(session, who, tax, valid, now, existing)
        except Exception as exc:
            raise BulkRefused(str(exc)) from exc
        return
    problem = await _attempt(session, who, tax, valid, now, existing)
    if not problem:
        return
    if len(valid) == 1:
        valid[0].problem = problem
        return
    log.warning("bulk apply failed, applying one by one",
                extra={"outlet_id": who.outlet_id, "error": problem[:300]})
    for event in valid:
        event.problem = await _attempt(session, who, tax, [event], now)


async def apply_one(session: AsyncSession, who: SyncIdentity, tax: TaxConfig, event: Event,
                    now: datetime) -> str:
    """Apply one event as a batch of one: "" when applied, else why not (nothing written)."""
    return precheck(event.body, tax) or await _attempt(session, who, tax, [event], now)


async def _attempt(session: AsyncSession, who: SyncIdentity, tax: TaxConfig,
                   events: list[Event], now: datetime,
                   existing: dict[str, ExistingOrder] | None = None) -> str:
    """Apply ``events`` in a SAVEPOINT: "" when done, else why not (the savepoint is undone)."""
    try:
        async with session.begin_nested():
            await _apply_set(session, who, tax, events, now, existing)
    except Unappliable as problem:
        return str(problem)
    except Exception as problem:  # noqa: BLE001 - one event must not wedge the stream
        return f"could not apply: {type(problem).__name__}: {problem}"[:2000]
    return ""


@dataclass
class _Batch:
    """A batch reduced to what it changes: the latest snapshot of each order and shift, the
    first event of each payment, movement and kitchen event id, the latest availability."""

    orders: dict[str, tuple[int, Order]]
    shifts: dict[str, tuple[int, Shift]]
    payments: dict[str, Payment]
    movements: dict[str, CashMovement]
    kitchen: dict[str, KitchenEvent]
    availability: dict[str, AvailabilityEvent]
    attempts: dict[str, tuple[int, PaymentAttempt]]
    # order id -> updated_at of its first "completed" snapshot since it last was not
    completed: dict[str, datetime]


def _reduce(events: list[Event]) -> _Batch:
    batch = _Batch({}, {}, {}, {}, {}, {}, {}, {})
    for event in sorted(events, key=lambda e: e.seq):
        seq, body = event.seq, event.body
        match body:
            case OrderEvent(order=order):
                if order.status == "completed":
                    batch.completed.setdefault(order.id, _aware(order.updated_at))
                else:
                    batch.completed.pop(order.id, None)
                if order.id not in batch.orders or batch.orders[order.id][0] < seq:
                    batch.orders[order.id] = (seq, order)
            case PaymentEvent(payment=payment):
                batch.payments.setdefault(payment.id, payment)
            case KitchenEvent():
                batch.kitchen.setdefault(event.event_id, body)
            case ShiftEvent(shift=shift):
                if shift.id not in batch.shifts or batch.shifts[shift.id][0] < seq:
                    batch.shifts[shift.id] = (seq, shift)
            case CashMovementEvent(movement=movement):
                batch.movements.setdefault(movement.id, movement)
            case AvailabilityEvent():
                held = batch.availability.get(body.product_id)
                if held is None or held.at <= body.at:
                    batch.availability[body.product_id] = body
            case PaymentAttemptEvent(attempt=attempt):
                if attempt.id not in batch.attempts or batch.attempts[attempt.id][0] < seq:
                    batch.attempts[attempt.id] = (seq, attempt)
    return batch


async def _apply_set(session: AsyncSession, who: SyncIdentity, tax: TaxConfig,
                     events: list[Event], now: datetime,
                     existing: dict[str, ExistingOrder] | None = None) -> None:
    """Write the batch's rows with one or two statements for all the fact tables
    (``hub.ingest.store``); raise ``Unappliable`` when one of its ids is held by another
    outlet."""
    batch = _reduce(events)
    store = store_for(session)
    if batch.orders and existing is None:
        existing = await store.existing_orders(list(batch.orders))
    facts = _facts(batch, session.add, who, tax, existing or {}, now)
    inserted = await store.write_facts(facts)
    await _held_or_unappliable(store, PaymentRow, set(batch.payments) - inserted.payments, who,
                               "payment")
    skipped = [row for row in facts.kitchen if row[2] not in inserted.kitchen]
    if skipped:
        foreign = {row[2] for row in skipped} - await store.kitchen_held(skipped, who.outlet_id)
        if foreign:
            raise Unappliable(f"kitchen event(s) {sorted(foreign)[:5]} are held for "
                              "another outlet")
    await _held_or_unappliable(store, CashMovementRow, set(batch.movements) - inserted.movements,
                               who, "cash movement")
    for seq, refund in _latest_refunds(events).values():
        await _apply_refund(session, who, refund, seq, now)
    for seq, shift in batch.shifts.values():
        await _apply_shift(session, who, shift, seq)
    for body in batch.availability.values():
        await _apply_availability(session, who, body)
    if batch.attempts:
        await _apply_attempts(session, who, batch.attempts, now)
    await session.flush()


async def _held_or_unappliable(store: IngestStore, model: Any, skipped: set[str],
                               who: SyncIdentity, what: str) -> None:
    """Rows an insert skipped must be this outlet's own, already held; an id held for
    another outlet (or tenant) is not ours to overwrite: unappliable."""
    if skipped:
        foreign = skipped - await store.held_by_outlet(model, list(skipped), who.outlet_id)
        if foreign:
            raise Unappliable(f"{what} id(s) {sorted(foreign)[:5]} are used by another outlet")


def _facts(batch: _Batch, add_alarm: Callable[[SyncAlarm], object], who: SyncIdentity,
           tax: TaxConfig, existing: dict[str, ExistingOrder], now: datetime) -> Facts:
    """The rows of a reduced batch's orders, lines, payments, kitchen events and cash
    movements (``add_alarm`` takes the alarm of an order priced differently)."""
    facts = Facts()
    if batch.orders:
        _order_facts(facts, add_alarm, who, tax, batch.orders, batch.completed, existing, now)
    facts.payments = [payment_row(who, p, now) for p in batch.payments.values()]
    facts.kitchen = [kitchen_row(who, event_id, k, now) for event_id, k in batch.kitchen.items()]
    facts.movements = [movement_row(who, m, now) for m in batch.movements.values()]
    return facts


# What ``plain_facts`` takes: the kinds applied by ``IngestStore.write_facts`` alone.
PLAIN_KINDS = (OrderEvent, PaymentEvent, KitchenEvent, CashMovementEvent)


class NotPlain(Exception):
    """The batch needs the full apply (``apply_events``): see ``plain_facts``."""


def plain_facts(who: SyncIdentity, tax: TaxConfig, events: list[Event],
                existing: dict[str, ExistingOrder], now: datetime) -> Facts:
    """The rows ``apply_events`` writes for a *plain* batch: only orders, payments, kitchen
    events and cash movements (``PLAIN_KINDS``), every one of them adding up (``precheck``),
    priced as the outlet prices them (no alarm) and with no id held by another outlet.
    Anything else raises ``NotPlain`` (the caller applies the batch the full way, which
    alarms, quarantines or refuses as it must)."""
    for event in events:
        if event.problem or not isinstance(event.body, PLAIN_KINDS) or precheck(event.body, tax):
            raise NotPlain

    def refuse(_alarm: SyncAlarm) -> None:
        raise NotPlain

    try:
        return _facts(_reduce(events), refuse, who, tax, existing, now)
    except Unappliable as exc:
        raise NotPlain from exc


def _order_facts(facts: Facts, add_alarm: Callable[[SyncAlarm], object], who: SyncIdentity,
                 tax: TaxConfig, latest: dict[str, tuple[int, Order]],
                 completed: dict[str, datetime], existing: dict[str, ExistingOrder],
                 now: datetime) -> None:
    """The rows of the batch's latest order snapshots: new orders, newer snapshots of held
    ones (an older one is skipped: never go back), and the lines of both."""
    for order_id, (seq, order) in latest.items():
        held = existing.get(order_id)
        if order.outlet_id != who.outlet_id:  # refused before (push); a quarantine retry
            raise Unappliable(f"order {order_id} claims outlet {order.outlet_id}, but the "
                              f"credential belongs to outlet {who.outlet_id}")
        if held is not None and held.outlet_id != who.outlet_id:
            raise Unappliable(f"order id {order_id} is already used by another outlet")
        if held is not None and held.edge_seq > seq:
            continue  # a newer snapshot is already applied: never go back
        mismatch = _priced_differently(order, tax)
        if mismatch:
            add_alarm(SyncAlarm(tenant_id=who.tenant_id, outlet_id=who.outlet_id,
                                  kind="money_mismatch", message=mismatch,
                                  details={"order_id": order.id, "seq": seq}, created_at=now))
        row = order_row(who, order, seq, now, completed.get(order_id))
        if held is None:
            facts.new_orders.append(row)
        else:
            facts.newer_orders.append(row)
            facts.replaced.append(order_id)
        facts.lines += [line_row(who, order, line) for line in order.lines]


def _latest_refunds(events: list[Event]) -> dict[str, tuple[int, Refund]]:
    """The batch's latest snapshot of each refund."""
    latest: dict[str, tuple[int, Refund]] = {}
    for event in events:
        if isinstance(event.body, RefundEvent):
            refund = event.body.refund
            if refund.id not in latest or latest[refund.id][0] < event.seq:
                latest[refund.id] = (event.seq, refund)
    return latest


async def _apply_refund(session: AsyncSession, who: SyncIdentity, refund: Refund, seq: int,
                        now: datetime) -> None:
    row = await session.get(RefundRow, refund.id)
    if row is not None and row.outlet_id != who.outlet_id:
        raise Unappliable(f"refund id {refund.id} is used by another outlet")
    if row is None:
        row = RefundRow(tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=refund.id,
                        edge_seq=0, received_at=now)
        session.add(row)
    if row.edge_seq <= seq:
        row.order_id, row.payment_id, row.method = refund.order_id, refund.payment_id, refund.method
        row.amount, row.reason, row.approved_by = refund.amount, refund.reason, refund.approved_by
        row.lines = [{"line_id": line.line_id, "qty": line.qty, "amount": line.amount}
                     for line in refund.lines]
        row.gateway, row.gateway_refund_id = refund.gateway, refund.gateway_refund_id
        row.status, row.error = refund.status, refund.error
        row.created_at = _aware(refund.created_at)
        row.updated_at = _aware(refund.updated_at or refund.created_at)
        row.shift_id, row.staff_id, row.edge_seq = refund.shift_id, refund.staff_id, seq


async def _apply_shift(session: AsyncSession, who: SyncIdentity, shift: Shift, seq: int) -> None:
    row = await session.get(ShiftRow, shift.id)
    if row is not None and row.outlet_id != who.outlet_id:
        raise Unappliable(f"shift {shift.id} belongs to another outlet")
    if row is None:
        row = ShiftRow(tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=shift.id, edge_seq=0)
        session.add(row)
    if row.edge_seq <= seq:
        row.opened_by, row.opened_at = shift.opened_by, _aware(shift.opened_at)
        row.opening_float, row.closed_by = shift.opening_float, shift.closed_by
        row.closed_at = _aware(shift.closed_at) if shift.closed_at else None
        row.counted_cash, row.expected_cash = shift.counted_cash, shift.expected_cash
        row.difference, row.edge_seq = shift.difference, seq


async def _apply_availability(session: AsyncSession, who: SyncIdentity,
                              body: AvailabilityEvent) -> None:
    row = await session.get(EdgeAvailability, (who.outlet_id, body.product_id))
    if row is None:
        session.add(EdgeAvailability(tenant_id=who.tenant_id, outlet_id=who.outlet_id,
                                     product_id=body.product_id, available=body.available,
                                     at=_aware(body.at)))
    elif row.at <= _aware(body.at):
        row.available, row.at = body.available, _aware(body.at)


async def _apply_attempts(session: AsyncSession, who: SyncIdentity,
                          latest: dict[str, tuple[int, PaymentAttempt]], now: datetime) -> None:
    held = {row.id: row for row in await session.scalars(
        select(HubPaymentAttempt).where(HubPaymentAttempt.id.in_(list(latest))))}
    for attempt_id, (seq, a) in latest.items():
        row = held.get(attempt_id)
        if row is not None and row.outlet_id != who.outlet_id:
            raise Unappliable(f"payment attempt {attempt_id} belongs to another outlet")
        if row is None:
            row = HubPaymentAttempt(tenant_id=who.tenant_id, outlet_id=who.outlet_id,
                                    id=attempt_id, edge_seq=0, received_at=now)
            session.add(row)
        if row.edge_seq <= seq:
            row.order_id, row.method, row.channel = a.order_id, a.method, a.channel
            row.gateway, row.gateway_order_id = a.gateway, a.gateway_order_id
            row.amount, row.status, row.payment_id, row.late = a.amount, a.status, a.payment_id, a.late
            row.created_at, row.updated_at = _aware(a.created_at), _aware(a.updated_at)
            row.edge_seq = seq
