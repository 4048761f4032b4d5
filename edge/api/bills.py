"""Bill amendment routes (edge.bills): add a round, fire a course, change or delete a held
line, void a sent line, ask for the bill. Thin: parse, call the service in one write
transaction, return the whole bill.

Idempotency-Key (per device) on add round, fire and void: a replay answers 200 with the bill
as it is now and changes nothing; the same key with another body is 409
``idempotency_conflict``. PATCH and DELETE of a held line take ``If-Match: <revision>``: a
stale revision is 409 ``conflict`` with ``details.revision`` the current one. Voiding a line
worth more than the floor plan's threshold needs a manager (logged in, or the manager's PIN
in ``X-Manager-PIN``: edge.api.orders.manager_approval).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, patch, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from edge import bills
from edge.api import deps
from edge.api.orders import ManagerPin, manager_approval
from shared.errors import ValidationFailed
from shared.schemas import Order

__all__ = ["bill_routes"]

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", max_length=40)]


def _revision(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` header names ("7", or the ETag form "\"7\"")."""
    if if_match is None or not if_match.strip():
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise ValidationFailed("If-Match must be the bill's revision (a number)",
                               details={"field": "If-Match"})
    return int(text)


@post("/api/v1/orders/{order_id:str}/lines", tags=["tables"], status_code=200,
      guards=[deps.requires("bills:amend")])
async def add_round(request: Request[Any, Any, Any], order_id: FromPath[str],
                    data: JSONBody[bills.RoundCreate],
                    idempotency_key: IdempotencyKey = None) -> Order:
    """A new round (round = last + 1): lines without ``hold`` go to the kitchen at once."""
    state = deps.edge_state(request)
    who, outlet = deps.principal(request), state.outlet
    request.scope["log_extra"] = {"order_id": order_id}
    order, _ = await deps.write(request, lambda conn, now: bills.add_round(
        conn, order_id, data.lines, outlet=outlet, menu=state.menu, principal=who, now=now,
        idempotency_key=idempotency_key or None, source=who.device_name))
    return order


@post("/api/v1/orders/{order_id:str}/fire", tags=["tables"], status_code=200,
      guards=[deps.requires("bills:amend")])
async def fire(request: Request[Any, Any, Any], order_id: FromPath[str],
               data: JSONBody[bills.CourseFire], idempotency_key: IdempotencyKey = None) -> Order:
    """Send the held lines of a course ("" = all held lines) to the kitchen."""
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    order, _ = await deps.write(request, lambda conn, now: bills.fire(
        conn, order_id, data.course, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    return order


@patch("/api/v1/orders/{order_id:str}/lines/{line_id:str}", tags=["tables"], status_code=200,
       guards=[deps.requires("bills:amend")])
async def update_line(request: Request[Any, Any, Any], order_id: FromPath[str],
                      line_id: FromPath[str], data: JSONBody[bills.LineUpdate],
                      if_match: IfMatch = None) -> Order:
    """Change a held line; 409 once it was sent or when If-Match is stale."""
    state = deps.edge_state(request)
    revision = _revision(if_match)
    request.scope["log_extra"] = {"order_id": order_id}
    return await deps.write(request, lambda conn, now: bills.update_line(
        conn, order_id, line_id, data, menu=state.menu, now=now, revision=revision))


@delete("/api/v1/orders/{order_id:str}/lines/{line_id:str}", tags=["tables"], status_code=200,
        guards=[deps.requires("bills:amend")])
async def delete_line(request: Request[Any, Any, Any], order_id: FromPath[str],
                      line_id: FromPath[str], if_match: IfMatch = None) -> Order:
    """Take a held line off the bill; 409 once it was sent (void it instead)."""
    state = deps.edge_state(request)
    revision = _revision(if_match)
    request.scope["log_extra"] = {"order_id": order_id}
    return await deps.write(request, lambda conn, now: bills.delete_line(
        conn, order_id, line_id, menu=state.menu, now=now, revision=revision))


@post("/api/v1/orders/{order_id:str}/lines/{line_id:str}/void", tags=["tables"],
      status_code=200, guards=[deps.requires("orders:void")])
async def void_line(request: Request[Any, Any, Any], order_id: FromPath[str],
                    line_id: FromPath[str], data: JSONBody[bills.LineVoid],
                    manager_pin: ManagerPin = None,
                    idempotency_key: IdempotencyKey = None) -> Order:
    """Void a sent line with a reason; above the threshold a manager approves."""
    state = deps.edge_state(request)
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    approver = await manager_approval(request, manager_pin)
    order, _ = await deps.write(request, lambda conn, now: bills.void_line(
        conn, order_id, line_id, data.reason, menu=state.menu, principal=who, now=now,
        approved_by=approver, idempotency_key=idempotency_key or None))
    return order


@post("/api/v1/orders/{order_id:str}/request-bill", tags=["tables"], status_code=200,
      guards=[deps.requires("bills:amend")])
async def request_bill(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Order:
    request.scope["log_extra"] = {"order_id": order_id}
    return await deps.write(request, lambda conn, now: bills.request_bill(conn, order_id, now=now))


bill_routes: list[Any] = [add_round, fire, update_line, delete_line, void_line, request_bill]
