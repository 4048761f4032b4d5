"""Table service by area and table (issue 12): covers, sales, spend per cover, table turns,
turn time and time to the first order, per outlet and period of business days.

What is counted (docs/table-service.md, "Head-office reports"):

* a **party** is a bill seated at a table (``table_id`` set) that is not a split part and
  not voided, cancelled or merged into another bill, on its business day; its ``covers``
  are the party's covers (a merged bill's party joined the receiving bill);
* **sales** at a table are the sales (``hub.reports.cells.is_sale``: not voided, cancelled,
  split or merged; open bills included, as in the sales report) whose table is that table,
  a split part's table being its own or else its parent's; ``orders`` counts them;
* a **turn** is a party whose bill is completed, or whose split parts are all completed;
  turn time = completion (the part completed last) - ``seated_at``;
* time to the first order = the earliest ``added_at`` of its lines that were sent (sent
  or later voided; a line placed with the bill without ``added_at`` counts at the bill's
  ``created_at``) - ``seated_at``;
* average spend per cover = sales // covers (floor), ``None`` without covers; averages of
  times are means of whole seconds, one decimal;
* voided lines (kept on a party's bill for the record, never sold): count and amount.

A table is named by the outlet's floor plan (``hub.floor_models``); one that is no longer on
the plan by the name its bills carry, in area "". No PostgreSQL-only SQL: the same
statements run on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from hub.floor_models import FloorPlanRow
from hub.identity import Principal
from hub.models import OrderLineRow, OrderRow
from hub.reports.cells import VOID_STATUSES, epoch_seconds, is_sale
from hub.reports.sales import report_outlets
from hub.schemas import AreaTableFigures, TableFigures, TablesReport

__all__ = ["DEFINITIONS", "tables_report"]

DEFINITIONS = {
    "parties": "bills seated at a table in the period (split parts and merged bills are not "
               "parties; voided and cancelled bills are left out)",
    "covers": "guests of those parties",
    "turns": "parties whose bill completed (a split bill: when all its parts completed)",
    "orders": "sales at the table: bills and split parts not voided, cancelled, split or "
              "merged, open bills included",
    "sales": "the totals of those orders (after discount, with service charge, tax and "
             "rounding)",
    "average_spend_per_cover": "sales / covers, rounded down",
    "average_turn_seconds": "seated -> completed (the last part), over turns",
    "average_first_order_seconds": "seated -> the first line sent to the kitchen",
    "voided_lines": "lines voided after they were sent (kept on the bill, never sold)",
}


@dataclass
class _Sums:
    parties: int = 0
    covers: int = 0
    turns: int = 0
    turn_seconds: int = 0
    turn_count: int = 0
    first_seconds: int = 0
    first_count: int = 0
    orders: int = 0
    sales: int = 0
    voided_lines: int = 0
    voided_amount: int = 0

    def add(self, other: _Sums) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> TableFigures:
        return TableFigures(
            parties=self.parties, covers=self.covers, turns=self.turns, orders=self.orders,
            sales=self.sales,
            average_spend_per_cover=self.sales // self.covers if self.covers else None,
            average_turn_seconds=round(self.turn_seconds / self.turn_count, 1)
            if self.turn_count else None,
            average_first_order_seconds=round(self.first_seconds / self.first_count, 1)
            if self.first_count else None,
            voided_lines=self.voided_lines, voided_amount=self.voided_amount)


TableKey = tuple[str, str]  # (outlet id, table id)


def _parties(tenant_id: str, outlet_ids: list[str], day_from: date,
             day_to: date) -> list[ColumnElement[bool]]:
    return [OrderRow.tenant_id == tenant_id, OrderRow.outlet_id.in_(outlet_ids),
            OrderRow.business_day >= day_from, OrderRow.business_day <= day_to,
            OrderRow.table_id.is_not(None), OrderRow.split_from.is_(None),
            OrderRow.status.not_in((*VOID_STATUSES, "merged"))]


async def _party_figures(session: AsyncSession, sums: dict[TableKey, _Sums],
                         labels: dict[TableKey, str], tenant_id: str,
                         where: list[ColumnElement[bool]]) -> None:
    """One row per party: covers, turn and first-order times (whole seconds)."""
    party_ids = select(OrderRow.id).where(*where)
    parts = aliased(OrderRow)
    part_stats = (
        select(parts.split_from.label("parent_id"),
               func.sum(case((parts.status == "completed", 1), else_=0)).label("done"),
               func.max(epoch_seconds(parts.completed_at)).label("finished"))
        .where(parts.tenant_id == tenant_id, parts.split_from.in_(party_ids))
        .group_by(parts.split_from).subquery())
    line = OrderLineRow
    first = (
        select(line.order_id.label("order_id"),
               func.min(epoch_seconds(line.added_at)).label("first_added"),
               func.sum(case((line.added_at.is_(None), 1), else_=0)).label("unstamped"))
        .where(line.tenant_id == tenant_id, line.state != "held", line.order_id.in_(party_ids))
        .group_by(line.order_id).subquery())
    rows = await session.execute(
        select(OrderRow.outlet_id, OrderRow.table_id, OrderRow.table_label, OrderRow.covers,
               OrderRow.status, OrderRow.split_count,
               epoch_seconds(func.coalesce(OrderRow.seated_at, OrderRow.created_at)),
               epoch_seconds(OrderRow.created_at), epoch_seconds(OrderRow.completed_at),
               part_stats.c.done, part_stats.c.finished, first.c.first_added,
               first.c.unstamped)
        .outerjoin(part_stats, part_stats.c.parent_id == OrderRow.id)
        .outerjoin(first, first.c.order_id == OrderRow.id)
        .where(*where))
    for (outlet_id, table_id, label, covers, status, split_count, seated, created, completed,
         parts_done, parts_finished, first_added, unstamped) in rows:
        key = (outlet_id, table_id)
        labels.setdefault(key, label or "")
        s = sums.setdefault(key, _Sums())
        s.parties += 1
        s.covers += int(covers or 0)
        finished = None
        if status == "completed":
            finished = completed
        elif status == "split" and split_count and int(parts_done or 0) == split_count:
            finished = parts_finished
        if status == "completed" or finished is not None:
            s.turns += 1
        if finished is not None and seated is not None:
            s.turn_seconds += max(0, int(finished) - int(seated))
            s.turn_count += 1
        candidates = [int(first_added)] if first_added is not None else []
        if unstamped:
            candidates.append(int(created))
        if candidates and seated is not None:
            s.first_seconds += max(0, min(candidates) - int(seated))
            s.first_count += 1


async def _sales_figures(session: AsyncSession, sums: dict[TableKey, _Sums],
                         labels: dict[TableKey, str], tenant_id: str, outlet_ids: list[str],
                         day_from: date, day_to: date) -> None:
    """Sales per table: a split part's table is its own, else its parent's."""
    parent = aliased(OrderRow)
    table_of = func.coalesce(OrderRow.table_id, parent.table_id)
    rows = await session.execute(
        select(OrderRow.outlet_id, table_of, func.count(), func.sum(OrderRow.total),
               func.max(OrderRow.table_label))
        .outerjoin(parent, and_(parent.id == OrderRow.split_from,
                                parent.tenant_id == tenant_id))
        .where(OrderRow.tenant_id == tenant_id, OrderRow.outlet_id.in_(outlet_ids),
               OrderRow.business_day >= day_from, OrderRow.business_day <= day_to,
               is_sale(), table_of.is_not(None))
        .group_by(literal_column("1"), literal_column("2")))
    for outlet_id, table_id, count, total, label in rows:
        key = (outlet_id, table_id)
        labels.setdefault(key, label or "")
        s = sums.setdefault(key, _Sums())
        s.orders += int(count)
        s.sales += int(total or 0)


async def _voided_lines(session: AsyncSession, sums: dict[TableKey, _Sums], tenant_id: str,
                        where: list[ColumnElement[bool]]) -> None:
    rows = await session.execute(
        select(OrderRow.outlet_id, OrderRow.table_id, func.count(),
               func.sum(OrderLineRow.line_total))
        .join(OrderLineRow, and_(OrderLineRow.order_id == OrderRow.id,
                                 OrderLineRow.tenant_id == tenant_id))
        .where(*where, OrderLineRow.state == "voided")
        .group_by(OrderRow.outlet_id, OrderRow.table_id))
    for outlet_id, table_id, count, amount in rows:
        s = sums.setdefault((outlet_id, table_id), _Sums())
        s.voided_lines += int(count)
        s.voided_amount += int(amount or 0)


@dataclass(frozen=True)
class _Place:
    area_id: str
    area: str
    table: str
    order: tuple[int, int, str, str]  # area sort, table sort, area name, table name


async def _places(session: AsyncSession, tenant_id: str,
                  outlet_ids: list[str]) -> dict[TableKey, _Place]:
    """Tables of the outlets' floor plans, with their areas."""
    places: dict[TableKey, _Place] = {}
    plans = await session.execute(select(FloorPlanRow.outlet_id, FloorPlanRow.plan).where(
        FloorPlanRow.tenant_id == tenant_id, FloorPlanRow.outlet_id.in_(outlet_ids)))
    for outlet_id, plan in plans:
        plan = plan if isinstance(plan, dict) else {}
        areas = {a.get("id"): a for a in plan.get("areas", []) if isinstance(a, dict)}
        for table in plan.get("tables", []):
            if not isinstance(table, dict) or not table.get("id"):
                continue
            area = areas.get(table.get("area_id"), {})
            name, area_name = str(table.get("name", "")), str(area.get("name", ""))
            places[(outlet_id, table["id"])] = _Place(
                area_id=str(table.get("area_id", "")), area=area_name, table=name,
                order=(int(area.get("sort", 0) or 0), int(table.get("sort", 0) or 0),
                       area_name, name))
    return places


async def tables_report(session: AsyncSession, principal: Principal, *,
                        outlet_id: str | None, day_from: date, day_to: date) -> TablesReport:
    """Table service by area and table for ``principal`` over [day_from, day_to]."""
    outlets = await report_outlets(session, principal, outlet_id)
    ids = [o.id for o in outlets]
    sums: dict[TableKey, _Sums] = {}
    labels: dict[TableKey, str] = {}
    places: dict[TableKey, _Place] = {}
    if ids:
        tenant = principal.tenant_id
        where = _parties(tenant, ids, day_from, day_to)
        await _party_figures(session, sums, labels, tenant, where)
        await _sales_figures(session, sums, labels, tenant, ids, day_from, day_to)
        await _voided_lines(session, sums, tenant, where)
        places = await _places(session, tenant, ids)
    names = {o.id: o.name for o in outlets}
    total, areas = _Sums(), {}
    table_rows: list[tuple[Any, AreaTableFigures]] = []
    for key, s in sums.items():
        outlet, table_id = key
        place = places.get(key) or _Place("", "", labels.get(key, "") or table_id,
                                          (1 << 30, 0, "", labels.get(key, "")))
        total.add(s)
        area_key = (outlet, place.area_id)
        if area_key not in areas:
            areas[area_key] = (place, _Sums())
        areas[area_key][1].add(s)
        table_rows.append(((names.get(outlet, ""), outlet, place.order, table_id),
                           AreaTableFigures(outlet_id=outlet, outlet_name=names.get(outlet, ""),
                                            area_id=place.area_id, area=place.area,
                                            table_id=table_id, table=place.table,
                                            figures=s.figures())))
    area_rows = sorted(
        (((names.get(outlet, ""), outlet, place.order[0], place.area, area_id),
          AreaTableFigures(outlet_id=outlet, outlet_name=names.get(outlet, ""), area_id=area_id,
                           area=place.area, figures=area_sums.figures()))
         for (outlet, area_id), (place, area_sums) in areas.items()), key=lambda r: r[0])
    currencies = sorted({o.currency for o in outlets})
    return TablesReport(
        day_from=day_from.isoformat(), day_to=day_to.isoformat(), outlet_id=outlet_id,
        outlet_ids=ids, currency=currencies[0] if len(currencies) == 1 else None,
        totals=total.figures(),
        by_area=[row for _, row in area_rows],
        by_table=[row for _, row in sorted(table_rows, key=lambda r: r[0])],
        definitions=DEFINITIONS)
