"""The outlet's menu: stored locally, indexed in memory, and the rules for what may be ordered.

* ``replace_catalog`` installs a whole catalog (the demo seed, or a snapshot from the hub),
  keeping the outlet's own sold-out decisions for products that are still on the menu.
* ``set_availability`` marks a product sold out (or back), with a live ``menu`` event for the
  screens and an AvailabilityEvent in the outbox, in the caller's transaction.
* ``MenuCache`` keeps a precomputed ``MenuIndex`` (lookups by id and the encoded JSON of
  ``GET /api/v1/menu``) and rebuilds it only when the catalog revision changes.
* ``MenuIndex.resolve`` validates order lines against the menu (unknown product or option,
  an option from a group the product does not have, required groups, min/max choices,
  sold-out items) and prices them; every problem of every line is reported at once.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

import msgspec

from edge import catalog_repository as repo
from edge import live, outbox
from shared.errors import NotFound, Rejected, ValidationFailed
from shared.pricing import PricedLine
from shared.schemas import (
    AvailabilityEvent,
    Catalog,
    LineModifier,
    ModifierGroup,
    ModifierOption,
    OrderLineCreate,
    Product,
)

__all__ = [
    "TOPIC",
    "MenuCache",
    "MenuIndex",
    "ResolvedLine",
    "read_catalog",
    "replace_catalog",
    "set_availability",
]

TOPIC = "menu"
_json = msgspec.json.Encoder()


def replace_catalog(conn: sqlite3.Connection, catalog: Catalog, now: datetime | None = None) -> int:
    """Install ``catalog`` as the outlet's menu (in the caller's transaction); return the revision."""
    now = now or datetime.now(UTC)
    _check_references(catalog)
    revision = repo.write_catalog(conn, catalog, now)
    live.publish(conn, TOPIC, "menu.updated", {"revision": revision, "version": catalog.version}, now=now)
    return revision


def read_catalog(conn: sqlite3.Connection) -> Catalog:
    return repo.read_catalog(conn)[0]


def set_availability(conn: sqlite3.Connection, product_id: str, available: bool,
                     set_by: str | None, now: datetime) -> dict[str, Any]:
    """Mark a product sold out or available again at this outlet."""
    if not repo.product_exists(conn, product_id):
        raise NotFound("no such product", details={"product_id": product_id})
    repo.set_override(conn, product_id, available, set_by, now)
    data = {"product_id": product_id, "available": available}
    live.publish(conn, TOPIC, "product.availability", data, now=now)
    outbox.append(conn, AvailabilityEvent(product_id=product_id, available=available, at=now), now)
    return data


def _check_references(catalog: Catalog) -> None:
    categories = {c.id for c in catalog.categories}
    groups = {g.id for g in catalog.modifier_groups}
    problems = []
    for product in catalog.products:
        if product.category_id not in categories:
            problems.append({"product_id": product.id, "unknown_category": product.category_id})
        for group_id in product.modifier_group_ids:
            if group_id not in groups:
                problems.append({"product_id": product.id, "unknown_modifier_group": group_id})
    for group in catalog.modifier_groups:
        if group.min_choices > group.max_choices:
            problems.append({"modifier_group_id": group.id, "problem": "min_choices > max_choices"})
    if problems:
        raise ValidationFailed("the catalog refers to things it does not contain",
                               details={"problems": problems})


class ResolvedLine(msgspec.Struct, kw_only=True):
    """An order line checked against the menu, with its prices and station."""

    product: Product
    qty: int
    note: str
    modifiers: list[LineModifier]
    station: str
    priced: PricedLine


class MenuIndex:
    """One catalog revision, indexed for ordering, plus the menu JSON as served."""

    def __init__(self, catalog: Catalog, revision: int) -> None:
        self.catalog = catalog
        self.revision = revision
        self.etag = f'"menu-{revision}"'
        self.json = _json.encode(catalog)
        self.tax = catalog.tax
        self.currency = catalog.currency
        self.products: dict[str, Product] = {p.id: p for p in catalog.products}
        self.groups: dict[str, ModifierGroup] = {g.id: g for g in catalog.modifier_groups}
        self.options: dict[str, tuple[ModifierGroup, ModifierOption]] = {
            o.id: (g, o) for g in catalog.modifier_groups for o in g.options}
        self.stations: dict[str, str] = {c.id: c.station for c in catalog.categories}

    def resolve(self, lines: list[OrderLineCreate]) -> list[ResolvedLine]:
        """Validate and price order lines; raise with every problem found."""
        invalid: list[dict[str, Any]] = []
        unavailable: list[dict[str, Any]] = []
        resolved: list[ResolvedLine] = []
        for index, line in enumerate(lines):
            product = self.products.get(line.product_id)
            if product is None:
                invalid.append({"line": index, "code": "unknown_product", "product_id": line.product_id})
                continue
            if not product.available:
                unavailable.append({"line": index, "code": "product_unavailable",
                                    "product_id": product.id, "name": product.name})
            chosen: dict[str, list[ModifierOption]] = {}
            modifiers: list[LineModifier] = []
            seen: set[str] = set()
            for option_id in line.modifiers:
                found = self.options.get(option_id)
                if found is None:
                    invalid.append({"line": index, "code": "unknown_option", "option_id": option_id})
                    continue
                group, option = found
                if option_id in seen:
                    invalid.append({"line": index, "code": "duplicate_option", "option_id": option_id})
                    continue
                seen.add(option_id)
                if group.id not in product.modifier_group_ids:
                    invalid.append({"line": index, "code": "option_not_for_product",
                                    "option_id": option_id, "group_id": group.id,
                                    "product_id": product.id})
                    continue
                if not option.available:
                    unavailable.append({"line": index, "code": "option_unavailable",
                                        "option_id": option_id, "name": option.name})
                chosen.setdefault(group.id, []).append(option)
                modifiers.append(LineModifier(option_id=option.id, group_id=group.id,
                                              name=option.name, price_delta=option.price_delta))
            for group_id in product.modifier_group_ids:
                group = self.groups.get(group_id)
                if group is None:
                    continue
                count = len(chosen.get(group_id, ()))
                if count < group.min_choices:
                    invalid.append({"line": index, "code": "required_choice_missing",
                                    "group_id": group.id, "group": group.name,
                                    "min_choices": group.min_choices, "chosen": count})
                elif count > group.max_choices:
                    invalid.append({"line": index, "code": "too_many_choices",
                                    "group_id": group.id, "group": group.name,
                                    "max_choices": group.max_choices, "chosen": count})
            resolved.append(ResolvedLine(
                product=product, qty=line.qty, note=line.note, modifiers=modifiers,
                station=self.stations.get(product.category_id, "kitchen"),
                priced=PricedLine(base_price=product.price,
                                  option_deltas=[m.price_delta for m in modifiers], qty=line.qty)))
        if invalid:
            raise ValidationFailed("some order lines do not match the menu",
                                   details={"problems": invalid + unavailable})
        if unavailable:
            raise Rejected("some items are sold out", details={"problems": unavailable})
        return resolved


class MenuCache:
    """The current MenuIndex, rebuilt when the stored catalog revision moves."""

    def __init__(self) -> None:
        self._index: MenuIndex | None = None
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection) -> MenuIndex:
        """The index for the revision ``conn`` sees (call inside a read or write transaction)."""
        current = repo.revision(conn)
        index = self._index
        if index is not None and index.revision == current:
            return index
        catalog, revision = repo.read_catalog(conn)
        fresh = MenuIndex(catalog, revision)
        with self._lock:
            if self._index is None or self._index.revision <= revision:
                self._index = fresh
        return fresh
