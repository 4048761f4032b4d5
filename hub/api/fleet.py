"""Fleet status and the audit log over HTTP."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import Parameter

from hub import audit, fleet
from hub.api.deps import DbDep, PrincipalDep, SettingsDep
from hub.identity import require
from hub.schemas import AuditEntryOut, FleetEntry, to_out

__all__ = ["fleet_routes"]


@get("/api/v1/fleet", tags=["fleet"])
async def fleet_status(db: DbDep, principal: PrincipalDep,
                       settings: SettingsDep) -> dict[str, list[FleetEntry]]:
    """Each outlet's last contact, last push/pull, reported backlog, edge version, online."""
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return {"items": await fleet.fleet(session, principal, settings.fleet_offline_after_seconds)}


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
