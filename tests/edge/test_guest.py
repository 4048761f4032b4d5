"""Guest ordering from the table's QR page, through a real edge process (edge/guest.py).

The guest API knows a table only by the ``X-Table-Token`` header: these tests read the demo
floor plan's random tokens from the edge's database, change the outlet's guest mode or
rotate a token the way the hub's floor feed does (``edge.tables.replace_floor_plan`` on the
edge's own database file), and send each guest from its own loopback address
(127.0.0.x) so the per-IP limits of one test do not spend another's.
"""

from __future__ import annotations

import itertools
import secrets
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec
import pytest

from edge import tables
from edge.db import connect
from shared.schemas import FloorPlan
from tests.edge.edge_server import EdgeServer

_addresses = itertools.count(10)


def plan_of(edge: EdgeServer) -> FloorPlan:
    conn = connect(edge.data_dir / "edge.db")
    try:
        return tables.floor_plan(conn)
    finally:
        conn.close()


def change_plan(edge: EdgeServer, **changes: Any) -> FloorPlan:
    """Install a changed copy of the outlet's floor plan, as the hub's floor feed would."""
    conn = connect(edge.data_dir / "edge.db")
    try:
        conn.execute("BEGIN IMMEDIATE")
        plan = msgspec.structs.replace(tables.floor_plan(conn), **changes)
        tables.replace_floor_plan(conn, plan)
        conn.execute("COMMIT")
        return plan
    finally:
        conn.close()


def rotate(edge: EdgeServer, table_name: str) -> str:
    plan = plan_of(edge)
    fresh = secrets.token_urlsafe(18)
    changed = [msgspec.structs.replace(t, guest_token=fresh) if t.name == table_name else t
               for t in plan.tables]
    change_plan(edge, tables=changed)
    return fresh


def token_of(edge: EdgeServer, table_name: str) -> str:
    return next(t.guest_token for t in plan_of(edge).tables if t.name == table_name)


def table_id_of(edge: EdgeServer, table_name: str) -> str:
    return next(t.id for t in plan_of(edge).tables if t.name == table_name)


class Guest:
    """A guest's phone: the table's token, its own IP address."""

    def __init__(self, edge: EdgeServer, token: str, address: str | None = None) -> None:
        self.token = token
        self.address = address or f"127.0.0.{next(_addresses)}"
        self.http = httpx.Client(base_url=edge.base_url, timeout=10,
                                 transport=httpx.HTTPTransport(local_address=self.address))

    def get(self, path: str = "/api/v1/guest/table", **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers={"X-Table-Token": self.token})

    def order(self, lines: list[dict[str, Any]], key: str | None = None,
              keyed: bool = True) -> httpx.Response:
        headers = {"X-Table-Token": self.token}
        if keyed:
            headers["Idempotency-Key"] = key or secrets.token_hex(8)
        return self.http.post("/api/v1/guest/orders", json={"lines": lines}, headers=headers)

    def call(self, kind: str) -> httpx.Response:
        return self.http.post("/api/v1/guest/call", json={"kind": kind},
                              headers={"X-Table-Token": self.token})

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def guests() -> Iterator[list[Guest]]:
    made: list[Guest] = []
    yield made
    for guest in made:
        guest.close()


def guest_at(edge: EdgeServer, made: list[Guest], table_name: str) -> Guest:
    guest = Guest(edge, token_of(edge, table_name))
    made.append(guest)
    return guest


def simple_products(edge: EdgeServer) -> list[dict[str, Any]]:
    """Products without required options, available."""
    menu = edge.menu()
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    return [p for p in menu["products"] if p.get("available", True) and not any(
        groups[g]["min_choices"] for g in p.get("modifier_group_ids", []) if g in groups)]


def line(product: dict[str, Any], qty: int = 1) -> dict[str, Any]:
    return {"product_id": product["id"], "qty": qty}


def error(res: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert res.status_code == status, res.text
    body = res.json()["error"]
    assert body["code"] == code, body
    return body


def open_bills(edge: EdgeServer, table_name: str) -> list[dict[str, Any]]:
    """The table's open bills, as staff read them (oldest first)."""
    items = edge.call("GET", "/api/v1/orders?status=open&limit=500", edge.tokens["cashier"])["items"]
    table_id = table_id_of(edge, table_name)
    return sorted((o for o in items if o.get("table_id") == table_id), key=lambda o: o["created_at"])


def guest_events(edge: EdgeServer) -> list[tuple[str, dict[str, Any]]]:
    conn = sqlite3.connect(edge.data_dir / "edge.db")
    try:
        rows = conn.execute("SELECT type, data FROM live_events WHERE topic = 'tables'"
                            " AND type LIKE 'guest_%' ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(kind, msgspec.json.decode(data)) for kind, data in rows]


# ---------------------------------------------------------------------------- tests


def test_guest_page_is_served_without_a_token_in_any_url(shared_edge: EdgeServer) -> None:
    res = httpx.get(f"{shared_edge.base_url}/guest/", timeout=10)
    assert res.status_code == 200
    assert 'data-app="guest"' in res.text and "/guest/guest.js?v=" in res.text
    assert res.headers["cache-control"] == "no-cache"


def test_token_identifies_the_table_and_shows_its_menu(shared_edge: EdgeServer,
                                                       guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="confirm")
    res = guest_at(edge, guests, "A1").get()
    assert res.status_code == 200, res.text
    assert res.headers["cache-control"] == "no-store"
    view = res.json()
    assert view["table"] == {"name": "A1", "area": "Indoor"}
    assert view["mode"] == "confirm"
    assert view["bill"] is None
    assert {p["id"] for p in view["menu"]["products"]} == {p["id"] for p in edge.menu()["products"]}
    without = guest_at(edge, guests, "A1").get(menu="false").json()
    assert "menu" not in without and without["menu_revision"] == view["menu_revision"]


@pytest.mark.parametrize("token", [None, "", "nope", "x" * 500, "demo-guest-a1"])
def test_unknown_token_is_refused(shared_edge: EdgeServer, token: str | None) -> None:
    headers = {} if token is None else {"X-Table-Token": token}
    with httpx.Client(base_url=shared_edge.base_url, timeout=10) as http:
        error(http.get("/api/v1/guest/table", headers=headers), 403, "forbidden")
        error(http.post("/api/v1/guest/call", json={"kind": "waiter"}, headers=headers),
              403, "forbidden")
        error(http.post("/api/v1/guest/orders", json={"lines": [{"product_id": "x"}]},
                        headers={**headers, "Idempotency-Key": "k1"}), 403, "forbidden")


def test_rotated_token_is_refused_and_the_new_one_works(shared_edge: EdgeServer,
                                                        guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="kitchen")
    old = guest_at(edge, guests, "A2")
    product = simple_products(edge)[0]
    assert old.order([line(product)]).status_code == 201
    fresh = rotate(edge, "A2")
    error(old.get(), 403, "forbidden")
    error(old.order([line(product)]), 403, "forbidden")
    error(old.call("waiter"), 403, "forbidden")
    new = Guest(edge, fresh)
    guests.append(new)
    view = new.get().json()
    assert view["table"]["name"] == "A2"
    assert [x["qty"] for x in view["bill"]["lines"]] == [1]  # the bill stays with the table


def test_a_tables_token_reads_and_orders_only_its_own_table(shared_edge: EdgeServer,
                                                            guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="kitchen")
    products = simple_products(edge)
    at_a, at_b = guest_at(edge, guests, "A3"), guest_at(edge, guests, "A4")
    res_b = at_b.order([line(products[0], 2)])
    assert res_b.status_code == 201, res_b.text
    b_bill = res_b.json()["bill"]
    b_order_id = open_bills(edge, "A4")[0]["id"]

    # A's page: nothing of B's bill, whatever it asks for
    for params in ({}, {"table_id": table_id_of(edge, "A4")}, {"table": "A4"}):
        view = at_a.get(**params).json()
        assert view["table"]["name"] == "A3" and view["bill"] is None and view["requests"] == []
    # A's token is no key to the staff API (B's bill, the requests list)
    for path in (f"/api/v1/orders/{b_order_id}", "/api/v1/guest-requests", "/api/v1/orders"):
        error(at_a.http.get(path, headers={"X-Table-Token": at_a.token}), 401, "unauthorized")
    # A's round goes on A's bill; B's bill is untouched
    res_a = at_a.order([line(products[1])])
    assert res_a.status_code == 201
    assert [x["product_id"] for x in res_a.json()["bill"]["lines"]] == [products[1]["id"]]
    assert at_b.get().json()["bill"] == b_bill


def test_kitchen_mode_adds_rounds_to_the_tables_bill(shared_edge: EdgeServer,
                                                     guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="kitchen")
    guest = guest_at(edge, guests, "A5")
    products = simple_products(edge)
    first = guest.order([line(products[0], 2), {**line(products[1]), "note": "tidak pedas"}])
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["request"]["status"] == "accepted" and body["request"]["kind"] == "order"
    assert "order_id" not in body["request"] and "decided_by" not in body["request"]
    bill = body["bill"]
    assert [(x["product_id"], x["qty"], x["round"], x["guest"]) for x in bill["lines"]] == [
        (products[0]["id"], 2, 1, True), (products[1]["id"], 1, 1, True)]
    assert bill["subtotal"] == 2 * products[0]["price"] + products[1]["price"]
    assert bill["total"] >= bill["subtotal"] and bill["due"] == bill["total"]

    second = guest.order([line(products[2])]).json()
    bills = open_bills(edge, "A5")
    assert len(bills) == 1  # both rounds on the one open bill
    order = bills[0]
    assert order["table_id"] == table_id_of(edge, "A5") and order["type"] == "dine_in"
    assert [x["round"] for x in order["lines"]] == [1, 1, 2]
    assert order["total"] == second["bill"]["total"]
    # the kitchen got the rounds, with the table's name
    tickets = [t for station in ("kitchen", "bar") for t in edge.call(
        "GET", f"/api/v1/kitchen/tickets?station={station}&status=pending",
        edge.tokens["kds"])["items"] if t["order_id"] == order["id"]]
    assert {t["round"] for t in tickets} == {1, 2} and {t["table"] for t in tickets} == {"A5"}
    events = [data for kind, data in guest_events(edge) if data["table"] == "A5"]
    assert [e["status"] for e in events] == ["accepted", "accepted"]


def test_confirm_mode_waits_for_a_waiter_who_accepts_once_or_rejects(
        shared_edge: EdgeServer, guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="confirm")
    guest = guest_at(edge, guests, "A6")
    products = simple_products(edge)
    res = guest.order([line(products[0])])
    assert res.status_code == 201, res.text
    assert res.json()["request"]["status"] == "pending" and res.json()["bill"] is None
    request_id = res.json()["request"]["id"]

    waiter = edge.login("cashier")
    pending = edge.call("GET", "/api/v1/guest-requests?status=pending&kind=order", waiter)["items"]
    mine = next(r for r in pending if r["id"] == request_id)
    assert mine["table"] == "A6" and mine["lines"][0]["product_id"] == products[0]["id"]
    assert ("guest_request", "pending") in [(k, d["status"]) for k, d in guest_events(edge)
                                            if d["id"] == request_id]
    # devices without a staff member, or a kiosk, cannot accept
    for token in (edge.tokens["cashier"], edge.tokens["kiosk"]):
        error(edge.request("POST", f"/api/v1/guest-requests/{request_id}/accept", token),
              403, "forbidden")

    accepted = edge.call("POST", f"/api/v1/guest-requests/{request_id}/accept", waiter)
    assert accepted["request"]["status"] == "accepted" and accepted["request"]["round"] == 1
    order = accepted["order"]
    assert [x["product_id"] for x in order["lines"]] == [products[0]["id"]]
    again = edge.call("POST", f"/api/v1/guest-requests/{request_id}/accept", waiter)
    assert again["order"]["revision"] == order["revision"]  # accepted once: no second round
    assert len(again["order"]["lines"]) == 1
    error(edge.request("POST", f"/api/v1/guest-requests/{request_id}/reject", waiter, json={}),
          409, "invalid_state")
    view = guest.get().json()
    assert [x["product_id"] for x in view["bill"]["lines"]] == [products[0]["id"]]
    assert view["bill"]["lines"][0]["guest"] is True

    second = guest.order([line(products[1])]).json()["request"]["id"]
    rejected = edge.call("POST", f"/api/v1/guest-requests/{second}/reject", waiter,
                         json={"reason": "Habis untuk hari ini"})
    assert rejected["status"] == "rejected"
    error(edge.request("POST", f"/api/v1/guest-requests/{second}/accept", waiter),
          409, "invalid_state")
    seen = {r["id"]: r for r in guest.get().json()["requests"]}
    assert seen[second]["status"] == "rejected" and seen[second]["reason"] == "Habis untuk hari ini"
    assert len(guest.get().json()["bill"]["lines"]) == 1
    error(edge.request("POST", "/api/v1/guest-requests/nope/accept", waiter), 404, "not_found")


def test_the_guest_never_sees_staff_or_payment_details(shared_edge: EdgeServer,
                                                       guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="confirm")
    guest = guest_at(edge, guests, "A7")
    product = simple_products(edge)[0]
    request_id = guest.order([line(product, 3)]).json()["request"]["id"]
    login = httpx.post(f"{edge.base_url}/api/v1/auth/login", json={"pin": edge.pins["cashier"]},
                       headers={"Authorization": f"Bearer {edge.tokens['cashier']}"}).json()
    waiter, staff = login["access_token"], login["staff"]
    order = edge.call("POST", f"/api/v1/guest-requests/{request_id}/accept", waiter)["order"]
    edge.call("POST", f"/api/v1/orders/{order['id']}/payments", waiter,
              json={"method": "card", "amount": 1000, "reference": "APPR-778899"})
    assert guest.call("bill").status_code == 201
    assert open_bills(edge, "A7")[0]["bill_requested_at"] is not None
    res = guest.get()
    text = res.text
    for secret in (staff["id"], staff["name"], "APPR-778899", order["id"], edge.tokens["cashier"]):
        assert secret not in text
    for key in ('"payments"', '"decided_by"', '"staff_id"', '"method"', '"voided_by"',
                '"order_id"'):
        assert key not in text
    bill = res.json()["bill"]
    assert bill["paid"] == 1000 and bill["due"] == bill["total"] - 1000
    assert bill["bill_requested"] is True


def test_replayed_idempotency_key_returns_the_same_request_and_orders_once(
        shared_edge: EdgeServer, guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="kitchen")
    guest = guest_at(edge, guests, "A8")
    product = simple_products(edge)[0]
    first = guest.order([line(product)], key="tap-1")
    replay = guest.order([line(product)], key="tap-1")
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["request"] == first.json()["request"]
    assert len(replay.json()["bill"]["lines"]) == 1
    error(guest.order([line(product, 2)], key="tap-1"), 409, "idempotency_conflict")
    error(guest.order([line(product)], keyed=False), 400, "validation_failed")
    assert len(guest.get().json()["bill"]["lines"]) == 1
    # the same key from another table is that table's own
    other = guest_at(edge, guests, "T1")
    assert other.order([line(product)], key="tap-1").status_code == 201


def test_bounds_of_a_guest_round(shared_edge: EdgeServer, guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="confirm")
    guest = guest_at(edge, guests, "T2")
    product = simple_products(edge)[0]
    error(guest.order([line(product, 21)]), 400, "validation_failed")
    error(guest.order([line(product)] * 21), 400, "validation_failed")
    error(guest.order([]), 400, "validation_failed")
    error(guest.order([line(product, 20)] * 3), 409, "invalid_state")  # 60 items > 50
    error(guest.order([{"product_id": product["id"], "note": "a\x1bp"}]), 400, "validation_failed")
    error(guest.order([{"product_id": product["id"], "hold": True}]), 400, "validation_failed")
    error(guest.order([{"product_id": "no-such-product"}]), 400, "validation_failed")
    for _ in range(5):
        assert guest.order([line(product)]).status_code == 201
    # five rounds already wait for a waiter: the sixth is refused
    body = error(guest.order([line(product)]), 409, "invalid_state")
    assert body["details"] == {"pending": 5, "max_pending": 5}


def test_closed_table_refuses_orders_but_still_calls_the_waiter(shared_edge: EdgeServer,
                                                                guests: list[Guest]) -> None:
    edge = shared_edge
    change_plan(edge, guest_orders="off")
    try:
        guest = guest_at(edge, guests, "T3")
        assert guest.get().json()["mode"] == "off"
        body = error(guest.order([line(simple_products(edge)[0])]), 409, "invalid_state")
        assert body["details"] == {"guest_orders": "off"}
        assert guest.get().json()["bill"] is None
        first = guest.call("waiter")
        assert first.status_code == 201 and first.json()["request"]["status"] == "pending"
        again = guest.call("waiter")  # still pending: the same call, not a second one
        assert again.status_code == 200 and again.json()["request"]["id"] == first.json()["request"]["id"]
        call_id = first.json()["request"]["id"]
        assert ("guest_call", "T3") in [(k, d["table"]) for k, d in guest_events(edge)]
        waiter = edge.login("cashier")
        calls = edge.call("GET", "/api/v1/guest-requests?kind=call&status=pending", waiter)["items"]
        assert call_id in [c["id"] for c in calls]
        done = edge.call("POST", f"/api/v1/guest-requests/{call_id}/accept", waiter)
        assert done["request"]["status"] == "accepted" and done["order"] is None
        assert guest.call("waiter").status_code == 201  # a new call after the last was answered
    finally:
        change_plan(edge, guest_orders="confirm")


def test_rate_limits_per_table_and_per_ip(shared_edge: EdgeServer, guests: list[Guest]) -> None:
    edge = shared_edge
    phone = guest_at(edge, guests, "T4")
    for _ in range(10):
        assert phone.call("waiter").status_code in (200, 201)
    limited = phone.call("waiter")
    body = error(limited, 429, "rate_limited")
    assert body["details"]["scope"] == "table"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # the table's limit, not the IP's: another phone at the table is limited too,
    # a phone at another table is not
    other_phone = Guest(edge, phone.token)
    guests.append(other_phone)
    error(other_phone.call("waiter"), 429, "rate_limited")
    # one IP across tables: 30 writes a minute
    address = f"127.0.0.{next(_addresses)}"
    sent = 0
    for name in ("T5", "T6", "A1", "A2"):
        other = Guest(edge, token_of(edge, name), address)
        guests.append(other)
        for _ in range(10):
            res = other.call("waiter")
            if res.status_code == 429:
                break
            sent += 1
        if res.status_code == 429:
            break
    assert sent == 30
    assert error(res, 429, "rate_limited")["details"]["scope"] == "ip"
    assert int(res.headers["retry-after"]) >= 1


def test_guessing_tokens_is_stopped_per_ip(shared_edge: EdgeServer,
                                           guests: list[Guest]) -> None:
    edge = shared_edge
    guesser = Guest(edge, "guess-0")
    guests.append(guesser)
    for n in range(20):
        guesser.token = f"guess-{n}"
        error(guesser.get(menu="false"), 403, "forbidden")
    guesser.token = "guess-20"
    limited = guesser.get(menu="false")
    assert error(limited, 429, "rate_limited")["details"]["scope"] == "token"
    assert int(limited.headers["retry-after"]) >= 1
    guesser.token = token_of(edge, "T1")  # even a right token, from that device, waits
    error(guesser.get(menu="false"), 429, "rate_limited")
    assert guest_at(edge, guests, "T1").get(menu="false").status_code == 200  # others do not


def test_polling_is_limited_per_table(shared_edge: EdgeServer, guests: list[Guest]) -> None:
    # two phones (two IPs) at one table: the table's bucket runs out before either IP's
    phones = [guest_at(shared_edge, guests, "T2"), guest_at(shared_edge, guests, "T2")]
    answers: list[httpx.Response] = []
    while len(answers) < 240 and (not answers or answers[-1].status_code == 200):
        answers.append(phones[len(answers) % 2].get(menu="false"))
    statuses = [a.status_code for a in answers]
    # 120 at once, refilled at 2 a second while the loop runs
    assert 120 <= statuses.index(429) < 240 and set(statuses[:120]) == {200}
    assert error(answers[-1], 429, "rate_limited")["details"]["scope"] == "table"


def test_two_phones_ordering_at_once_share_one_new_bill(edge_server: EdgeServer,
                                                        guests: list[Guest]) -> None:
    edge = edge_server
    change_plan(edge, guest_orders="kitchen")
    products = simple_products(edge)
    phones = [guest_at(edge, guests, "T6") for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda p: p[1].order([line(products[p[0]])]), enumerate(phones)))
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    bills = open_bills(edge, "T6")
    assert len(bills) == 1  # the first opened it, the others added to it
    assert sorted(x["round"] for x in bills[0]["lines"]) == [1, 2, 3, 4]
    assert sorted(x["product_id"] for x in bills[0]["lines"]) == sorted(p["id"] for p in products[:4])


def test_the_next_party_sees_none_of_the_last_partys_requests(edge_server: EdgeServer,
                                                              guests: list[Guest]) -> None:
    edge = edge_server
    change_plan(edge, guest_orders="confirm")
    products = simple_products(edge)
    first = guest_at(edge, guests, "A1")
    waiter = edge.login("cashier")
    accepted = first.order([line(products[0])]).json()["request"]["id"]
    bill = edge.call("POST", f"/api/v1/guest-requests/{accepted}/accept", waiter)["order"]
    rejected = first.order([line(products[1])]).json()["request"]["id"]
    edge.call("POST", f"/api/v1/guest-requests/{rejected}/reject", waiter, json={"reason": "habis"})
    call = first.call("waiter").json()["request"]["id"]  # nobody answers it
    assert {r["id"] for r in first.get().json()["requests"]} == {accepted, rejected, call}

    edge.call("POST", f"/api/v1/orders/{bill['id']}/void", waiter, json={"reason": "left"})
    following = guest_at(edge, guests, "A1")
    view = following.get().json()
    assert view["bill"] is None and view["requests"] == []
    fresh = following.call("waiter")
    assert fresh.status_code == 201 and fresh.json()["request"]["id"] != call
