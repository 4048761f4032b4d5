"""SQL for orders, their lines, payments, queue numbers and idempotency keys (of order
creation, of payments and of bill amendments). No rules here."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import msgspec

from shared.schemas import Order, Payment

__all__ = [
    "currency",
    "find_bill_idempotency_key",
    "find_idempotency_key",
    "find_payment_idempotency_key",
    "get_order",
    "insert_bill_idempotency_key",
    "insert_idempotency_key",
    "insert_order",
    "insert_payment",
    "insert_payment_idempotency_key",
    "list_orders",
    "next_number",
    "number_floor",
    "open_orders_at_tables",
    "prune_idempotency_keys",
    "replace_lines",
    "update_order",
]

_json = msgspec.json.Encoder()
_order = msgspec.json.Decoder(Order)


def next_number(conn: sqlite3.Connection, business_day: str) -> int:
    """The next queue number of a business day (1, 2, ...), taken in the caller's transaction."""
    row = conn.execute(
        "INSERT INTO order_numbers (business_day, last_number) VALUES (?, 1)"
        " ON CONFLICT (business_day) DO UPDATE SET last_number = last_number + 1"
        " RETURNING last_number", (business_day,)).fetchone()
    return int(row[0])


def number_floor(conn: sqlite3.Connection, business_day: str, floor: int) -> int:
    """Make the queue numbers of ``business_day`` continue above ``floor`` (and above this
    box's own counter); returns the last number now counted. A box taking over an outlet
    calls it with the hub's highest number of the day, so no number called out repeats."""
    row = conn.execute(
        "INSERT INTO order_numbers (business_day, last_number) VALUES (?, ?)"
        " ON CONFLICT (business_day) DO UPDATE SET last_number = max(last_number, excluded.last_number)"
        " RETURNING last_number", (business_day, max(0, floor))).fetchone()
    return int(row[0])


def insert_order(conn: sqlite3.Connection, order: Order, device_id: str | None,
                 staff_id: str | None) -> None:
    conn.execute(
        "INSERT INTO orders (id, number, business_day, type, status, total, paid, device_id, staff_id,"
        " created_at, updated_at, snapshot, table_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (order.id, order.number, order.business_day, order.type, order.status, order.total,
         order.paid, device_id, staff_id, order.created_at.isoformat(), order.updated_at.isoformat(),
         _json.encode(order).decode(), order.table_id))
    _insert_lines(conn, order)


def _insert_lines(conn: sqlite3.Connection, order: Order) -> None:
    conn.executemany(
        "INSERT INTO order_lines (id, order_id, position, product_id, name, qty, unit_price,"
        " line_total, station, modifiers, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(line.id, order.id, position, line.product_id, line.name, line.qty, line.unit_price,
          line.line_total, line.station, _json.encode(line.modifiers).decode(), line.note)
         for position, line in enumerate(order.lines)])


def update_order(conn: sqlite3.Connection, order: Order) -> None:
    conn.execute("UPDATE orders SET status = ?, paid = ?, total = ?, table_id = ?, updated_at = ?,"
                 " snapshot = ? WHERE id = ?",
                 (order.status, order.paid, order.total, order.table_id,
                  order.updated_at.isoformat(), _json.encode(order).decode(), order.id))


def replace_lines(conn: sqlite3.Connection, order: Order) -> None:
    """Rewrite the order's rows in ``order_lines`` (a bill's lines change after placement)."""
    conn.execute("DELETE FROM order_lines WHERE order_id = ?", (order.id,))
    _insert_lines(conn, order)


def open_orders_at_tables(conn: sqlite3.Connection, table_id: str | None = None) -> list[Order]:
    """Open orders (placed, in the kitchen, ready) at a table (any table: None), oldest first."""
    sql = ("SELECT snapshot FROM orders WHERE table_id IS NOT NULL"
           " AND status IN ('placed', 'in_kitchen', 'ready')")
    args: tuple[str, ...] = ()
    if table_id is not None:
        sql, args = sql + " AND table_id = ?", (table_id,)
    return [_order.decode(r[0]) for r in conn.execute(sql + " ORDER BY created_at, id", args)]


def currency(conn: sqlite3.Connection) -> str:
    """The catalog's currency (what a bill opened without lines is kept in)."""
    row = conn.execute("SELECT currency FROM catalog_meta WHERE id = 1").fetchone()
    return str(row[0]) if row else "IDR"


def get_order(conn: sqlite3.Connection, order_id: str) -> Order | None:
    row = conn.execute("SELECT snapshot FROM orders WHERE id = ?", (order_id,)).fetchone()
    return _order.decode(row[0]) if row else None


def list_orders(conn: sqlite3.Connection, statuses: tuple[str, ...] | None,
                business_day: str | None, limit: int, text: str | None = None,
                number: int | None = None) -> list[Order]:
    sql, args = "SELECT snapshot FROM orders WHERE 1 = 1", []
    if statuses:
        sql += f" AND status IN ({','.join('?' * len(statuses))})"
        args += list(statuses)
    if business_day:
        sql += " AND business_day = ?"
        args.append(business_day)
    if text:
        # The number, or part of the customer's or the table's name (case-insensitive, ASCII).
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql += (" AND (number = ? OR json_extract(snapshot, '$.customer_name') LIKE ? ESCAPE '\\'"
                " OR json_extract(snapshot, '$.table') LIKE ? ESCAPE '\\')")
        args += [number if number is not None else -1, like, like]
    sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
    args.append(limit)
    return [_order.decode(r[0]) for r in conn.execute(sql, args)]


def insert_payment(conn: sqlite3.Connection, payment: Payment, device_id: str | None) -> None:
    conn.execute(
        "INSERT INTO payments (id, order_id, method, amount, tendered, change, reference, shift_id,"
        " staff_id, device_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (payment.id, payment.order_id, payment.method, payment.amount, payment.tendered,
         payment.change, payment.reference, payment.shift_id, payment.staff_id, device_id,
         payment.created_at.isoformat()))


def find_idempotency_key(conn: sqlite3.Connection, device_id: str,
                         key: str) -> tuple[str, str] | None:
    row = conn.execute("SELECT request_hash, order_id FROM idempotency_keys WHERE device_id = ? AND key = ?",
                       (device_id, key)).fetchone()
    return (row[0], row[1]) if row else None


def insert_idempotency_key(conn: sqlite3.Connection, device_id: str, key: str, request_hash: str,
                           order_id: str, now: datetime) -> None:
    conn.execute("INSERT INTO idempotency_keys (device_id, key, request_hash, order_id, created_at)"
                 " VALUES (?, ?, ?, ?, ?)", (device_id, key, request_hash, order_id, now.isoformat()))




def find_payment_idempotency_key(conn: sqlite3.Connection, device_id: str,
                                 key: str) -> tuple[str, str, str] | None:
    """(request_hash, order_id, payment_id) of a payment key this device already used."""
    row = conn.execute("SELECT request_hash, order_id, payment_id FROM payment_idempotency_keys"
                       " WHERE device_id = ? AND key = ?", (device_id, key)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def insert_payment_idempotency_key(conn: sqlite3.Connection, device_id: str, key: str,
                                   request_hash: str, order_id: str, payment_id: str,
                                   now: datetime) -> None:
    conn.execute("INSERT INTO payment_idempotency_keys (device_id, key, request_hash, order_id,"
                 " payment_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (device_id, key, request_hash, order_id, payment_id, now.isoformat()))


def find_bill_idempotency_key(conn: sqlite3.Connection, device_id: str,
                              key: str) -> tuple[str, str, str] | None:
    """(action, request_hash, order_id) of a bill amendment key this device already used."""
    row = conn.execute("SELECT action, request_hash, order_id FROM bill_idempotency_keys"
                       " WHERE device_id = ? AND key = ?", (device_id, key)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def insert_bill_idempotency_key(conn: sqlite3.Connection, device_id: str, key: str, action: str,
                                request_hash: str, order_id: str, now: datetime) -> None:
    conn.execute("INSERT INTO bill_idempotency_keys (device_id, key, action, request_hash,"
                 " order_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (device_id, key, action, request_hash, order_id, now.isoformat()))


def prune_idempotency_keys(conn: sqlite3.Connection, older_than: datetime) -> int:
    """Delete order, payment and bill amendment idempotency keys created before ``older_than``."""
    cutoff = older_than.isoformat()
    return sum(conn.execute(f"DELETE FROM {table} WHERE created_at < ?", (cutoff,)).rowcount
               for table in ("idempotency_keys", "payment_idempotency_keys",
                             "bill_idempotency_keys"))
