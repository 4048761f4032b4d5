"""Two (or eight) devices changing one bill at once, through real HTTP against a real edge:
rounds added in parallel all land with exact totals, a parallel replay of one key adds one
round, a double void voids once, and an edit against a stale revision is refused with the
current one."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec

from edge import bills
from shared.schemas import FloorPlan, Order, TaxConfig
from tests.edge.edge_server import EdgeServer

WATER = {"product_id": "p-air-mineral", "course": "minuman"}
KLEPON = {"product_id": "p-klepon", "course": "pencuci_mulut"}


def parallel(n: int, fn: Any) -> list[httpx.Response]:
    barrier = threading.Barrier(n)

    def run(i: int) -> httpx.Response:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_eight_rounds_at_once_all_land(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter = edge.login("cashier")
    # two devices: the cashier tablet's own token and a staff session on it
    tokens = [waiter, edge.tokens["cashier"]]
    bill = edge.call("POST", "/api/v1/tables/tbl-a7/seat", waiter, json={"covers": 6},
                     headers={"Idempotency-Key": str(uuid.uuid4())})
    path = f"/api/v1/orders/{bill['id']}/lines"

    def add(i: int) -> httpx.Response:
        body = {"lines": [dict(WATER, qty=i + 1), dict(KLEPON, hold=bool(i % 2))]}
        return edge.request("POST", path, tokens[i % 2], json=body,
                            headers={"Idempotency-Key": f"round-{i}"})

    answers = parallel(8, add)
    assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers]
    final = edge.call("GET", f"/api/v1/orders/{bill['id']}", waiter)
    assert sorted({line["round"] for line in final["lines"]}) == list(range(1, 9))
    assert len(final["lines"]) == 16
    assert sum(l["qty"] for l in final["lines"] if l["product_id"] == "p-air-mineral") == 36
    assert final["subtotal"] == 36 * 6_000 + 8 * 12_000
    tax = msgspec.convert(edge.menu()["tax"], TaxConfig)
    again = bills.reprice(msgspec.convert(final, Order), tax=tax,
                          floor=FloorPlan(service_charge_dine_in_only=False))
    assert (again.service_charge, again.tax, again.rounding, again.total) == (
        final["service_charge"], final["tax"], final["rounding"], final["total"])
    assert final["revision"] == 8
    # each round's own kitchen ticket(s), none lost
    tickets = [t for t in edge.call("GET", "/api/v1/kitchen/tickets?limit=1000", edge.tokens["kds"])["items"]
               if t["order_id"] == bill["id"]]
    assert sorted(t["round"] for t in tickets if t["course"] == "minuman") == list(range(1, 9))
    # a replay of all eight changes nothing
    replays = parallel(8, add)
    assert [r.status_code for r in replays] == [200] * 8
    assert edge.call("GET", f"/api/v1/orders/{bill['id']}", waiter)["revision"] == 8


def test_one_key_sent_twice_at_once_adds_one_round(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter = edge.login("cashier")
    bill = edge.call("POST", "/api/v1/tables/tbl-a8/seat", waiter, json={"covers": 2},
                     headers={"Idempotency-Key": str(uuid.uuid4())})
    answers = parallel(4, lambda i: edge.request(
        "POST", f"/api/v1/orders/{bill['id']}/lines", waiter, json={"lines": [WATER]},
        headers={"Idempotency-Key": "same-round"}))
    assert [r.status_code for r in answers] == [200] * 4
    final = edge.call("GET", f"/api/v1/orders/{bill['id']}", waiter)
    assert len(final["lines"]) == 1 and final["revision"] == 1


def test_a_line_voided_twice_at_once_is_voided_once(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter, cashier = edge.login("cashier"), edge.login("manager")
    bill = edge.call("POST", "/api/v1/tables/tbl-t5/seat", waiter, json={"covers": 2},
                     headers={"Idempotency-Key": str(uuid.uuid4())})
    bill = edge.call("POST", f"/api/v1/orders/{bill['id']}/lines", waiter,
                     json={"lines": [WATER, KLEPON]}, headers={"Idempotency-Key": str(uuid.uuid4())})
    line = bill["lines"][0]
    who = [waiter, cashier]
    answers = parallel(2, lambda i: edge.request(
        "POST", f"/api/v1/orders/{bill['id']}/lines/{line['id']}/void", who[i],
        json={"reason": "double tap"}, headers={"Idempotency-Key": str(uuid.uuid4())}))
    assert sorted(r.status_code for r in answers) == [200, 409]
    refused = next(r for r in answers if r.status_code == 409).json()["error"]
    assert refused["code"] == "invalid_state" and refused["details"]["state"] == "voided"
    final = edge.call("GET", f"/api/v1/orders/{bill['id']}", waiter)
    assert final["subtotal"] == 12_000 and final["revision"] == bill["revision"] + 1
    chits = [t for t in edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]
             if t["order_id"] == bill["id"] and t["lines"][0]["name"].startswith("VOID")]
    assert len(chits) == 1


def test_two_edits_against_one_revision_one_wins(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    waiter = edge.login("cashier")
    bill = edge.call("POST", "/api/v1/tables/tbl-t6/seat", waiter, json={"covers": 2},
                     headers={"Idempotency-Key": str(uuid.uuid4())})
    bill = edge.call("POST", f"/api/v1/orders/{bill['id']}/lines", waiter,
                     json={"lines": [dict(KLEPON, hold=True)]},
                     headers={"Idempotency-Key": str(uuid.uuid4())})
    line, revision = bill["lines"][0], bill["revision"]
    answers = parallel(2, lambda i: edge.request(
        "PATCH", f"/api/v1/orders/{bill['id']}/lines/{line['id']}", waiter,
        json={"qty": 2 + i}, headers={"If-Match": str(revision)}))
    assert sorted(r.status_code for r in answers) == [200, 409]
    winner = next(r for r in answers if r.status_code == 200).json()
    loser = next(r for r in answers if r.status_code == 409).json()["error"]
    assert loser["code"] == "conflict" and loser["details"]["revision"] == winner["revision"]
    final = edge.call("GET", f"/api/v1/orders/{bill['id']}", waiter)
    assert final["lines"][0]["qty"] == winner["lines"][0]["qty"]
