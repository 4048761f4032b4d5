"""Reconciliation against the gateway's own transaction list (issue 11), through a real hub
on PostgreSQL and the fake Xendit speaking ``GET /transactions`` (filters, newest first, 50 a
page, ``has_more`` + ``links``): an outlet's static-QR payments, confirmed by eye while the
box was offline, come back matched (verified, with Xendit's payment id) or listed as a
difference; money the gateway took that no outlet recorded is listed too; dynamic payments
whose webhooks were lost are confirmed by the list. Runs on demand (the dashboard's GET) and
in the scheduled job, which stores the result."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from demo.fake_gateways import FakeGatewayProcess
from hub.db import Database
from hub.gateways.payments import reconcile_job
from hub.settings import HubSettings
from shared.schemas import PaymentAttempt
from tests.hub.conftest import JWT_SECRET, PIN_KEY
from tests.hub.test_gateways_feed import enroll
from tests.hub.test_gateways_reports import push
from tests.hub.test_gateways_webhooks import XENDIT_KEY, XENDIT_PATH

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC)
AUTH = (XENDIT_KEY, "")
# its own token: a callback token shared with another module's tenant would be looked up there
CALLBACK_TOKEN = "xendit-cb-Statements-" + uuid.uuid4().hex


def paid(amount: int, gateway: str, method: str = "qris") -> PaymentAttempt:
    aid = str(uuid.uuid4())
    return PaymentAttempt(id=aid, order_id=str(uuid.uuid4()), method=method, gateway=gateway,
                          gateway_order_id=aid, amount=amount, status="paid",
                          expires_at=NOW + timedelta(minutes=5),
                          created_at=NOW - timedelta(minutes=2), updated_at=NOW,
                          payment_id=str(uuid.uuid4()))


def test_static_payments_matched_against_the_transaction_list(tenant_factory, hub_server,
                                                               pg_url: str, tmp_path) -> None:
    with FakeGatewayProcess("xendit", webhook_url=hub_server.base_url + XENDIT_PATH,
                            server_key=XENDIT_KEY, callback_token=CALLBACK_TOKEN,
                            log_path=tmp_path / "xendit.log") as fake:
        t = tenant_factory()
        outlet = t.create_outlet("Offline Sometimes")
        assert t.client.put(f"/api/v1/outlets/{outlet['id']}/payment-gateway", json={
            "provider": "xendit", "secret_key": XENDIT_KEY, "callback_token": CALLBACK_TOKEN,
            "api_base_url": fake.base_url}).status_code == 200
        secret = enroll(t, outlet["id"])
        fake.faults(webhook_drop=1.0)  # nothing reaches the hub but the list itself
        # the outlet's printed QRIS, made once at the gateway
        sticker = httpx.post(fake.base_url + "/qr_codes", auth=AUTH, json={
            "reference_id": f"static-{outlet['id']}", "type": "STATIC", "currency": "IDR"},
            headers={"api-version": "2022-07-31"}).json()

        def pay_sticker(amount: int) -> dict[str, Any]:
            res = httpx.post(f"{fake.base_url}/qr_codes/{sticker['id']}/payments/simulate",
                             auth=AUTH, json={"amount": amount})
            assert res.status_code == 200, res.text
            return res.json()  # type: ignore[no-any-return]

        verified, unmatched = paid(12000, "static"), paid(7000, "static")
        twin = paid(12000, "static")  # same amount as another: each takes its own payment
        dynamic = [paid(1000 + i, "xendit") for i in range(52)]  # over one page of 50
        for a in dynamic:
            qr = httpx.post(fake.base_url + "/qr_codes", auth=AUTH, headers={
                "api-version": "2022-07-31"}, json={"reference_id": a.id, "type": "DYNAMIC",
                                                    "currency": "IDR", "amount": a.amount}).json()
            assert httpx.post(f"{fake.base_url}/qr_codes/{qr['id']}/payments/simulate",
                              auth=AUTH, json={}).status_code == 200
        first, second = pay_sticker(12000), pay_sticker(12000)
        stray = pay_sticker(5000)  # nobody recorded this one
        result = push(t, outlet["id"], secret, [verified, unmatched, twin, *dynamic])
        assert result.status == "ok" and result.applied == 55

        # the fake's list: newest first, 50 a page, a "next" link carrying after_id
        page = httpx.get(fake.base_url + "/transactions", auth=AUTH, params={
            "types": "PAYMENT", "statuses": "SUCCESS", "channel_categories": "QR_CODE",
            "limit": 50}).json()
        assert page["has_more"] and len(page["data"]) == 50
        assert page["data"][0]["product_id"] == stray["id"]
        assert "after_id=" + page["data"][-1]["id"] in page["links"][0]["href"]

        rec = t.client.get("/api/v1/reports/payments/reconciliation",
                           params={"day": NOW.date().isoformat(), "outlet_id": outlet["id"]})
        assert rec.status_code == 200, rec.text
        (found,) = rec.json()["outlets"]
        assert found["gateway_list"] == {"gateway": "xendit", "status": "read", "payments": 55,
                                         "error": ""}
        got = {v["attempt_id"]: v["transaction_id"] for v in found["static_verified"]}
        assert set(got) == {verified.id, twin.id}
        assert set(got.values()) == {first["id"], second["id"]}
        kinds = sorted((d["kind"], d["attempt_id"], d["transaction_id"]) for d in found["differences"])
        assert kinds == sorted([("static_unmatched", unmatched.id, None),
                                ("confirmed_not_recorded", None, stray["id"])])
        # without the list the dynamic ones would be "recorded_not_confirmed": none is
        assert found["counts"] == {"static_unmatched": 1, "confirmed_not_recorded": 1}

        # the gateway unreachable: nothing is matched, the static ones stay unverified
        fake.faults(down=True)
        down = t.client.get("/api/v1/reports/payments/reconciliation", params={
            "day": NOW.date().isoformat(), "outlet_id": outlet["id"]}).json()["outlets"][0]
        assert down["gateway_list"]["status"] == "unavailable"
        assert down["counts"]["unverified_static"] == 3
        assert down["counts"]["recorded_not_confirmed"] == 52
        fake.faults(down=False)

        # the scheduled job reads the list too and stores each outlet's verdict
        async def run_job() -> dict[str, Any]:
            db = Database(pg_url)
            try:
                async with db.system() as session:
                    return await reconcile_job(session, HubSettings(
                        jwt_secret=JWT_SECRET, pin_key=PIN_KEY), now=NOW)
            finally:
                await db.dispose()

        assert asyncio.run(run_job())["outlets"] >= 1
        with psycopg.connect(pg_url) as conn:
            (stored,) = conn.execute(
                "SELECT result FROM payment_reconciliations WHERE outlet_id = %s AND day = %s",
                (outlet["id"], NOW.date())).fetchone()
        assert {v["attempt_id"] for v in stored["static_verified"]} == {verified.id, twin.id}
        assert stored["counts"] == {"static_unmatched": 1, "confirmed_not_recorded": 1}
