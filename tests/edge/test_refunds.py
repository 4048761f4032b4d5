"""Refunds after hand-over through a real edge process: a manager approves (logged in, or the
manager's PIN on the cashier's session), never more than was paid (also with parallel
requests racing), exactly once per Idempotency-Key, by line or amount, in cash (the shift's
expected cash goes down) or through the gateway (a fake Midtrans: done, or failed with its
reason, then retried or refunded in cash), and the outbox carries what the hub needs."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from demo.fake_gateways import FakeGatewayProcess
from edge import refunds
from edge.auth import Principal
from edge.db import Database
from edge.sync_state import apply_feed_page
from shared.pricing import share_of
from shared.schemas import OrderEvent, RefundCreate, RefundEvent
from sync.protocol import (
    GatewayConfirmation,
    PullChange,
    PullResponse,
    confirmations_checksum,
)
from tests.edge.edge_server import EdgeServer
from tests.edge.staff_and_devices import pair, staff_login, staff_token
from tests.edge.test_orders import THREE_LINES, journal, place
from tests.edge.test_payments_gateway import configure, start_attempt, wait_for

MANAGER_PIN = "X-Manager-PIN"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("refunds") / "edge")
    server.start()
    yield server
    server.stop()


def staff_id(edge: EdgeServer, role: str, device: str = "cashier") -> str:
    return str(staff_login(edge, role, device)["staff"]["id"])


def hand_over(edge: EdgeServer, order: dict[str, Any]) -> dict[str, Any]:
    """Bump the order's tickets and complete it (it is paid already)."""
    kds = edge.tokens["kds"]
    tickets = edge.call("GET", "/api/v1/kitchen/tickets?status=pending&limit=1000", kds)["items"]
    for ticket in (t for t in tickets if t["order_id"] == order["id"]):
        edge.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kds)
    return edge.call("POST", f"/api/v1/orders/{order['id']}/complete", staff_token(edge, "cashier"))


def completed_order(edge: EdgeServer, method: str = "cash", **pay: Any) -> dict[str, Any]:
    order = place(edge)
    edge.call("POST", f"/api/v1/orders/{order['id']}/payments", staff_token(edge, "cashier"),
              json={"method": method, "amount": order["total"], **pay})
    return hand_over(edge, order)


def refund(edge: EdgeServer, order_id: str, token: str, body: dict[str, Any],
           pin: str | None = None, key: str | None = None) -> httpx.Response:
    headers = {**({MANAGER_PIN: pin} if pin else {}), **({"Idempotency-Key": key} if key else {})}
    return edge.request("POST", f"/api/v1/orders/{order_id}/refunds", token, json=body,
                        headers=headers)


def test_a_refund_needs_a_manager_and_records_who_approved(edge: EdgeServer) -> None:
    cashier = staff_token(edge, "cashier")
    manager_id, cashier_id = staff_id(edge, "manager"), staff_id(edge, "cashier")
    open_order = place(edge)
    edge.call("POST", f"/api/v1/orders/{open_order['id']}/payments", cashier,
              json={"method": "cash", "amount": open_order["total"]})
    body = {"method": "cash", "reason": "cold food"}
    # an order not handed over yet is voided, not refunded
    res = refund(edge, open_order["id"], cashier, body, pin=edge.pins["manager"])
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"

    order = completed_order(edge)
    res = refund(edge, order["id"], cashier, body)
    assert res.status_code == 403, res.text
    assert res.json()["error"]["details"]["permission"] == "orders:refund"
    # a cashier's own PIN is not a manager's
    res = refund(edge, order["id"], cashier, body, pin=edge.pins["cashier"])
    assert res.status_code == 403 and res.json()["error"]["details"] == {"approval": "manager"}
    assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 0
    # the kiosk cannot ask at all
    assert refund(edge, order["id"], edge.tokens["kiosk"], body,
                  pin=edge.pins["manager"]).status_code == 403

    res = refund(edge, order["id"], cashier, body, pin=edge.pins["manager"])
    assert res.status_code == 201, res.text
    made = res.json()
    assert (made["status"], made["method"], made["amount"]) == ("done", "cash", order["total"])
    assert made["approved_by"] == manager_id and made["staff_id"] == cashier_id
    after = edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)
    assert (after["status"], after["refunded"], after["paid"]) == (
        "completed", order["total"], order["total"])
    # nothing is left to refund
    again = refund(edge, order["id"], staff_token(edge, "manager"), body)
    assert again.status_code == 409
    # a manager logged in approves by themselves
    other = completed_order(edge)
    res = refund(edge, other["id"], staff_token(edge, "manager"), {**body, "amount": 1_000})
    assert res.status_code == 201 and res.json()["approved_by"] == manager_id
    # the outbox carries the refund and the order's new refunded figure
    events = [b for _, _, b in journal(edge)]
    refunds = [b.refund for b in events if isinstance(b, RefundEvent)
               and b.refund.order_id == order["id"]]
    assert [(r.id, r.approved_by, r.amount) for r in refunds] == [
        (made["id"], manager_id, order["total"])]
    last = [b.order for b in events if isinstance(b, OrderEvent) and b.order.id == order["id"]][-1]
    assert last.refunded == order["total"]


def test_refunds_by_line_and_amount_never_exceed_what_was_paid(edge: EdgeServer) -> None:
    manager = staff_token(edge, "manager")
    order = completed_order(edge)
    lines = order["lines"]
    nets = sum(line["line_total"] for line in lines)
    fried_rice = lines[0]  # 2 units
    res = refund(edge, order["id"], manager, {"reason": "one plate burnt",
                                              "lines": [{"line_id": fried_rice["id"], "qty": 1}]})
    assert res.status_code == 201, res.text
    first = res.json()
    expected = share_of(order["total"], fried_rice["line_total"] * 1, nets * fried_rice["qty"])
    assert first["amount"] == expected and first["lines"] == [
        {"line_id": fried_rice["id"], "qty": 1, "amount": expected}]
    # the line has one unit left
    res = refund(edge, order["id"], manager, {"reason": "x",
                                              "lines": [{"line_id": fried_rice["id"], "qty": 2}]})
    assert res.status_code == 400 and res.json()["error"]["details"]["left"] == 1
    res = refund(edge, order["id"], manager, {"reason": "x", "lines": [{"line_id": "nope"}]})
    assert res.status_code == 400
    left = order["total"] - expected
    res = refund(edge, order["id"], manager, {"reason": "x", "amount": left + 1})
    assert res.status_code == 400 and res.json()["error"]["details"]["refundable"] == left
    # the rest, with no amount and no lines
    res = refund(edge, order["id"], manager, {"reason": "customer unhappy"})
    assert res.status_code == 201 and res.json()["amount"] == left
    refunds = edge.call("GET", f"/api/v1/orders/{order['id']}/refunds", manager)["items"]
    assert sum(r["amount"] for r in refunds) == order["total"]


def test_parallel_refunds_cannot_give_back_more_than_was_paid(edge: EdgeServer) -> None:
    cashier = staff_token(edge, "cashier")
    order = completed_order(edge)
    part = order["total"] * 3 // 10  # three fit, the fourth does not

    def ask(_: int) -> httpx.Response:
        return refund(edge, order["id"], cashier, {"reason": "race", "amount": part},
                      pin=edge.pins["manager"], key=str(uuid.uuid4()))

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(8)))
    codes = sorted(r.status_code for r in answers)
    # 201 x 3; the rest refused for lack of room (400), or 429 when the PIN checks of the
    # burst hit the login throttle's in-flight limit: never a fourth refund
    assert codes.count(201) == 3, [(r.status_code, r.text[:120]) for r in answers]
    assert all(c in (400, 429) for c in codes if c != 201)
    after = edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)
    assert after["refunded"] == 3 * part <= after["paid"]
    items = edge.call("GET", f"/api/v1/orders/{order['id']}/refunds", cashier)["items"]
    assert sum(r["amount"] for r in items) == 3 * part


def test_a_refund_is_made_once_per_idempotency_key(edge: EdgeServer) -> None:
    manager = staff_token(edge, "manager")
    order = completed_order(edge)
    body = {"reason": "double charge", "amount": 5_000}
    key = str(uuid.uuid4())
    first = refund(edge, order["id"], manager, body, key=key)
    second = refund(edge, order["id"], manager, body, key=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    other = refund(edge, order["id"], manager, {**body, "amount": 6_000}, key=key)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    assert edge.call("GET", f"/api/v1/orders/{order['id']}", manager)["refunded"] == 5_000


def test_cash_refunds_come_out_of_the_shift_drawer(edge: EdgeServer) -> None:
    device = pair(edge, "cashier", "till-refund")
    cashier = edge.login_pin(edge.pins["cashier"], device)
    shift = edge.call("POST", "/api/v1/shifts", cashier, json={"opening_float": 200_000})
    order = place(edge)
    edge.call("POST", f"/api/v1/orders/{order['id']}/payments", cashier,
              json={"method": "cash", "amount": order["total"]})
    order = hand_over(edge, order)
    card = completed_order(edge, "card", reference="EDC-1")
    res = refund(edge, order["id"], cashier, {"reason": "wrong item", "amount": 12_000},
                 pin=edge.pins["manager"])
    assert res.status_code == 201 and res.json()["shift_id"] == shift["id"]
    # a card refund is done on the terminal: recorded, the drawer is not touched
    res = refund(edge, card["id"], cashier, {"method": "card", "reason": "x", "amount": 3_000},
                 pin=edge.pins["manager"])
    assert res.status_code == 201 and res.json()["status"] == "done"
    report = edge.call("GET", f"/api/v1/shifts/{shift['id']}/report", cashier)
    assert report["cash_sales"] == order["total"] and report["cash_refunds"] == 12_000
    assert report["expected_cash"] == 200_000 + order["total"] - 12_000


def test_a_gateway_refund_goes_through_midtrans_or_fails_with_its_reason(
        edge: EdgeServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    with FakeGatewayProcess("midtrans") as midtrans:
        configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
        cashier = staff_token(edge, "cashier")
        order = place(edge, THREE_LINES)
        attempt = start_attempt(edge, order["id"], cashier, order["total"]).json()
        assert httpx.post(f"{midtrans.base_url}/_fake/v2/{attempt['id']}/pay").status_code == 200
        wait_for(lambda: edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["paid"],
                 "the poller to record the QRIS payment")
        order = hand_over(edge, order)
        [payment] = order["payments"]
        assert payment["gateway"] == "midtrans"

        body = {"method": "qris", "payment_id": payment["id"], "amount": 10_000,
                "reason": "missing drink"}
        res = refund(edge, order["id"], cashier, body, pin=edge.pins["manager"])
        assert res.status_code == 201, res.text
        done = res.json()
        assert (done["status"], done["gateway"]) == ("done", "midtrans")
        charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == attempt["id"])
        assert [(r["refund_key"], r["refund_amount"]) for r in charge["refunds"]] == [
            (done["id"], 10_000)]

        midtrans.faults(down=True)
        res = refund(edge, order["id"], cashier, {**body, "amount": 20_000},
                     pin=edge.pins["manager"])
        failed = res.json()
        assert res.status_code == 201 and failed["status"] == "failed" and failed["error"]
        # a failed refund gives its amount back: only the first one counts
        assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 10_000
        midtrans.faults(down=False)
        retried = edge.call("POST", f"/api/v1/refunds/{failed['id']}/retry", cashier,
                            headers={MANAGER_PIN: edge.pins["manager"]})
        assert retried["status"] == "done" and retried["id"] == failed["id"]
        charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == attempt["id"])
        assert sum(r["refund_amount"] for r in charge["refunds"]) == 30_000
        # the rest in cash; a static QR or cash payment cannot go back through a gateway
        res = refund(edge, order["id"], cashier, {"method": "cash", "reason": "rest"},
                     pin=edge.pins["manager"])
        assert res.status_code == 201 and res.json()["amount"] == order["total"] - 30_000
        cash_order = completed_order(edge)
        res = refund(edge, cash_order["id"], cashier,
                     {**body, "payment_id": cash_order["payments"][0]["id"]},
                     pin=edge.pins["manager"])
        assert res.status_code == 400
        configure(edge, "none")


def refund_events(edge: EdgeServer, refund_id: str) -> list[str]:
    return [b.refund.status for _, _, b in journal(edge)
            if isinstance(b, RefundEvent) and b.refund.id == refund_id]


_cursors = itertools.count(10_001)  # feed positions for the pages relayed below


def relay(edge: EdgeServer, *items: GatewayConfirmation) -> None:
    """One page of the hub's feed with a "confirmations" snapshot, applied as sync.pull does
    (``edge.sync_state.apply_feed_page``, one transaction), on the running edge's database."""
    cursor = next(_cursors)
    page = PullResponse(cursor=cursor, changes=[PullChange(
        cursor=cursor, kind="confirmations", version=cursor,
        checksum=confirmations_checksum(list(items)), confirmations=list(items))])
    db = Database(edge.data_dir / "edge.db")
    try:
        db.write_blocking(lambda conn: apply_feed_page(conn, page))
    finally:
        db.close()


def refunded(refund_id: str, amount: int, status: str = "refunded") -> GatewayConfirmation:
    """Xendit's refund callback as the hub relays it: it names our refund (its reference_id)."""
    return GatewayConfirmation(gateway="xendit", gateway_order_id=refund_id,
                               transaction_id=f"rfd-{refund_id[-12:]}", status=status,
                               gross_amount=amount, payment_type="refund.succeeded",
                               received_at=datetime.now(UTC))


def pending_refund(edge: EdgeServer, order: dict[str, Any], payment_id: str, amount: int,
                   manager_id: str) -> str:
    """A gateway refund as the edge writes it before asking the gateway (reserving its amount),
    and as it stays when the gateway answers "pending" (Xendit settles some refunds later)."""
    db = Database(edge.data_dir / "edge.db")
    who = Principal(device_id="test-till", device_role="cashier", staff_id=manager_id)
    try:
        made, _ = db.write_blocking(lambda conn: refunds.begin(
            conn, order["id"], RefundCreate(method="qris", payment_id=payment_id, amount=amount,
                                            reason="waiting for xendit"),
            principal=who, approved_by=manager_id, now=datetime.now(UTC)))
    finally:
        db.close()
    assert made.status == "pending"
    return made.id


def test_a_pending_xendit_refund_is_settled_once_by_the_relayed_refund_callback(
        edge: EdgeServer) -> None:
    with FakeGatewayProcess("xendit") as xendit:
        configure(edge, "xendit", xendit.base_url, xendit.server_key)
        cashier, pin = staff_token(edge, "cashier"), edge.pins["manager"]
        manager_id = staff_id(edge, "manager")
        order = place(edge, THREE_LINES)
        attempt = start_attempt(edge, order["id"], cashier, order["total"]).json()
        qr = next(q for q in xendit.ledger()["qr_codes"] if q["reference_id"] == attempt["id"])
        assert httpx.post(f"{xendit.base_url}/_fake/qr_codes/{qr['id']}/pay").status_code == 200
        wait_for(lambda: edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["paid"],
                 "the poller to record the QRIS payment")
        order = hand_over(edge, order)
        [payment] = order["payments"]

        # A refund through Xendit names our refund and the outlet: its callback carries both
        # back (reference_id, metadata.outlet_id), which is how the hub routes it here.
        body = {"method": "qris", "payment_id": payment["id"], "reason": "missing drink"}
        first = refund(edge, order["id"], cashier, {**body, "amount": 10_000}, pin=pin).json()
        assert first["status"] == "done"
        [callback] = [w["payload"]["data"] for w in xendit.ledger()["webhooks"]
                      if w["payload"]["event"] == "refund.succeeded"]
        assert callback["reference_id"] == first["id"]
        assert callback["metadata"]["outlet_id"] == qr["metadata"]["outlet_id"] != ""

        # Pending at the gateway: the relayed "refunded" makes it done, once, however often the
        # 48-hour snapshot repeats it; a wrong amount or another gateway changes nothing.
        waiting = pending_refund(edge, order, payment["id"], 20_000, manager_id)
        relay(edge, refunded(waiting, 19_999),
              msgspec.structs.replace(refunded(waiting, 20_000), gateway="midtrans"))
        assert status_of(edge, order["id"], waiting) == ("pending", "")
        relay(edge, refunded(waiting, 20_000), refunded(waiting, 20_000))
        relay(edge, refunded(waiting, 20_000), refunded(waiting, 20_000, "failed"))
        assert status_of(edge, order["id"], waiting) == ("done", refunded(waiting, 1).transaction_id)
        assert refund_events(edge, waiting) == ["pending", "done"]
        assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 30_000
        # a retry has nothing left to do
        res = edge.request("POST", f"/api/v1/refunds/{waiting}/retry", cashier,
                           headers={MANAGER_PIN: pin})
        assert res.status_code == 409

        # Xendit's refund.failed ends a pending refund and gives its amount back
        lost = pending_refund(edge, order, payment["id"], 5_000, manager_id)
        assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 35_000
        relay(edge, refunded(lost, 5_000, "failed"), refunded(lost, 5_000, "failed"))
        assert status_of(edge, order["id"], lost)[0] == "failed"
        assert refund_events(edge, lost) == ["pending", "failed"]
        assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 30_000

        # Marked failed when the answer was lost, but the gateway did refund it: done, and
        # its amount counted again
        xendit.faults(down=True)
        gone = refund(edge, order["id"], cashier, {**body, "amount": 7_000}, pin=pin).json()
        xendit.faults(down=False)
        assert gone["status"] == "failed"
        relay(edge, refunded(gone["id"], 7_000))
        relay(edge, refunded(gone["id"], 7_000))
        assert status_of(edge, order["id"], gone["id"])[0] == "done"
        assert refund_events(edge, gone["id"]) == ["pending", "failed", "done"]
        assert edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["refunded"] == 37_000
        configure(edge, "none")


def status_of(edge: EdgeServer, order_id: str, refund_id: str) -> tuple[str, str]:
    found = edge.call("GET", f"/api/v1/orders/{order_id}/refunds", staff_token(edge, "manager"))["items"]
    item = next(r for r in found if r["id"] == refund_id)
    return item["status"], item["gateway_refund_id"]
