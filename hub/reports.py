"""Sales reports from the orders the outlets synced, and the daily roll-up that keeps them fast.

What a sales report counts (all money in integer minor units):

* **Sales** are orders whose status is not ``voided``/``cancelled`` (open orders included).
  ``order_count`` counts them, ``gross_total`` sums their ``total`` (after discount, service,
  tax and rounding), ``average_order_value`` is ``gross_total // order_count`` (floor).
* **Voids** are voided/cancelled orders (count, sum of their totals). **Refunds** are the voids
  of orders that had been paid (count, sum of what had been paid): the edge records no
  separate refund, money goes back by voiding a paid order.
* **Payment success rate**: the edge records only successful payments, so it is
  ``paid orders / (paid orders + orders voided without any payment)``, where a paid order is a
  sale whose payments cover its total. ``null`` when both are zero.
* **By hour** uses the order's ``created_at`` in the outlet's own timezone (DST-exact: the UTC
  offset is resolved per interval between timezone transitions). Days use ``business_day``.
* **By product**: quantity and revenue (``line_total``, before order-level discount, service
  and tax) of the lines of sales, per product id (named by the alphabetically last name its
  lines carry, should it have been renamed during the period).
* **By payment method**: the payments of sales (count, amount).
* **Kitchen preparation time** per ticket of the period's orders: first ``created`` → last
  ``bumped``, counted only when the ticket is done (its last bump is after any recall/undo),
  in whole seconds (timestamps truncated to the second). p50/p90 are nearest-rank percentiles.

How it stays exact and fast: every figure is a sum or a histogram, so the figures of
(outlet, business day) cells can be merged. ``refresh_rollups`` (the scheduled job
``rollup_job``) stores each past day's cell — scalars in ``report_daily``, breakdowns as rows
of ``report_daily_items`` that SQL sums — together with a fingerprint of the orders it was
built from (row count, highest journal seq, latest ``updated_at``), plus one tenant-wide cell
per day (outlet ``"*"``) for reports over every outlet. A report uses the cells whose
fingerprint still matches the orders table and recomputes the rest (today, and any day that
late-syncing edges changed) from the raw rows, so it always equals the raw data. (One gap:
the fingerprint covers orders, so a kitchen event for a past, rolled-up day that comes
without any change to that day's orders — a recall after the order was completed — shows
only once the cell is rebuilt. The edge journals ticket creation with the order and the last
bump with the order turning ready, so ordinary cooking always moves the fingerprint.) Reports are
not snapshot-isolated: rows committed between the report's statements (a sync landing) may
show in one figure and not yet in another, as with any READ COMMITTED query sequence.
No PostgreSQL-only SQL: the same statements run on SQLite.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from hub.identity import Principal, require, require_outlet
from hub.models import (
    IdStr,
    KitchenEventRow,
    OrderLineRow,
    OrderRow,
    Outlet,
    PaymentRow,
    UTCDateTime,
    metadata,
    utcnow,
)
from shared.errors import BadRequest, NotFound

__all__ = [
    "MAX_REPORT_DAYS",
    "VOID_STATUSES",
    "DayCell",
    "parse_period",
    "refresh_rollups",
    "report_daily",
    "report_daily_items",
    "rollup_job",
    "sales_report",
    "visible_outlet_ids",
]

log = logging.getLogger("hub.reports")

VOID_STATUSES = ("voided", "cancelled")
MAX_REPORT_DAYS = 366
ROLLUP_FORMAT = 2  # bump when DayCell's stored shape changes: older rows are then rebuilt

# The outlet_id of a tenant-wide cell: the sum of all the tenant's outlet cells of that day,
# so an owner's month report sums ~30 cells instead of ~30 per outlet.
ALL_OUTLETS = "*"
SCALARS = ("order_count", "gross_total", "paid_orders", "void_count", "void_amount",
           "voided_unpaid", "refund_count", "refund_amount")

# One row per (tenant, outlet, business day) that has orders: the fingerprint of the orders it
# was computed from and the day's scalar figures...
report_daily = Table(
    "report_daily", metadata,
    Column("tenant_id", IdStr, ForeignKey("tenants.id"), primary_key=True),
    Column("outlet_id", IdStr, primary_key=True),  # an outlet id, or ALL_OUTLETS
    Column("business_day", Date, primary_key=True),
    Column("order_rows", Integer, nullable=False),
    Column("max_edge_seq", BigInteger, nullable=False),
    Column("max_updated_at", UTCDateTime, nullable=False),
    Column("format", Integer, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in SCALARS),
    Column("refreshed_at", UTCDateTime, nullable=False),
)

# ...and its breakdowns, one row per (kind, key), so a month of them is summed by SQL:
# kind "hour" (key 0-23: orders, amount), "product" (key product id: qty, revenue, name),
# "method" (payments, amount), "prep" (key seconds: tickets).
report_daily_items = Table(
    "report_daily_items", metadata,
    Column("tenant_id", IdStr, ForeignKey("tenants.id"), primary_key=True),
    Column("outlet_id", IdStr, primary_key=True),  # an outlet id, or ALL_OUTLETS
    Column("business_day", Date, primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("key", IdStr, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
)

# Lets the fingerprint query run from the index alone (no table visits).
Index("ix_orders_report_fingerprint", OrderRow.tenant_id, OrderRow.business_day,
      OrderRow.outlet_id, OrderRow.edge_seq, OrderRow.updated_at)


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


def utc_offset_segments(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(segment start, UTC offset seconds)] covering [start, end): the offset changes only
    at the zone's transitions (DST), found to the minute."""
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
    hours: dict[int, list[int]] = field(default_factory=dict)  # hour -> [orders, amount]
    products: dict[str, list[Any]] = field(default_factory=dict)  # id -> [name, qty, revenue]
    methods: dict[str, list[int]] = field(default_factory=dict)  # method -> [count, amount]
    prep: dict[int, int] = field(default_factory=dict)  # seconds -> tickets

    def merge(self, other: DayCell) -> None:
        for name in ("order_count", "gross_total", "paid_orders", "void_count", "void_amount",
                     "voided_unpaid", "refund_count", "refund_amount"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for hour, (count, amount) in other.hours.items():
            slot = self.hours.setdefault(hour, [0, 0])
            slot[0] += count
            slot[1] += amount
        for product_id, (name, qty, revenue) in other.products.items():
            slot = self.products.setdefault(product_id, [name, 0, 0])
            slot[1] += qty
            slot[2] += revenue
        for method, (count, amount) in other.methods.items():
            slot = self.methods.setdefault(method, [0, 0])
            slot[0] += count
            slot[1] += amount
        for seconds, tickets in other.prep.items():
            self.prep[seconds] = self.prep.get(seconds, 0) + tickets

    def scalars(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in SCALARS}

    def items(self) -> list[tuple[str, str, str, int, int]]:
        """The breakdowns as (kind, key, name, count, amount) rows for report_daily_items."""
        rows = [("hour", str(h), "", n, amount) for h, (n, amount) in self.hours.items()]
        rows += [("product", pid, name, qty, revenue)
                 for pid, (name, qty, revenue) in self.products.items()]
        rows += [("method", m, "", n, amount) for m, (n, amount) in self.methods.items()]
        rows += [("prep", str(seconds), "", n, 0) for seconds, n in self.prep.items()]
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


CellKey = tuple[str, date]  # (outlet_id, business_day)


# ---------------------------------------------------------------- scope and input


def parse_period(day_from: str | None, day_to: str | None) -> tuple[date, date]:
    """Validate ``from``/``to`` (YYYY-MM-DD, inclusive business days)."""
    if not day_from or not day_to:
        raise BadRequest("'from' and 'to' are required (YYYY-MM-DD business days)",
                         {"from": day_from, "to": day_to})
    parsed: list[date] = []
    for name, raw in (("from", day_from), ("to", day_to)):
        try:
            parsed.append(date.fromisoformat(raw))
        except ValueError:
            raise BadRequest(f"'{name}' is not a date (YYYY-MM-DD)", {name: raw}) from None
    start, end = parsed
    if start > end:
        raise BadRequest("'from' is after 'to'", {"from": day_from, "to": day_to})
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise BadRequest(f"a report covers at most {MAX_REPORT_DAYS} days",
                         {"from": day_from, "to": day_to})
    return start, end


async def visible_outlet_ids(session: AsyncSession, principal: Principal) -> list[str]:
    """The outlets whose figures ``principal`` may see (all, or those assigned to them)."""
    require(principal, "reports:read")
    ids = await session.scalars(select(Outlet.id).where(Outlet.tenant_id == principal.tenant_id)
                                .order_by(Outlet.id))
    return [outlet_id for outlet_id in ids if principal.sees_outlet(outlet_id)]


async def _outlets(session: AsyncSession, tenant_id: str, ids: list[str]) -> list[Outlet]:
    if not ids:
        return []
    rows = await session.scalars(select(Outlet).where(Outlet.tenant_id == tenant_id,
                                                      Outlet.id.in_(ids)).order_by(Outlet.name))
    return list(rows.all())


def _zone(outlet: Outlet) -> ZoneInfo:
    try:
        return ZoneInfo(outlet.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("outlet %s has unknown timezone %r; reporting hours in UTC",
                    outlet.id, outlet.timezone)
        return ZoneInfo("UTC")


# ---------------------------------------------------------------- raw aggregation


def _not_void() -> ColumnElement[bool]:
    return OrderRow.status.not_in(VOID_STATUSES)


async def compute_cells(session: AsyncSession, tenant_id: str, outlets: list[Outlet],
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
    cells: dict[CellKey, DayCell] = {}
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        # Hash aggregates over a month of lines need more than the default 4 MB, else they
        # sort on disk; LOCAL: only for this transaction.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))

    def cell(outlet_id: str, day: date) -> DayCell:
        return cells.setdefault((outlet_id, day), DayCell())

    # 1. Orders by status and time bucket, in one scan: sales, voids, refunds, paid orders,
    # and sales by local hour. SQL groups by UTC time bucket (an hour, or 15 minutes when a
    # zone's offset is not whole hours); each bucket lies inside one local hour, which Python
    # finds from the outlet's UTC offset at that moment (DST-exact).
    start = datetime.combine(day_from - timedelta(days=2), datetime.min.time(), UTC)
    end = datetime.combine(day_to + timedelta(days=3), datetime.min.time(), UTC)
    segments = {o.id: utc_offset_segments(_zone(o), start, end) for o in outlets}
    whole_hours = all(offset % 3600 == 0 and int(moment.timestamp()) % 3600 == 0
                      for segs in segments.values() for moment, offset in segs[1:]) and all(
        segs[0][1] % 3600 == 0 for segs in segments.values())
    bucket_seconds = 3600 if whole_hours else 900
    bucket = (epoch_seconds(OrderRow.created_at) // _int_sql(bucket_seconds)).label("bucket")
    is_paid = case((OrderRow.paid >= OrderRow.total, 1), else_=0)
    has_payment = case((OrderRow.paid > 0, 1), else_=0)
    rows = await session.execute(
        select(OrderRow.outlet_id, OrderRow.business_day, OrderRow.status, bucket, func.count(),
               func.sum(OrderRow.total), func.sum(OrderRow.paid), func.sum(is_paid),
               func.sum(has_payment))
        .where(*base)
        .group_by(literal_column("1"), literal_column("2"), literal_column("3"),
                  literal_column("4")))
    for outlet_id, day, status, utc_bucket, count, total, paid, paid_orders, with_payment in rows:
        c = cell(outlet_id, day)
        total, paid, with_payment = int(total or 0), int(paid or 0), int(with_payment or 0)
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
        moment = int(utc_bucket) * bucket_seconds
        local_hour = (moment + _offset_at(segments[outlet_id], moment)) // 3600 % 24
        slot = c.hours.setdefault(local_hour, [0, 0])
        slot[0] += count
        slot[1] += total

    # 2. Products sold (lines of sales).
    rows = await session.execute(
        select(OrderRow.outlet_id, OrderRow.business_day, OrderLineRow.product_id,
               func.max(OrderLineRow.name), func.sum(OrderLineRow.qty),
               func.sum(OrderLineRow.line_total))
        .join(OrderLineRow, and_(OrderLineRow.order_id == OrderRow.id,
                                 OrderLineRow.tenant_id == tenant_id))
        .where(*base, _not_void())
        .group_by(OrderRow.outlet_id, OrderRow.business_day, OrderLineRow.product_id))
    for outlet_id, day, product_id, name, qty, revenue in rows:
        cell(outlet_id, day).products[product_id] = [name, int(qty or 0), int(revenue or 0)]

    # 3. Payments of sales by method.
    rows = await session.execute(
        select(OrderRow.outlet_id, OrderRow.business_day, PaymentRow.method, func.count(),
               func.sum(PaymentRow.amount))
        .join(PaymentRow, and_(PaymentRow.order_id == OrderRow.id,
                               PaymentRow.tenant_id == tenant_id))
        .where(*base, _not_void())
        .group_by(OrderRow.outlet_id, OrderRow.business_day, PaymentRow.method))
    for outlet_id, day, method, count, amount in rows:
        cell(outlet_id, day).methods[method] = [count, int(amount or 0)]

    # 4. Kitchen preparation time: one row per done ticket, then a histogram of seconds.
    k = KitchenEventRow
    created_s = func.min(case((k.action == "created", epoch_seconds(k.at))))
    bumped_s = func.max(case((k.action == "bumped", epoch_seconds(k.at))))
    bumped_at = func.max(case((k.action == "bumped", k.at)))
    reopened_at = func.max(case((k.action.in_(("recalled", "undone")), k.at)))
    tickets = (
        select(OrderRow.outlet_id.label("outlet_id"), OrderRow.business_day.label("day"),
               (bumped_s - created_s).label("seconds"))
        .join(k, and_(k.order_id == OrderRow.id, k.tenant_id == tenant_id))
        .where(*base)
        .group_by(k.ticket_id, OrderRow.outlet_id, OrderRow.business_day)
        .having(and_(created_s.is_not(None), bumped_at.is_not(None),
                     or_(reopened_at.is_(None), bumped_at > reopened_at)))
        .subquery())
    rows = await session.execute(
        select(tickets.c.outlet_id, tickets.c.day, tickets.c.seconds, func.count())
        .group_by(tickets.c.outlet_id, tickets.c.day, tickets.c.seconds))
    for outlet_id, day, seconds, count in rows:
        cell(outlet_id, day).prep[max(0, int(seconds))] = count

    if only is not None:
        cells = {key: value for key, value in cells.items() if key in only}
    return cells


# ---------------------------------------------------------------- fingerprints and roll-ups


Fingerprint = tuple[int, int, datetime]


async def _fingerprints(session: AsyncSession, tenant_id: str, outlet_ids: Iterable[str],
                        day_from: date, day_to: date) -> dict[CellKey, Fingerprint]:
    rows = await session.execute(
        select(OrderRow.outlet_id, OrderRow.business_day, func.count(),
               func.max(OrderRow.edge_seq), func.max(OrderRow.updated_at))
        .where(OrderRow.tenant_id == tenant_id, OrderRow.outlet_id.in_(list(outlet_ids)),
               OrderRow.business_day >= day_from, OrderRow.business_day <= day_to)
        .group_by(OrderRow.business_day, OrderRow.outlet_id))
    return {(o, d): (count, int(seq or 0), _as_utc(updated)) for o, d, count, seq, updated in rows}


def _tenant_wide(fingerprints: dict[CellKey, Fingerprint]) -> dict[date, Fingerprint]:
    """Per day, one fingerprint of all outlets: any change to any outlet's orders raises its
    row count or journal seq, so the sums move (they never move back)."""
    days: dict[date, Fingerprint] = {}
    for (_, day), (rows, seq, updated) in fingerprints.items():
        held = days.get(day)
        days[day] = (rows, seq, updated) if held is None else (
            held[0] + rows, held[1] + seq, max(held[2], updated))
    return days


async def _fresh_tenant_days(session: AsyncSession, tenant_id: str, day_from: date,
                             day_to: date, wanted: dict[date, Fingerprint]) -> set[date]:
    """Days whose tenant-wide cell matches ``wanted`` (the fingerprints of all outlets)."""
    r = report_daily.c
    rows = await session.execute(
        select(r.business_day, r.order_rows, r.max_edge_seq, r.max_updated_at, r.format)
        .where(r.tenant_id == tenant_id, r.outlet_id == ALL_OUTLETS,
               r.business_day >= day_from, r.business_day <= day_to))
    return {day for day, order_rows, seq, updated, fmt in rows
            if fmt == ROLLUP_FORMAT and wanted.get(day) == (order_rows, int(seq), _as_utc(updated))}


def _as_utc(value: Any) -> datetime:
    # func.max() loses the column type on SQLite: it can come back as ISO text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _stored_cells(session: AsyncSession, tenant_id: str, outlet_ids: list[str],
                        day_from: date, day_to: date, fingerprints: dict[CellKey, Fingerprint]
                        ) -> tuple[dict[CellKey, DayCell], set[CellKey]]:
    """Roll-up cells (scalar figures only) whose fingerprint still matches the orders table,
    and the keys of stored cells that no longer match (their breakdowns must be skipped)."""
    r = report_daily.c
    rows = await session.execute(
        select(r.outlet_id, r.business_day, r.order_rows, r.max_edge_seq, r.max_updated_at,
               r.format, *(r[name] for name in SCALARS))
        .where(r.tenant_id == tenant_id, r.outlet_id.in_(outlet_ids),
               r.business_day >= day_from, r.business_day <= day_to))
    fresh: dict[CellKey, DayCell] = {}
    outdated: set[CellKey] = set()
    for outlet_id, day, order_rows, max_seq, max_updated, fmt, *figures in rows:
        key = (outlet_id, day)
        if fmt == ROLLUP_FORMAT and fingerprints.get(key) == (
                order_rows, int(max_seq), _as_utc(max_updated)):
            fresh[key] = DayCell(**{name: int(v) for name, v in zip(SCALARS, figures)})
        else:
            outdated.add(key)
    return fresh, outdated


async def _stored_breakdowns(session: AsyncSession, tenant_id: str, outlet_ids: list[str],
                             day_from: date, day_to: date, outdated: set[CellKey],
                             tenant_days: set[date], outlet_days: set[date]) -> DayCell:
    """The breakdowns of the fresh stored cells of the period, summed by SQL: tenant-wide
    cells for ``tenant_days``, outlet cells for the other days in ``outlet_days``."""
    i = report_daily_items.c
    columns = (i.kind, i.key, func.max(i.name), func.sum(i.count), func.sum(i.amount))
    queries = []
    if tenant_days:
        queries.append(select(*columns).where(
            i.tenant_id == tenant_id, i.outlet_id == ALL_OUTLETS,
            i.business_day.in_(sorted(tenant_days))).group_by(i.kind, i.key))
    if outlet_days - tenant_days:
        query = select(*columns).where(
            i.tenant_id == tenant_id, i.outlet_id.in_(outlet_ids),
            i.business_day >= day_from, i.business_day <= day_to).group_by(i.kind, i.key)
        if tenant_days:
            query = query.where(i.business_day.not_in(sorted(tenant_days)))
        if outdated:
            query = query.where(tuple_(i.outlet_id, i.business_day).not_in(sorted(outdated)))
        queries.append(query)
    merged = DayCell()
    for query in queries:
        part = DayCell()
        for kind, key, name, count, amount in await session.execute(query):
            part.add_item(kind, key, name, int(count), int(amount))
        merged.merge(part)
    return merged


async def refresh_rollups(session: AsyncSession, *, lookback_days: int = 45,
                          now: datetime | None = None, tenant_id: str | None = None) -> dict[str, int]:
    """Scheduled job: (re)build ``report_daily`` cells that are missing or stale.

    Run it in a system session (it spans tenants). Only days before each outlet's local
    today are rolled up (today keeps changing; reports compute it live) and only within
    ``lookback_days``; older late-synced changes are still reported exactly, just live.
    Returns counts for the job log."""
    now = now or utcnow()
    outlets_query = select(Outlet)
    if tenant_id:
        outlets_query = outlets_query.where(Outlet.tenant_id == tenant_id)
    all_outlets = list((await session.scalars(outlets_query)).all())
    by_tenant: dict[str, list[Outlet]] = {}
    for outlet in all_outlets:
        by_tenant.setdefault(outlet.tenant_id, []).append(outlet)
    built = kept = 0
    for tenant, outlets in by_tenant.items():
        local_today = {o.id: now.astimezone(_zone(o)).date() for o in outlets}
        day_to = max(local_today.values()) - timedelta(days=1)
        day_from = day_to - timedelta(days=lookback_days - 1)
        prints = await _fingerprints(session, tenant, local_today, day_from, day_to)
        prints = {key: fp for key, fp in prints.items() if key[1] < local_today[key[0]]}
        fresh, _ = await _stored_cells(session, tenant, list(local_today), day_from, day_to,
                                       prints)
        stale = set(prints) - set(fresh)
        kept += len(fresh)
        if not stale:
            continue
        cells = await compute_cells(session, tenant, outlets, day_from, day_to, only=stale)
        stamp = utcnow()
        for outlet_id, day in sorted(stale):
            for table in (report_daily, report_daily_items):
                await session.execute(delete(table).where(
                    table.c.tenant_id == tenant, table.c.outlet_id == outlet_id,
                    table.c.business_day == day))
        cell_rows, item_rows = [], []
        for outlet_id, day in sorted(stale):
            cell = cells.get((outlet_id, day), DayCell())
            order_rows, max_seq, max_updated = prints[(outlet_id, day)]
            cell_rows.append({"tenant_id": tenant, "outlet_id": outlet_id, "business_day": day,
                              "order_rows": order_rows, "max_edge_seq": max_seq,
                              "max_updated_at": max_updated, "format": ROLLUP_FORMAT,
                              "refreshed_at": stamp, **cell.scalars()})
            item_rows += [{"tenant_id": tenant, "outlet_id": outlet_id, "business_day": day,
                           "kind": kind, "key": key, "name": name, "count": count,
                           "amount": amount}
                          for kind, key, name, count, amount in cell.items()]
        await session.execute(insert(report_daily), cell_rows)
        for start in range(0, len(item_rows), 5000):
            await session.execute(insert(report_daily_items), item_rows[start:start + 5000])
        built += len(stale)
    for tenant, outlets in by_tenant.items():
        built += await _refresh_tenant_cells(session, tenant, outlets, now, lookback_days)
    log.info("report roll-up refreshed", extra={"built": built, "kept": kept})
    return {"built": built, "kept": kept}


async def _refresh_tenant_cells(session: AsyncSession, tenant: str, outlets: list[Outlet],
                                now: datetime, lookback_days: int) -> int:
    """(Re)build the tenant-wide cells of past days from the (now fresh) outlet cells."""
    day_to = min(now.astimezone(_zone(o)).date() for o in outlets) - timedelta(days=1)
    day_from = day_to - timedelta(days=lookback_days - 1)
    outlet_ids = [o.id for o in outlets]
    prints = await _fingerprints(session, tenant, outlet_ids, day_from, day_to)
    wanted = _tenant_wide(prints)
    fresh = await _fresh_tenant_days(session, tenant, day_from, day_to, wanted)
    stale = sorted(set(wanted) - fresh)
    if not stale:
        return 0
    stored, _ = await _stored_cells(session, tenant, outlet_ids, day_from, day_to, prints)
    if set(prints) - set(stored):
        return 0  # some outlet cell is not rolled up (yet): the report sums outlet cells
    i = report_daily_items.c
    for table in (report_daily, report_daily_items):
        await session.execute(delete(table).where(
            table.c.tenant_id == tenant, table.c.outlet_id == ALL_OUTLETS,
            table.c.business_day.in_(stale)))
    stamp = utcnow()
    rows = []
    for day in stale:
        total = {name: 0 for name in SCALARS}
        for (_, cell_day), cell in stored.items():
            if cell_day == day:
                for name in SCALARS:
                    total[name] += getattr(cell, name)
        order_rows, max_seq, max_updated = wanted[day]
        rows.append({"tenant_id": tenant, "outlet_id": ALL_OUTLETS, "business_day": day,
                     "order_rows": order_rows, "max_edge_seq": max_seq,
                     "max_updated_at": max_updated, "format": ROLLUP_FORMAT,
                     "refreshed_at": stamp, **total})
    await session.execute(insert(report_daily), rows)
    await session.execute(insert(report_daily_items).from_select(
        ["tenant_id", "outlet_id", "business_day", "kind", "key", "name", "count", "amount"],
        select(i.tenant_id, literal_column(f"'{ALL_OUTLETS}'"), i.business_day, i.kind, i.key,
               func.max(i.name), func.sum(i.count), func.sum(i.amount))
        .where(i.tenant_id == tenant, i.outlet_id.in_(outlet_ids), i.business_day.in_(stale))
        .group_by(i.tenant_id, i.business_day, i.kind, i.key)))
    return len(stale)


# ---------------------------------------------------------------- the report


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _percentile(histogram: dict[int, int], fraction: float) -> int | None:
    """Nearest-rank percentile of a {value: count} histogram."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, -(-int(fraction * 100) * total // 100))  # ceil(fraction * total)
    running = 0
    for value in sorted(histogram):
        running += histogram[value]
        if running >= rank:
            return value
    return max(histogram)


async def sales_report(session: AsyncSession, principal: Principal, *, outlet_id: str | None,
                       day_from: date, day_to: date, use_rollups: bool = True) -> dict[str, Any]:
    """The sales report for ``principal`` over [day_from, day_to] (one outlet or all visible)."""
    started = time.perf_counter()
    visible = await visible_outlet_ids(session, principal)
    if outlet_id:
        exists = await session.scalar(select(Outlet.id).where(
            Outlet.tenant_id == principal.tenant_id, Outlet.id == outlet_id))
        if exists is None:
            raise NotFound("no such outlet", {"outlet_id": outlet_id})
        require_outlet(principal, outlet_id)
        visible = [outlet_id]
    outlets = await _outlets(session, principal.tenant_id, visible)
    outlet_ids = [o.id for o in outlets]

    # Scalar figures per (outlet, day) for the day and outlet breakdowns; the breakdowns of
    # rolled-up cells arrive already summed in ``total``.
    cells: dict[CellKey, DayCell] = {}
    total = DayCell()
    from_rollups = 0
    tenant_days: set[date] = set()
    phases: dict[str, float] = {}
    if outlet_ids:
        stale: set[CellKey] | None = None
        if use_rollups:
            prints = await _fingerprints(session, principal.tenant_id, outlet_ids, day_from,
                                         day_to)
            phases["fingerprint_ms"] = _ms_since(started)
            cells, outdated = await _stored_cells(session, principal.tenant_id, outlet_ids,
                                                  day_from, day_to, prints)
            from_rollups = len(cells)
            stale = set(prints) - set(cells)
            if outlet_id is None and principal.outlet_ids is None:
                # Every outlet of the tenant: tenant-wide cells cover whole days at once.
                tenant_days = await _fresh_tenant_days(session, principal.tenant_id, day_from,
                                                       day_to, _tenant_wide(prints))
            if cells:
                total = await _stored_breakdowns(
                    session, principal.tenant_id, outlet_ids, day_from, day_to, outdated,
                    tenant_days, {day for _, day in cells})
            phases["rollups_ms"] = _ms_since(started) - phases["fingerprint_ms"]
        if stale is None or stale:
            live_started = time.perf_counter()
            live = await compute_cells(session, principal.tenant_id, outlets, day_from, day_to,
                                       only=stale)
            for cell in live.values():
                total.merge(cell)
            cells.update(live)
            phases["live_ms"] = _ms_since(live_started)

    for name in SCALARS:
        setattr(total, name, sum(getattr(cell, name) for cell in cells.values()))
    per_outlet: dict[str, DayCell] = {o.id: DayCell() for o in outlets}
    per_day: dict[date, DayCell] = {}
    for (cell_outlet, day), cell in cells.items():
        for target in (per_outlet[cell_outlet], per_day.setdefault(day, DayCell())):
            for name in SCALARS:
                setattr(target, name, getattr(target, name) + getattr(cell, name))

    currencies = sorted({o.currency for o in outlets})
    decided = total.paid_orders + total.voided_unpaid
    prep_count = sum(total.prep.values())
    return {
        "from": day_from.isoformat(),
        "to": day_to.isoformat(),
        "outlet_id": outlet_id,
        "outlet_ids": outlet_ids,
        "currency": currencies[0] if len(currencies) == 1 else None,
        "order_count": total.order_count,
        "gross_total": total.gross_total,
        "average_order_value": total.gross_total // total.order_count if total.order_count else 0,
        "voids": {"count": total.void_count, "amount": total.void_amount},
        "refunds": {"count": total.refund_count, "amount": total.refund_amount},
        "payment_success": {
            "paid_orders": total.paid_orders,
            "voided_unpaid_orders": total.voided_unpaid,
            "rate": round(total.paid_orders / decided, 4) if decided else None,
            "definition": "paid orders / (paid orders + orders voided without payment); "
                          "the edge records successful payments only",
        },
        "by_outlet": [
            {"outlet_id": o.id, "name": o.name, "currency": o.currency,
             "order_count": per_outlet[o.id].order_count,
             "gross_total": per_outlet[o.id].gross_total,
             "void_count": per_outlet[o.id].void_count}
            for o in outlets],
        "by_day": [
            {"day": (day_from + timedelta(days=i)).isoformat(),
             "order_count": per_day.get(day_from + timedelta(days=i), DayCell()).order_count,
             "gross_total": per_day.get(day_from + timedelta(days=i), DayCell()).gross_total}
            for i in range((day_to - day_from).days + 1)],
        "by_hour": [
            {"hour": h, "order_count": total.hours.get(h, [0, 0])[0],
             "gross_total": total.hours.get(h, [0, 0])[1]}
            for h in range(24)],
        "by_product": sorted(
            ({"product_id": pid, "name": name, "qty": qty, "revenue": revenue}
             for pid, (name, qty, revenue) in total.products.items()),
            key=lambda p: (-p["revenue"], -p["qty"], p["product_id"])),
        "by_payment_method": sorted(
            ({"method": m, "count": count, "amount": amount}
             for m, (count, amount) in total.methods.items()),
            key=lambda p: (-p["amount"], p["method"])),
        "kitchen": {
            "tickets": prep_count,
            "p50_seconds": _percentile(total.prep, 0.5),
            "p90_seconds": _percentile(total.prep, 0.9),
            "average_seconds": (round(sum(s * n for s, n in total.prep.items()) / prep_count, 1)
                                if prep_count else None),
        },
        "source": {"rollup_cells": from_rollups, "live_cells": len(cells) - from_rollups,
                   "tenant_wide_days": len(tenant_days),
                   **phases, "elapsed_ms": _ms_since(started)},
    }


async def rollup_job(session: AsyncSession, settings: Any) -> dict[str, Any]:
    """The scheduled job (``hub.scheduler.Job("report_rollup",
    settings.report_rollup_interval_seconds, rollup_job)``); runs in the scheduler's system
    session, once per slot across replicas."""
    return await refresh_rollups(session)
