"""Floor plans over HTTP (head office): an outlet's plan, saving it, rotating a table's guest
token, and the QR sticker sheet. Each handler parses, calls ``hub.floor``, returns."""

from __future__ import annotations

from typing import Any

from litestar import get, post, put
from litestar.params import FromPath, JSONBody

from hub import floor
from hub.api.deps import DbDep, PrincipalDep

__all__ = ["floor_routes"]

@get("/api/v1/outlets/{outlet_id:str}/floor", tags=["floor"])
async def get_floor(outlet_id: FromPath[str], db: DbDep,
                    principal: PrincipalDep) -> floor.FloorOut:
    """The outlet's floor plan and table-service settings (version 0 before the first save)."""
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return await floor.get_floor(session, principal, outlet_id)


@put("/api/v1/outlets/{outlet_id:str}/floor", tags=["floor"], status_code=200)
async def put_floor(outlet_id: FromPath[str], data: JSONBody[floor.FloorSave], db: DbDep,
                    principal: PrincipalDep) -> floor.FloorOut:
    """Save the whole plan drawn on ``version``; 409 when someone saved since."""
    async with db.tenant(principal.tenant_id) as session:
        return await floor.save_floor(session, principal, outlet_id, data)


@post("/api/v1/outlets/{outlet_id:str}/floor/tables/{table_id:str}/rotate-token",
      tags=["floor"], status_code=200)
async def rotate_token(outlet_id: FromPath[str], table_id: FromPath[str], db: DbDep,
                       principal: PrincipalDep) -> floor.FloorOut:
    """A new guest token for one table: its printed sticker stops working."""
    async with db.tenant(principal.tenant_id) as session:
        return await floor.rotate_token(session, principal, outlet_id, table_id)


@get("/api/v1/outlets/{outlet_id:str}/floor/stickers", tags=["floor"])
async def stickers(outlet_id: FromPath[str], db: DbDep,
                   principal: PrincipalDep) -> floor.StickerSheet:
    """One QR sticker per active table (SVG), pointing at the outlet's guest page."""
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return await floor.sticker_sheet(session, principal, outlet_id)


floor_routes: list[Any] = [get_floor, put_floor, rotate_token, stickers]
