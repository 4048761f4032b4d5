"""The waiter-app dinner of test_waiter_dinner.py on an outlet box whose internet is down.

A real hub (PostgreSQL) provisions the box through a link we can cut (tests/sync/netproxy):
the menu and staff come down from head office, then the link goes down and stays down for
the whole dinner: seat, two rounds, a held course fired to the kitchen, a move, a three-way
split paid by two methods, close, clean. The edge alone does all of it. Then the link comes
back and every change reaches the hub once: the box's outbox drains, and the hub holds the
three paid parts (their totals adding up to the bill) and no other sale.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from edge.cli import main as pos_edge
from shared.schemas import FloorArea, FloorPlan, FloorTable
from sync.protocol import FEED_KINDS
from tests.edge import hub_support
from tests.edge.hub_support import Box, cli, code_for, pg, wait_for
from tests.sync.netproxy import ThreadedLinkProxy
from tests.ui.test_waiter_dinner import Site, dinner

pg_admin_url = hub_support.pg_admin_url
pg_url = hub_support.pg_url
hub_server_factory = hub_support.hub_server_factory
hub_server = hub_support.hub_server
tenant_factory = hub_support.tenant_factory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
# The dinner reloads no screen (the hub is down, not the edge): no service worker
# (tests/ui/conftest.py).
SERVICE_WORKERS = "block"

PIN = "246813"


def pos_edge_in_process(*args: str) -> str:
    """``pos-edge ARGS`` run in this process (the same commands, without a Python start-up
    each); its standard output. Not for commands that run an event loop (provision): the
    browser's already runs in this thread."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pos_edge(list(args))
    assert code == 0, f"pos-edge {' '.join(args)} failed ({code}):\n{out.getvalue()}"
    return out.getvalue()


def pair(box: Box, role: str) -> str:
    """``pos-edge pair``: the device token is the last line it prints."""
    return pos_edge_in_process("pair", "--data-dir", str(box.data_dir), "--role", role, "--name",
                               f"{role}-{uuid.uuid4().hex[:4]}").strip().splitlines()[-1]


def floor_plan() -> FloorPlan:
    """Two areas, eight tables (what head office draws in the dashboard's editor)."""
    inside, terrace = str(uuid.uuid4()), str(uuid.uuid4())
    tables = [FloorTable(id=str(uuid.uuid4()), area_id=inside, name=f"D{i + 1}", seats=4, sort=i,
                         x=40 + (i % 3) * 300, y=40 + (i // 3) * 300, width=220, height=180,
                         shape="rect" if i % 2 else "round") for i in range(5)]
    tables += [FloorTable(id=str(uuid.uuid4()), area_id=terrace, name=f"T{i + 1}", seats=2, sort=i,
                          x=40 + i * 300, y=60, width=200, height=200) for i in range(3)]
    return FloorPlan(version=1, areas=[FloorArea(id=inside, name="Dalam", sort=0),
                                       FloorArea(id=terrace, name="Teras", sort=1)],
                     tables=tables, courses=["minuman", "makanan", "pencuci_mulut"])


def publish_menu(tenant: Any) -> None:
    """A drink at the bar and a main in the kitchen, published for the tenant's brand."""
    client = tenant.client
    for station, name, product, price in (("bar", "Minuman", "Es Teh Manis", 8_000),
                                          ("kitchen", "Makanan", "Nasi Goreng", 32_000)):
        category = client.post("/api/v1/catalog/categories", json={
            "brand_id": tenant.brand_id, "name": f"{name} {uuid.uuid4().hex[:4]}", "station": station})
        assert category.status_code == 201, category.text
        made = client.post("/api/v1/catalog/products", json={
            "brand_id": tenant.brand_id, "category_id": category.json()["id"], "name": product,
            "price": price})
        assert made.status_code == 201, made.text
    assert client.post(f"/api/v1/brands/{tenant.brand_id}/publish").status_code in (200, 201)


def install_floor(box: Box, tenant: Any, outlet_id: str, plan: FloorPlan) -> None:
    """From head office when the hub serves the floor feed; else straight into the box's
    database (the path the sync pull takes: edge.tables.replace_floor_plan), box stopped."""
    if "floor" in FEED_KINDS:
        import msgspec

        # the hub mints the guest tokens and numbers the versions (hub.floor): a first save
        body = msgspec.to_builtins(plan) | {"version": 0}
        body["tables"] = [{k: v for k, v in t.items() if k != "guest_token"} for t in body["tables"]]
        answer = tenant.client.put(f"/api/v1/outlets/{outlet_id}/floor", json=body)
        assert answer.status_code == 200, answer.text
        return
    from edge import tables
    from edge.db import connect

    conn = connect(box.data_dir / "edge.db")
    try:
        with conn:
            tables.replace_floor_plan(conn, plan)
    finally:
        conn.close()


def test_the_dinner_with_the_hub_down(hub_server: Any, tenant_factory: Any, context: Any, shoot: Any,
                                      tmp_path: Path) -> None:
    tenant = tenant_factory()
    publish_menu(tenant)
    outlet = tenant.create_outlet(f"Dinner {uuid.uuid4().hex[:4]}")
    port = int(hub_server.base_url.rsplit(":", 1)[1])
    link = ThreadedLinkProxy("127.0.0.1", port)
    box = Box(tmp_path / "box")
    try:
        cli("provision", "--hub", link.url, "--code", code_for(tenant, outlet["id"]), "--data-dir",
            str(box.data_dir))
        pos_edge_in_process("staff", "add", "--data-dir", str(box.data_dir), "--name", "Sari",
                            "--role", "cashier", "--pin", PIN)
        install_floor(box, tenant, outlet["id"], floor_plan())
        box.start()
        cashier, phone, kds = pair(box, "cashier"), pair(box, "cashier"), pair(box, "kds")
        staff = box.login(cashier, PIN)
        wait_for(lambda: len(box.call("GET", "/api/v1/menu", staff)["products"]) == 2, "menu from the hub")
        wait_for(lambda: len(box.call("GET", "/api/v1/tables", staff)["items"]) == 8, "floor plan")
        box.drained(staff)

        # The internet goes down, and stays down for the whole dinner.
        link.set(up=False)
        wait_for(lambda: box.call("GET", "/api/v1/sync/status", staff)["last_error"], "the box sees the hub gone")

        def call(method: str, path: str, token: str, body: Any = None) -> Any:
            return box.call(method, path, token, body)

        site = Site(base_url=box.url, waiter_device=phone, cashier_device=cashier, kds_device=kds,
                    waiter_pin=PIN, cashier_pin=PIN, call=call, login=box.login,
                    data_dir=box.data_dir)
        result = dinner(site, context, shoot, tag="-offline")
        status = box.call("GET", "/api/v1/sync/status", staff)
        assert status["backlog"] > 0 and not status["hub_reachable"], status

        # The link is back: everything reaches the hub, once.
        link.set(up=True)
        box.drained(staff)
        parts = {p["id"]: p for p in result["parts"]}
        rows = wait_for(lambda: (r := pg(hub_server.db_url, "SELECT id, status, total, paid FROM orders"
                                                             " WHERE outlet_id = %s", outlet["id"]))
                        and all(x[1] in ("completed", "split") for x in r) and len(r) >= 4 and r,
                        "the dinner's bills at the hub")
        hub_parts = {r[0]: r for r in rows if r[1] == "completed"}
        assert set(hub_parts) == set(parts)
        assert sum(r[3] for r in hub_parts.values()) == sum(p["total"] for p in parts.values())
        assert {r[0] for r in rows if r[1] == "split"} == {result["bill"]["id"]}
    finally:
        box.stop()
        link.close()
