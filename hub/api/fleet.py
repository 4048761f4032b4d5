"""Fleet status and the audit log over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import Parameter
from litestar.response.base import ASGIResponse

from hub import audit, fleet
from hub.api.deps import DbDep, PrincipalDep, answers, caller, items_response, tenant_reader
from hub.identity import require
from hub.schemas import AuditEntryOut, FleetEntry, to_out

__all__ = ["fleet_routes"]


@get("/api/v1/fleet", tags=["fleet"], responses=answers(dict[str, list[FleetEntry]]))
async def fleet_status(request: Request[Any, Any, Any]) -> ASGIResponse:
    """Each outlet's last contact, last push/pull, reported backlog, edge version, online."""
    # the fast read path: the dashboard polls this (hub.api.deps)
    principal = caller(request)
    offline_after = request.app.state.settings.fleet_offline_after_seconds
    async with tenant_reader(request, principal) as reader:
        return items_response(await fleet.fleet_json(reader, principal, offline_after))


@get("/api/v1/audit", tags=["audit"])
async def audit_log(db: DbDep, principal: PrincipalDep,
                    entity_type: Annotated[str | None, Parameter(max_length=64)] = None,
                    entity_id: Annotated[str | None, Parameter(max_length=64)] = None,
                    before_id: Annotated[str | None, Parameter(max_length=64)] = None,
                    limit: Annotated[int, Parameter(ge=1, le=500)] = 100
                    ) -> dict[str, list[AuditEntryOut]]:
    """Administrative changes, newest first; page with ?before_id=<last id>."""
    require(principal, "audit:read")
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        rows = await audit.list_entries(session, entity_type=entity_type, entity_id=entity_id,
                                        limit=limit, before_id=before_id)
        return {"items": [to_out(r, AuditEntryOut) for r in rows]}


fleet_routes = [fleet_status, audit_log]
