"""Kitchen tickets through a real edge process: one ticket per station, bump / undo / recall
moving the order between in_kitchen and ready, all-day counts, the order board, permissions,
and the KitchenEvents left in the outbox for the hub."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest

from shared.schemas import KitchenEvent, event_decoder
from tests.edge.edge_server import EdgeServer
from tests.edge.kitchen_support import Edge, call, place_order, products_by_station


@pytest.fixture(scope="module")
def kitchen_edge(shared_edge: EdgeServer) -> Edge:
    return Edge(shared_edge)


@pytest.fixture(scope="module")
def menu(kitchen_edge: Edge) -> dict[str, list[dict[str, Any]]]:
    found = products_by_station(kitchen_edge.url, kitchen_edge.kiosk)
    assert {"kitchen", "bar"} <= set(found), "the demo menu cooks at a kitchen and a bar"
    return found


def _tickets(edge: Edge, order_id: str, **query: str) -> list[dict[str, Any]]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    items = call(edge.url, "GET", f"/api/v1/kitchen/tickets?{qs}", edge.kds)["items"]
    return [t for t in items if t["order_id"] == order_id]


def _status(edge: Edge, order_id: str) -> str:
    return call(edge.url, "GET", f"/api/v1/orders/{order_id}", edge.kiosk)["status"]


def _kitchen_events(edge: Edge, order_id: str) -> list[tuple[str, str]]:
    """(action, station) of the order's KitchenEvents in the outbox, in journal order."""
    conn = sqlite3.connect(f"file:{edge.data_dir / 'edge.db'}?mode=ro", uri=True)
    try:
        bodies = [row[0] for row in conn.execute(
            "SELECT body FROM outbox WHERE kind = 'kitchen' ORDER BY seq")]
    finally:
        conn.close()
    events = [event_decoder.decode(body) for body in bodies]
    return [(e.action, e.station) for e in events
            if isinstance(e, KitchenEvent) and e.order_id == order_id]


def test_an_order_becomes_one_ticket_per_station(kitchen_edge: Edge, menu: dict) -> None:
    rice, rice2, drink = menu["kitchen"][0], menu["kitchen"][1], menu["bar"][0]
    order = place_order(kitchen_edge.url, kitchen_edge.kiosk, [(rice, 2), (drink, 1), (rice2, 1)],
                        table="12", note="birthday")
    assert order["status"] == "in_kitchen"
    tickets = _tickets(kitchen_edge, order["id"])
    assert sorted(t["station"] for t in tickets) == ["bar", "kitchen"]
    by_station = {t["station"]: t for t in tickets}
    assert [(l["name"], l["qty"]) for l in by_station["kitchen"]["lines"]] == [
        (rice["name"], 2), (rice2["name"], 1)]
    assert [(l["name"], l["qty"]) for l in by_station["bar"]["lines"]] == [(drink["name"], 1)]
    # each line carries the catalog's translations, so a screen can show its own language
    assert [l["names"] for l in by_station["kitchen"]["lines"]] == [rice["names"], rice2["names"]]
    assert by_station["bar"]["lines"][0]["names"] == drink["names"] and drink["names"]["id"]
    for ticket in tickets:
        assert ticket["status"] == "pending" and ticket["bumped_at"] is None
        assert ticket["order_number"] == order["number"] and ticket["order_type"] == "dine_in"
        assert "Table 12" in ticket["note"] and "birthday" in ticket["note"]
    assert [t["station"] for t in _tickets(kitchen_edge, order["id"], station="bar")] == ["bar"]
    assert sorted(_kitchen_events(kitchen_edge, order["id"])) == [("created", "bar"),
                                                                  ("created", "kitchen")]


def test_bump_undo_and_recall_move_the_order(kitchen_edge: Edge, menu: dict) -> None:
    order = place_order(kitchen_edge.url, kitchen_edge.kiosk,
                        [(menu["kitchen"][0], 1), (menu["bar"][0], 1)])
    tickets = {t["station"]: t for t in _tickets(kitchen_edge, order["id"])}
    url, kds = kitchen_edge.url, kitchen_edge.kds

    bumped = call(url, "POST", f"/api/v1/kitchen/tickets/{tickets['kitchen']['id']}/bump", kds)
    assert bumped["status"] == "ready" and bumped["bumped_at"]
    assert _status(kitchen_edge, order["id"]) == "in_kitchen"  # the bar is still working
    board = call(url, "GET", "/api/v1/board", kitchen_edge.kiosk)
    assert order["number"] in board["preparing"] and order["number"] not in board["ready"]

    call(url, "POST", f"/api/v1/kitchen/tickets/{tickets['bar']['id']}/bump", kds)
    assert _status(kitchen_edge, order["id"]) == "ready"
    board = call(url, "GET", "/api/v1/board", kitchen_edge.kiosk)
    assert order["number"] in board["ready"] and order["number"] not in board["preparing"]
    # a second tap on an already bumped ticket changes nothing
    again = call(url, "POST", f"/api/v1/kitchen/tickets/{tickets['bar']['id']}/bump", kds)
    assert again["status"] == "ready"

    undone = call(url, "POST", f"/api/v1/kitchen/tickets/{tickets['kitchen']['id']}/undo", kds)
    assert undone["status"] == "pending" and undone["bumped_at"] is None
    assert _status(kitchen_edge, order["id"]) == "in_kitchen"
    call(url, "POST", f"/api/v1/kitchen/tickets/{tickets['kitchen']['id']}/undo", kds, expect=409)

    call(url, "POST", f"/api/v1/kitchen/tickets/{tickets['kitchen']['id']}/bump", kds)
    assert _status(kitchen_edge, order["id"]) == "ready"
    recalled = call(url, "POST", "/api/v1/kitchen/recall?station=kitchen", kds)
    assert recalled["id"] == tickets["kitchen"]["id"] and recalled["status"] == "pending"
    assert _status(kitchen_edge, order["id"]) == "in_kitchen"

    assert _kitchen_events(kitchen_edge, order["id"]) == [
        ("created", "kitchen"), ("created", "bar"), ("bumped", "kitchen"), ("bumped", "bar"),
        ("undone", "kitchen"), ("bumped", "kitchen"), ("recalled", "kitchen")]


def test_a_completed_order_cannot_be_recalled(kitchen_edge: Edge, menu: dict) -> None:
    url = kitchen_edge.url
    cashier = kitchen_edge.login("cashier")
    order = place_order(url, kitchen_edge.kiosk, [(menu["bar"][1], 1)])
    call(url, "POST", f"/api/v1/orders/{order['id']}/payments", cashier,
         {"method": "card", "amount": order["total"], "reference": "AUTH-1"})
    [ticket] = _tickets(kitchen_edge, order["id"])
    call(url, "POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kitchen_edge.kds)
    call(url, "POST", f"/api/v1/orders/{order['id']}/complete", cashier)
    assert order["number"] not in call(url, "GET", "/api/v1/board", kitchen_edge.kiosk)["ready"]
    error = call(url, "POST", f"/api/v1/kitchen/tickets/{ticket['id']}/undo", kitchen_edge.kds,
                 expect=409)
    assert error["error"]["code"] == "invalid_state"
    # the refusal comes from the order (edge.orders.ticket_reopened) after the ticket was
    # touched: the whole transaction rolled back, so the ticket is still bumped
    assert [t["status"] for t in _tickets(kitchen_edge, order["id"], status="ready")] == ["ready"]
    assert ("undone", "bar") not in _kitchen_events(kitchen_edge, order["id"])
    # recall skips tickets of completed orders (other tests may have left one to recall)
    res = httpx.post(f"{url}/api/v1/kitchen/recall?station=bar",
                     headers={"Authorization": f"Bearer {kitchen_edge.kds}"})
    assert res.status_code in (200, 404)
    assert res.status_code == 404 or res.json()["id"] != ticket["id"]
    assert _status(kitchen_edge, order["id"]) == "completed"


def test_voiding_an_order_withdraws_its_tickets(kitchen_edge: Edge, menu: dict) -> None:
    url = kitchen_edge.url
    order = place_order(url, kitchen_edge.kiosk, [(menu["kitchen"][2], 1)])
    assert len(_tickets(kitchen_edge, order["id"])) == 1
    call(url, "POST", f"/api/v1/orders/{order['id']}/void", kitchen_edge.login("cashier"),
         {"reason": "customer left"})
    assert _tickets(kitchen_edge, order["id"]) == []


def test_all_day_counts_pending_items(kitchen_edge: Edge, menu: dict) -> None:
    url, kds = kitchen_edge.url, kitchen_edge.kds
    item = menu["kitchen"][3]

    def count() -> int:
        items = call(url, "GET", "/api/v1/kitchen/all-day?station=kitchen", kds)["items"]
        found = next((i for i in items if i["name"] == item["name"]), None)
        assert found is None or found["names"] == item["names"]
        return found["qty"] if found else 0

    before = count()
    first = place_order(url, kitchen_edge.kiosk, [(item, 2)])
    place_order(url, kitchen_edge.kiosk, [(item, 3)])
    assert count() == before + 5
    [ticket] = _tickets(kitchen_edge, first["id"])
    call(url, "POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kds)
    assert count() == before + 3
    bar_items = call(url, "GET", "/api/v1/kitchen/all-day?station=bar", kds)["items"]
    assert item["name"] not in {i["name"] for i in bar_items}


def test_kitchen_routes_check_who_is_calling(kitchen_edge: Edge, menu: dict) -> None:
    url = kitchen_edge.url
    order = place_order(url, kitchen_edge.kiosk, [(menu["bar"][0], 1)])
    [ticket] = _tickets(kitchen_edge, order["id"])
    denied = call(url, "POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kitchen_edge.kiosk,
                  expect=403)
    assert denied["error"]["code"] == "forbidden"
    call(url, "GET", "/api/v1/kitchen/tickets", None, expect=401)
    call(url, "GET", "/api/v1/kitchen/tickets", kitchen_edge.kiosk, expect=403)
    missing = call(url, "POST", "/api/v1/kitchen/tickets/nope/bump", kitchen_edge.kds, expect=404)
    assert missing["error"]["code"] == "not_found"
    bad = call(url, "GET", "/api/v1/kitchen/tickets?status=cooking", kitchen_edge.kds, expect=400)
    assert bad["error"]["code"] == "validation_failed"
    # kitchen staff logged in on the KDS may bump as well
    cook = kitchen_edge.login("kitchen", kitchen_edge.kds)
    assert call(url, "POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", cook)["status"] == "ready"


def test_with_the_payment_trigger_tickets_wait_for_payment(edge_server_factory: Any) -> None:
    edge = Edge(edge_server_factory(init_args=("--kitchen-trigger", "payment")))
    menu = products_by_station(edge.url, edge.kiosk)
    order = place_order(edge.url, edge.kiosk, [(menu["kitchen"][0], 1), (menu["bar"][0], 2)])
    assert order["status"] == "placed"
    assert _tickets(edge, order["id"]) == []
    assert order["number"] not in call(edge.url, "GET", "/api/v1/board", edge.kiosk)["preparing"]
    cashier = edge.login("cashier")
    half = order["total"] // 2
    call(edge.url, "POST", f"/api/v1/orders/{order['id']}/payments", cashier,
         {"method": "cash", "amount": half})
    assert _tickets(edge, order["id"]) == []  # part-paid: still waiting
    call(edge.url, "POST", f"/api/v1/orders/{order['id']}/payments", cashier,
         {"method": "qris", "amount": order["total"] - half, "reference": "QR-9"})
    assert sorted(t["station"] for t in _tickets(edge, order["id"])) == ["bar", "kitchen"]
    assert _status(edge, order["id"]) == "in_kitchen"
    assert order["number"] in call(edge.url, "GET", "/api/v1/board", edge.kiosk)["preparing"]
