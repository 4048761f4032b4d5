"""The daily roll-up that keeps sales reports fast, and how a report knows a cell is current.

``refresh_rollups`` (the scheduled job ``rollup_job``) stores each past day's cell: scalars in
``report_daily``, breakdowns as rows of ``report_daily_items`` that SQL sums (both tables in
``hub.models``), together with a *fingerprint* of the orders it was built from (row count,
highest journal seq, latest ``updated_at``), plus one tenant-wide cell per day (outlet
``ALL_OUTLETS``) for reports over every outlet. A report uses the cells whose fingerprint
still matches the orders table (``stored_cells``, ``fresh_tenant_days``) and recomputes the
rest live (``hub.reports.cells``), so it always equals the raw data.

One gap: the fingerprint covers orders, so a kitchen event for a past, rolled-up day that
comes without any change to that day's orders (a recall after the order was completed) shows
only once the cell is rebuilt. The edge journals ticket creation with the order and the last
bump with the order turning ready, so ordinary cooking always moves the fingerprint. The
same holds for a split bill's items, which count once its parts are all sales: the parts are
made on the bill's business day, so their arrival moves that day's fingerprint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import (
    ALL_OUTLETS,
    REPORT_SCALARS,
    OrderRow,
    Outlet,
    report_daily,
    report_daily_items,
    utcnow,
)
from hub.reports.cells import CellKey, DayCell, compute_cells, outlet_zone

__all__ = ["ROLLUP_FORMAT", "Fingerprint", "fingerprints", "fresh_tenant_days",
           "refresh_rollups", "rollup_job", "stored_breakdowns", "stored_cells", "tenant_wide"]

log = logging.getLogger("hub.reports")

ROLLUP_FORMAT = 5  # bump when DayCell's stored shape changes: older rows are then rebuilt
# 3: refunds by method and discounts by reason (issue 11)
# 4: table service (issue 12): split and merged bills are no sales, voided lines no items
# 5: the sales statement (issue 13, STATEMENT_SCALARS); migration 0440 fills it in for
#    format-4 rows from their orders


Fingerprint = tuple[int, int, datetime]


async def fingerprints(session: AsyncSession, tenant_id: str, outlet_ids: Iterable[str],
                        day_from: date, day_to: date) -> dict[CellKey, Fingerprint]:
    rows = await session.execute(
        select(OrderRow.outlet_id, OrderRow.business_day, func.count(),
               func.max(OrderRow.edge_seq), func.max(OrderRow.updated_at))
        .where(OrderRow.tenant_id == tenant_id, OrderRow.outlet_id.in_(list(outlet_ids)),
               OrderRow.business_day >= day_from, OrderRow.business_day <= day_to)
        .group_by(OrderRow.business_day, OrderRow.outlet_id))
    return {(o, d): (count, int(seq or 0), _as_utc(updated)) for o, d, count, seq, updated in rows}


def tenant_wide(prints: dict[CellKey, Fingerprint]) -> dict[date, Fingerprint]:
    """Per day, one fingerprint of all outlets: any change to any outlet's orders raises its
    row count or journal seq, so the sums move (they never move back)."""
    days: dict[date, Fingerprint] = {}
    for (_, day), (rows, seq, updated) in prints.items():
        held = days.get(day)
        days[day] = (rows, seq, updated) if held is None else (
            held[0] + rows, held[1] + seq, max(held[2], updated))
    return days


async def fresh_tenant_days(session: AsyncSession, tenant_id: str, day_from: date,
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


async def stored_cells(session: AsyncSession, tenant_id: str, outlet_ids: list[str],
                        day_from: date, day_to: date, fingerprints: dict[CellKey, Fingerprint]
                        ) -> tuple[dict[CellKey, DayCell], set[CellKey]]:
    """Roll-up cells (scalar figures only) whose fingerprint still matches the orders table,
    and the keys of stored cells that no longer match (their breakdowns must be skipped)."""
    r = report_daily.c
    rows = await session.execute(
        select(r.outlet_id, r.business_day, r.order_rows, r.max_edge_seq, r.max_updated_at,
               r.format, *(r[name] for name in REPORT_SCALARS))
        .where(r.tenant_id == tenant_id, r.outlet_id.in_(outlet_ids),
               r.business_day >= day_from, r.business_day <= day_to))
    fresh: dict[CellKey, DayCell] = {}
    outdated: set[CellKey] = set()
    for outlet_id, day, order_rows, max_seq, max_updated, fmt, *figures in rows:
        key = (outlet_id, day)
        if fmt == ROLLUP_FORMAT and fingerprints.get(key) == (
                order_rows, int(max_seq), _as_utc(max_updated)):
            fresh[key] = DayCell(**{name: int(v) for name, v in zip(REPORT_SCALARS, figures)})
        else:
            outdated.add(key)
    return fresh, outdated


async def stored_breakdowns(session: AsyncSession, tenant_id: str, outlet_ids: list[str],
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
        tenant_built, tenant_kept = await _refresh_outlet_cells(session, tenant, outlets, now,
                                                                lookback_days)
        built, kept = built + tenant_built, kept + tenant_kept
    for tenant, outlets in by_tenant.items():
        built += await _refresh_tenant_cells(session, tenant, outlets, now, lookback_days)
    log.info("report roll-up refreshed", extra={"built": built, "kept": kept})
    return {"built": built, "kept": kept}


async def _refresh_outlet_cells(session: AsyncSession, tenant: str, outlets: list[Outlet],
                                now: datetime, lookback_days: int) -> tuple[int, int]:
    """(Re)build the tenant's stale outlet cells of past days; (built, kept fresh)."""
    local_today = {o.id: now.astimezone(outlet_zone(o)).date() for o in outlets}
    day_to = max(local_today.values()) - timedelta(days=1)
    day_from = day_to - timedelta(days=lookback_days - 1)
    prints = await fingerprints(session, tenant, local_today, day_from, day_to)
    prints = {key: fp for key, fp in prints.items() if key[1] < local_today[key[0]]}
    fresh, _ = await stored_cells(session, tenant, list(local_today), day_from, day_to, prints)
    stale = sorted(set(prints) - set(fresh))
    if not stale:
        return 0, len(fresh)
    cells = await compute_cells(session, tenant, outlets, day_from, day_to, only=set(stale))
    for outlet_id, day in stale:
        for table in (report_daily, report_daily_items):
            await session.execute(delete(table).where(
                table.c.tenant_id == tenant, table.c.outlet_id == outlet_id,
                table.c.business_day == day))
    stamp = utcnow()
    cell_rows, item_rows = [], []
    for outlet_id, day in stale:
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
    for first in range(0, len(item_rows), 5000):
        await session.execute(insert(report_daily_items), item_rows[first:first + 5000])
    return len(stale), len(fresh)


async def _refresh_tenant_cells(session: AsyncSession, tenant: str, outlets: list[Outlet],
                                now: datetime, lookback_days: int) -> int:
    """(Re)build the tenant-wide cells of past days from the (now fresh) outlet cells."""
    day_to = min(now.astimezone(outlet_zone(o)).date() for o in outlets) - timedelta(days=1)
    day_from = day_to - timedelta(days=lookback_days - 1)
    outlet_ids = [o.id for o in outlets]
    prints = await fingerprints(session, tenant, outlet_ids, day_from, day_to)
    wanted = tenant_wide(prints)
    fresh = await fresh_tenant_days(session, tenant, day_from, day_to, wanted)
    stale = sorted(set(wanted) - fresh)
    if not stale:
        return 0
    stored, _ = await stored_cells(session, tenant, outlet_ids, day_from, day_to, prints)
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
        total = {name: 0 for name in REPORT_SCALARS}
        for (_, cell_day), cell in stored.items():
            if cell_day == day:
                for name in REPORT_SCALARS:
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


async def rollup_job(session: AsyncSession, settings: Any) -> dict[str, Any]:
    """The scheduled job (``hub.scheduler.Job("report_rollup",
    settings.report_rollup_interval_seconds, rollup_job)``); runs in the scheduler's system
    session, once per slot across replicas."""
    return await refresh_rollups(session)
