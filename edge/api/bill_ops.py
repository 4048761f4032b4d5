"""Split, move and merge routes of open bills (edge.bill_ops). Thin: parse, call the service
in one write transaction, return what it gives. Each takes an ``Idempotency-Key`` per
device: a replay answers 200 with the bills as they are now and changes nothing.

* ``POST /api/v1/orders/{id}/split`` -> 201 ``{"orders": [parts]}`` (200 on a replay)
* ``POST /api/v1/orders/{id}/move`` -> 200 Order
* ``POST /api/v1/orders/{id}/merge`` -> 200 Order (the receiving bill)
* ``POST /api/v1/orders/{id}/move-lines`` -> 200 ``{"from": Order, "to": Order}``
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from edge import bill_ops
from edge.api import deps
from shared.schemas import Order

__all__ = ["bill_op_routes"]

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]
_PERMISSION = "orders:adjust"


@post("/api/v1/orders/{order_id:str}/split", tags=["tables"],
      guards=[deps.requires(_PERMISSION)])
async def split_bill(request: Request[Any, Any, Any], order_id: FromPath[str],
                     data: JSONBody[bill_ops.BillSplit],
                     idempotency_key: IdempotencyKey = None) -> Response[dict[str, list[Order]]]:
    """Split an open bill by item (``parts``), by seat (``by: "seat"``) or evenly
    (``even: n``); the parts' figures add up to the bill's exactly."""
    state = deps.edge_state(request)
    who, outlet = deps.principal(request), state.outlet
    request.scope["log_extra"] = {"order_id": order_id}
    parts, created = await deps.write(request, lambda conn, now: bill_ops.split(
        conn, order_id, data, outlet=outlet, menu=state.menu, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    return Response({"orders": parts}, status_code=201 if created else 200)


@post("/api/v1/orders/{order_id:str}/move", tags=["tables"], status_code=200,
      guards=[deps.requires(_PERMISSION)])
async def move_bill(request: Request[Any, Any, Any], order_id: FromPath[str],
                    data: JSONBody[bill_ops.BillMove],
                    idempotency_key: IdempotencyKey = None) -> Order:
    """Move the party to another table (409 when a bill is open there)."""
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    order, _ = await deps.write(request, lambda conn, now: bill_ops.move(
        conn, order_id, data, principal=who, now=now, idempotency_key=idempotency_key or None))
    return order


@post("/api/v1/orders/{order_id:str}/merge", tags=["tables"], status_code=200,
      guards=[deps.requires(_PERMISSION)])
async def merge_bill(request: Request[Any, Any, Any], order_id: FromPath[str],
                     data: JSONBody[bill_ops.BillMerge],
                     idempotency_key: IdempotencyKey = None) -> Order:
    """This bill takes every line of ``order_id``, which becomes "merged"."""
    state = deps.edge_state(request)
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    order, _ = await deps.write(request, lambda conn, now: bill_ops.merge(
        conn, order_id, data, menu=state.menu, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    return order


@post("/api/v1/orders/{order_id:str}/move-lines", tags=["tables"], status_code=200,
      guards=[deps.requires(_PERMISSION)])
async def move_lines(request: Request[Any, Any, Any], order_id: FromPath[str],
                     data: JSONBody[bill_ops.LinesMove],
                     idempotency_key: IdempotencyKey = None) -> dict[str, Order]:
    """Move lines of this bill to ``to_order_id``; both bills come back re-priced."""
    state = deps.edge_state(request)
    who = deps.principal(request)
    request.scope["log_extra"] = {"order_id": order_id}
    source, target, _ = await deps.write(request, lambda conn, now: bill_ops.move_lines(
        conn, order_id, data, menu=state.menu, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    return {"from": source, "to": target}


bill_op_routes: list[Any] = [split_bill, move_bill, merge_bill, move_lines]
