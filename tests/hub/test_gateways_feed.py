"""Feed kinds "payments" and "confirmations" (issue 11) through a real hub on PostgreSQL: the
outlet's box gets its gateway settings (with the secret key, only in its own feed) and its
verified confirmations, at most one per order and status, never a flagged one; an edge that
does not ask for these kinds never gets them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from sync.protocol import (
    FEED_KINDS,
    MEDIA_TYPE,
    EnrollRequest,
    EnrollResponse,
    PullResponse,
    confirmations_checksum,
    decode_frame,
    encode_frame,
    payments_checksum,
)
from tests.hub.conftest import TenantCtx
from tests.hub.test_gateways_webhooks import MIDTRANS_PATH, SERVER_KEY, midtrans_body

pytestmark = pytest.mark.postgres

OTHER_KEY = "SB-Mid-server-OtherOutletKey-7777777"


def enroll(t: TenantCtx, outlet_id: str) -> str:
    code = t.client.post(f"/api/v1/outlets/{outlet_id}/enrollment-codes", json={})
    frame = encode_frame(EnrollRequest(code=code.json()["code"], device_key="dk_" + uuid.uuid4().hex))
    reply = httpx.post(t.server.base_url + "/api/v1/enrollment/redeem", content=frame,
                       headers={"Content-Type": MEDIA_TYPE}, timeout=30)
    assert reply.status_code == 200, reply.text
    return decode_frame(reply.content, EnrollResponse).credential


def pull(t: TenantCtx, credential: str, cursor: int = 0, kinds: tuple[str, ...] | None = FEED_KINDS,
         snapshot: bool = False) -> tuple[bytes, PullResponse]:
    params: dict[str, Any] = {"cursor": cursor, "snapshot": int(snapshot)}
    if kinds is not None:
        params["kinds"] = ",".join(kinds)
    response = httpx.get(t.server.base_url + "/api/v1/sync/pull", params=params, timeout=30,
                         headers={"Authorization": f"Bearer {credential}", "Accept": MEDIA_TYPE})
    assert response.status_code == 200, response.text
    return response.content, decode_frame(response.content, PullResponse)


def change(page: PullResponse, kind: str) -> Any:
    found = [c for c in page.changes if c.kind == kind]
    assert len(found) <= 1
    return found[0] if found else None


def test_payments_and_confirmations_reach_only_their_outlet(tenant_factory, pg_url: str) -> None:
    t = tenant_factory()
    outlet, other = t.create_outlet("Paying"), t.create_outlet("Neighbour")
    key, other_key = enroll(t, outlet["id"]), enroll(t, other["id"])
    # nothing configured: the kinds are not stated
    _, first = pull(t, key)
    assert change(first, "payments") is None and "payments" not in first.checksums
    assert t.client.put(f"/api/v1/brands/{t.brand_id}/payment-gateway", json={
        "provider": "midtrans", "server_key": SERVER_KEY, "api_base_url": "http://127.0.0.1:2",
        "ewallet_channels": ["gopay"], "static_qris": "000201010211"}).status_code == 200
    assert t.client.put(f"/api/v1/outlets/{other['id']}/payment-gateway", json={
        "provider": "midtrans", "server_key": OTHER_KEY}).status_code == 200

    _, page = pull(t, key, first.cursor)
    payments = change(page, "payments").payments
    assert (payments.provider, payments.server_key, payments.api_base_url,
            payments.ewallet_channels, payments.static_qris) == (
        "midtrans", SERVER_KEY, "http://127.0.0.1:2", ["gopay"], "000201010211")
    assert page.checksums["payments"] == payments_checksum(payments)
    raw_other, other_page = pull(t, other_key)
    assert change(other_page, "payments").payments.server_key == OTHER_KEY
    assert SERVER_KEY.encode() not in raw_other  # a box never sees another outlet's key
    # an edge that asks for the kinds it knew before gets none of these, not even checksums
    raw_old, old = pull(t, key, 0, kinds=("catalog", "staff", "settings"))
    assert {c.kind for c in old.changes} <= {"catalog", "staff", "settings"}
    assert set(old.checksums) <= {"catalog", "staff", "settings"}
    assert SERVER_KEY.encode() not in raw_old
    raw_v2, _ = pull(t, key, 0, kinds=None)  # wire version 2: catalog only
    assert SERVER_KEY.encode() not in raw_v2

    # webhooks: paid (three times), an earlier pending, a flagged mismatch, an expiry
    url = t.server.base_url + MIDTRANS_PATH
    paid_order, expired_order, mismatch_order = (str(uuid.uuid4()) for _ in range(3))
    paid = midtrans_body(paid_order, outlet["id"], transaction_id="tx-paid")
    for body in (midtrans_body(paid_order, outlet["id"], status="pending",
                               transaction_id="tx-paid"), paid, paid, paid,
                 midtrans_body(expired_order, outlet["id"], status="expire", amount="9000.00"),
                 midtrans_body(mismatch_order, other["id"], amount="1.00", key=OTHER_KEY)):
        assert httpx.post(url, json=body).status_code == 200
    with psycopg.connect(pg_url) as conn:  # the neighbour's attempt was for 50,000
        conn.execute(
            "INSERT INTO hub_payment_attempts (tenant_id, id, outlet_id, order_id, method, "
            "channel, gateway, gateway_order_id, amount, status, late, created_at, updated_at, "
            "edge_seq, received_at) VALUES (%s, %s, %s, %s, 'qris', '', 'midtrans', %s, 50000, "
            "'pending', false, now(), now(), 1, now())",
            (t.id, mismatch_order, other["id"], str(uuid.uuid4()), mismatch_order))
    _, page2 = pull(t, key, page.cursor)
    confirmed = change(page2, "confirmations").confirmations
    assert sorted((c.gateway_order_id, c.status, c.gross_amount) for c in confirmed) == sorted(
        [(paid_order, "paid", 25000), (expired_order, "expired", 9000)])
    assert page2.checksums["confirmations"] == confirmations_checksum(confirmed)
    _, again = pull(t, key, page2.cursor)
    assert change(again, "confirmations") is None  # nothing new: nothing resent
    # a mismatched amount is never confirmed, even to the right outlet
    _, neighbour = pull(t, other_key, other_page.cursor)
    assert change(neighbour, "confirmations") is None

    # a refund later: the paid one stays, the refund joins it
    refund = midtrans_body(paid_order, outlet["id"], transaction_id="tx-paid")
    refund.update(transaction_status="refund", status_code="200")
    assert httpx.post(url, json=refund).status_code == 200
    _, page3 = pull(t, key, again.cursor)
    statuses = sorted((c.gateway_order_id, c.status) for c in
                      change(page3, "confirmations").confirmations)
    assert statuses == sorted([(paid_order, "paid"), (paid_order, "refunded"),
                               (expired_order, "expired")])
