"""The sales report on PostgreSQL's fast read path (``hub.db.Database.reader``): the same
``SalesReport`` as ``hub.reports.sales.sales_report``, figure for figure, at a fraction of the
hub's CPU (docs/scaling.md, "Per request").

One statement (``_STATE``, under the caller's tenant like every fast read: RLS binds it, and
it names the tenant too) does what the session path does in five: it finds the outlets the
caller may see, fingerprints the period's orders, keeps the stored roll-up cells whose
fingerprint still matches (``hub.reports.rollups``: the same rules, written in SQL), has
PostgreSQL sum their scalar figures per outlet, per day and in all (``GROUPING SETS``) and
their breakdowns (the tenant-wide cells of the days where they are current, the outlet cells
of the others), and names the cells that must be computed live. No ORM object is loaded and
no cell is merged in Python but the live ones.

Live cells (today; a day a late sync changed) are computed by ``hub.reports.cells``'
statements, built once with bind parameters, on the same kept connection, when they cover at
most ``READER_LIVE_DAYS`` days, planned with the same settings (``LIVE_PLAN_SETTINGS``, in a
read-only transaction). More than that (no roll-ups yet, a period older than the
roll-up job keeps) is a month-sized aggregation that needs the session path's larger
``work_mem``: it runs in a read-only tenant session after the reader, as before.

No cache: every report reads the rows as they are, so it is never staler than the session
path's. SQLite keeps the session path (``hub.api.reports``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import TextClause, literal_column, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from hub.db import Database, TenantReader
from hub.identity import Principal, require, require_outlet
from hub.models import ALL_OUTLETS, REPORT_SCALARS, OrderRow
from hub.reports.cells import (
    LIVE_PLAN_SETTINGS,
    CellKey,
    DayCell,
    LiveFilter,
    compute_cells,
    hour_buckets,
    live_days,
    live_statements,
    new_cells,
)
from hub.reports.rollups import ROLLUP_FORMAT
from hub.reports.sales import Figures, build_report
from hub.schemas import SalesReport
from shared.errors import NotFound

__all__ = ["READER_LIVE_DAYS", "sales_report_fast"]

# Live cells over at most this many days are computed on the reader's connection (today,
# and yesterday until the roll-up job has run); more go to a session with a larger work_mem.
READER_LIVE_DAYS = 2


@dataclass(frozen=True)
class _OutletRow:
    id: str
    name: str
    currency: str
    timezone: str


_SCALAR_SUMS = ", ".join(f"sum({name}) AS {name}" for name in REPORT_SCALARS)
_SCALAR_NAMES = ", ".join(REPORT_SCALARS)


def _period(table: str) -> str:
    return (f"{table}.business_day >= CAST(:day_from AS date)"
            f" AND {table}.business_day <= CAST(:day_to AS date)")


# The report's state in one statement; the rules are those of hub.reports.rollups
# (fingerprints, stored_cells, tenant_wide, fresh_tenant_days, stored_breakdowns) and
# hub.reports.sales (report_outlets, _gather). ``sums``: level 1 per outlet, 2 per day, 3 all.
_STATE = text(f"""
WITH scope AS (
    SELECT id FROM outlets
    WHERE tenant_id = :tenant_id
      AND (CAST(:visible AS text[]) IS NULL OR id = ANY(CAST(:visible AS text[])))
      AND (CAST(:outlet_id AS text) IS NULL OR id = CAST(:outlet_id AS text))),
prints AS (
    SELECT outlet_id, business_day, count(*) AS order_rows,
           coalesce(max(edge_seq), 0) AS max_edge_seq, max(updated_at) AS max_updated_at
    FROM orders
    WHERE tenant_id = :tenant_id AND outlet_id IN (SELECT id FROM scope)
      AND {_period('orders')}
    GROUP BY business_day, outlet_id),
stored AS (
    SELECT r.*, coalesce(r.format = CAST(:format AS integer)
                         AND r.order_rows = p.order_rows AND r.max_edge_seq = p.max_edge_seq
                         AND r.max_updated_at = p.max_updated_at, false) AS fresh
    FROM report_daily r
    LEFT JOIN prints p ON p.outlet_id = r.outlet_id AND p.business_day = r.business_day
    WHERE r.tenant_id = :tenant_id AND r.outlet_id IN (SELECT id FROM scope)
      AND {_period('r')}),
tenant_days AS (
    SELECT r.business_day FROM report_daily r
    JOIN (SELECT business_day, sum(order_rows) AS order_rows,
                 sum(max_edge_seq) AS max_edge_seq, max(max_updated_at) AS max_updated_at
          FROM prints GROUP BY business_day) t ON t.business_day = r.business_day
    WHERE CAST(:every_outlet AS boolean) AND r.tenant_id = :tenant_id
      AND r.outlet_id = :all_outlets AND {_period('r')}
      AND r.format = CAST(:format AS integer) AND r.order_rows = t.order_rows
      AND r.max_edge_seq = t.max_edge_seq AND r.max_updated_at = t.max_updated_at),
sums AS (
    SELECT GROUPING(outlet_id, business_day) AS level, outlet_id, business_day,
           count(*) AS cells, {_SCALAR_SUMS}
    FROM stored WHERE fresh
    GROUP BY GROUPING SETS ((outlet_id), (business_day), ())),
items AS (
    SELECT 1 AS part, i.kind, i.key, max(i.name) AS name, sum(i.count) AS count,
           sum(i.amount) AS amount
    FROM report_daily_items i
    WHERE EXISTS (SELECT FROM stored WHERE fresh)
      AND i.tenant_id = :tenant_id AND i.outlet_id = :all_outlets
      AND i.business_day IN (SELECT business_day FROM tenant_days)
    GROUP BY i.kind, i.key
    UNION ALL
    SELECT 2, i.kind, i.key, max(i.name), sum(i.count), sum(i.amount)
    FROM report_daily_items i
    WHERE EXISTS (SELECT FROM stored s WHERE s.fresh
                  AND s.business_day NOT IN (SELECT business_day FROM tenant_days))
      AND i.tenant_id = :tenant_id AND i.outlet_id IN (SELECT id FROM scope)
      AND {_period('i')} AND i.business_day NOT IN (SELECT business_day FROM tenant_days)
      AND NOT EXISTS (SELECT FROM stored s WHERE NOT s.fresh AND s.outlet_id = i.outlet_id
                      AND s.business_day = i.business_day)
    GROUP BY i.kind, i.key)
SELECT
    (SELECT json_agg(json_build_array(id, name, currency, timezone) ORDER BY name, id)
     FROM outlets WHERE tenant_id = :tenant_id)::text AS outlets,
    (SELECT json_agg(json_build_array(level, outlet_id, business_day, cells, {_SCALAR_NAMES}))
     FROM sums)::text AS sums,
    (SELECT json_agg(json_build_array(p.outlet_id, p.business_day)) FROM prints p
     WHERE NOT EXISTS (SELECT FROM stored s WHERE s.fresh AND s.outlet_id = p.outlet_id
                       AND s.business_day = p.business_day))::text AS stale,
    (SELECT count(*) FROM tenant_days) AS tenant_days,
    (SELECT json_agg(json_build_array(part, kind, key, name, count, amount) ORDER BY part)
     FROM items)::text AS items
""")

_Rows = msgspec.json.Decoder(list[list[Any]] | None)


# The live statements' filters, as placeholders of the statement's own bind parameters.
_LIVE_FILTER = LiveFilter(
    literal_column(":tenant_id"),
    (OrderRow.tenant_id == literal_column(":tenant_id"),
     OrderRow.outlet_id == literal_column("ANY(CAST(:outlet_ids AS text[]))"),
     OrderRow.business_day >= literal_column("CAST(:day_from AS date)"),
     OrderRow.business_day <= literal_column("CAST(:day_to AS date)"),
     OrderRow.business_day == literal_column("ANY(CAST(:days AS date[]))")),
    literal_column("CAST(:day_from AS date)"), literal_column("CAST(:day_to AS date)"))
_LIVE: dict[int, list[tuple[TextClause, Callable[..., None]]]] = {}


def _live_steps(bucket_seconds: int) -> list[tuple[TextClause, Callable[..., None]]]:
    """``hub.reports.cells``' live statements, compiled once per bucket size with their
    constants written out (the fast reader binds only named parameters): the same SQL as
    ``compute_cells`` runs, filtered by bind parameters (the reader keeps it prepared)."""
    steps = _LIVE.get(bucket_seconds)
    if steps is None:
        dialect = PGDialect_asyncpg()
        steps = _LIVE[bucket_seconds] = [
            (text(str(statement.compile(dialect=dialect,
                                        compile_kwargs={"literal_binds": True}))), add)
            for statement, add in live_statements(_LIVE_FILTER, bucket_seconds)]
    return steps


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _cell(values: list[Any]) -> DayCell:
    return DayCell(**{name: int(v or 0) for name, v in zip(REPORT_SCALARS, values, strict=True)})


@dataclass
class _State:
    outlets: list[_OutletRow]
    figures: Figures
    stale: set[CellKey]


async def _read_state(reader: TenantReader, principal: Principal, outlet_id: str | None,
                      day_from: date, day_to: date) -> _State:
    row = await reader.first(
        _STATE, visible=None if principal.outlet_ids is None else list(principal.outlet_ids),
        outlet_id=outlet_id, day_from=day_from, day_to=day_to, format=ROLLUP_FORMAT,
        every_outlet=outlet_id is None and principal.outlet_ids is None,
        all_outlets=ALL_OUTLETS)
    assert row is not None  # one row, always
    every = [_OutletRow(*values) for values in _Rows.decode(row["outlets"] or "null") or []]
    if outlet_id:
        if all(o.id != outlet_id for o in every):
            raise NotFound("no such outlet", {"outlet_id": outlet_id})
        require_outlet(principal, outlet_id)
        outlets = [o for o in every if o.id == outlet_id]
    else:
        outlets = [o for o in every if principal.sees_outlet(o.id)]
    figures = Figures(total=DayCell(), per_outlet={}, per_day={}, rollup_cells=0,
                      live_cells=0, tenant_wide_days=int(row["tenant_days"]))
    for level, outlet, day, cells, *values in _Rows.decode(row["sums"] or "null") or []:
        if level == 1:
            figures.per_outlet[outlet] = _cell(values)
        elif level == 2:
            figures.per_day[date.fromisoformat(day)] = _cell(values)
        else:
            figures.total = _cell(values)
            figures.rollup_cells = cells
    parts: dict[int, DayCell] = {}
    for part, kind, key, name, count, amount in _Rows.decode(row["items"] or "null") or []:
        parts.setdefault(part, DayCell()).add_item(kind, key, name, int(count), int(amount))
    for part in sorted(parts):
        figures.total.merge_breakdowns(parts[part])
    stale = {(outlet, date.fromisoformat(day))
             for outlet, day in _Rows.decode(row["stale"] or "null") or []}
    return _State(outlets, figures, stale)


async def _live_on_reader(reader: TenantReader, outlets: list[_OutletRow], day_from: date,
                          day_to: date, stale: set[CellKey]) -> dict[CellKey, DayCell]:
    """``compute_cells(..., only=stale)`` with the statements built once, on the reader."""
    hours = hour_buckets(outlets, *live_days(day_from, day_to, stale))
    params = {"outlet_ids": sorted({outlet for outlet, _ in stale}),
              "days": sorted({day for _, day in stale}), "day_from": day_from,
              "day_to": day_to}
    cells = new_cells()
    await reader.set_local(LIVE_PLAN_SETTINGS)  # planned as compute_cells' statements are
    for statement, add in _live_steps(hours.bucket_seconds):
        add(cells, await reader.all(statement, **params), hours)
    return {key: cell for key, cell in cells.items() if key in stale}


def _add_live(figures: Figures, live: dict[CellKey, DayCell]) -> None:
    """Live cells on top of the stored sums: scalars per outlet, per day and in all, and
    their breakdowns."""
    figures.live_cells = len(live)
    for (outlet, day), cell in live.items():
        figures.total.merge(cell)
        for target in (figures.per_outlet.setdefault(outlet, DayCell()),
                       figures.per_day.setdefault(day, DayCell())):
            target.add_scalars(cell)


async def sales_report_fast(db: Database, principal: Principal, *, outlet_id: str | None,
                            day_from: date, day_to: date) -> SalesReport:
    """``sales_report`` on the fast read path (PostgreSQL): the caller's token is checked by
    the first statement (``CallerNotCurrent`` when it is no longer current)."""
    started = time.perf_counter()
    live: dict[CellKey, DayCell] | None = None
    async with db.reader(principal.tenant_id, user_id=principal.user_id,
                         caller=(principal.user_id, principal.token_version)) as reader:
        require(principal, "reports:read")
        state = await _read_state(reader, principal, outlet_id, day_from, day_to)
        state.figures.phases["rollups_ms"] = _ms_since(started)
        live_started = time.perf_counter()
        if state.stale and len({day for _, day in state.stale}) <= READER_LIVE_DAYS:
            live = await _live_on_reader(reader, state.outlets, day_from, day_to, state.stale)
    if state.stale and live is None:
        async with db.tenant(principal.tenant_id, readonly=True,
                             user_id=principal.user_id) as session:
            live = await compute_cells(session, principal.tenant_id, state.outlets, day_from,
                                       day_to, only=state.stale)
    if live is not None:
        _add_live(state.figures, live)
        state.figures.phases["live_ms"] = _ms_since(live_started)
    return build_report(state.outlets, state.figures, outlet_id=outlet_id, day_from=day_from,
                        day_to=day_to, started=started)
