"""Receipts and kitchen chits on ESC/POS network printers (raw TCP, port 9100).

Printing never blocks a sale: ``enqueue_order`` renders the document in the caller's write
transaction and stores it as a queued job (table ``print_jobs``); the ``PrintWorker``
background task sends due jobs with python-escpos' ``Network`` printer and retries with
back-off until the printer takes them. A printer's last outcome is kept on its row, so the
cashier sees "printer: error - connection refused" instead of a lost receipt.

Kitchen printers are also fed automatically: ``print_new_tickets`` (called by edge.kitchen
when an order reaches the kitchen) queues one chit per ticket for its station's printer.
Printing receives the order or tickets it prints and imports neither edge.orders nor
edge.kitchen (both sit above it); it reads an order's tickets through edge.kitchen_repository.

A rendered document is a short list of python-escpos calls (``set``, ``textln``, ``cut``)
stored as JSON and replayed on the printer when sent: only the library's public API touches
the wire, and a job can be re-sent byte for byte.

The cash drawer hangs off the receipt printer: ``kick_drawer`` queues a job holding nothing
but the drawer pulse (python-escpos ``cashdraw``, ESC p on pin 2), called in the transaction
of a cash payment or a cash refund. The pulse is an operation of its own with a fixed
argument, checked again when a job is replayed; it can never come from text.

Every text that reaches paper goes through ``printable`` (in ``Document.line`` and again
when a stored job is replayed): a control character in a note or a name would otherwise be
a printer command (``ESC p`` opens the cash drawer) or a new line that looks like an item
("2 x ..."). Notes keep their line breaks as indented continuation lines (``Document.note``),
which no item line ever is.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from edge import kitchen_repository
from edge import printing_repository as repo
from edge.catalog import read_catalog
from edge.db import Database
from edge.outlet import load_outlet
from shared.errors import NotFound, Rejected
from shared.ids import new_id
from shared.money import format_money
from shared.schemas import (
    KitchenTicket,
    Order,
    Printer,
    PrinterCreate,
    PrintJob,
    TaxConfig,
    TicketLine,
)

__all__ = [
    "WIDTH",
    "Document",
    "PrintWorker",
    "add_printer",
    "enqueue_order",
    "kick_drawer",
    "kitchen_document",
    "list_printers",
    "print_new_tickets",
    "print_order",
    "printable",
    "receipt_document",
    "retry_printer",
    "send_document",
]

log = logging.getLogger("edge.printing")

WIDTH = 42  # characters per line in font A on 80 mm paper at the usual 576 dots
MAX_ATTEMPTS = 200  # with back-off capped at BACKOFF_CAP this is over an hour of retries
BACKOFF_CAP = 30.0
# A drawer pulse is for the sale at the till: one that waited this long for a printer that was
# down is dropped, so the drawer never springs open later with nobody at the counter.
DRAWER_PULSE_MAX_AGE = timedelta(seconds=60)
_ops_encoder = msgspec.json.Encoder()
_ops_decoder = msgspec.json.Decoder(list[list[Any]])
_METHOD_LABELS = {"cash": "Cash", "card": "Card", "qris": "QRIS", "ewallet": "E-wallet",
                  "other": "Other"}
# Line breaks and tabs become a space; every other control character (C0, DEL, C1) and the
# invisible Unicode format characters (zero-width, bidirectional overrides) are dropped.
_BLANKS = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
NOTE_MAX_LINES = 12


def printable(text: str) -> str:
    """``text`` as one line a printer prints literally: no control character survives."""
    return _UNPRINTABLE.sub("", _BLANKS.sub(" ", text))


class Document:
    """A printable document recorded as python-escpos calls: [[method, args, kwargs], ...]."""

    _ALLOWED = frozenset({"set", "textln", "ln", "cut", "hw", "cashdraw"})
    _DRAWER_PINS = (2, 5)  # the two drawer connectors of an ESC/POS printer

    def __init__(self) -> None:
        self.ops: list[list[Any]] = [["hw", ["INIT"], {}]]

    def style(self, **kwargs: Any) -> Document:
        self.ops.append(["set", [], kwargs])
        return self

    def line(self, text: str = "") -> Document:
        self.ops.append(["textln", [printable(text)], {}])
        return self

    def note(self, text: str, first: str = "   * ", indent: str = "     ") -> Document:
        """A note over as many lines as it needs (up to NOTE_MAX_LINES): the first after
        ``first``, the others indented, its own line breaks kept as continuation lines."""
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            lines += textwrap.wrap(printable(paragraph), WIDTH - len(indent)) or [""]
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) > NOTE_MAX_LINES:
            lines = [*lines[:NOTE_MAX_LINES - 1], lines[NOTE_MAX_LINES - 1][:WIDTH - len(indent) - 3] + "..."]
        for number, text_line in enumerate(lines):
            self.line((first if number == 0 else indent) + text_line)
        return self

    def pair(self, left: str, right: str) -> Document:
        """Left text and right-aligned amount on one line (left is cut to make room)."""
        left, right = printable(left), printable(right)
        room = WIDTH - len(right) - 1
        return self.line(f"{left[:room]:<{room}} {right}")

    def rule(self) -> Document:
        return self.line("-" * WIDTH)

    def cut(self) -> Document:
        self.ops.append(["cut", [], {}])
        return self

    def open_drawer(self, pin: int = 2) -> Document:
        """The drawer pulse (ESC p) on connector ``pin`` (2 or 5)."""
        if pin not in self._DRAWER_PINS:
            raise ValueError("a cash drawer hangs on pin 2 or 5")
        self.ops.append(["cashdraw", [pin], {}])
        return self

    def encode(self) -> bytes:
        return _ops_encoder.encode(self.ops)

    @classmethod
    def replay(cls, payload: bytes, printer: Any) -> None:
        for method, args, kwargs in _ops_decoder.decode(payload):
            if method not in cls._ALLOWED:
                raise ValueError(f"unexpected printer operation {method!r}")
            if method == "textln":  # a job queued by an older version was not cleaned
                args = [printable(str(arg)) for arg in args]
            elif method == "cashdraw" and (args not in ([2], [5]) or kwargs):
                raise ValueError("unexpected cash drawer pulse")
            getattr(printer, method)(*args, **kwargs)


# -- rendering ------------------------------------------------------------------------------


def receipt_document(order: Order, *, outlet_name: str, tax: TaxConfig | None = None,
                     tz: ZoneInfo | None = None, prebill: bool = False) -> Document:
    """The customer receipt: outlet, number, lines with modifiers, money, payments, change.
    ``prebill``: the check a table asks for before paying (no payments, the amount due).
    Voided lines of a bill are left out: they are not charged."""
    tax = tax or TaxConfig()
    money = lambda amount: format_money(amount, order.currency)
    doc = Document()
    doc.style(align="center", bold=True, double_height=True, double_width=True)
    doc.line(printable(outlet_name)[: WIDTH // 2])
    doc.style(normal_textsize=True, bold=False)
    doc.line(f"Order #{order.number}")
    kind = "Dine in" if order.type == "dine_in" else "Takeaway"
    doc.line(f"{kind}{' - Table ' + order.table if order.table else ''}")
    if order.covers:
        doc.line(f"{order.covers} tamu / guests")
    if prebill:
        doc.style(bold=True).line("TAGIHAN SEMENTARA - PRE-BILL").style(bold=False)
    doc.line(order.created_at.astimezone(tz or UTC).strftime("%d/%m/%Y %H:%M"))
    if order.customer_name:
        doc.line(order.customer_name)
    doc.style(align="left")
    doc.rule()
    for line in order.lines:
        if line.state == "voided":
            continue
        doc.pair(f"{line.qty} x {line.name}", money(line.line_total))
        for modifier in line.modifiers:
            delta = f" ({money(modifier.price_delta)})" if modifier.price_delta else ""
            doc.line(printable(f"   + {modifier.name}{delta}")[:WIDTH])
        if line.note:
            doc.note(line.note)
    doc.rule()
    doc.pair("Subtotal", money(order.subtotal))
    if order.discount:
        doc.pair("Discount", money(-order.discount))
    if order.service_charge:
        doc.pair(f"Service {_percent(tax.service_rate_bp)}", money(order.service_charge))
    if order.tax:
        included = " (incl.)" if tax.prices_include_tax else ""
        doc.pair(f"{tax.tax_name} {_percent(tax.tax_rate_bp)}{included}", money(order.tax))
    if order.rounding:
        doc.pair("Rounding", money(order.rounding))
    doc.style(bold=True, double_height=True)
    doc.pair("TOTAL", money(order.total))
    doc.style(normal_textsize=True, bold=False)
    change = 0
    for payment in [] if prebill else order.payments:
        label = _METHOD_LABELS.get(payment.method, payment.method)
        shown = payment.tendered if payment.method == "cash" and payment.tendered else payment.amount
        doc.pair(label, money(shown))
        change += payment.change
    if change:
        doc.pair("Change", money(change))
    if order.status == "voided":
        doc.style(align="center", bold=True).line("*** VOID ***").style(bold=False)
    elif prebill or order.paid < order.total:
        doc.pair("Due", money(order.total - order.paid))
    doc.style(align="center").line().line("Terima kasih - Thank you")
    return doc.cut()


def kitchen_document(*, station: str, order_number: int, order_type: str, lines: list[TicketLine],
                     note: str, created_at: datetime, tz: ZoneInfo | None = None) -> Document:
    """A kitchen chit for one station: big number, then what to cook."""
    doc = Document()
    doc.style(align="center", bold=True).line(station.upper())
    doc.style(double_height=True, double_width=True).line(f"#{order_number}")
    doc.style(normal_textsize=True, bold=False)
    kind = "DINE IN" if order_type == "dine_in" else "TAKEAWAY"
    doc.line(f"{kind}  {created_at.astimezone(tz or UTC).strftime('%H:%M')}")
    doc.style(align="left").rule()
    for line in lines:
        doc.style(bold=True, double_height=True).line(printable(f"{line.qty} x {line.name}")[:WIDTH])
        doc.style(normal_textsize=True, bold=False)
        for modifier in line.modifiers:
            doc.line(printable(f"   + {modifier}")[:WIDTH])
        if line.note:
            doc.note(line.note)
    if note:
        doc.rule().note(note, first="NOTE: ")
    return doc.cut()


def _percent(basis_points: int) -> str:
    whole, rest = divmod(basis_points, 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


# -- printers and the queue -----------------------------------------------------------------


def add_printer(conn: sqlite3.Connection, data: PrinterCreate, now: datetime) -> Printer:
    """Add a printer, or update the one with the same name. Updating one makes its queued
    jobs due at once: the back-off they had was for the old settings (the paper roll changed
    printer, the address was wrong), and the cashier is waiting for that receipt now."""
    existing = repo.get_printer_by_name(conn, data.name)
    printer_id = existing.id if existing else new_id()
    repo.upsert_printer(conn, printer_id, msgspec.structs.asdict(data), now)
    if existing is not None:
        repo.retry_queued_now(conn, printer_id, now)
    printer = repo.get_printer(conn, printer_id)
    assert printer is not None
    return printer


def list_printers(conn: sqlite3.Connection) -> list[Printer]:
    return repo.list_printers(conn)


def retry_printer(conn: sqlite3.Connection, printer_id: str, now: datetime) -> int:
    """Put a printer's failed jobs back in the queue (after fixing paper or cable)."""
    if repo.get_printer(conn, printer_id) is None:
        raise NotFound("no such printer", details={"printer_id": printer_id})
    return repo.retry_failed(conn, printer_id, now)


def print_order(conn: sqlite3.Connection, order: Order, kind: str, now: datetime) -> list[PrintJob]:
    """Queue the receipt or kitchen chits of ``order`` (the caller loads it) with the outlet's
    name, taxes and timezone."""
    outlet = load_outlet(conn)
    return enqueue_order(conn, order, kind, outlet_name=outlet.name, now=now,
                         tax=read_catalog(conn).tax, tz=outlet.tz)


def enqueue_order(conn: sqlite3.Connection, order: Order, kind: str, *, outlet_name: str,
                  now: datetime, tax: TaxConfig | None = None,
                  tz: ZoneInfo | None = None) -> list[PrintJob]:
    """Queue a receipt (one job) or the order's kitchen chits (one job per station)."""
    jobs: list[tuple[Printer, Document]] = []
    if kind in ("receipt", "prebill"):
        printers = repo.printers_for(conn, "receipt")
        if not printers:
            raise Rejected("no receipt printer is configured", details={"role": "receipt"})
        jobs.append((printers[0], receipt_document(order, outlet_name=outlet_name, tax=tax, tz=tz,
                                                   prebill=kind == "prebill")))
    else:
        printers = repo.printers_for(conn, "kitchen")
        if not printers:
            raise Rejected("no kitchen printer is configured", details={"role": "kitchen"})
        for station, number, type_, lines, note, at in _chits(conn, order):
            printer = _printer_for_station(printers, station)
            if printer is None:
                continue  # that station works from a screen only
            jobs.append((printer, kitchen_document(station=station, order_number=number,
                                                   order_type=type_, lines=lines, note=note,
                                                   created_at=at, tz=tz)))
        if not jobs:
            raise Rejected("no kitchen printer serves this order's stations",
                           details={"stations": sorted({line.station for line in order.lines})})
    queued = []
    for printer, doc in jobs:
        # a pre-bill is a receipt-printer job like the receipt
        job = PrintJob(id=new_id(), printer_id=printer.id, order_id=order.id,
                       kind="receipt" if kind == "prebill" else kind,  # type: ignore[arg-type]
                       status="queued", created_at=now)
        repo.insert_job(conn, job, doc.encode())
        queued.append(job)
    return queued


def kick_drawer(conn: sqlite3.Connection, now: datetime, order_id: str | None = None) -> PrintJob | None:
    """Queue the drawer pulse on the receipt printer (the drawer is wired to it); None when
    the outlet has no receipt printer: the sale never waits for a drawer."""
    printers = repo.printers_for(conn, "receipt")
    if not printers:
        return None
    job = PrintJob(id=new_id(), printer_id=printers[0].id, order_id=order_id, kind="drawer",
                   status="queued", created_at=now)
    repo.insert_job(conn, job, Document().open_drawer().encode())
    return job


def print_new_tickets(conn: sqlite3.Connection, tickets: list[KitchenTicket],
                      now: datetime) -> list[PrintJob]:
    """Queue a chit for each new ticket whose station has a kitchen printer (none: screens only).

    Called by edge.kitchen in the order's transaction, so a chit is queued exactly when the
    tickets are made; the worker picks it up within a second.
    """
    printers = repo.printers_for(conn, "kitchen")
    if not printers or not tickets:
        return []
    tz = load_outlet(conn).tz
    queued = []
    for ticket in tickets:
        printer = _printer_for_station(printers, ticket.station)
        if printer is None:
            continue
        doc = kitchen_document(station=ticket.station, order_number=ticket.order_number,
                               order_type=ticket.order_type, lines=ticket.lines, note=ticket.note,
                               created_at=ticket.created_at, tz=tz)
        job = PrintJob(id=new_id(), printer_id=printer.id, order_id=ticket.order_id,
                       kind="kitchen", status="queued", created_at=now)
        repo.insert_job(conn, job, doc.encode())
        queued.append(job)
    return queued


def _chits(conn: sqlite3.Connection, order: Order) -> list[tuple[str, int, str, list[TicketLine], str, datetime]]:
    tickets = kitchen_repository.tickets_of_order(conn, order.id)
    if tickets:
        return [(t.station, t.order_number, t.order_type, t.lines, t.note, t.created_at)
                for t in tickets]
    # Not sent to the kitchen yet (kitchen_trigger = payment): print from the order itself.
    by_station: dict[str, list[TicketLine]] = {}
    for line in order.lines:
        by_station.setdefault(line.station, []).append(TicketLine(
            name=line.name, qty=line.qty, modifiers=[m.name for m in line.modifiers],
            note=line.note))
    return [(station, order.number, order.type, lines, order.note, order.created_at)
            for station, lines in by_station.items()]


def _printer_for_station(printers: list[Printer], station: str) -> Printer | None:
    exact = [p for p in printers if p.station == station]
    if exact:
        return exact[0]
    catch_all = [p for p in printers if not p.station]
    return catch_all[0] if catch_all else None


def send_document(host: str, port: int, payload: bytes, timeout: float = 5.0) -> None:
    """Send one rendered document to a network printer (blocking; run it in a thread)."""
    from escpos.printer import Network

    printer = Network(host, port=port, timeout=timeout)
    printer.open()
    try:
        Document.replay(payload, printer)
    finally:
        printer.close()


def backoff(attempts: int, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after ``attempts`` failed tries: 1, 2, 4, ... capped."""
    return float(min(cap, 2 ** max(0, attempts - 1)))


class PrintWorker:
    """Background task that drains the print queue; one per app, started in its lifespan."""

    def __init__(self, db: Database, *, idle_poll: float = 1.0, backoff_cap: float = BACKOFF_CAP,
                 sender: Callable[[str, int, bytes], None] = send_document,
                 drawer_max_age: timedelta = DRAWER_PULSE_MAX_AGE) -> None:
        self._db = db
        self._drawer_max_age = drawer_max_age
        self._idle_poll = idle_poll
        self._backoff_cap = backoff_cap
        self._send = sender
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """New jobs were committed: look at the queue now."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="print-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("print worker cycle failed")
                delay = self._idle_poll
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def drain_once(self) -> float:
        """Send every due job once; return seconds until the next one is due."""
        now = datetime.now(UTC)
        due = await self._db.read(lambda conn: repo.due_jobs(conn, now))
        if due:
            await asyncio.gather(*(self._deliver(job, printer, payload)
                                   for job, printer, payload in due))
            return 0.0  # the next job of each printer may be due already
        next_at = await self._db.read(repo.next_due_at)
        if next_at is None:
            return self._idle_poll
        return max(0.05, min(self._idle_poll, (next_at - datetime.now(UTC)).total_seconds()))

    async def _deliver(self, job: PrintJob, printer: Printer, payload: bytes) -> None:
        if job.kind == "drawer" and datetime.now(UTC) - job.created_at > self._drawer_max_age:
            error = "drawer pulse expired: the printer was down during the sale"

            def expired(conn: sqlite3.Connection) -> None:
                repo.mark_attempt_failed(conn, job.id, error, datetime.now(UTC), give_up=True)

            await self._db.write(expired)
            log.warning("drawer pulse dropped", extra={"job_id": job.id, "printer": printer.name})
            return
        try:
            await asyncio.to_thread(self._send, printer.host, printer.port, payload)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            error = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            attempts = job.attempts + 1
            give_up = attempts >= MAX_ATTEMPTS
            retry_at = datetime.now(UTC) + timedelta(seconds=backoff(attempts, self._backoff_cap))

            def failed(conn: sqlite3.Connection) -> None:
                repo.mark_attempt_failed(conn, job.id, error, retry_at, give_up)
                repo.set_printer_status(conn, printer.id, False, error, datetime.now(UTC))

            await self._db.write(failed)
            log.warning("print job failed", extra={"job_id": job.id, "printer": printer.name,
                                                   "attempts": attempts, "error": error})
            return

        def printed(conn: sqlite3.Connection) -> None:
            at = datetime.now(UTC)
            repo.mark_printed(conn, job.id, at)
            repo.set_printer_status(conn, printer.id, True, "", at)

        await self._db.write(printed)
        log.info("printed", extra={"job_id": job.id, "printer": printer.name, "kind": job.kind})
