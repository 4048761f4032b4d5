"""HTTP routes of cashier shifts and the cash drawer (thin: parse, call edge.shifts, return)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from edge import shifts
from edge.api import deps
from edge.outlet import load_outlet
from shared.errors import Forbidden
from shared.schemas import (
    CashMovement,
    CashMovementCreate,
    Shift,
    ShiftClose,
    ShiftOpen,
    ShiftReport,
)

__all__ = ["shift_routes"]


def _till(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """(device id, staff id) of the caller: shifts are run by staff on a cashier device."""
    who = deps.principal(request)
    if who.device_role != "cashier":
        raise Forbidden("shifts are run on a cashier device",
                        details={"device_role": who.device_role})
    if not who.staff_id:
        raise Forbidden("log in with a staff PIN to run a shift")
    return who.device_id, who.staff_id


@post("/api/v1/shifts", tags=["shifts"], guards=[deps.requires("shifts:manage")], status_code=201)
async def open_shift(request: Request[Any, Any, Any], data: JSONBody[ShiftOpen]) -> Shift:
    device_id, staff_id = _till(request)
    return await deps.write(request, lambda c, now: shifts.open_shift(
        c, data, outlet_id=load_outlet(c).id, device_id=device_id, staff_id=staff_id, now=now))


@get("/api/v1/shifts/current", tags=["shifts"], guards=[deps.requires("shifts:report")])
async def current_shift(request: Request[Any, Any, Any]) -> Shift:
    device_id = deps.principal(request).device_id
    return await deps.edge_state(request).db.read(lambda c: shifts.current_shift(c, device_id))


@get("/api/v1/shifts/{shift_id:str}", tags=["shifts"], guards=[deps.requires("shifts:report")])
async def get_shift(request: Request[Any, Any, Any], shift_id: FromPath[str]) -> Shift:
    return await deps.edge_state(request).db.read(lambda c: shifts.get_shift(c, shift_id))


@post("/api/v1/shifts/{shift_id:str}/cash-movements", tags=["shifts"], guards=[deps.requires("shifts:manage")],
      status_code=201)
async def add_cash_movement(request: Request[Any, Any, Any], shift_id: FromPath[str],
                            data: JSONBody[CashMovementCreate]) -> CashMovement:
    staff_id = deps.principal(request).staff_id
    return await deps.write(request, lambda c, now: shifts.add_cash_movement(
        c, shift_id, data, staff_id=staff_id, now=now))


@post("/api/v1/shifts/{shift_id:str}/close", tags=["shifts"], guards=[deps.requires("shifts:manage")],
      status_code=200)
async def close_shift(request: Request[Any, Any, Any], shift_id: FromPath[str],
                      data: JSONBody[ShiftClose]) -> Shift:
    _, staff_id = _till(request)
    return await deps.write(request, lambda c, now: shifts.close_shift(
        c, shift_id, data, staff_id=staff_id, now=now))


@get("/api/v1/shifts/{shift_id:str}/report", tags=["shifts"], guards=[deps.requires("shifts:report")])
async def shift_report(request: Request[Any, Any, Any], shift_id: FromPath[str]) -> ShiftReport:
    now = datetime.now(UTC)
    return await deps.edge_state(request).db.read(lambda c: shifts.report(c, shift_id, now))


shift_routes: list[Any] = [open_shift, current_shift, get_shift, add_cash_movement, close_shift,
                           shift_report]
