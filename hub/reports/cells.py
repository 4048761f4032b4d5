"""Day cells: the figures of one (outlet, business day), computed from the raw synced rows.

Every figure of a sales report is a sum or a histogram, so cells merge by adding
(``DayCell.merge``): a report over any period and set of outlets is the sum of its cells,
whether they come from the stored roll-ups (``hub.reports.rollups``) or are computed live
here from orders, order lines, payments and kitchen events (``compute_cells``: one SQL
GROUP BY per kind of figure, no PostgreSQL-only SQL, so the same statements run on SQLite).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BigInteger, Select, and_, case, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from hub.models import (
    REPORT_SCALARS,
    STATEMENT_SCALARS,
    KitchenEventRow,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    RefundRow,
)

__all__ = ["LIVE_PLAN_SETTINGS", "NOT_SALE_STATUSES", "VOID_STATUSES", "CellKey", "DayCell", "LiveFilter",
           "compute_cells", "hour_buckets", "is_sale", "item_lines", "live_days", "live_statements",
           "new_cells", "outlet_zone", "reason_key", "utc_offset_segments"]

log = logging.getLogger("hub.reports")

VOID_STATUSES = ("voided", "cancelled")
# Table service (docs/table-service.md, "Money rules"): a "split" bill's money is on its parts,
# a "merged" bill's on the bill that received its lines; neither is a sale nor a void.
MOVED_STATUSES = ("split", "merged")
NOT_SALE_STATUSES = VOID_STATUSES + MOVED_STATUSES

# PostgreSQL settings (SET LOCAL) the live statements are planned with, on both paths
# (``compute_cells``; the fast path's reader, ``hub.reports.fast``):
# * work_mem: hash aggregates over a month of lines need more than the default 4 MB, else
#   they sort on disk;
# * enable_nestloop off: right after a large sync the planner's statistics can still say the
#   fact tables are nearly empty (autovacuum analyzes later, partitioned parents never), and
#   its nested loops over what it thinks are a few rows went quadratic: a live month of
#   19,000 orders took 69 s instead of 0.3 s, two live days of 1,200 orders 10.7 s on the
#   reader (tests/bench/bench_hub_reports.py --no-analyze). Hash joins cost little more on a
#   small day;
# * jit off: a nested loop that must stay (the reader's wrapper is one) then costs 1e10, so
#   PostgreSQL JIT-compiled statements that run in a few ms, for 0.3-1.1 s each.
LIVE_PLAN_SETTINGS = (("work_mem", "64MB"), ("enable_nestloop", "off"), ("jit", "off"))


# ---------------------------------------------------------------- portable SQL pieces


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970 of a UTC timestamp column, on PostgreSQL and SQLite."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds)  # PostgreSQL, and the default for printing a statement
@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # date_part() is double precision (EXTRACT is numeric since PostgreSQL 14: much slower);
    # a double holds today's epoch to well under a microsecond, so FLOOR is exact.
    return f"CAST(FLOOR(date_part('epoch', {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # SQLite keeps UTC datetimes as ISO text; strftime('%s') reads it (fractions dropped).
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def _int_sql(value: int) -> ColumnElement[int]:
    """An integer rendered inline: GROUP BY on PostgreSQL needs identical expressions, which
    two separately bound parameters are not."""
    return literal_column(str(int(value)), BigInteger())


def _offset_seconds(tz: ZoneInfo, moment: datetime) -> int:
    offset = moment.astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@functools.lru_cache(maxsize=1024)
def utc_offset_segments(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(segment start, UTC offset seconds)] covering [start, end): the offset changes only
    at the zone's transitions (DST), found to the minute. Kept per (zone, period): a pure
    function of its arguments, and an hour-by-hour walk of a month costs milliseconds per
    outlet (the answer is shared: not to be changed)."""
    segments = [(start, _offset_seconds(tz, start))]
    moment = start
    while moment < end:
        step = moment + timedelta(hours=1)
        offset = _offset_seconds(tz, step)
        if offset != segments[-1][1]:
            probe = moment
            while _offset_seconds(tz, probe) != offset:
                probe += timedelta(minutes=1)
            segments.append((probe, offset))
        moment = step
    return segments


def _offset_at(segments: list[tuple[datetime, int]], epoch: int) -> int:
    """The UTC offset in force at ``epoch`` seconds, from utc_offset_segments()."""
    offset = segments[0][1]
    for moment, seg_offset in segments[1:]:
        if moment.timestamp() > epoch:
            break
        offset = seg_offset
    return offset


# ---------------------------------------------------------------- mergeable figures


@dataclass
class DayCell:
    """The figures of one (outlet, business day); cells merge by adding."""

    order_count: int = 0
    gross_total: int = 0
    paid_orders: int = 0
    void_count: int = 0
    void_amount: int = 0
    voided_unpaid: int = 0
    refund_count: int = 0
    refund_amount: int = 0
    # The sales statement (``statement_of``): every sale, then the sales not fully paid
    # ("open"); the sales' order count and total are ``order_count`` and ``gross_total``,
    # the open ones' count is ``order_count - paid_orders``.
    sales_gross: int = 0  # sum of subtotals: line totals at menu prices
    sales_discount: int = 0  # order and line discounts
    sales_service: int = 0
    sales_tax: int = 0
    sales_rounding: int = 0
    sales_paid: int = 0  # payments, each order's counted up to its total
    sales_overpaid: int = 0  # payments beyond an order's total
    open_gross: int = 0
    open_discount: int = 0
    open_service: int = 0
    open_tax: int = 0
    open_rounding: int = 0
    open_total: int = 0
    open_paid: int = 0
    hours: dict[int, list[int]] = field(default_factory=dict)  # hour -> [orders, amount]
    products: dict[str, list[Any]] = field(default_factory=dict)  # id -> [name, qty, revenue]
    methods: dict[str, list[int]] = field(default_factory=dict)  # method -> [count, amount]
    prep: dict[int, int] = field(default_factory=dict)  # seconds -> tickets
    refunds: dict[str, list[int]] = field(default_factory=dict)  # method -> [count, amount]
    # reason_key(reason) -> [reason, orders, discount]
    discounts: dict[str, list[Any]] = field(default_factory=dict)

    def merge(self, other: DayCell) -> None:
        self.add_scalars(other)
        self.merge_breakdowns(other)

    def add_scalars(self, other: DayCell) -> None:
        for name in REPORT_SCALARS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def merge_breakdowns(self, other: DayCell) -> None:
        for hour, (count, amount) in other.hours.items():
            slot = self.hours.setdefault(hour, [0, 0])
            slot[0] += count
            slot[1] += amount
        for product_id, (name, qty, revenue) in other.products.items():
            slot = self.products.setdefault(product_id, [name, 0, 0])
            slot[0] = max(slot[0], name)  # renamed in the period: the alphabetically last
            slot[1] += qty
            slot[2] += revenue
        for method, (count, amount) in other.methods.items():
            slot = self.methods.setdefault(method, [0, 0])
            slot[0] += count
            slot[1] += amount
        for seconds, tickets in other.prep.items():
            self.prep[seconds] = self.prep.get(seconds, 0) + tickets
        for method, (count, amount) in other.refunds.items():
            slot = self.refunds.setdefault(method, [0, 0])
            slot[0] += count
            slot[1] += amount
        for key, (reason, count, amount) in other.discounts.items():
            slot = self.discounts.setdefault(key, [reason, 0, 0])
            slot[1] += count
            slot[2] += amount

    def scalars(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in REPORT_SCALARS}

    def items(self) -> list[tuple[str, str, str, int, int]]:
        """The breakdowns as (kind, key, name, count, amount) rows for report_daily_items."""
        rows = [("hour", str(h), "", n, amount) for h, (n, amount) in self.hours.items()]
        rows += [("product", pid, name, qty, revenue)
                 for pid, (name, qty, revenue) in self.products.items()]
        rows += [("method", m, "", n, amount) for m, (n, amount) in self.methods.items()]
        rows += [("prep", str(seconds), "", n, 0) for seconds, n in self.prep.items()]
        rows += [("refund", m, "", n, amount) for m, (n, amount) in self.refunds.items()]
        rows += [("discount", key, reason, n, amount)
                 for key, (reason, n, amount) in self.discounts.items()]
        return rows

    def add_item(self, kind: str, key: str, name: str, count: int, amount: int) -> None:
        if kind == "hour":
            self.hours[int(key)] = [count, amount]
        elif kind == "product":
            self.products[key] = [name, count, amount]
        elif kind == "method":
            self.methods[key] = [count, amount]
        elif kind == "prep":
            self.prep[int(key)] = count
        elif kind == "refund":
            self.refunds[key] = [count, amount]
        elif kind == "discount":
            self.discounts[key] = [name, count, amount]


CellKey = tuple[str, date]  # (outlet_id, business_day)


def reason_key(reason: str) -> str:
    """The key of a discount reason in ``report_daily_items`` (a reason may be longer than
    a key column holds)."""
    return hashlib.sha256(reason.encode()).hexdigest()[:32]


class _Zoned(Protocol):
    """An outlet as the live figures need it (``hub.models.Outlet``, or its row)."""

    @property
    def id(self) -> str: ...

    @property
    def timezone(self) -> str: ...


def outlet_zone(outlet: _Zoned) -> ZoneInfo:
    """The outlet's timezone (UTC, with a warning, when it is unknown)."""
    try:
        return ZoneInfo(outlet.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("outlet %s has unknown timezone %r; reporting hours in UTC",
                    outlet.id, outlet.timezone)
        return ZoneInfo("UTC")



# ---------------------------------------------------------------- raw aggregation


def is_sale(orders: Any = OrderRow) -> ColumnElement[bool]:
    """An order whose money is a sale: not voided or cancelled, not a split or merged bill."""
    return orders.status.not_in(NOT_SALE_STATUSES)


def _not_void() -> ColumnElement[bool]:
    return is_sale()


def item_lines(tenant_id: Any) -> ColumnElement[bool]:
    """The lines (joined with their ``OrderRow``) that count as items sold: items where they
    were ordered, never a voided line. The lines of sales that are not split parts (a part's
    lines are copies, or an even share), and the lines of a "split" bill once every one of
    its parts is here and is a sale."""
    parts = aliased(OrderRow)
    sale_parts = (select(func.count()).select_from(parts)
                  .where(parts.tenant_id == tenant_id, parts.split_from == OrderRow.id,
                         is_sale(parts))
                  .scalar_subquery())
    return and_(OrderLineRow.state != "voided",
                or_(and_(is_sale(), OrderRow.split_from.is_(None)),
                    and_(OrderRow.status == "split", OrderRow.split_count > 0,
                         OrderRow.split_count == sale_parts)))


class _Cells(dict[CellKey, DayCell]):
    def cell(self, outlet_id: str, day: date) -> DayCell:
        found = self.get((outlet_id, day))
        if found is None:
            found = self[(outlet_id, day)] = DayCell()
        return found


@dataclass(frozen=True)
class LiveFilter:
    """What the live statements filter by: values (``compute_cells``) or bind parameters
    (statements built once for ``hub.reports.fast``). ``base`` filters the orders."""

    tenant: Any
    base: tuple[ColumnElement[bool], ...]
    day_from: Any
    day_to: Any


@dataclass
class _Hours:
    """How ``_add_orders`` maps a UTC time bucket to the outlet's local hour."""

    bucket_seconds: int
    segments: dict[str, list[tuple[datetime, int]]]


def hour_buckets(outlets: Sequence[_Zoned], day_from: date, day_to: date) -> _Hours:
    """The UTC bucket size (an hour, or 15 minutes when a zone's offset is not whole hours)
    and each outlet's UTC offsets over the period (DST-exact)."""
    start = datetime.combine(day_from - timedelta(days=2), datetime.min.time(), UTC)
    end = datetime.combine(day_to + timedelta(days=3), datetime.min.time(), UTC)
    segments = {o.id: utc_offset_segments(outlet_zone(o), start, end) for o in outlets}
    whole_hours = all(offset % 3600 == 0 and int(moment.timestamp()) % 3600 == 0
                      for segs in segments.values() for moment, offset in segs[1:]) and all(
        segs[0][1] % 3600 == 0 for segs in segments.values())
    return _Hours(3600 if whole_hours else 900, segments)


def live_days(day_from: date, day_to: date, only: set[CellKey] | None) -> tuple[date, date]:
    """The first and last day of the cells computed live: the period, or the days of
    ``only`` (the local hours are worked out around them)."""
    if not only:
        return day_from, day_to
    days = [day for _, day in only]
    return min(days), max(days)


# A live statement and what adds its rows to the cells.
LiveStep = tuple[Select[Any], Callable[[_Cells, Iterable[Any], _Hours], None]]


def live_statements(where: LiveFilter, bucket_seconds: int) -> list[LiveStep]:
    """The statements that aggregate the raw rows into cells, one GROUP BY per kind of
    figure, each with the function that adds its rows to the cells."""
    return [(_orders_statement(where, bucket_seconds), _add_orders),
            (_products_statement(where), _add_products),
            (_methods_statement(where), _add_methods),
            (_prep_statement(where), _add_prep),
            (_refunds_statement(where), _add_refunds),
            (_discounts_statement(where), _add_discounts)]


def new_cells() -> _Cells:
    return _Cells()


async def compute_cells(session: AsyncSession, tenant_id: str, outlets: Sequence[_Zoned],
                        day_from: date, day_to: date,
                        only: set[CellKey] | None = None) -> dict[CellKey, DayCell]:
    """Aggregate the raw synced rows into per-(outlet, day) cells with SQL GROUP BYs.

    ``only`` restricts the result to those cells (the query still filters by the outlets and
    the day range; days are also filtered when there are few of them)."""
    if not outlets:
        return {}
    outlet_ids = [o.id for o in outlets]
    base = [OrderRow.tenant_id == tenant_id, OrderRow.outlet_id.in_(outlet_ids),
            OrderRow.business_day >= day_from, OrderRow.business_day <= day_to]
    if only is not None:
        if not only:
            return {}
        days = sorted({day for _, day in only})
        if len(days) <= 62:
            base.append(OrderRow.business_day.in_(days))
        base[1] = OrderRow.outlet_id.in_(sorted({outlet for outlet, _ in only}))
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        # set_config(..., true) is SET LOCAL, and all of them take one round trip
        await session.execute(text("SELECT " + ", ".join(
            f"set_config('{name}', '{value}', true)" for name, value in LIVE_PLAN_SETTINGS)))
    hours = hour_buckets(outlets, *live_days(day_from, day_to, only))
    cells = _Cells()
    where = LiveFilter(tenant_id, tuple(base), day_from, day_to)
    for statement, add in live_statements(where, hours.bucket_seconds):
        add(cells, await session.execute(statement), hours)
    if only is not None:
        return {key: value for key, value in cells.items() if key in only}
    return dict(cells)


def _orders_statement(where: LiveFilter, bucket_seconds: int) -> Select[Any]:
    """Orders by status and time bucket, in one scan: sales, voids, refunds, paid orders,
    and sales by local hour. SQL groups by UTC time bucket; each bucket lies inside one
    local hour, which ``_add_orders`` finds from the outlet's UTC offset at that moment."""
    bucket = (epoch_seconds(OrderRow.created_at) // _int_sql(bucket_seconds)).label("bucket")
    is_paid = case((OrderRow.paid >= OrderRow.total, 1), else_=0)
    has_payment = case((OrderRow.paid > 0, 1), else_=0)
    return (select(OrderRow.outlet_id, OrderRow.business_day, OrderRow.status, bucket,
                   func.count(), func.sum(OrderRow.total), func.sum(OrderRow.paid),
                   func.sum(is_paid), func.sum(has_payment), *_statement_sums())
            .where(*where.base)
            .group_by(literal_column("1"), literal_column("2"), literal_column("3"),
                      literal_column("4")))


def _add_orders(cells: _Cells, rows: Iterable[Any], hours: _Hours) -> None:
    bucket_seconds, segments = hours.bucket_seconds, hours.segments
    for (outlet_id, day, status, utc_bucket, count, total, paid, paid_orders, with_payment,
         *statement) in rows:
        c = cells.cell(outlet_id, day)
        total, paid, with_payment = int(total or 0), int(paid or 0), int(with_payment or 0)
        if status in MOVED_STATUSES:
            continue
        if status in VOID_STATUSES:
            c.void_count += count
            c.void_amount += total
            c.refund_count += with_payment
            c.refund_amount += paid
            c.voided_unpaid += count - with_payment
            continue
        c.order_count += count
        c.gross_total += total
        c.paid_orders += int(paid_orders or 0)
        for name, amount in zip(STATEMENT_SCALARS, statement):
            setattr(c, name, getattr(c, name) + int(amount or 0))
        moment = int(utc_bucket) * bucket_seconds
        local_hour = (moment + _offset_at(segments[outlet_id], moment)) // 3600 % 24
        slot = c.hours.setdefault(local_hour, [0, 0])
        slot[0] += count
        slot[1] += total


def _statement_sums() -> list[ColumnElement[Any]]:
    """The sums behind the ``STATEMENT_SCALARS``, in their order (hub.reports.sales reads
    them). An order is open while its payments fall short of its total."""
    o = OrderRow
    is_open = o.paid < o.total
    columns: dict[str, ColumnElement[Any]] = {
        "sales_gross": o.subtotal, "sales_discount": o.discount,
        "sales_service": o.service_charge, "sales_tax": o.tax, "sales_rounding": o.rounding,
        "sales_paid": case((o.paid > o.total, o.total), else_=o.paid),
        "sales_overpaid": case((o.paid > o.total, o.paid - o.total), else_=0),
        "open_gross": case((is_open, o.subtotal), else_=0),
        "open_discount": case((is_open, o.discount), else_=0),
        "open_service": case((is_open, o.service_charge), else_=0),
        "open_tax": case((is_open, o.tax), else_=0),
        "open_rounding": case((is_open, o.rounding), else_=0),
        "open_total": case((is_open, o.total), else_=0),
        "open_paid": case((is_open, o.paid), else_=0),
    }
    return [func.sum(columns[name]) for name in STATEMENT_SCALARS]


def _products_statement(where: LiveFilter) -> Select[Any]:
    """Products sold: the item lines (``item_lines``), per product id. A line carries its
    order's business day: the period on it lets PostgreSQL read only the period's
    partitions of ``order_lines`` (docs/scaling.md, "Partitioned fact tables")."""
    return (select(OrderRow.outlet_id, OrderRow.business_day, OrderLineRow.product_id,
                   func.max(OrderLineRow.name), func.sum(OrderLineRow.qty),
                   func.sum(OrderLineRow.line_total))
            .join(OrderLineRow, and_(OrderLineRow.order_id == OrderRow.id,
                                     OrderLineRow.business_day == OrderRow.business_day,
                                     OrderLineRow.tenant_id == where.tenant))
            .where(*where.base, item_lines(where.tenant),
                   OrderLineRow.business_day >= where.day_from,
                   OrderLineRow.business_day <= where.day_to)
            .group_by(OrderRow.outlet_id, OrderRow.business_day, OrderLineRow.product_id))


def _add_products(cells: _Cells, rows: Iterable[Any], _: _Hours) -> None:
    for outlet_id, day, product_id, name, qty, revenue in rows:
        cells.cell(outlet_id, day).products[product_id] = [name, int(qty or 0), int(revenue or 0)]


def _methods_statement(where: LiveFilter) -> Select[Any]:
    """Payments of sales by method."""
    return (select(OrderRow.outlet_id, OrderRow.business_day, PaymentRow.method, func.count(),
                   func.sum(PaymentRow.amount))
            .join(PaymentRow, and_(PaymentRow.order_id == OrderRow.id,
                                   PaymentRow.tenant_id == where.tenant))
            .where(*where.base, _not_void())
            .group_by(OrderRow.outlet_id, OrderRow.business_day, PaymentRow.method))


def _add_methods(cells: _Cells, rows: Iterable[Any], _: _Hours) -> None:
    for outlet_id, day, method, count, amount in rows:
        cells.cell(outlet_id, day).methods[method] = [count, int(amount or 0)]


def _prep_statement(where: LiveFilter) -> Select[Any]:
    """Kitchen preparation time: one row per done ticket, then a histogram of seconds."""
    k = KitchenEventRow
    created_s = func.min(case((k.action == "created", epoch_seconds(k.at))))
    bumped_s = func.max(case((k.action == "bumped", epoch_seconds(k.at))))
    bumped_at = func.max(case((k.action == "bumped", k.at)))
    reopened_at = func.max(case((k.action.in_(("recalled", "undone")), k.at)))
    tickets = (
        select(OrderRow.outlet_id.label("outlet_id"), OrderRow.business_day.label("day"),
               (bumped_s - created_s).label("seconds"))
        .join(k, and_(k.order_id == OrderRow.id, k.tenant_id == where.tenant))
        .where(*where.base)
        .group_by(k.ticket_id, OrderRow.outlet_id, OrderRow.business_day)
        .having(and_(created_s.is_not(None), bumped_at.is_not(None),
                     or_(reopened_at.is_(None), bumped_at > reopened_at)))
        .subquery())
    return (select(tickets.c.outlet_id, tickets.c.day, tickets.c.seconds, func.count())
            .group_by(tickets.c.outlet_id, tickets.c.day, tickets.c.seconds))


def _add_prep(cells: _Cells, rows: Iterable[Any], _: _Hours) -> None:
    for outlet_id, day, seconds, count in rows:
        # A ticket bumped "before" it was made (the box's clock stepped back) counts as done
        # at once; several such durations share the 0-second bucket, so add, never assign.
        prep = cells.cell(outlet_id, day).prep
        bucket = max(0, int(seconds))
        prep[bucket] = prep.get(bucket, 0) + count


def _refunds_statement(where: LiveFilter) -> Select[Any]:
    """Refunds done (money given back after hand-over) by method, on the business day of
    the order they refund."""
    return (select(OrderRow.outlet_id, OrderRow.business_day, RefundRow.method, func.count(),
                   func.sum(RefundRow.amount))
            .join(RefundRow, and_(RefundRow.order_id == OrderRow.id,
                                  RefundRow.tenant_id == where.tenant,
                                  RefundRow.outlet_id == OrderRow.outlet_id))
            .where(*where.base, RefundRow.status == "done")
            .group_by(OrderRow.outlet_id, OrderRow.business_day, RefundRow.method))


def _add_refunds(cells: _Cells, rows: Iterable[Any], _: _Hours) -> None:
    for outlet_id, day, method, count, amount in rows:
        cells.cell(outlet_id, day).refunds[method] = [count, int(amount or 0)]


def _discounts_statement(where: LiveFilter) -> Select[Any]:
    """Discounts of sales by reason: orders and the discount they got."""
    return (select(OrderRow.outlet_id, OrderRow.business_day, OrderRow.discount_reason,
                   func.count(), func.sum(OrderRow.discount))
            .where(*where.base, _not_void(), OrderRow.discount > 0)
            .group_by(OrderRow.outlet_id, OrderRow.business_day, OrderRow.discount_reason))


def _add_discounts(cells: _Cells, rows: Iterable[Any], _: _Hours) -> None:
    for outlet_id, day, reason, count, amount in rows:
        reason = reason or ""
        cells.cell(outlet_id, day).discounts[reason_key(reason)] = [reason, count,
                                                                    int(amount or 0)]
