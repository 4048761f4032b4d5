"""The edge comes up from the CLI and answers health, auth and the menu."""

from __future__ import annotations

from tests.edge.edge_server import EdgeServer


def test_health_me_and_menu(edge_server: EdgeServer) -> None:
    health = edge_server.call("GET", "/api/health")
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["disk_free_bytes"] > 0 and health["outbox_backlog"] == 0
    me = edge_server.call("GET", "/api/v1/me", edge_server.tokens["kiosk"])
    assert me["device_role"] == "kiosk" and me["staff"] is None
    menu = edge_server.menu()
    assert len(menu["products"]) >= 30 and len(menu["categories"]) >= 5
    staff = edge_server.login("manager")
    me = edge_server.call("GET", "/api/v1/me", staff)
    assert me["staff"]["role"] == "manager" and me["device_role"] == "cashier"
