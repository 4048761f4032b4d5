"""Menu routes: the outlet's catalog (with ETag) and local sold-out switches."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, put
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from edge import catalog
from edge.api import deps
from shared.schemas import Catalog

__all__ = ["AvailabilityUpdate", "menu_routes"]


class AvailabilityUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    available: bool


# The body is the catalog's JSON encoded once per change: document it as the Catalog it is.
@get("/api/v1/menu", tags=["menu"], guards=[deps.requires("menu:read")],
     responses={200: ResponseSpec(data_container=Catalog, description="The catalog")})
async def get_menu(request: Request[Any, Any, Any]) -> Response[bytes]:
    """shared.schemas.Catalog with current availability; 304 when the ETag still matches."""
    state = deps.edge_state(request)
    index = await state.db.read(state.menu.get)
    headers = {"ETag": index.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == index.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(index.json, media_type="application/json", headers=headers)


@put("/api/v1/menu/products/{product_id:str}/availability", tags=["menu"],
     guards=[deps.requires("availability:set")])
async def set_availability(request: Request[Any, Any, Any], product_id: FromPath[str],
                           data: JSONBody[AvailabilityUpdate]) -> dict[str, Any]:
    who = deps.principal(request)
    return await deps.write(request, lambda conn, now: catalog.set_availability(
        conn, product_id, data.available, who.staff_id or who.device_id, now))


menu_routes: list[Any] = [get_menu, set_availability]
