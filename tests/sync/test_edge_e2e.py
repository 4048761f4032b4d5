"""End to end through real processes: a provisioned `pos-edge serve` sells over its HTTP API and
the sync engine carries every order, payment and kitchen event to a real hub exactly once;
hub menu changes come down without undoing the outlet's own sold-out decision; a revoked box
keeps selling and keeps its outbox until re-enrolled."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.sync.conftest import (
    EdgeServer,
    issue_code,
    pg_query,
    publish_catalog,
    run_edge_cli,
    wait_for,
)

pytestmark = pytest.mark.postgres

FAST_SYNC = {"POS_SYNC_TICK": "0.1", "POS_SYNC_INTERVAL": "0.5", "POS_SYNC_PULL_INTERVAL": "0.5",
             "POS_SYNC_MIN_BACKOFF": "0.1", "POS_SYNC_MAX_BACKOFF": "0.5"}


@pytest.fixture(scope="module")
def outlet_box(hub_server, tenant_factory, tmp_path_factory):
    """One provisioned, serving outlet box shared by the tests below (in file order; the
    revocation test runs last)."""
    tenant = tenant_factory()
    products = publish_catalog(tenant, [("Nasi Goreng", 25_000), ("Es Teh", 5_000)])
    outlet = tenant.create_outlet(f"E2E {uuid.uuid4().hex[:4]}", timezone="Asia/Jakarta")
    box = tmp_path_factory.mktemp("e2e") / "box"
    done = run_edge_cli("provision", "--hub", hub_server.base_url, "--code",
                        issue_code(tenant, outlet["id"]).json()["code"], "--data-dir", str(box))
    assert done.returncode == 0, done.stderr
    assert run_edge_cli("staff", "add", "--data-dir", str(box), "--name", "Sari", "--role",
                        "cashier", "--pin", "2468").returncode == 0
    edge = EdgeServer(box, env=FAST_SYNC)
    edge.start()
    cashier = edge.login(edge.pair("cashier", "Till 1"), "2468")
    kds = edge.pair("kds", "Grill")
    yield tenant, outlet, products, edge, cashier, kds
    edge.stop()


def sell(edge: Any, cashier: str, kds: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
    order = edge.call("POST", "/api/v1/orders", cashier, {
        "type": "takeaway", "lines": [{"product_id": pid, "qty": qty} for pid, qty in lines]})
    paid = edge.call("POST", f"/api/v1/orders/{order['id']}/payments", cashier,
                     {"method": "card", "amount": order["total"], "reference": "APPR"})
    tickets = edge.call("GET", "/api/v1/kitchen/tickets?status=pending", kds)["items"]
    for ticket in [t for t in tickets if t["order_id"] == order["id"]]:
        edge.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kds)
    return paid


def sync_status(edge: Any, cashier: str) -> dict[str, Any]:
    return edge.call("GET", "/api/v1/sync/status", cashier)


def test_sales_reach_the_hub_exactly_once_with_matching_totals(hub_server, outlet_box):
    _, outlet, products, edge, cashier, kds = outlet_box
    nasi, teh = products[0]["id"], products[1]["id"]
    sold = [sell(edge, cashier, kds, [(nasi, 1 + n % 2), (teh, 2)]) for n in range(6)]
    status = wait_for(lambda: (s := sync_status(edge, cashier))["backlog"] == 0 and s, what="drain")
    assert isinstance(status["backlog"], int) and status["hub_reachable"] and status["last_push_at"]
    ids = [o["id"] for o in sold]
    rows = pg_query(hub_server.db_url, "SELECT id, total, paid, status FROM orders WHERE outlet_id = %s",
                    outlet["id"])
    assert {r[0]: (r[1], r[2]) for r in rows} == {o["id"]: (o["total"], o["total"]) for o in sold}
    assert {r[3] for r in rows} == {"ready"}  # the snapshot after the bump won
    payments = pg_query(hub_server.db_url, "SELECT order_id, amount FROM payments WHERE outlet_id = %s",
                        outlet["id"])
    assert sorted(payments) == sorted((o["id"], o["total"]) for o in sold)
    kitchen = pg_query(hub_server.db_url, "SELECT order_id, action FROM kitchen_events"
                       " WHERE outlet_id = %s", outlet["id"])
    assert sorted(kitchen) == sorted([(i, "created") for i in ids] + [(i, "bumped") for i in ids])
    lines = pg_query(hub_server.db_url, "SELECT sum(line_total) FROM order_lines WHERE outlet_id = %s",
                     outlet["id"])
    assert lines == [(sum(o["subtotal"] for o in sold),)]
    assert pg_query(hub_server.db_url, "SELECT count(*) FROM sync_alarms WHERE outlet_id = %s",
                    outlet["id"]) == [(0,)]
    cli = run_edge_cli("status", "--data-dir", str(edge.data_dir))
    assert "backlog:         0 event(s)" in cli.stdout and "(reachable)" in cli.stdout


def test_hub_menu_change_comes_down_and_local_sold_out_stays(hub_server, outlet_box):
    tenant, outlet, products, edge, cashier, _ = outlet_box
    nasi, teh = products[0]["id"], products[1]["id"]
    edge.call("PUT", f"/api/v1/menu/products/{teh}/availability", cashier, {"available": False})
    before = edge.call("GET", "/api/v1/menu", cashier)
    # head office changes an unrelated price and publishes
    changed = tenant.client.patch(f"/api/v1/catalog/products/{nasi}", json={"price": 27_000})
    assert changed.status_code == 200, changed.text
    assert tenant.client.post(f"/api/v1/brands/{tenant.brand_id}/publish").status_code in (200, 201)

    def menu_updated() -> dict[str, Any] | None:
        menu = edge.call("GET", "/api/v1/menu", cashier)
        return menu if menu["version"] > before["version"] else None

    menu = wait_for(menu_updated, what="new catalog on the edge")
    prices = {p["id"]: (p["price"], p["available"]) for p in menu["products"]}
    assert prices[nasi] == (27_000, True)
    assert prices[teh] == (5_000, False)  # the outlet's sold-out decision survived
    status = wait_for(lambda: (s := sync_status(edge, cashier))["catalog_version"] == menu["version"]
                      and s["catalog_verified_at"] and s, what="catalog verified")
    assert status["last_pull_at"] and status["last_error"] is None
    # and the hub heard about the sold-out decision
    wait_for(lambda: pg_query(hub_server.db_url, "SELECT available FROM edge_availability"
                              " WHERE outlet_id = %s AND product_id = %s", outlet["id"], teh)
             == [(False,)], what="availability at the hub")


def test_revoked_box_keeps_selling_and_catches_up_after_reenrolling(hub_server, outlet_box):
    tenant, outlet, products, edge, cashier, kds = outlet_box
    nasi = products[0]["id"]
    first = sell(edge, cashier, kds, [(nasi, 1)])
    wait_for(lambda: sync_status(edge, cashier)["backlog"] == 0, what="first drain")
    revoked = tenant.client.post(f"/api/v1/outlets/{outlet['id']}/sync-credentials/revoke")
    assert revoked.json() == {"revoked": 1}
    offline = [sell(edge, cashier, kds, [(nasi, 2)]) for _ in range(3)]  # sales go on
    status = wait_for(lambda: (s := sync_status(edge, cashier))["last_error"] and s,
                      what="refusal recorded")
    assert "revoked" in status["last_error"] and status["backlog"] > 0
    before = dict(pg_query(hub_server.db_url, "SELECT id, total FROM orders WHERE outlet_id = %s",
                           outlet["id"]))
    assert first["id"] in before and not {o["id"] for o in offline} & set(before)
    # a technician re-enrolls the box with a new code; the running edge picks it up
    again = run_edge_cli("provision", "--reenroll", "--hub", hub_server.base_url, "--code",
                         issue_code(tenant, outlet["id"]).json()["code"], "--data-dir",
                         str(edge.data_dir))
    assert again.returncode == 0, again.stderr
    wait_for(lambda: sync_status(edge, cashier)["backlog"] == 0, what="drain after re-enrolment")
    rows = pg_query(hub_server.db_url, "SELECT id, total FROM orders WHERE outlet_id = %s", outlet["id"])
    assert dict(rows) == {**before, **{o["id"]: o["total"] for o in offline}}
