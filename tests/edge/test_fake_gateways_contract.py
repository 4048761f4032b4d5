"""Contract tests of the fake Midtrans and Xendit servers (demo/fake_gateways/), run as real
processes: each example request and the fields checked in its answer are written from the
gateway's public documentation (the URL is beside each example), so a fake that drifts from
the documented API fails here, not in the payment tests that rely on it."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from demo.fake_gateways import FakeGatewayProcess, free_port
from edge.payments import static_qris

MIDTRANS_KEY = "SB-Mid-server-contract"
XENDIT_KEY = "xnd_development_contract"
TOKEN = "contract-callback-token"


class Receiver:
    """A webhook endpoint: records every POST (headers and JSON body)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()},
                                       json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> tuple[dict[str, str], Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.received:
                if predicate(item[1]):
                    return item
            time.sleep(0.05)
        raise AssertionError(f"no webhook matched within {timeout} s: {self.received}")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def midtrans(receiver: Receiver) -> Iterator[FakeGatewayProcess]:
    with FakeGatewayProcess("midtrans", webhook_url=receiver.url, server_key=MIDTRANS_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def xendit(receiver: Receiver) -> Iterator[FakeGatewayProcess]:
    with FakeGatewayProcess("xendit", webhook_url=receiver.url, server_key=XENDIT_KEY,
                            callback_token=TOKEN) as fake:
        yield fake


def mt(fake: FakeGatewayProcess, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, fake.base_url + path, auth=(MIDTRANS_KEY, ""), timeout=10,
                         headers={"Accept": "application/json"}, **kwargs)


def xn(fake: FakeGatewayProcess, method: str, path: str, headers: dict[str, str] | None = None,
       **kwargs: Any) -> httpx.Response:
    return httpx.request(method, fake.base_url + path, auth=(XENDIT_KEY, ""), timeout=10,
                         headers=headers or {}, **kwargs)


# ---------------------------------------------------------------- Midtrans


def test_midtrans_qris_charge_as_documented(midtrans: FakeGatewayProcess) -> None:
    # https://docs.midtrans.com/reference-link/qris ("QRIS Charge API Request")
    example = {"payment_type": "qris",
               "transaction_details": {"order_id": "order03", "gross_amount": 275000},
               "item_details": [{"id": "id1", "price": 275000, "quantity": 1,
                                 "name": "Bluedio H+ Turbine Headphone with Bluetooth 4.1 -"}],
               "customer_details": {"first_name": "Budi", "last_name": "Utomo",
                                    "email": "budi.utomo@example.com", "phone": "081223323423"},
               "qris": {"acquirer": "gopay"}}
    res = mt(midtrans, "POST", "/v2/charge", json=example)
    assert res.status_code == 201
    body = res.json()
    # the documented response: status_code "201", "QRIS transaction is created", pending,
    # gross_amount as a decimal string, a generate-qr-code action and the qr_string
    assert body["status_code"] == "201"
    assert body["status_message"] == "QRIS transaction is created"
    assert body["transaction_status"] == "pending" and body["fraud_status"] == "accept"
    assert body["order_id"] == "order03" and body["gross_amount"] == "275000.00"
    assert body["payment_type"] == "qris" and body["currency"] == "IDR"
    assert body["acquirer"] == "gopay"
    assert body["actions"][0]["name"] == "generate-qr-code"
    fields = dict(static_qris.parse(body["qr_string"]))
    assert fields["01"] == "12" and fields["54"] == "275000"


def test_midtrans_refuses_a_used_order_id_and_a_wrong_key(midtrans: FakeGatewayProcess) -> None:
    # https://docs.midtrans.com/reference/code-4xx: 406 "Duplicate order ID", 401 access denied
    charge = {"payment_type": "qris", "transaction_details": {"order_id": "dup-1", "gross_amount": 1000}}
    assert mt(midtrans, "POST", "/v2/charge", json=charge).status_code == 201
    again = mt(midtrans, "POST", "/v2/charge", json=charge)
    assert again.status_code == 406 and again.json()["status_code"] == "406"
    wrong = httpx.post(midtrans.base_url + "/v2/charge", auth=("SB-Mid-server-wrong", ""), json=charge)
    assert wrong.status_code == 401 and wrong.json()["status_code"] == "401"
    ledger = midtrans.ledger()["charges"]
    assert len([c for c in ledger if c["order_id"] == "dup-1"]) == 1


def test_midtrans_status_unknown_order(midtrans: FakeGatewayProcess) -> None:
    # https://docs.midtrans.com/reference/get-transaction-status (GET /v2/{order_id}/status)
    res = mt(midtrans, "GET", "/v2/no-such-order/status")
    assert res.status_code == 404 and res.json()["status_code"] == "404"


def test_midtrans_signature_key_as_documented() -> None:
    # https://docs.midtrans.com/reference/receiving-notifications: the PHP example's inputs
    from demo.fake_gateways.midtrans import signature

    expected = hashlib.sha512(b"1111" + b"200" + b"100000.00"
                              + b"askvnoibnosifnboseofinbofinfgbiufglnbfg").hexdigest()
    assert signature("1111", "200", "100000.00", "askvnoibnosifnboseofinbofinfgbiufglnbfg") == expected


def test_midtrans_payment_notification(midtrans: FakeGatewayProcess, receiver: Receiver) -> None:
    # https://docs.midtrans.com/reference/handle-notifications: a POST with signature_key =
    # SHA512(order_id + status_code + gross_amount + server key); custom fields echoed
    # (https://docs.midtrans.com/reference-link/charge-transactions-1)
    charge = {"payment_type": "qris", "transaction_details": {"order_id": "notify-1", "gross_amount": 27500},
              "custom_field1": "outlet-42"}
    assert mt(midtrans, "POST", "/v2/charge", json=charge).status_code == 201
    assert httpx.post(midtrans.base_url + "/_fake/v2/notify-1/pay").status_code == 200
    _, note = receiver.wait_for(lambda b: b.get("order_id") == "notify-1"
                                and b.get("transaction_status") == "settlement")
    assert note["status_code"] == "200" and note["gross_amount"] == "27500.00"
    assert note["custom_field1"] == "outlet-42" and note["payment_type"] == "qris"
    assert note["signature_key"] == hashlib.sha512(
        f"notify-1200{note['gross_amount']}{MIDTRANS_KEY}".encode()).hexdigest()
    status = mt(midtrans, "GET", "/v2/notify-1/status").json()
    assert status["transaction_status"] == "settlement" and "settlement_time" in status


def test_midtrans_cancel_and_refund(midtrans: FakeGatewayProcess) -> None:
    # https://docs.midtrans.com/reference/cancel-api-1 ("Success, transaction is canceled")
    for order_id in ("cancel-1", "refund-1"):
        mt(midtrans, "POST", "/v2/charge", json={"payment_type": "qris", "transaction_details": {
            "order_id": order_id, "gross_amount": 10000}})
    res = mt(midtrans, "POST", "/v2/cancel-1/cancel")
    assert res.status_code == 200 and res.json()["transaction_status"] == "cancel"
    assert res.json()["status_message"] == "Success, transaction is canceled"
    httpx.post(midtrans.base_url + "/_fake/v2/refund-1/pay")
    # a settled transaction is not cancelled (412: cannot modify status), it is refunded
    assert mt(midtrans, "POST", "/v2/refund-1/cancel").status_code == 412
    # https://docs.midtrans.com/reference-link/refund-transaction: the same refund_key is the
    # same refund request
    refund = {"refund_key": "reference1", "amount": 5000, "reason": "for some reason"}
    first = mt(midtrans, "POST", "/v2/refund-1/refund", json=refund)
    again = mt(midtrans, "POST", "/v2/refund-1/refund", json=refund)
    assert first.status_code == again.status_code == 200
    assert first.json()["transaction_status"] == "partial_refund"
    assert again.json()["refund_chargeback_id"] == first.json()["refund_chargeback_id"]
    charge = next(c for c in midtrans.ledger()["charges"] if c["order_id"] == "refund-1")
    assert [r["refund_amount"] for r in charge["refunds"]] == [5000]


def test_midtrans_expiry(midtrans: FakeGatewayProcess) -> None:
    # https://docs.midtrans.com/reference-link/custom-expiry-object (unit second)
    mt(midtrans, "POST", "/v2/charge", json={
        "payment_type": "qris", "transaction_details": {"order_id": "exp-1", "gross_amount": 1000},
        "custom_expiry": {"expiry_duration": 1, "unit": "second"}})
    deadline = time.monotonic() + 10
    while mt(midtrans, "GET", "/v2/exp-1/status").json()["transaction_status"] != "expire":
        assert time.monotonic() < deadline, "the charge did not expire"
        time.sleep(0.2)
    assert mt(midtrans, "GET", "/v2/exp-1/status").json()["status_code"] == "407"


# ---------------------------------------------------------------- Xendit


QR_HEADERS = {"api-version": "2022-07-31"}


def test_xendit_create_qr_as_documented(xendit: FakeGatewayProcess) -> None:
    # https://docs.xendit.co/qr-codes/test-guideline -> create a dynamic QR (api-version
    # 2022-07-31: reference_id, type, currency, amount), then simulate its payment
    res = xn(xendit, "POST", "/qr_codes", QR_HEADERS, json={
        "reference_id": "order-id-1666420204", "type": "DYNAMIC", "currency": "IDR",
        "amount": 10000, "metadata": {"outlet_id": "outlet-7"}})
    assert res.status_code == 201
    qr = res.json()
    assert qr["id"].startswith("qr_") and qr["status"] == "ACTIVE"
    assert qr["reference_id"] == "order-id-1666420204" and qr["amount"] == 10000
    assert qr["currency"] == "IDR" and qr["type"] == "DYNAMIC" and qr["expires_at"]
    assert dict(static_qris.parse(qr["qr_string"]))["54"] == "10000"
    assert xn(xendit, "GET", f"/qr_codes/{qr['id']}").json()["status"] == "ACTIVE"


def test_xendit_errors(xendit: FakeGatewayProcess) -> None:
    # https://docs.xendit.co/api-integration (errors are {"error_code", "message"})
    no_version = xn(xendit, "POST", "/qr_codes", json={"reference_id": "nv", "type": "DYNAMIC",
                                                      "currency": "IDR", "amount": 1000})
    assert no_version.status_code == 400
    assert no_version.json()["error_code"] == "API_VALIDATION_ERROR"
    wrong = httpx.post(xendit.base_url + "/qr_codes", auth=("xnd_development_wrong", ""),
                       headers=QR_HEADERS, json={})
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "INVALID_API_KEY"
    missing = xn(xendit, "GET", "/qr_codes/qr_missing")
    assert missing.status_code == 404 and missing.json()["error_code"] == "DATA_NOT_FOUND"


def test_xendit_idempotency_key_makes_one_qr(xendit: FakeGatewayProcess) -> None:
    body = {"reference_id": "idem-1", "type": "DYNAMIC", "currency": "IDR", "amount": 5000}
    headers = {**QR_HEADERS, "Idempotency-key": "attempt-idem-1"}
    first = xn(xendit, "POST", "/qr_codes", headers, json=body)
    again = xn(xendit, "POST", "/qr_codes", headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    other = xn(xendit, "POST", "/qr_codes", headers, json={**body, "amount": 6000})
    assert other.status_code == 409
    dup = xn(xendit, "POST", "/qr_codes", QR_HEADERS, json=body)  # reference_id reused, no key
    assert dup.status_code == 409 and dup.json()["error_code"] == "DUPLICATE_ERROR"
    assert len([q for q in xendit.ledger()["qr_codes"] if q["reference_id"] == "idem-1"]) == 1


def test_xendit_simulated_payment_and_callback(xendit: FakeGatewayProcess, receiver: Receiver) -> None:
    # https://docs.xendit.co/qr-codes/test-guideline: POST /qr_codes/{id}/payments/simulate,
    # then the callback arrives with x-callback-token
    # (https://docs.xendit.co/api-integration/callback/setup)
    qr = xn(xendit, "POST", "/qr_codes", QR_HEADERS, json={
        "reference_id": "sim-1", "type": "DYNAMIC", "currency": "IDR", "amount": 15000,
        "metadata": {"outlet_id": "outlet-9"}}).json()
    paid = xn(xendit, "POST", f"/qr_codes/{qr['id']}/payments/simulate", json={"amount": 15000})
    assert paid.status_code == 200 and paid.json()["status"] == "SUCCEEDED"
    headers, note = receiver.wait_for(lambda b: b.get("event") == "qr.payment"
                                      and b["data"]["reference_id"] == "sim-1")
    assert headers["x-callback-token"] == TOKEN
    assert note["data"]["qr_id"] == qr["id"] and note["data"]["amount"] == 15000
    assert note["data"]["metadata"] == {"outlet_id": "outlet-9"}
    assert xn(xendit, "GET", f"/qr_codes/{qr['id']}").json()["status"] == "INACTIVE"
    listed = xn(xendit, "GET", f"/qr_codes/{qr['id']}/payments").json()["data"]
    assert [p["id"] for p in listed] == [paid.json()["id"]]
    again = xn(xendit, "POST", f"/qr_codes/{qr['id']}/payments/simulate", json={"amount": 15000})
    assert again.status_code == 400  # a dynamic QR is paid once


def test_xendit_ewallet_charge_as_documented(xendit: FakeGatewayProcess, receiver: Receiver) -> None:
    # https://docs.xendit.co/ewallet/integrations/test-scenarios ("Create an eWallet Charge")
    res = xn(xendit, "POST", "/ewallets/charges", json={
        "reference_id": "order-id-123", "currency": "IDR", "amount": 25000,
        "checkout_method": "ONE_TIME_PAYMENT", "channel_code": "ID_DANA",
        "channel_properties": {"success_redirect_url": "https://redirect.me/payment"}})
    assert res.status_code == 202
    charge = res.json()
    assert charge["id"].startswith("ewc_") and charge["status"] == "PENDING"
    assert charge["charge_amount"] == 25000 and charge["capture_amount"] == 25000
    assert charge["checkout_method"] == "ONE_TIME_PAYMENT" and charge["channel_code"] == "ID_DANA"
    assert charge["is_redirect_required"] is True and charge["actions"]["desktop_web_checkout_url"]
    httpx.post(f"{xendit.base_url}/_fake/ewallets/charges/{charge['id']}/pay")
    _, note = receiver.wait_for(lambda b: b.get("event") == "ewallet.capture"
                                and b["data"]["id"] == charge["id"])
    assert note["data"]["status"] == "SUCCEEDED"


def test_xendit_refund_is_idempotent(xendit: FakeGatewayProcess) -> None:
    # https://docs.xendit.co/credit-cards/refunds (reference_id, currency, amount, reason);
    # https://docs.xendit.co/apidocs/create-a-refund (refund a payment by its payment_id)
    qr = xn(xendit, "POST", "/qr_codes", QR_HEADERS, json={
        "reference_id": "rf-1", "type": "DYNAMIC", "currency": "IDR", "amount": 20000}).json()
    payment = xn(xendit, "POST", f"/qr_codes/{qr['id']}/payments/simulate", json={"amount": 20000}).json()
    body = {"reference_id": "refund-rf-1", "payment_id": payment["id"], "currency": "IDR",
            "amount": 8000, "reason": "REQUESTED_BY_CUSTOMER"}
    headers = {"Idempotency-key": "refund-rf-1"}
    first = xn(xendit, "POST", "/refunds", headers, json=body)
    again = xn(xendit, "POST", "/refunds", headers, json=body)
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "SUCCEEDED" and first.json()["id"].startswith("rfd-")
    assert again.json()["id"] == first.json()["id"]
    assert [r["amount"] for r in xendit.ledger()["refunds"] if r["payment_id"] == payment["id"]] == [8000]
    too_much = xn(xendit, "POST", "/refunds", json={**body, "reference_id": "x", "amount": 20000})
    assert too_much.status_code == 400
