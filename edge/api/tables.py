"""Table routes (edge.tables, edge.bills.open_bill): the floor as the screens show it, seat a
party, mark a table clean, and the floor plan. Thin: parse, call, return.

* ``GET /api/v1/tables`` -> ``{"items": [TableView]}``
* ``GET /api/v1/tables/{id}`` -> ``{"table": TableView, "orders": [its open bills]}``
* ``POST /api/v1/tables/{id}/seat`` ``{"covers": n}`` -> 201 Order (an empty bill; 200 on a
  replay of the same Idempotency-Key; 409 when a bill is open there)
* ``POST /api/v1/tables/{id}/clean`` -> 200 TableView (needs_cleaning -> free)
* ``GET /api/v1/floor`` -> FloorPlan (guest tokens only for a manager)
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from edge import bills, tables
from edge.api import deps
from shared.schemas import FloorPlan, Order, TableView

__all__ = ["table_routes"]

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)]


@get("/api/v1/tables", tags=["tables"], guards=[deps.requires("orders:read")])
async def list_tables(request: Request[Any, Any, Any]) -> dict[str, list[TableView]]:
    return {"items": await deps.edge_state(request).db.read(tables.table_views)}


@get("/api/v1/tables/{table_id:str}", tags=["tables"], guards=[deps.requires("orders:read")])
async def get_table(request: Request[Any, Any, Any], table_id: FromPath[str]) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        return {"table": tables.table_view(conn, table_id),
                "orders": tables.open_bills(conn, table_id)}
    return await deps.edge_state(request).db.read(read)


@post("/api/v1/tables/{table_id:str}/seat", tags=["tables"],
      guards=[deps.requires("bills:amend")])
async def seat(request: Request[Any, Any, Any], table_id: FromPath[str],
               data: JSONBody[bills.Seating], idempotency_key: IdempotencyKey = None
               ) -> Response[Order]:
    """Seat a party: 201 with the new empty bill (type dine_in, covers, seated_at)."""
    state = deps.edge_state(request)
    who, outlet = deps.principal(request), state.outlet
    order, created = await deps.write(request, lambda conn, now: bills.open_bill(
        conn, table_id, data.covers, outlet=outlet, principal=who, now=now,
        idempotency_key=idempotency_key or None))
    request.scope["log_extra"] = {"order_id": order.id, "table_id": table_id}
    return Response(order, status_code=201 if created else 200)


@post("/api/v1/tables/{table_id:str}/clean", tags=["tables"], status_code=200,
      guards=[deps.requires("bills:amend")])
async def clean(request: Request[Any, Any, Any], table_id: FromPath[str]) -> TableView:
    return await deps.write(request, lambda conn, now: tables.clean(conn, table_id, now))


@get("/api/v1/floor", tags=["tables"], guards=[deps.requires("orders:read")])
async def get_floor(request: Request[Any, Any, Any]) -> FloorPlan:
    """The floor plan; the tables' guest QR tokens are blank unless a manager asks."""
    plan = await deps.edge_state(request).db.read(tables.floor_plan)
    if deps.principal(request).staff_role == "manager":
        return plan
    return msgspec.structs.replace(plan, tables=[msgspec.structs.replace(t, guest_token="")
                                                 for t in plan.tables])


table_routes: list[Any] = [list_tables, get_table, seat, clean, get_floor]
