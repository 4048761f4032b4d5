"""Fuzz every operation of the hub's OpenAPI schema on a real ``pos-hub serve`` (issue 9).

schemathesis (tests/openapi_fuzz.py) runs examples, coverage, fuzzing and the stateful phase
against ``/schema/openapi.json`` of the session's hub on PostgreSQL, with the owner token of a
tenant of its own (row-level security keeps the other tests' tenants out of its reach). The
tenant is seeded with two outlets, a category, products, a modifier group, a published
catalog, staff, an outlet manager and an enrolled box, whose ids the fuzzer is given. The sync
routes take a box's credential, not a user's token, so ``GET /api/v1/sync/pull`` and
``POST /api/v1/sync/push`` are sent with the box's credential (the frames themselves are
attacked by test_security_frames.py). Expected: no 5xx, every error in the project's shape,
every 2xx as documented, and 2xx answers from the operations that change the catalog,
outlets, prices, staff and users.

No operation is excluded, and every generated request is sent. A few are redirected
(``redirect`` below) to another id of the same kind, because they would end the run's own
access: a change of the owner's own account (a password or outlet change ends the owner's
tokens at once, security M2) goes to the outlet manager instead, and a revocation or update of
the enrolled box's outlet (it would end the box's credential) goes to the other outlet.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.protocol import MEDIA_TYPE, EnrollRequest, EnrollResponse, decode_frame, encode_frame
from tests.hub.conftest import HubServer, TenantCtx
from tests.openapi_fuzz import fuzz

pytestmark = pytest.mark.postgres

MUST_REACH = {
    "POST /api/v1/outlets",
    "PATCH /api/v1/outlets/{outlet_id}",
    "POST /api/v1/catalog/categories",
    "POST /api/v1/catalog/products",
    "PATCH /api/v1/catalog/products/{product_id}",
    "POST /api/v1/catalog/modifier-groups",
    "PUT /api/v1/outlets/{outlet_id}/prices/{product_id}",
    "PUT /api/v1/outlets/{outlet_id}/availability/{product_id}",
    "POST /api/v1/brands/{brand_id}/publish",
    "GET /api/v1/outlets/{outlet_id}/catalog",
    "PATCH /api/v1/staff/{staff_id}",
    "PATCH /api/v1/users/{user_id}",
    "GET /api/v1/reports/sales",
    "GET /api/v1/sync/pull",
}

# Operations of MUST_REACH that answer 2xx to few generated requests (their bodies or paths
# must name a real brand, category, group, outlet or product) get more of them than the
# others' 3 (examples per operation in the fuzzing phase; the coverage phase sends every case
# the schema defines whatever the count).
MORE_EXAMPLES = {
    "POST /api/v1/outlets": 12,
    "PATCH /api/v1/outlets/{outlet_id}": 12,
    "POST /api/v1/catalog/products": 12,
    "PATCH /api/v1/catalog/products/{product_id}": 12,
    "PUT /api/v1/outlets/{outlet_id}/prices/{product_id}": 8,
    "PUT /api/v1/outlets/{outlet_id}/availability/{product_id}": 8,
    "GET /api/v1/outlets/{outlet_id}/catalog": 8,
    "GET /api/v1/reports/sales": 8,
}


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


def seed(hub: HubServer, t: TenantCtx) -> dict[str, Any]:
    """The tenant's first objects, made through the API as head office makes them."""
    c = t.client
    main, boxed = t.create_outlet("Fuzz Main"), t.create_outlet("Fuzz Boxed")
    category = _created(c.post("/api/v1/catalog/categories",
                               json={"brand_id": t.brand_id, "name": "Drinks"}))
    group = _created(c.post("/api/v1/catalog/modifier-groups", json={
        "brand_id": t.brand_id, "name": "Size",
        "options": [{"name": "Regular"}, {"name": "Large", "price_delta": 5000}]}))
    products = [_created(c.post("/api/v1/catalog/products", json={
        "brand_id": t.brand_id, "category_id": category["id"], "name": f"Tea {n}",
        "price": 12000, "modifier_group_ids": [group["id"]]})) for n in range(2)]
    _created(c.post(f"/api/v1/brands/{t.brand_id}/publish", json={}))
    staff = _created(c.post("/api/v1/staff", json={
        "name": "Sari", "role": "cashier", "outlet_ids": [main["id"]]}))
    manager, _ = t.create_user("outlet_manager", [main["id"]])
    owner_id = c.get("/api/v1/me").json()["user_id"]
    code = _created(c.post(f"/api/v1/outlets/{boxed['id']}/enrollment-codes", json={}))["code"]
    reply = httpx.post(hub.base_url + "/api/v1/enrollment/redeem", timeout=30,
                       content=encode_frame(EnrollRequest(code=code,
                                                          device_key="dk_" + uuid.uuid4().hex)),
                       headers={"Content-Type": MEDIA_TYPE})
    assert reply.status_code == 200, reply.text
    credential = decode_frame(reply.content, EnrollResponse).credential
    outlets = [main["id"], boxed["id"]]
    return {
        "credential": credential,
        "dictionaries": {
            "brands": [t.brand_id], "outlets": outlets, "categories": [category["id"]],
            "products": [p["id"] for p in products], "groups": [group["id"]],
            "staff": [staff["id"]], "users": [owner_id, manager["id"]],
            "timezones": ["Asia/Jakarta", "Asia/Makassar", "UTC"],
            "days": ["2026-01-01", "2026-11-30", "2027-12-31"]},
        "redirect": [
            {"method": "PATCH", "path": "/api/v1/users/{user_id}", "param": "user_id",
             "value": owner_id, "instead": manager["id"],
             "why": "a password or outlet change of the owner ends the run's token"},
            *({"method": method, "path": path, "param": "outlet_id", "value": boxed["id"],
               "instead": main["id"], "why": "keeps the enrolled box's credential alive"}
              for method, path in (
                  ("PATCH", "/api/v1/outlets/{outlet_id}"),
                  ("POST", "/api/v1/outlets/{outlet_id}/sync-credentials/revoke"),
                  ("POST", "/api/v1/outlets/{outlet_id}/sync-credentials/{credential_id}/revoke"),
              ))],
    }


def test_fuzzing_the_hub_schema_finds_no_server_error(
        hub_server: HubServer, tenant_factory: Callable[..., TenantCtx], tmp_path: Path) -> None:
    t = tenant_factory(name=f"Fuzz{uuid.uuid4().hex[:6]}")
    seeded = seed(hub_server, t)
    box = {"Authorization": f"Bearer {seeded['credential']}"}
    started = time.monotonic()
    run = fuzz(hub_server.base_url, tmp_path, token=t.access_token, max_examples=3, max_steps=8,
               max_scenarios=2,
               dictionaries=seeded["dictionaries"],
               parameters={"path.brand_id": "brands", "query.brand_id": "brands",
                           "body.brand_id": "brands", "path.outlet_id": "outlets",
                           "query.outlet_id": "outlets", "body.outlet_ids[*]": "outlets",
                           "path.category_id": "categories", "body.category_id": "categories",
                           "query.category_id": "categories", "path.product_id": "products",
                           "path.group_id": "groups", "body.modifier_group_ids[*]": "groups",
                           "path.staff_id": "staff", "path.user_id": "users",
                           "body.timezone": "timezones", "query.from": "days",
                           "query.to": "days"},
               operations=[*({"include-path": path, "headers": box}
                             for path in ("/api/v1/sync/pull", "/api/v1/sync/push")),
                           *({"include-name": name, "generation": {"max-examples": examples}}
                             for name, examples in MORE_EXAMPLES.items())],
               redirect=seeded["redirect"])
    elapsed = time.monotonic() - started
    print(f"hub fuzz: {run.report['test_cases']['generated']} cases in {elapsed:.1f} s")
    assert run.failures == [], run.summary()
    assert run.returncode == 0, run.summary()
    operations = run.report["operations"]
    assert operations["tested"] == operations["total"] == operations["selected"], operations
    assert run.report["phases"]["stateful"]["status"] == "success", run.report["phases"]
    assert MUST_REACH <= run.accepted(), sorted(MUST_REACH - run.accepted())
    # the owner's token still works: the run was not cut short by its own requests
    assert t.client.get("/api/v1/me").status_code == 200
    assert hub_server.process.poll() is None, "the hub is still serving"
