"""SQL for shifts and cash movements (migration 0005), plus the shift's sales figures read
from the payments and orders tables (payments carry the ``shift_id`` they were taken in)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import msgspec

from shared.schemas import CashMovement, Shift, ShiftReport, json_encoder

__all__ = [
    "close_shift",
    "get_shift",
    "insert_movement",
    "insert_shift",
    "movements",
    "open_shift_of_device",
    "payment_totals",
    "store_z_report",
    "voided_paid_orders",
    "z_report",
]

_report_decoder = msgspec.json.Decoder(ShiftReport)
_SHIFT_COLUMNS = ("id, outlet_id, device_id, opened_by, opened_at, opening_float, closed_by,"
                  " closed_at, counted_cash, expected_cash, difference")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _shift(row: sqlite3.Row) -> Shift:
    return Shift(
        id=row["id"], outlet_id=row["outlet_id"], device_id=row["device_id"],
        opened_by=row["opened_by"], opened_at=datetime.fromisoformat(row["opened_at"]),
        opening_float=row["opening_float"], closed_by=row["closed_by"],
        closed_at=_dt(row["closed_at"]), counted_cash=row["counted_cash"],
        expected_cash=row["expected_cash"], difference=row["difference"],
    )


def insert_shift(conn: sqlite3.Connection, shift: Shift) -> None:
    conn.execute(
        f"INSERT INTO shifts ({_SHIFT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL)",
        (shift.id, shift.outlet_id, shift.device_id, shift.opened_by,
         shift.opened_at.isoformat(), shift.opening_float),
    )


def get_shift(conn: sqlite3.Connection, shift_id: str) -> Shift | None:
    row = conn.execute(f"SELECT {_SHIFT_COLUMNS} FROM shifts WHERE id = ?", (shift_id,)).fetchone()
    return _shift(row) if row else None


def open_shift_of_device(conn: sqlite3.Connection, device_id: str) -> Shift | None:
    row = conn.execute(f"SELECT {_SHIFT_COLUMNS} FROM shifts WHERE device_id = ? AND closed_at IS NULL",
                       (device_id,)).fetchone()
    return _shift(row) if row else None


def close_shift(conn: sqlite3.Connection, shift: Shift) -> None:
    conn.execute(
        "UPDATE shifts SET closed_by = ?, closed_at = ?, counted_cash = ?, expected_cash = ?,"
        " difference = ? WHERE id = ? AND closed_at IS NULL",
        (shift.closed_by, shift.closed_at.isoformat() if shift.closed_at else None,
         shift.counted_cash, shift.expected_cash, shift.difference, shift.id),
    )


def store_z_report(conn: sqlite3.Connection, shift_id: str, report: ShiftReport) -> None:
    # Written in the same statement batch as the close, before the row becomes immutable:
    # the trigger only guards rows whose closed_at was already set.
    conn.execute("UPDATE shifts SET z_report = ? WHERE id = ? AND z_report IS NULL",
                 (json_encoder.encode(report).decode(), shift_id))


def z_report(conn: sqlite3.Connection, shift_id: str) -> ShiftReport | None:
    row = conn.execute("SELECT z_report FROM shifts WHERE id = ?", (shift_id,)).fetchone()
    return _report_decoder.decode(row[0]) if row and row[0] else None


def insert_movement(conn: sqlite3.Connection, movement: CashMovement) -> None:
    conn.execute(
        "INSERT INTO cash_movements (id, shift_id, direction, amount, reason, staff_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (movement.id, movement.shift_id, movement.direction, movement.amount, movement.reason,
         movement.staff_id, movement.created_at.isoformat()),
    )


def movements(conn: sqlite3.Connection, shift_id: str) -> list[CashMovement]:
    return [
        CashMovement(id=r["id"], shift_id=r["shift_id"], direction=r["direction"],
                     amount=r["amount"], reason=r["reason"], staff_id=r["staff_id"],
                     created_at=datetime.fromisoformat(r["created_at"]))
        for r in conn.execute(
            "SELECT * FROM cash_movements WHERE shift_id = ? ORDER BY created_at, id", (shift_id,))
    ]


def payment_totals(conn: sqlite3.Connection, shift_id: str) -> list[dict[str, Any]]:
    """Per payment method: amount covered and orders paid, for orders not voided."""
    return [dict(r) for r in conn.execute(
        "SELECT p.method AS method, SUM(p.amount) AS amount, COUNT(DISTINCT p.order_id) AS orders"
        " FROM payments p JOIN orders o ON o.id = p.order_id"
        " WHERE p.shift_id = ? AND o.status NOT IN ('voided', 'cancelled')"
        " GROUP BY p.method ORDER BY p.method", (shift_id,))]


def paid_order_count(conn: sqlite3.Connection, shift_id: str) -> int:
    row = conn.execute(
        "SELECT COUNT(DISTINCT p.order_id) FROM payments p JOIN orders o ON o.id = p.order_id"
        " WHERE p.shift_id = ? AND o.status NOT IN ('voided', 'cancelled')", (shift_id,)).fetchone()
    return int(row[0])


def voided_paid_orders(conn: sqlite3.Connection, shift_id: str) -> dict[str, int]:
    """Orders paid in this shift and later voided: count, their value, and the cash returned."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT p.order_id) AS count, COALESCE(SUM(p.amount), 0) AS amount,"
        " COALESCE(SUM(CASE WHEN p.method = 'cash' THEN p.amount ELSE 0 END), 0) AS cash"
        " FROM payments p JOIN orders o ON o.id = p.order_id"
        " WHERE p.shift_id = ? AND o.status IN ('voided', 'cancelled')", (shift_id,)).fetchone()
    return {"count": int(row["count"]), "amount": int(row["amount"]), "cash": int(row["cash"])}
