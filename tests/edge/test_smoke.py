"""The edge comes up from the CLI and answers health, auth and the menu."""

from __future__ import annotations

from pathlib import Path

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


def test_the_server_runs_on_the_standard_event_loop(edge_server: EdgeServer) -> None:
    """uvicorn's default picks uvloop, which left some connections waiting seconds under load
    (edge/cli.py says why): the serving process must not even have loaded it."""
    assert edge_server.proc is not None
    edge_server.call("GET", "/api/health")
    mapped = Path(f"/proc/{edge_server.proc.pid}/maps").read_text()
    assert "_asyncio" in mapped and "uvloop" not in mapped
