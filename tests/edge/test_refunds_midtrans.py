"""A Midtrans refund settled by Midtrans's refund notification, relayed by the hub (issue 11).

Midtrans's notification names the charge but lists its refunds, each with the ``refund_key``
the box gave it (our refund id); the hub relays one "refunded" confirmation per refund
(tests/hub/test_gateways_refund_notices.py). Here, through a real edge and the fake
Midtrans: a refund left ``pending`` (its request died after Midtrans made it) and one marked
``failed`` (the answer was lost) are settled by that confirmation exactly once, however often
the feed's snapshot repeats it, and the cashier's screen gets one live frame (topic "orders",
type "refund") when each completes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from demo.fake_gateways import FakeGatewayProcess
from sync.protocol import GatewayConfirmation
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import THREE_LINES, place
from tests.edge.test_payments_gateway import configure, start_attempt, wait_for
from tests.edge.test_refunds import (
    MANAGER_PIN,
    hand_over,
    pending_refund,
    refund,
    refund_events,
    relay,
    staff_id,
    status_of,
)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("refunds-midtrans") / "edge")
    server.start()
    yield server
    server.stop()


def refund_frames(edge: EdgeServer, refund_id: str) -> list[str]:
    conn = sqlite3.connect(edge.data_dir / "edge.db")
    try:
        rows = conn.execute("SELECT data FROM live_events WHERE topic = 'orders' AND type = 'refund'"
                            " ORDER BY id").fetchall()
    finally:
        conn.close()
    return [item["status"] for item in map(json.loads, (r[0] for r in rows))
            if item["id"] == refund_id]


def as_relayed(notification: dict, refund_id: str) -> GatewayConfirmation:
    """The hub's per-refund confirmation made from Midtrans's refund notification."""
    [item] = [r for r in notification["refunds"] if r["refund_key"] == refund_id]
    return GatewayConfirmation(gateway="midtrans", gateway_order_id=item["refund_key"],
                               transaction_id=str(item["refund_chargeback_id"]),
                               status="refunded", gross_amount=int(float(item["refund_amount"])),
                               payment_type="refund", received_at=datetime.now(UTC))


def test_midtrans_refund_notifications_settle_pending_and_lost_refunds_once(
        edge: EdgeServer) -> None:
    with FakeGatewayProcess("midtrans") as midtrans:
        configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
        cashier, pin = edge.login("cashier"), edge.pins["manager"]
        order = place(edge, THREE_LINES)
        attempt = start_attempt(edge, order["id"], cashier, order["total"]).json()
        assert httpx.post(f"{midtrans.base_url}/_fake/v2/{attempt['id']}/pay").status_code == 200
        wait_for(lambda: edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["paid"],
                 "the poller to record the QRIS payment")
        order = hand_over(edge, order)
        [payment] = order["payments"]

        # 1. pending at the edge: its request reached Midtrans, then the box lost it
        waiting = pending_refund(edge, order, payment["id"], 20_000, staff_id(edge, "manager"))
        made = httpx.post(f"{midtrans.base_url}/v2/{attempt['id']}/refund", auth=(
            midtrans.server_key, ""), json={"refund_key": waiting, "amount": 20_000,
                                            "reason": "waiting"})
        assert made.status_code == 200, made.text
        notice = wait_for(lambda: next((w["payload"] for w in midtrans.ledger()["webhooks"]
                                        if w["payload"].get("refunds")), None),
                          "the fake's refund notification")
        assert notice["transaction_status"] == "partial_refund"
        relayed = as_relayed(notice, waiting)
        assert (relayed.gross_amount, relayed.gateway_order_id) == (20_000, waiting)
        for _ in range(3):  # every pull's 48-hour snapshot repeats it
            relay(edge, relayed)
        assert status_of(edge, order["id"], waiting) == ("done", relayed.transaction_id)
        assert refund_events(edge, waiting) == ["pending", "done"]
        assert refund_frames(edge, waiting) == ["done"]
        assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 20_000

        # 2. failed at the edge (Midtrans made it; the answer was lost): done, counted again
        midtrans.faults(delay_creates=0, down=True)
        body = {"method": "qris", "payment_id": payment["id"], "amount": 5_000, "reason": "lost"}
        lost = refund(edge, order["id"], cashier, body, pin=pin).json()
        midtrans.faults(down=False)
        assert lost["status"] == "failed"
        assert httpx.post(f"{midtrans.base_url}/v2/{attempt['id']}/refund", auth=(
            midtrans.server_key, ""), json={"refund_key": lost["id"], "amount": 5_000}
        ).status_code == 200
        notice = wait_for(lambda: next((w["payload"] for w in midtrans.ledger()["webhooks"]
                                        if len(w["payload"].get("refunds", [])) == 2), None),
                          "the second refund notification")
        relay(edge, as_relayed(notice, waiting), as_relayed(notice, lost["id"]))
        relay(edge, as_relayed(notice, lost["id"]))
        assert status_of(edge, order["id"], lost["id"])[0] == "done"
        assert refund_events(edge, lost["id"]) == ["pending", "failed", "done"]
        assert refund_frames(edge, lost["id"]) == ["failed", "done"]
        assert refund_frames(edge, waiting) == ["done"]  # not again
        assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 25_000
        # nothing left to retry
        assert edge.request("POST", f"/api/v1/refunds/{waiting}/retry", cashier,
                            headers={MANAGER_PIN: pin}).status_code == 409
        configure(edge, "none")
