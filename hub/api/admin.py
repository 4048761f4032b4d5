"""Head-office structure over HTTP: the caller's tenant, brands, outlets and users."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import MediaType, Request, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.response.base import ASGIResponse

from hub import tenancy
from hub.api.deps import (
    DbDep,
    PrincipalDep,
    answers,
    caller,
    items_response,
    tenant_reader,
)
from hub.models import User
from hub.schemas import (
    BrandCreate,
    BrandOut,
    BrandUpdate,
    OutletCreate,
    OutletOut,
    OutletUpdate,
    TenantOut,
    TenantUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
    to_out,
)

__all__ = ["admin_routes"]


# The reads the dashboard polls take the fast read path (hub.api.deps; docs/scaling.md,
# "Per request"): the request's own objects, no dependency injection, JSON sent as is.


@get("/api/v1/tenant", tags=["tenant"], responses=answers(TenantOut))
async def get_tenant(request: Request[Any, Any, Any]) -> ASGIResponse:
    principal = caller(request)
    async with tenant_reader(request, principal) as reader:
        tenant = await tenancy.read_tenant(reader, principal)
    return ASGIResponse(body=msgspec.json.encode(tenant), media_type=MediaType.JSON)


@patch("/api/v1/tenant", tags=["tenant"])
async def update_tenant(data: JSONBody[TenantUpdate], db: DbDep, principal: PrincipalDep) -> TenantOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await tenancy.update_tenant(session, principal, data), TenantOut)


@get("/api/v1/brands", tags=["brands"])
async def list_brands(db: DbDep, principal: PrincipalDep) -> dict[str, list[BrandOut]]:
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return {"items": [to_out(b, BrandOut) for b in await tenancy.list_brands(session, principal)]}


@post("/api/v1/brands", tags=["brands"])
async def create_brand(data: JSONBody[BrandCreate], db: DbDep, principal: PrincipalDep) -> BrandOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await tenancy.create_brand(session, principal, data), BrandOut)


@get("/api/v1/brands/{brand_id:str}", tags=["brands"])
async def get_brand(brand_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> BrandOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await tenancy.get_brand(session, principal, brand_id), BrandOut)


@patch("/api/v1/brands/{brand_id:str}", tags=["brands"])
async def update_brand(brand_id: FromPath[str], data: JSONBody[BrandUpdate], db: DbDep,
                       principal: PrincipalDep) -> BrandOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await tenancy.update_brand(session, principal, brand_id, data), BrandOut)


@get("/api/v1/outlets", tags=["outlets"], responses=answers(dict[str, list[OutletOut]]))
async def list_outlets(request: Request[Any, Any, Any]) -> ASGIResponse:
    principal = caller(request)
    async with tenant_reader(request, principal) as reader:
        return items_response(await tenancy.outlets_json(reader, principal))


@post("/api/v1/outlets", tags=["outlets"])
async def create_outlet(data: JSONBody[OutletCreate], db: DbDep, principal: PrincipalDep) -> OutletOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await tenancy.create_outlet(session, principal, data), OutletOut)


@get("/api/v1/outlets/{outlet_id:str}", tags=["outlets"])
async def get_outlet(outlet_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> OutletOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await tenancy.get_outlet(session, principal, outlet_id), OutletOut)


@patch("/api/v1/outlets/{outlet_id:str}", tags=["outlets"])
async def update_outlet(outlet_id: FromPath[str], data: JSONBody[OutletUpdate], db: DbDep,
                        principal: PrincipalDep) -> OutletOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await tenancy.update_outlet(session, principal, outlet_id, data), OutletOut)


async def _users_out(session, users: list[User]) -> list[UserOut]:  # type: ignore[no-untyped-def]
    outlets = await tenancy.user_outlet_ids(session, [u.id for u in users])
    return [to_out(u, UserOut, outlet_ids=outlets[u.id]) for u in users]


@get("/api/v1/users", tags=["users"])
async def list_users(db: DbDep, principal: PrincipalDep) -> dict[str, list[UserOut]]:
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return {"items": await _users_out(session, await tenancy.list_users(session, principal))}


@post("/api/v1/users", tags=["users"])
async def create_user(data: JSONBody[UserCreate], db: DbDep, principal: PrincipalDep) -> UserOut:
    async with db.tenant(principal.tenant_id) as session:
        user = await tenancy.create_user(session, principal, data)
        return (await _users_out(session, [user]))[0]


@get("/api/v1/users/{user_id:str}", tags=["users"])
async def get_user(user_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> UserOut:
    async with db.tenant(principal.tenant_id) as session:
        return (await _users_out(session, [await tenancy.get_user(session, principal, user_id)]))[0]


@patch("/api/v1/users/{user_id:str}", tags=["users"])
async def update_user(user_id: FromPath[str], data: JSONBody[UserUpdate], db: DbDep,
                      principal: PrincipalDep) -> UserOut:
    async with db.tenant(principal.tenant_id) as session:
        user = await tenancy.update_user(session, principal, user_id, data)
        return (await _users_out(session, [user]))[0]


admin_routes = [get_tenant, update_tenant, list_brands, create_brand, get_brand, update_brand,
                list_outlets, create_outlet, get_outlet, update_outlet, list_users, create_user,
                get_user, update_user]
