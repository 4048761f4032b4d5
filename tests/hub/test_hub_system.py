"""Health, metrics, OpenAPI, the dashboard mount and the one JSON error shape, on both
backends (PostgreSQL and SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from tests.hub.conftest import JWT_SECRET, POS_HUB, REPO, HubServer, free_port


@pytest.fixture(params=["postgres", "sqlite"])
def server(request: pytest.FixtureRequest) -> HubServer:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("hub_server")
    return request.getfixturevalue("sqlite_hub_server")


def test_health_needs_no_token(server: HubServer) -> None:
    body = httpx.get(server.base_url + "/api/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["backend"] in {"postgresql", "sqlite"} and body["version"]


def test_metrics_count_requests_by_route_template(server: HubServer, tenant_factory) -> None:
    t = tenant_factory(server=server)
    outlet = t.create_outlet("Metrics", "Asia/Jakarta")
    t.client.get(f"/api/v1/outlets/{outlet['id']}")
    t.client.get("/api/v1/outlets/nope")
    text = httpx.get(server.base_url + "/metrics").text
    assert "hub_http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/outlets/{outlet_id}",status="200"' in text
    assert 'route="/api/v1/outlets/{outlet_id}",status="404"' in text
    assert outlet["id"] not in text  # ids never become label values


def test_openapi_lists_hub_endpoints(server: HubServer) -> None:
    schema = httpx.get(server.base_url + "/schema/openapi.json").json()
    for path in ("/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/outlets",
                 "/api/v1/brands/{brand_id}/publish", "/api/v1/fleet", "/api/v1/audit"):
        assert path in schema["paths"], path


def test_openapi_describes_the_sales_report_response(server: HubServer) -> None:
    schema = httpx.get(server.base_url + "/schema/openapi.json").json()

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    answer = schema["paths"]["/api/v1/reports/sales"]["get"]["responses"]["200"]
    report = resolve(answer["content"]["application/json"]["schema"])
    assert {"from", "to", "order_count", "gross_total", "voids", "payment_success", "by_outlet",
            "by_day", "by_hour", "by_product", "by_payment_method", "kitchen",
            "source"} <= set(report["properties"])
    assert set(resolve(report["properties"]["voids"])["properties"]) == {"count", "amount"}
    products = report["properties"]["by_product"]
    assert set(resolve(products["items"])["properties"]) == {"product_id", "name", "qty",
                                                             "revenue"}


def test_root_redirects_to_dashboard(server: HubServer) -> None:
    response = httpx.get(server.base_url + "/", follow_redirects=False)
    assert response.status_code in {301, 302, 307} and response.headers["location"] == "/dashboard/"
    dashboard = httpx.get(server.base_url + "/dashboard/")
    assert dashboard.status_code == 200 and "text/html" in dashboard.headers["content-type"]


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/api/v1/no-such-thing", None, 404),
    ("DELETE", "/api/v1/fleet", None, 405),
    ("POST", "/api/v1/auth/login", "not json", 400),
    ("POST", "/api/v1/auth/login", {"email": ["x"], "password": "p"}, 400),
    ("GET", "/api/v1/brands", None, 401),
])
def test_errors_have_one_json_shape(server: HubServer, method: str, path: str, body: object,
                                    status: int) -> None:
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    response = httpx.request(method, server.base_url + path, **kwargs)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]


def test_bad_input_on_authenticated_endpoints_is_4xx(server: HubServer, tenant_factory) -> None:
    t = tenant_factory(server=server)
    cases = [
        ("POST", "/api/v1/brands", {"name": 7}),
        ("POST", "/api/v1/brands", {}),
        ("PATCH", "/api/v1/brands/" + t.brand_id, {"nme": "typo"}),
        ("POST", "/api/v1/catalog/products", {"brand_id": t.brand_id}),
        ("PUT", "/api/v1/outlets/x/prices/y", {"price": "free"}),
        ("GET", "/api/v1/outlets/x/catalog?version=zero", None),
        ("GET", "/api/v1/catalog/products?include_archived=maybe", None),
        ("POST", f"/api/v1/brands/{'x' * 70}/publish", None),
        ("PATCH", "/api/v1/users/nobody", {"role": "god"}),
    ]
    for method, path, body in cases:
        response = t.client.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_database_down_is_503_not_500(tmp_path) -> None:
    """A hub whose database does not answer: health says so, requests get 503."""
    port = free_port()
    env = {**os.environ, "POS_HUB_JWT_SECRET": JWT_SECRET, "POS_HUB_DATA_DIR": str(tmp_path),
           "POS_HUB_SCHEDULER_ENABLED": "false"}
    process = subprocess.Popen([*POS_HUB, "serve", "--db", "postgresql://postgres@127.0.0.1:1/x",
                                "--port", str(port), "--no-migrate"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                health = httpx.get(base + "/api/health", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        token = jwt.encode({"sub": "u", "tid": "t", "role": "owner", "typ": "access", "ver": 0,
                            "iat": int(time.time()), "exp": int(time.time()) + 60,
                            "iss": "pos-hub"}, JWT_SECRET, algorithm="HS256")
        response = httpx.get(base + "/api/v1/tenant", headers={"Authorization": f"Bearer {token}"},
                             timeout=10)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
        login = httpx.post(base + "/api/v1/auth/login", json={"email": "a@b.c", "password": "x"},
                           timeout=10)
        assert login.status_code == 503
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_request_id_tags_response_and_log_lines(server: HubServer, tenant_factory) -> None:
    t = tenant_factory(server=server)
    response = httpx.post(server.base_url + "/api/v1/auth/login",
                          json={"email": t.email, "password": t.password},
                          headers={"X-Request-Id": "req-test-42"})
    assert response.headers["x-request-id"] == "req-test-42"
    fresh = httpx.get(server.base_url + "/api/health").headers["x-request-id"]
    assert uuid.UUID(fresh).version == 7  # minted by shared.logs when none is sent
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    login_lines = [line for line in lines if line.get("request_id") == "req-test-42"]
    assert any(line["msg"] == "login" for line in login_lines)
    assert t.password not in server.log()
    assert response.json()["access_token"] not in server.log()


def test_the_server_runs_on_the_standard_event_loop(server: HubServer) -> None:
    """uvicorn's default picks uvloop, which served some connections seconds late under load
    (hub/cli.py says why): the serving process must not even have loaded it."""
    assert httpx.get(f"{server.base_url}/api/health", timeout=5).status_code == 200
    mapped = open(f"/proc/{server.process.pid}/maps").read()
    assert "_asyncio" in mapped and "uvloop" not in mapped
