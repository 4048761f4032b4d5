"""Open bills: a dine-in order's life after it is placed (docs/table-service.md).

A party is seated (``open_bill``: an empty bill at a table) or a dine-in order names its
table; then rounds are added (``add_round``), held lines wait for their course to be fired
(``fire``), held lines can still be changed or deleted (``update_line``, ``delete_line``),
sent lines are voided with a reason (``void_line``: a manager approves above the floor plan's
``void_approval_threshold``), the guests ask for the bill (``request_bill``), pay, and the
bill is completed (``edge.orders.complete_order``); the table then needs cleaning.

Every amendment runs in the caller's write transaction and does all of its work there: the
re-priced order (``reprice``: shared.pricing over the lines that are not voided, never a
client's figure), its revision + 1, an OrderEvent with the whole snapshot in the outbox, the
kitchen tickets it causes, live events on ``orders`` and ``tables`` (``save``), and the
amendment's idempotency key. The edge's single writer runs amendments one after another, so
two rounds added at once from two devices both land; an edit made against a stale revision
(``If-Match``) is refused with 409 and the current revision.

Idempotency: seat, add round, fire and void take an ``Idempotency-Key`` per device; the same
key with the same request returns the bill as it is now and changes nothing, with another
request it is a 409 ``idempotency_conflict``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from edge import kitchen, live, orders, outbox, tables
from edge import orders_repository as repo
from edge.auth import Principal, require
from edge.catalog import MenuCache
from edge.outlet import OutletInfo, business_day
from shared.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from shared.ids import new_id
from shared.money import MAX_AMOUNT
from shared.pricing import PricedLine, price_order, unit_price
from shared.schemas import (
    MAX_OPTIONS_PER_LINE,
    Covers,
    FloorPlan,
    Id,
    InputStruct,
    Note,
    Order,
    OrderEvent,
    OrderLine,
    OrderLineCreate,
    Qty,
    Seat,
    ShortText,
    TaxConfig,
)

__all__ = [
    "MAX_LINES",
    "MAX_ROUNDS",
    "CourseFire",
    "LineUpdate",
    "LineVoid",
    "RoundCreate",
    "Seating",
    "add_round",
    "delete_line",
    "fire",
    "open_bill",
    "reprice",
    "request_bill",
    "save",
    "update_line",
    "void_line",
]

MAX_LINES = 500  # lines on one bill, voided ones included
MAX_ROUNDS = 200
_canonical = msgspec.json.Encoder(order="sorted")


# ---------------------------------------------------------------- request bodies


class Seating(InputStruct):
    covers: Covers = 0


class RoundCreate(InputStruct):
    lines: Annotated[list[OrderLineCreate], Meta(min_length=1, max_length=100)]


class CourseFire(InputStruct):
    course: ShortText = ""  # "" fires every held line


class LineUpdate(InputStruct):
    multiline = frozenset({"note"})

    qty: Qty | None = None
    modifiers: Annotated[list[Id], Meta(max_length=MAX_OPTIONS_PER_LINE)] | None = None
    note: Note | None = None
    seat: Seat | None = None
    course: ShortText | None = None


class LineVoid(InputStruct):
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


# ---------------------------------------------------------------- money and storage


def reprice(order: Order, *, tax: TaxConfig, floor: FloorPlan) -> Order:
    """The bill with every money figure recomputed by shared.pricing from its lines that are
    not voided (held lines are on the bill: they were ordered). Pure."""
    active = [i for i, line in enumerate(order.lines) if line.state != "voided"]
    totals = price_order([PricedLine(base_price=order.lines[i].unit_price, qty=order.lines[i].qty)
                          for i in active], orders.pricing_tax(tax, floor, order.type),
                         order.discount)
    lines = list(order.lines)
    for i, line_total in zip(active, totals.line_totals):
        if lines[i].line_total != line_total:
            lines[i] = msgspec.structs.replace(lines[i], line_total=line_total)
    return msgspec.structs.replace(
        order, lines=lines, subtotal=totals.subtotal, discount=totals.discount,
        service_charge=totals.service_charge, tax=totals.tax, rounding=totals.rounding,
        total=totals.total)


def save(conn: sqlite3.Connection, order: Order, now: datetime) -> Order:
    """Store an amended bill: revision + 1, ``updated_at``, the order row and its lines, an
    OrderEvent with the snapshot in the outbox, live events on ``orders`` (``order.updated``,
    and ``order.status`` when the status moved) and ``tables``."""
    row = conn.execute("SELECT status FROM orders WHERE id = ?", (order.id,)).fetchone()
    if row is None:
        raise NotFound("no such order", details={"order_id": order.id})
    saved = msgspec.structs.replace(order, revision=order.revision + 1, updated_at=now)
    repo.update_order(conn, saved)
    repo.replace_lines(conn, saved)
    _announce(conn, saved, now, status_changed=row[0] != saved.status)
    return saved


def _announce(conn: sqlite3.Connection, order: Order, now: datetime, status_changed: bool) -> None:
    outbox.append(conn, OrderEvent(order=order), now)
    if status_changed:
        live.publish(conn, orders.TOPIC, "order.status",
                     {"id": order.id, "number": order.number, "status": order.status}, now=now)
    live.publish(conn, orders.TOPIC, "order.updated",
                 {"id": order.id, "number": order.number, "status": order.status,
                  "revision": order.revision, "table_id": order.table_id, "total": order.total},
                 now=now)
    if order.table_id is not None:
        tables.publish_table(conn, order.table_id, now)


def _priced(order: Order, tax: TaxConfig, floor: FloorPlan) -> Order:
    priced = reprice(order, tax=tax, floor=floor)
    if max(priced.subtotal, priced.total) > MAX_AMOUNT:
        raise ValidationFailed("the bill's total is larger than any amount the POS can hold",
                               details={"subtotal": priced.subtotal, "total": priced.total,
                                        "max": MAX_AMOUNT})
    if priced.total < priced.paid:
        raise InvalidState("the bill would cost less than has been paid for it",
                           details={"order_id": order.id, "total": priced.total,
                                    "paid": priced.paid})
    return priced


# ---------------------------------------------------------------- idempotency


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(_canonical.encode(list(parts))).hexdigest()


def _replayed(conn: sqlite3.Connection, principal: Principal, key: str | None, action: str,
              fingerprint: str) -> Order | None:
    """The bill as it is now when this device already made this change with this key."""
    if not key:
        return None
    seen = repo.find_bill_idempotency_key(conn, principal.device_id, key)
    if seen is None:
        return None
    seen_action, seen_hash, order_id = seen
    if seen_action != action or seen_hash != fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was already used for a different change",
                                  details={"idempotency_key": key, "order_id": order_id,
                                           "action": seen_action})
    return orders.load_order(conn, order_id)


def _remember(conn: sqlite3.Connection, principal: Principal, key: str | None, action: str,
              fingerprint: str, order_id: str, now: datetime) -> None:
    if key:
        repo.insert_bill_idempotency_key(conn, principal.device_id, key, action, fingerprint,
                                         order_id, now)


# ---------------------------------------------------------------- amendments


def open_bill(conn: sqlite3.Connection, table_id: str, covers: int, *, outlet: OutletInfo,
              principal: Principal, now: datetime,
              idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Seat a party: an empty dine-in bill at the table; return it and whether it is new.
    409 when a bill is already open there."""
    fingerprint = _fingerprint("seat", table_id, covers)
    replayed = _replayed(conn, principal, idempotency_key, "seat", fingerprint)
    if replayed is not None:
        return replayed, False
    table = tables.require_free(conn, table_id)
    day = business_day(outlet, now)
    order = Order(
        id=new_id(), outlet_id=outlet.id, number=repo.next_number(conn, day), business_day=day,
        type="dine_in", status="placed", currency=repo.currency(conn), lines=[], subtotal=0,
        discount=0, service_charge=0, tax=0, rounding=0, total=0, table=table.name,
        table_id=table.id, covers=covers, seated_at=now, created_at=now, updated_at=now,
        source=principal.device_name)
    repo.insert_order(conn, order, principal.device_id, principal.staff_id)
    tables.seated(conn, table.id, now)
    _remember(conn, principal, idempotency_key, "seat", fingerprint, order.id, now)
    _announce(conn, order, now, status_changed=True)
    return order, True


def add_round(conn: sqlite3.Connection, order_id: str, lines: list[OrderLineCreate], *,
              outlet: OutletInfo, menu: MenuCache, principal: Principal, now: datetime,
              idempotency_key: str | None = None, source: str = "") -> tuple[Order, bool]:
    """Add a round to an open dine-in bill (round = last + 1); its lines without ``hold`` go
    to the kitchen as tickets of that round at once, whatever the outlet's kitchen trigger
    (``outlet`` is taken for callers' symmetry with order creation). Returns the bill and
    whether the round is new (False: a replay)."""
    fingerprint = _fingerprint("round", order_id, lines)
    replayed = _replayed(conn, principal, idempotency_key, "round", fingerprint)
    if replayed is not None:
        return replayed, False
    if not 1 <= len(lines) <= 100:
        raise ValidationFailed("a round has 1 to 100 lines", details={"field": "lines"})
    order = _open(conn, order_id, items=True)
    if len(order.lines) + len(lines) > MAX_LINES:
        raise ValidationFailed(f"a bill holds at most {MAX_LINES} lines",
                               details={"field": "lines", "lines": len(order.lines),
                                        "max": MAX_LINES})
    number = max((line.round for line in order.lines), default=0) + 1
    if number > MAX_ROUNDS:
        raise ValidationFailed(f"a bill takes at most {MAX_ROUNDS} rounds",
                               details={"field": "lines", "max_rounds": MAX_ROUNDS})
    floor = tables.floor_plan(conn)
    tables.check_courses(floor, lines)
    index = menu.get(conn)
    resolved = index.resolve(lines)
    added = [OrderLine(id=new_id(), product_id=r.product.id, name=r.product.name, qty=r.qty,
                       unit_price=(price := unit_price(r.priced.base_price, r.priced.option_deltas)),
                       line_total=price * r.qty, modifiers=r.modifiers, note=r.note,
                       station=r.station, round=number, course=asked.course, seat=asked.seat,
                       state="held" if asked.hold else "sent", added_at=now)
             for r, asked in zip(resolved, lines)]
    sent = [line for line in added if line.state == "sent"]
    status = "in_kitchen" if sent and order.status in ("placed", "ready") else order.status
    # a new round makes a printed bill stale: the guests are ordering again
    amended = _priced(msgspec.structs.replace(order, lines=[*order.lines, *added], status=status,
                                              bill_requested_at=None), index.tax, floor)
    saved = save(conn, amended, now)
    kitchen.send_lines(conn, saved, sent, now)
    live.publish(conn, orders.TOPIC, "order.round",
                 {"id": saved.id, "round": number, "lines": len(added), "sent": len(sent),
                  "source": source, "table_id": saved.table_id}, now=now)
    _remember(conn, principal, idempotency_key, "round", fingerprint, saved.id, now)
    return saved, True


def fire(conn: sqlite3.Connection, order_id: str, course: str, *, principal: Principal,
         now: datetime, idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Send the held lines of ``course`` ("" = every held line) to the kitchen: tickets per
    course and station. 409 when nothing of that course is held."""
    fingerprint = _fingerprint("fire", order_id, course)
    replayed = _replayed(conn, principal, idempotency_key, "fire", fingerprint)
    if replayed is not None:
        return replayed, False
    order = _open(conn, order_id)
    firing = {line.id for line in order.lines
              if line.state == "held" and (not course or line.course == course)}
    if not firing:
        raise InvalidState("nothing of this course is held", details={"order_id": order.id,
                                                                     "course": course})
    lines = [msgspec.structs.replace(line, state="sent") if line.id in firing else line
             for line in order.lines]
    status = "in_kitchen" if order.status in ("placed", "ready") else order.status
    saved = save(conn, msgspec.structs.replace(order, lines=lines, status=status), now)
    kitchen.send_lines(conn, saved, [line for line in saved.lines if line.id in firing], now)
    _remember(conn, principal, idempotency_key, "fire", fingerprint, saved.id, now)
    return saved, True


def update_line(conn: sqlite3.Connection, order_id: str, line_id: str, data: LineUpdate, *,
                menu: MenuCache, now: datetime, revision: int | None = None) -> Order:
    """Change a held line (qty, modifiers, note, seat, course), re-priced from the menu; 409
    once it was sent, or when ``revision`` is not the bill's current one."""
    order = _open(conn, order_id, revision, items=True)
    at, line = _held_line(order, line_id)
    floor = tables.floor_plan(conn)
    if data.course is not None:
        tables.check_courses(floor, [data])
    index = menu.get(conn)
    qty = data.qty if data.qty is not None else line.qty
    modifiers, price = line.modifiers, line.unit_price
    if data.qty is not None or data.modifiers is not None:
        wanted = data.modifiers if data.modifiers is not None else [m.option_id for m in line.modifiers]
        resolved = index.resolve([OrderLineCreate(product_id=line.product_id, qty=qty,
                                                  modifiers=wanted)])[0]
        modifiers = resolved.modifiers
        price = unit_price(resolved.priced.base_price, resolved.priced.option_deltas)
    changed = msgspec.structs.replace(
        line, qty=qty, modifiers=modifiers, unit_price=price, line_total=price * qty,
        discount=min(line.discount, price * qty),
        note=data.note if data.note is not None else line.note,
        seat=data.seat if data.seat is not None else line.seat,
        course=data.course if data.course is not None else line.course)
    lines = list(order.lines)
    lines[at] = changed
    discount = max(0, order.discount - (line.discount - changed.discount))
    amended = _priced(msgspec.structs.replace(order, lines=lines, discount=discount), index.tax, floor)
    return save(conn, amended, now)


def delete_line(conn: sqlite3.Connection, order_id: str, line_id: str, *, menu: MenuCache,
                now: datetime, revision: int | None = None) -> Order:
    """Take a held line off the bill; 409 once it was sent (void it instead)."""
    order = _open(conn, order_id, revision, items=True)
    at, line = _held_line(order, line_id)
    lines = [*order.lines[:at], *order.lines[at + 1:]]
    amended = msgspec.structs.replace(order, lines=lines,
                                      discount=max(0, order.discount - line.discount))
    return save(conn, _priced(amended, menu.get(conn).tax, tables.floor_plan(conn)), now)


def needs_manager(floor: FloorPlan, line: OrderLine) -> bool:
    """Voiding a sent line worth more than the floor plan's threshold needs a manager."""
    return line.line_total > floor.void_approval_threshold


def void_line(conn: sqlite3.Connection, order_id: str, line_id: str, reason: str, *,
              menu: MenuCache, principal: Principal, now: datetime,
              approved_by: str | None = None,
              idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Void a sent line: it stays on the bill for the record (state "voided", the reason, who
    voided or approved it) and leaves its money; the kitchen gets a void chit. 403 without a
    manager's approval (``approved_by``) above the threshold; 409 for a held line (delete
    it) or one already voided."""
    fingerprint = _fingerprint("void", order_id, line_id, reason)
    replayed = _replayed(conn, principal, idempotency_key, "void", fingerprint)
    if replayed is not None:
        return replayed, False
    require(principal, "orders:void")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("a void needs a reason", details={"field": "reason"})
    order = _open(conn, order_id, items=True)
    at, line = _line(order, line_id)
    if line.state != "sent":
        raise InvalidState("the line is already voided" if line.state == "voided"
                           else "the line was not sent yet: delete it instead",
                           details={"line_id": line_id, "state": line.state})
    floor = tables.floor_plan(conn)
    if needs_manager(floor, line) and approved_by is None:
        raise Forbidden("voiding this line needs a manager's approval",
                        details={"permission": "orders:void_paid", "approval": "manager",
                                 "threshold": floor.void_approval_threshold})
    voided = msgspec.structs.replace(line, state="voided", void_reason=reason,
                                     voided_by=approved_by or principal.staff_id)
    lines = list(order.lines)
    lines[at] = voided
    amended = _priced(msgspec.structs.replace(order, lines=lines,
                                              discount=max(0, order.discount - line.discount)),
                      menu.get(conn).tax, floor)
    saved = save(conn, amended, now)
    kitchen.withdraw_line(conn, saved, voided, now)
    _remember(conn, principal, idempotency_key, "void", fingerprint, saved.id, now)
    return saved, True


def request_bill(conn: sqlite3.Connection, order_id: str, *, now: datetime) -> Order:
    """The guests ask for the bill (the table shows bill_requested); asking again changes
    nothing."""
    order = _open(conn, order_id)
    if order.bill_requested_at is not None:
        return order
    return save(conn, msgspec.structs.replace(order, bill_requested_at=now), now)


# ---------------------------------------------------------------- helpers


def _open(conn: sqlite3.Connection, order_id: str, revision: int | None = None,
          items: bool = False) -> Order:
    """The open dine-in bill; ``items``: its lines are about to change, which a part of a
    split bill refuses (its figures are a share of the bill it was split from, and its items
    are counted on that bill: shared/split.py, docs/table-service.md)."""
    order = orders.load_order(conn, order_id)
    if order.status not in orders.OPEN_STATES:
        raise InvalidState(f"a {order.status} bill cannot be changed",
                           details={"order_id": order.id, "status": order.status})
    if order.type != "dine_in":
        raise InvalidState("only a dine-in bill takes amendments",
                           details={"order_id": order.id, "type": order.type})
    if items and order.split_from is not None:
        raise InvalidState("this is a part of a split bill: its items cannot change; "
                           "pay it, or void it",
                           details={"order_id": order.id, "reason": "split_part",
                                    "split_from": order.split_from})
    if revision is not None and revision != order.revision:
        raise Conflict("the bill changed since you loaded it; reload and try again",
                       details={"order_id": order.id, "revision": order.revision,
                                "if_match": revision})
    return order


def _line(order: Order, line_id: str) -> tuple[int, OrderLine]:
    for at, line in enumerate(order.lines):
        if line.id == line_id:
            return at, line
    raise NotFound("no such line on this bill", details={"order_id": order.id, "line_id": line_id})


def _held_line(order: Order, line_id: str) -> tuple[int, OrderLine]:
    at, line = _line(order, line_id)
    if line.state != "held":
        raise InvalidState("the line was sent to the kitchen: only a held line can be changed"
                           " (void it instead)", details={"line_id": line_id, "state": line.state})
    return at, line
