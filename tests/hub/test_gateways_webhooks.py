"""The gateways' webhooks at a real hub on PostgreSQL, sent by the fake gateways of
demo/fake_gateways (real processes, real sockets) or built by hand from the documented formats:
forged signature, wrong token, duplicate, replay days later, unknown order, amount mismatch:
each gets the right answer and at most one stored confirmation; no secret in any answer or log.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from demo.fake_gateways import FakeGatewayProcess
from tests.hub.conftest import HubServer, TenantCtx

pytestmark = pytest.mark.postgres

SERVER_KEY = "SB-Mid-server-WebhookT3stKey7RzQw"
XENDIT_KEY = "xnd_development_WebhookS3cret4Lm8Pq"
CALLBACK_TOKEN = "xendit-cb-Tok3n-Zy5Wq9Rv2Ks7Hn4M"
SECRETS = (SERVER_KEY, XENDIT_KEY, CALLBACK_TOKEN)
MIDTRANS_PATH = "/api/v1/gateways/midtrans/notification"
XENDIT_PATH = "/api/v1/gateways/xendit/callback"


def signature(order_id: str, status_code: str, gross_amount: str, key: str = SERVER_KEY) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{key}".encode()).hexdigest()


def midtrans_body(order_id: str, outlet_id: str, amount: str = "25000.00",
                  status: str = "settlement", transaction_id: str = "", key: str = SERVER_KEY,
                  **extra: Any) -> dict[str, Any]:
    code = {"settlement": "200", "pending": "201", "expire": "407", "cancel": "200"}[status]
    return {"transaction_time": "2026-12-01 10:00:00", "transaction_status": status,
            "transaction_id": transaction_id or str(uuid.uuid4()), "status_message": "ok",
            "status_code": code, "signature_key": signature(order_id, code, amount, key),
            "settlement_time": "2026-12-01 10:00:05", "payment_type": "qris",
            "order_id": order_id, "merchant_id": "G000000001", "gross_amount": amount,
            "fraud_status": "accept", "currency": "IDR", "custom_field1": outlet_id, **extra}


def xendit_body(reference_id: str, outlet_id: str, amount: int = 25000,
                payment_id: str = "") -> dict[str, Any]:
    return {"event": "qr.payment", "api_version": "2022-07-31", "business_id": "b1",
            "created": "2026-12-01T03:00:00.000Z",
            "data": {"id": payment_id or f"qrpy_{uuid.uuid4()}", "currency": "IDR",
                     "amount": amount, "status": "SUCCEEDED", "qr_id": "qr_1",
                     "reference_id": reference_id, "type": "DYNAMIC", "channel_code": "ID_DANA",
                     "created": "2026-12-01T03:00:00.000Z",
                     "metadata": {"outlet_id": outlet_id}}}


def rows(pg_url: str, tenant_id: str, order_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(
            "SELECT status, gross_amount, flag, outlet_id, transaction_id FROM gateway_notifications"
            " WHERE tenant_id = %s AND gateway_order_id = %s ORDER BY received_at",
            (tenant_id, order_id)).fetchall()


def audit_actions(pg_url: str, tenant_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(pg_url) as conn:
        found = conn.execute("SELECT after FROM audit_log WHERE tenant_id = %s AND action = "
                             "'payment_gateway.webhook_refused' ORDER BY at", (tenant_id,))
        return [row[0] for row in found.fetchall()]


@pytest.fixture(scope="module")
def shop(tenant_factory) -> tuple[TenantCtx, dict[str, Any], dict[str, Any]]:
    """A tenant with a Midtrans outlet and a Xendit outlet."""
    t = tenant_factory()
    midtrans_outlet = t.create_outlet("Midtrans Outlet")
    xendit_outlet = t.create_outlet("Xendit Outlet")
    assert t.client.put(f"/api/v1/outlets/{midtrans_outlet['id']}/payment-gateway", json={
        "provider": "midtrans", "server_key": SERVER_KEY,
        "api_base_url": "http://127.0.0.1:1"}).status_code == 200
    assert t.client.put(f"/api/v1/outlets/{xendit_outlet['id']}/payment-gateway", json={
        "provider": "xendit", "secret_key": XENDIT_KEY, "callback_token": CALLBACK_TOKEN,
        "api_base_url": "http://127.0.0.1:1"}).status_code == 200
    return t, midtrans_outlet, xendit_outlet


@pytest.fixture(scope="module")
def fake_midtrans(hub_server: HubServer, tmp_path_factory) -> Iterator[FakeGatewayProcess]:
    fake = FakeGatewayProcess("midtrans", webhook_url=hub_server.base_url + MIDTRANS_PATH,
                              server_key=SERVER_KEY,
                              log_path=tmp_path_factory.mktemp("fake") / "midtrans.log")
    with fake:
        yield fake


@pytest.fixture(scope="module")
def fake_xendit(hub_server: HubServer, tmp_path_factory) -> Iterator[FakeGatewayProcess]:
    fake = FakeGatewayProcess("xendit", webhook_url=hub_server.base_url + XENDIT_PATH,
                              server_key=XENDIT_KEY, callback_token=CALLBACK_TOKEN,
                              log_path=tmp_path_factory.mktemp("fake") / "xendit.log")
    with fake:
        yield fake


def _delivered(fake: FakeGatewayProcess, key_part: str, timeout: float = 15) -> list[Any]:
    """The statuses the fake got back for its webhooks whose key contains ``key_part``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hooks = [w for w in fake.ledger()["webhooks"] if key_part in w["key"]]
        if hooks and all(w["deliveries"] for w in hooks):
            return [d["status"] for w in hooks for d in w["deliveries"]]
        time.sleep(0.1)
    raise AssertionError(f"no webhook delivered for {key_part}")


def test_midtrans_payment_from_the_fake_is_stored_once(shop, fake_midtrans, hub_server,
                                                       pg_url: str) -> None:
    t, outlet, _ = shop
    order_id = str(uuid.uuid4())
    auth = (SERVER_KEY, "")
    charge = httpx.post(fake_midtrans.base_url + "/v2/charge", auth=auth, json={
        "payment_type": "qris", "transaction_details": {"order_id": order_id,
                                                        "gross_amount": 25000},
        "custom_field1": outlet["id"]})
    assert charge.status_code == 201, charge.text
    paid = httpx.post(f"{fake_midtrans.base_url}/_fake/v2/{order_id}/pay")
    assert paid.status_code == 200
    transaction_id = charge.json()["transaction_id"]
    assert _delivered(fake_midtrans, transaction_id) == [200]
    assert rows(pg_url, t.id, order_id) == [("paid", 25000, "", outlet["id"], transaction_id)]
    # the gateway sends it again (its retry, or a replay days later): same answer, one row
    status = httpx.get(f"{fake_midtrans.base_url}/v2/{order_id}/status", auth=auth).json()
    for _ in range(3):
        again = httpx.post(hub_server.base_url + MIDTRANS_PATH, json=status)
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
    with psycopg.connect(pg_url) as conn:  # received three days ago: still the same one
        conn.execute("UPDATE gateway_notifications SET received_at = received_at - interval "
                     "'3 days' WHERE gateway_order_id = %s", (order_id,))
    assert httpx.post(hub_server.base_url + MIDTRANS_PATH, json=status).json()["status"] == \
        "duplicate"
    assert len(rows(pg_url, t.id, order_id)) == 1


def test_forged_midtrans_signature_is_refused_and_audited(shop, hub_server,
                                                          pg_url: str) -> None:
    t, outlet, _ = shop
    order_id = str(uuid.uuid4())
    url = hub_server.base_url + MIDTRANS_PATH
    forged = midtrans_body(order_id, outlet["id"], key="SB-Mid-server-guessed-key-000000")
    response = httpx.post(url, json=forged)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    # a genuine signature over another amount does not cover a raised amount
    tampered = midtrans_body(order_id, outlet["id"], amount="1000.00")
    tampered["gross_amount"] = "25000.00"
    assert httpx.post(url, json=tampered).status_code == 401
    # a signature for one outlet does not verify for an outlet of another credential
    _, _, xendit_outlet = shop
    assert httpx.post(url, json=midtrans_body(order_id, xendit_outlet["id"])).status_code == 401
    assert rows(pg_url, t.id, order_id) == []
    refused = audit_actions(pg_url, t.id)
    assert len(refused) >= 3 and all(entry["order_id"] == order_id for entry in refused[-3:])
    assert not any(secret in repr(refused) for secret in SECRETS)
    # an outlet no credential serves, or none at all: 404 (cannot be verified), nothing stored
    assert httpx.post(url, json=midtrans_body(order_id, "no-such-outlet")).status_code == 404
    assert httpx.post(url, json=midtrans_body(order_id, "")).status_code == 404


def test_midtrans_unknown_order_and_statuses(shop, hub_server, pg_url: str) -> None:
    t, outlet, _ = shop
    url = hub_server.base_url + MIDTRANS_PATH
    order_id = str(uuid.uuid4())  # never charged by any box the hub knows of
    first = httpx.post(url, json=midtrans_body(order_id, outlet["id"], status="pending",
                                               transaction_id="tx-1"))
    assert first.status_code == 200 and first.json() == {"status": "stored", "flag": ""}
    assert httpx.post(url, json=midtrans_body(order_id, outlet["id"],
                                              transaction_id="tx-1")).json()["status"] == "stored"
    assert [r[0] for r in rows(pg_url, t.id, order_id)] == ["pending", "paid"]
    # bodies the hub cannot read: 400 before any lookup
    for bad in ({"order_id": order_id}, [1, 2], {**midtrans_body(order_id, outlet["id"]),
                                                  "gross_amount": 25000.0},
                {**midtrans_body(order_id, outlet["id"]), "order_id": "x" * 65}):
        response = httpx.post(url, json=bad)
        assert response.status_code == 400, (bad, response.text)
    assert httpx.post(url, content=b"{" * 20_000).status_code == 413  # bounded body


def test_amount_mismatch_is_stored_flagged(shop, hub_server, pg_url: str) -> None:
    t, outlet, _ = shop
    order_id = str(uuid.uuid4())
    with psycopg.connect(pg_url) as conn:  # the outlet's synced attempt for 25,000
        conn.execute(
            "INSERT INTO hub_payment_attempts (tenant_id, id, outlet_id, order_id, method, "
            "channel, gateway, gateway_order_id, amount, status, late, created_at, updated_at, "
            "edge_seq, received_at) VALUES (%s, %s, %s, %s, 'qris', '', 'midtrans', %s, 25000, "
            "'pending', false, now(), now(), 1, now())",
            (t.id, order_id, outlet["id"], str(uuid.uuid4()), order_id))
    response = httpx.post(hub_server.base_url + MIDTRANS_PATH,
                          json=midtrans_body(order_id, outlet["id"], amount="2500.00"))
    assert response.status_code == 200
    assert response.json() == {"status": "stored", "flag": "amount_mismatch"}
    assert rows(pg_url, t.id, order_id)[0][:3] == ("paid", 2500, "amount_mismatch")
    # routed by the synced attempt when custom_field1 is missing
    body = midtrans_body(order_id, "", amount="25000.00")
    body.pop("custom_field1")
    assert httpx.post(hub_server.base_url + MIDTRANS_PATH, json=body).json() == {
        "status": "stored", "flag": ""}


def test_xendit_callbacks_from_the_fake_and_forged_tokens(shop, fake_xendit, hub_server,
                                                          pg_url: str) -> None:
    t, _, outlet = shop
    reference = str(uuid.uuid4())
    auth = (XENDIT_KEY, "")
    qr = httpx.post(fake_xendit.base_url + "/qr_codes", auth=auth,
                    headers={"api-version": "2022-07-31", "idempotency-key": reference},
                    json={"reference_id": reference, "type": "DYNAMIC", "currency": "IDR",
                          "amount": 30000, "metadata": {"outlet_id": outlet["id"]}})
    assert qr.status_code in (200, 201), qr.text
    simulate = httpx.post(f"{fake_xendit.base_url}/qr_codes/{qr.json()['id']}/payments/simulate",
                          auth=auth, json={"amount": 30000})
    assert simulate.status_code == 200, simulate.text
    assert _delivered(fake_xendit, simulate.json()["id"]) == [200]
    stored = rows(pg_url, t.id, reference)
    assert [(r[0], r[1], r[2], r[3]) for r in stored] == [("paid", 30000, "", outlet["id"])]

    url = hub_server.base_url + XENDIT_PATH
    body = xendit_body(reference, outlet["id"], 30000, payment_id=simulate.json()["id"])
    good = {"x-callback-token": CALLBACK_TOKEN}
    assert httpx.post(url, json=body, headers=good).json()["status"] == "duplicate"
    for headers in ({"x-callback-token": CALLBACK_TOKEN[:-1] + "X"}, {},
                    {"x-callback-token": "x" * 5000}):
        response = httpx.post(url, json=xendit_body(reference, outlet["id"], 1), headers=headers)
        assert response.status_code == 401, response.text
    assert len(rows(pg_url, t.id, reference)) == 1
    assert any(e["order_id"] == reference for e in audit_actions(pg_url, t.id))
    # a genuine token naming an outlet it does not serve: stored, flagged, not filed
    other = str(uuid.uuid4())
    response = httpx.post(url, json=xendit_body(other, "some-other-outlet"), headers=good)
    assert response.json() == {"status": "stored", "flag": "unrouted"}
    assert rows(pg_url, t.id, other)[0][2:4] == ("unrouted", "")


def test_no_secret_in_the_hub_log(shop, hub_server) -> None:
    log = hub_server.log()
    assert "gateway webhook refused" in log
    for secret in SECRETS:
        assert secret not in log


def test_webhooks_are_rate_limited_per_ip(pg_url: str, hub_server_factory) -> None:
    hub = hub_server_factory(pg_url, webhook_max_per_ip=3, webhook_window_seconds=3600)
    answers = [httpx.post(hub.base_url + MIDTRANS_PATH, json={}).status_code for _ in range(5)]
    assert answers[:3] == [400, 400, 400] and answers[3:] == [429, 429]
    refused = httpx.post(hub.base_url + XENDIT_PATH, json={})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_a_tenant_cannot_confirm_another_tenants_outlet(shop, tenant_factory, hub_server,
                                                        pg_url: str) -> None:
    """Tenant A signs with its own key, or sends its own Xendit token, naming B's outlet and
    one of B's order ids: refused (Midtrans) or kept under A as unrouted (Xendit); nothing of
    B's changes and B's own notification for that order still counts."""
    b, b_outlet, b_xendit = shop
    a = tenant_factory()
    a_outlet = a.create_outlet("Attacker")
    a_key, a_token = "SB-Mid-server-AttackerKey-55555555", "attacker-callback-token-5555"
    assert a.client.put(f"/api/v1/outlets/{a_outlet['id']}/payment-gateway", json={
        "provider": "midtrans", "server_key": a_key}).status_code == 200
    a_brand = a.client.put(f"/api/v1/brands/{a.brand_id}/payment-gateway", json={
        "provider": "xendit", "secret_key": XENDIT_KEY, "callback_token": a_token})
    assert a_brand.status_code == 200
    order_id = str(uuid.uuid4())
    forged = midtrans_body(order_id, b_outlet["id"], key=a_key)
    assert httpx.post(hub_server.base_url + MIDTRANS_PATH, json=forged).status_code == 401
    sneaky = httpx.post(hub_server.base_url + XENDIT_PATH, json=xendit_body(order_id, b_xendit["id"]),
                        headers={"x-callback-token": a_token})
    assert sneaky.json() == {"status": "stored", "flag": "unrouted"}
    assert rows(pg_url, b.id, order_id) == []
    assert rows(pg_url, a.id, order_id)[0][2:4] == ("unrouted", "")
    genuine = httpx.post(hub_server.base_url + XENDIT_PATH,
                         json=xendit_body(order_id, b_xendit["id"]),
                         headers={"x-callback-token": CALLBACK_TOKEN})
    assert genuine.json() == {"status": "stored", "flag": ""}
    assert [r[3] for r in rows(pg_url, b.id, order_id)] == [b_xendit["id"]]
