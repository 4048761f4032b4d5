"""SQL for the outlet's catalog tables (see migrations/0003_core.sql). No rules here."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import msgspec

from shared.schemas import Catalog, Category, ModifierGroup, ModifierOption, Product, TaxConfig

__all__ = ["product_exists", "read_catalog", "revision", "set_override", "write_catalog"]

_json = msgspec.json.Encoder()
_names = msgspec.json.Decoder(dict[str, str])
_ids = msgspec.json.Decoder(list[str])
_tax = msgspec.json.Decoder(TaxConfig)


def revision(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT revision FROM catalog_meta WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def read_catalog(conn: sqlite3.Connection) -> tuple[Catalog, int]:
    """The catalog with effective availability (local overrides applied), and its revision."""
    meta = conn.execute("SELECT * FROM catalog_meta WHERE id = 1").fetchone()
    if meta is None:
        return Catalog(), 0
    overrides = {r[0]: bool(r[1]) for r in conn.execute(
        "SELECT product_id, available FROM availability_overrides")}
    options: dict[str, list[ModifierOption]] = {}
    for r in conn.execute("SELECT * FROM modifier_options ORDER BY group_id, sort, rowid"):
        options.setdefault(r["group_id"], []).append(ModifierOption(
            id=r["id"], name=r["name"], price_delta=r["price_delta"], available=bool(r["available"]),
            names=_names.decode(r["names"])))
    groups = [ModifierGroup(id=r["id"], name=r["name"], min_choices=r["min_choices"],
                            max_choices=r["max_choices"], options=options.get(r["id"], []),
                            names=_names.decode(r["names"]))
              for r in conn.execute("SELECT * FROM modifier_groups ORDER BY sort, rowid")]
    categories = [Category(id=r["id"], name=r["name"], station=r["station"], sort=r["sort"],
                           color=r["color"], names=_names.decode(r["names"]))
                  for r in conn.execute("SELECT * FROM categories ORDER BY sort, rowid")]
    products = [Product(id=r["id"], category_id=r["category_id"], name=r["name"], price=r["price"],
                        description=r["description"], image_url=r["image_url"], color=r["color"],
                        available=overrides.get(r["id"], bool(r["available"])),
                        modifier_group_ids=_ids.decode(r["modifier_group_ids"]), sort=r["sort"],
                        names=_names.decode(r["names"]))
                for r in conn.execute("SELECT * FROM products ORDER BY sort, rowid")]
    catalog = Catalog(version=meta["version"], currency=meta["currency"],
                      tax=_tax.decode(meta["tax"]) if meta["tax"] != "{}" else TaxConfig(),
                      categories=categories, products=products, modifier_groups=groups)
    return catalog, int(meta["revision"])


def write_catalog(conn: sqlite3.Connection, catalog: Catalog, now: datetime) -> int:
    """Replace every catalog row with ``catalog``; keep overrides of products still sold."""
    for table in ("modifier_options", "modifier_groups", "products", "categories"):
        conn.execute(f"DELETE FROM {table}")
    conn.executemany(
        "INSERT INTO categories (id, name, station, sort, color, names) VALUES (?, ?, ?, ?, ?, ?)",
        [(c.id, c.name, c.station, c.sort, c.color, _json.encode(c.names).decode())
         for c in catalog.categories])
    conn.executemany(
        "INSERT INTO modifier_groups (id, name, min_choices, max_choices, sort, names)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(g.id, g.name, g.min_choices, g.max_choices, i, _json.encode(g.names).decode())
         for i, g in enumerate(catalog.modifier_groups)])
    conn.executemany(
        "INSERT INTO modifier_options (id, group_id, name, price_delta, available, sort, names)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(o.id, g.id, o.name, o.price_delta, int(o.available), i, _json.encode(o.names).decode())
         for g in catalog.modifier_groups for i, o in enumerate(g.options)])
    conn.executemany(
        "INSERT INTO products (id, category_id, name, price, description, image_url, color,"
        " available, modifier_group_ids, sort, names) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(p.id, p.category_id, p.name, p.price, p.description, p.image_url, p.color,
          int(p.available), _json.encode(p.modifier_group_ids).decode(), p.sort,
          _json.encode(p.names).decode()) for p in catalog.products])
    conn.execute("DELETE FROM availability_overrides WHERE product_id NOT IN (SELECT id FROM products)")
    conn.execute(
        "INSERT INTO catalog_meta (id, version, revision, currency, tax, updated_at)"
        " VALUES (1, ?, 1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version,"
        " revision = catalog_meta.revision + 1, currency = excluded.currency, tax = excluded.tax,"
        " updated_at = excluded.updated_at",
        (catalog.version, catalog.currency, _json.encode(catalog.tax).decode(), now.isoformat()))
    return revision(conn)


def product_exists(conn: sqlite3.Connection, product_id: str) -> bool:
    return conn.execute("SELECT 1 FROM products WHERE id = ?", (product_id,)).fetchone() is not None


def set_override(conn: sqlite3.Connection, product_id: str, available: bool, set_by: str | None,
                 now: datetime) -> int:
    conn.execute(
        "INSERT INTO availability_overrides (product_id, available, set_by, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (product_id) DO UPDATE SET available = excluded.available,"
        " set_by = excluded.set_by, updated_at = excluded.updated_at",
        (product_id, int(available), set_by, now.isoformat()))
    conn.execute("UPDATE catalog_meta SET revision = revision + 1, updated_at = ? WHERE id = 1",
                 (now.isoformat(),))
    return revision(conn)
