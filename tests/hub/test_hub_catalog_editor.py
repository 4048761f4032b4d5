"""The menu editor's catalog API (issue 13): a category's product order set in one change and
published in that order, deleted products archived (kept for orders and reports) and restored,
bad input answered with 4xx JSON, and every change in the audit log."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hub.conftest import TenantCtx

pytestmark = pytest.mark.postgres


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


def _category_with(t: TenantCtx, names: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    c = t.client
    category = _ok(c.post("/api/v1/catalog/categories",
                          json={"brand_id": t.brand_id, "name": "Coffee"}), 201)
    products = [_ok(c.post("/api/v1/catalog/products", json={
        "brand_id": t.brand_id, "category_id": category["id"], "name": name, "price": 20_000}), 201)
        for name in names]  # every sort 0: the order falls back to the names
    return category, products


def _audit(t: TenantCtx, entity_id: str) -> list[dict[str, Any]]:
    return _ok(t.client.get(f"/api/v1/audit?entity_id={entity_id}"))["items"]


def test_reordering_a_category_is_one_audited_change_that_outlets_receive(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Sudirman")
    category, (americano, latte, mocha) = _category_with(t, ["Americano", "Latte", "Mocha"])
    order = [mocha["id"], americano["id"], latte["id"]]

    answer = _ok(t.client.put(f"/api/v1/catalog/categories/{category['id']}/product-order",
                              json={"product_ids": order}))
    assert [(p["id"], p["sort"]) for p in answer["items"]] == [(pid, i) for i, pid in enumerate(order)]
    listed = _ok(t.client.get(f"/api/v1/catalog/products?category_id={category['id']}"))["items"]
    assert [p["id"] for p in listed] == order
    entries = [e for e in _audit(t, category["id"]) if e["action"] == "product.reorder"]
    assert len(entries) == 1
    assert entries[0]["before"]["product_ids"] == [americano["id"], latte["id"], mocha["id"]]
    assert entries[0]["after"]["product_ids"] == order

    _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)
    menu = _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog"))
    published = sorted((p for p in menu["products"] if p["category_id"] == category["id"]),
                       key=lambda p: p["sort"])
    assert [p["id"] for p in published] == order
    assert [p["id"] for p in menu["products"]] == order  # the list itself is in that order too


def test_a_stale_or_broken_order_is_refused_and_changes_nothing(tenant_factory) -> None:
    t = tenant_factory()
    category, (a, b) = _category_with(t, ["A", "B"])
    path = f"/api/v1/catalog/categories/{category['id']}/product-order"
    _error(t.client.put(path, json={"product_ids": [a["id"]]}), 409, "conflict")  # B missing
    _error(t.client.put(path, json={"product_ids": [a["id"], b["id"], "nope"]}), 409, "conflict")
    error = _error(t.client.put(path, json={"product_ids": [a["id"], a["id"], b["id"]]}), 400,
                   "validation_failed")
    assert error["details"]["ids"] == [a["id"]]
    _error(t.client.put(path, json={"product_ids": "x"}), 400, "validation_failed")
    _error(t.client.put(path, json={"ids": []}), 400, "validation_failed")
    _error(t.client.put("/api/v1/catalog/categories/nope/product-order",
                        json={"product_ids": []}), 404, "not_found")
    other = _ok(t.client.post("/api/v1/catalog/categories",
                              json={"brand_id": t.brand_id, "name": "Tea"}), 201)
    # A product of another category is not this category's to order.
    _error(t.client.put(f"/api/v1/catalog/categories/{other['id']}/product-order",
                        json={"product_ids": [a["id"]]}), 409, "conflict")
    assert not [e for e in _audit(t, category["id"]) if e["action"] == "product.reorder"]
    # An archived product is left out of the order.
    _ok(t.client.delete(f"/api/v1/catalog/products/{a['id']}"), 204)
    _ok(t.client.put(path, json={"product_ids": [b["id"]]}))


def test_deleting_archives_and_restoring_brings_the_product_back_last(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Kemang")
    category, (a, b, c) = _category_with(t, ["A", "B", "C"])
    _ok(t.client.put(f"/api/v1/catalog/categories/{category['id']}/product-order",
                     json={"product_ids": [a["id"], b["id"], c["id"]]}))
    _ok(t.client.delete(f"/api/v1/catalog/products/{a['id']}"), 204)
    # Kept, marked archived: orders and reports still find it by id.
    kept = _ok(t.client.get(f"/api/v1/catalog/products/{a['id']}"))
    assert kept["archived"] is True and kept["name"] == "A"
    _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)
    menu = _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog"))
    assert a["id"] not in {p["id"] for p in menu["products"]}

    restored = _ok(t.client.post(f"/api/v1/catalog/products/{a['id']}/restore"))
    assert restored["archived"] is False and restored["sort"] == 3  # after C (sort 2)
    assert [e["action"] for e in _audit(t, a["id"])][:2] == ["product.restore", "product.archive"]
    # Restoring a live product is a no-op, not an error.
    assert _ok(t.client.post(f"/api/v1/catalog/products/{a['id']}/restore"))["sort"] == 3
    _error(t.client.post("/api/v1/catalog/products/nope/restore"), 404, "not_found")

    # A product whose category is gone cannot come back into nowhere.
    _ok(t.client.delete(f"/api/v1/catalog/products/{b['id']}"), 204)
    _ok(t.client.delete(f"/api/v1/catalog/categories/{category['id']}"), 204)
    _error(t.client.post(f"/api/v1/catalog/products/{b['id']}/restore"), 409, "invalid_state")
    assert _ok(t.client.get(f"/api/v1/catalog/products/{b['id']}"))["archived"] is True


def test_reorder_and_restore_need_catalog_write(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Blok M")
    category, (a,) = _category_with(t, ["A"])
    _ok(t.client.delete(f"/api/v1/catalog/products/{a['id']}"), 204)
    _, manager = t.create_user("outlet_manager", [outlet["id"]])
    with manager:
        _error(manager.put(f"/api/v1/catalog/categories/{category['id']}/product-order",
                           json={"product_ids": []}), 403, "forbidden")
        _error(manager.post(f"/api/v1/catalog/products/{a['id']}/restore"), 403, "forbidden")
    assert _ok(t.client.get(f"/api/v1/catalog/products/{a['id']}"))["archived"] is True


def test_modifier_option_order_and_rules_reach_the_outlet(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Senopati")
    _, (latte,) = _category_with(t, ["Latte"])
    group = _ok(t.client.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": t.brand_id, "name": "Milk", "options": [
            {"name": "Dairy", "sort": 0}, {"name": "Oat", "price_delta": 5000, "sort": 1}]}), 201)
    dairy, oat = group["options"]
    _ok(t.client.patch(f"/api/v1/catalog/products/{latte['id']}",
                       json={"modifier_group_ids": [group["id"]]}))
    # The editor sends the whole list: Oat first, Dairy renamed, a new option, rules 1..2.
    edited = _ok(t.client.patch(f"/api/v1/catalog/modifier-groups/{group['id']}", json={
        "name": "Milk", "min_choices": 1, "max_choices": 2, "names": {"id": "Susu", "en": "Milk"},
        "options": [
            {"id": oat["id"], "name": "Oat", "price_delta": 6500, "sort": 0, "names": {"id": "Gandum"}},
            {"id": dairy["id"], "name": "Fresh milk", "sort": 1},
            {"name": "Almond", "price_delta": 7000, "sort": 2, "available": False}]}))
    assert [o["name"] for o in edited["options"]] == ["Oat", "Fresh milk", "Almond"]
    _error(t.client.patch(f"/api/v1/catalog/modifier-groups/{group['id']}",
                          json={"min_choices": 3, "max_choices": 2}), 400, "validation_failed")
    _ok(t.client.post(f"/api/v1/brands/{t.brand_id}/publish"), 201)
    menu = _ok(t.client.get(f"/api/v1/outlets/{outlet['id']}/catalog"))
    milk = next(g for g in menu["modifier_groups"] if g["id"] == group["id"])
    assert (milk["min_choices"], milk["max_choices"], milk["names"]["id"]) == (1, 2, "Susu")
    assert [(o["name"], o["price_delta"], o["available"]) for o in milk["options"]] == [
        ("Oat", 6500, True), ("Fresh milk", 0, True), ("Almond", 7000, False)]
    assert milk["options"][0]["id"] == oat["id"] and milk["options"][1]["id"] == dairy["id"]
