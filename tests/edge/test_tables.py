"""Table service through HTTP against a real edge (edge.tables, edge.bills): the demo floor,
a whole dinner (seat, two rounds, a held course fired, held lines changed and deleted, sent
lines voided with and without a manager, the bill asked for, paid, completed, the table
cleaned), the kitchen tickets it makes, the outbox it leaves, and the refusals."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from websockets.sync.client import connect as ws_connect

from edge import live, tables
from edge.db import connect
from shared.schemas import EventBody, FloorPlan, Order, OrderEvent, TaxConfig
from tests.edge.edge_server import EdgeServer

DRINK = {"product_id": "p-air-mineral", "course": "minuman"}  # 6,000, bar
RENDANG = {"product_id": "p-nasi-rendang", "course": "makanan"}  # 42,000, kitchen
BANANA = {"product_id": "p-pisang-goreng", "course": "makanan"}  # 15,000, kitchen
KLEPON = {"product_id": "p-klepon", "course": "pencuci_mulut"}  # 12,000, bar


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def recompute(order: dict[str, Any], tax: TaxConfig) -> dict[str, int]:
    """What the edge must have charged: shared.pricing over the lines not voided."""
    from edge import bills
    plan = FloorPlan(service_charge_dine_in_only=False)
    priced = bills.reprice(msgspec.convert(order, Order), tax=tax, floor=plan)
    return {f: getattr(priced, f) for f in ("subtotal", "service_charge", "tax", "rounding", "total")}


def demo_tax(edge: EdgeServer) -> TaxConfig:
    return msgspec.convert(edge.menu()["tax"], TaxConfig)


def table_of(edge: EdgeServer, table_id: str, token: str) -> dict[str, Any]:
    return edge.call("GET", f"/api/v1/tables/{table_id}", token)


def outbox_orders(edge: EdgeServer, order_id: str) -> list[Order]:
    conn = sqlite3.connect(edge.data_dir / "edge.db")
    try:
        rows = conn.execute("SELECT body FROM outbox WHERE kind = 'order' ORDER BY seq").fetchall()
    finally:
        conn.close()
    found = [msgspec.msgpack.decode(r[0], type=EventBody) for r in rows]
    return [b.order for b in found if isinstance(b, OrderEvent) and b.order.id == order_id]


@pytest.fixture(autouse=True)
def demo_floor_plan_kept(shared_edge: EdgeServer) -> Iterator[None]:
    """The tests share one edge (a start per test was most of this file's time), each on
    tables of its own; a floor plan a test changes is the demo's again for the next."""
    conn = connect(shared_edge.data_dir / "edge.db")
    try:
        demo = tables.floor_plan(conn)
    finally:
        conn.close()
    yield
    conn = connect(shared_edge.data_dir / "edge.db")
    try:
        conn.execute("BEGIN IMMEDIATE")
        tables.replace_floor_plan(conn, demo)
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_the_demo_floor_has_tables_in_two_areas(shared_edge: EdgeServer) -> None:
    # a device token (the kiosk) reads the floor as staff do
    items = shared_edge.call("GET", "/api/v1/tables", shared_edge.tokens["kiosk"])["items"]
    assert len(items) >= 8
    assert {t["area"] for t in items} == {"Indoor", "Teras"}
    for table in items:
        assert set(table) >= {"id", "name", "area", "seats", "status", "order_ids"}
        assert table["seats"] >= 1
    assert shared_edge.request("GET", "/api/v1/tables").status_code == 401
    floor = shared_edge.call("GET", "/api/v1/floor", shared_edge.tokens["cashier"])
    assert floor["courses"] == ["minuman", "makanan", "pencuci_mulut"]
    assert all(t["guest_token"] == "" for t in floor["tables"])  # secrets only for a manager
    manager = shared_edge.login("manager")
    tokens = [t["guest_token"] for t in shared_edge.call("GET", "/api/v1/floor", manager)["tables"]]
    assert all(len(t) >= 20 for t in tokens) and len(set(tokens)) == len(tokens)
    assert shared_edge.request("GET", "/api/v1/tables/tbl-nope", manager).status_code == 404


def test_a_whole_dinner(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter = edge.login("cashier")
    manager_pin = edge.pins["manager"]
    tax = demo_tax(edge)

    # seat a party of three at A3
    res = edge.request("POST", "/api/v1/tables/tbl-a3/seat", waiter, json={"covers": 3},
                       headers={"Idempotency-Key": "seat-a3"})
    assert res.status_code == 201, res.text
    bill = res.json()
    assert (bill["type"], bill["table_id"], bill["table"], bill["covers"], bill["status"],
            bill["lines"], bill["total"]) == ("dine_in", "tbl-a3", "A3", 3, "placed", [], 0)
    assert bill["seated_at"] is not None
    again = edge.request("POST", "/api/v1/tables/tbl-a3/seat", waiter, json={"covers": 3},
                         headers={"Idempotency-Key": "seat-a3"})
    assert again.status_code == 200 and again.json()["id"] == bill["id"]
    other = edge.request("POST", "/api/v1/tables/tbl-a3/seat", waiter, json={"covers": 2},
                         headers={"Idempotency-Key": "seat-a3"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    busy = edge.request("POST", "/api/v1/tables/tbl-a3/seat", waiter, json={"covers": 2}, headers=key())
    assert busy.status_code == 409
    assert table_of(edge, "tbl-a3", waiter)["table"]["status"] == "ordering"
    path = f"/api/v1/orders/{bill['id']}"

    # round 1: drinks now, mains and dessert held
    round1 = {"lines": [{**DRINK, "qty": 3}, {**RENDANG, "hold": True, "seat": 1},
                        {**BANANA, "hold": True, "seat": 2}, {**KLEPON, "hold": True}]}
    bill = edge.call("POST", f"{path}/lines", waiter, json=round1, headers={"Idempotency-Key": "r1"})
    assert [(l["round"], l["state"], l["course"]) for l in bill["lines"]] == [
        (1, "sent", "minuman"), (1, "held", "makanan"), (1, "held", "makanan"),
        (1, "held", "pencuci_mulut")]
    assert bill["status"] == "in_kitchen" and bill["subtotal"] == 3 * 6_000 + 42_000 + 15_000 + 12_000
    assert {k: bill[k] for k in recompute(bill, tax)} == recompute(bill, tax)
    replay = edge.request("POST", f"{path}/lines", waiter, json=round1, headers={"Idempotency-Key": "r1"})
    assert replay.status_code == 200 and len(replay.json()["lines"]) == 4  # nothing added
    assert table_of(edge, "tbl-a3", waiter)["table"]["status"] == "eating"

    # the bar got round 1's drinks, for table A3; nothing held reached the kitchen
    kds = edge.tokens["kds"]
    tickets = [t for t in edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"]
               if t["order_id"] == bill["id"]]
    assert [(t["station"], t["table"], t["round"], t["course"], [l["qty"] for l in t["lines"]])
            for t in tickets] == [("bar", "A3", 1, "minuman", [3])]

    # round 2 from another device (the cashier tablet itself)
    bill = edge.call("POST", f"{path}/lines", edge.tokens["cashier"],
                     json={"lines": [{"product_id": "p-es-teh", "course": "minuman",
                                      "modifiers": ["opt-size-large", "opt-sugar-less"]}]},
                     headers=key())
    assert max(l["round"] for l in bill["lines"]) == 2 and bill["lines"][-1]["state"] == "sent"

    # change a held line (with the current revision), a stale revision is refused
    dessert = bill["lines"][3]
    revision = bill["revision"]
    bill = edge.call("PATCH", f"{path}/lines/{dessert['id']}", waiter,
                     json={"qty": 2, "note": "satu tanpa gula"},
                     headers={"If-Match": str(revision)})
    assert bill["lines"][3]["qty"] == 2 and bill["lines"][3]["line_total"] == 24_000
    assert bill["revision"] == revision + 1
    stale = edge.request("PATCH", f"{path}/lines/{dessert['id']}", waiter, json={"qty": 3},
                         headers={"If-Match": str(revision)})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["details"]["revision"] == bill["revision"]
    sent_drink = bill["lines"][0]
    refused = edge.request("PATCH", f"{path}/lines/{sent_drink['id']}", waiter, json={"qty": 1})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_state"
    assert edge.request("DELETE", f"{path}/lines/{sent_drink['id']}", waiter).status_code == 409

    # the banana is deleted (still held), then the mains are fired
    banana = bill["lines"][2]
    bill = edge.call("DELETE", f"{path}/lines/{banana['id']}", waiter)
    assert banana["id"] not in {l["id"] for l in bill["lines"]}
    assert {k: bill[k] for k in recompute(bill, tax)} == recompute(bill, tax)
    bill = edge.call("POST", f"{path}/fire", waiter, json={"course": "makanan"}, headers=key())
    rendang = next(l for l in bill["lines"] if l["product_id"] == "p-nasi-rendang")
    assert rendang["state"] == "sent"
    assert next(l for l in bill["lines"] if l["product_id"] == "p-klepon")["state"] == "held"
    nothing = edge.request("POST", f"{path}/fire", waiter, json={"course": "makanan"}, headers=key())
    assert nothing.status_code == 409
    fired = [t for t in edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"]
             if t["order_id"] == bill["id"] and t["course"] == "makanan"]
    assert [(t["station"], t["table"], [l["name"] for l in t["lines"]]) for t in fired] == [
        ("kitchen", "A3", ["Beef rendang rice"])]
    assert "Seat 1" in fired[0]["lines"][0]["note"]

    # void: the drinks (18,000, under the demo's 50,000 threshold) by the waiter; the
    # rendang needs a manager once it is worth more (qty 2 is not possible: it was sent), so
    # lower the threshold to prove the approval path
    bill = edge.call("POST", f"{path}/lines/{sent_drink['id']}/void", waiter,
                     json={"reason": "tumpah"}, headers=key())
    drink = bill["lines"][0]
    assert (drink["state"], drink["void_reason"], drink["line_total"]) == ("voided", "tumpah", 18_000)
    assert bill["subtotal"] == 42_000 + 24_000 + bill["lines"][-1]["line_total"]
    assert {k: bill[k] for k in recompute(bill, tax)} == recompute(bill, tax)
    twice = edge.request("POST", f"{path}/lines/{sent_drink['id']}/void", waiter,
                         json={"reason": "tumpah"}, headers=key())
    assert twice.status_code == 409
    void_chits = [t for t in edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"]
                  if t["order_id"] == bill["id"] and t["lines"][0]["name"].startswith("VOID")]
    assert [(t["station"], t["lines"][0]["name"], t["lines"][0]["note"]) for t in void_chits] == [
        ("bar", "VOID Mineral water", "tumpah")]
    # the drinks' own ticket was still pending and all its lines are voided: withdrawn
    assert not [t for t in edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"]
                if t["order_id"] == bill["id"] and t["round"] == 1 and t["course"] == "minuman"
                and not t["lines"][0]["name"].startswith("VOID")]

    set_threshold(edge, 10_000)
    no_manager = edge.request("POST", f"{path}/lines/{rendang['id']}/void", waiter,
                              json={"reason": "salah pesan"}, headers=key())
    assert no_manager.status_code == 403
    wrong_pin = edge.request("POST", f"{path}/lines/{rendang['id']}/void", waiter,
                             json={"reason": "salah pesan"},
                             headers={**key(), "X-Manager-PIN": edge.pins["cashier"]})
    assert wrong_pin.status_code == 403
    bill = edge.call("POST", f"{path}/lines/{rendang['id']}/void", waiter,
                     json={"reason": "salah pesan"}, headers={**key(), "X-Manager-PIN": manager_pin})
    voided = next(l for l in bill["lines"] if l["id"] == rendang["id"])
    manager = edge.call("GET", "/api/v1/me", edge.login("manager"))
    assert voided["state"] == "voided" and voided["voided_by"] == manager["staff"]["id"]

    # dessert now, then the bill
    bill = edge.call("POST", f"{path}/fire", waiter, json={"course": ""}, headers=key())
    assert all(l["state"] != "held" for l in bill["lines"])
    bill = edge.call("POST", f"{path}/request-bill", waiter)
    assert bill["bill_requested_at"] is not None
    view = table_of(edge, "tbl-a3", waiter)
    assert view["table"]["status"] == "bill_requested"
    assert view["table"]["amount"] == bill["total"] and view["orders"][0]["id"] == bill["id"]
    assert {k: bill[k] for k in recompute(bill, tax)} == recompute(bill, tax)

    # pay in full, complete (the kitchen has not bumped everything: a bill completes anyway)
    cashier = edge.login("cashier")
    bill = edge.call("POST", f"{path}/payments", cashier,
                     json={"method": "cash", "amount": bill["total"], "tendered": bill["total"]},
                     headers=key())
    assert table_of(edge, "tbl-a3", waiter)["table"]["status"] == "paid"
    done = edge.call("POST", f"{path}/complete", cashier)
    assert done["status"] == "completed"
    view = table_of(edge, "tbl-a3", waiter)
    assert (view["table"]["status"], view["orders"]) == ("needs_cleaning", [])
    assert edge.request("POST", f"{path}/lines", waiter, json=round1, headers=key()).status_code == 409
    clean = edge.call("POST", "/api/v1/tables/tbl-a3/clean", waiter)
    assert clean["status"] == "free"

    # every amendment left a full snapshot in the outbox, revisions counting up
    snapshots = outbox_orders(edge, done["id"])
    revisions = [o.revision for o in snapshots]
    assert revisions == sorted(revisions) and revisions[-1] == done["revision"]
    assert snapshots[-1].status == "completed" and len(snapshots[-1].lines) == len(done["lines"])


def set_threshold(edge: EdgeServer, threshold: int, **changes: Any) -> None:
    """Change the floor plan as the hub's feed would (edge.tables.replace_floor_plan)."""
    conn = connect(edge.data_dir / "edge.db")
    try:
        conn.execute("BEGIN IMMEDIATE")
        plan = tables.floor_plan(conn)
        tables.replace_floor_plan(conn, msgspec.structs.replace(
            plan, void_approval_threshold=threshold, **changes))
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_dine_in_order_with_a_table_opens_a_bill(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter = edge.login("cashier")
    body = {"type": "dine_in", "table_id": "tbl-t2", "covers": 2,
            "lines": [DRINK, {**RENDANG, "hold": True}]}
    order = edge.call("POST", "/api/v1/orders", waiter, json=body, headers=key())
    assert (order["table_id"], order["table"], order["covers"]) == ("tbl-t2", "T2", 2)
    assert [l["state"] for l in order["lines"]] == ["sent", "held"]
    assert order["status"] == "in_kitchen"
    kitchen = [t for t in edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]
               if t["order_id"] == order["id"]]
    assert [(t["station"], t["table"], t["course"]) for t in kitchen] == [("bar", "T2", "minuman")]
    busy = edge.request("POST", "/api/v1/orders", waiter, json=body, headers=key())
    assert busy.status_code == 409
    # served at the table: never called out on the customers' order board
    counter = edge.call("POST", "/api/v1/orders", edge.tokens["kiosk"],
                        json={"type": "takeaway", "lines": [{"product_id": "p-klepon"}]})
    board = edge.call("GET", "/api/v1/board", edge.tokens["kiosk"])
    assert counter["number"] in board["preparing"] and order["number"] not in board["preparing"]
    table = edge.call("GET", "/api/v1/tables", waiter)["items"]
    assert next(t for t in table if t["id"] == "tbl-t2")["order_ids"] == [order["id"]]
    for wrong, status in ((dict(body, table_id="tbl-nope"), 404),
                          (dict(body, table_id="tbl-t3", type="takeaway"), 400),
                          ({"type": "takeaway", "lines": [{**DRINK, "hold": True}]}, 400),
                          (dict(body, table_id="tbl-t3", lines=[dict(DRINK, course="sup")]), 400),
                          (dict(body, table_id="tbl-t3", covers=100), 400)):
        res = edge.request("POST", "/api/v1/orders", waiter, json=wrong, headers=key())
        assert res.status_code == status, (wrong, res.text)


def test_takeaway_carries_no_service_charge_when_the_floor_plan_says_so(
        shared_edge: EdgeServer) -> None:
    edge = shared_edge
    kiosk = edge.tokens["kiosk"]
    before = edge.call("POST", "/api/v1/orders", kiosk,
                       json={"type": "takeaway", "lines": [{"product_id": "p-klepon"}]})
    assert before["service_charge"] == 600  # the demo charges takeaway too
    set_threshold(edge, 50_000, service_charge_dine_in_only=True)
    takeaway = edge.call("POST", "/api/v1/orders", kiosk,
                         json={"type": "takeaway", "lines": [{"product_id": "p-klepon"}]})
    dine_in = edge.call("POST", "/api/v1/orders", kiosk,
                        json={"type": "dine_in", "lines": [{"product_id": "p-klepon"}]})
    assert (takeaway["service_charge"], takeaway["tax"], takeaway["total"]) == (0, 1_200, 13_200)
    assert (dine_in["service_charge"], dine_in["tax"]) == (600, 1_260)


def test_amendment_refusals(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter = edge.login("cashier")
    kiosk = edge.tokens["kiosk"]
    bill = edge.call("POST", "/api/v1/tables/tbl-a5/seat", waiter, json={"covers": 4}, headers=key())
    path = f"/api/v1/orders/{bill['id']}"
    for body, status in (({"lines": []}, 400), ({"lines": [{"product_id": "p-nope"}]}, 400),
                         ({"lines": [dict(DRINK, course="sup")]}, 400),
                         ({"lines": [DRINK], "total": 1}, 400),
                         ({"lines": [dict(DRINK, qty=0)]}, 400)):
        res = edge.request("POST", f"{path}/lines", waiter, json=body, headers=key())
        assert res.status_code == status, (body, res.text)
    assert edge.request("POST", f"{path}/lines", kiosk, json={"lines": [DRINK]}).status_code == 403
    assert edge.request("POST", "/api/v1/orders/nope/lines", waiter,
                        json={"lines": [DRINK]}).status_code == 404
    assert edge.request("PATCH", f"{path}/lines/nope", waiter, json={"qty": 2}).status_code == 404
    assert edge.request("PATCH", f"{path}/lines/x", waiter, json={"qty": 2},
                        headers={"If-Match": "abc"}).status_code == 400
    assert edge.request("POST", "/api/v1/tables/tbl-a6/seat", waiter, json={"covers": -1}).status_code == 400
    takeaway = edge.call("POST", "/api/v1/orders", kiosk,
                         json={"type": "takeaway", "lines": [{"product_id": "p-klepon"}]})
    res = edge.request("POST", f"/api/v1/orders/{takeaway['id']}/lines", waiter,
                       json={"lines": [DRINK]}, headers=key())
    assert res.status_code == 409
    # a bill holds at most 500 lines
    for _ in range(5):
        edge.call("POST", f"{path}/lines", waiter, json={"lines": [DRINK] * 100}, headers=key())
    res = edge.request("POST", f"{path}/lines", waiter, json={"lines": [DRINK]}, headers=key())
    assert res.status_code == 400 and res.json()["error"]["details"]["max"] == 500
    # a table with an open bill is not cleaned
    assert edge.request("POST", "/api/v1/tables/tbl-a5/clean", waiter).status_code == 409


def test_floor_screens_hear_about_tables_on_the_live_stream(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter = edge.login("cashier")
    url = edge.base_url.replace("http://", "ws://")
    conn = connect(edge.data_dir / "edge.db")
    try:  # the screen starts where the edge is now, not at the other tests' events
        now = live.latest_id(conn)
    finally:
        conn.close()
    with ws_connect(f"{url}/api/v1/stream?token={waiter}&topics=tables,orders&after={now}",
                    open_timeout=10) as ws:
        bill = edge.call("POST", "/api/v1/tables/tbl-t4/seat", waiter, json={"covers": 2},
                         headers=key())
        edge.call("POST", f"/api/v1/orders/{bill['id']}/lines", waiter,
                  json={"lines": [DRINK]}, headers=key())
        seen: list[dict[str, Any]] = []
        while not any(e.get("type") == "table" and e["data"]["status"] == "eating" for e in seen):
            seen.append(json.loads(ws.recv(timeout=10)))
    tables_seen = [e for e in seen if e.get("topic") == "tables" and e.get("type") == "table"]
    assert [e["data"]["status"] for e in tables_seen][:1] == ["ordering"]
    assert tables_seen[-1]["data"]["id"] == "tbl-t4" and tables_seen[-1]["data"]["order_ids"] == [bill["id"]]
    assert any(e.get("topic") == "orders" and e.get("type") == "order.updated" for e in seen)
