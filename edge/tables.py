"""The outlet's floor plan and the state of its tables (docs/table-service.md).

* ``replace_floor_plan`` installs the plan head office drew (the ``floor`` feed kind, or the
  standalone demo seed), in the caller's transaction, after checking it is whole: unique
  ids, every table in a known area, unique guest tokens, bounded sizes.
* ``floor_plan`` reads it back. An outlet without a stored plan gets an empty one that
  charges service on takeaway too, as the edge did before table service.
* ``table_views`` / ``table_view`` derive what the floor screens show from the open bills
  (orders with a ``table_id`` in an open state) and the cleaning flag:
  free | ordering (open bill, nothing sent) | eating (something sent) | bill_requested |
  paid (every open bill fully paid) | needs_cleaning (last bill completed, not cleaned yet).
* ``publish_table`` records a live event (topic ``tables``, type ``table``, data TableView)
  in the caller's transaction; the caller notifies the LiveFeed after the commit.
* ``table_by_token`` finds the table of a guest QR sticker.

This module reads orders through ``edge.orders_repository`` and never imports ``edge.orders``
or ``edge.bills`` (they import it).
"""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from edge import live
from edge import orders_repository as orders_repo
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.schemas import FloorPlan, FloorTable, Order, TableView

__all__ = [
    "MAX_AREAS",
    "MAX_TABLES",
    "TOPIC",
    "check_courses",
    "clean",
    "floor_plan",
    "mark_dirty",
    "open_bills",
    "publish_table",
    "replace_floor_plan",
    "require_free",
    "require_table",
    "seated",
    "table_by_token",
    "table_view",
    "table_views",
]

TOPIC = "tables"
MAX_AREAS = 50
MAX_TABLES = 500
MAX_COURSES = 20
OPEN_STATES = ("placed", "in_kitchen", "ready")
# Without a stored plan, takeaway keeps its service charge (the edge before table service).
_NO_PLAN = FloorPlan(service_charge_dine_in_only=False)
_json = msgspec.json.Encoder()
_plan = msgspec.json.Decoder(FloorPlan)


def floor_plan(conn: sqlite3.Connection) -> FloorPlan:
    """The outlet's floor plan (an empty one when head office sent none)."""
    row = conn.execute("SELECT plan FROM floor_plan WHERE id = 1").fetchone()
    return _plan.decode(row[0]) if row else _NO_PLAN


def replace_floor_plan(conn: sqlite3.Connection, plan: FloorPlan,
                       now: datetime | None = None) -> FloorPlan:
    """Install ``plan`` (in the caller's transaction) and tell the floor screens."""
    _check(plan)
    at = (now or datetime.now(UTC)).isoformat()
    conn.execute("INSERT INTO floor_plan (id, version, plan, updated_at) VALUES (1, ?, ?, ?)"
                 " ON CONFLICT (id) DO UPDATE SET version = excluded.version,"
                 " plan = excluded.plan, updated_at = excluded.updated_at",
                 (plan.version, _json.encode(plan).decode(), at))
    live.publish(conn, TOPIC, "floor", {"version": plan.version}, now=now)
    return plan


def _check(plan: FloorPlan) -> None:
    problems: list[dict[str, str]] = []
    if len(plan.areas) > MAX_AREAS or len(plan.tables) > MAX_TABLES or len(plan.courses) > MAX_COURSES:
        raise ValidationFailed("the floor plan is too large",
                               details={"max_areas": MAX_AREAS, "max_tables": MAX_TABLES,
                                        "max_courses": MAX_COURSES})
    area_ids = [a.id for a in plan.areas]
    if len(set(area_ids)) != len(area_ids):
        problems.append({"problem": "duplicate area id"})
    table_ids = [t.id for t in plan.tables]
    if len(set(table_ids)) != len(table_ids):
        problems.append({"problem": "duplicate table id"})
    tokens = [t.guest_token for t in plan.tables if t.guest_token]
    if len(set(tokens)) != len(tokens):
        problems.append({"problem": "two tables share a guest token"})
    known = set(area_ids)
    for table in plan.tables:
        if table.area_id not in known:
            problems.append({"table_id": table.id, "unknown_area": table.area_id})
    if problems:
        raise ValidationFailed("the floor plan does not hold together",
                               details={"problems": problems[:50]})


def require_table(conn: sqlite3.Connection, table_id: str) -> FloorTable:
    """The active table ``table_id`` of the floor plan (404 otherwise)."""
    for table in floor_plan(conn).tables:
        if table.id == table_id and table.active:
            return table
    raise NotFound("no such table", details={"table_id": table_id})


def require_free(conn: sqlite3.Connection, table_id: str) -> FloorTable:
    """The table, when a party may be seated there: 409 while a bill is open at it."""
    table = require_table(conn, table_id)
    bills = open_bills(conn, table_id)
    if bills:
        raise Conflict("the table already has an open bill",
                       details={"table_id": table_id, "order_ids": [o.id for o in bills]})
    return table


def check_courses(plan: FloorPlan, lines: Sequence[Any]) -> None:
    """400 for a line whose course is not one of the floor plan's (any course when it lists
    none; "" = no course)."""
    if not plan.courses:
        return
    wrong = sorted({line.course for line in lines if line.course and line.course not in plan.courses})
    if wrong:
        raise ValidationFailed("unknown course", details={"field": "course", "unknown": wrong,
                                                          "courses": list(plan.courses)})


def table_by_token(conn: sqlite3.Connection, token: str) -> FloorTable | None:
    """The active table whose QR sticker carries ``token`` (None: unknown or rotated)."""
    if not token:
        return None
    found = None
    for table in floor_plan(conn).tables:
        # compare every token in constant time: how long this takes says nothing about them
        if table.guest_token and hmac.compare_digest(table.guest_token.encode(), token.encode()):
            found = table
    return found if found is not None and found.active else None


def open_bills(conn: sqlite3.Connection, table_id: str) -> list[Order]:
    """The open bills at a table, oldest first."""
    return orders_repo.open_orders_at_tables(conn, table_id)


def table_views(conn: sqlite3.Connection) -> list[TableView]:
    """Every active table of the floor plan with its status, by area and table order."""
    plan = floor_plan(conn)
    bills: dict[str, list[Order]] = {}
    for order in orders_repo.open_orders_at_tables(conn):
        bills.setdefault(order.table_id or "", []).append(order)
    dirty = _dirty_tables(conn)
    areas = {a.id: a for a in plan.areas}
    tables = sorted((t for t in plan.tables if t.active),
                    key=lambda t: (areas[t.area_id].sort if t.area_id in areas else 0,
                                   t.area_id, t.sort, t.name))
    return [_view(t, areas[t.area_id].name if t.area_id in areas else "", bills.get(t.id, []),
                  t.id in dirty) for t in tables]


def table_view(conn: sqlite3.Connection, table_id: str) -> TableView:
    """One table as the floor screens show it (404 for a table not on the plan)."""
    table = require_table(conn, table_id)
    area = next((a.name for a in floor_plan(conn).areas if a.id == table.area_id), "")
    return _view(table, area, open_bills(conn, table_id), table_id in _dirty_tables(conn, table_id))


def _view(table: FloorTable, area: str, bills: list[Order], dirty: bool) -> TableView:
    return TableView(
        id=table.id, name=table.name, area=area, area_id=table.area_id, seats=table.seats,
        status=_status(bills, dirty), order_ids=[o.id for o in bills],
        covers=sum(o.covers for o in bills),
        seated_at=min((o.seated_at or o.created_at for o in bills), default=None),
        amount=sum(o.total for o in bills), paid=sum(o.paid for o in bills),
        x=table.x, y=table.y, width=table.width, height=table.height, shape=table.shape)


def _status(bills: list[Order], dirty: bool) -> str:
    if not bills:
        return "needs_cleaning" if dirty else "free"
    if all(o.total > 0 and o.paid >= o.total for o in bills):
        return "paid"
    if any(o.bill_requested_at is not None for o in bills):
        return "bill_requested"
    if any(line.state != "held" for o in bills for line in o.lines):
        return "eating"
    return "ordering"


def _dirty_tables(conn: sqlite3.Connection, table_id: str | None = None) -> set[str]:
    sql = "SELECT table_id FROM table_state WHERE needs_cleaning = 1"
    args: tuple[str, ...] = ()
    if table_id is not None:
        sql, args = sql + " AND table_id = ?", (table_id,)
    return {row[0] for row in conn.execute(sql, args)}


def publish_table(conn: sqlite3.Connection, table_id: str, now: datetime) -> None:
    """Tell the floor screens how the table looks now (a table no longer on the plan: nothing)."""
    try:
        view = table_view(conn, table_id)
    except NotFound:
        return
    live.publish(conn, TOPIC, "table", view, now=now)


def mark_dirty(conn: sqlite3.Connection, table_id: str, order_id: str, now: datetime) -> None:
    """A bill at the table was completed: once no bill is open there, it needs cleaning."""
    if open_bills(conn, table_id):
        return
    _set_dirty(conn, table_id, True, order_id, now)


def clean(conn: sqlite3.Connection, table_id: str, now: datetime) -> TableView:
    """Mark a table clean (needs_cleaning -> free); 409 while a bill is open there."""
    require_table(conn, table_id)
    if open_bills(conn, table_id):
        raise Conflict("the table has an open bill", details={"table_id": table_id})
    _set_dirty(conn, table_id, False, None, now)
    publish_table(conn, table_id, now)
    return table_view(conn, table_id)


def seated(conn: sqlite3.Connection, table_id: str, now: datetime) -> None:
    """A party sits down: whoever forgot to mark the table clean, it is taken now."""
    _set_dirty(conn, table_id, False, None, now)


def _set_dirty(conn: sqlite3.Connection, table_id: str, dirty: bool, order_id: str | None,
               now: datetime) -> None:
    conn.execute("INSERT INTO table_state (table_id, needs_cleaning, last_order_id, updated_at)"
                 " VALUES (?, ?, ?, ?) ON CONFLICT (table_id) DO UPDATE SET"
                 " needs_cleaning = excluded.needs_cleaning,"
                 " last_order_id = COALESCE(excluded.last_order_id, last_order_id),"
                 " updated_at = excluded.updated_at",
                 (table_id, int(dirty), order_id, now.isoformat()))
