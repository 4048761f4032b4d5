"""Wire and domain types shared by edge, hub, sync and the browser apps (msgspec Structs).

Schema evolution rules (see docs/sync-protocol.md): new fields get defaults; nothing is
renamed or retyped; the hub decodes payloads of the previous wire version.
Money fields are ``int`` minor units; times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct, field

from shared.money import MAX_AMOUNT

Id = Annotated[str, Meta(min_length=1, max_length=64)]
Amount = Annotated[int, Meta(ge=0, le=MAX_AMOUNT)]  # minor units, never negative on the wire
SignedAmount = Annotated[int, Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Qty = Annotated[int, Meta(ge=1, le=999)]
Basis = Annotated[int, Meta(ge=0, le=10_000)]  # basis points: 1000 = 10%
ShortText = Annotated[str, Meta(max_length=200)]
Note = Annotated[str, Meta(max_length=500)]

OrderType = Literal["dine_in", "takeaway"]
# "split": a bill closed into parts (its children carry ``split_from``); "merged": a bill
# whose lines moved into another (``merged_into``). Neither counts as a sale: its money is on
# the parts / the receiving bill (docs/table-service.md).
OrderStatus = Literal["placed", "in_kitchen", "ready", "completed", "voided", "cancelled",
                      "split", "merged"]
PaymentMethod = Literal["cash", "card", "qris", "ewallet", "other"]
DeviceRole = Literal["kiosk", "cashier", "kds"]
StaffRole = Literal["cashier", "kitchen", "manager"]
TicketStatus = Literal["pending", "ready"]
# A line of an open bill: "sent" to the kitchen (or placed with the order), "held" until its
# course is fired, "voided" after it was sent (kept on the bill for the record, not charged).
LineState = Literal["sent", "held", "voided"]
TableStatus = Literal["free", "ordering", "eating", "bill_requested", "paid", "needs_cleaning"]
Covers = Annotated[int, Meta(ge=0, le=99)]
Seat = Annotated[int, Meta(ge=0, le=99)]  # 0 = the table (shared), 1.. = a guest's seat
# Options chosen on one line: far more than any menu offers (a group allows a handful), so
# a line cannot carry an unbounded list the pricing must walk.
MAX_OPTIONS_PER_LINE = 50

# Characters no text a client sends may hold: C0 and C1 controls, DEL, and the Unicode line
# and paragraph separators. They are printer commands on an ESC/POS printer (ESC p opens the
# cash drawer), fake lines on a chit, and PostgreSQL refuses NUL, so the hub could never store
# the order. A newline is allowed only in the fields an input Struct names in ``multiline``.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def control_character(text: str, multiline: bool = False) -> str | None:
    """The first character ``text`` may not hold, as "U+001B", or None when it is clean."""
    found = (_CONTROL_BUT_NEWLINE if multiline else _CONTROL).search(text)
    return f"U+{ord(found.group()):04X}" if found else None


class InputStruct(Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every body a client sends the edge: unknown fields are refused, and no text
    holds a control character (a newline only in ``multiline`` fields; CR LF becomes LF).

    Checked in ``__post_init__``, which msgspec runs on every decode and conversion, so the
    refusal is a ValidationError naming the field, whatever path the body came in by.
    """

    multiline: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str):
                if "\r\n" in value and name in self.multiline:
                    value = value.replace("\r\n", "\n")
                    setattr(self, name, value)
                _refuse_control(name, value, name in self.multiline)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        _refuse_control(name, item, False)


def _refuse_control(name: str, value: str, multiline: bool) -> None:
    bad = control_character(value, multiline)
    if bad is not None:
        allowed = " (a line break is allowed)" if multiline else ""
        raise ValueError(f"{name}: control character {bad} is not allowed{allowed}")


# ---------------------------------------------------------------- catalog


class TaxConfig(Struct, kw_only=True):
    """How an outlet charges service and tax; see shared/pricing.py for the arithmetic."""

    service_rate_bp: Basis = 500
    tax_rate_bp: Basis = 1000
    tax_name: ShortText = "PB1"
    prices_include_tax: bool = False
    # Final total is rounded half-up to this many minor units (IDR cash: 100); 1 = exact.
    rounding_unit: Annotated[int, Meta(ge=1, le=100_000)] = 1


class ModifierOption(Struct, kw_only=True):
    id: Id
    name: ShortText
    price_delta: SignedAmount = 0
    available: bool = True
    names: dict[str, str] = {}  # translations by language code, e.g. {"id": "Pedas"}


class ModifierGroup(Struct, kw_only=True):
    id: Id
    name: ShortText
    min_choices: Annotated[int, Meta(ge=0, le=50)] = 0
    max_choices: Annotated[int, Meta(ge=1, le=50)] = 1
    options: list[ModifierOption] = []
    names: dict[str, str] = {}


class Category(Struct, kw_only=True):
    id: Id
    name: ShortText
    station: ShortText = "kitchen"  # kitchen station its items are cooked at
    sort: int = 0
    color: ShortText = ""
    names: dict[str, str] = {}


class Product(Struct, kw_only=True):
    id: Id
    category_id: Id
    name: ShortText
    price: Amount
    description: Note = ""
    image_url: ShortText = ""
    color: ShortText = ""
    available: bool = True
    modifier_group_ids: list[Id] = []
    sort: int = 0
    names: dict[str, str] = {}


class Catalog(Struct, kw_only=True):
    """The menu of one outlet, prices and availability already resolved for it."""

    version: int = 0
    currency: ShortText = "IDR"
    tax: TaxConfig = field(default_factory=TaxConfig)
    categories: list[Category] = []
    products: list[Product] = []
    modifier_groups: list[ModifierGroup] = []


# ---------------------------------------------------------------- floor plan


class FloorArea(Struct, kw_only=True):
    id: Id
    name: ShortText  # "Indoor", "Lantai 2"
    sort: int = 0
    names: dict[str, str] = {}


class FloorTable(Struct, kw_only=True):
    id: Id
    area_id: Id
    name: ShortText  # what staff call it: "A1", "12"
    seats: Annotated[int, Meta(ge=1, le=99)] = 4
    sort: int = 0
    # where the editor drew it, in a 0..1000 grid per area, and its shape
    x: Annotated[int, Meta(ge=0, le=1000)] = 0
    y: Annotated[int, Meta(ge=0, le=1000)] = 0
    width: Annotated[int, Meta(ge=10, le=1000)] = 100
    height: Annotated[int, Meta(ge=10, le=1000)] = 100
    shape: Literal["rect", "round"] = "rect"
    active: bool = True
    # the secret on the table's QR sticker (guest ordering); rotating it voids old stickers
    guest_token: Annotated[str, Meta(max_length=64)] = ""


class FloorPlan(Struct, kw_only=True):
    """An outlet's areas and tables and its table-service settings, drawn at head office and
    sent to the outlet as the ``floor`` feed kind."""

    version: int = 0
    areas: list[FloorArea] = []
    tables: list[FloorTable] = []
    # dine-in carries the service charge; takeaway does not when this is true
    service_charge_dine_in_only: bool = True
    # guest orders from the table's QR page: straight to the kitchen, or wait for a waiter
    guest_orders: Literal["off", "kitchen", "confirm"] = "confirm"
    # courses in firing order, as line.course values ("minuman", "makanan", "pencuci_mulut")
    courses: list[ShortText] = []
    # voiding a sent line worth more than this (minor units) needs a manager; 0 = always
    void_approval_threshold: Amount = 0


class TableView(Struct, kw_only=True):
    """A table as the floor screens show it (GET /api/v1/tables)."""

    id: Id
    name: ShortText
    area: ShortText
    area_id: Id
    seats: int
    status: TableStatus
    order_ids: list[Id] = []  # its open bills
    covers: int = 0
    seated_at: datetime | None = None
    amount: int = 0  # total of its open bills
    paid: int = 0
    x: int = 0
    y: int = 0
    width: int = 100
    height: int = 100
    shape: str = "rect"


# ---------------------------------------------------------------- orders


class OrderLineCreate(InputStruct):
    multiline = frozenset({"note"})

    product_id: Id
    qty: Qty = 1
    modifiers: Annotated[list[Id], Meta(max_length=MAX_OPTIONS_PER_LINE)] = []  # option ids
    note: Note = ""
    # table service: the course it belongs to ("" = none), held until that course is fired,
    # and the guest's seat (0 = shared)
    course: ShortText = ""
    hold: bool = False
    seat: Seat = 0


class OrderCreate(InputStruct):
    multiline = frozenset({"note"})

    type: OrderType
    lines: Annotated[list[OrderLineCreate], Meta(min_length=1, max_length=100)]
    note: Note = ""
    customer_name: ShortText = ""
    table: ShortText = ""
    discount: Amount = 0  # order-level discount in minor units (staff only)
    discount_reason: ShortText = ""
    # dine-in at a table of the floor plan (``table`` then takes the table's name)
    table_id: Id | None = None
    covers: Covers = 0
    # The moment (UTC, in the edge's clock) after which the sender has given up on this
    # request: the edge refuses it then (409 order_deadline_passed) instead of placing an
    # order nobody waits for. Not part of the order: a retry may send a later one.
    place_by: Annotated[datetime, Meta(tz=True)] | None = None


class LineModifier(Struct, kw_only=True):
    option_id: Id
    group_id: Id
    name: ShortText
    price_delta: SignedAmount = 0


class OrderLine(Struct, kw_only=True):
    id: Id
    product_id: Id
    name: ShortText
    qty: Qty
    unit_price: Amount  # product price plus modifier deltas
    line_total: Amount
    modifiers: list[LineModifier] = []
    note: Note = ""
    station: ShortText = "kitchen"
    # the line's own discount (minor units, within line_total); Order.discount includes it
    discount: Amount = 0
    # table service (defaults = a line placed with its order, as before)
    round: Annotated[int, Meta(ge=0, le=10_000)] = 0  # 0 = placed with the order, 1.. = rounds
    course: ShortText = ""
    state: LineState = "sent"  # a "voided" line keeps its figures but is not in the subtotal
    seat: Seat = 0
    void_reason: ShortText = ""
    voided_by: Id | None = None  # the manager who approved a void above the threshold, else staff
    added_at: datetime | None = None


class Payment(Struct, kw_only=True):
    id: Id
    order_id: Id
    method: PaymentMethod
    amount: Amount  # what this payment covers of the order
    tendered: Amount = 0  # cash handed over (cash only)
    change: Amount = 0
    reference: ShortText = ""
    created_at: datetime
    shift_id: Id | None = None
    staff_id: Id | None = None
    # payments confirmed by a gateway (QRIS, e-wallet) or by the cashier from a static QR
    attempt_id: Id | None = None  # the PaymentAttempt it settles
    gateway: ShortText = ""  # "midtrans", "xendit", "static" or "" (cash, card, other)
    verified: bool = True  # False: a static-QR payment the cashier confirmed by eye


class Order(Struct, kw_only=True):
    id: Id
    outlet_id: Id
    number: int  # daily queue number within the outlet's business day
    business_day: str  # YYYY-MM-DD in outlet local time
    type: OrderType
    status: OrderStatus
    currency: ShortText
    lines: list[OrderLine]
    subtotal: Amount
    discount: Amount
    service_charge: Amount
    tax: Amount
    rounding: SignedAmount
    total: Amount
    paid: Amount = 0
    payments: list[Payment] = []
    note: Note = ""
    customer_name: ShortText = ""
    table: ShortText = ""
    void_reason: ShortText = ""
    created_at: datetime
    updated_at: datetime
    source: ShortText = ""  # device name that placed it
    # discounts at the till: the reason (from the hub's list) and the manager who approved
    # a discount above the outlet's threshold; the manager who approved voiding a paid order
    discount_reason: ShortText = ""
    discount_approved_by: Id | None = None
    void_approved_by: Id | None = None
    refunded: Amount = 0  # refunds done or under way (gateway), never more than paid
    # table service (docs/table-service.md)
    table_id: Id | None = None
    covers: Covers = 0
    seated_at: datetime | None = None
    bill_requested_at: datetime | None = None
    revision: Annotated[int, Meta(ge=0)] = 0  # +1 on every change; If-Match for edits
    split_from: Id | None = None  # the bill this one is a part of
    split_part: ShortText = ""  # "2/3"
    split_into: list[Id] = []  # the parts of a "split" bill
    merged_into: Id | None = None  # the bill a "merged" bill's lines went to


class PaymentCreate(InputStruct):
    method: PaymentMethod
    amount: Amount
    tendered: Amount = 0
    reference: ShortText = ""


PaymentAttemptMethod = Literal["qris", "ewallet"]
PaymentAttemptStatus = Literal["pending", "paid", "expired", "cancelled", "failed"]
EwalletChannel = Literal["", "gopay", "ovo", "dana", "shopeepay"]


class PaymentAttemptCreate(InputStruct):
    """Ask the outlet's gateway for a QR (QRIS) or an e-wallet charge for ``amount``."""

    method: PaymentAttemptMethod
    amount: Annotated[int, Meta(ge=1, le=MAX_AMOUNT)]
    channel: EwalletChannel = ""
    # OVO (through Xendit) pushes the payment to the customer's phone: +62 and 8-13 digits
    mobile_number: Annotated[str, Meta(max_length=16, pattern=r"^(\+62[0-9]{8,13})?$")] = ""


class PaymentAttempt(Struct, kw_only=True):
    """One try at taking a cashless payment for an order through a gateway (or the outlet's
    static QR when the gateway cannot be reached). ``gateway_order_id`` is the id the
    gateway knows the charge by: the attempt's own id, so a create retried after a lost
    reply names the same charge and the gateway refuses a second one."""

    id: Id
    order_id: Id
    method: PaymentAttemptMethod
    channel: EwalletChannel = ""
    gateway: ShortText  # "midtrans" | "xendit" | "static"
    gateway_order_id: Id
    amount: Amount
    status: PaymentAttemptStatus
    qr_string: Annotated[str, Meta(max_length=1024)] = ""  # the QR's content (or checkout URL)
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    payment_id: Id | None = None  # the Payment recorded when it was paid
    # a confirmation arrived after the order was voided or cancelled, or the attempt was
    # cancelled: the payment is recorded AND flagged for refund
    late: bool = False


class OrderVoid(InputStruct):
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


Percent = Annotated[int, Meta(ge=0, le=100)]


class DiscountCreate(InputStruct, kw_only=True):
    """A discount at the till on the whole order (``line_id`` None) or one line: ``percent``
    of it, or a fixed ``amount`` (minor units); exactly one of the two. 0 removes it. It
    replaces the discount that order or line had; ``reason`` comes from the hub's list."""

    line_id: Id | None = None
    percent: Percent | None = None
    amount: Amount | None = None
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


class RefundLineCreate(InputStruct):
    line_id: Id
    qty: Qty = 1


RefundStatus = Literal["done", "pending", "failed"]


class RefundCreate(InputStruct, kw_only=True):
    """Give money back for a completed order: the whole of what is left (no ``lines``, no
    ``amount``), some lines (their share of what was paid), or an ``amount``. ``method`` is
    how the money goes back: "cash", "card" (done on the EDC terminal), or "qris"/"ewallet"
    through the gateway of ``payment_id`` (a gateway payment of this order)."""

    method: PaymentMethod = "cash"
    payment_id: Id | None = None
    amount: Annotated[int, Meta(ge=1, le=MAX_AMOUNT)] | None = None
    lines: Annotated[list[RefundLineCreate], Meta(max_length=100)] = []
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


class RefundLine(Struct, kw_only=True):
    line_id: Id
    qty: Qty
    amount: Amount


class Refund(Struct, kw_only=True):
    """Money given back for an order after it was handed over. ``status`` "pending" while a
    gateway refund is under way, "failed" (``error`` says why; retry it or refund in cash),
    "done" when the money went back. ``approved_by`` is the manager who approved it."""

    id: Id
    order_id: Id
    payment_id: Id | None = None
    method: PaymentMethod
    amount: Amount
    lines: list[RefundLine] = []
    reason: ShortText
    approved_by: Id
    gateway: ShortText = ""  # "midtrans" | "xendit" for a gateway refund
    gateway_refund_id: ShortText = ""
    status: RefundStatus
    error: ShortText = ""
    created_at: datetime
    updated_at: datetime | None = None
    shift_id: Id | None = None
    staff_id: Id | None = None


# ---------------------------------------------------------------- kitchen


class TicketLine(Struct, kw_only=True):
    name: ShortText
    qty: int
    modifiers: list[str] = []
    note: Note = ""
    # Translations from the catalog when the ticket was made (e.g. {"id": "Es Teh"}), so a
    # kitchen screen shows the language it is set to; ``modifier_names`` runs parallel to
    # ``modifiers``. Empty where the catalog has none: the screen falls back to the base name.
    names: dict[str, str] = {}
    modifier_names: list[dict[str, str]] = []


class KitchenTicket(Struct, kw_only=True):
    id: Id
    order_id: Id
    order_number: int
    order_type: OrderType
    station: ShortText
    status: TicketStatus
    lines: list[TicketLine]
    note: Note = ""
    created_at: datetime
    bumped_at: datetime | None = None
    # table service: the table's name, the round and the course this ticket fires
    table: ShortText = ""
    round: int = 0
    course: ShortText = ""


# ---------------------------------------------------------------- shifts


class ShiftOpen(InputStruct):
    opening_float: Amount


class CashMovementCreate(InputStruct):
    direction: Literal["in", "out"]
    amount: Annotated[int, Meta(ge=1, le=MAX_AMOUNT)]
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


class ShiftClose(InputStruct):
    counted_cash: Amount


class CashMovement(Struct, kw_only=True):
    id: Id
    shift_id: Id
    direction: Literal["in", "out"]
    amount: Amount
    reason: ShortText
    created_at: datetime
    staff_id: Id | None = None


class Shift(Struct, kw_only=True):
    id: Id
    outlet_id: Id
    opened_by: Id
    opened_at: datetime
    opening_float: Amount
    closed_by: Id | None = None
    closed_at: datetime | None = None
    counted_cash: Amount | None = None
    expected_cash: Amount | None = None
    difference: SignedAmount | None = None  # counted - expected
    device_id: Id | None = None  # the cashier device (till) whose drawer this shift counts


class ShiftReport(Struct, kw_only=True):
    """X report (shift still open, figures so far) or Z report (frozen at close).

    expected_cash = opening_float + cash_sales - cash_refunds + cash_in - cash_out, where
    cash_sales are the amounts cash payments covered (not what was tendered) and
    cash_refunds the cash paid for orders later voided plus cash refunds of handed-over orders.
    """

    kind: Literal["X", "Z"]
    shift: Shift
    generated_at: datetime
    sales_by_method: dict[str, int] = {}
    gross_sales: int = 0
    order_count: int = 0
    void_count: int = 0
    void_amount: int = 0
    cash_sales: int = 0
    cash_refunds: int = 0
    cash_in: int = 0
    cash_out: int = 0
    movements: list[CashMovement] = []
    expected_cash: int = 0
    counted_cash: int | None = None
    difference: int | None = None


# ---------------------------------------------------------------- printing


class PrinterCreate(InputStruct):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    host: Annotated[str, Meta(min_length=1, max_length=253)]
    port: Annotated[int, Meta(ge=1, le=65535)] = 9100
    role: Literal["receipt", "kitchen"] = "receipt"
    station: ShortText | None = None  # kitchen printers: one station, or None for all
    enabled: bool = True


class Printer(Struct, kw_only=True):
    id: Id
    name: ShortText
    host: Annotated[str, Meta(max_length=253)]  # as PrinterCreate takes it (a DNS name)
    port: int
    role: Literal["receipt", "kitchen"]
    station: ShortText | None = None
    enabled: bool = True
    status: Literal["unknown", "ok", "error"] = "unknown"
    last_error: ShortText = ""
    last_ok_at: datetime | None = None
    queued_jobs: int = 0
    failed_jobs: int = 0


class PrintRequest(InputStruct):
    kind: Literal["receipt", "kitchen", "prebill"] = "receipt"  # prebill: a table's check


class PrintJob(Struct, kw_only=True):
    id: Id
    printer_id: Id
    order_id: Id | None = None
    kind: Literal["receipt", "kitchen", "drawer"]
    status: Literal["queued", "printed", "failed"]
    attempts: int = 0
    last_error: ShortText = ""
    created_at: datetime
    printed_at: datetime | None = None


# ---------------------------------------------------------------- sync events
# One tagged union: the "kind" field names the event. Each carries a full snapshot of the
# record it concerns, so applying it is an upsert by id (idempotent, order-independent
# within a record when the higher sequence wins).


class OrderEvent(Struct, tag="order", tag_field="kind", kw_only=True):
    order: Order


class PaymentEvent(Struct, tag="payment", tag_field="kind", kw_only=True):
    payment: Payment


class KitchenEvent(Struct, tag="kitchen", tag_field="kind", kw_only=True):
    ticket_id: Id
    order_id: Id
    station: ShortText
    action: Literal["created", "bumped", "recalled", "undone"]
    at: datetime


class ShiftEvent(Struct, tag="shift", tag_field="kind", kw_only=True):
    shift: Shift


class CashMovementEvent(Struct, tag="cash_movement", tag_field="kind", kw_only=True):
    movement: CashMovement


class AvailabilityEvent(Struct, tag="availability", tag_field="kind", kw_only=True):
    """An outlet-local sold-out decision, reported so head office sees it."""

    product_id: Id
    available: bool
    at: datetime


class PaymentAttemptEvent(Struct, tag="payment_attempt", tag_field="kind", kw_only=True):
    """A payment attempt as it is now (created, paid, expired, cancelled, failed)."""

    attempt: PaymentAttempt


class RefundEvent(Struct, tag="refund", tag_field="kind", kw_only=True):
    """A refund as it is now (pending, done, failed)."""

    refund: Refund


EventBody = (OrderEvent | PaymentEvent | KitchenEvent | ShiftEvent | CashMovementEvent
             | AvailabilityEvent | PaymentAttemptEvent | RefundEvent)


# Bounds of a journal entry on the wire; its text is free of NUL (PostgreSQL text cannot hold
# it), checked by JournalEntry.__post_init__ rather than a ``pattern``: a pattern is one regex
# call per field, five per entry, and was a tenth of the hub's CPU per push.
MAX_EVENT_BYTES = 2 * 1024 * 1024
JournalId = Annotated[str, Meta(min_length=1, max_length=64)]
JournalHash = Annotated[str, Meta(max_length=128)]  # sha256 hex: 64
NUL_IN_FIELD = "text contains a NUL character in field "


class JournalEntry(Struct, kw_only=True):
    """One outbox event as it travels edge -> hub.

    ``seq`` is gap-free per (outlet, epoch); ``hash`` = sha256(prev_hash + seq + body bytes),
    chaining each entry to the one before it so the hub can prove the journal is complete.
    """

    outlet_id: JournalId
    epoch: JournalId  # changes when an edge database is re-created or restored
    seq: Annotated[int, Meta(ge=1, le=2**53)]
    event_id: JournalId
    occurred_at: datetime  # edge clock; the hub records its own receive time
    # msgpack-encoded EventBody, hashed exactly as sent (an order of 100 lines is ~100 KB)
    body: Annotated[bytes, Meta(max_length=MAX_EVENT_BYTES)]
    prev_hash: JournalHash
    hash: JournalHash

    def __post_init__(self) -> None:
        # msgspec turns this ValueError into a ValidationError at the entry's path
        for name in ("outlet_id", "epoch", "event_id", "prev_hash", "hash"):
            if "\x00" in getattr(self, name):
                raise ValueError(NUL_IN_FIELD + name)


# Decoders and encoders built once (msgspec guidance).
json_encoder = msgspec.json.Encoder()
event_encoder = msgspec.msgpack.Encoder()
event_decoder = msgspec.msgpack.Decoder(EventBody)
order_create_decoder = msgspec.json.Decoder(OrderCreate)
catalog_json_decoder = msgspec.json.Decoder(Catalog)
