"""The catalog over HTTP: categories, products, modifier groups, outlet prices and
availability, publishing and the published menu of an outlet."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub import catalog
from hub.api.deps import DbDep, PrincipalDep
from hub.identity import require, require_outlet
from hub.models import ModifierGroup
from hub.schemas import (
    AvailabilityOut,
    AvailabilitySet,
    CatalogVersionOut,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    ModifierGroupCreate,
    ModifierGroupOut,
    ModifierGroupUpdate,
    OptionOut,
    PriceOut,
    PriceSet,
    ProductCreate,
    ProductOrder,
    ProductOut,
    ProductUpdate,
    ReportedAvailabilityOut,
    to_out,
)
from hub.tenancy import get_outlet
from shared.schemas import Catalog

__all__ = ["catalog_routes"]

BrandFilter = Annotated[str | None, QueryParameter(name="brand_id", max_length=64)]
Archived = Annotated[bool, QueryParameter(name="include_archived")]


@get("/api/v1/catalog/categories", tags=["catalog"])
async def list_categories(db: DbDep, principal: PrincipalDep, brand_id: BrandFilter = None,
                          include_archived: Archived = False) -> dict[str, list[CategoryOut]]:
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        rows = await catalog.list_categories(session, principal, brand_id, include_archived)
        return {"items": [to_out(r, CategoryOut) for r in rows]}


@post("/api/v1/catalog/categories", tags=["catalog"])
async def create_category(data: JSONBody[CategoryCreate], db: DbDep,
                          principal: PrincipalDep) -> CategoryOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await catalog.create_category(session, principal, data), CategoryOut)


@patch("/api/v1/catalog/categories/{category_id:str}", tags=["catalog"])
async def update_category(category_id: FromPath[str], data: JSONBody[CategoryUpdate], db: DbDep,
                          principal: PrincipalDep) -> CategoryOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await catalog.update_category(session, principal, category_id, data),
                      CategoryOut)


@delete("/api/v1/catalog/categories/{category_id:str}", tags=["catalog"])
async def archive_category(category_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> None:
    async with db.tenant(principal.tenant_id) as session:
        await catalog.archive_category(session, principal, category_id)


@get("/api/v1/catalog/products", tags=["catalog"])
async def list_products(db: DbDep, principal: PrincipalDep, brand_id: BrandFilter = None,
                        category_id: Annotated[str | None, Parameter(max_length=64)] = None,
                        include_archived: Archived = False) -> dict[str, list[ProductOut]]:
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        rows = await catalog.list_products(session, principal, brand_id, category_id,
                                           include_archived)
        return {"items": [to_out(r, ProductOut) for r in rows]}


@post("/api/v1/catalog/products", tags=["catalog"])
async def create_product(data: JSONBody[ProductCreate], db: DbDep,
                         principal: PrincipalDep) -> ProductOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await catalog.create_product(session, principal, data), ProductOut)


@get("/api/v1/catalog/products/{product_id:str}", tags=["catalog"])
async def get_product(product_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> ProductOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await catalog.get_product(session, principal, product_id), ProductOut)


@patch("/api/v1/catalog/products/{product_id:str}", tags=["catalog"])
async def update_product(product_id: FromPath[str], data: JSONBody[ProductUpdate], db: DbDep,
                         principal: PrincipalDep) -> ProductOut:
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await catalog.update_product(session, principal, product_id, data),
                      ProductOut)


@delete("/api/v1/catalog/products/{product_id:str}", tags=["catalog"])
async def archive_product(product_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> None:
    async with db.tenant(principal.tenant_id) as session:
        await catalog.archive_product(session, principal, product_id)


@post("/api/v1/catalog/products/{product_id:str}/restore", tags=["catalog"], status_code=200)
async def restore_product(product_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> ProductOut:
    """Bring a deleted (archived) product back, last in its category."""
    async with db.tenant(principal.tenant_id) as session:
        return to_out(await catalog.restore_product(session, principal, product_id), ProductOut)


@put("/api/v1/catalog/categories/{category_id:str}/product-order", tags=["catalog"])
async def reorder_products(category_id: FromPath[str], data: JSONBody[ProductOrder], db: DbDep,
                           principal: PrincipalDep) -> dict[str, list[ProductOut]]:
    """Set the display order of every live product of the category (first to last)."""
    async with db.tenant(principal.tenant_id) as session:
        rows = await catalog.reorder_products(session, principal, category_id, data.product_ids)
        return {"items": [to_out(r, ProductOut) for r in rows]}


async def _groups_out(session: AsyncSession, groups: list[ModifierGroup]) -> list[ModifierGroupOut]:
    options = await catalog.options_of(session, [g.id for g in groups])
    return [to_out(g, ModifierGroupOut, options=[to_out(o, OptionOut) for o in options[g.id]])
            for g in groups]


@get("/api/v1/catalog/modifier-groups", tags=["catalog"])
async def list_modifier_groups(db: DbDep, principal: PrincipalDep, brand_id: BrandFilter = None,
                               include_archived: Archived = False
                               ) -> dict[str, list[ModifierGroupOut]]:
    async with db.tenant(principal.tenant_id) as session:
        groups = await catalog.list_modifier_groups(session, principal, brand_id, include_archived)
        return {"items": await _groups_out(session, groups)}


@post("/api/v1/catalog/modifier-groups", tags=["catalog"])
async def create_modifier_group(data: JSONBody[ModifierGroupCreate], db: DbDep,
                                principal: PrincipalDep) -> ModifierGroupOut:
    async with db.tenant(principal.tenant_id) as session:
        group = await catalog.create_modifier_group(session, principal, data)
        return (await _groups_out(session, [group]))[0]


@get("/api/v1/catalog/modifier-groups/{group_id:str}", tags=["catalog"])
async def get_modifier_group(group_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> ModifierGroupOut:
    async with db.tenant(principal.tenant_id) as session:
        group = await catalog.get_modifier_group(session, principal, group_id)
        return (await _groups_out(session, [group]))[0]


@patch("/api/v1/catalog/modifier-groups/{group_id:str}", tags=["catalog"])
async def update_modifier_group(group_id: FromPath[str], data: JSONBody[ModifierGroupUpdate], db: DbDep,
                                principal: PrincipalDep) -> ModifierGroupOut:
    async with db.tenant(principal.tenant_id) as session:
        group = await catalog.update_modifier_group(session, principal, group_id, data)
        return (await _groups_out(session, [group]))[0]


@delete("/api/v1/catalog/modifier-groups/{group_id:str}", tags=["catalog"])
async def archive_modifier_group(group_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> None:
    async with db.tenant(principal.tenant_id) as session:
        await catalog.archive_modifier_group(session, principal, group_id)


@get("/api/v1/outlets/{outlet_id:str}/prices", tags=["catalog"])
async def list_prices(outlet_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> dict[str, list[PriceOut]]:
    async with db.tenant(principal.tenant_id) as session:
        rows = await catalog.list_outlet_prices(session, principal, outlet_id)
        return {"items": [to_out(r, PriceOut) for r in rows]}


@put("/api/v1/outlets/{outlet_id:str}/prices/{product_id:str}", tags=["catalog"])
async def set_price(outlet_id: FromPath[str], product_id: FromPath[str], data: JSONBody[PriceSet],
                    db: DbDep, principal: PrincipalDep) -> PriceOut:
    async with db.tenant(principal.tenant_id) as session:
        row = await catalog.set_outlet_price(session, principal, outlet_id, product_id, data.price)
        return to_out(row, PriceOut)


@delete("/api/v1/outlets/{outlet_id:str}/prices/{product_id:str}", tags=["catalog"])
async def clear_price(outlet_id: FromPath[str], product_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> None:
    async with db.tenant(principal.tenant_id) as session:
        await catalog.clear_outlet_price(session, principal, outlet_id, product_id)


@get("/api/v1/outlets/{outlet_id:str}/availability", tags=["catalog"])
async def list_availability(outlet_id: FromPath[str], db: DbDep,
                            principal: PrincipalDep) -> dict[str, list[AvailabilityOut]]:
    async with db.tenant(principal.tenant_id) as session:
        rows = await catalog.list_outlet_availability(session, principal, outlet_id)
        return {"items": [to_out(r, AvailabilityOut) for r in rows]}


@put("/api/v1/outlets/{outlet_id:str}/availability/{product_id:str}", tags=["catalog"])
async def set_availability(outlet_id: FromPath[str], product_id: FromPath[str],
                           data: JSONBody[AvailabilitySet], db: DbDep,
                           principal: PrincipalDep) -> AvailabilityOut:
    async with db.tenant(principal.tenant_id) as session:
        row = await catalog.set_outlet_availability(session, principal, outlet_id, product_id,
                                                    data.available)
        return to_out(row, AvailabilityOut)


@get("/api/v1/outlets/{outlet_id:str}/reported-availability", tags=["catalog"])
async def reported_availability(outlet_id: FromPath[str], db: DbDep, principal: PrincipalDep
                                ) -> dict[str, list[ReportedAvailabilityOut]]:
    """What the outlet's staff marked sold out (or back) locally, as its edge reported it."""
    async with db.tenant(principal.tenant_id) as session:
        rows = await catalog.list_reported_availability(session, principal, outlet_id)
        return {"items": [to_out(r, ReportedAvailabilityOut) for r in rows]}


@post("/api/v1/brands/{brand_id:str}/publish", tags=["catalog"])
async def publish(brand_id: FromPath[str], db: DbDep, principal: PrincipalDep) -> CatalogVersionOut:
    """Freeze the brand's catalog as a new immutable version and send it to its outlets."""
    async with db.tenant(principal.tenant_id) as session:
        version, outlets = await catalog.publish(session, principal, brand_id)
        return to_out(version, CatalogVersionOut, outlets=outlets)


@get("/api/v1/brands/{brand_id:str}/catalog-versions", tags=["catalog"])
async def list_versions(brand_id: FromPath[str], db: DbDep,
                        principal: PrincipalDep) -> dict[str, list[CatalogVersionOut]]:
    async with db.tenant(principal.tenant_id) as session:
        rows = await catalog.list_versions(session, principal, brand_id)
        return {"items": [to_out(r, CatalogVersionOut) for r in rows]}


@get("/api/v1/outlets/{outlet_id:str}/catalog", tags=["catalog"])
async def outlet_catalog(outlet_id: FromPath[str], db: DbDep, principal: PrincipalDep,
                         version: Annotated[int | None, Parameter(ge=1)] = None) -> Catalog:
    """The published menu the outlet's edge receives (latest, or ?version=N)."""
    require(principal, "catalog:read")
    async with db.tenant(principal.tenant_id) as session:
        await get_outlet(session, principal, outlet_id)
        require_outlet(principal, outlet_id)
        return await catalog.catalog_for_outlet(session, outlet_id, version)


catalog_routes = [list_categories, create_category, update_category, archive_category,
                  list_products, create_product, get_product, update_product, archive_product,
                  restore_product, reorder_products,
                  list_modifier_groups, create_modifier_group, get_modifier_group,
                  update_modifier_group, archive_modifier_group, list_prices, set_price,
                  clear_price, list_availability, set_availability, reported_availability,
                  publish, list_versions,
                  outlet_catalog]
