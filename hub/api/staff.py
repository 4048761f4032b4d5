"""Outlet staff (PIN logins at the tills) over HTTP: list, create, read, update/deactivate."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from hub import staff
from hub.api.deps import DbDep, PrincipalDep
from hub.schemas import StaffCreate, StaffOut, StaffUpdate, to_out
from hub.staff_models import StaffMember
from hub.staff_pins import PinVault

__all__ = ["staff_routes"]


def _out(member: StaffMember, outlet_ids: list[str], generated_pin: str | None = None) -> StaffOut:
    return to_out(member, StaffOut, outlet_ids=outlet_ids, has_pin=bool(member.pin_sealed),
                  generated_pin=generated_pin)


def _vault(request: Request[Any, Any, Any]) -> PinVault:
    vault: PinVault = request.app.state.pins
    return vault


@get("/api/v1/staff", tags=["staff"])
async def list_staff(db: DbDep, principal: PrincipalDep,
                     outlet_id: Annotated[str | None, Parameter(max_length=64)] = None
                     ) -> dict[str, list[StaffOut]]:
    """Staff the caller may see; ``?outlet_id=`` keeps those who work at that outlet."""
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return {"items": [_out(*s) for s in await staff.list_staff(session, principal, outlet_id)]}


@post("/api/v1/staff", tags=["staff"])
async def create_staff(request: Request[Any, Any, Any], data: JSONBody[StaffCreate], db: DbDep,
                       principal: PrincipalDep) -> StaffOut:
    """``pin`` (head office only) or none: the hub draws one, returned once as generated_pin."""
    made = await staff.create_staff(db, _vault(request), principal, data)
    return _out(made.member, made.outlet_ids, made.generated_pin)


@get("/api/v1/staff/{staff_id:str}", tags=["staff"])
async def get_staff(staff_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> StaffOut:
    async with db.tenant(principal.tenant_id) as session:
        return _out(*await staff.get_staff(session, principal, staff_id))


@patch("/api/v1/staff/{staff_id:str}", tags=["staff"])
async def update_staff(request: Request[Any, Any, Any], staff_id: FromPath[str],
                       data: JSONBody[StaffUpdate], db: DbDep, principal: PrincipalDep) -> StaffOut:
    """Partial update: name, role, pin or new_pin, outlets; ``{"active": false}`` deactivates."""
    made = await staff.update_staff(db, _vault(request), principal, staff_id, data)
    return _out(made.member, made.outlet_ids, made.generated_pin)


staff_routes = [list_staff, create_staff, get_staff, update_staff]
