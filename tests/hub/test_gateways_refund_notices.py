"""Midtrans's refund notifications at the hub (issue 11): the fake Midtrans refunds a settled
charge twice (partial refunds, each with the box's ``refund_key``) and sends its signed
notifications; the hub keeps one "refunded" notice per refund, named by that key and with
the refund's own amount (the charge's second notification repeats the charge's row, which
is a duplicate, yet its new refund is stored), relays them down the outlet's confirmations
feed, and the payments report counts the refunds, not the charge's amount twice."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from demo.fake_gateways import FakeGatewayProcess
from sync.protocol import GatewayConfirmation
from tests.hub.test_gateways_feed import change, enroll, pull
from tests.hub.test_gateways_webhooks import MIDTRANS_PATH, SERVER_KEY

pytestmark = pytest.mark.postgres


def test_each_midtrans_refund_is_relayed_by_its_refund_key(tenant_factory, hub_server,
                                                           tmp_path) -> None:
    with FakeGatewayProcess("midtrans", webhook_url=hub_server.base_url + MIDTRANS_PATH,
                            server_key=SERVER_KEY, log_path=tmp_path / "midtrans.log") as fake:
        t = tenant_factory()
        outlet = t.create_outlet("Refunding")
        assert t.client.put(f"/api/v1/outlets/{outlet['id']}/payment-gateway", json={
            "provider": "midtrans", "server_key": SERVER_KEY,
            "api_base_url": fake.base_url}).status_code == 200
        secret = enroll(t, outlet["id"])
        auth, order_id = (SERVER_KEY, ""), str(uuid.uuid4())
        assert httpx.post(fake.base_url + "/v2/charge", auth=auth, json={
            "payment_type": "qris", "custom_field1": outlet["id"],
            "transaction_details": {"order_id": order_id, "gross_amount": 50_000}}
        ).status_code == 201
        assert httpx.post(f"{fake.base_url}/_fake/v2/{order_id}/pay").status_code == 200
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        for key, amount in ((first, 10_000), (second, 15_000)):
            res = httpx.post(f"{fake.base_url}/v2/{order_id}/refund", auth=auth,
                             json={"refund_key": key, "amount": amount, "reason": "test"})
            assert res.status_code == 200, res.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # three notifications delivered (paid, 2 refunds)
            if sum(1 for w in fake.ledger()["webhooks"] if w["deliveries"]
                   and w["deliveries"][-1]["status"] == 200) == 3:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(fake.ledger()["webhooks"])

        _, page = pull(t, secret)
        found: list[GatewayConfirmation] = change(page, "confirmations").confirmations
        by_order = {(c.gateway_order_id, c.status): c for c in found}
        assert by_order[(order_id, "paid")].gross_amount == 50_000
        assert by_order[(first, "refunded")].gross_amount == 10_000
        assert by_order[(second, "refunded")].gross_amount == 15_000
        assert by_order[(first, "refunded")].transaction_id != ""
        # the same notification again (Midtrans retries): nothing new
        again = next(w["payload"] for w in fake.ledger()["webhooks"]
                     if len(w["payload"].get("refunds", [])) == 2)
        res = httpx.post(hub_server.base_url + MIDTRANS_PATH, json=again)
        assert res.json()["status"] == "duplicate"
        _, page = pull(t, secret)
        assert len(change(page, "confirmations").confirmations) == len(found)

        day = datetime.now(UTC).date().isoformat()
        report = t.client.get("/api/v1/reports/payments", params={
            "from": day, "to": day, "outlet_id": outlet["id"]}).json()
        assert report["refunds"]["gateway_confirmed"] == [
            {"gateway": "midtrans", "count": 2, "amount": 25_000}]
