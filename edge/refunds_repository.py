"""SQL for refunds and their idempotency keys (migration 0014). No rules here."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import msgspec

from shared.schemas import Refund

__all__ = ["cash_refunded", "find_key", "for_order", "get", "insert", "insert_key",
           "refunded_lines", "refunded_through", "update"]

_json = msgspec.json.Encoder()
_refund = msgspec.json.Decoder(Refund)


def insert(conn: sqlite3.Connection, refund: Refund, device_id: str | None) -> None:
    conn.execute(
        "INSERT INTO refunds (id, order_id, payment_id, method, amount, status, shift_id,"
        " device_id, created_at, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (refund.id, refund.order_id, refund.payment_id, refund.method, refund.amount,
         refund.status, refund.shift_id, device_id, refund.created_at.isoformat(),
         _json.encode(refund).decode()))


def update(conn: sqlite3.Connection, refund: Refund) -> None:
    conn.execute("UPDATE refunds SET status = ?, snapshot = ? WHERE id = ?",
                 (refund.status, _json.encode(refund).decode(), refund.id))


def get(conn: sqlite3.Connection, refund_id: str) -> Refund | None:
    row = conn.execute("SELECT snapshot FROM refunds WHERE id = ?", (refund_id,)).fetchone()
    return _refund.decode(row[0]) if row else None


def for_order(conn: sqlite3.Connection, order_id: str) -> list[Refund]:
    return [_refund.decode(r[0]) for r in conn.execute(
        "SELECT snapshot FROM refunds WHERE order_id = ? ORDER BY created_at, id", (order_id,))]


def refunded_lines(conn: sqlite3.Connection, order_id: str) -> dict[str, int]:
    """line id -> quantity refunded by the order's refunds that are not failed."""
    taken: dict[str, int] = {}
    for refund in for_order(conn, order_id):
        if refund.status != "failed":
            for line in refund.lines:
                taken[line.line_id] = taken.get(line.line_id, 0) + line.qty
    return taken


def refunded_through(conn: sqlite3.Connection, payment_id: str) -> int:
    """What refunds that are not failed give back through one payment."""
    row = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_id = ?"
                       " AND status != 'failed'", (payment_id,)).fetchone()
    return int(row[0])


def cash_refunded(conn: sqlite3.Connection, shift_id: str) -> int:
    """Cash the shift's drawer paid out for refunds."""
    row = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE shift_id = ?"
                       " AND method = 'cash' AND status = 'done'", (shift_id,)).fetchone()
    return int(row[0])


def find_key(conn: sqlite3.Connection, device_id: str, key: str) -> tuple[str, str, str] | None:
    """(request_hash, order_id, refund_id) of a refund key this device already used."""
    row = conn.execute("SELECT request_hash, order_id, refund_id FROM refund_idempotency_keys"
                       " WHERE device_id = ? AND key = ?", (device_id, key)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def insert_key(conn: sqlite3.Connection, device_id: str, key: str, request_hash: str,
               order_id: str, refund_id: str, now: datetime) -> None:
    conn.execute("INSERT INTO refund_idempotency_keys (device_id, key, request_hash, order_id,"
                 " refund_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (device_id, key, request_hash, order_id, refund_id, now.isoformat()))
