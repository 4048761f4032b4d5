"""Orders through HTTP against a real edge: pricing from the local menu, validation errors,
idempotency, queue numbers, payments, voids, completion and the outbox they leave behind."""

from __future__ import annotations

import signal
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from edge import outbox
from shared.schemas import EventBody
from tests.edge.edge_server import EdgeServer, run_cli

# The demo menu (edge/demo.py): 2 x fried rice (hot, fried egg) + large iced latte (less ice)
# + iced sweet tea (regular, less sugar).
THREE_LINES: dict[str, Any] = {"type": "takeaway", "lines": [
    {"product_id": "p-nasi-goreng", "qty": 2, "modifiers": ["opt-spice-2", "opt-extra-egg"]},
    {"product_id": "p-kopi-susu", "modifiers": ["opt-size-large", "opt-ice-less"]},
    {"product_id": "p-es-teh", "modifiers": ["opt-size-regular", "opt-sugar-less"], "note": "no straw"},
]}


def place(edge: EdgeServer, body: dict[str, Any] | None = None, token: str | None = None,
          **headers: str) -> dict[str, Any]:
    res = edge.request("POST", "/api/v1/orders", token or edge.tokens["kiosk"],
                       json=body or THREE_LINES, headers=headers)
    assert res.status_code == 201, res.text
    return res.json()


def journal(edge: EdgeServer) -> list[tuple[int, str, Any]]:
    conn = sqlite3.connect(edge.data_dir / "edge.db")
    try:
        rows = conn.execute("SELECT seq, kind, body FROM outbox ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(seq, kind, msgspec.msgpack.decode(body, type=EventBody)) for seq, kind, body in rows]


def test_order_is_priced_from_the_local_menu(shared_edge: EdgeServer) -> None:
    order = place(shared_edge)
    assert order["status"] == "in_kitchen"  # kitchen_trigger = place
    lines = order["lines"]
    assert [line["unit_price"] for line in lines] == [33_000, 28_000, 8_000]
    assert [line["line_total"] for line in lines] == [66_000, 28_000, 8_000]
    assert [line["station"] for line in lines] == ["kitchen", "bar", "bar"]
    assert lines[0]["modifiers"][1] == {"option_id": "opt-extra-egg", "group_id": "mg-extras",
                                        "name": "Fried egg", "price_delta": 5_000}
    assert lines[2]["note"] == "no straw"
    # 102,000 + 5% service (5,100) + PB1 10% on both (10,710) = 117,810, rounded half up to
    # the demo outlet's cash unit of Rp 100: 117,800 with a rounding line of -10
    assert (order["subtotal"], order["service_charge"], order["tax"], order["rounding"],
            order["total"]) == (102_000, 5_100, 10_710, -10, 117_800)
    assert order["paid"] == 0 and order["currency"] == "IDR" and order["source"] == "test-kiosk"
    fetched = shared_edge.call("GET", f"/api/v1/orders/{order['id']}", shared_edge.tokens["cashier"])
    assert fetched == order


def test_client_prices_are_rejected_not_trusted(shared_edge: EdgeServer) -> None:
    body = {"type": "dine_in", "lines": [{"product_id": "p-air-mineral", "qty": 1, "price": 1}]}
    res = shared_edge.request("POST", "/api/v1/orders", shared_edge.tokens["kiosk"], json=body)
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "validation_failed"


@pytest.mark.parametrize(("line", "code"), [
    ({"product_id": "p-nope"}, "unknown_product"),
    ({"product_id": "p-nasi-goreng", "modifiers": ["opt-nope", "opt-spice-1"]}, "unknown_option"),
    ({"product_id": "p-nasi-goreng", "modifiers": ["opt-spice-1", "opt-size-large"]},
     "option_not_for_product"),
    ({"product_id": "p-nasi-goreng", "modifiers": ["opt-extra-egg"]}, "required_choice_missing"),
    ({"product_id": "p-nasi-goreng", "modifiers": ["opt-spice-1", "opt-spice-2"]}, "too_many_choices"),
    ({"product_id": "p-burger-sapi", "modifiers": ["opt-extra-egg", "opt-extra-cheese",
                                                   "opt-extra-krupuk", "opt-extra-rice"]},
     "too_many_choices"),
    ({"product_id": "p-nasi-goreng", "modifiers": ["opt-spice-1", "opt-spice-1"]}, "duplicate_option"),
])
def test_modifier_rules_give_clear_400s(shared_edge: EdgeServer, line: dict[str, Any], code: str) -> None:
    res = shared_edge.request("POST", "/api/v1/orders", shared_edge.tokens["kiosk"],
                              json={"type": "takeaway", "lines": [THREE_LINES["lines"][1], line]})
    assert res.status_code == 400, res.text
    error = res.json()["error"]
    assert error["code"] == "validation_failed"
    problems = error["details"]["problems"]
    assert any(p["code"] == code and p["line"] == 1 for p in problems), problems


@pytest.mark.parametrize("body", [
    {"type": "takeaway", "lines": []},
    {"type": "delivery", "lines": [{"product_id": "p-air-mineral"}]},
    {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": 0}]},
    {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": "two"}]},
    {"lines": [{"product_id": "p-air-mineral"}]},
    "not an object",
])
def test_malformed_orders_are_400_with_the_error_shape(shared_edge: EdgeServer, body: Any) -> None:
    res = shared_edge.request("POST", "/api/v1/orders", shared_edge.tokens["kiosk"], json=body)
    assert res.status_code == 400, res.text
    assert set(res.json()["error"]) == {"code", "message", "details"}


def test_broken_json_is_a_400(shared_edge: EdgeServer) -> None:
    res = shared_edge.request("POST", "/api/v1/orders", shared_edge.tokens["kiosk"],
                              content=b'{"type": "takeaway", "lines": [', headers={"content-type": "application/json"})
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "validation_failed"


def test_sold_out_products_are_refused_until_back(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    staff = edge_server.login("cashier")
    path = "/api/v1/menu/products/p-es-campur/availability"
    assert edge_server.call("PUT", path, staff, json={"available": False}) == {
        "product_id": "p-es-campur", "available": False}
    menu = edge_server.menu()
    assert next(p for p in menu["products"] if p["id"] == "p-es-campur")["available"] is False
    body = {"type": "takeaway", "lines": [{"product_id": "p-es-campur"}]}
    res = edge_server.request("POST", "/api/v1/orders", edge_server.tokens["kiosk"], json=body)
    assert res.status_code == 422
    assert res.json()["error"]["details"]["problems"][0]["code"] == "product_unavailable"
    edge_server.call("PUT", path, staff, json={"available": True})
    place(edge_server, body)
    kinds = [(kind, getattr(b, "available", None)) for _, kind, b in journal(edge_server)]
    assert ("availability", False) in kinds and ("availability", True) in kinds
    # Unknown product, and a kiosk may not flip availability.
    assert edge_server.request("PUT", "/api/v1/menu/products/p-nope/availability", staff,
                               json={"available": False}).status_code == 404
    assert edge_server.request("PUT", path, edge_server.tokens["kiosk"],
                               json={"available": False}).status_code == 403


def test_menu_etag(shared_edge: EdgeServer) -> None:
    res = shared_edge.request("GET", "/api/v1/menu", shared_edge.tokens["kiosk"])
    etag = res.headers["etag"]
    again = shared_edge.request("GET", "/api/v1/menu", shared_edge.tokens["kiosk"],
                                headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content


def test_idempotency_key_replays_and_conflicts(shared_edge: EdgeServer) -> None:
    key = str(uuid.uuid4())
    first = place(shared_edge, **{"Idempotency-Key": key})
    replay = shared_edge.request("POST", "/api/v1/orders", shared_edge.tokens["kiosk"],
                                 json=THREE_LINES, headers={"Idempotency-Key": key})
    assert replay.status_code == 200 and replay.json()["id"] == first["id"]
    assert replay.json()["number"] == first["number"]
    other = {**THREE_LINES, "note": "something else"}
    conflict = shared_edge.request("POST", "/api/v1/orders", shared_edge.tokens["kiosk"],
                                   json=other, headers={"Idempotency-Key": key})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    # The same key from another device is another request.
    elsewhere = place(shared_edge, token=shared_edge.tokens["cashier"], **{"Idempotency-Key": key})
    assert elsewhere["id"] != first["id"]


def test_concurrent_retries_with_one_key_make_one_order(shared_edge: EdgeServer) -> None:
    key = str(uuid.uuid4())

    def post(_: int) -> tuple[int, str]:
        res = shared_edge.request("POST", "/api/v1/orders", shared_edge.tokens["kiosk"],
                                  json=THREE_LINES, headers={"Idempotency-Key": key})
        return res.status_code, res.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(16)))
    assert len({order_id for _, order_id in results}) == 1
    assert sorted(status for status, _ in results).count(201) == 1


def test_queue_numbers_count_up_per_business_day(edge_server: EdgeServer) -> None:
    numbers = [place(edge_server)["number"] for _ in range(5)]
    assert numbers == [1, 2, 3, 4, 5]  # a fresh outlet starts the day at 1
    order = place(edge_server)
    listed = edge_server.call("GET", f"/api/v1/orders?business_day={order['business_day']}&limit=3",
                              edge_server.tokens["cashier"])["items"]
    assert [o["number"] for o in listed] == [6, 5, 4]  # newest first
    assert edge_server.call("GET", "/api/v1/orders?business_day=2001-01-01",
                            edge_server.tokens["cashier"])["items"] == []


def test_payments_split_cash_change_card_reference_and_completion(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    order = place(edge_server)
    cashier = edge_server.login("cashier")
    pay = f"/api/v1/orders/{order['id']}/payments"
    # Card without reference, more than owed, and cash tendered short are all refused.
    for body in ({"method": "card", "amount": 10_000},
                 {"method": "cash", "amount": order["total"] + 1, "tendered": 200_000},
                 {"method": "cash", "amount": 50_000, "tendered": 20_000},
                 {"method": "cash", "amount": 0}):
        res = edge_server.request("POST", pay, cashier, json=body)
        assert res.status_code == 400, (body, res.text)
    first = edge_server.call("POST", pay, cashier, json={"method": "card", "amount": 17_800,
                                                         "reference": "AUTH-123"})
    assert first["paid"] == 17_800
    second = edge_server.call("POST", pay, cashier, json={"method": "cash", "amount": 100_000,
                                                          "tendered": 150_000})
    assert second["paid"] == second["total"] == 117_800
    cash = second["payments"][1]
    assert (cash["tendered"], cash["change"], cash["staff_id"] is not None) == (150_000, 50_000, True)
    again = edge_server.request("POST", pay, cashier, json={"method": "cash", "amount": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    # Not ready yet: completing is refused; after the kitchen bumps every ticket it works.
    complete = f"/api/v1/orders/{order['id']}/complete"
    assert edge_server.request("POST", complete, cashier).status_code == 409
    kds = edge_server.tokens["kds"]
    tickets = edge_server.call("GET", "/api/v1/kitchen/tickets?status=pending", kds)["items"]
    mine = [t for t in tickets if t["order_id"] == order["id"]]
    assert sorted(t["station"] for t in mine) == ["bar", "kitchen"]
    for ticket in mine:
        edge_server.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kds)
    assert edge_server.call("GET", f"/api/v1/orders/{order['id']}", cashier)["status"] == "ready"
    done = edge_server.call("POST", complete, cashier)
    assert done["status"] == "completed"
    kinds = [(kind, getattr(body, "order", None) and body.order.status)
             for _, kind, body in journal(edge_server)
             if getattr(body, "order_id", None) == order["id"]
             or getattr(getattr(body, "order", None), "id", None) == order["id"]
             or getattr(getattr(body, "payment", None), "order_id", None) == order["id"]]
    assert kinds[0] == ("order", "in_kitchen")
    assert kinds.count(("payment", None)) == 2 and kinds[-1] == ("order", "completed")


def test_kitchen_trigger_payment_sends_when_paid(edge_server_factory: Any) -> None:
    edge = edge_server_factory(init_args=("--kitchen-trigger", "payment"))
    order = place(edge)
    assert order["status"] == "placed"
    kds = edge.tokens["kds"]
    assert edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"] == []
    cashier = edge.login("cashier")
    paid = edge.call("POST", f"/api/v1/orders/{order['id']}/payments", cashier,
                     json={"method": "qris", "amount": order["total"], "reference": "QR-1"})
    assert paid["status"] == "in_kitchen"
    assert len(edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"]) == 2


def test_voids_need_a_reason_and_a_manager_once_paid(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    cashier, manager = edge_server.login("cashier"), edge_server.login("manager")
    unpaid = place(edge_server)
    path = f"/api/v1/orders/{unpaid['id']}/void"
    assert edge_server.request("POST", path, cashier, json={"reason": ""}).status_code == 400
    voided = edge_server.call("POST", path, cashier, json={"reason": "customer left"})
    assert (voided["status"], voided["void_reason"]) == ("voided", "customer left")
    assert edge_server.request("POST", path, cashier, json={"reason": "again"}).status_code == 409
    kds = edge_server.tokens["kds"]
    assert all(t["order_id"] != unpaid["id"]
               for t in edge_server.call("GET", "/api/v1/kitchen/tickets", kds)["items"])

    paid = place(edge_server)
    edge_server.call("POST", f"/api/v1/orders/{paid['id']}/payments", cashier,
                     json={"method": "cash", "amount": paid["total"]})
    path = f"/api/v1/orders/{paid['id']}/void"
    denied = edge_server.request("POST", path, cashier, json={"reason": "wrong order"})
    assert denied.status_code == 403
    assert denied.json()["error"]["details"] == {"permission": "orders:void_paid"}
    assert edge_server.call("POST", path, manager, json={"reason": "wrong order"})["status"] == "voided"


def test_open_filter_and_unknown_order(shared_edge: EdgeServer) -> None:
    token = shared_edge.tokens["cashier"]
    assert shared_edge.request("GET", "/api/v1/orders/nope", token).status_code == 404
    assert shared_edge.request("GET", "/api/v1/orders?status=weird", token).status_code == 400
    items = shared_edge.call("GET", "/api/v1/orders?status=open&limit=500", token)["items"]
    assert items and all(o["status"] in ("placed", "in_kitchen", "ready") for o in items)


def test_outbox_chain_verifies_after_a_session(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    for _ in range(3):
        place(edge_server)
    conn = sqlite3.connect(edge_server.data_dir / "edge.db")
    conn.row_factory = sqlite3.Row
    try:
        head = outbox.head(conn)
        rows = conn.execute("SELECT seq, body, prev_hash, hash FROM outbox ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert [r["seq"] for r in rows] == list(range(1, head["seq"] + 1))
    previous = outbox.genesis_hash(head["epoch"])
    for row in rows:
        assert row["prev_hash"] == previous
        assert outbox.chain_hash(previous, row["seq"], row["body"]) == row["hash"]
        previous = row["hash"]
    assert previous == head["hash"]


def test_outlet_settings_change_on_a_running_edge(edge_server: EdgeServer) -> None:
    assert place(edge_server)["status"] == "in_kitchen"
    run_cli("outlet", "--data-dir", str(edge_server.data_dir), "--kitchen-trigger", "payment",
            "--timezone", "Asia/Tokyo")
    deadline = time.monotonic() + 15  # the server re-reads the outlet every few seconds
    while time.monotonic() < deadline:
        me = edge_server.call("GET", "/api/v1/me", edge_server.tokens["kiosk"])
        if me["outlet"]["timezone"] == "Asia/Tokyo":
            break
        time.sleep(0.5)
    assert me["outlet"]["timezone"] == "Asia/Tokyo"
    assert place(edge_server)["status"] == "placed"
    bad = run_cli("outlet", "--data-dir", str(edge_server.data_dir), "--kitchen-trigger", "never",
                  check=False)
    assert bad.returncode != 0


def _at(seconds: float) -> str:
    """A ``place_by`` this many seconds from now (UTC, ISO 8601)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_a_hung_edge_refuses_an_order_it_gets_to_after_its_deadline(edge_server: EdgeServer) -> None:
    """The edge accepts the connection but hangs (SIGSTOP) while a kiosk places an order;
    resumed after the kiosk gave up, it refuses the order and sends nothing to the kitchen.
    The key is not spent: a retry in time places the order once, and replays return it."""
    edge, key = edge_server, str(uuid.uuid4())
    kiosk, kds = edge.tokens["kiosk"], edge.tokens["kds"]
    events_before = len(journal(edge))
    body = {**THREE_LINES, "place_by": _at(1.5)}
    assert edge.proc is not None
    edge.proc.send_signal(signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(edge.request, "POST", "/api/v1/orders", kiosk, json=body,
                               headers={"Idempotency-Key": key})
            time.sleep(3.0)  # the kiosk gave up at 1.5 s
            assert not sent.done()
            edge.proc.send_signal(signal.SIGCONT)
            late = sent.result(timeout=30)
    finally:
        edge.proc.send_signal(signal.SIGCONT)
    assert late.status_code == 409, late.text
    error = late.json()["error"]
    assert error["code"] == "order_deadline_passed"
    assert error["details"]["late_ms"] >= 1000
    assert datetime.fromisoformat(error["details"]["server_time"]) > datetime.fromisoformat(
        body["place_by"])
    assert edge.call("GET", "/api/v1/orders", edge.tokens["cashier"])["items"] == []
    assert edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"] == []
    assert len(journal(edge)) == events_before  # nothing for the hub either

    # The same checkout retried in time (same key, a later deadline) is placed, once.
    placed = place(edge, {**THREE_LINES, "place_by": _at(8)}, **{"Idempotency-Key": key})
    # A replay returns it even with a deadline long gone: it was accepted in time.
    again = edge.request("POST", "/api/v1/orders", kiosk, json={**THREE_LINES, "place_by": _at(-60)},
                         headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["id"] == placed["id"]
    without = edge.request("POST", "/api/v1/orders", kiosk, json=THREE_LINES,
                           headers={"Idempotency-Key": key})
    assert without.status_code == 200 and without.json()["id"] == placed["id"]
    assert [o["id"] for o in edge.call("GET", "/api/v1/orders", edge.tokens["cashier"])["items"]] == [
        placed["id"]]
    assert len(edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"]) >= 1


def test_order_deadline_bounds(shared_edge: EdgeServer) -> None:
    kiosk = shared_edge.tokens["kiosk"]
    past = shared_edge.request("POST", "/api/v1/orders", kiosk,
                               json={**THREE_LINES, "place_by": _at(-5)})
    assert past.status_code == 409 and past.json()["error"]["code"] == "order_deadline_passed"
    far = shared_edge.request("POST", "/api/v1/orders", kiosk,
                              json={**THREE_LINES, "place_by": _at(11 * 60)})
    assert far.status_code == 400, far.text
    details = far.json()["error"]["details"]
    assert (details["field"], details["reason"], details["max_seconds"]) == (
        "place_by", "deadline_too_far", 600)
    assert "server_time" in details
    naive = shared_edge.request("POST", "/api/v1/orders", kiosk,
                                json={**THREE_LINES, "place_by": "2030-01-01T00:00:00"})
    assert naive.status_code == 400 and naive.json()["error"]["details"]["field"] == "place_by"
    assert place(shared_edge, {**THREE_LINES, "place_by": _at(9 * 60)})["status"] == "in_kitchen"
