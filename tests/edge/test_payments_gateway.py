"""QRIS payment attempts through a real edge process and real fake-gateway processes
(demo/fake_gateways): the order is paid exactly once whatever confirms it (the poller, a
relayed confirmation, duplicates, out of order, late), a create whose reply was lost makes
one gateway charge, an expired kiosk QR cancels the unpaid order before the kitchen sees it.

The relayed-webhook path (the pull feed's "confirmations" kind) is driven here the way the
sync engine will drive it: ``attempts.apply_feed_confirmations`` in a write transaction on
the running edge's database, from this process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from demo.fake_gateways import FakeGatewayProcess
from edge import cli as edge_cli
from edge.db import Database
from edge.payments import attempts, static_qris
from edge.payments.__main__ import main as payments_cli
from shared.schemas import PaymentAttemptEvent
from tests.cli_in_process import run_main
from tests.edge.edge_server import REPO, EdgeServer
from tests.edge.staff_and_devices import pair, staff_token
from tests.edge.test_orders import journal, place


def _configure_args(edge: EdgeServer, provider: str, base_url: str, server_key: str,
                    *extra: str) -> list[str]:
    return ["configure", "--data-dir", str(edge.data_dir), "--provider", provider,
            "--api-base-url", base_url, "--server-key", server_key, *extra]


def configure(edge: EdgeServer, provider: str, base_url: str = "", server_key: str = "",
              *extra: str) -> None:
    """``python -m edge.payments configure`` for ``edge``, run in this process: the same main,
    without a Python start for each of the many gateway changes of these tests (the first
    test runs the command as a process)."""
    done = run_main(payments_cli, _configure_args(edge, provider, base_url, server_key, *extra),
                    env=os.environ)
    assert done.returncode == 0, done.stderr


def configure_as_a_process(edge: EdgeServer, provider: str, base_url: str = "",
                           server_key: str = "") -> None:
    subprocess.run([sys.executable, "-m", "edge.payments",
                    *_configure_args(edge, provider, base_url, server_key)], check=True,
                   cwd=REPO, capture_output=True)


def start_attempt(edge: EdgeServer, order_id: str, token: str, amount: int,
                  key: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return edge.request("POST", f"/api/v1/orders/{order_id}/payment-attempts", token,
                        json={"method": "qris", "amount": amount, **body}, headers=headers)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy (generous bound: the edge polls the
    gateway every 1-10 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"waited {timeout} s for {what}")


def payment_events(edge: EdgeServer, order_id: str) -> list[Any]:
    return [body.payment for _, kind, body in journal(edge)
            if kind == "payment" and body.payment.order_id == order_id]


def attempt_events(edge: EdgeServer, attempt_id: str) -> list[Any]:
    return [body.attempt for _, _, body in journal(edge)
            if isinstance(body, PaymentAttemptEvent) and body.attempt.id == attempt_id]


def live_frames(edge: EdgeServer, attempt_id: str, order_id: str) -> list[tuple[str, str]]:
    """(type, status) of the live events about this attempt and its order, oldest first."""
    conn = sqlite3.connect(edge.data_dir / "edge.db")
    try:
        rows = conn.execute("SELECT type, data FROM live_events WHERE topic = 'orders'"
                            " ORDER BY id").fetchall()
    finally:
        conn.close()
    found = []
    for kind, data in rows:
        item = json.loads(data)
        if item.get("id") in (attempt_id, order_id) and kind in ("payment_attempt", "order.status"):
            found.append((kind, item["status"]))
    return found


def relay(edge: EdgeServer, *confirmations: dict[str, Any]) -> int:
    """Apply confirmations as the pull feed's "confirmations" kind does."""

    class Confirmation(msgspec.Struct):
        gateway: str
        gateway_order_id: str
        status: str
        gross_amount: int
        transaction_id: str = ""

    items = [Confirmation(**c) for c in confirmations]
    db = Database(edge.data_dir / "edge.db")
    try:
        return db.write_blocking(lambda conn: attempts.apply_feed_confirmations(
            conn, items, datetime.now(UTC)))
    finally:
        db.close()


@pytest.fixture(scope="module")
def xendit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGatewayProcess]:
    with FakeGatewayProcess("xendit", log_path=tmp_path_factory.mktemp("xendit") / "x.log") as fake:
        yield fake


@pytest.fixture(scope="module")
def midtrans() -> Iterator[FakeGatewayProcess]:
    with FakeGatewayProcess("midtrans") as fake:
        yield fake


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """A demo edge whose kitchen trigger is "payment" (kiosk orders wait for their money):
    the copied demo template, set as ``pos-edge outlet --kitchen-trigger payment`` does."""
    server = EdgeServer(tmp_path_factory.mktemp("pay") / "edge")
    done = run_main(edge_cli.main, ["outlet", "--data-dir", str(server.data_dir),
                                    "--kitchen-trigger", "payment"], env=os.environ)
    assert done.returncode == 0 and "kitchen trigger payment" in done.stdout, done.stderr
    server.start()
    yield server
    server.stop()


def qr_of(fake: FakeGatewayProcess, attempt_id: str) -> dict[str, Any]:
    found = [q for q in fake.ledger()["qr_codes"] if q["reference_id"] == attempt_id]
    assert len(found) == 1, found
    return found[0]


def order_of(edge: EdgeServer, order_id: str) -> dict[str, Any]:
    return edge.call("GET", f"/api/v1/orders/{order_id}", edge.tokens["kiosk"])


def test_kiosk_qris_paid_once_by_the_poller(edge: EdgeServer, xendit: FakeGatewayProcess) -> None:
    configure_as_a_process(edge, "xendit", xendit.base_url, xendit.server_key)
    order = place(edge)
    assert order["status"] == "placed"  # kitchen trigger "payment": not cooked yet
    res = start_attempt(edge, order["id"], edge.tokens["kiosk"], order["total"])
    assert res.status_code == 201, res.text
    attempt = res.json()
    assert attempt["mode"] == "gateway" and attempt["gateway"] == "xendit"
    assert attempt["gateway_order_id"] == attempt["id"] and attempt["status"] == "pending"
    assert attempt["qr_svg"].startswith("<svg")
    assert dict(static_qris.parse(attempt["qr_string"]))["54"] == str(order["total"])
    qr = qr_of(xendit, attempt["id"])
    assert qr["metadata"]["attempt_id"] == attempt["id"] and qr["metadata"]["outlet_id"]
    assert order_of(edge, order["id"])["status"] == "placed"

    assert httpx.post(f"{xendit.base_url}/_fake/qr_codes/{qr['id']}/pay").status_code == 200
    paid = wait_for(lambda: (o := order_of(edge, order["id"]))["paid"] and o, "the poller")
    assert paid["status"] == "in_kitchen" and paid["paid"] == order["total"]
    [payment] = paid["payments"]
    assert payment["attempt_id"] == attempt["id"] and payment["gateway"] == "xendit"
    assert payment["verified"] is True and payment["method"] == "qris"
    done = edge.call("GET", f"/api/v1/payment-attempts/{attempt['id']}", edge.tokens["kiosk"])
    assert done["status"] == "paid" and done["payment_id"] == payment["id"] and not done["late"]

    # the webhook relayed by the hub arrives after the poll, twice, and out of order
    confirmation = {"gateway": "xendit", "gateway_order_id": attempt["id"], "status": "paid",
                    "gross_amount": order["total"], "transaction_id": "qrpy_x"}
    assert relay(edge, confirmation, confirmation,
                 {**confirmation, "status": "expired", "gross_amount": 0}) == 3
    time.sleep(2.5)  # two more poller rounds
    after = order_of(edge, order["id"])
    assert [p["id"] for p in after["payments"]] == [payment["id"]]
    assert [p.id for p in payment_events(edge, order["id"])] == [payment["id"]]
    assert [a.status for a in attempt_events(edge, attempt["id"])] == ["pending", "paid"]
    # the screens' live frames: the attempt as it changed, and the order moving when paid
    # (published in the payment's transaction, just before the attempt's frame)
    frames = live_frames(edge, attempt["id"], order["id"])
    assert frames == [("order.status", "placed"), ("payment_attempt", "pending"),
                      ("order.status", "in_kitchen"), ("payment_attempt", "paid")]


def test_relayed_confirmation_wins_the_race_with_the_poller(edge: EdgeServer,
                                                            midtrans: FakeGatewayProcess) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    cashier = staff_token(edge, "cashier")
    order = place(edge)
    attempt = start_attempt(edge, order["id"], cashier, order["total"]).json()
    assert attempt["gateway"] == "midtrans"
    charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == attempt["id"])
    assert charge["custom_field1"]  # the outlet id, for the hub to route the webhook
    httpx.post(f"{midtrans.base_url}/_fake/v2/{attempt['id']}/pay")
    # the webhook (relayed by the hub) and the poll race: both applied, one payment
    relay(edge, {"gateway": "midtrans", "gateway_order_id": attempt["id"], "status": "paid",
                 "gross_amount": order["total"], "transaction_id": charge["transaction_id"]})
    paid = wait_for(lambda: (o := order_of(edge, order["id"]))["paid"] and o, "the payment")
    time.sleep(2.5)
    assert len(order_of(edge, order["id"])["payments"]) == 1
    assert len(payment_events(edge, order["id"])) == 1
    assert paid["payments"][0]["gateway"] == "midtrans"


def test_wrong_amount_or_unknown_order_records_nothing(edge: EdgeServer,
                                                       midtrans: FakeGatewayProcess) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    cashier = staff_token(edge, "cashier")
    order = place(edge)
    attempt = start_attempt(edge, order["id"], cashier, order["total"]).json()
    assert relay(edge, {"gateway": "midtrans", "gateway_order_id": attempt["id"], "status": "paid",
                        "gross_amount": order["total"] - 1}) == 1
    assert relay(edge, {"gateway": "midtrans", "gateway_order_id": str(uuid.uuid4()),
                        "status": "paid", "gross_amount": 1000},
                 {"gateway": "xendit", "gateway_order_id": attempt["id"], "status": "paid",
                  "gross_amount": order["total"]}) == 0
    assert order_of(edge, order["id"])["payments"] == []
    res = edge.request("POST", f"/api/v1/payment-attempts/{attempt['id']}/cancel", cashier)
    assert res.status_code == 200 and res.json()["status"] == "cancelled"
    # the gateway voided it too: it can no longer be paid there
    assert httpx.post(f"{midtrans.base_url}/_fake/v2/{attempt['id']}/pay").status_code == 412


def test_money_for_a_voided_order_is_recorded_and_flagged_late(edge: EdgeServer,
                                                               xendit: FakeGatewayProcess) -> None:
    configure(edge, "xendit", xendit.base_url, xendit.server_key)
    cashier = staff_token(edge, "cashier")
    order = place(edge)
    attempt = start_attempt(edge, order["id"], cashier, order["total"]).json()
    voided = edge.call("POST", f"/api/v1/orders/{order['id']}/void", cashier,
                       json={"reason": "customer left"})
    assert voided["status"] == "voided"
    # the customer had scanned already: the money arrives after the void
    qr = qr_of(xendit, attempt["id"])
    httpx.post(f"{xendit.base_url}/_fake/qr_codes/{qr['id']}/pay")
    late = wait_for(lambda: (a := edge.call("GET", f"/api/v1/payment-attempts/{attempt['id']}",
                                            cashier))["status"] == "paid" and a, "the late payment")
    assert late["late"] is True and late["payment_id"]
    after = order_of(edge, order["id"])
    assert after["status"] == "voided" and after["paid"] == order["total"]
    assert [p["id"] for p in after["payments"]] == [late["payment_id"]]
    relay(edge, {"gateway": "xendit", "gateway_order_id": attempt["id"], "status": "paid",
                 "gross_amount": order["total"]})
    assert len(payment_events(edge, order["id"])) == 1


def test_lost_reply_on_create_makes_one_gateway_charge(edge: EdgeServer,
                                                       xendit: FakeGatewayProcess) -> None:
    configure(edge, "xendit", xendit.base_url, xendit.server_key)
    cashier = staff_token(edge, "cashier")
    order = place(edge)
    # the gateway makes the charge, then its reply is lost (it outlasts the edge's 5 s timeout)
    xendit.faults(delay_creates=1, delay_seconds=7)
    key = str(uuid.uuid4())
    res = start_attempt(edge, order["id"], cashier, order["total"], key)
    assert res.status_code == 201, res.text
    attempt = res.json()
    qr = qr_of(xendit, attempt["id"])  # exactly one QR with this reference
    assert attempt["qr_string"] == qr["qr_string"]
    assert xendit.ledger()["requests"]["POST /qr_codes"] >= 2  # it was asked again
    # and the screen's own retry (its reply lost too) answers the same attempt
    again = start_attempt(edge, order["id"], cashier, order["total"], key)
    assert again.status_code == 200 and again.json()["id"] == attempt["id"]
    qr_of(xendit, attempt["id"])
    other = start_attempt(edge, order["id"], cashier, order["total"] - 1, key)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"


def test_one_open_qr_per_order_and_who_may_ask(edge: EdgeServer, xendit: FakeGatewayProcess) -> None:
    configure(edge, "xendit", xendit.base_url, xendit.server_key)
    order = place(edge)
    other_kiosk = pair(edge, "kiosk", f"kiosk-{uuid.uuid4().hex[:6]}")
    refused = start_attempt(edge, order["id"], other_kiosk, order["total"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    # a cashier tablet with nobody logged in takes no payments either
    assert start_attempt(edge, order["id"], edge.tokens["cashier"], order["total"]).status_code == 403
    assert start_attempt(edge, order["id"], edge.tokens["kiosk"], order["total"] + 1).status_code == 400
    first = start_attempt(edge, order["id"], edge.tokens["kiosk"], order["total"])
    assert first.status_code == 201
    second = start_attempt(edge, order["id"], edge.tokens["kiosk"], order["total"])
    assert second.status_code == 409 and second.json()["error"]["details"]["attempt_id"] == first.json()["id"]
    assert edge.request("GET", f"/api/v1/payment-attempts/{first.json()['id']}",
                        other_kiosk).status_code == 403
    bad = edge.request("POST", f"/api/v1/orders/{order['id']}/payment-attempts",
                       edge.tokens["kiosk"], json={"method": "qris", "amount": "10"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_failed"
    settings = edge.call("GET", "/api/v1/payments/settings", edge.tokens["kiosk"])
    assert settings["provider"] == "xendit" and "server_key" not in settings
    assert xendit.server_key not in edge.log()


def test_expired_kiosk_qr_cancels_the_unpaid_order(edge: EdgeServer, xendit: FakeGatewayProcess) -> None:
    configure(edge, "xendit", xendit.base_url, xendit.server_key, "--qr-expiry-seconds", "10")
    order = place(edge)
    attempt = start_attempt(edge, order["id"], edge.tokens["kiosk"], order["total"]).json()
    cancelled = wait_for(lambda: (o := order_of(edge, order["id"]))["status"] == "cancelled" and o,
                         "the kiosk order to be cancelled", timeout=45)
    assert cancelled["paid"] == 0
    expired = edge.call("GET", f"/api/v1/payment-attempts/{attempt['id']}", edge.tokens["kiosk"])
    assert expired["status"] == "expired"
    kitchen = edge.call("GET", "/api/v1/kitchen/tickets", staff_token(edge, "kitchen"))
    tickets = kitchen["items"] if isinstance(kitchen, dict) else kitchen
    assert all(t["order_id"] != order["id"] for t in tickets)  # never cooked


def test_midtrans_lost_reply_is_cancelled_never_charged_twice(edge: EdgeServer,
                                                              midtrans: FakeGatewayProcess) -> None:
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    cashier = staff_token(edge, "cashier")
    order = place(edge)
    midtrans.faults(delay_creates=1, delay_seconds=7)
    res = start_attempt(edge, order["id"], cashier, order["total"])
    # Midtrans refuses the retried order id (406) and cannot give the QR again: the charge it
    # made is cancelled (nobody saw its QR) and the cashier is told to start a new QR
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "rejected" and error["details"]["gateway_code"] == "406"
    attempt_id = error["details"]["attempt_id"]
    charges = [c for c in midtrans.ledger()["charges"] if c["order_id"] == attempt_id]
    assert [c["transaction_status"] for c in charges] == ["cancel"]
    assert edge.call("GET", f"/api/v1/payment-attempts/{attempt_id}", cashier)["status"] == "failed"
    retry = start_attempt(edge, order["id"], cashier, order["total"])
    assert retry.status_code == 201 and retry.json()["id"] != attempt_id


def cancel_attempt(edge: EdgeServer, attempt_id: str, token: str,
                   body: dict[str, Any] | None = None) -> httpx.Response:
    return edge.request("POST", f"/api/v1/payment-attempts/{attempt_id}/cancel", token,
                        **({"json": body} if body is not None else {}))


def test_a_kiosk_leaving_its_qr_cancels_its_unpaid_order_never_cooked(
        edge: EdgeServer, midtrans: FakeGatewayProcess) -> None:
    """Start over / idle at the kiosk: the QR and its unpaid kiosk order end together (the
    cashier is not left an order nobody will come for); "pay at the counter" keeps it."""
    configure(edge, "midtrans", midtrans.base_url, midtrans.server_key)
    kiosk, cashier = edge.tokens["kiosk"], staff_token(edge, "cashier")
    order = place(edge)
    attempt = start_attempt(edge, order["id"], kiosk, order["total"]).json()
    # only the kiosk that placed the order may ask: staff void, another kiosk sees nothing
    other_kiosk = pair(edge, "kiosk", f"kiosk-{uuid.uuid4().hex[:6]}")
    assert cancel_attempt(edge, attempt["id"], other_kiosk, {"cancel_order": True}).status_code == 403
    refused = cancel_attempt(edge, attempt["id"], cashier, {"cancel_order": True})
    assert refused.status_code == 403 and refused.json()["error"]["details"] == {"field": "cancel_order"}
    bad = cancel_attempt(edge, attempt["id"], kiosk, {"cancel_order": "yes"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_failed"
    assert order_of(edge, order["id"])["status"] == "placed"
    assert edge.call("GET", f"/api/v1/payment-attempts/{attempt['id']}", kiosk)["status"] == "pending"

    res = cancel_attempt(edge, attempt["id"], kiosk, {"cancel_order": True})
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "cancelled"
    cancelled = order_of(edge, order["id"])
    assert (cancelled["status"], cancelled["paid"]) == ("cancelled", 0)
    assert cancelled["void_reason"] == "kiosk customer left before paying"
    charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == attempt["id"])
    assert charge["transaction_status"] == "cancel"  # voided at the gateway too
    # both facts reach the hub: the attempt cancelled and the order cancelled, once each
    events = journal(edge)
    assert [a.status for a in attempt_events(edge, attempt["id"])] == ["pending", "cancelled"]
    assert [b.order.status for _, kind, b in events
            if kind == "order" and b.order.id == order["id"]] == ["placed", "cancelled"]
    # a retried cancel (its answer lost) changes nothing more
    again = cancel_attempt(edge, attempt["id"], kiosk, {"cancel_order": True})
    assert again.status_code == 200 and len(journal(edge)) == len(events)
    kitchen = edge.call("GET", "/api/v1/kitchen/tickets", staff_token(edge, "kitchen"))
    tickets = kitchen["items"] if isinstance(kitchen, dict) else kitchen
    assert all(t["order_id"] != order["id"] for t in tickets)  # never cooked

    # "pay at the counter instead": the QR ends, the order waits for the cashier
    counter = place(edge)
    attempt = start_attempt(edge, counter["id"], kiosk, counter["total"]).json()
    res = cancel_attempt(edge, attempt["id"], kiosk)
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "cancelled"
    assert order_of(edge, counter["id"])["status"] == "placed"

    # part paid at the till meanwhile: the kiosk leaving its QR cancels nothing else
    part = place(edge)
    edge.call("POST", f"/api/v1/orders/{part['id']}/payments", cashier,
              json={"method": "cash", "amount": 10_000})
    attempt = start_attempt(edge, part["id"], kiosk, part["total"] - 10_000).json()
    assert cancel_attempt(edge, attempt["id"], kiosk, {"cancel_order": True}).status_code == 200
    kept = order_of(edge, part["id"])
    assert kept["status"] == "placed" and kept["paid"] == 10_000
