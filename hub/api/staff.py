"""Outlet staff (PIN logins at the tills) over HTTP: list, create, read, update/deactivate."""

from __future__ import annotations

from typing import Annotated

from litestar import get, patch, post
from litestar.params import FromPath, Parameter

from hub import staff
from hub.api.deps import DbDep, PrincipalDep
from hub.schemas import StaffCreate, StaffOut, StaffUpdate, to_out
from hub.staff_models import StaffMember

__all__ = ["staff_routes"]


def _out(found: tuple[StaffMember, list[str]]) -> StaffOut:
    member, outlet_ids = found
    return to_out(member, StaffOut, outlet_ids=outlet_ids)


@get("/api/v1/staff", tags=["staff"])
async def list_staff(db: DbDep, principal: PrincipalDep,
                     outlet_id: Annotated[str | None, Parameter(max_length=64)] = None
                     ) -> dict[str, list[StaffOut]]:
    """Staff the caller may see; ``?outlet_id=`` keeps those who work at that outlet."""
    async with db.tenant(principal.tenant_id) as session:
        return {"items": [_out(s) for s in await staff.list_staff(session, principal, outlet_id)]}


@post("/api/v1/staff", tags=["staff"])
async def create_staff(data: StaffCreate, db: DbDep, principal: PrincipalDep) -> StaffOut:
    async with db.tenant(principal.tenant_id) as session:
        return _out(await staff.create_staff(session, principal, data))


@get("/api/v1/staff/{staff_id:str}", tags=["staff"])
async def get_staff(staff_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> StaffOut:
    async with db.tenant(principal.tenant_id) as session:
        return _out(await staff.get_staff(session, principal, staff_id))


@patch("/api/v1/staff/{staff_id:str}", tags=["staff"])
async def update_staff(staff_id: FromPath[str], data: StaffUpdate, db: DbDep,
                       principal: PrincipalDep) -> StaffOut:
    """Partial update: name, role, pin, outlets; ``{"active": false}`` deactivates."""
    async with db.tenant(principal.tenant_id) as session:
        return _out(await staff.update_staff(session, principal, staff_id, data))


staff_routes = [list_staff, create_staff, get_staff, update_staff]
