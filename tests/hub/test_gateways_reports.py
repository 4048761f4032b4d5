"""The payments report and the reconciliation (issue 11) through a real hub on PostgreSQL:
payment attempts arrive as pushed journal events (hub ingest stores them, a newer snapshot
wins), webhooks as the gateways send them; the report counts attempts, success rate, pending,
expired and late ones by method and gateway; the reconciliation lists every difference."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from hub.db import Database
from hub.gateways.payments import reconcile_job
from hub.settings import HubSettings
from shared.journal import chain_hash, genesis_hash
from shared.schemas import JournalEntry, PaymentAttempt, PaymentAttemptEvent, event_encoder
from sync.protocol import MEDIA_TYPE, PushRequest, PushResponse, decode_frame, encode_frame
from tests.hub.conftest import JWT_SECRET, TenantCtx
from tests.hub.test_gateways_feed import enroll
from tests.hub.test_gateways_webhooks import MIDTRANS_PATH, SERVER_KEY, midtrans_body

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC)
TODAY = NOW.date().isoformat()


def attempt(status: str, amount: int, gateway: str = "midtrans", method: str = "qris",
            late: bool = False, attempt_id: str | None = None) -> PaymentAttempt:
    aid = attempt_id or str(uuid.uuid4())
    return PaymentAttempt(id=aid, order_id=str(uuid.uuid4()), method=method, gateway=gateway,
                          gateway_order_id=aid, amount=amount, status=status, late=late,
                          expires_at=NOW + timedelta(minutes=5), created_at=NOW, updated_at=NOW,
                          payment_id=str(uuid.uuid4()) if status == "paid" else None)


def push(t: TenantCtx, outlet_id: str, secret: str, attempts: list[PaymentAttempt]) -> PushResponse:
    epoch, entries = str(uuid.uuid4()), []
    prev = genesis_hash(epoch)
    for seq, a in enumerate(attempts, 1):
        body = event_encoder.encode(PaymentAttemptEvent(attempt=a))
        digest = chain_hash(prev, seq, body)
        entries.append(JournalEntry(outlet_id=outlet_id, epoch=epoch, seq=seq,
                                    event_id=str(uuid.uuid4()), occurred_at=NOW, body=body,
                                    prev_hash=prev, hash=digest))
        prev = digest
    reply = httpx.post(t.server.base_url + "/api/v1/sync/push", timeout=30,
                       content=encode_frame(PushRequest(outlet_id=outlet_id, epoch=epoch,
                                                        entries=entries)),
                       headers={"Content-Type": MEDIA_TYPE, "Authorization": f"Bearer {secret}"})
    assert reply.status_code == 200, reply.text
    return decode_frame(reply.content, PushResponse)


def test_report_and_reconciliation(tenant_factory, pg_url: str) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Reconciled")
    assert t.client.put(f"/api/v1/outlets/{outlet['id']}/payment-gateway", json={
        "provider": "midtrans", "server_key": SERVER_KEY}).status_code == 200
    secret = enroll(t, outlet["id"])
    matched, unconfirmed, mismatched = attempt("pending", 20000), attempt("paid", 15000), \
        attempt("paid", 30000)
    static, expired, wallet = attempt("paid", 12000, gateway="static"), attempt("expired", 9000), \
        attempt("paid", 8000, gateway="xendit", method="ewallet", late=True)
    paid_matched = PaymentAttempt(**{**{f: getattr(matched, f) for f in matched.__struct_fields__},
                                     "status": "paid", "payment_id": str(uuid.uuid4())})
    result = push(t, outlet["id"], secret, [matched, unconfirmed, mismatched, static, expired,
                                            wallet, paid_matched])
    assert (result.status, result.applied, result.quarantined) == ("ok", 7, [])
    with psycopg.connect(pg_url) as conn:
        held = conn.execute("SELECT status, edge_seq FROM hub_payment_attempts WHERE id = %s",
                            (matched.id,)).fetchone()
    assert held == ("paid", 7)  # the newer snapshot won

    url = t.server.base_url + MIDTRANS_PATH
    stray = str(uuid.uuid4())  # the gateway took money for an attempt the outlet never recorded
    for body in (midtrans_body(matched.id, outlet["id"], amount="20000.00"),
                 midtrans_body(mismatched.id, outlet["id"], amount="3000.00"),
                 midtrans_body(stray, outlet["id"], amount="5000.00")):
        assert httpx.post(url, json=body).status_code == 200

    report = t.client.get("/api/v1/reports/payments", params={"from": TODAY, "to": TODAY,
                                                              "outlet_id": outlet["id"]})
    assert report.status_code == 200, report.text
    r = report.json()
    assert r["totals"]["attempts"] == 6 and r["totals"]["paid"] == 5
    assert r["totals"]["expired"] == 1 and r["totals"]["late"] == 1
    assert r["totals"]["success_rate"] == round(5 / 6, 4)
    assert r["totals"]["paid_amount"] == 20000 + 15000 + 30000 + 12000 + 8000
    by_method = {m["method"]: m for m in r["by_method"]}
    assert by_method["ewallet"]["paid"] == 1 and by_method["qris"]["attempts"] == 5
    assert {g["gateway"] for g in r["by_gateway"]} == {"midtrans", "xendit", "static"}

    rec = t.client.get("/api/v1/reports/payments/reconciliation",
                       params={"day": TODAY, "outlet_id": outlet["id"]})
    assert rec.status_code == 200, rec.text
    (found,) = rec.json()["outlets"]
    kinds = sorted((d["kind"], d["gateway_order_id"]) for d in found["differences"])
    assert kinds == sorted([("recorded_not_confirmed", unconfirmed.id),
                            ("recorded_not_confirmed", wallet.id),
                            ("amount_mismatch", mismatched.id),
                            ("unverified_static", static.id),
                            ("confirmed_not_recorded", stray)])
    assert found["confirmed"] == {"count": 3, "amount": 28000}

    # the daily job stores it (run for "tomorrow's yesterday" = today), once per outlet and day
    async def run_job() -> dict[str, Any]:
        db = Database(pg_url)
        try:
            async with db.system() as session:
                return await reconcile_job(session, HubSettings(jwt_secret=JWT_SECRET),
                                           now=NOW + timedelta(days=1))
        finally:
            await db.dispose()

    import asyncio
    assert asyncio.run(run_job())["differences"] >= 5
    assert asyncio.run(run_job())["differences"] >= 5
    with psycopg.connect(pg_url) as conn:
        stored = conn.execute("SELECT differences FROM payment_reconciliations WHERE outlet_id = %s",
                              (outlet["id"],)).fetchall()
    assert stored == [(5,)]
    again = t.client.get("/api/v1/reports/payments/reconciliation",
                         params={"day": TODAY, "outlet_id": outlet["id"]}).json()
    assert again["outlets"][0]["last_run_at"] is not None

    # scoped roles: only their outlets; bad input: 400
    _, manager = t.create_user("outlet_manager", [t.create_outlet("Elsewhere")["id"]])
    assert manager.get("/api/v1/reports/payments", params={
        "from": TODAY, "to": TODAY, "outlet_id": outlet["id"]}).status_code == 403
    assert manager.get("/api/v1/reports/payments", params={"from": TODAY, "to": TODAY}
                       ).json()["totals"]["attempts"] == 0
    for params in ({"from": TODAY}, {"from": "2026-13-01", "to": TODAY},
                   {"from": "2020-01-01", "to": "2026-01-01"}):
        assert t.client.get("/api/v1/reports/payments", params=params).status_code == 400
    assert t.client.get("/api/v1/reports/payments/reconciliation").status_code == 400
