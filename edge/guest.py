"""Guest ordering at the table: what a guest's phone may see and do from the table's QR page.

The sticker on a table carries ``/guest/#t=<token>``: the token (``FloorTable.guest_token``,
drawn at head office and rotated there) is in the URL's fragment, so it never reaches an
access log; the page sends it as the ``X-Table-Token`` header. This module:

* **identifies the table** from the token (``table_for_token``, through
  ``edge.tables.table_by_token``: ``hmac.compare_digest`` against every table's token,
  without stopping at the first match, so the time taken says nothing about how much of a
  guess was right); an empty, unknown or rotated token, or an inactive table's, is a 403;
* **shows the table its own bill only** (``guest_view``): the table's name and area, the
  outlet's mode, the menu, the lines of the table's open bill(s) with figures and the
  running total, and the table's own requests. Never another table, no payment detail
  beyond paid/due, no staff names or ids, no void reasons;
* **takes a round** (``place_order``): in mode "kitchen" it goes to the table's open bill at
  once (``edge.bills.add_round``; ``edge.bills.open_bill`` first when the table has none);
  in mode "confirm" it is stored as a pending request that staff accept (the round is then
  added as that staff member) or reject; mode "off" or an inactive table refuses (409).
  Either way a row in ``guest_requests`` records it: the waiter screens list them, the
  guest sees its own, and a retried send with the same Idempotency-Key returns that row;
* **calls the waiter or asks for the bill** (``call``): a pending call per kind per table
  (calling again while one is pending returns it) until staff acknowledge it;
* **rate-limits** the page (``GuestLimits``): token buckets per table and per client IP,
  kept in memory (a restart forgets them: harmless, they only slow a flood down).

Requests and calls publish on the live topic ``tables`` (types ``guest_request`` and
``guest_call``, data the staff view ``GuestRequest``) in the transaction that changes them.
Guest rounds are marked twice: ``add_round(source="guest")`` and the request row (its
``order_id`` and ``round``), which is how ``GuestBillLine.guest`` is known.

Every function takes the caller's connection (a write one where it changes anything) and
raises shared.errors; nothing here knows HTTP.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from edge import bills, live, orders, tables
from edge.auth import Principal
from edge.catalog import MenuCache, MenuIndex
from edge.outlet import OutletInfo
from shared.errors import Forbidden, IdempotencyConflict, InvalidState, NotFound, TooManyRequests
from shared.ids import new_id
from shared.pricing import unit_price
from shared.schemas import FloorPlan, FloorTable, Id, InputStruct, Order, OrderLineCreate

__all__ = [
    "GUEST_SOURCE",
    "MAX_ITEMS",
    "MAX_LINES",
    "MAX_PENDING_ORDERS",
    "MAX_QTY",
    "TOKEN_HEADER",
    "TOPIC",
    "GuestBill",
    "GuestCallCreate",
    "GuestLimits",
    "GuestOrderCreate",
    "GuestReject",
    "GuestRequest",
    "GuestRequestView",
    "GuestTable",
    "RateLimited",
    "RateLimiter",
    "accept",
    "call",
    "guest_bill",
    "guest_principal",
    "guest_side",
    "guest_view",
    "list_requests",
    "mode_of",
    "party_start",
    "place_order",
    "reject",
    "table_for_token",
]

TOPIC = "tables"
TOKEN_HEADER = "X-Table-Token"
GUEST_SOURCE = "guest"
MAX_TOKEN_CHARS = 128  # FloorTable.guest_token holds at most 64; longer is never a match
MAX_LINES = 20  # lines in one guest round
MAX_QTY = 20  # of one line
MAX_ITEMS = 50  # all lines of a round together
MAX_PENDING_ORDERS = 5  # unanswered rounds a table may have waiting for a waiter
PARTY_HOURS = 8  # requests older than this never belong to the party at the table now
OPEN_STATES = orders.OPEN_STATES

_canonical = msgspec.json.Encoder(order="sorted")
_json = msgspec.json.Encoder()
_lines_in = msgspec.json.Decoder(list[OrderLineCreate])


# ---------------------------------------------------------------- wire types
# Edge-only: no other program reads them (the hub never sees a guest request).


class GuestLine(InputStruct):
    """One item a guest adds: the menu's product and options, a small quantity, a note."""

    product_id: Id
    qty: Annotated[int, Meta(ge=1, le=MAX_QTY)] = 1
    modifiers: Annotated[list[Id], Meta(max_length=20)] = msgspec.field(default_factory=list)
    note: Annotated[str, Meta(max_length=200)] = ""


class GuestOrderCreate(InputStruct):
    lines: Annotated[list[GuestLine], Meta(min_length=1, max_length=MAX_LINES)]


class GuestCallCreate(InputStruct):
    kind: Literal["waiter", "bill"]


class GuestReject(InputStruct):
    reason: Annotated[str, Meta(max_length=200)] = ""


RequestKind = Literal["order", "waiter", "bill"]
RequestStatus = Literal["pending", "accepted", "rejected"]


class GuestRequestLine(Struct, kw_only=True):
    product_id: str
    name: str
    qty: int
    modifiers: list[str] = []  # option names; option_ids runs parallel (the page translates)
    option_ids: list[str] = []
    note: str = ""
    line_total: int = 0


class GuestRequest(Struct, kw_only=True):
    """A guest's round or call as staff see it (GET /api/v1/guest-requests, live events)."""

    id: str
    table_id: str
    table: str
    kind: RequestKind
    status: RequestStatus
    lines: list[GuestRequestLine] = []
    subtotal: int = 0  # the lines' total when the guest sent them, before service and tax
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None  # staff id
    order_id: str | None = None
    round: int | None = None
    reason: str = ""


class GuestRequestView(Struct, kw_only=True):
    """The same request as the guest's phone sees it: no staff, no ids but its own."""

    id: str
    kind: RequestKind
    status: RequestStatus
    lines: list[GuestRequestLine] = []
    subtotal: int = 0
    created_at: datetime
    reason: str = ""


class GuestBillLine(Struct, kw_only=True):
    product_id: str
    name: str
    qty: int
    modifiers: list[str] = []
    option_ids: list[str] = []
    note: str = ""
    line_total: int
    state: str  # sent | held | voided (a voided line is shown struck out, not charged)
    round: int = 0
    guest: bool = False  # added from the QR page


class GuestBill(Struct, kw_only=True):
    """The table's open bill(s) added up, as the guest sees them."""

    currency: str
    lines: list[GuestBillLine]
    subtotal: int
    discount: int
    service_charge: int
    tax: int
    rounding: int
    total: int
    paid: int
    due: int
    bill_requested: bool = False


class GuestTable(Struct, kw_only=True):
    name: str
    area: str


# ---------------------------------------------------------------- the table of a token


def table_for_token(conn: sqlite3.Connection, token: str) -> tuple[FloorTable, FloorPlan]:
    """The table whose QR token this is, and the floor plan; 403 for any other token.

    ``edge.tables.table_by_token`` compares the token with every table's in constant time
    and knows only active tables; tokens longer than any table's are refused unread."""
    found = tables.table_by_token(conn, token) if len(token) <= MAX_TOKEN_CHARS else None
    if found is None:
        raise Forbidden("this table's QR code is not valid (any more): ask the staff",
                        details={"header": TOKEN_HEADER})
    return found, tables.floor_plan(conn)


def guest_principal(table: FloorTable) -> Principal:
    """Who a guest round is placed by in mode "kitchen": the table's QR page."""
    return Principal(device_id=f"guest:{table.id}", device_role="guest",
                     device_name=GUEST_SOURCE)


def mode_of(table: FloorTable, plan: FloorPlan) -> str:
    return plan.guest_orders if table.active else "off"


# ---------------------------------------------------------------- what the guest sees


def guest_view(conn: sqlite3.Connection, table: FloorTable, plan: FloorPlan, menu: MenuCache,
               now: datetime, include_menu: bool = True) -> dict[str, Any]:
    """GET /api/v1/guest/table: the table, the mode, the menu, its bill and the requests of
    the party sitting there now."""
    index = menu.get(conn)
    area = next((a for a in plan.areas if a.id == table.area_id), None)
    view: dict[str, Any] = {
        "table": GuestTable(name=table.name, area=area.name if area else ""),
        "area_names": dict(area.names) if area else {},
        "mode": mode_of(table, plan),
        "menu_revision": index.revision,
        "bill": guest_bill(conn, table.id, index.currency),
        "requests": [guest_side(r) for r in _table_requests(conn, table.id, now)],
    }
    if include_menu:
        view["menu"] = msgspec.Raw(index.json)
    return view


def guest_bill(conn: sqlite3.Connection, table_id: str, currency: str) -> GuestBill | None:
    """The table's open bills as one, or None when it has none."""
    open_bills = _open_bills(conn, table_id)
    if not open_bills:
        return None
    guest_rounds = {(r[0], r[1]) for r in conn.execute(
        "SELECT order_id, round FROM guest_requests WHERE table_id = ? AND kind = 'order'"
        " AND status = 'accepted' AND order_id IS NOT NULL", (table_id,))}
    lines = [GuestBillLine(product_id=line.product_id, name=line.name, qty=line.qty,
                           modifiers=[m.name for m in line.modifiers],
                           option_ids=[m.option_id for m in line.modifiers], note=line.note,
                           line_total=line.line_total, state=line.state, round=line.round,
                           guest=(bill.id, line.round) in guest_rounds)
             for bill in open_bills for line in bill.lines]

    def total(figure: Callable[[Order], int]) -> int:
        return sum(figure(bill) for bill in open_bills)

    paid = total(lambda b: b.paid)
    grand = total(lambda b: b.total)
    return GuestBill(currency=open_bills[0].currency or currency, lines=lines,
                     subtotal=total(lambda b: b.subtotal), discount=total(lambda b: b.discount),
                     service_charge=total(lambda b: b.service_charge),
                     tax=total(lambda b: b.tax), rounding=total(lambda b: b.rounding),
                     total=grand, paid=paid, due=max(0, grand - paid),
                     bill_requested=any(b.bill_requested_at for b in open_bills))


def _open_bills(conn: sqlite3.Connection, table_id: str) -> list[Order]:
    return [bill for bill in tables.open_bills(conn, table_id) if bill.status in OPEN_STATES]


# ---------------------------------------------------------------- a guest's round


def request_hash(data: GuestOrderCreate | GuestCallCreate) -> str:
    return hashlib.sha256(_canonical.encode(data)).hexdigest()


def place_order(conn: sqlite3.Connection, table: FloorTable, plan: FloorPlan,
                data: GuestOrderCreate, *, outlet: OutletInfo, menu: MenuCache, now: datetime,
                idempotency_key: str) -> tuple[GuestRequest, bool]:
    """A guest's round: on the bill at once (mode "kitchen") or waiting for a waiter
    ("confirm"); returns the request and whether it is new (False: a replayed key)."""
    fingerprint = request_hash(data)
    seen = _find_key(conn, table.id, idempotency_key)
    if seen is not None:
        if seen[1] != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was already used for another request",
                                      details={"idempotency_key": idempotency_key})
        return _load(conn, seen[0]), False
    mode = mode_of(table, plan)
    if mode == "off":
        raise InvalidState("this table does not take orders from its QR code now: ask the staff",
                           details={"guest_orders": "off"})
    if sum(line.qty for line in data.lines) > MAX_ITEMS:
        raise InvalidState(f"at most {MAX_ITEMS} items in one round",
                           details={"max_items": MAX_ITEMS})
    lines = [OrderLineCreate(product_id=line.product_id, qty=line.qty,
                             modifiers=list(line.modifiers), note=line.note)
             for line in data.lines]
    index = menu.get(conn)
    shown = _priced(index, lines)  # 400 / 422 now, not when a waiter accepts
    request = GuestRequest(id=new_id(), table_id=table.id, table=table.name, kind="order",
                           status="pending", lines=shown,
                           subtotal=sum(line.line_total for line in shown), created_at=now)
    if mode == "kitchen":
        order, round_ = _add_round(conn, table.id, lines, outlet=outlet, menu=menu,
                                   principal=guest_principal(table), now=now)
        request = msgspec.structs.replace(request, status="accepted", decided_at=now,
                                          order_id=order.id, round=round_)
    else:
        waiting = conn.execute("SELECT count(*) FROM guest_requests WHERE table_id = ?"
                               " AND kind = 'order' AND status = 'pending' AND created_at > ?",
                               (table.id, party_start(conn, table.id, now))).fetchone()[0]
        if waiting >= MAX_PENDING_ORDERS:
            raise InvalidState("this table already has rounds waiting for a waiter",
                               details={"pending": waiting, "max_pending": MAX_PENDING_ORDERS})
    _insert(conn, request, lines, idempotency_key, fingerprint)
    _publish(conn, request, now)
    return request, True


def call(conn: sqlite3.Connection, table: FloorTable, data: GuestCallCreate,
         now: datetime) -> tuple[GuestRequest, bool]:
    """Call the waiter or ask for the bill (the table's open bills are then marked bill
    requested); a call of that kind still pending is returned."""
    if data.kind == "bill":
        for bill in _open_bills(conn, table.id):
            bills.request_bill(conn, bill.id, now=now)  # asked already: unchanged
    row = conn.execute("SELECT id FROM guest_requests WHERE table_id = ? AND kind = ?"
                       " AND status = 'pending' AND created_at > ? ORDER BY created_at LIMIT 1",
                       (table.id, data.kind, party_start(conn, table.id, now))).fetchone()
    if row is not None:
        return _load(conn, row[0]), False
    request = GuestRequest(id=new_id(), table_id=table.id, table=table.name, kind=data.kind,
                           status="pending", created_at=now)
    _insert(conn, request, [], None, request_hash(data))
    _publish(conn, request, now)
    return request, True


def _priced(index: MenuIndex, lines: list[OrderLineCreate]) -> list[GuestRequestLine]:
    return [GuestRequestLine(product_id=r.product.id, name=r.product.name, qty=r.qty,
                             modifiers=[m.name for m in r.modifiers],
                             option_ids=[m.option_id for m in r.modifiers], note=r.note,
                             line_total=unit_price(r.priced.base_price,
                                                   r.priced.option_deltas) * r.qty)
            for r in index.resolve(lines)]


def _add_round(conn: sqlite3.Connection, table_id: str, lines: list[OrderLineCreate], *,
               outlet: OutletInfo, menu: MenuCache, principal: Principal,
               now: datetime) -> tuple[Order, int]:
    """Add ``lines`` as a round to the table's (oldest) open bill, opening one if it has none;
    the bill and the number of the round."""
    open_bills = _open_bills(conn, table_id)
    if open_bills:
        bill = open_bills[0]
    else:
        bill, _ = bills.open_bill(conn, table_id, 0, outlet=outlet, principal=principal, now=now)
    order, _ = bills.add_round(conn, bill.id, lines, outlet=outlet, menu=menu,
                               principal=principal, now=now, source=GUEST_SOURCE)
    return order, max((line.round for line in order.lines), default=0)


# ---------------------------------------------------------------- staff side


def list_requests(conn: sqlite3.Connection, status: str | None = None, kind: str | None = None,
                  limit: int = 100) -> list[GuestRequest]:
    """Newest first; ``status`` pending | accepted | rejected and ``kind`` order | call
    (waiter or bill), or every one."""
    sql, args = "SELECT * FROM guest_requests WHERE 1 = 1", []
    if status:
        sql += " AND status = ?"
        args.append(status)
    if kind == "order":
        sql += " AND kind = 'order'"
    elif kind == "call":
        sql += " AND kind IN ('waiter', 'bill')"
    sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
    args.append(limit)
    return [_from_row(row) for row in conn.execute(sql, args)]


def accept(conn: sqlite3.Connection, request_id: str, *, outlet: OutletInfo, menu: MenuCache,
           principal: Principal, now: datetime) -> tuple[GuestRequest, Order | None]:
    """Accept a round (added to the table's bill as ``principal``; the bill is returned) or
    acknowledge a call; accepting again adds nothing and returns the request and its bill as
    they are; a rejected one cannot be accepted (409)."""
    request = _load(conn, request_id)
    if request.status == "accepted":
        return request, orders.load_order(conn, request.order_id) if request.order_id else None
    if request.status == "rejected":
        raise InvalidState("this request was rejected", details={"request_id": request.id})
    order, order_id, round_ = None, None, None
    if request.kind == "order":
        row = conn.execute("SELECT body FROM guest_requests WHERE id = ?", (request.id,)).fetchone()
        order, round_ = _add_round(conn, request.table_id, _lines_in.decode(row[0]),
                                   outlet=outlet, menu=menu, principal=principal, now=now)
        order_id = order.id
    decided = msgspec.structs.replace(request, status="accepted", decided_at=now,
                                      decided_by=principal.staff_id or principal.device_id,
                                      order_id=order_id, round=round_)
    _update(conn, decided)
    _publish(conn, decided, now)
    return decided, order


def reject(conn: sqlite3.Connection, request_id: str, reason: str, *, principal: Principal,
           now: datetime) -> GuestRequest:
    """Refuse a pending round or dismiss a call; rejecting again changes nothing; an accepted
    round cannot be rejected (void its lines on the bill instead: 409)."""
    request = _load(conn, request_id)
    if request.status == "rejected":
        return request
    if request.status == "accepted":
        raise InvalidState("this request was already accepted", details={
            "request_id": request.id, "order_id": request.order_id})
    decided = msgspec.structs.replace(request, status="rejected", decided_at=now,
                                      decided_by=principal.staff_id or principal.device_id,
                                      reason=reason.strip())
    _update(conn, decided)
    _publish(conn, decided, now)
    return decided


# ---------------------------------------------------------------- storage and events


def _publish(conn: sqlite3.Connection, request: GuestRequest, now: datetime) -> None:
    kind = "guest_request" if request.kind == "order" else "guest_call"
    live.publish(conn, TOPIC, kind, msgspec.to_builtins(request), now=now)


def guest_side(request: GuestRequest) -> GuestRequestView:
    """What the guest's phone is told about its own request."""
    return GuestRequestView(id=request.id, kind=request.kind, status=request.status,
                            lines=request.lines, subtotal=request.subtotal,
                            created_at=request.created_at, reason=request.reason)


def party_start(conn: sqlite3.Connection, table_id: str, now: datetime) -> str:
    """When the party at the table now sat down, as far as guest requests go: after the last
    bill at the table was closed (completed, voided, moved away, split or merged), and within
    the last PARTY_HOURS. Requests from before belong to earlier guests: their phones' page
    never shows them, and a call of theirs nobody answered does not swallow a new one."""
    since = (now - timedelta(hours=PARTY_HOURS)).isoformat()
    row = conn.execute("SELECT max(updated_at) FROM orders WHERE table_id = ?"
                       " AND status NOT IN ('placed', 'in_kitchen', 'ready')", (table_id,)).fetchone()
    return max(since, row[0]) if row and row[0] else since


def _table_requests(conn: sqlite3.Connection, table_id: str, now: datetime,
                    limit: int = 30) -> list[GuestRequest]:
    # The newest 30 of the party at the table bound what a phone downloads.
    rows = conn.execute("SELECT * FROM guest_requests WHERE table_id = ? AND created_at > ?"
                        " ORDER BY created_at DESC, id DESC LIMIT ?",
                        (table_id, party_start(conn, table_id, now), limit))
    return [_from_row(row) for row in rows]


_line_list = msgspec.json.Decoder(list[GuestRequestLine])


def _from_row(row: sqlite3.Row) -> GuestRequest:
    return GuestRequest(
        id=row["id"], table_id=row["table_id"], table=row["table_name"], kind=row["kind"],
        status=row["status"], lines=_line_list.decode(row["lines"]), subtotal=row["subtotal"],
        created_at=datetime.fromisoformat(row["created_at"]),
        decided_at=datetime.fromisoformat(row["decided_at"]) if row["decided_at"] else None,
        decided_by=row["decided_by"], order_id=row["order_id"], round=row["round"],
        reason=row["reason"])


def _load(conn: sqlite3.Connection, request_id: str) -> GuestRequest:
    row = conn.execute("SELECT * FROM guest_requests WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        raise NotFound("no such guest request", details={"request_id": request_id})
    return _from_row(row)


def _find_key(conn: sqlite3.Connection, table_id: str, key: str) -> tuple[str, str] | None:
    row = conn.execute("SELECT id, request_hash FROM guest_requests"
                       " WHERE table_id = ? AND idempotency_key = ?", (table_id, key)).fetchone()
    return (row[0], row[1]) if row else None


def _insert(conn: sqlite3.Connection, request: GuestRequest, body: list[OrderLineCreate],
            key: str | None, fingerprint: str) -> None:
    conn.execute(
        "INSERT INTO guest_requests (id, table_id, table_name, kind, status, body, lines,"
        " subtotal, idempotency_key, request_hash, order_id, round, reason, decided_by,"
        " created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (request.id, request.table_id, request.table, request.kind, request.status,
         _json.encode(body).decode(), _json.encode(request.lines).decode(), request.subtotal,
         key, fingerprint, request.order_id, request.round, request.reason, request.decided_by,
         request.created_at.isoformat(),
         request.decided_at.isoformat() if request.decided_at else None))


def _update(conn: sqlite3.Connection, request: GuestRequest) -> None:
    conn.execute("UPDATE guest_requests SET status = ?, order_id = ?, round = ?, reason = ?,"
                 " decided_by = ?, decided_at = ? WHERE id = ?",
                 (request.status, request.order_id, request.round, request.reason,
                  request.decided_by,
                  request.decided_at.isoformat() if request.decided_at else None, request.id))


# ---------------------------------------------------------------- rate limits


class RateLimited(TooManyRequests):
    """429 with the seconds to wait (the API puts them in Retry-After)."""

    def __init__(self, message: str, retry_after: int, scope: str) -> None:
        super().__init__(message, details={"retry_after_seconds": retry_after, "scope": scope})
        self.retry_after = retry_after


class RateLimiter:
    """Token buckets by key: ``capacity`` requests at once, refilled at ``capacity`` per
    ``window`` seconds. At most ``max_keys`` buckets are kept (least recently used dropped)."""

    def __init__(self, capacity: int, window: float, max_keys: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / window
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one request of ``key``: 0 when allowed, else the seconds until one is."""
        return self._spend(key, spend=True)

    def peek(self, key: str) -> float:
        """What ``take`` would answer, spending nothing."""
        return self._spend(key, spend=False)

    def _spend(self, key: str, spend: bool) -> float:
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        wait = 0.0
        if tokens < 1:
            wait = (1 - tokens) / self.rate
        elif spend:
            tokens -= 1
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class GuestLimits:
    """The guest page's limits: reads (its polling) and writes (rounds and calls), each per
    table and per client IP, and refused tokens per IP. A page polls every 5 s (12 reads a
    minute); a table of phones stays far below 120. Writes: 10 a minute per table, 30 per
    IP. A phone never sends a wrong token by mistake (it comes from the sticker), so 20
    refused tokens in a minute stop that IP altogether until the bucket refills."""

    READS_PER_MINUTE = 120
    TABLE_WRITES_PER_MINUTE = 10
    IP_WRITES_PER_MINUTE = 30
    REFUSED_TOKENS_PER_MINUTE = 20

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.reads_by_ip = RateLimiter(self.READS_PER_MINUTE, 60, clock=clock)
        self.reads_by_table = RateLimiter(self.READS_PER_MINUTE, 60, clock=clock)
        self.writes_by_ip = RateLimiter(self.IP_WRITES_PER_MINUTE, 60, clock=clock)
        self.writes_by_table = RateLimiter(self.TABLE_WRITES_PER_MINUTE, 60, clock=clock)
        self.refused_by_ip = RateLimiter(self.REFUSED_TOKENS_PER_MINUTE, 60, clock=clock)

    def check_ip(self, ip: str, write: bool) -> None:
        """Before the token is looked at, so guessing tokens is limited too."""
        wait = self.refused_by_ip.peek(ip)
        if wait > 0:
            raise RateLimited("too many invalid QR codes from this device: wait a moment",
                              retry_after=max(1, math.ceil(wait)), scope="token")
        self._check(self.writes_by_ip if write else self.reads_by_ip, ip, "ip")

    def refused(self, ip: str) -> None:
        """A request from ``ip`` carried a token that is no table's."""
        self.refused_by_ip.take(ip)

    def check_table(self, table_id: str, write: bool) -> None:
        self._check(self.writes_by_table if write else self.reads_by_table, table_id, "table")

    @staticmethod
    def _check(limiter: RateLimiter, key: str, scope: str) -> None:
        wait = limiter.take(key)
        if wait > 0:
            raise RateLimited("too many requests from this table's page: wait a moment",
                              retry_after=max(1, math.ceil(wait)), scope=scope)
