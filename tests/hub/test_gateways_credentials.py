"""Gateway credentials at the hub (issue 11), through a real hub on PostgreSQL: secrets are
sealed in the database, never in an answer, an audit entry or a log line; only head office
sets them; bad input is a 400."""

from __future__ import annotations

import psycopg
import pytest

from tests.hub.conftest import TenantCtx

pytestmark = pytest.mark.postgres

SERVER_KEY = "SB-Mid-server-Cred3ntialT3stKey9QxZ"
XENDIT_KEY = "xnd_development_S3cretKeyForTests0Kp2"
CALLBACK_TOKEN = "cb-token-Hq7WmZ2xV9rT4nY6pL3sK8dF"
SECRETS = (SERVER_KEY, XENDIT_KEY, CALLBACK_TOKEN)


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
        assert secret[:12] not in text  # not even a prefix


def test_outlet_and_brand_credentials_are_redacted_everywhere(tenant: TenantCtx,
                                                              pg_url: str) -> None:
    c = tenant.client
    outlet = tenant.create_outlet("Gateway Outlet")
    put = c.put(f"/api/v1/brands/{tenant.brand_id}/payment-gateway", json={
        "provider": "xendit", "secret_key": XENDIT_KEY, "callback_token": CALLBACK_TOKEN,
        "ewallet_channels": ["ovo", "gopay", "ovo"], "qr_expiry_seconds": 600})
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["secret_key"] == {"set": True, "last4": XENDIT_KEY[-4:]}
    assert body["callback_token"] == {"set": True, "last4": CALLBACK_TOKEN[-4:]}
    assert body["ewallet_channels"] == ["gopay", "ovo"]
    assert body["api_base_url"] == "https://api.xendit.co"
    _no_secret(put.text)

    # the outlet inherits the brand's until it has its own
    got = c.get(f"/api/v1/outlets/{outlet['id']}/payment-gateway").json()
    assert got["effective"] == "brand" and got["credential"] is None
    own = c.put(f"/api/v1/outlets/{outlet['id']}/payment-gateway", json={
        "provider": "midtrans", "server_key": SERVER_KEY,
        "api_base_url": "http://127.0.0.1:9/", "static_qris": "00020101021126"})
    assert own.status_code == 200, own.text
    assert own.json()["server_key"] == {"set": True, "last4": SERVER_KEY[-4:]}
    assert own.json()["api_base_url"] == "http://127.0.0.1:9"
    # an update that leaves the key out keeps it
    kept = c.put(f"/api/v1/outlets/{outlet['id']}/payment-gateway", json={
        "provider": "midtrans", "qr_expiry_seconds": 120, "api_base_url": "http://127.0.0.1:9"})
    assert kept.status_code == 200 and kept.json()["server_key"]["set"] is True
    got = c.get(f"/api/v1/outlets/{outlet['id']}/payment-gateway")
    assert got.json()["effective"] == "outlet"
    assert got.json()["credential"]["qr_expiry_seconds"] == 120
    _no_secret(got.text)
    _no_secret(c.get(f"/api/v1/brands/{tenant.brand_id}/payment-gateway").text)

    audit = c.get("/api/v1/audit", params={"entity_id": outlet["id"], "limit": 50})
    entries = [e for e in audit.json()["items"] if e["action"] == "payment_gateway.update"]
    assert len(entries) == 2 and entries[-1]["after"]["secret_change"] == "changed"
    assert entries[0]["after"]["secret_change"] == "kept"
    _no_secret(audit.text)
    _no_secret(c.get("/api/v1/audit", params={"limit": 200}).text)
    _no_secret(tenant.server.log())

    # in the database: sealed, not in clear
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT secret_sealed, callback_token_sealed, callback_token_lookup "
                            "FROM gateway_credentials WHERE tenant_id = %s",
                            (tenant.id,)).fetchall()
        dump = repr(rows) + repr(conn.execute(
            "SELECT before, after FROM audit_log WHERE tenant_id = %s", (tenant.id,)).fetchall())
    assert len(rows) == 2 and all(row[0].startswith("g1:") for row in rows)
    _no_secret(dump)


def test_changing_provider_needs_its_secrets_and_input_is_bounded(tenant: TenantCtx) -> None:
    c = tenant.client
    outlet = tenant.create_outlet("Switching Outlet")
    path = f"/api/v1/outlets/{outlet['id']}/payment-gateway"
    assert c.put(path, json={"provider": "midtrans", "server_key": SERVER_KEY}).status_code == 200
    switched = c.put(path, json={"provider": "xendit", "secret_key": XENDIT_KEY})
    assert switched.status_code == 400 and "callback_token" in switched.text
    switched = c.put(path, json={"provider": "xendit"})
    assert switched.status_code == 400 and "secret_key" in switched.text
    for bad in ({"provider": "midtrans", "server_key": "short"},
                {"provider": "midtrans", "server_key": SERVER_KEY + " "},
                {"provider": "midtrans", "secret_key": XENDIT_KEY},
                {"provider": "midtrans", "api_base_url": "http://gateway.example.com"},
                {"provider": "midtrans", "api_base_url": "ftp://127.0.0.1"},
                {"provider": "midtrans", "api_base_url": "https://u:p@api.midtrans.com"},
                {"provider": "paypal"},
                {"provider": "midtrans", "qr_expiry_seconds": 5},
                {"provider": "midtrans", "ewallet_channels": ["paypal"]},
                {"provider": "midtrans", "static_qris": "x" * 513},
                {"provider": "midtrans", "unknown": 1}):
        response = c.put(path, json=bad)
        assert response.status_code == 400, (bad, response.text)
        assert set(response.json()) == {"error"}
    assert c.put(path, json={"provider": "none"}).json()["server_key"] == {"set": False,
                                                                          "last4": ""}


def test_only_head_office_configures_gateways(tenant: TenantCtx) -> None:
    outlet = tenant.create_outlet("Scoped Outlet")
    path = f"/api/v1/outlets/{outlet['id']}/payment-gateway"
    for role in ("outlet_manager", "area_manager", "technician"):
        _, client = tenant.create_user(role, [outlet["id"]])
        assert client.get(path).status_code == 403
        denied = client.put(path, json={"provider": "midtrans", "server_key": SERVER_KEY})
        assert denied.status_code == 403
        assert denied.json()["error"]["details"]["permission"] == "payments:configure"
    _, admin = tenant.create_user("hq_admin")
    assert admin.put(path, json={"provider": "midtrans", "server_key": SERVER_KEY}).status_code == 200
