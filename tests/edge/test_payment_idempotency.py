"""Payments with an Idempotency-Key through HTTP against a real edge: a retried payment is
answered from the first attempt (one payment, one PaymentEvent), a reused key for another
payment is a 409, keys belong to one device, and a replay still works once the order is paid."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import journal, place

CARD_10K: dict[str, Any] = {"method": "card", "amount": 10_000, "reference": "AUTH-1"}


def pay(edge: EdgeServer, order_id: str, token: str, body: dict[str, Any],
        key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return edge.request("POST", f"/api/v1/orders/{order_id}/payments", token, json=body,
                        headers=headers)


def payment_events(edge: EdgeServer, order_id: str) -> list[Any]:
    return [body.payment for _, kind, body in journal(edge)
            if kind == "payment" and body.payment.order_id == order_id]


def test_a_replayed_payment_is_recorded_once(shared_edge: EdgeServer) -> None:
    order = place(shared_edge)
    cashier, key = shared_edge.login("cashier"), str(uuid.uuid4())
    first = pay(shared_edge, order["id"], cashier, CARD_10K, key)
    assert first.status_code == 200, first.text
    # The retry of a request whose answer was lost, with the body re-encoded differently.
    replay = pay(shared_edge, order["id"], cashier, dict(reversed(CARD_10K.items())), key)
    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    assert replay.json()["paid"] == 10_000 and len(replay.json()["payments"]) == 1
    events = payment_events(shared_edge, order["id"])
    assert [e.id for e in events] == [first.json()["payments"][0]["id"]]


def test_a_reused_key_for_another_payment_is_a_409(shared_edge: EdgeServer) -> None:
    order, other_order = place(shared_edge), place(shared_edge)
    cashier, key = shared_edge.login("cashier"), str(uuid.uuid4())
    assert pay(shared_edge, order["id"], cashier, CARD_10K, key).status_code == 200
    for order_id, body in ((order["id"], {**CARD_10K, "amount": 20_000}),
                           (order["id"], {"method": "cash", "amount": 10_000}),
                           (other_order["id"], CARD_10K)):
        res = pay(shared_edge, order_id, cashier, body, key)
        assert res.status_code == 409, (order_id, body, res.text)
        error = res.json()["error"]
        assert error["code"] == "idempotency_conflict"
        assert error["details"]["order_id"] == order["id"] and error["details"]["idempotency_key"] == key
    assert shared_edge.call("GET", f"/api/v1/orders/{other_order['id']}", cashier)["payments"] == []
    assert len(payment_events(shared_edge, order["id"])) == 1


def test_the_same_key_from_another_device_is_another_payment(shared_edge: EdgeServer) -> None:
    order = place(shared_edge)
    key = str(uuid.uuid4())
    till_1 = shared_edge.login("cashier")
    till_2 = shared_edge.login_pin(shared_edge.pins["cashier"],
                                   shared_edge.pair("cashier", f"till-{key[:8]}"))
    assert pay(shared_edge, order["id"], till_1, CARD_10K, key).status_code == 200
    second = pay(shared_edge, order["id"], till_2, CARD_10K, key)
    assert second.status_code == 200, second.text
    assert second.json()["paid"] == 20_000 and len(second.json()["payments"]) == 2
    assert len(payment_events(shared_edge, order["id"])) == 2


def test_a_replay_after_full_payment_returns_the_paid_order(shared_edge: EdgeServer) -> None:
    order = place(shared_edge)
    cashier, key = shared_edge.login("cashier"), str(uuid.uuid4())
    in_full = {"method": "cash", "amount": order["total"], "tendered": order["total"] + 2_190}
    first = pay(shared_edge, order["id"], cashier, in_full, key)
    assert first.status_code == 200 and first.json()["paid"] == order["total"]
    replay = pay(shared_edge, order["id"], cashier, in_full, key)
    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    # Without the key the same request is a new payment, refused: the order is paid.
    fresh = pay(shared_edge, order["id"], cashier, in_full)
    assert fresh.status_code == 409 and fresh.json()["error"]["code"] == "invalid_state"
    assert len(payment_events(shared_edge, order["id"])) == 1


def test_concurrent_retries_with_one_key_make_one_payment(shared_edge: EdgeServer) -> None:
    order = place(shared_edge)
    cashier, key = shared_edge.login("cashier"), str(uuid.uuid4())

    def attempt(_: int) -> tuple[int, int]:
        res = pay(shared_edge, order["id"], cashier, CARD_10K, key)
        return res.status_code, len(res.json()["payments"])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(16)))
    assert set(results) == {(200, 1)}
    assert len(payment_events(shared_edge, order["id"])) == 1
