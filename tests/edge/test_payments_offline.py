"""Offline QRIS through a real edge: when the gateway cannot be reached, the attempt falls
back to the outlet's static QRIS with the amount injected (``mode: "static"``), the cashier
confirms it by eye and the payment is recorded unverified; without a static QRIS the answer
is a clear 503."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.fake_gateways import FakeGatewayProcess, free_port
from edge.payments import static_qris
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import place
from tests.edge.test_payments_gateway import configure, order_of, start_attempt

# The merchant's printed QRIS (static: tag 01 = 11, no amount), built for the test.
STATIC = static_qris.emv_payload([
    ("00", "01"), ("01", "11"),
    ("26", [("00", "ID.CO.QRIS.WWW"), ("01", "936009140000000001"), ("02", "ID1020017611473"),
            ("03", "UMI")]),
    ("52", "5812"), ("53", "360"), ("55", "01"), ("58", "ID"), ("59", "KOPI NUSANTARA"),
    ("60", "JAKARTA"), ("61", "10110")])


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("offline") / "edge",
                        init_args=("--kitchen-trigger", "payment"))
    server.start()
    yield server
    server.stop()


def test_gateway_unreachable_falls_back_to_the_static_qr(edge: EdgeServer) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    configure(edge, "xendit", nobody, "xnd_development_x", "--static-qris", STATIC)
    cashier = edge.login("cashier")
    order = place(edge)
    res = start_attempt(edge, order["id"], cashier, order["total"])
    assert res.status_code == 201, res.text
    attempt = res.json()
    assert attempt["mode"] == "static" and attempt["gateway"] == "static"
    fields = dict(static_qris.parse(attempt["qr_string"]))  # CRC checked
    assert fields["01"] == "12" and fields["54"] == str(order["total"]) and "55" not in fields
    assert fields["59"] == "KOPI NUSANTARA" and attempt["qr_svg"].startswith("<svg")

    # only staff confirm a static QR, and only a static one
    kiosk = edge.request("POST", f"/api/v1/payment-attempts/{attempt['id']}/confirm",
                         edge.tokens["kiosk"])
    assert kiosk.status_code == 403
    confirmed = edge.call("POST", f"/api/v1/payment-attempts/{attempt['id']}/confirm", cashier)
    assert confirmed["status"] == "paid" and confirmed["mode"] == "static"
    again = edge.call("POST", f"/api/v1/payment-attempts/{attempt['id']}/confirm", cashier)
    assert again["payment_id"] == confirmed["payment_id"]
    paid = order_of(edge, order["id"])
    assert paid["status"] == "in_kitchen" and paid["paid"] == order["total"]
    [payment] = paid["payments"]
    assert payment["verified"] is False and payment["gateway"] == "static"
    assert payment["attempt_id"] == attempt["id"]


def test_gateway_answering_503_falls_back_too(edge: EdgeServer) -> None:
    with FakeGatewayProcess("midtrans") as midtrans:
        configure(edge, "midtrans", midtrans.base_url, midtrans.server_key, "--static-qris", STATIC)
        midtrans.faults(down=True)
        order = place(edge)
        attempt = start_attempt(edge, order["id"], edge.tokens["kiosk"], order["total"]).json()
        assert attempt["mode"] == "static"
        assert midtrans.ledger()["charges"] == []
        midtrans.faults(down=False)
        # back online: the next order gets a gateway QR again
        second = place(edge)
        assert start_attempt(edge, second["id"], edge.tokens["kiosk"],
                             second["total"]).json()["mode"] == "gateway"


def test_a_gateway_qr_is_not_confirmed_by_hand(edge: EdgeServer) -> None:
    with FakeGatewayProcess("xendit") as xendit:
        configure(edge, "xendit", xendit.base_url, xendit.server_key)
        cashier = edge.login("cashier")
        order = place(edge)
        attempt = start_attempt(edge, order["id"], cashier, order["total"]).json()
        res = edge.request("POST", f"/api/v1/payment-attempts/{attempt['id']}/confirm", cashier)
        assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"
        assert order_of(edge, order["id"])["payments"] == []


def test_unreachable_without_static_qris_is_a_503(edge: EdgeServer) -> None:
    configure(edge, "xendit", f"http://127.0.0.1:{free_port()}", "xnd_development_x")
    cashier = edge.login("cashier")
    order = place(edge)
    res = start_attempt(edge, order["id"], cashier, order["total"])
    assert res.status_code == 503
    error = res.json()["error"]
    assert error["code"] == "unavailable" and error["details"]["attempt_id"]
    failed = edge.call("GET", f"/api/v1/payment-attempts/{error['details']['attempt_id']}", cashier)
    assert failed["status"] == "failed"
    # a failed attempt does not block the next one
    configure(edge, "none", "", "", "--static-qris", STATIC)
    assert start_attempt(edge, order["id"], cashier, order["total"]).json()["mode"] == "static"
    configure(edge, "none")  # no gateway and no static QRIS: the outlet takes no QRIS
    res = start_attempt(edge, place(edge)["id"], cashier, 1000)
    assert res.status_code == 422 and res.json()["error"]["code"] == "rejected"
