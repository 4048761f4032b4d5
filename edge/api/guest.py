"""Guest ordering routes: the table's QR page (no login; the table's token in the
``X-Table-Token`` header) and the staff side of what guests ask for.

Guest routes (``exclude_from_auth``: a guest has no bearer token):
* ``GET  /api/v1/guest/table`` -> the table, mode, menu (``?menu=false`` leaves it out: the
  page polls with it off and reloads the menu when ``menu_revision`` moves), the table's
  bill and its requests;
* ``POST /api/v1/guest/orders`` ``{"lines": [...]}`` + ``Idempotency-Key`` (required) -> 201
  ``{"request", "bill"}``; a replay -> 200 with the same request;
* ``POST /api/v1/guest/call`` ``{"kind": "waiter"|"bill"}`` -> 201 ``{"request"}`` (200: the
  same call is still pending).
Each is limited per client IP (before the token is looked at), per table, and by refused
tokens per IP (guessing): 429 with ``Retry-After``. Answers carry ``Cache-Control: no-store``.

Staff routes: ``GET /api/v1/guest-requests`` (``guests:read``), ``POST
/api/v1/guest-requests/{id}/accept`` and ``/reject`` (``guests:manage``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from edge import guest
from edge.api import deps
from shared.errors import Forbidden, ValidationFailed, error_body
from shared.schemas import FloorPlan, FloorTable, Order

__all__ = ["guest_routes"]

_json = msgspec.json.Encoder()
_NO_STORE = {"Cache-Control": "no-store"}
_GUEST = {"exclude_from_auth": True}
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]


def _rate_limited(_: Request[Any, Any, Any], exc: guest.RateLimited) -> Response[Any]:
    return Response(error_body(exc.code, exc.message, exc.details), status_code=exc.status,
                    headers={"Retry-After": str(exc.retry_after), **_NO_STORE})


_LIMITED: Any = {guest.RateLimited: _rate_limited}


def _limits(request: Request[Any, Any, Any]) -> guest.GuestLimits:
    """The app's guest limits, made on first use (in memory, gone at a restart)."""
    limits = getattr(request.app.state, "guest_limits", None)
    if limits is None:
        limits = request.app.state.guest_limits = guest.GuestLimits()
    return limits  # type: ignore[no-any-return]


async def _table(request: Request[Any, Any, Any], write: bool) -> tuple[FloorTable, FloorPlan]:
    """Limit by IP, find the table of the token (403), limit by table."""
    limits = _limits(request)
    ip = request.client.host if request.client else ""
    limits.check_ip(ip, write)
    token = request.headers.get(guest.TOKEN_HEADER, "")
    try:
        found = await deps.edge_state(request).db.read(lambda c: guest.table_for_token(c, token))
    except Forbidden:
        limits.refused(ip)
        raise
    limits.check_table(found[0].id, write)
    request.scope["log_extra"] = {"table_id": found[0].id}
    return found


def _answer(body: Any, status: int = 200) -> Response[bytes]:
    return Response(_json.encode(body), status_code=status, media_type="application/json",
                    headers=_NO_STORE)


@get("/api/v1/guest/table", tags=["guest"], opt=_GUEST, exception_handlers=_LIMITED)
async def guest_table(request: Request[Any, Any, Any],
                      menu: FromQuery[bool] = True) -> Response[bytes]:
    """The table's page: name, mode, menu, its own bill and requests (header X-Table-Token)."""
    table, plan = await _table(request, write=False)
    state = deps.edge_state(request)
    now = datetime.now(UTC)
    view = await state.db.read(lambda c: guest.guest_view(c, table, plan, state.menu, now, menu))
    return _answer(view)


@post("/api/v1/guest/orders", tags=["guest"], opt=_GUEST, exception_handlers=_LIMITED)
async def guest_order(request: Request[Any, Any, Any], data: JSONBody[guest.GuestOrderCreate],
                      idempotency_key: IdempotencyKey = None) -> Response[bytes]:
    """A round from the table: 201 (to the kitchen, or waiting for a waiter); replay 200."""
    if not idempotency_key:
        raise ValidationFailed("an Idempotency-Key header is required",
                               details={"field": "Idempotency-Key"})
    await _table(request, write=True)
    state = deps.edge_state(request)
    token, outlet = request.headers.get(guest.TOKEN_HEADER, ""), state.outlet

    def place(conn: Any, now: Any) -> tuple[guest.GuestRequest, bool, guest.GuestBill | None]:
        table, plan = guest.table_for_token(conn, token)  # again: it may have just changed
        made, created = guest.place_order(conn, table, plan, data, outlet=outlet,
                                          menu=state.menu, now=now, idempotency_key=idempotency_key)
        return made, created, guest.guest_bill(conn, table.id, state.menu.get(conn).currency)

    made, created, bill = await deps.write(request, place)
    request.scope["log_extra"]["guest_request_id"] = made.id
    return _answer({"request": guest.guest_side(made), "bill": bill}, 201 if created else 200)


@post("/api/v1/guest/call", tags=["guest"], opt=_GUEST, exception_handlers=_LIMITED)
async def guest_call(request: Request[Any, Any, Any],
                     data: JSONBody[guest.GuestCallCreate]) -> Response[bytes]:
    """Call the waiter or ask for the bill: 201; 200 when that call is still pending."""
    table, _ = await _table(request, write=True)
    made, created = await deps.write(request, lambda c, now: guest.call(c, table, data, now))
    return _answer({"request": guest.guest_side(made)}, 201 if created else 200)


@get("/api/v1/guest-requests", tags=["guest"], guards=[deps.requires("guests:read")])
async def list_guest_requests(
    request: Request[Any, Any, Any], status: FromQuery[str | None] = None,
    kind: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
) -> dict[str, list[guest.GuestRequest]]:
    """Newest first; ``status`` pending | accepted | rejected, ``kind`` order | call."""
    if status is not None and status not in ("pending", "accepted", "rejected"):
        raise ValidationFailed("status must be pending, accepted or rejected",
                               details={"field": "status"})
    if kind is not None and kind not in ("order", "call"):
        raise ValidationFailed("kind must be order or call", details={"field": "kind"})
    items = await deps.edge_state(request).db.read(
        lambda c: guest.list_requests(c, status, kind, limit))
    return {"items": items}


@post("/api/v1/guest-requests/{request_id:str}/accept", tags=["guest"], status_code=200,
      guards=[deps.requires("guests:manage")])
async def accept_guest_request(request: Request[Any, Any, Any],
                               request_id: FromPath[str]) -> dict[str, Any]:
    """Add the round to the table's bill as the caller (a call: acknowledged); idempotent."""
    state = deps.edge_state(request)
    who, outlet = deps.principal(request), state.outlet
    made, order = await deps.write(request, lambda c, now: guest.accept(
        c, request_id, outlet=outlet, menu=state.menu, principal=who, now=now))
    request.scope["log_extra"] = {"guest_request_id": made.id, "order_id": made.order_id}
    answer: dict[str, guest.GuestRequest | Order | None] = {"request": made, "order": order}
    return answer


@post("/api/v1/guest-requests/{request_id:str}/reject", tags=["guest"], status_code=200,
      guards=[deps.requires("guests:manage")])
async def reject_guest_request(request: Request[Any, Any, Any], request_id: FromPath[str],
                               data: JSONBody[guest.GuestReject | None] = None) -> guest.GuestRequest:
    """Refuse a pending round (or dismiss a call), with an optional reason the guest sees."""
    who = deps.principal(request)
    reason = data.reason if data else ""
    request.scope["log_extra"] = {"guest_request_id": request_id}
    return await deps.write(request, lambda c, now: guest.reject(
        c, request_id, reason, principal=who, now=now))


guest_routes: list[Any] = [guest_table, guest_order, guest_call, list_guest_requests,
                           accept_guest_request, reject_guest_request]
