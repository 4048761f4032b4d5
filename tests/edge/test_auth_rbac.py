"""Tokens and roles through HTTP: who may do what on the edge, and how refusals look."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.edge.edge_server import EdgeServer, run_cli
from tests.edge.test_orders import THREE_LINES, place


def error_of(res: Any, status: int, code: str) -> dict[str, Any]:
    assert res.status_code == status, res.text
    error = res.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def test_public_and_protected_routes(shared_edge: EdgeServer) -> None:
    for path in ("/api/health", "/metrics", "/schema/openapi.json", "/kiosk/", "/kds/"):
        assert shared_edge.request("GET", path).status_code == 200, path
    for method, path in (("GET", "/api/v1/menu"), ("GET", "/api/v1/orders"), ("GET", "/api/v1/me"),
                         ("POST", "/api/v1/orders"), ("GET", "/api/v1/kitchen/tickets")):
        error_of(shared_edge.request(method, path), 401, "unauthorized")
    error_of(shared_edge.request("GET", "/api/v1/menu", "dev_not-a-real-token"), 401, "unauthorized")
    error_of(shared_edge.request("GET", "/api/v1/menu", "not.a.jwt"), 401, "unauthorized")
    res = shared_edge.request("GET", "/api/v1/menu", headers={"Authorization": "Basic abc"})
    error_of(res, 401, "unauthorized")
    assert shared_edge.request("GET", "/api/v1/nothing-here", shared_edge.tokens["kiosk"]).status_code == 404


def test_openapi_lists_the_core_routes(shared_edge: EdgeServer) -> None:
    spec = shared_edge.call("GET", "/schema/openapi.json")
    for path in ("/api/v1/orders", "/api/v1/orders/{order_id}/payments", "/api/v1/menu",
                 "/api/v1/auth/login", "/api/health"):
        assert path in spec["paths"], path


@pytest.mark.parametrize(("who", "method", "path", "body", "permission"), [
    ("kiosk", "POST", "/api/v1/orders/{id}/payments", {"method": "cash", "amount": 1000}, "payments:take"),
    ("kiosk", "POST", "/api/v1/orders/{id}/void", {"reason": "x"}, "orders:void"),
    ("kiosk", "POST", "/api/v1/orders/{id}/complete", None, "orders:advance"),
    ("cashier", "POST", "/api/v1/orders/{id}/payments", {"method": "cash", "amount": 1000}, "payments:take"),
    ("kds", "POST", "/api/v1/orders", THREE_LINES, "orders:create"),
    ("kds", "POST", "/api/v1/orders/{id}/void", {"reason": "x"}, "orders:void"),
    ("kiosk", "GET", "/api/v1/kitchen/tickets", None, "kitchen:read"),
    ("kitchen", "POST", "/api/v1/orders/{id}/payments", {"method": "cash", "amount": 1000}, "payments:take"),
    ("kitchen", "POST", "/api/v1/orders/{id}/void", {"reason": "x"}, "orders:void"),
    ("cashier_staff", "POST", "/api/v1/kitchen/tickets/{ticket}/bump", None, "kitchen:bump"),
])
def test_role_denials(shared_edge: EdgeServer, who: str, method: str, path: str,
                      body: Any, permission: str) -> None:
    order = place(shared_edge)
    kds = shared_edge.tokens["kds"]
    ticket = next(t for t in shared_edge.call("GET", "/api/v1/kitchen/tickets", kds)["items"]
                  if t["order_id"] == order["id"])
    tokens = {"kiosk": shared_edge.tokens["kiosk"], "cashier": shared_edge.tokens["cashier"],
              "kds": kds, "kitchen": shared_edge.login("kitchen"),
              "cashier_staff": shared_edge.login("cashier")}
    res = shared_edge.request(method, path.format(id=order["id"], ticket=ticket["id"]), tokens[who],
                              json=body)
    error = error_of(res, 403, "forbidden")
    assert error["details"] == {"permission": permission}
    after = shared_edge.call("GET", f"/api/v1/orders/{order['id']}", shared_edge.tokens["cashier"])
    assert (after["status"], after["paid"]) == ("in_kitchen", 0)  # nothing happened


def test_discounts_need_a_manager(shared_edge: EdgeServer) -> None:
    body = {**THREE_LINES, "discount": 10_000, "discount_reason": "regular"}
    for token in (shared_edge.tokens["kiosk"], shared_edge.login("cashier")):
        res = shared_edge.request("POST", "/api/v1/orders", token, json=body)
        assert error_of(res, 403, "forbidden")["details"] == {"permission": "orders:discount"}
    order = place(shared_edge, body, token=shared_edge.login("manager"))
    # 92,000 + 5% service + 10% PB1 = 106,260, charged 106,300 (the demo rounds to Rp 100)
    assert (order["discount"], order["subtotal"], order["total"]) == (10_000, 102_000, 106_300)


def test_kiosk_orders_and_kitchen_bumps(shared_edge: EdgeServer) -> None:
    order = place(shared_edge)
    kitchen = shared_edge.login("kitchen")
    tickets = [t for t in shared_edge.call("GET", "/api/v1/kitchen/tickets", kitchen)["items"]
               if t["order_id"] == order["id"]]
    for ticket in tickets:
        shared_edge.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kitchen)
    assert shared_edge.call("GET", f"/api/v1/orders/{order['id']}", kitchen)["status"] == "ready"


def test_pin_login(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    cashier_device = edge_server.tokens["cashier"]
    manager_pin = edge_server.pins["manager"]
    res = edge_server.request("POST", "/api/v1/auth/login", cashier_device, json={"pin": manager_pin})
    body = res.json()
    assert res.status_code == 200 and body["staff"]["role"] == "manager"
    assert body["expires_in"] > 0 and manager_pin not in res.text.replace(body["access_token"], "")
    me = edge_server.call("GET", "/api/v1/me", body["access_token"])
    assert (me["device_role"], me["staff"]["name"]) == ("cashier", "Dewi")
    # A staff token cannot log in again, a PIN is digits, and the body is checked.
    error_of(edge_server.request("POST", "/api/v1/auth/login", body["access_token"],
                                 json={"pin": "1234"}), 401, "unauthorized")
    error_of(edge_server.request("POST", "/api/v1/auth/login", cashier_device, json={}),
             400, "validation_failed")
    # A tampered token is refused.
    token = body["access_token"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    error_of(edge_server.request("GET", "/api/v1/me", tampered), 401, "unauthorized")


def test_wrong_pins_are_throttled_per_device(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    kiosk = edge_server.pair("cashier", "throttled-till")
    for _ in range(5):
        error_of(edge_server.request("POST", "/api/v1/auth/login", kiosk, json={"pin": "0000"}),
                 401, "unauthorized")
    error_of(edge_server.request("POST", "/api/v1/auth/login", kiosk, json={"pin": "1234"}),
             429, "rate_limited")
    # Another device is not affected.
    assert edge_server.login_pin("1234", edge_server.tokens["cashier"])
    logged = [json.loads(line) for line in edge_server.log().splitlines() if line.startswith("{")]
    assert not [line for line in logged if any("pin" in key.lower() for key in line)]


def test_revoked_device_and_its_staff_tokens_stop_working(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    device = edge_server.pair("cashier", "to-be-revoked")
    staff = edge_server.login_pin(edge_server.pins["cashier"], device)
    me = edge_server.call("GET", "/api/v1/me", device)
    run_cli("revoke-device", "--data-dir", str(edge_server.data_dir), me["device_id"])
    deadline = time.monotonic() + 10  # the token cache holds an answer for a few seconds
    while time.monotonic() < deadline:
        if edge_server.request("GET", "/api/v1/me", device).status_code == 401:
            break
        time.sleep(0.2)
    error_of(edge_server.request("GET", "/api/v1/me", device), 401, "unauthorized")
    error_of(edge_server.request("GET", "/api/v1/me", staff), 401, "unauthorized")
    assert edge_server.call("GET", "/api/v1/me", edge_server.tokens["cashier"])  # others unaffected


def test_staff_cli_adds_a_pin_that_logs_in(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    out = run_cli("staff", "add", "--data-dir", str(edge_server.data_dir), "--name", "Rina",
                  "--role", "cashier", "--pin", "86420").stdout
    assert "86420" not in out
    token = edge_server.login_pin("86420", edge_server.tokens["cashier"])
    assert edge_server.call("GET", "/api/v1/me", token)["staff"]["name"] == "Rina"
    dup = run_cli("staff", "add", "--data-dir", str(edge_server.data_dir), "--name", "Other",
                  "--role", "cashier", "--pin", "86420", check=False)
    assert dup.returncode != 0 and "already used" in dup.stderr


def test_request_logs_are_json_lines_without_secrets(shared_edge: EdgeServer) -> None:
    edge_server = shared_edge
    assert edge_server.request("GET", "/api/v1/orders").status_code == 401
    order = place(edge_server)
    edge_server.login("manager")
    lines = [json.loads(line) for line in edge_server.log().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("msg") == "request"]
    created = next(r for r in requests if r.get("order_id") == order["id"])
    assert (created["status"], created["method"], created["path"]) == (201, "POST", "/api/v1/orders")
    assert any(r["status"] == 401 for r in requests)  # refusals are logged too
    assert created["outlet_id"] == order["outlet_id"] and created["request_id"] and created["ms"] >= 0
    text = edge_server.log()
    for secret in edge_server.tokens.values():
        assert secret not in text
