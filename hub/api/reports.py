"""Report endpoints (sales, tables): parse the query, open the caller's tenant session (read
replica when there is one), call hub.reports."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get
from litestar.params import QueryParameter

from hub import reports
from hub.api.deps import DbDep, PrincipalDep
from hub.reports.tables import tables_report
from hub.schemas import SalesReport, TablesReport

__all__ = ["report_routes"]


@get("/api/v1/reports/sales", tags=["reports"])
async def sales(
    db: DbDep,
    principal: PrincipalDep,
    day_from: Annotated[str | None, QueryParameter(
        name="from", description="first business day, YYYY-MM-DD")] = None,
    day_to: Annotated[str | None, QueryParameter(
        name="to", description="last business day (inclusive), YYYY-MM-DD")] = None,
    outlet_id: Annotated[str | None, QueryParameter(
        max_length=64, description="one outlet; omitted = every outlet you see")] = None,
) -> SalesReport:
    """Sales, voids, refunds, payment mix, products, hours and kitchen times for a period."""
    start, end = reports.parse_period(day_from, day_to)
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return await reports.sales_report(session, principal, outlet_id=outlet_id or None,
                                          day_from=start, day_to=end)


@get("/api/v1/reports/tables", tags=["reports"])
async def tables(
    db: DbDep,
    principal: PrincipalDep,
    day_from: Annotated[str | None, QueryParameter(
        name="from", description="first business day, YYYY-MM-DD")] = None,
    day_to: Annotated[str | None, QueryParameter(
        name="to", description="last business day (inclusive), YYYY-MM-DD")] = None,
    outlet_id: Annotated[str | None, QueryParameter(
        max_length=64, description="one outlet; omitted = every outlet you see")] = None,
) -> TablesReport:
    """Table service by area and table: covers, sales, spend per cover, turns, turn time,
    time from seating to the first order."""
    start, end = reports.parse_period(day_from, day_to)
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return await tables_report(session, principal, outlet_id=outlet_id or None,
                                   day_from=start, day_to=end)


report_routes: list[Any] = [sales, tables]
