"""SQL for payment attempts and their idempotency keys. No rules here."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from shared.schemas import PaymentAttempt

__all__ = ["AttemptRow", "due_for_poll", "find_key", "for_order", "get", "get_by_gateway_order",
           "insert", "insert_key", "prune_keys", "update"]


class AttemptRow:
    """A stored attempt: the wire PaymentAttempt plus what only the edge keeps."""

    __slots__ = ("attempt", "device_id", "gateway_ref", "next_poll_at", "polls", "staff_id",
                 "transaction_id")

    def __init__(self, attempt: PaymentAttempt, *, gateway_ref: str = "", transaction_id: str = "",
                 device_id: str | None = None, staff_id: str | None = None,
                 next_poll_at: str = "", polls: int = 0) -> None:
        self.attempt = attempt
        self.gateway_ref = gateway_ref
        self.transaction_id = transaction_id
        self.device_id = device_id
        self.staff_id = staff_id
        self.next_poll_at = next_poll_at
        self.polls = polls


def _row(r: sqlite3.Row) -> AttemptRow:
    attempt = PaymentAttempt(
        id=r["id"], order_id=r["order_id"], method=r["method"], channel=r["channel"],
        gateway=r["gateway"], gateway_order_id=r["gateway_order_id"], amount=r["amount"],
        status=r["status"], qr_string=r["qr_string"],
        expires_at=datetime.fromisoformat(r["expires_at"]),
        created_at=datetime.fromisoformat(r["created_at"]),
        updated_at=datetime.fromisoformat(r["updated_at"]), payment_id=r["payment_id"],
        late=bool(r["late"]))
    return AttemptRow(attempt, gateway_ref=r["gateway_ref"], transaction_id=r["transaction_id"],
                      device_id=r["device_id"], staff_id=r["staff_id"],
                      next_poll_at=r["next_poll_at"], polls=r["polls"])


def _values(row: AttemptRow) -> dict[str, Any]:
    a = row.attempt
    return {"id": a.id, "order_id": a.order_id, "method": a.method, "channel": a.channel,
            "gateway": a.gateway, "gateway_order_id": a.gateway_order_id,
            "gateway_ref": row.gateway_ref, "amount": a.amount, "status": a.status,
            "qr_string": a.qr_string, "expires_at": a.expires_at.isoformat(),
            "created_at": a.created_at.isoformat(), "updated_at": a.updated_at.isoformat(),
            "payment_id": a.payment_id, "transaction_id": row.transaction_id,
            "late": int(a.late), "device_id": row.device_id, "staff_id": row.staff_id,
            "next_poll_at": row.next_poll_at, "polls": row.polls}


def insert(conn: sqlite3.Connection, row: AttemptRow) -> None:
    values = _values(row)
    conn.execute(f"INSERT INTO payment_attempts ({', '.join(values)})"
                 f" VALUES ({', '.join('?' * len(values))})", list(values.values()))


def update(conn: sqlite3.Connection, row: AttemptRow) -> None:
    values = _values(row)
    attempt_id = values.pop("id")
    conn.execute(f"UPDATE payment_attempts SET {', '.join(f'{k} = ?' for k in values)}"
                 " WHERE id = ?", [*values.values(), attempt_id])


def get(conn: sqlite3.Connection, attempt_id: str) -> AttemptRow | None:
    r = conn.execute("SELECT * FROM payment_attempts WHERE id = ?", (attempt_id,)).fetchone()
    return _row(r) if r else None


def get_by_gateway_order(conn: sqlite3.Connection, gateway_order_id: str) -> AttemptRow | None:
    r = conn.execute("SELECT * FROM payment_attempts WHERE gateway_order_id = ?",
                     (gateway_order_id,)).fetchone()
    return _row(r) if r else None


def for_order(conn: sqlite3.Connection, order_id: str) -> list[AttemptRow]:
    return [_row(r) for r in conn.execute(
        "SELECT * FROM payment_attempts WHERE order_id = ? ORDER BY created_at, id", (order_id,))]


def due_for_poll(conn: sqlite3.Connection, now: datetime, limit: int) -> list[AttemptRow]:
    """Pending gateway attempts whose next poll is due, the longest-waiting first."""
    return [_row(r) for r in conn.execute(
        "SELECT * FROM payment_attempts WHERE status = 'pending' AND gateway != 'static'"
        " AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ?", (now.isoformat(), limit))]


def expired_static(conn: sqlite3.Connection, now: datetime, limit: int) -> list[AttemptRow]:
    return [_row(r) for r in conn.execute(
        "SELECT * FROM payment_attempts WHERE status = 'pending' AND gateway = 'static'"
        " AND expires_at <= ? LIMIT ?", (now.isoformat(), limit))]


def find_key(conn: sqlite3.Connection, device_id: str, key: str) -> tuple[str, str] | None:
    r = conn.execute("SELECT request_hash, attempt_id FROM payment_attempt_keys"
                     " WHERE device_id = ? AND key = ?", (device_id, key)).fetchone()
    return (r[0], r[1]) if r else None


def prune_keys(conn: sqlite3.Connection, older_than: datetime) -> int:
    return conn.execute("DELETE FROM payment_attempt_keys WHERE created_at < ?",
                        (older_than.isoformat(),)).rowcount


def insert_key(conn: sqlite3.Connection, device_id: str, key: str, request_hash: str,
               attempt_id: str, now: datetime) -> None:
    conn.execute("INSERT INTO payment_attempt_keys (device_id, key, request_hash, attempt_id,"
                 " created_at) VALUES (?, ?, ?, ?, ?)",
                 (device_id, key, request_hash, attempt_id, now.isoformat()))
