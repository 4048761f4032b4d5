"""Order routes: create and pay (both idempotent), list, read, void, complete. Thin: parse, call
edge.orders in a write transaction, return the Order."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Parameter

from edge import orders
from edge.api import deps
from shared.errors import ValidationFailed
from shared.schemas import Order, OrderCreate, OrderVoid, PaymentCreate

__all__ = ["order_routes"]

_LIST_STATUSES = ("open", "placed", "in_kitchen", "ready", "completed", "voided", "cancelled")


@post("/api/v1/orders", tags=["orders"], guards=[deps.requires("orders:create")])
async def create_order(
    request: Request[Any, Any, Any], data: OrderCreate,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key", max_length=200)] = None,
) -> Response[Order]:
    """201 with the new order; a replay with the same key and body returns it again (200)."""
    state = deps.edge_state(request)
    who = deps.principal(request)
    outlet = state.outlet
    order, created = await deps.write(request, lambda conn, now: orders.create_order(
        conn, data, outlet=outlet, menu=state.menu, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    if created:
        state.metrics.orders_created.inc()
    request.scope["log_extra"] = {"order_id": order.id, "outlet_id": order.outlet_id}
    return Response(order, status_code=201 if created else 200)


@get("/api/v1/orders", tags=["orders"], guards=[deps.requires("orders:read")])
async def list_orders(
    request: Request[Any, Any, Any], status: str | None = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50, business_day: str | None = None,
) -> dict[str, list[Order]]:
    if status is not None and status not in _LIST_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(_LIST_STATUSES)}",
                               details={"status": status})
    items = await deps.edge_state(request).db.read(
        lambda conn: orders.list_orders(conn, status, limit, business_day))
    return {"items": items}


@get("/api/v1/orders/{order_id:str}", tags=["orders"], guards=[deps.requires("orders:read")])
async def get_order(request: Request[Any, Any, Any], order_id: str) -> Order:
    return await deps.edge_state(request).db.read(lambda conn: orders.load_order(conn, order_id))


@post("/api/v1/orders/{order_id:str}/payments", tags=["orders"], status_code=200,
      guards=[deps.requires("payments:take")])
async def add_payment(
    request: Request[Any, Any, Any], order_id: str, data: PaymentCreate,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key", max_length=200)] = None,
) -> Order:
    """200 with the order; a replay with the same key and body records nothing and returns it."""
    state = deps.edge_state(request)
    who, outlet = deps.principal(request), state.outlet
    order, created = await deps.write(request, lambda conn, now: orders.add_payment(
        conn, order_id, data, outlet=outlet, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    if created:
        state.metrics.payments.labels(data.method).inc()
    request.scope["log_extra"] = {"order_id": order.id, "outlet_id": order.outlet_id}
    return order


@post("/api/v1/orders/{order_id:str}/void", tags=["orders"], status_code=200,
      guards=[deps.requires("orders:void")])
async def void_order(request: Request[Any, Any, Any], order_id: str, data: OrderVoid) -> Order:
    """Unpaid: cashier or manager; paid: manager only (checked in edge.orders)."""
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    return await deps.write(request, lambda conn, now: orders.void_order(
        conn, order_id, data.reason, principal=who, now=now))


@post("/api/v1/orders/{order_id:str}/complete", tags=["orders"], status_code=200,
      guards=[deps.requires("orders:advance")])
async def complete_order(request: Request[Any, Any, Any], order_id: str) -> Order:
    request.scope["log_extra"] = {"order_id": order_id}
    return await deps.write(request, lambda conn, now: orders.complete_order(conn, order_id, now))


order_routes: list[Any] = [create_order, list_orders, get_order, add_payment, void_order,
                           complete_order]
