"""Report endpoints (sales, tables): parse the query, open the caller's tenant reads (read
replica when there is one), call hub.reports."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, get
from litestar.params import QueryParameter
from litestar.response.base import ASGIResponse

from hub import reports
from hub.api.deps import DbDep, PrincipalDep, answers, caller
from hub.db import Database
from hub.identity import check_current
from hub.reports.fast import sales_report_fast
from hub.reports.tables import tables_report
from hub.schemas import SalesReport, TablesReport

__all__ = ["report_routes"]


@get("/api/v1/reports/sales", tags=["reports"], responses=answers(SalesReport))
async def sales(
    request: Request[Any, Any, Any],
    day_from: Annotated[str | None, QueryParameter(
        name="from", description="first business day, YYYY-MM-DD")] = None,
    day_to: Annotated[str | None, QueryParameter(
        name="to", description="last business day (inclusive), YYYY-MM-DD")] = None,
    outlet_id: Annotated[str | None, QueryParameter(
        max_length=64, description="one outlet; omitted = every outlet you see")] = None,
) -> ASGIResponse:
    """Sales, voids, refunds, payment mix, products, hours and kitchen times for a period."""
    # the fast read path on PostgreSQL (hub.reports.fast; the dashboard polls this), no
    # dependency injection; SQLite reads through a session
    principal = caller(request)
    start, end = reports.parse_period(day_from, day_to)
    db: Database = request.app.state.db
    if db.is_postgres:
        report = await sales_report_fast(db, principal, outlet_id=outlet_id or None,
                                         day_from=start, day_to=end)
    else:
        async with db.tenant(principal.tenant_id, readonly=True,
                             user_id=principal.user_id) as session:
            await check_current(session, principal)
            report = await reports.sales_report(session, principal, outlet_id=outlet_id or None,
                                                day_from=start, day_to=end)
    return ASGIResponse(body=msgspec.json.encode(report), media_type=MediaType.JSON)


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
