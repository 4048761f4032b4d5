"""Order rules: creation (validated and re-priced from the local menu), payments, the state
machine, voids, and the events each change records.

States: placed -> in_kitchen -> ready -> completed; voided from any open state. With the
outlet's ``kitchen_trigger = "place"`` (default) an order goes to the kitchen in the
transaction that creates it; with ``"payment"`` it goes when payments cover the total.

Approvals: voiding a paid order, a discount above the outlet's threshold and a refund
(edge.refunds) need a manager. The caller passes ``approved_by``, the staff id of a manager
it has verified (the manager logged in on the request, or a manager's PIN typed on the
cashier's session: edge.api.orders), and the order records who approved what
(``void_approved_by``, ``discount_approved_by``). A cash payment opens the drawer
(edge.printing.kick_drawer) in its transaction.

Every function takes the caller's write connection and does all its work in that
transaction: the order row (and its full snapshot), an outbox event (OrderEvent with the
snapshot, PaymentEvent) and an ``orders`` live event when the status changes. The caller
notifies the LiveFeed after the commit. Client prices are never trusted: totals come from
``shared.pricing.price_order`` over the outlet's own catalog.

Deadlines: an order create may carry ``place_by`` (UTC, in the edge's clock), the moment its
sender gives up on the request. A request the edge gets to after it (it hung, or the request
waited in a queue) is refused with 409 ``order_deadline_passed`` and nothing is written, so a
kiosk that told its customer "not sent" never gets a ghost order cooked. A replay of a key
that was accepted still returns its order, whatever the deadline.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta

import msgspec

from edge import kitchen, live, outbox, printing, shifts, tables
from edge import orders_repository as repo
from edge.auth import Principal, require
from edge.catalog import MenuCache
from edge.outlet import OutletInfo, business_day
from shared.errors import (
    DeadlinePassed,
    Forbidden,
    IdempotencyConflict,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from shared.ids import new_id
from shared.money import MAX_AMOUNT
from shared.pricing import PricedLine, percent_of, price_order, unit_price
from shared.schemas import (
    DiscountCreate,
    FloorPlan,
    Order,
    OrderCreate,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentCreate,
    PaymentEvent,
    TaxConfig,
)

__all__ = [
    "OPEN_STATES",
    "TOPIC",
    "add_flagged_payment",
    "add_payment",
    "apply_discount",
    "cancel_unpaid",
    "check_deadline",
    "check_discount_reason",
    "complete_order",
    "create_order",
    "list_orders",
    "load_order",
    "pricing_tax",
    "request_hash",
    "set_refunded",
    "ticket_reopened",
    "tickets_ready",
    "void_order",
]

TOPIC = "orders"
# A deadline further ahead than this is a client's clock gone wrong, not a deadline.
MAX_DEADLINE_AHEAD = timedelta(minutes=10)
OPEN_STATES = ("placed", "in_kitchen", "ready")
_canonical = msgspec.json.Encoder(order="sorted")


def request_hash(data: OrderCreate | PaymentCreate) -> str:
    """Fingerprint of a request body, independent of JSON key order and whitespace (an
    order's ``place_by`` left out: each retry of the same order may give a later one)."""
    if isinstance(data, OrderCreate) and data.place_by is not None:
        data = msgspec.structs.replace(data, place_by=None)
    return hashlib.sha256(_canonical.encode(data)).hexdigest()


def check_deadline(place_by: datetime | None, now: datetime) -> None:
    """Refuse a request processed after its sender's deadline, or with one beyond reason."""
    if place_by is None:
        return
    times = {"place_by": place_by.isoformat(), "server_time": now.isoformat()}
    if now > place_by:
        raise DeadlinePassed(
            "the order reached the outlet server after its deadline: it was not placed",
            details={**times, "late_ms": int((now - place_by).total_seconds() * 1000)})
    if place_by - now > MAX_DEADLINE_AHEAD:
        raise ValidationFailed(
            "place_by is more than 10 minutes ahead of the outlet server's clock",
            details={"field": "place_by", "reason": "deadline_too_far",
                     "max_seconds": int(MAX_DEADLINE_AHEAD.total_seconds()), **times})


def load_order(conn: sqlite3.Connection, order_id: str) -> Order:
    order = repo.get_order(conn, order_id)
    if order is None:
        raise NotFound("no such order", details={"order_id": order_id})
    return order


def list_orders(conn: sqlite3.Connection, status: str | None = None, limit: int = 50,
                business_day: str | None = None, search: str | None = None) -> list[Order]:
    """Newest first; ``status="open"`` means not completed, voided or cancelled. ``search``:
    an order number ("12" or "#12") or part of the customer's name or the table's name."""
    statuses = OPEN_STATES if status == "open" else (status,) if status else None
    text = (search or "").strip()
    digits = text.removeprefix("#").strip()
    number = int(digits) if digits.isdigit() and len(digits) <= 9 else None
    return repo.list_orders(conn, statuses, business_day, limit, text or None, number)


def create_order(conn: sqlite3.Connection, data: OrderCreate, *, outlet: OutletInfo,
                 menu: MenuCache, principal: Principal, now: datetime,
                 idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Create an order; return it and whether it is new (False: an idempotent replay)."""
    fingerprint = request_hash(data) if idempotency_key else ""
    if idempotency_key:
        seen = repo.find_idempotency_key(conn, principal.device_id, idempotency_key)
        if seen is not None:
            if seen[0] != fingerprint:
                raise IdempotencyConflict(
                    "this Idempotency-Key was already used for a different order",
                    details={"idempotency_key": idempotency_key, "order_id": seen[1]})
            return load_order(conn, seen[1]), False
    check_deadline(data.place_by, now)
    if data.discount:
        require(principal, "orders:discount")
        check_discount_reason(outlet, data.discount_reason)
    # A dine-in bill at a table of the floor plan (docs/table-service.md): 404 for a table
    # not on the plan, 409 when a bill is already open there.
    table = tables.require_free(conn, data.table_id) if data.table_id is not None else None
    if table is not None and data.type != "dine_in":
        raise ValidationFailed("a bill at a table is dine-in", details={"field": "type"})
    if data.type != "dine_in" and any(line.hold for line in data.lines):
        raise ValidationFailed("only a dine-in order holds lines for later",
                               details={"field": "lines.hold"})
    floor = tables.floor_plan(conn)
    tables.check_courses(floor, data.lines)
    index = menu.get(conn)
    resolved = index.resolve(data.lines)
    totals = price_order([r.priced for r in resolved], pricing_tax(index.tax, floor, data.type),
                         data.discount)
    if max(totals.subtotal, totals.total) > MAX_AMOUNT:
        # Stored, it could never be read back (or synced): refuse it before anything is written.
        raise ValidationFailed("the order's total is larger than any amount the POS can hold",
                               details={"subtotal": totals.subtotal, "total": totals.total,
                                        "max": MAX_AMOUNT})
    day = business_day(outlet, now)
    lines = [OrderLine(id=new_id(), product_id=r.product.id, name=r.product.name, qty=r.qty,
                       unit_price=unit_price(r.priced.base_price, r.priced.option_deltas), line_total=total, modifiers=r.modifiers,
                       note=r.note, station=r.station, course=asked.course, seat=asked.seat,
                       state="held" if asked.hold else "sent",
                       round=1 if table is not None else 0,
                       added_at=now if table is not None else None)
             for r, total, asked in zip(resolved, totals.line_totals, data.lines)]
    # A table's rounds go to the kitchen as they are ordered whatever the trigger: the bill
    # is paid at the end.
    anything_sent = any(line.state == "sent" for line in lines)
    to_kitchen = anything_sent and (table is not None or outlet.kitchen_trigger == "place")
    order = Order(
        id=new_id(), outlet_id=outlet.id, number=repo.next_number(conn, day), business_day=day,
        type=data.type, status="in_kitchen" if to_kitchen else "placed", currency=index.currency,
        lines=lines, subtotal=totals.subtotal, discount=totals.discount,
        service_charge=totals.service_charge, tax=totals.tax, rounding=totals.rounding,
        total=totals.total, note=data.note, customer_name=data.customer_name,
        table=table.name if table is not None else data.table,
        created_at=now, updated_at=now, source=principal.device_name,
        discount_reason=data.discount_reason.strip() if totals.discount else "",
        discount_approved_by=principal.staff_id if totals.discount else None,
        table_id=table.id if table is not None else None,
        covers=data.covers, seated_at=now if table is not None else None)
    repo.insert_order(conn, order, principal.device_id, principal.staff_id)
    if table is not None:
        tables.seated(conn, table.id, now)
    if idempotency_key:
        repo.insert_idempotency_key(conn, principal.device_id, idempotency_key, fingerprint,
                                    order.id, now)
    _record(conn, order, now)
    if to_kitchen:
        kitchen.send_to_kitchen(conn, order, now)
    return order, True


def add_payment(conn: sqlite3.Connection, order_id: str, data: PaymentCreate, *,
                outlet: OutletInfo, principal: Principal, now: datetime,
                idempotency_key: str | None = None, attempt_id: str | None = None,
                gateway: str = "", verified: bool = True) -> tuple[Order, bool]:
    """Record a payment; return the order and whether the payment is new (False: a replay).

    Cash computes change, card needs a reference, no overpaying. ``attempt_id``, ``gateway``
    and ``verified`` describe a payment a gateway (or a cashier, from a static QR) confirmed
    for a payment attempt (edge.payments.attempts).
    """
    fingerprint = request_hash(data) if idempotency_key else ""
    if idempotency_key:
        # Before every state check: a retry whose first attempt paid the order in full must
        # get that order back, not "already paid".
        replayed = _replayed_payment(conn, order_id, fingerprint, idempotency_key, principal)
        if replayed is not None:
            return replayed, False
    order = load_order(conn, order_id)
    if order.status not in OPEN_STATES:
        raise InvalidState(f"a {order.status} order takes no payments",
                           details={"order_id": order.id, "status": order.status,
                                    "reason": "not_payable"})
    owed = order.total - order.paid
    if owed <= 0:
        raise InvalidState("the order is already paid",
                           details={"order_id": order.id, "reason": "already_paid"})
    if data.amount <= 0:
        raise ValidationFailed("amount must be positive",
                               details={"amount": data.amount, "reason": "amount_not_positive"})
    if data.amount > owed:
        raise ValidationFailed("amount is more than what is still owed",
                               details={"amount": data.amount, "owed": owed, "reason": "over_owed"})
    shift_id = shifts.current_shift_id(conn, principal.device_id)
    if shift_id is not None:
        shifts.check_payment_room(conn, shift_id, data.method, data.amount)
    tendered, change = 0, 0
    if data.method == "cash":
        tendered = data.tendered or data.amount
        if tendered < data.amount:
            raise ValidationFailed("cash tendered is less than the amount",
                                   details={"amount": data.amount, "tendered": tendered,
                                            "reason": "cash_short"})
        change = tendered - data.amount
    elif data.method == "card" and not data.reference.strip():
        raise ValidationFailed("a card payment needs the terminal reference",
                               details={"method": "card", "reason": "card_reference"})
    payment = Payment(id=new_id(), order_id=order.id, method=data.method, amount=data.amount,
                      tendered=tendered, change=change, reference=data.reference.strip(),
                      created_at=now, shift_id=shift_id,
                      staff_id=principal.staff_id, attempt_id=attempt_id, gateway=gateway,
                      verified=verified)
    repo.insert_payment(conn, payment, principal.device_id)
    if idempotency_key:
        repo.insert_payment_idempotency_key(conn, principal.device_id, idempotency_key,
                                            fingerprint, order.id, payment.id, now)
    outbox.append(conn, PaymentEvent(payment=payment), now)
    if payment.method == "cash":
        printing.kick_drawer(conn, now, order.id)
    paid = order.paid + payment.amount
    fully_paid = paid >= order.total
    send = fully_paid and order.status == "placed" and outlet.kitchen_trigger == "payment"
    updated = msgspec.structs.replace(order, paid=paid, payments=[*order.payments, payment],
                                      status="in_kitchen" if send else order.status,
                                      updated_at=now)
    repo.update_order(conn, updated)
    _record(conn, updated, now, status_changed=send)
    if send:
        kitchen.send_to_kitchen(conn, updated, now)
    return updated, True


def add_flagged_payment(conn: sqlite3.Connection, order_id: str, data: PaymentCreate, *,
                        principal: Principal, now: datetime, attempt_id: str, gateway: str,
                        verified: bool = True) -> tuple[Order, Payment]:
    """Record money a gateway took for an order that cannot take it any more (voided,
    cancelled, or already paid): kept so the books match the gateway; the attempt that
    brought it is flagged for refund. The order's status does not change."""
    order = load_order(conn, order_id)
    payment = Payment(id=new_id(), order_id=order.id, method=data.method, amount=data.amount,
                      reference=data.reference.strip(), created_at=now,
                      shift_id=shifts.current_shift_id(conn, principal.device_id),
                      staff_id=principal.staff_id, attempt_id=attempt_id, gateway=gateway,
                      verified=verified)
    repo.insert_payment(conn, payment, principal.device_id)
    outbox.append(conn, PaymentEvent(payment=payment), now)
    updated = msgspec.structs.replace(order, paid=order.paid + payment.amount,
                                      payments=[*order.payments, payment], updated_at=now)
    repo.update_order(conn, updated)
    _record(conn, updated, now, status_changed=False)
    return updated, payment


def cancel_unpaid(conn: sqlite3.Connection, order_id: str, reason: str, now: datetime) -> Order:
    """Cancel an order nobody paid for that the kitchen never saw (a kiosk order whose QR
    expired); any other order is returned unchanged."""
    order = load_order(conn, order_id)
    if order.status != "placed" or order.paid > 0:
        return order
    cancelled = msgspec.structs.replace(order, status="cancelled", void_reason=reason,
                                        updated_at=now)
    repo.update_order(conn, cancelled)
    _record(conn, cancelled, now)
    return cancelled


def _replayed_payment(conn: sqlite3.Connection, order_id: str, fingerprint: str, key: str,
                      principal: Principal) -> Order | None:
    """The order as it is now if this device already made this payment with this key."""
    seen = repo.find_payment_idempotency_key(conn, principal.device_id, key)
    if seen is None:
        return None
    seen_hash, seen_order_id, payment_id = seen
    if seen_order_id != order_id:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a payment on another order",
            details={"idempotency_key": key, "order_id": seen_order_id, "payment_id": payment_id})
    if seen_hash != fingerprint:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different payment",
            details={"idempotency_key": key, "order_id": seen_order_id, "payment_id": payment_id})
    return load_order(conn, order_id)


def void_order(conn: sqlite3.Connection, order_id: str, reason: str, *, principal: Principal,
               now: datetime, approved_by: str | None = None) -> Order:
    """Void an open order; a paid (or part-paid) order needs a manager's approval
    (``approved_by``), recorded as ``void_approved_by``."""
    order = load_order(conn, order_id)
    if order.status not in OPEN_STATES:
        raise InvalidState(f"a {order.status} order cannot be voided",
                           details={"order_id": order.id, "status": order.status})
    require(principal, "orders:void")
    if order.paid > 0 and approved_by is None:
        raise Forbidden("voiding a paid order needs a manager's approval",
                        details={"permission": "orders:void_paid"})
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("a void needs a reason")
    voided = msgspec.structs.replace(order, status="voided", void_reason=reason, updated_at=now,
                                     void_approved_by=approved_by if order.paid > 0 else None)
    repo.update_order(conn, voided)
    _record(conn, voided, now)
    kitchen.withdraw_order(conn, order.id, now)
    return voided


def check_discount_reason(outlet: OutletInfo, reason: str) -> str:
    """The reason, stripped, when the outlet's list allows it (an empty list allows any
    reason, but not none); else 400."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("a discount needs a reason", details={"field": "reason"})
    if outlet.discount_reasons and reason not in outlet.discount_reasons:
        raise ValidationFailed("this discount reason is not on head office's list",
                               details={"field": "reason", "reason": reason,
                                        "allowed": list(outlet.discount_reasons)})
    return reason


def needs_approval(outlet: OutletInfo, discount: int, subtotal: int) -> bool:
    """A discount above the outlet's threshold (every discount when there is none) needs a
    manager."""
    if discount <= 0:
        return False
    limit = outlet.discount_approval_percent
    return limit is None or discount * 100 > limit * subtotal


def apply_discount(conn: sqlite3.Connection, order_id: str, data: DiscountCreate, *,
                   outlet: OutletInfo, menu: MenuCache, principal: Principal, now: datetime,
                   approved_by: str | None = None) -> Order:
    """Set the discount of an open order or one of its lines (percent or amount, replacing
    the one it had) and re-price the order with shared.pricing. Needs a manager's approval
    (``approved_by``) when the order's whole discount is above the outlet's threshold; 400
    for a reason outside head office's list; 409 when the order would cost less than paid."""
    order = load_order(conn, order_id)
    if order.status not in OPEN_STATES:
        raise InvalidState(f"a {order.status} order takes no discount",
                           details={"order_id": order.id, "status": order.status})
    if order.split_from is not None:
        # its figures are a share of the bill it was split from (shared/split.py)
        raise InvalidState("a part of a split bill takes no discount: discount the bill "
                           "before splitting it",
                           details={"order_id": order.id, "reason": "split_part"})
    if (data.percent is None) == (data.amount is None):
        raise ValidationFailed("give either percent or amount", details={"field": "percent"})
    reason = check_discount_reason(outlet, data.reason)
    lines = list(order.lines)
    # a voided line is not on the bill: neither its total nor its discount counts
    line_discounts = sum(line.discount for line in lines if line.state != "voided")
    order_part = order.discount - line_discounts
    if data.line_id is not None:
        at = next((i for i, line in enumerate(lines) if line.id == data.line_id), None)
        if at is None:
            raise NotFound("no such line on this order", details={"line_id": data.line_id})
        if lines[at].state == "voided":
            raise InvalidState("the line is voided", details={"line_id": data.line_id})
        base = lines[at].line_total
        cut = _discount_amount(data, base)
        lines[at] = msgspec.structs.replace(lines[at], discount=cut)
        line_discounts = sum(line.discount for line in lines if line.state != "voided")
    else:
        base = order.subtotal - line_discounts
        order_part = _discount_amount(data, base)
    discount = min(order.subtotal, line_discounts + order_part)
    if needs_approval(outlet, discount, order.subtotal) and approved_by is None:
        raise Forbidden("a discount this large needs a manager's approval",
                        details={"permission": "orders:discount",
                                 "approval_percent": outlet.discount_approval_percent})
    tax = pricing_tax(menu.get(conn).tax, tables.floor_plan(conn), order.type)
    totals = price_order([PricedLine(base_price=line.unit_price, qty=line.qty) for line in lines
                          if line.state != "voided"], tax, discount)
    if totals.total < order.paid:
        raise InvalidState("the order would cost less than has been paid for it",
                           details={"order_id": order.id, "total": totals.total,
                                    "paid": order.paid})
    updated = msgspec.structs.replace(
        order, lines=lines, discount=totals.discount, service_charge=totals.service_charge,
        tax=totals.tax, rounding=totals.rounding, total=totals.total,
        discount_reason=reason if totals.discount else "",
        discount_approved_by=approved_by if totals.discount else None, updated_at=now)
    repo.update_order(conn, updated)
    _record(conn, updated, now, status_changed=False)
    return updated


def _discount_amount(data: DiscountCreate, base: int) -> int:
    if data.percent is not None:
        return percent_of(base, data.percent)
    amount = data.amount or 0
    if amount > base:
        raise ValidationFailed("the discount is more than what it applies to",
                               details={"field": "amount", "amount": amount, "base": base})
    return amount


def set_refunded(conn: sqlite3.Connection, order: Order, refunded: int, now: datetime) -> Order:
    """Record how much of the order's money is given back (edge.refunds keeps it within
    what was paid)."""
    updated = msgspec.structs.replace(order, refunded=refunded, updated_at=now)
    repo.update_order(conn, updated)
    _record(conn, updated, now, status_changed=False)
    return updated


def complete_order(conn: sqlite3.Connection, order_id: str, now: datetime) -> Order:
    """Hand a ready, fully paid order to the customer; a dine-in bill at a table is completed
    once fully paid, whatever its kitchen state, and its table then needs cleaning."""
    order = load_order(conn, order_id)
    at_table = order.table_id is not None and order.status in OPEN_STATES
    if order.status != "ready" and not at_table:
        raise InvalidState(f"only a ready order can be completed (this one is {order.status})",
                           details={"order_id": order.id, "status": order.status,
                                    "reason": "not_ready"})
    if order.paid < order.total:
        raise InvalidState("the order is not fully paid",
                           details={"order_id": order.id, "total": order.total, "paid": order.paid,
                                    "reason": "not_paid"})
    completed = _move(conn, order, "completed", now)
    if order.table_id is not None:
        tables.mark_dirty(conn, order.table_id, order.id, now)
        tables.publish_table(conn, order.table_id, now)
    return completed


# -- an order follows its tickets ------------------------------------------------------------
# The kitchen calls these with what it knows (edge.kitchen.OrderFollows); this module imports
# the kitchen, never the other way round.


def tickets_ready(conn: sqlite3.Connection, order_id: str, now: datetime) -> Order:
    """Every ticket of the order is cooked: an order in the kitchen becomes ready."""
    order = load_order(conn, order_id)
    if order.status != "in_kitchen":
        return order  # already ready (a double bump), or not the kitchen's to move
    return _move(conn, order, "ready", now)


def ticket_reopened(conn: sqlite3.Connection, order_id: str, now: datetime) -> Order:
    """A ticket is being cooked again (undone or recalled): a ready order goes back to the
    kitchen; a completed or voided order refuses (the caller's transaction rolls back)."""
    order = load_order(conn, order_id)
    if order.status not in OPEN_STATES:
        raise InvalidState(f"the order is already {order.status}",
                           details={"order_id": order.id, "order_status": order.status})
    if order.status != "ready":
        return order
    return _move(conn, order, "in_kitchen", now)


def _move(conn: sqlite3.Connection, order: Order, status: str, now: datetime) -> Order:
    moved = msgspec.structs.replace(order, status=status, updated_at=now)
    repo.update_order(conn, moved)
    _record(conn, moved, now)
    return moved


def _record(conn: sqlite3.Connection, order: Order, now: datetime, status_changed: bool = True) -> None:
    outbox.append(conn, OrderEvent(order=order), now)
    if status_changed:
        live.publish(conn, TOPIC, "order.status",
                     {"id": order.id, "number": order.number, "status": order.status}, now=now)
    if order.table_id is not None:
        tables.publish_table(conn, order.table_id, now)


def pricing_tax(tax: TaxConfig, floor: FloorPlan, order_type: str) -> TaxConfig:
    """The tax settings an order is priced with: no service charge on takeaway when the floor
    plan keeps it for dine-in (``service_charge_dine_in_only``)."""
    if floor.service_charge_dine_in_only and order_type != "dine_in" and tax.service_rate_bp:
        return msgspec.structs.replace(tax, service_rate_bp=0)
    return tax
