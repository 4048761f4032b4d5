"""The head-office catalog: categories, products, modifier groups and options per brand,
per-outlet price overrides and availability, and publishing.

Editing changes the *draft* (the live tables). Publishing a brand freezes the draft into an
immutable ``CatalogVersion`` (brand menu + every outlet's overrides, numbered 1, 2, ... per
brand) and renders one ``CatalogSnapshot`` per outlet of the brand: a ``shared.schemas.Catalog``
with prices resolved (outlet override, else brand price), availability resolved (outlet
override, else the product's flag) and the outlet's currency and tax settings. Edges receive
snapshots through sync (``catalog_for_outlet``). An outlet created after a publish gets a
snapshot of the brand's latest version at once. Outlet tax changes reach edges with the next
publish. Deleting a category, product or modifier group archives it: it leaves the next published
menu, while orders and reports keep its id and the name each order line carries; an archived
product can be restored. A product's display order is its ``sort`` within its category, set for
a whole category at once by ``reorder_products``; a modifier option's is its ``sort`` in its group
(published as the order of the group's ``options`` list).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.identity import Principal, require, require_outlet
from hub.models import (
    Brand,
    CatalogSnapshot,
    CatalogVersion,
    Category,
    EdgeAvailability,
    ModifierGroup,
    ModifierOption,
    Outlet,
    OutletAvailability,
    OutletPrice,
    Product,
)
from hub.schemas import (
    CategoryCreate,
    CategoryUpdate,
    ModifierGroupCreate,
    ModifierGroupUpdate,
    OptionIn,
    ProductCreate,
    ProductUpdate,
    apply_update,
)
from shared import schemas as wire
from shared.errors import Conflict, InvalidState, NotFound, ValidationFailed
from shared.ids import new_id

__all__ = [
    "archive_category",
    "archive_modifier_group",
    "archive_product",
    "catalog_for_outlet",
    "clear_outlet_price",
    "create_category",
    "create_modifier_group",
    "create_product",
    "get_modifier_group",
    "latest_catalog_version",
    "list_categories",
    "list_modifier_groups",
    "list_outlet_availability",
    "list_outlet_prices",
    "list_products",
    "list_versions",
    "options_of",
    "publish",
    "reorder_products",
    "resolve_for_outlet",
    "restore_product",
    "set_outlet_availability",
    "set_outlet_price",
    "snapshot_latest_for_outlet",
    "update_category",
    "update_modifier_group",
    "update_product",
]


async def _brand(session: AsyncSession, brand_id: str) -> Brand:
    brand = await session.get(Brand, brand_id)
    if brand is None:
        raise ValidationFailed("brand not found", details={"field": "brand_id", "id": brand_id})
    return brand


# ``sort`` columns are 32-bit integers (PostgreSQL INTEGER): a larger value is refused here,
# with the field named, rather than by the database as a 500.
SORT_MIN, SORT_MAX = -(2**31), 2**31 - 1


def _check_sort(value: Any, field: str = "sort") -> None:
    if isinstance(value, int) and not SORT_MIN <= value <= SORT_MAX:
        raise ValidationFailed(f"{field} must be between {SORT_MIN} and {SORT_MAX}",
                               details={"field": field, "min": SORT_MIN, "max": SORT_MAX})


async def _owned(session: AsyncSession, model: type[Any], entity_id: str, label: str) -> Any:
    row = await session.get(model, entity_id)
    if row is None:
        raise NotFound(f"{label} not found", details={"id": entity_id})
    return row


# ---------------------------------------------------------------- categories


async def list_categories(session: AsyncSession, principal: Principal, brand_id: str | None = None,
                          include_archived: bool = False) -> list[Category]:
    require(principal, "catalog:read")
    stmt = select(Category).order_by(Category.sort, Category.name)
    if brand_id:
        stmt = stmt.where(Category.brand_id == brand_id)
    if not include_archived:
        stmt = stmt.where(Category.archived.is_(False))
    return list(await session.scalars(stmt))


async def create_category(session: AsyncSession, principal: Principal,
                          data: CategoryCreate) -> Category:
    require(principal, "catalog:write")
    _check_sort(data.sort)
    await _brand(session, data.brand_id)
    row = Category(id=new_id(), tenant_id=principal.tenant_id, **msgspec.structs.asdict(data))
    session.add(row)
    await session.flush()
    audit.record(session, principal, "category.create", "category", row.id, None, audit.snapshot(row))
    return row


async def update_category(session: AsyncSession, principal: Principal, category_id: str,
                          data: CategoryUpdate) -> Category:
    require(principal, "catalog:write")
    _check_sort(data.sort)
    row = await _owned(session, Category, category_id, "category")
    before = audit.snapshot(row)
    apply_update(row, data)
    await session.flush()
    audit.record(session, principal, "category.update", "category", row.id, before, audit.snapshot(row))
    return row


async def archive_category(session: AsyncSession, principal: Principal, category_id: str) -> None:
    require(principal, "catalog:write")
    row = await _owned(session, Category, category_id, "category")
    before = audit.snapshot(row)
    row.archived = True
    await session.flush()
    audit.record(session, principal, "category.archive", "category", row.id, before, audit.snapshot(row))


# ---------------------------------------------------------------- products


async def _check_product_refs(session: AsyncSession, brand_id: str, category_id: str | None,
                              group_ids: list[str] | None) -> None:
    if category_id is not None:
        category = await session.get(Category, category_id)
        if category is None or category.brand_id != brand_id:
            raise ValidationFailed("category not found in this brand", details={"field": "category_id"})
    if group_ids:
        found = set(await session.scalars(select(ModifierGroup.id).where(
            ModifierGroup.id.in_(group_ids), ModifierGroup.brand_id == brand_id)))
        missing = [gid for gid in group_ids if gid not in found]
        if missing:
            raise ValidationFailed("modifier groups not found in this brand",
                                   details={"field": "modifier_group_ids", "ids": missing})


async def list_products(session: AsyncSession, principal: Principal, brand_id: str | None = None,
                        category_id: str | None = None,
                        include_archived: bool = False) -> list[Product]:
    require(principal, "catalog:read")
    stmt = select(Product).order_by(Product.sort, Product.name)
    if brand_id:
        stmt = stmt.where(Product.brand_id == brand_id)
    if category_id:
        stmt = stmt.where(Product.category_id == category_id)
    if not include_archived:
        stmt = stmt.where(Product.archived.is_(False))
    return list(await session.scalars(stmt))


async def get_product(session: AsyncSession, principal: Principal, product_id: str) -> Product:
    require(principal, "catalog:read")
    return await _owned(session, Product, product_id, "product")


async def create_product(session: AsyncSession, principal: Principal, data: ProductCreate) -> Product:
    require(principal, "catalog:write")
    _check_sort(data.sort)
    await _brand(session, data.brand_id)
    await _check_product_refs(session, data.brand_id, data.category_id, data.modifier_group_ids)
    row = Product(id=new_id(), tenant_id=principal.tenant_id, **msgspec.structs.asdict(data))
    session.add(row)
    await session.flush()
    audit.record(session, principal, "product.create", "product", row.id, None, audit.snapshot(row))
    return row


async def update_product(session: AsyncSession, principal: Principal, product_id: str,
                         data: ProductUpdate) -> Product:
    require(principal, "catalog:write")
    _check_sort(data.sort)
    row = await _owned(session, Product, product_id, "product")
    await _check_product_refs(
        session, row.brand_id,
        data.category_id if isinstance(data.category_id, str) else None,
        data.modifier_group_ids if isinstance(data.modifier_group_ids, list) else None)
    before = audit.snapshot(row)
    apply_update(row, data)
    await session.flush()
    audit.record(session, principal, "product.update", "product", row.id, before, audit.snapshot(row))
    return row


async def archive_product(session: AsyncSession, principal: Principal, product_id: str) -> None:
    require(principal, "catalog:write")
    row = await _owned(session, Product, product_id, "product")
    before = audit.snapshot(row)
    row.archived = True
    await session.flush()
    audit.record(session, principal, "product.archive", "product", row.id, before, audit.snapshot(row))


async def restore_product(session: AsyncSession, principal: Principal, product_id: str) -> Product:
    """Bring an archived product back, last in its category; it needs a live category."""
    require(principal, "catalog:write")
    row = await _owned(session, Product, product_id, "product")
    if not row.archived:
        return row
    category = await session.get(Category, row.category_id)
    if category is None or category.archived:
        raise InvalidState("the product's category is deleted: restore or choose another category first",
                           details={"category_id": row.category_id})
    before = audit.snapshot(row)
    last = await session.scalar(select(func.max(Product.sort)).where(
        Product.category_id == row.category_id, Product.archived.is_(False)))
    row.archived, row.sort = False, min((last if last is not None else -1) + 1, SORT_MAX)
    await session.flush()
    audit.record(session, principal, "product.restore", "product", row.id, before, audit.snapshot(row))
    return row


async def reorder_products(session: AsyncSession, principal: Principal, category_id: str,
                           product_ids: list[str]) -> list[Product]:
    """Set the display order of a category's products (``sort`` = position), in one change.

    ``product_ids`` must name every live product of the category exactly once: a list made
    from a stale view (a product added or deleted meanwhile) is refused with 409, so two
    editors never silently interleave their orders.
    """
    require(principal, "catalog:write")
    await _owned(session, Category, category_id, "category")
    duplicates = sorted(pid for pid, n in Counter(product_ids).items() if n > 1)
    if duplicates:
        raise ValidationFailed("a product is listed more than once",
                               details={"field": "product_ids", "ids": duplicates})
    live = list(await session.scalars(
        select(Product).where(Product.category_id == category_id, Product.archived.is_(False))
        .order_by(Product.sort, Product.name)))
    by_id = {p.id: p for p in live}
    unknown = [pid for pid in product_ids if pid not in by_id]
    missing = [p.id for p in live if p.id not in set(product_ids)]
    if unknown or missing:
        raise Conflict("the list does not match the category's products: reload and try again",
                       details={"field": "product_ids", "unknown": unknown, "missing": missing})
    before = [p.id for p in live]
    for position, pid in enumerate(product_ids):
        by_id[pid].sort = position
    await session.flush()
    audit.record(session, principal, "product.reorder", "category", category_id,
                 {"product_ids": before}, {"product_ids": list(product_ids)})
    return [by_id[pid] for pid in product_ids]


# ---------------------------------------------------------------- modifier groups


async def options_of(session: AsyncSession, group_ids: list[str]) -> dict[str, list[ModifierOption]]:
    found: dict[str, list[ModifierOption]] = {gid: [] for gid in group_ids}
    if group_ids:
        rows = await session.scalars(select(ModifierOption)
                                     .where(ModifierOption.group_id.in_(group_ids))
                                     .order_by(ModifierOption.sort, ModifierOption.name))
        for option in rows:
            found[option.group_id].append(option)
    return found


async def list_modifier_groups(session: AsyncSession, principal: Principal,
                               brand_id: str | None = None,
                               include_archived: bool = False) -> list[ModifierGroup]:
    require(principal, "catalog:read")
    stmt = select(ModifierGroup).order_by(ModifierGroup.name)
    if brand_id:
        stmt = stmt.where(ModifierGroup.brand_id == brand_id)
    if not include_archived:
        stmt = stmt.where(ModifierGroup.archived.is_(False))
    return list(await session.scalars(stmt))


async def get_modifier_group(session: AsyncSession, principal: Principal,
                             group_id: str) -> ModifierGroup:
    require(principal, "catalog:read")
    return await _owned(session, ModifierGroup, group_id, "modifier group")


def _check_choices(min_choices: int, max_choices: int, options: int | None) -> None:
    if min_choices > max_choices:
        raise ValidationFailed("min_choices cannot exceed max_choices",
                               details={"field": "min_choices"})
    if options is not None and min_choices > options:
        raise ValidationFailed("min_choices exceeds the number of options",
                               details={"field": "min_choices"})


async def _replace_options(session: AsyncSession, group: ModifierGroup,
                           options: list[OptionIn]) -> None:
    existing = {o.id: o for o in (await options_of(session, [group.id]))[group.id]}
    keep: set[str] = set()
    for index, item in enumerate(options):
        _check_sort(item.sort, f"options[{index}].sort")
        if item.id and item.id in existing:
            option = existing[item.id]
        elif item.id:
            raise ValidationFailed("option id does not belong to this group",
                                   details={"field": "options", "id": item.id})
        else:
            option = ModifierOption(id=new_id(), tenant_id=group.tenant_id, group_id=group.id)
            session.add(option)
        option.name, option.price_delta = item.name, item.price_delta
        option.available, option.sort, option.names = item.available, item.sort, item.names
        keep.add(option.id)
    for option_id, option in existing.items():
        if option_id not in keep:
            await session.delete(option)


async def create_modifier_group(session: AsyncSession, principal: Principal,
                                data: ModifierGroupCreate) -> ModifierGroup:
    require(principal, "catalog:write")
    await _brand(session, data.brand_id)
    _check_choices(data.min_choices, data.max_choices, len(data.options))
    if any(o.id for o in data.options):
        raise ValidationFailed("new options get their ids from the hub", details={"field": "options"})
    group = ModifierGroup(id=new_id(), tenant_id=principal.tenant_id, brand_id=data.brand_id,
                          name=data.name, min_choices=data.min_choices,
                          max_choices=data.max_choices, names=data.names)
    session.add(group)
    await session.flush()
    await _replace_options(session, group, data.options)
    await session.flush()
    audit.record(session, principal, "modifier_group.create", "modifier_group", group.id, None,
                 await _group_snapshot(session, group))
    return group


async def _group_snapshot(session: AsyncSession, group: ModifierGroup) -> dict[str, Any]:
    options = (await options_of(session, [group.id]))[group.id]
    return audit.snapshot(group) | {"options": [audit.snapshot(o) for o in options]}


async def update_modifier_group(session: AsyncSession, principal: Principal, group_id: str,
                                data: ModifierGroupUpdate) -> ModifierGroup:
    require(principal, "catalog:write")
    group = await _owned(session, ModifierGroup, group_id, "modifier group")
    before = await _group_snapshot(session, group)
    min_choices = data.min_choices if isinstance(data.min_choices, int) else group.min_choices
    max_choices = data.max_choices if isinstance(data.max_choices, int) else group.max_choices
    _check_choices(min_choices, max_choices,
                   len(data.options) if isinstance(data.options, list) else None)
    for name in ("name", "min_choices", "max_choices", "names"):
        value = getattr(data, name)
        if value is not msgspec.UNSET:
            setattr(group, name, value)
    if isinstance(data.options, list):
        await _replace_options(session, group, data.options)
    await session.flush()
    audit.record(session, principal, "modifier_group.update", "modifier_group", group.id, before,
                 await _group_snapshot(session, group))
    return group


async def archive_modifier_group(session: AsyncSession, principal: Principal, group_id: str) -> None:
    require(principal, "catalog:write")
    group = await _owned(session, ModifierGroup, group_id, "modifier group")
    before = audit.snapshot(group)
    group.archived = True
    await session.flush()
    audit.record(session, principal, "modifier_group.archive", "modifier_group", group.id, before,
                 audit.snapshot(group))


# ---------------------------------------------------------------- outlet prices, availability


async def _outlet_and_product(session: AsyncSession, principal: Principal, outlet_id: str,
                              product_id: str) -> tuple[Outlet, Product]:
    outlet = await _owned(session, Outlet, outlet_id, "outlet")
    require_outlet(principal, outlet_id)
    product = await _owned(session, Product, product_id, "product")
    if product.brand_id != outlet.brand_id:
        raise ValidationFailed("the product belongs to another brand than the outlet",
                               details={"product_id": product_id, "outlet_id": outlet_id})
    return outlet, product


async def list_outlet_prices(session: AsyncSession, principal: Principal,
                             outlet_id: str) -> list[OutletPrice]:
    require(principal, "catalog:read")
    await _owned(session, Outlet, outlet_id, "outlet")
    require_outlet(principal, outlet_id)
    return list(await session.scalars(select(OutletPrice).where(OutletPrice.outlet_id == outlet_id)
                                      .order_by(OutletPrice.product_id)))


async def set_outlet_price(session: AsyncSession, principal: Principal, outlet_id: str,
                           product_id: str, price: int) -> OutletPrice:
    require(principal, "prices:write")
    await _outlet_and_product(session, principal, outlet_id, product_id)
    row = await session.get(OutletPrice, (outlet_id, product_id))
    before = audit.snapshot(row) if row else None
    if row is None:
        row = OutletPrice(tenant_id=principal.tenant_id, outlet_id=outlet_id,
                          product_id=product_id, price=price)
        session.add(row)
    row.price = price
    await session.flush()
    audit.record(session, principal, "price.set", "outlet_price", f"{outlet_id}:{product_id}"[:64],
                 before, audit.snapshot(row))
    return row


async def clear_outlet_price(session: AsyncSession, principal: Principal, outlet_id: str,
                             product_id: str) -> None:
    require(principal, "prices:write")
    await _outlet_and_product(session, principal, outlet_id, product_id)
    row = await session.get(OutletPrice, (outlet_id, product_id))
    if row is None:
        raise NotFound("this outlet has no price override for the product")
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    audit.record(session, principal, "price.clear", "outlet_price", f"{outlet_id}:{product_id}"[:64],
                 before, None)


async def list_outlet_availability(session: AsyncSession, principal: Principal,
                                   outlet_id: str) -> list[OutletAvailability]:
    require(principal, "catalog:read")
    await _owned(session, Outlet, outlet_id, "outlet")
    require_outlet(principal, outlet_id)
    return list(await session.scalars(select(OutletAvailability)
                                      .where(OutletAvailability.outlet_id == outlet_id)
                                      .order_by(OutletAvailability.product_id)))


async def set_outlet_availability(session: AsyncSession, principal: Principal, outlet_id: str,
                                  product_id: str, available: bool) -> OutletAvailability:
    require(principal, "availability:write")
    await _outlet_and_product(session, principal, outlet_id, product_id)
    row = await session.get(OutletAvailability, (outlet_id, product_id))
    before = audit.snapshot(row) if row else None
    if row is None:
        row = OutletAvailability(tenant_id=principal.tenant_id, outlet_id=outlet_id,
                                 product_id=product_id, available=available)
        session.add(row)
    row.available = available
    await session.flush()
    audit.record(session, principal, "availability.set", "outlet_availability",
                 f"{outlet_id}:{product_id}"[:64], before, audit.snapshot(row))
    return row


async def list_reported_availability(session: AsyncSession, principal: Principal,
                                     outlet_id: str) -> list[EdgeAvailability]:
    """Sold-out decisions the outlet's staff made locally, as its edge reported them."""
    require(principal, "catalog:read")
    await _owned(session, Outlet, outlet_id, "outlet")
    require_outlet(principal, outlet_id)
    return list(await session.scalars(select(EdgeAvailability)
                                      .where(EdgeAvailability.outlet_id == outlet_id)
                                      .order_by(EdgeAvailability.product_id)))


# ---------------------------------------------------------------- publishing


async def _brand_content(session: AsyncSession, brand_id: str) -> dict[str, Any]:
    """The brand's draft as plain data: the body of a CatalogVersion."""
    categories = list(await session.scalars(
        select(Category).where(Category.brand_id == brand_id, Category.archived.is_(False))
        .order_by(Category.sort, Category.name)))
    live_categories = {c.id for c in categories}
    groups = list(await session.scalars(
        select(ModifierGroup).where(ModifierGroup.brand_id == brand_id,
                                    ModifierGroup.archived.is_(False))
        .order_by(ModifierGroup.name)))
    live_groups = {g.id for g in groups}
    options = await options_of(session, [g.id for g in groups])
    products = list(await session.scalars(
        select(Product).where(Product.brand_id == brand_id, Product.archived.is_(False))
        .order_by(Product.sort, Product.name)))
    outlet_ids = list(await session.scalars(select(Outlet.id).where(Outlet.brand_id == brand_id)))
    prices: dict[str, dict[str, int]] = {oid: {} for oid in outlet_ids}
    availability: dict[str, dict[str, bool]] = {oid: {} for oid in outlet_ids}
    if outlet_ids:
        for row in await session.scalars(select(OutletPrice).where(OutletPrice.outlet_id.in_(outlet_ids))):
            prices[row.outlet_id][row.product_id] = row.price
        for avail in await session.scalars(select(OutletAvailability)
                                           .where(OutletAvailability.outlet_id.in_(outlet_ids))):
            availability[avail.outlet_id][avail.product_id] = avail.available
    return {
        "categories": [msgspec.to_builtins(wire.Category(
            id=c.id, name=c.name, station=c.station, sort=c.sort, color=c.color, names=c.names))
            for c in categories],
        "modifier_groups": [msgspec.to_builtins(wire.ModifierGroup(
            id=g.id, name=g.name, min_choices=g.min_choices, max_choices=g.max_choices,
            names=g.names, options=[wire.ModifierOption(
                id=o.id, name=o.name, price_delta=o.price_delta, available=o.available,
                names=o.names) for o in options[g.id]]))
            for g in groups],
        "products": [msgspec.to_builtins(wire.Product(
            id=p.id, category_id=p.category_id, name=p.name, price=p.price,
            description=p.description, image_url=p.image_url, color=p.color,
            available=p.available, sort=p.sort, names=p.names,
            modifier_group_ids=[gid for gid in p.modifier_group_ids if gid in live_groups]))
            for p in products if p.category_id in live_categories],
        "outlet_prices": prices,
        "outlet_availability": availability,
    }


def resolve_for_outlet(content: dict[str, Any], version: int, outlet: Outlet) -> wire.Catalog:
    """Render a brand version for one outlet: its prices, availability, currency and tax."""
    prices = content.get("outlet_prices", {}).get(outlet.id, {})
    availability = content.get("outlet_availability", {}).get(outlet.id, {})
    products = []
    for raw in content["products"]:
        product = msgspec.convert(raw, wire.Product)
        product.price = prices.get(product.id, product.price)
        product.available = availability.get(product.id, product.available)
        products.append(product)
    return wire.Catalog(
        version=version,
        currency=outlet.currency,
        tax=wire.TaxConfig(service_rate_bp=outlet.service_rate_bp, tax_rate_bp=outlet.tax_rate_bp,
                           tax_name=outlet.tax_name, prices_include_tax=outlet.prices_include_tax,
                           rounding_unit=outlet.rounding_unit),
        categories=msgspec.convert(content["categories"], list[wire.Category]),
        products=products,
        modifier_groups=msgspec.convert(content["modifier_groups"], list[wire.ModifierGroup]),
    )


def _snapshot_row(version: CatalogVersion, outlet: Outlet) -> CatalogSnapshot:
    catalog = resolve_for_outlet(version.content, version.version, outlet)
    return CatalogSnapshot(id=new_id(), tenant_id=outlet.tenant_id, outlet_id=outlet.id,
                           brand_id=version.brand_id, version=version.version,
                           catalog=msgspec.to_builtins(catalog))


async def publish(session: AsyncSession, principal: Principal, brand_id: str) -> tuple[CatalogVersion, int]:
    """Freeze the brand's draft as the next version and snapshot it for every outlet."""
    require(principal, "catalog:publish")
    brand = await session.get(Brand, brand_id)
    if brand is None:
        raise NotFound("brand not found", details={"id": brand_id})
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent publishes of one brand take turns, so version numbers never collide.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                              {"key": f"publish:{brand_id}"})
    last = await session.scalar(select(func.max(CatalogVersion.version))
                                .where(CatalogVersion.brand_id == brand_id))
    content = await _brand_content(session, brand_id)
    if not content["products"]:
        raise ValidationFailed("nothing to publish: the brand has no products")
    version = CatalogVersion(id=new_id(), tenant_id=brand.tenant_id, brand_id=brand_id,
                             version=(last or 0) + 1, content=content,
                             published_by=principal.user_id)
    session.add(version)
    outlets = list(await session.scalars(select(Outlet).where(Outlet.brand_id == brand_id)))
    session.add_all([_snapshot_row(version, outlet) for outlet in outlets])
    await session.flush()
    audit.record(session, principal, "catalog.publish", "brand", brand_id, None,
                 {"version": version.version, "outlets": len(outlets),
                  "products": len(content["products"])})
    return version, len(outlets)


async def list_versions(session: AsyncSession, principal: Principal,
                        brand_id: str) -> list[CatalogVersion]:
    require(principal, "catalog:read")
    if await session.get(Brand, brand_id) is None:
        raise NotFound("brand not found", details={"id": brand_id})
    return list(await session.scalars(select(CatalogVersion)
                                      .where(CatalogVersion.brand_id == brand_id)
                                      .order_by(CatalogVersion.version.desc())))


async def snapshot_latest_for_outlet(session: AsyncSession, outlet: Outlet) -> int | None:
    """Give a new outlet the brand's latest published menu; returns its version (or None)."""
    latest = await session.scalar(select(CatalogVersion).where(CatalogVersion.brand_id == outlet.brand_id)
                                  .order_by(CatalogVersion.version.desc()).limit(1))
    if latest is None:
        return None
    session.add(_snapshot_row(latest, outlet))
    await session.flush()
    return latest.version


async def latest_catalog_version(session: AsyncSession, outlet_id: str) -> int | None:
    """The newest published version number for an outlet (cheap check before a download)."""
    return await session.scalar(select(func.max(CatalogSnapshot.version))
                                .where(CatalogSnapshot.outlet_id == outlet_id))


async def catalog_for_outlet(session: AsyncSession, outlet_id: str,
                             version: int | None = None) -> wire.Catalog:
    """The published menu of one outlet (latest, or ``version``), as the edge receives it.

    Works in a tenant session of the outlet's tenant or a system session; raises NotFound
    when nothing has been published for the outlet (or the version does not exist).
    """
    stmt = select(CatalogSnapshot.catalog).where(CatalogSnapshot.outlet_id == outlet_id)
    if version is not None:
        stmt = stmt.where(CatalogSnapshot.version == version)
    else:
        stmt = stmt.order_by(CatalogSnapshot.version.desc()).limit(1)
    raw = await session.scalar(stmt)
    if raw is None:
        raise NotFound("no published catalog for this outlet",
                       details={"outlet_id": outlet_id, "version": version})
    return msgspec.convert(raw, wire.Catalog)
