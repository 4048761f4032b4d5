"""SQL for kitchen tickets (table ``kitchen_tickets``, migration 0004).

Tickets are stored with their lines as JSON (a list of TicketLine) because a ticket is a
frozen copy of what a station must cook; only its status and bump time ever change.
Status ``withdrawn`` marks tickets of a voided order: kept for the record, never shown.
A bill's tickets also keep its table, round and course and the ids of the order lines they
carry (``line_ids``, migration 0015), so a voided line's ticket can be found.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import msgspec

from shared.schemas import KitchenTicket, TicketLine

__all__ = [
    "all_day_counts",
    "board_numbers",
    "catalog_names",
    "get_ticket",
    "insert_ticket",
    "last_bumped",
    "list_tickets",
    "set_status",
    "ticket_lines_of_order",
    "tickets_of_order",
]

_lines_decoder = msgspec.json.Decoder(list[TicketLine])
_ids_decoder = msgspec.json.Decoder(list[str])
_names_decoder = msgspec.json.Decoder(dict[str, str])
_encoder = msgspec.json.Encoder()

_COLUMNS = ("id, order_id, order_number, order_type, station, status, lines, note, created_at,"
            " bumped_at, table_name, round, course")


def _ticket(row: sqlite3.Row) -> KitchenTicket:
    return KitchenTicket(
        id=row["id"], order_id=row["order_id"], order_number=row["order_number"],
        order_type=row["order_type"], station=row["station"],
        # a withdrawn ticket is reported as it last stood for the cooks: not ready
        status="ready" if row["status"] == "ready" else "pending",
        lines=_lines_decoder.decode(row["lines"]), note=row["note"],
        created_at=datetime.fromisoformat(row["created_at"]),
        bumped_at=datetime.fromisoformat(row["bumped_at"]) if row["bumped_at"] else None,
        table=row["table_name"], round=row["round"], course=row["course"],
    )


def insert_ticket(conn: sqlite3.Connection, ticket: KitchenTicket, business_day: str,
                  line_ids: list[str] | None = None) -> None:
    conn.execute(
        f"INSERT INTO kitchen_tickets ({_COLUMNS}, business_day, updated_at, line_ids)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ticket.id, ticket.order_id, ticket.order_number, ticket.order_type, ticket.station,
         ticket.status, _encoder.encode(ticket.lines).decode(), ticket.note,
         ticket.created_at.isoformat(),
         ticket.bumped_at.isoformat() if ticket.bumped_at else None, ticket.table, ticket.round,
         ticket.course, business_day, ticket.created_at.isoformat(),
         _encoder.encode(line_ids or []).decode()),
    )


def ticket_lines_of_order(conn: sqlite3.Connection, order_id: str
                          ) -> list[tuple[KitchenTicket, str, list[str]]]:
    """Every ticket of the order with its stored status and the order line ids it carries."""
    rows = conn.execute(f"SELECT {_COLUMNS}, line_ids FROM kitchen_tickets WHERE order_id = ?"
                        " ORDER BY created_at, station", (order_id,))
    return [(_ticket(r), r["status"], _ids_decoder.decode(r["line_ids"])) for r in rows]


def get_ticket(conn: sqlite3.Connection, ticket_id: str) -> tuple[KitchenTicket, str] | None:
    """The ticket and its stored status (pending | ready | withdrawn)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM kitchen_tickets WHERE id = ?",
                       (ticket_id,)).fetchone()
    return (_ticket(row), row["status"]) if row else None


def tickets_of_order(conn: sqlite3.Connection, order_id: str,
                     include_withdrawn: bool = False) -> list[KitchenTicket]:
    sql = f"SELECT {_COLUMNS} FROM kitchen_tickets WHERE order_id = ?"
    if not include_withdrawn:
        sql += " AND status != 'withdrawn'"
    return [_ticket(r) for r in conn.execute(sql + " ORDER BY created_at, station", (order_id,))]


def list_tickets(conn: sqlite3.Connection, station: str | None, status: str | None,
                 limit: int, business_day: str) -> list[KitchenTicket]:
    """Tickets oldest first: every pending one, and the ready ones of ``business_day``."""
    # Ready tickets pile up all day, every day: only today's are anyone's business.
    sql = (f"SELECT {_COLUMNS} FROM kitchen_tickets WHERE status != 'withdrawn'"
           " AND (status = 'pending' OR business_day = ?)")
    args: list[Any] = [business_day]
    if status:
        sql += " AND status = ?"
        args.append(status)
    if station:
        sql += " AND station = ?"
        args.append(station)
    sql += " ORDER BY created_at, id LIMIT ?"
    args.append(limit)
    return [_ticket(r) for r in conn.execute(sql, args)]


def set_status(conn: sqlite3.Connection, ticket_id: str, status: str,
               bumped_at: datetime | None, now: datetime) -> None:
    conn.execute(
        "UPDATE kitchen_tickets SET status = ?, bumped_at = ?, updated_at = ? WHERE id = ?",
        (status, bumped_at.isoformat() if bumped_at else None, now.isoformat(), ticket_id),
    )


def last_bumped(conn: sqlite3.Connection, station: str | None,
                exclude_orders_with_status: tuple[str, ...]) -> KitchenTicket | None:
    """The most recently bumped ticket (of a station) whose order is still open."""
    sql = (f"SELECT {_COLUMNS} FROM kitchen_tickets t WHERE status = 'ready'"
           " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = t.order_id"
           f" AND o.status IN ({','.join('?' * len(exclude_orders_with_status))}))")
    args: list[Any] = list(exclude_orders_with_status)
    if station:
        sql += " AND station = ?"
        args.append(station)
    row = conn.execute(sql + " ORDER BY bumped_at DESC, id DESC LIMIT 1", args).fetchone()
    return _ticket(row) if row else None


def catalog_names(conn: sqlite3.Connection, product_ids: set[str], option_ids: set[str]
                  ) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Translations of these products and modifier options (id -> {language: name})."""
    def read(table: str, ids: set[str]) -> dict[str, dict[str, str]]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT id, names FROM {table} WHERE id IN ({marks})", tuple(ids))
        return {row["id"]: _names_decoder.decode(row["names"]) for row in rows}
    return read("products", product_ids), read("modifier_options", option_ids)


def all_day_counts(conn: sqlite3.Connection, station: str | None) -> list[dict[str, Any]]:
    """Quantity per item name over every pending ticket (the cooks' "all day" list), with
    the item's translations as the newest ticket carried them."""
    sql = ("SELECT json_extract(line.value, '$.name') AS name,"
           " SUM(json_extract(line.value, '$.qty')) AS qty,"
           " MAX(COALESCE(json_extract(line.value, '$.names'), '{}')) AS names"
           " FROM kitchen_tickets t, json_each(t.lines) AS line WHERE t.status = 'pending'")
    args: list[Any] = []
    if station:
        sql += " AND t.station = ?"
        args.append(station)
    sql += " GROUP BY name ORDER BY qty DESC, name"
    return [{"name": r["name"], "qty": int(r["qty"]), "names": _names_decoder.decode(r["names"])}
            for r in conn.execute(sql, args)]


def board_numbers(conn: sqlite3.Connection, business_day: str) -> dict[str, list[int]]:
    """Today's order numbers in the kitchen and ready (not yet handed over), by number; bills
    at a table are served there, so they are not called out on the board."""
    found: dict[str, list[int]] = {"preparing": [], "ready": []}
    for row in conn.execute(
            "SELECT number, status FROM orders WHERE business_day = ? AND table_id IS NULL"
            " AND status IN ('in_kitchen', 'ready') ORDER BY number", (business_day,)):
        found["preparing" if row["status"] == "in_kitchen" else "ready"].append(row["number"])
    return found
