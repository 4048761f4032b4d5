"""The sales report: who may see which outlets, which cells cover the period, and the figures.

``sales_report`` sums the period's day cells: the stored roll-ups whose fingerprint still
matches the orders (``hub.reports.rollups``), the rest computed live (``hub.reports.cells``),
and answers a ``hub.schemas.SalesReport``. Reports are not snapshot-isolated: rows committed
between the report's statements (a sync landing) may show in one figure and not yet in
another, as with any READ COMMITTED query sequence.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity import Principal, require, require_outlet
from hub.models import REPORT_SCALARS, Outlet
from hub.reports.cells import CellKey, DayCell, compute_cells
from hub.reports.rollups import (
    fingerprints,
    fresh_tenant_days,
    stored_breakdowns,
    stored_cells,
    tenant_wide,
)
from hub.schemas import (
    CountAmount,
    DayFigures,
    HourFigures,
    KitchenFigures,
    MethodFigures,
    OutletFigures,
    PaymentSuccess,
    ProductFigures,
    ReasonFigures,
    ReportSource,
    SalesReport,
    SalesStatement,
)
from shared.errors import BadRequest, NotFound

__all__ = ["MAX_REPORT_DAYS", "Figures", "NamedOutlet", "build_report", "parse_period",
           "report_outlets", "sales_report", "sales_statement", "statements",
           "visible_outlet_ids"]

MAX_REPORT_DAYS = 366
SUCCESS_DEFINITION = ("paid orders / (paid orders + orders voided without payment); "
                      "the edge records successful payments only")


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


async def report_outlets(session: AsyncSession, principal: Principal,
                 outlet_id: str | None) -> list[Outlet]:
    """The outlets the report covers, by name: ``outlet_id`` alone, or every visible one."""
    visible = await visible_outlet_ids(session, principal)
    if outlet_id:
        exists = await session.scalar(select(Outlet.id).where(
            Outlet.tenant_id == principal.tenant_id, Outlet.id == outlet_id))
        if exists is None:
            raise NotFound("no such outlet", {"outlet_id": outlet_id})
        require_outlet(principal, outlet_id)
        visible = [outlet_id]
    if not visible:
        return []
    rows = await session.scalars(select(Outlet).where(Outlet.tenant_id == principal.tenant_id,
                                                      Outlet.id.in_(visible))
                                 .order_by(Outlet.name, Outlet.id))
    return list(rows.all())


# ---------------------------------------------------------------- gathering the cells


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


@dataclass
class _Gathered:
    """The period's cells: scalar figures per (outlet, day) for the day and outlet
    breakdowns; the breakdowns (hours, products, methods, prep) already summed in ``total``."""

    cells: dict[CellKey, DayCell] = field(default_factory=dict)
    total: DayCell = field(default_factory=DayCell)
    from_rollups: int = 0
    tenant_days: set[date] = field(default_factory=set)
    phases: dict[str, float] = field(default_factory=dict)


async def _gather(session: AsyncSession, tenant_id: str, outlets: list[Outlet], day_from: date,
                  day_to: date, *, every_outlet: bool, use_rollups: bool,
                  started: float) -> _Gathered:
    found = _Gathered()
    outlet_ids = [o.id for o in outlets]
    if not outlet_ids:
        return found
    stale: set[CellKey] | None = None
    if use_rollups:
        prints = await fingerprints(session, tenant_id, outlet_ids, day_from, day_to)
        found.phases["fingerprint_ms"] = _ms_since(started)
        found.cells, outdated = await stored_cells(session, tenant_id, outlet_ids, day_from,
                                                   day_to, prints)
        found.from_rollups = len(found.cells)
        stale = set(prints) - set(found.cells)
        if every_outlet:  # tenant-wide cells cover whole days at once
            found.tenant_days = await fresh_tenant_days(session, tenant_id, day_from, day_to,
                                                        tenant_wide(prints))
        if found.cells:
            found.total = await stored_breakdowns(
                session, tenant_id, outlet_ids, day_from, day_to, outdated, found.tenant_days,
                {day for _, day in found.cells})
        found.phases["rollups_ms"] = _ms_since(started) - found.phases["fingerprint_ms"]
    if stale is None or stale:
        live_started = time.perf_counter()
        live = await compute_cells(session, tenant_id, outlets, day_from, day_to, only=stale)
        for cell in live.values():
            found.total.merge(cell)
        found.cells.update(live)
        found.phases["live_ms"] = _ms_since(live_started)
    for name in REPORT_SCALARS:
        setattr(found.total, name, sum(getattr(cell, name) for cell in found.cells.values()))
    return found


# ---------------------------------------------------------------- the report


class NamedOutlet(Protocol):
    """An outlet as the report names it (``hub.models.Outlet``, or its row)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def currency(self) -> str: ...


@dataclass
class Figures:
    """The period's figures, summed: ``total`` has the scalar figures and the breakdowns,
    ``per_outlet`` and ``per_day`` the scalar figures of each outlet and day that has cells;
    where the cells came from (``ReportSource``)."""

    total: DayCell
    per_outlet: dict[str, DayCell]
    per_day: dict[date, DayCell]
    rollup_cells: int
    live_cells: int
    tenant_wide_days: int
    phases: dict[str, float] = field(default_factory=dict)


async def sales_report(session: AsyncSession, principal: Principal, *, outlet_id: str | None,
                       day_from: date, day_to: date, use_rollups: bool = True) -> SalesReport:
    """The sales report for ``principal`` over [day_from, day_to] (one outlet or all visible)."""
    started = time.perf_counter()
    outlets = await report_outlets(session, principal, outlet_id)
    found = await _gather(session, principal.tenant_id, outlets, day_from, day_to,
                          every_outlet=outlet_id is None and principal.outlet_ids is None,
                          use_rollups=use_rollups, started=started)
    figures = Figures(total=found.total, per_outlet=_scalars_by(found.cells, 0),
                      per_day=_scalars_by(found.cells, 1), rollup_cells=found.from_rollups,
                      live_cells=len(found.cells) - found.from_rollups,
                      tenant_wide_days=len(found.tenant_days), phases=found.phases)
    return build_report(outlets, figures, outlet_id=outlet_id, day_from=day_from,
                        day_to=day_to, started=started)


def build_report(outlets: Sequence[NamedOutlet], figures: Figures, *, outlet_id: str | None,
                 day_from: date, day_to: date, started: float) -> SalesReport:
    """The answer from the summed figures of ``outlets`` (in the order given: by name)."""
    total = figures.total
    currencies = sorted({o.currency for o in outlets})
    return SalesReport(
        day_from=day_from.isoformat(),
        day_to=day_to.isoformat(),
        outlet_id=outlet_id,
        outlet_ids=[o.id for o in outlets],
        currency=currencies[0] if len(currencies) == 1 else None,
        order_count=total.order_count,
        gross_total=total.gross_total,
        average_order_value=total.gross_total // total.order_count if total.order_count else 0,
        voids=CountAmount(count=total.void_count, amount=total.void_amount),
        refunds=CountAmount(count=total.refund_count, amount=total.refund_amount),
        payment_success=_payment_success(total),
        by_outlet=_by_outlet(figures.per_outlet, outlets),
        by_day=_by_day(figures.per_day, day_from, day_to),
        by_hour=[HourFigures(hour=h, order_count=total.hours.get(h, [0, 0])[0],
                             gross_total=total.hours.get(h, [0, 0])[1]) for h in range(24)],
        by_product=sorted((ProductFigures(product_id=pid, name=name, qty=qty, revenue=revenue)
                           for pid, (name, qty, revenue) in total.products.items()),
                          key=lambda p: (-p.revenue, -p.qty, p.product_id)),
        by_payment_method=sorted((MethodFigures(method=m, count=count, amount=amount)
                                  for m, (count, amount) in total.methods.items()),
                                 key=lambda p: (-p.amount, p.method)),
        kitchen=_kitchen(total.prep),
        refunds_by_method=sorted((MethodFigures(method=m, count=count, amount=amount)
                                  for m, (count, amount) in total.refunds.items()),
                                 key=lambda p: (-p.amount, p.method)),
        discounts_by_reason=sorted((ReasonFigures(reason=reason, count=count, amount=amount)
                                    for reason, count, amount in total.discounts.values()),
                                   key=lambda r: (-r.amount, r.reason)),
        **statements(total),
        source=ReportSource(rollup_cells=figures.rollup_cells,
                            live_cells=figures.live_cells,
                            tenant_wide_days=figures.tenant_wide_days, **figures.phases,
                            elapsed_ms=_ms_since(started)),
    )


def _statement(*, orders: int, gross: int, discount: int, service: int, tax: int,
               rounding: int, total: int, paid: int, overpaid: int) -> SalesStatement:
    # Net sales are what the totals hold before service, tax and rounding, so the tax and
    # service of prices that include them is what separates gross less discounts from it
    # (0 where prices exclude tax: the edge then prices total = net + service + tax + rounding).
    net = total - rounding - service - tax
    return SalesStatement(orders=orders, gross_sales=gross, discounts=discount,
                          included_tax_service=gross - discount - net, net_sales=net,
                          service_charge=service, tax=tax, rounding=rounding, total=total,
                          paid=paid, outstanding=total - paid, overpaid=overpaid)


def sales_statement(cell: DayCell) -> SalesStatement:
    """The statement of all the cell's sales (``statements(cell)["sales"]``)."""
    return _statement(orders=cell.order_count, gross=cell.sales_gross,
                      discount=cell.sales_discount, service=cell.sales_service,
                      tax=cell.sales_tax, rounding=cell.sales_rounding, total=cell.gross_total,
                      paid=cell.sales_paid, overpaid=cell.sales_overpaid)


def statements(cell: DayCell) -> dict[str, SalesStatement]:
    """The sales statement of a cell's sales: every sale ("sales"), those paid in full
    ("settled") and those whose payments fall short of their total ("open")."""
    names = ("orders", "gross", "discount", "service", "tax", "rounding", "total", "paid",
             "overpaid")
    sales = (cell.order_count, cell.sales_gross, cell.sales_discount, cell.sales_service,
             cell.sales_tax, cell.sales_rounding, cell.gross_total, cell.sales_paid,
             cell.sales_overpaid)
    open_ = (cell.order_count - cell.paid_orders, cell.open_gross, cell.open_discount,
             cell.open_service, cell.open_tax, cell.open_rounding, cell.open_total,
             cell.open_paid, 0)
    settled = tuple(a - b for a, b in zip(sales, open_, strict=True))
    return {part: _statement(**dict(zip(names, values, strict=True)))
            for part, values in (("sales", sales), ("settled", settled), ("open", open_))}


def _payment_success(total: DayCell) -> PaymentSuccess:
    decided = total.paid_orders + total.voided_unpaid
    return PaymentSuccess(paid_orders=total.paid_orders, voided_unpaid_orders=total.voided_unpaid,
                          rate=round(total.paid_orders / decided, 4) if decided else None,
                          definition=SUCCESS_DEFINITION)


def _scalars_by(cells: dict[CellKey, DayCell], index: int) -> dict[Any, DayCell]:
    """The cells' scalar figures summed per outlet (index 0) or per day (index 1)."""
    summed: dict[Any, DayCell] = {}
    for key, cell in cells.items():
        target = summed.setdefault(key[index], DayCell())
        for name in REPORT_SCALARS:
            setattr(target, name, getattr(target, name) + getattr(cell, name))
    return summed


def _by_outlet(per_outlet: dict[str, DayCell],
               outlets: Sequence[NamedOutlet]) -> list[OutletFigures]:
    empty = DayCell()
    figures = []
    for o in outlets:
        cell = per_outlet.get(o.id, empty)
        figures.append(OutletFigures(outlet_id=o.id, name=o.name, currency=o.currency,
                                     order_count=cell.order_count, gross_total=cell.gross_total,
                                     void_count=cell.void_count,
                                     statement=sales_statement(cell)))
    return figures


def _by_day(per_day: dict[date, DayCell], day_from: date, day_to: date) -> list[DayFigures]:
    empty = DayCell()
    figures = []
    for i in range((day_to - day_from).days + 1):
        day = day_from + timedelta(days=i)
        cell = per_day.get(day, empty)
        figures.append(DayFigures(day=day.isoformat(), order_count=cell.order_count,
                                  gross_total=cell.gross_total,
                                  statement=sales_statement(cell)))
    return figures


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


def _kitchen(prep: dict[int, int]) -> KitchenFigures:
    tickets = sum(prep.values())
    return KitchenFigures(
        tickets=tickets, p50_seconds=_percentile(prep, 0.5), p90_seconds=_percentile(prep, 0.9),
        average_seconds=round(sum(s * n for s, n in prep.items()) / tickets, 1) if tickets
        else None)
