"""Sales report endpoint: parse the query, open the caller's tenant session, call hub.reports."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.params import Parameter

from hub import reports
from hub.db import Database
from hub.identity import Principal
from hub.schemas import SalesReport

__all__ = ["report_routes"]


@get("/api/v1/reports/sales", tags=["reports"])
async def sales(
    db: Database,
    principal: Principal,
    day_from: str | None = Parameter(query="from", default=None,
                                     description="first business day, YYYY-MM-DD"),
    day_to: str | None = Parameter(query="to", default=None,
                                   description="last business day (inclusive), YYYY-MM-DD"),
    outlet_id: str | None = Parameter(query="outlet_id", default=None, max_length=64,
                                      description="one outlet; omitted = every outlet you see"),
) -> SalesReport:
    """Sales, voids, refunds, payment mix, products, hours and kitchen times for a period."""
    start, end = reports.parse_period(day_from, day_to)
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return await reports.sales_report(session, principal, outlet_id=outlet_id or None,
                                          day_from=start, day_to=end)


report_routes: list[Any] = [sales]
