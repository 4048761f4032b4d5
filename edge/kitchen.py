"""Kitchen tickets: what each station must cook, and the bump / undo / recall workflow.

Every function that changes something takes the caller's write connection and does all of
its work in that one transaction: the ticket row, a live event for the screens
(``edge.live.publish``, topic ``kitchen``, with the ticket's station) and a KitchenEvent in
the outbox (the hub computes prep time from ``created`` to ``bumped``). The caller notifies
the app's LiveFeed after the commit.

The order follows its tickets, and the order owns that rule: ``bump``, ``undo`` and ``recall``
take an ``OrderFollows`` (``edge.orders`` itself) and tell it what the kitchen knows: every
ticket of the order is cooked (``tickets_ready``), or one is being cooked again
(``ticket_reopened``). This module never imports ``edge.orders`` (which imports it to send
orders here); chits for kitchen printers go to ``edge.printing``, which imports neither.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from edge import kitchen_repository as repo
from edge import live, outbox, printing
from shared.errors import InvalidState, NotFound
from shared.ids import new_id
from shared.schemas import KitchenEvent, KitchenTicket, Order, OrderLine, TicketLine

__all__ = [
    "TOPIC",
    "OrderFollows",
    "all_day",
    "board",
    "bump",
    "list_tickets",
    "recall",
    "send_lines",
    "send_to_kitchen",
    "undo",
    "withdraw_line",
    "withdraw_order",
]

log = logging.getLogger("edge.kitchen")

TOPIC = "kitchen"
Action = Literal["created", "bumped", "recalled", "undone"]
_CLOSED_ORDER_STATES = ("completed", "voided", "cancelled", "split", "merged")


class OrderFollows(Protocol):
    """What the kitchen tells an order about its tickets; ``edge.orders`` implements it."""

    def tickets_ready(self, conn: sqlite3.Connection, order_id: str, now: datetime) -> object:
        """Every ticket of the order is cooked."""

    def ticket_reopened(self, conn: sqlite3.Connection, order_id: str, now: datetime) -> object:
        """A ticket of the order is being cooked again (refuses when the order is closed)."""


def send_to_kitchen(conn: sqlite3.Connection, order: Order, now: datetime) -> list[KitchenTicket]:
    """Split the order's lines into one ticket per station; store and announce them.

    Calling it twice for the same order returns the tickets made the first time, so the
    "send on payment" trigger may fire on every payment without duplicating work. Held lines
    of a bill wait for their course to be fired (``send_lines``).
    """
    existing = repo.tickets_of_order(conn, order.id, include_withdrawn=True)
    if existing:
        return existing
    return send_lines(conn, order, [line for line in order.lines if line.state == "sent"], now)


def send_lines(conn: sqlite3.Connection, order: Order, lines: list[OrderLine],
               now: datetime) -> list[KitchenTicket]:
    """New tickets for these lines of the order (a bill's round, or a fired course): one per
    course and station, carrying the table's name, the round and the course."""
    if not lines:
        return []
    product_names, option_names = repo.catalog_names(
        conn, {line.product_id for line in lines},
        {m.option_id for line in lines for m in line.modifiers})
    groups: dict[tuple[str, str], list[OrderLine]] = {}
    for line in lines:  # dicts keep insertion order: stations appear as lines do
        groups.setdefault((line.course, line.station), []).append(line)
    tickets = []
    for (course, station), group in groups.items():
        ticket = KitchenTicket(
            id=new_id(), order_id=order.id, order_number=order.number,
            order_type=order.type, station=station, status="pending",
            lines=[_ticket_line(line, product_names, option_names) for line in group],
            note=_ticket_note(order), created_at=now, table=order.table,
            round=max(line.round for line in group), course=course,
        )
        repo.insert_ticket(conn, ticket, order.business_day, [line.id for line in group])
        _record(conn, ticket, "created", now)
        tickets.append(ticket)
    _print_chits(conn, tickets, now)
    return tickets


def withdraw_line(conn: sqlite3.Connection, order: Order, line: OrderLine,
                  now: datetime) -> KitchenTicket:
    """A sent line was voided: the station gets a void chit (a ticket whose line reads
    "VOID <item>" with the reason), and the line's own ticket leaves the screens when it is
    still pending and every line on it is now voided. Returns the void chit."""
    voided = {l.id for l in order.lines if l.state == "voided"} | {line.id}
    for ticket, stored, line_ids in repo.ticket_lines_of_order(conn, order.id):
        if (line.id in line_ids and stored == "pending"
                and all(line_id in voided for line_id in line_ids)):
            repo.set_status(conn, ticket.id, "withdrawn", None, now)
            live.publish(conn, TOPIC, "ticket.withdrawn", ticket, station=ticket.station, now=now)
    chit = KitchenTicket(
        id=new_id(), order_id=order.id, order_number=order.number, order_type=order.type,
        station=line.station, status="pending",
        lines=[TicketLine(name=f"VOID {line.name}"[:200], qty=line.qty,
                          modifiers=[m.name for m in line.modifiers], note=line.void_reason)],
        note=" · ".join(p for p in ("VOID", _ticket_note(order)) if p)[:500], created_at=now,
        table=order.table, round=line.round, course=line.course)
    repo.insert_ticket(conn, chit, order.business_day, [])
    _record(conn, chit, "created", now)
    _print_chits(conn, [chit], now)
    return chit


def bump(conn: sqlite3.Connection, ticket_id: str, now: datetime,
         orders: OrderFollows) -> KitchenTicket:
    """Mark a ticket cooked; when all of its order's tickets are, tell the order."""
    ticket, stored = _load(conn, ticket_id)
    if stored == "withdrawn":
        raise InvalidState("the order of this ticket was voided", details={"ticket_id": ticket_id})
    if stored == "ready":
        return ticket  # a double tap on the screen is not an error
    repo.set_status(conn, ticket_id, "ready", now, now)
    bumped = _with(ticket, status="ready", bumped_at=now)
    _record(conn, bumped, "bumped", now)
    if all(t.status == "ready" for t in repo.tickets_of_order(conn, ticket.order_id)):
        orders.tickets_ready(conn, ticket.order_id, now)
    return bumped


def undo(conn: sqlite3.Connection, ticket_id: str, now: datetime,
         orders: OrderFollows) -> KitchenTicket:
    """Un-bump a ticket (a bump by mistake); a ready order goes back to the kitchen."""
    ticket, stored = _load(conn, ticket_id)
    if stored != "ready":
        raise InvalidState("only a bumped ticket can be undone",
                           details={"ticket_id": ticket_id, "status": stored})
    return _reopen(conn, ticket, "undone", now, orders)


def recall(conn: sqlite3.Connection, station: str | None, now: datetime,
           orders: OrderFollows) -> KitchenTicket:
    """Bring back the most recently bumped ticket of a station whose order is still open."""
    ticket = repo.last_bumped(conn, station, _CLOSED_ORDER_STATES)
    if ticket is None:
        raise NotFound("no bumped ticket to recall", details={"station": station})
    return _reopen(conn, ticket, "recalled", now, orders)


def withdraw_order(conn: sqlite3.Connection, order_id: str, now: datetime) -> list[KitchenTicket]:
    """Take a voided order's tickets off every screen (call in the void's transaction).

    Screens get a ``ticket.withdrawn`` live event; the outbox needs nothing more because the
    order's own voided snapshot reaches the hub.
    """
    withdrawn = []
    for ticket in repo.tickets_of_order(conn, order_id):
        repo.set_status(conn, ticket.id, "withdrawn", ticket.bumped_at, now)
        live.publish(conn, TOPIC, "ticket.withdrawn", ticket, station=ticket.station, now=now)
        withdrawn.append(ticket)
    return withdrawn


def list_tickets(conn: sqlite3.Connection, business_day: str, station: str | None = None,
                 status: str | None = None, limit: int = 200) -> list[KitchenTicket]:
    """Tickets oldest first: all pending, and those bumped on ``business_day`` (the outlet's
    today), optionally for one station and one status."""
    return repo.list_tickets(conn, station, status, limit, business_day)


def all_day(conn: sqlite3.Connection, station: str | None = None) -> list[dict[str, Any]]:
    """How many of each item are still to cook, over every pending ticket."""
    return repo.all_day_counts(conn, station)


def board(conn: sqlite3.Connection, business_day: str) -> dict[str, list[int]]:
    """The customer-facing board: numbers being prepared and numbers ready to collect."""
    return repo.board_numbers(conn, business_day)


# -- helpers ---------------------------------------------------------------------------------


def _reopen(conn: sqlite3.Connection, ticket: KitchenTicket, action: Action, now: datetime,
            orders: OrderFollows) -> KitchenTicket:
    repo.set_status(conn, ticket.id, "pending", None, now)
    reopened = _with(ticket, status="pending", bumped_at=None)
    _record(conn, reopened, action, now)
    orders.ticket_reopened(conn, ticket.order_id, now)  # a closed order raises: all rolls back
    return reopened


def _print_chits(conn: sqlite3.Connection, tickets: list[KitchenTicket], now: datetime) -> None:
    """Queue chits for stations with a kitchen printer; a printing problem never loses a sale."""
    conn.execute("SAVEPOINT kitchen_chits")
    try:
        printing.print_new_tickets(conn, tickets, now)
    except Exception:
        conn.execute("ROLLBACK TO kitchen_chits")
        log.exception("could not queue kitchen chits", extra={"order_id": tickets[0].order_id})
    conn.execute("RELEASE kitchen_chits")


def _record(conn: sqlite3.Connection, ticket: KitchenTicket, action: Action, now: datetime) -> None:
    live.publish(conn, TOPIC, f"ticket.{action}", ticket, station=ticket.station, now=now)
    outbox.append(conn, KitchenEvent(ticket_id=ticket.id, order_id=ticket.order_id,
                                     station=ticket.station, action=action, at=now), now)


def _load(conn: sqlite3.Connection, ticket_id: str) -> tuple[KitchenTicket, str]:
    found = repo.get_ticket(conn, ticket_id)
    if found is None:
        raise NotFound("no such kitchen ticket", details={"ticket_id": ticket_id})
    return found


def _with(ticket: KitchenTicket, **changes: Any) -> KitchenTicket:
    return msgspec.structs.replace(ticket, **changes)


def _ticket_line(line: OrderLine, product_names: dict[str, dict[str, str]],
                 option_names: dict[str, dict[str, str]]) -> TicketLine:
    seat = f"Seat {line.seat}" if line.seat else ""
    return TicketLine(
        name=line.name, qty=line.qty, modifiers=[m.name for m in line.modifiers],
        note=" · ".join(p for p in (seat, line.note) if p)[:500],
        names=product_names.get(line.product_id, {}),
        modifier_names=[option_names.get(m.option_id, {}) for m in line.modifiers])


def _ticket_note(order: Order) -> str:
    parts = [f"Table {order.table}" if order.table else "", order.customer_name, order.note]
    return " · ".join(p for p in parts if p)[:500]
