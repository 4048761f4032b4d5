"""Order routes: create and pay (both idempotent), list, read, void, complete, discount at
the till, refund (idempotent). Thin: parse, call edge.orders / edge.refunds in a write
transaction, return the Order or Refund.

Manager approval ("manager override", as Square and Toast tills do it): voiding a paid order,
a discount above the outlet's threshold and a refund need a manager. A manager logged in on
the request approves it themselves; a cashier's session gets it by sending the manager's PIN
in the ``X-Manager-PIN`` header of that one request. The PIN is checked here like a login
(edge.devices, argon2 off the event loop) and counted by edge.login_throttle in the same
scopes as logins, so the override is no way around the PIN lock. The cashier stays the
actor (``staff_id``), the manager is recorded as the approver.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from edge import devices, login_throttle, orders, refunds
from edge.api import deps
from edge.db import connect
from shared.errors import Forbidden, ValidationFailed
from shared.schemas import (
    DiscountCreate,
    Order,
    OrderCreate,
    OrderVoid,
    PaymentCreate,
    Refund,
    RefundCreate,
)

__all__ = ["MANAGER_PIN_HEADER", "manager_approval", "order_routes"]

log = logging.getLogger("edge.approvals")
MANAGER_PIN_HEADER = "X-Manager-PIN"
ManagerPin = Annotated[str | None, HeaderParameter(name=MANAGER_PIN_HEADER, max_length=16)]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]


async def manager_approval(request: Request[Any, Any, Any], pin: str | None) -> str | None:
    """The staff id of the manager approving this request: the caller when a manager is
    logged in, else the manager whose PIN is in ``X-Manager-PIN`` (403 for a PIN that is
    not an active manager's, 429 while PINs are locked); None when neither."""
    who = deps.principal(request)
    if who.staff_role == "manager" and who.staff_id:
        return who.staff_id
    if not pin:
        return None
    state = deps.edge_state(request)
    policy = state.throttle
    await state.db.write(lambda c: login_throttle.reserve(c, who.device_id, policy, time.time()))
    manager = await asyncio.to_thread(_find_staff, state, pin)
    if manager is None or manager.role != "manager":
        locks = await state.db.write(
            lambda c: login_throttle.failed(c, who.device_id, policy, time.time()))
        state.metrics.logins_failed.inc()
        log.info("manager approval refused", extra={"device_id": who.device_id,
                                                    "staff_id": who.staff_id})
        for lock in locks:
            log.warning("staff logins locked", extra={"device_id": who.device_id,
                                                      "scope": lock.scope, "seconds": lock.seconds,
                                                      "lockouts": lock.lockouts})
        raise Forbidden("that is not a manager's PIN", details={"approval": "manager"})
    await state.db.write(lambda c: login_throttle.succeeded(c, who.device_id, policy, time.time()))
    log.info("manager approved", extra={"device_id": who.device_id, "staff_id": who.staff_id,
                                        "approved_by": manager.id})
    return manager.id


def _find_staff(state: deps.EdgeState, pin: str) -> devices.StaffMember | None:
    # A private read connection: the shared reader belongs to the event-loop thread.
    conn = connect(state.settings.db_path)
    try:
        return devices.find_staff_by_pin(conn, pin, state.settings.pin_pepper)
    finally:
        conn.close()


def _wake_printer(request: Request[Any, Any, Any]) -> None:
    """A drawer pulse may be queued: send it now rather than at the worker's next look."""
    worker = deps.edge_state(request).print_worker
    if worker is not None:
        worker.wake()

_LIST_STATUSES = ("open", "placed", "in_kitchen", "ready", "completed", "voided", "cancelled")


@post("/api/v1/orders", tags=["orders"], guards=[deps.requires("orders:create")])
async def create_order(
    request: Request[Any, Any, Any], data: JSONBody[OrderCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[Order]:
    """201 with the new order; a replay with the same key and body returns it again (200);
    409 ``order_deadline_passed`` when the edge gets to it after the body's ``place_by``."""
    state = deps.edge_state(request)
    who = deps.principal(request)
    outlet = state.outlet
    # ``now`` is read in the write transaction, not when the request came in: a deadline
    # (``place_by``) is checked against the moment the order would really be placed.
    order, created = await deps.write(request, lambda conn, _: orders.create_order(
        conn, data, outlet=outlet, menu=state.menu, principal=who, now=datetime.now(UTC),
        idempotency_key=idempotency_key or None))
    if created:
        state.metrics.orders_created.inc()
    request.scope["log_extra"] = {"order_id": order.id, "outlet_id": order.outlet_id}
    return Response(order, status_code=201 if created else 200)


@get("/api/v1/orders", tags=["orders"], guards=[deps.requires("orders:read")])
async def list_orders(
    request: Request[Any, Any, Any], status: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    business_day: FromQuery[str | None] = None,
    q: Annotated[str | None, QueryParameter(max_length=50)] = None,
) -> dict[str, list[Order]]:
    """Newest first. ``q``: an order number ("12", "#12") or part of the customer's or table's name."""
    if status is not None and status not in _LIST_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(_LIST_STATUSES)}",
                               details={"status": status})
    items = await deps.edge_state(request).db.read(
        lambda conn: orders.list_orders(conn, status, limit, business_day, q))
    return {"items": items}


@get("/api/v1/orders/{order_id:str}", tags=["orders"], guards=[deps.requires("orders:read")])
async def get_order(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Order:
    return await deps.edge_state(request).db.read(lambda conn: orders.load_order(conn, order_id))


@post("/api/v1/orders/{order_id:str}/payments", tags=["orders"], status_code=200,
      guards=[deps.requires("payments:take")])
async def add_payment(
    request: Request[Any, Any, Any], order_id: FromPath[str], data: JSONBody[PaymentCreate],
    idempotency_key: IdempotencyKey = None,
) -> Order:
    """200 with the order; a replay with the same key and body records nothing and returns it."""
    state = deps.edge_state(request)
    who, outlet = deps.principal(request), state.outlet
    order, created = await deps.write(request, lambda conn, now: orders.add_payment(
        conn, order_id, data, outlet=outlet, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    if created:
        state.metrics.payments.labels(data.method).inc()
        if data.method == "cash":
            _wake_printer(request)
    request.scope["log_extra"] = {"order_id": order.id, "outlet_id": order.outlet_id}
    return order


@post("/api/v1/orders/{order_id:str}/void", tags=["orders"], status_code=200,
      guards=[deps.requires("orders:void")])
async def void_order(request: Request[Any, Any, Any], order_id: FromPath[str],
                     data: JSONBody[OrderVoid],
                     manager_pin: ManagerPin = None) -> Order:
    """Unpaid: cashier or manager; paid: a manager approves (logged in, or the manager's
    PIN in ``X-Manager-PIN``), recorded as ``void_approved_by``."""
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    approver = await manager_approval(request, manager_pin)
    return await deps.write(request, lambda conn, now: orders.void_order(
        conn, order_id, data.reason, principal=who, now=now, approved_by=approver))


@post("/api/v1/orders/{order_id:str}/discount", tags=["orders"], status_code=200,
      guards=[deps.requires("orders:adjust")])
async def discount_order(request: Request[Any, Any, Any], order_id: FromPath[str],
                         data: JSONBody[DiscountCreate],
                         manager_pin: ManagerPin = None) -> Order:
    """Set the discount of the order or a line; totals re-priced on the edge. Above the
    outlet's threshold a manager approves (``discount_approved_by``)."""
    state = deps.edge_state(request)
    who, outlet = deps.principal(request), state.outlet
    request.scope["log_extra"] = {"order_id": order_id}
    approver = await manager_approval(request, manager_pin)
    return await deps.write(request, lambda conn, now: orders.apply_discount(
        conn, order_id, data, outlet=outlet, menu=state.menu, principal=who, now=now,
        approved_by=approver))


@post("/api/v1/orders/{order_id:str}/refunds", tags=["orders"],
      guards=[deps.requires("orders:refund")])
async def refund_order(request: Request[Any, Any, Any], order_id: FromPath[str],
                       data: JSONBody[RefundCreate],
                       manager_pin: ManagerPin = None,
                       idempotency_key: IdempotencyKey = None) -> Response[Refund]:
    """201 with the refund (a gateway refund as the gateway answered: done, pending or
    failed with its reason); a replay with the same key and body returns it again (200)."""
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    approver = await manager_approval(request, manager_pin)
    refund, created = await deps.write(request, lambda conn, now: refunds.begin(
        conn, order_id, data, principal=who, approved_by=approver, now=now,
        idempotency_key=idempotency_key or None))
    request.scope["log_extra"]["refund_id"] = refund.id
    if created and refund.status == "pending":
        refund = await _settle(request, refund)
    if created and refund.method == "cash":
        _wake_printer(request)
    return Response(refund, status_code=201 if created else 200)


@get("/api/v1/orders/{order_id:str}/refunds", tags=["orders"],
     guards=[deps.requires("orders:refund")])
async def list_refunds(request: Request[Any, Any, Any],
                       order_id: FromPath[str]) -> dict[str, list[Refund]]:
    items = await deps.edge_state(request).db.read(
        lambda conn: refunds.list_for_order(conn, order_id))
    return {"items": items}


@post("/api/v1/refunds/{refund_id:str}/retry", tags=["orders"], status_code=200,
      guards=[deps.requires("orders:refund")])
async def retry_refund(request: Request[Any, Any, Any], refund_id: FromPath[str],
                       manager_pin: ManagerPin = None) -> Refund:
    """Ask the gateway again for a failed gateway refund (same idempotency key)."""
    request.scope["log_extra"] = {"refund_id": refund_id}
    approver = await manager_approval(request, manager_pin)
    refund = await deps.write(request, lambda conn, now: refunds.retry(
        conn, refund_id, approved_by=approver, now=now))
    return await _settle(request, refund)


async def _settle(request: Request[Any, Any, Any], refund: Refund) -> Refund:
    state = deps.edge_state(request)
    payments = request.app.state.payments
    settled = await refunds.settle(state.db, refund, payments.provider, payments.clock)
    state.feed.notify()
    return settled


@post("/api/v1/orders/{order_id:str}/complete", tags=["orders"], status_code=200,
      guards=[deps.requires("orders:advance")])
async def complete_order(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Order:
    request.scope["log_extra"] = {"order_id": order_id}
    return await deps.write(request, lambda conn, now: orders.complete_order(conn, order_id, now))


order_routes: list[Any] = [create_order, list_orders, get_order, add_payment, void_order,
                           discount_order, refund_order, list_refunds, retry_refund,
                           complete_order]
