"""Cashier shifts and the cash drawer: open with a float, cash in/out, close with a count.

A shift belongs to one cashier device (its till): at most one is open per device. Payments
taken on the device while its shift is open carry the shift's id (the order service asks
``current_shift_id``), and the shift's figures are computed from them:

    expected cash = opening float + cash sales - cash refunds + cash in - cash out
    difference    = counted cash - expected cash

where cash sales are what cash payments covered (not what was tendered: the change went
back) and cash refunds the cash payments of orders voided afterwards plus the cash refunds
(edge.refunds) given from this till while the shift was open. The X report is these
figures while the shift is open; the Z report is computed once, at close, in the closing
transaction, and stored: it never changes afterwards. Every change appends a ShiftEvent or
CashMovementEvent to the outbox in the same transaction.

Every figure stays within the money bound (``shared.money.MAX_AMOUNT``): a payment or cash
movement that would push one past it is refused (400), since a shift whose expected cash no
reader can decode would break its report and its sync. A stored Z report that cannot be
decoded any more (written before that rule) is recomputed instead of failing.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import msgspec

from edge import outbox, refunds_repository
from edge import shifts_repository as repo
from shared.errors import Conflict, InvalidState, NotFound, ValidationFailed
from shared.ids import new_id
from shared.money import MAX_AMOUNT
from shared.schemas import (
    CashMovement,
    CashMovementCreate,
    CashMovementEvent,
    Shift,
    ShiftClose,
    ShiftEvent,
    ShiftOpen,
    ShiftReport,
)

__all__ = [
    "add_cash_movement",
    "check_payment_room",
    "close_shift",
    "current_shift",
    "current_shift_id",
    "get_shift",
    "open_shift",
    "report",
]


def open_shift(conn: sqlite3.Connection, data: ShiftOpen, *, outlet_id: str, device_id: str,
               staff_id: str, now: datetime) -> Shift:
    """Open a shift on a cashier device; 409 if the device already has one open."""
    existing = repo.open_shift_of_device(conn, device_id)
    if existing is not None:
        raise Conflict("this device already has an open shift",
                       details={"shift_id": existing.id, "opened_at": existing.opened_at.isoformat()})
    shift = Shift(id=new_id(), outlet_id=outlet_id, device_id=device_id, opened_by=staff_id,
                  opened_at=now, opening_float=data.opening_float)
    repo.insert_shift(conn, shift)
    outbox.append(conn, ShiftEvent(shift=shift), now)
    return shift


def current_shift(conn: sqlite3.Connection, device_id: str) -> Shift:
    shift = repo.open_shift_of_device(conn, device_id)
    if shift is None:
        raise NotFound("no open shift on this device", details={"device_id": device_id})
    return shift


def current_shift_id(conn: sqlite3.Connection, device_id: str) -> str | None:
    """The open shift a payment taken on ``device_id`` now belongs to (None if none is open)."""
    shift = repo.open_shift_of_device(conn, device_id)
    return shift.id if shift else None


def get_shift(conn: sqlite3.Connection, shift_id: str) -> Shift:
    shift = repo.get_shift(conn, shift_id)
    if shift is None:
        raise NotFound("no such shift", details={"shift_id": shift_id})
    return shift


def add_cash_movement(conn: sqlite3.Connection, shift_id: str, data: CashMovementCreate, *,
                      staff_id: str | None, now: datetime) -> CashMovement:
    """Record cash put into or taken out of the drawer (with its reason)."""
    shift = _open(conn, shift_id)
    figures = _figures(conn, shift)
    if data.direction == "out":
        available = figures["expected_cash"]
        if data.amount > available:
            raise ValidationFailed("cannot take out more cash than the drawer should hold",
                                   details={"amount": data.amount, "expected_cash": available,
                                            "reason": "drawer_short"})
        _refuse_past_bound(figures, cash_out=data.amount)
    else:
        _refuse_past_bound(figures, cash_in=data.amount, expected_cash=data.amount)
    movement = CashMovement(id=new_id(), shift_id=shift.id, direction=data.direction,
                            amount=data.amount, reason=data.reason.strip(), staff_id=staff_id,
                            created_at=now)
    repo.insert_movement(conn, movement)
    outbox.append(conn, CashMovementEvent(movement=movement), now)
    return movement


def close_shift(conn: sqlite3.Connection, shift_id: str, data: ShiftClose, *, staff_id: str,
                now: datetime) -> Shift:
    """Close with the counted cash; freezes expected cash, the difference and the Z report."""
    shift = _open(conn, shift_id)
    figures = _figures(conn, shift)
    closed = msgspec.structs.replace(
        shift, closed_by=staff_id, closed_at=now, counted_cash=data.counted_cash,
        expected_cash=figures["expected_cash"],
        difference=data.counted_cash - figures["expected_cash"],
    )
    z_report = _report(conn, closed, "Z", now, figures)
    repo.store_z_report(conn, shift.id, z_report)
    repo.close_shift(conn, closed)
    outbox.append(conn, ShiftEvent(shift=closed), now)
    return closed


def report(conn: sqlite3.Connection, shift_id: str, now: datetime) -> ShiftReport:
    """X report for an open shift (figures so far), the stored Z report for a closed one."""
    shift = get_shift(conn, shift_id)
    if shift.closed_at is not None:
        try:
            stored = repo.z_report(conn, shift_id)
        except msgspec.ValidationError:  # stored past the money bound by an older version
            return _report(conn, shift, "Z", shift.closed_at, _figures(conn, shift))
        if stored is None:  # closed by an older version that did not store it
            raise InvalidState("this shift has no stored Z report", details={"shift_id": shift_id})
        return stored
    return _report(conn, shift, "X", now, _figures(conn, shift))


def check_payment_room(conn: sqlite3.Connection, shift_id: str, method: str, amount: int) -> None:
    """Refuse (400) a payment that would take its shift's sales or cash past the money bound."""
    shift = get_shift(conn, shift_id)
    figures = _figures(conn, shift)
    if method == "cash":
        _refuse_past_bound(figures, gross_sales=amount, cash_sales=amount, expected_cash=amount)
    else:
        _refuse_past_bound(figures, gross_sales=amount)


# -- figures ---------------------------------------------------------------------------------


def _open(conn: sqlite3.Connection, shift_id: str) -> Shift:
    shift = get_shift(conn, shift_id)
    if shift.closed_at is not None:
        raise InvalidState("this shift is closed", details={"shift_id": shift_id})
    return shift


def _refuse_past_bound(figures: dict[str, int], **added: int) -> None:
    after = {name: figures[name] + amount for name, amount in added.items()}
    over = {name: value for name, value in after.items() if value > MAX_AMOUNT}
    if over:
        raise ValidationFailed("this would take the shift's figures past the largest amount the "
                               "POS can hold", details={**over, "max": MAX_AMOUNT})


def _figures(conn: sqlite3.Connection, shift: Shift) -> dict[str, int]:
    by_method = repo.payment_totals(conn, shift.id)
    voided = repo.voided_paid_orders(conn, shift.id)
    moves = repo.movements(conn, shift.id)
    cash_in = sum(m.amount for m in moves if m.direction == "in")
    cash_out = sum(m.amount for m in moves if m.direction == "out")
    # Cash sales count every cash payment of the shift, refunds take back those of orders
    # voided since: the drawer received the money and then paid it back out.
    cash_kept = sum(r["amount"] for r in by_method if r["method"] == "cash")
    cash_sales = cash_kept + voided["cash"]
    # ... and refunds of handed-over orders paid out of this drawer (their sale stays a sale)
    cash_refunds = voided["cash"] + refunds_repository.cash_refunded(conn, shift.id)
    expected = shift.opening_float + cash_sales - cash_refunds + cash_in - cash_out
    return {"cash_sales": cash_sales, "cash_refunds": cash_refunds, "cash_in": cash_in,
            "cash_out": cash_out, "expected_cash": expected,
            "gross_sales": sum(int(r["amount"]) for r in by_method)}


def _report(conn: sqlite3.Connection, shift: Shift, kind: str, now: datetime,
            figures: dict[str, int]) -> ShiftReport:
    by_method = repo.payment_totals(conn, shift.id)
    voided = repo.voided_paid_orders(conn, shift.id)
    return ShiftReport(
        kind=kind,  # type: ignore[arg-type]
        shift=shift, generated_at=now,
        sales_by_method={r["method"]: int(r["amount"]) for r in by_method},
        gross_sales=sum(int(r["amount"]) for r in by_method),
        order_count=repo.paid_order_count(conn, shift.id),
        void_count=voided["count"], void_amount=voided["amount"],
        cash_sales=figures["cash_sales"], cash_refunds=figures["cash_refunds"],
        cash_in=figures["cash_in"], cash_out=figures["cash_out"],
        movements=repo.movements(conn, shift.id),
        expected_cash=figures["expected_cash"],
        counted_cash=shift.counted_cash, difference=shift.difference,
    )
