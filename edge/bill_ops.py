"""Split, move and merge of open bills at a table (docs/table-service.md, "Split, move and
merge").

* ``split``: a bill becomes "split" and closes into 2..20 parts, by item (the caller lists
  every line's part), by seat, or evenly in N. The parts are new orders (new ids, numbers and
  line ids, ``split_from``/``split_part``); their money is the parent's, allocated by
  ``shared.split`` so that every figure of the parts adds up to the parent's to the rupiah.
  The parent keeps its lines and figures for the record (``split_into``) and is not a sale.
* ``move``: a party moves to a free table (the bill and its open sibling parts together).
* ``merge``: this bill takes another's lines; the other becomes "merged" (no lines, zeros).
* ``move_lines``: lines go from this bill to another one.

Lines that move get new ids (the hub keys lines by id) and keep their kitchen state: what
was sent stays sent (no new ticket), held lines stay held on the receiving bill. Bills that
gain or lose lines are re-priced by ``edge.bills.reprice`` and stored by ``edge.bills.save``
(revision, outbox OrderEvent with the full snapshot, live events ``orders`` and ``tables``).

Refused with 409 ``invalid_state``: a bill that is not open, not at a table, or has money on
it (payments) for a split, a merge away or lines moved out; a part of a split bill for
anything but a move (its figures are an allocation of its parent's); a merge of a bill into
itself; a move to a table that has an open bill. Lines not on the bill: 400 naming them.

Every operation runs in the caller's write transaction with an optional Idempotency-Key per
device (table ``bill_idempotency_keys``): a replay returns the bills as they are now and
changes nothing; the same key for another request is a 409 ``idempotency_conflict``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from edge import bills, tables
from edge import orders_repository as repo
from edge.auth import Principal
from edge.catalog import MenuCache
from edge.orders import OPEN_STATES, load_order
from edge.outlet import OutletInfo, business_day
from shared.errors import IdempotencyConflict, InvalidState, ValidationFailed
from shared.ids import new_id
from shared.money import MAX_AMOUNT
from shared.schemas import Id, InputStruct, Order, OrderLine
from shared.split import (
    MAX_PARTS,
    MIN_PARTS,
    Figures,
    largest_remainder,
    part_label,
    split_by_subtotals,
    split_even,
)
from shared.split import problems as split_problems

__all__ = ["SHARE_PRODUCT", "BillMerge", "BillMove", "BillSplit", "LinesMove", "SplitPart",
           "merge", "move", "move_lines", "split"]

SHARE_PRODUCT = "split-share"  # product id of an even split's one line per part
MAX_LINE_IDS = 500
LineIds = Annotated[list[Id], Meta(min_length=1, max_length=MAX_LINE_IDS)]


class SplitPart(InputStruct):
    line_ids: LineIds


class BillSplit(InputStruct):
    """Exactly one of: ``parts`` (by item: every line of the bill in exactly one part; voided
    lines may be left out), ``by: "seat"``, ``even: n``."""

    parts: Annotated[list[SplitPart], Meta(min_length=MIN_PARTS, max_length=MAX_PARTS)] | None = None
    by: Literal["seat"] | None = None
    even: Annotated[int, Meta(ge=MIN_PARTS, le=MAX_PARTS)] | None = None


class BillMove(InputStruct):
    table_id: Id


class BillMerge(InputStruct):
    order_id: Id


class LinesMove(InputStruct):
    line_ids: LineIds
    to_order_id: Id


_canonical = msgspec.json.Encoder(order="sorted")


# ---------------------------------------------------------------- idempotency


def _fingerprint(action: str, order_id: str, body: msgspec.Struct) -> str:
    return hashlib.sha256(_canonical.encode([action, order_id, body])).hexdigest()


def _replayed(conn: sqlite3.Connection, principal: Principal, key: str | None, action: str,
              order_id: str, fingerprint: str) -> bool:
    """True when this device already did exactly this with this key; 409 for another request
    under the same key."""
    if not key:
        return False
    seen = repo.find_bill_idempotency_key(conn, principal.device_id, key)
    if seen is None:
        return False
    seen_action, seen_hash, seen_order = seen
    if (seen_action, seen_hash, seen_order) != (action, fingerprint, order_id):
        raise IdempotencyConflict("this Idempotency-Key was already used for another request",
                                  details={"idempotency_key": key, "action": seen_action,
                                           "order_id": seen_order})
    return True


def _remember(conn: sqlite3.Connection, principal: Principal, key: str | None, action: str,
              order_id: str, fingerprint: str, now: datetime) -> None:
    if key:
        repo.insert_bill_idempotency_key(conn, principal.device_id, key, action, fingerprint,
                                         order_id, now)


# ---------------------------------------------------------------- checks


def _open_bill(conn: sqlite3.Connection, order_id: str, doing: str) -> Order:
    order = load_order(conn, order_id)
    if order.status not in OPEN_STATES:
        raise InvalidState(f"a {order.status} bill cannot be {doing}",
                           details={"order_id": order.id, "status": order.status})
    if order.table_id is None:
        raise InvalidState(f"only a bill at a table can be {doing}",
                           details={"order_id": order.id, "reason": "not_at_table"})
    return order


def _no_money(order: Order, doing: str) -> None:
    if order.paid > 0 or order.payments or order.refunded:
        raise InvalidState(f"a bill with payments cannot be {doing}: pay its parts instead",
                           details={"order_id": order.id, "paid": order.paid,
                                    "reason": "has_payments"})


def _not_a_part(order: Order, doing: str) -> None:
    if order.split_from is not None:
        raise InvalidState(f"a part of a split bill cannot be {doing}",
                           details={"order_id": order.id, "split_from": order.split_from,
                                    "reason": "split_part"})


def _check_lines(order: Order, line_ids: Sequence[str]) -> None:
    """400 naming ids that are not lines of the bill, or are named twice."""
    on_bill = {line.id for line in order.lines}
    unknown = sorted({i for i in line_ids if i not in on_bill})
    if unknown:
        raise ValidationFailed("these lines are not on the bill",
                               details={"field": "line_ids", "order_id": order.id,
                                        "line_ids": unknown})
    twice = sorted({i for i in line_ids if line_ids.count(i) > 1})
    if twice:
        raise ValidationFailed("a line is named more than once",
                               details={"field": "line_ids", "line_ids": twice})


def _renewed(line: OrderLine) -> OrderLine:
    """The line under a new id (the hub keys lines by id), kitchen state and all kept."""
    return msgspec.structs.replace(line, id=new_id())


def _pricing(conn: sqlite3.Connection, menu: MenuCache, order: Order) -> Order:
    """The bill re-priced (edge.bills.reprice); 400 when it would outgrow any amount."""
    priced = bills.reprice(order, tax=menu.get(conn).tax, floor=tables.floor_plan(conn))
    if max(priced.subtotal, priced.total) > MAX_AMOUNT:
        raise ValidationFailed("the bill's total is larger than any amount the POS can hold",
                               details={"order_id": order.id, "total": priced.total,
                                        "max": MAX_AMOUNT})
    return priced


# ---------------------------------------------------------------- split


def split(conn: sqlite3.Connection, order_id: str, data: BillSplit, *, outlet: OutletInfo,
          menu: MenuCache, principal: Principal, now: datetime,
          idempotency_key: str | None = None) -> tuple[list[Order], bool]:
    """Split an open bill into parts; return them and whether they are new (False: replay)."""
    fingerprint = _fingerprint("split", order_id, data)
    if _replayed(conn, principal, idempotency_key, "split", order_id, fingerprint):
        parent = load_order(conn, order_id)
        return [load_order(conn, part_id) for part_id in parent.split_into], False
    chosen = [data.parts is not None, data.by is not None, data.even is not None]
    if sum(chosen) != 1:
        raise ValidationFailed("give exactly one of parts, by or even",
                               details={"field": None})
    parent = _open_bill(conn, order_id, "split")
    _not_a_part(parent, "split again")
    _no_money(parent, "split")
    figures = Figures(subtotal=parent.subtotal, discount=parent.discount,
                      service_charge=parent.service_charge, tax=parent.tax,
                      rounding=parent.rounding, total=parent.total)
    if data.even is not None:
        if parent.total < data.even:
            raise InvalidState(f"a bill of {parent.total} cannot be split in {data.even}",
                               details={"order_id": parent.id, "total": parent.total})
        unit = menu.get(conn).tax.rounding_unit
        shares = _checked(figures, lambda: split_even(figures, data.even or 0, unit))
        n = len(shares)
        groups: list[list[OrderLine]] = [
            [OrderLine(id=new_id(), product_id=SHARE_PRODUCT,
                       name=f"Bagian {part_label(k, n)} · #{parent.number}", qty=1,
                       unit_price=share.subtotal, line_total=share.subtotal, state="sent",
                       added_at=now)]
            for k, share in enumerate(shares, 1)]
    else:
        groups = _groups_by_item(parent, data) if data.parts is not None else _groups_by_seat(parent)
        on_bill = [[line for line in group if line.state != "voided"] for group in groups]
        shares = _checked(figures, lambda: split_by_subtotals(
            figures, [sum(line.line_total for line in g) for g in on_bill],
            [sum(line.discount for line in g) for g in on_bill]))
        groups = [[_renewed(line) for line in group] for group in groups]
    parts = _make_parts(conn, parent, groups, shares, outlet=outlet, principal=principal, now=now)
    bills.save(conn, msgspec.structs.replace(parent, status="split",
                                             split_into=[p.id for p in parts]), now)
    _remember(conn, principal, idempotency_key, "split", parent.id, fingerprint, now)
    return parts, True


def _checked(parent: Figures, allocate: Callable[[], list[Figures]]) -> list[Figures]:
    """Run the allocation; a bill whose figures do not add up is refused (409), and the
    allocation is checked once more before anything is stored."""
    try:
        shares: list[Figures] = allocate()
    except ValueError as exc:
        raise InvalidState(f"the bill cannot be split: {exc}",
                           details={"reason": "figures"}) from None
    found = split_problems(parent, shares)
    if found:  # never expected: shared.split promises these; refuse rather than store
        raise InvalidState("the split does not add up", details={"problems": found[:10]})
    return shares


def _groups_by_item(parent: Order, data: BillSplit) -> list[list[OrderLine]]:
    asked = [line_id for part in data.parts or [] for line_id in part.line_ids]
    _check_lines(parent, asked)
    missing = [line.id for line in parent.lines
               if line.state != "voided" and line.id not in set(asked)]
    if missing:
        raise ValidationFailed("every line of the bill must be in a part",
                               details={"field": "parts", "missing_line_ids": missing})
    by_id = {line.id: line for line in parent.lines}
    groups = [[by_id[i] for i in part.line_ids] for part in data.parts or []]
    empty = [k for k, g in enumerate(groups, 1) if all(line.state == "voided" for line in g)]
    if empty:
        raise ValidationFailed("a part needs a line that is not voided",
                               details={"field": "parts", "parts": empty})
    return groups


def _groups_by_seat(parent: Order) -> list[list[OrderLine]]:
    """One part per seat in seat order, the table's shared lines (seat 0) last."""
    seats: dict[int, list[OrderLine]] = {}
    for line in parent.lines:
        if line.state != "voided":
            seats.setdefault(line.seat, []).append(line)
    order = sorted(seats, key=lambda seat: (seat == 0, seat))
    if len(order) < MIN_PARTS:
        raise InvalidState("the bill's lines are all on one seat: nothing to split by seat",
                           details={"order_id": parent.id, "reason": "one_seat"})
    if len(order) > MAX_PARTS:
        raise InvalidState(f"a bill splits into at most {MAX_PARTS} parts",
                           details={"order_id": parent.id, "seats": len(order)})
    return [seats[seat] for seat in order]


def _make_parts(conn: sqlite3.Connection, parent: Order, groups: list[list[OrderLine]],
                shares: list[Figures], *, outlet: OutletInfo, principal: Principal,
                now: datetime) -> list[Order]:
    n = len(groups)
    day = business_day(outlet, now)
    covers = largest_remainder(parent.covers, [1] * n)
    parts = []
    for k, (lines, share, guests) in enumerate(zip(groups, shares, covers), 1):
        part = msgspec.structs.replace(
            parent, id=new_id(), number=repo.next_number(conn, day), business_day=day,
            lines=lines, subtotal=share.subtotal, discount=share.discount,
            service_charge=share.service_charge, tax=share.tax, rounding=share.rounding,
            total=share.total, paid=0, payments=[], refunded=0, covers=guests,
            created_at=now, updated_at=now, source=principal.device_name, revision=0,
            split_from=parent.id, split_part=part_label(k, n), split_into=[],
            merged_into=None, void_reason="", void_approved_by=None)
        repo.insert_order(conn, part, principal.device_id, principal.staff_id)
        parts.append(bills.save(conn, part, now))
    return parts


# ---------------------------------------------------------------- move a party


def move(conn: sqlite3.Connection, order_id: str, data: BillMove, *, principal: Principal,
         now: datetime, idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Move the party of this bill to another table: the bill and its open sibling parts at
    the same table go together. 404 for a table not on the plan, 409 when it has an open
    bill; the same table: nothing changes."""
    fingerprint = _fingerprint("move", order_id, data)
    if _replayed(conn, principal, idempotency_key, "move", order_id, fingerprint):
        return load_order(conn, order_id), False
    order = _open_bill(conn, order_id, "moved")
    if order.table_id == data.table_id:
        _remember(conn, principal, idempotency_key, "move", order.id, fingerprint, now)
        return order, True
    table = tables.require_table(conn, data.table_id)
    busy = tables.open_bills(conn, table.id)
    if busy:
        raise InvalidState("the table has an open bill",
                           details={"table_id": table.id, "order_ids": [o.id for o in busy],
                                    "reason": "table_busy"})
    source = order.table_id
    party = [order]
    if order.split_from is not None:
        party += [o for o in tables.open_bills(conn, source or "")
                  if o.split_from == order.split_from and o.id != order.id]
    tables.seated(conn, table.id, now)
    moved = [bills.save(conn, msgspec.structs.replace(o, table_id=table.id, table=table.name), now)
             for o in party]
    if source is not None:
        tables.publish_table(conn, source, now)
    _remember(conn, principal, idempotency_key, "move", order.id, fingerprint, now)
    return moved[0], True


# ---------------------------------------------------------------- merge, move lines


def merge(conn: sqlite3.Connection, order_id: str, data: BillMerge, *, menu: MenuCache,
          principal: Principal, now: datetime,
          idempotency_key: str | None = None) -> tuple[Order, bool]:
    """This bill receives every line of ``data.order_id`` (and its guests); that bill becomes
    "merged" with no lines and zero figures."""
    fingerprint = _fingerprint("merge", order_id, data)
    if _replayed(conn, principal, idempotency_key, "merge", order_id, fingerprint):
        return load_order(conn, order_id), False
    if data.order_id == order_id:
        raise InvalidState("a bill cannot be merged into itself",
                           details={"order_id": order_id, "reason": "same_bill"})
    into = _open_bill(conn, order_id, "merged into")
    other = _open_bill(conn, data.order_id, "merged")
    for bill in (into, other):
        _not_a_part(bill, "merged")
    _no_money(other, "merged away")
    _no_order_discount(other, "merged away")
    # the other bill's discount is its lines' own (_no_order_discount): it comes along
    received = _pricing(conn, menu, msgspec.structs.replace(
        into, lines=[*into.lines, *(_renewed(line) for line in other.lines)],
        discount=into.discount + other.discount, covers=min(99, into.covers + other.covers)))
    gone = msgspec.structs.replace(
        other, status="merged", merged_into=into.id, lines=[], subtotal=0, discount=0,
        service_charge=0, tax=0, rounding=0, total=0, discount_reason="",
        discount_approved_by=None)
    bills.save(conn, gone, now)
    saved = bills.save(conn, received, now)
    if other.table_id is not None and other.table_id != into.table_id:
        tables.publish_table(conn, other.table_id, now)
    _remember(conn, principal, idempotency_key, "merge", into.id, fingerprint, now)
    return saved, True


def move_lines(conn: sqlite3.Connection, order_id: str, data: LinesMove, *, menu: MenuCache,
               principal: Principal, now: datetime,
               idempotency_key: str | None = None) -> tuple[Order, Order, bool]:
    """Move lines of this bill to ``data.to_order_id``; both are re-priced. Returns (from,
    to, new)."""
    fingerprint = _fingerprint("move-lines", order_id, data)
    if _replayed(conn, principal, idempotency_key, "move-lines", order_id, fingerprint):
        return load_order(conn, order_id), load_order(conn, data.to_order_id), False
    if data.to_order_id == order_id:
        raise InvalidState("lines cannot move to the bill they are on",
                           details={"order_id": order_id, "reason": "same_bill"})
    source = _open_bill(conn, order_id, "changed")
    target = _open_bill(conn, data.to_order_id, "changed")
    for bill in (source, target):
        _not_a_part(bill, "changed")
    _no_money(source, "left without items")
    _no_order_discount(source, "left without items")
    _check_lines(source, data.line_ids)
    leaving = set(data.line_ids)
    kept = [line for line in source.lines if line.id not in leaving]
    moving = [_renewed(line) for line in source.lines if line.id in leaving]
    carried = sum(line.discount for line in moving if line.state != "voided")
    sent = _pricing(conn, menu, msgspec.structs.replace(
        source, lines=kept, discount=max(0, source.discount - carried)))
    received = _pricing(conn, menu, msgspec.structs.replace(
        target, lines=[*target.lines, *moving], discount=target.discount + carried))
    saved_from = bills.save(conn, sent, now)
    saved_to = bills.save(conn, received, now)
    _remember(conn, principal, idempotency_key, "move-lines", source.id, fingerprint, now)
    return saved_from, saved_to, True


def _no_order_discount(order: Order, doing: str) -> None:
    """A discount given on the whole bill belongs to that bill: moving its lines away would
    lose or misplace it (a line's own discount travels with the line)."""
    own = sum(line.discount for line in order.lines if line.state != "voided")
    if order.discount > own:
        raise InvalidState(f"a bill with a discount on the whole bill cannot be {doing}:"
                           " remove the discount first",
                           details={"order_id": order.id, "discount": order.discount,
                                    "reason": "order_discount"})
