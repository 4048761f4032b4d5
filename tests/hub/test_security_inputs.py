"""Inputs that used to make the hub answer 500 (issue 9, the hub's "Low" items), through a
real ``pos-hub serve`` on PostgreSQL: each now gets a 4xx JSON error naming what is wrong.

* a NUL character in a JSON string or key (PostgreSQL text and JSON cannot hold it);
* JSON nested 1,000 deep (the decoder's recursion ran out), and nesting past 32 levels;
* an outlet's ``settings`` sent as a list (Litestar filed the body error under our
  ``settings`` dependency, a server fault);
* a catalog ``sort`` past the 32-bit column;
* ``%00`` in a static dashboard path or any other URL;
* and, the other way round, a NUL inside an event an older edge journaled: the hub stores the
  order (the NUL becomes U+FFFD) instead of quarantining it forever.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from shared.journal import chain_hash, genesis_hash
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    JournalEntry,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    TaxConfig,
    event_encoder,
)
from sync.protocol import (
    MEDIA_TYPE,
    EnrollRequest,
    EnrollResponse,
    PushRequest,
    PushResponse,
    decode_frame,
    encode_frame,
)

pytestmark = pytest.mark.postgres


def refused(reply: httpx.Response, status: int = 400) -> dict[str, Any]:
    """The error of a 4xx JSON answer (never a 500)."""
    assert reply.status_code == status, (reply.status_code, reply.text)
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


def post_json(client: httpx.Client, path: str, raw: str, method: str = "POST") -> httpx.Response:
    return client.request(method, path, content=raw.encode(),
                          headers={"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def owner(tenant_factory):
    return tenant_factory()


def test_nul_in_a_json_string_or_key_is_a_400_naming_the_field(owner) -> None:
    name = refused(post_json(owner.client, "/api/v1/outlets",
                             '{"name": "Kopi\\u0000", "timezone": "Asia/Jakarta"}'))
    assert name["code"] == "validation_failed" and name["details"] == {"field": "name"}
    assert "NUL" in name["message"]
    nested = refused(post_json(owner.client, "/api/v1/outlets",
                               '{"name": "Kopi", "timezone": "Asia/Jakarta",'
                               ' "settings": {"printers": ["ok", "bad\\u0000"]}}'))
    assert nested["details"] == {"field": "settings.printers[1]"}
    key = refused(post_json(owner.client, "/api/v1/outlets",
                            '{"name": "Kopi", "timezone": "Asia/Jakarta",'
                            ' "settings": {"a\\u0000b": 1}}'))
    assert key["details"]["field"].startswith("settings.a")
    # an escaped backslash followed by "u0000" is six ordinary characters, and is stored
    ok = post_json(owner.client, "/api/v1/outlets",
                   '{"name": "Kopi \\\\u0000", "timezone": "Asia/Jakarta"}')
    assert ok.status_code == 201 and ok.json()["name"] == "Kopi \\u0000", ok.text
    # the catalog and users routes take the same check (every JSON body does)
    category = refused(post_json(owner.client, "/api/v1/catalog/categories",
                                 f'{{"brand_id": "{owner.brand_id}", "name": "Mi\\u0000"}}'))
    assert category["details"] == {"field": "name"}
    login = refused(httpx.post(owner.server.base_url + "/api/v1/auth/login",
                               content=b'{"email": "a\\u0000@b.c", "password": "x"}',
                               headers={"Content-Type": "application/json"}, timeout=30))
    assert login["details"] == {"field": "email"}


def test_json_nested_a_thousand_deep_is_a_400(owner) -> None:
    arrays = "[" * 1000 + "]" * 1000
    error = refused(post_json(owner.client, "/api/v1/outlets", arrays))
    assert error["code"] == "validation_failed" and "nested" in error["message"]
    objects = ('{"name": "Deep", "timezone": "Asia/Jakarta", "settings": '
               + '{"a": ' * 1000 + "1" + "}" * 1000 + "}")
    assert "nested" in refused(post_json(owner.client, "/api/v1/outlets", objects))["message"]
    # deep enough to pass the decoder, too deep to store and copy into the audit log
    forty = ('{"name": "Deep", "timezone": "Asia/Jakarta", "settings": '
             + '{"a": ' * 40 + "1" + "}" * 40 + "}")
    error = refused(post_json(owner.client, "/api/v1/outlets", forty))
    assert "nested deeper than 32" in error["message"]
    assert error["details"]["field"].startswith("settings.a.a")
    # the unauthenticated login route is no different
    login = refused(httpx.post(owner.server.base_url + "/api/v1/auth/login",
                               content=arrays.encode(),
                               headers={"Content-Type": "application/json"}, timeout=30))
    assert login["code"] == "validation_failed"


def test_outlet_settings_sent_as_a_list_is_a_400(owner) -> None:
    created = refused(owner.client.post("/api/v1/outlets", json={
        "name": "Listy", "timezone": "Asia/Jakarta", "settings": [1, 2]}))
    assert created["code"] == "validation_failed"
    assert created["details"]["field"] == "settings", created
    outlet = owner.create_outlet("Listy")
    patched = refused(owner.client.patch(f"/api/v1/outlets/{outlet['id']}",
                                         json={"settings": ["kitchen_trigger"]}))
    assert patched["details"]["field"] == "settings"
    assert owner.client.get(f"/api/v1/outlets/{outlet['id']}").json()["settings"] == {}


def test_a_sort_past_int32_is_a_400_naming_the_field(owner) -> None:
    client, brand = owner.client, owner.brand_id
    too_big = 2**31
    error = refused(client.post("/api/v1/catalog/categories",
                                json={"brand_id": brand, "name": "Huge", "sort": too_big}))
    assert error["code"] == "validation_failed" and error["details"]["field"] == "sort"
    assert refused(client.post("/api/v1/catalog/categories", json={
        "brand_id": brand, "name": "Tiny", "sort": -(2**31) - 1}))["details"]["field"] == "sort"
    category = client.post("/api/v1/catalog/categories",
                           json={"brand_id": brand, "name": "Edge", "sort": 2**31 - 1})
    assert category.status_code == 201 and category.json()["sort"] == 2**31 - 1
    cid = category.json()["id"]
    assert refused(client.patch(f"/api/v1/catalog/categories/{cid}",
                                json={"sort": 10**30}))["details"]["field"] == "sort"
    product = {"brand_id": brand, "category_id": cid, "name": "Kopi", "price": 18000}
    assert refused(client.post("/api/v1/catalog/products",
                               json={**product, "sort": too_big}))["details"]["field"] == "sort"
    made = client.post("/api/v1/catalog/products", json=product)
    assert made.status_code == 201, made.text
    assert refused(client.patch(f"/api/v1/catalog/products/{made.json()['id']}",
                                json={"sort": too_big}))["details"]["field"] == "sort"
    group = refused(client.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": brand, "name": "Ice", "options": [{"name": "Less", "sort": 1},
                                                      {"name": "None", "sort": too_big}]}))
    assert group["details"]["field"] == "options[1].sort"


@pytest.mark.parametrize("path", ["/dashboard/%00", "/dashboard/app%00.js",
                                  "/dashboard/..%00/etc/passwd", "/api/v1/outlets/a%00b",
                                  "/api/v1/audit?entity_id=%00"])
def test_nul_in_a_url_is_a_400(owner, path: str) -> None:
    error = refused(owner.client.get(path))
    assert error["code"] == "bad_request" and "NUL" in error["message"]


def test_dashboard_still_serves_its_files(owner) -> None:
    page = httpx.get(owner.server.base_url + "/dashboard/", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()


# ---------------------------------------------------------------- a NUL from an older edge


def _enroll(owner) -> tuple[str, str]:
    outlet = owner.create_outlet(f"Old edge {uuid.uuid4().hex[:6]}")
    code = owner.client.post(f"/api/v1/outlets/{outlet['id']}/enrollment-codes", json={})
    frame = encode_frame(EnrollRequest(code=code.json()["code"], device_key="dk_" + uuid.uuid4().hex))
    reply = httpx.post(owner.server.base_url + "/api/v1/enrollment/redeem", content=frame,
                       headers={"Content-Type": MEDIA_TYPE}, timeout=30)
    assert reply.status_code == 200, reply.text
    return outlet["id"], decode_frame(reply.content, EnrollResponse).credential


def _order_with_nuls(outlet_id: str) -> Order:
    """What an edge from before the NUL check journaled for a kiosk note with a NUL in it."""
    tax = TaxConfig()
    totals = price_order([PricedLine(base_price=18000, qty=2)], tax)
    now = datetime.now(UTC)
    return Order(
        id=str(uuid.uuid4()), outlet_id=outlet_id, number=1, business_day=now.date().isoformat(),
        type="takeaway", status="placed", currency="IDR",
        lines=[OrderLine(id=str(uuid.uuid4()), product_id="p-kopi", name="Kopi\x00susu", qty=2,
                         unit_price=18000, line_total=36000, note="less\x00sugar")],
        subtotal=totals.subtotal, discount=0, service_charge=totals.service_charge, tax=totals.tax,
        rounding=totals.rounding, total=totals.total, note="table\x00 7",
        customer_name="Sari\x00", created_at=now, updated_at=now)


def test_a_nul_in_an_old_edges_event_is_stored_not_quarantined(owner) -> None:
    outlet_id, secret = _enroll(owner)
    order = _order_with_nuls(outlet_id)
    payment = Payment(id=str(uuid.uuid4()), order_id=order.id, method="card", amount=order.total,
                      reference="ref\x00", created_at=datetime.now(UTC))
    epoch, prev, entries = str(uuid.uuid4()), "", []
    prev = genesis_hash(epoch)
    for seq, event in enumerate([OrderEvent(order=order), PaymentEvent(payment=payment)], 1):
        body = event_encoder.encode(event)
        digest = chain_hash(prev, seq, body)
        entries.append(JournalEntry(outlet_id=outlet_id, epoch=epoch, seq=seq,
                                    event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC),
                                    body=body, prev_hash=prev, hash=digest))
        prev = digest
    frame = encode_frame(PushRequest(outlet_id=outlet_id, epoch=epoch, entries=entries,
                                     edge_version="fnbpos-edge/0.0.9"))
    reply = httpx.post(owner.server.base_url + "/api/v1/sync/push", content=frame,
                       headers={"Content-Type": MEDIA_TYPE, "Authorization": f"Bearer {secret}"},
                       timeout=30)
    assert reply.status_code == 200, reply.text
    result = decode_frame(reply.content, PushResponse)
    assert (result.status, result.acked_seq, result.applied, result.quarantined) == ("ok", 2, 2, [])
    with psycopg.connect(owner.server.db_url, autocommit=True) as conn:
        stored = conn.execute("SELECT note, customer_name, total FROM orders WHERE id = %s",
                              (order.id,)).fetchone()
        line = conn.execute("SELECT name, note FROM order_lines WHERE order_id = %s",
                            (order.id,)).fetchone()
        paid = conn.execute("SELECT reference FROM payments WHERE id = %s", (payment.id,)).fetchone()
        held = conn.execute("SELECT count(*) FROM sync_journal WHERE outlet_id = %s",
                            (outlet_id,)).fetchone()
        quarantined = conn.execute("SELECT count(*) FROM sync_quarantine WHERE outlet_id = %s",
                                   (outlet_id,)).fetchone()
    assert stored == ("table\ufffd 7", "Sari\ufffd", order.total)
    assert line == ("Kopi\ufffdsusu", "less\ufffdsugar")
    assert paid == ("ref\ufffd",)
    assert held == (2,) and quarantined == (0,)
