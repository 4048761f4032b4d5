"""OVO through Xendit (issue 11): OVO pushes the payment to the customer's phone, so the
charge needs their mobile number (``channel_properties.mobile_number``, E.164 "+62...").
Through a real edge and the fake Xendit (which checks the number as Xendit does): no
number, or a malformed one, is refused at the edge's door (400, nothing charged); a good one
reaches Xendit as ``ID_OVO`` with that number, the customer's approval (the fake's
simulator) pays the order with no tap; a number on another channel is refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from demo.fake_gateways import FakeGatewayProcess
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import place
from tests.edge.test_payments_gateway import configure, start_attempt, wait_for


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("ovo") / "edge")
    server.start()
    yield server
    server.stop()


def test_ovo_needs_the_customers_number_and_pays_on_approval(edge: EdgeServer) -> None:
    with FakeGatewayProcess("xendit") as xendit:
        configure(edge, "xendit", xendit.base_url, xendit.server_key,
                  "--ewallet-channels", "ovo,dana")
        cashier = edge.login("cashier")
        order = place(edge)
        ovo = {"method": "ewallet", "channel": "ovo"}
        for bad in ({}, {"mobile_number": "08123456789"}, {"mobile_number": "+6281"},
                    {"mobile_number": "+62812345678901234"}):
            res = start_attempt(edge, order["id"], cashier, order["total"], **ovo, **bad)
            assert res.status_code == 400, res.text
            assert res.json()["error"]["code"]
        res = start_attempt(edge, order["id"], cashier, order["total"], method="ewallet",
                            channel="dana", mobile_number="+6281234567890")
        assert res.status_code == 400
        assert xendit.ledger()["ewallets"] == []  # nothing reached the gateway

        res = start_attempt(edge, order["id"], cashier, order["total"], **ovo,
                            mobile_number="+6281234567890")
        assert res.status_code == 201, res.text
        attempt = res.json()
        [charge] = xendit.ledger()["ewallets"]
        assert (charge["channel_code"], charge["reference_id"]) == ("ID_OVO", attempt["id"])
        assert charge["channel_properties"] == {"mobile_number": "+6281234567890"}
        assert attempt["status"] == "pending" and attempt["channel"] == "ovo"

        # the fake checks the number as Xendit does (E.164, Indonesia)
        direct = httpx.post(xendit.base_url + "/ewallets/charges", auth=(xendit.server_key, ""),
                            json={"reference_id": "x-1", "currency": "IDR", "amount": 1000,
                                  "checkout_method": "ONE_TIME_PAYMENT", "channel_code": "ID_OVO",
                                  "channel_properties": {"mobile_number": "0812345678"}})
        assert direct.status_code == 400
        assert direct.json()["error_code"] == "API_VALIDATION_ERROR"

        # the customer approves in the OVO app: paid, no tap at the till
        assert httpx.post(f"{xendit.base_url}/_fake/ewallets/charges/{charge['id']}/pay"
                          ).status_code == 200
        paid = wait_for(lambda: edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)
                        if edge.call("GET", f"/api/v1/orders/{order['id']}", cashier)["paid"]
                        == order["total"] else None, "the poller to record the OVO payment")
        [payment] = paid["payments"]
        assert (payment["method"], payment["gateway"]) == ("ewallet", "xendit")
        configure(edge, "none")
