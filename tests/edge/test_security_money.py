"""Security issue 9, Low: every money limit holds for sums too, through a real edge.

A shift whose cash figures went past the money bound (``shared.money.MAX_AMOUNT``, the
``Amount`` of the wire) used to be closed with a Z report no reader could decode:
``GET /api/v1/shifts/{id}/report`` answered 500 forever. An order whose total went past it
was stored the same way.
"""

from __future__ import annotations

import json
import sqlite3

import msgspec

from edge import catalog
from edge.db import Database
from shared.money import MAX_AMOUNT
from tests.edge.edge_server import EdgeServer


def test_cash_past_the_bound_is_refused_and_the_report_stays_readable(
        edge_server: EdgeServer) -> None:
    manager = edge_server.login("manager")
    shift = edge_server.call("POST", "/api/v1/shifts", manager, json={"opening_float": MAX_AMOUNT})
    res = edge_server.request("POST", f"/api/v1/shifts/{shift['id']}/cash-movements", manager,
                              json={"direction": "in", "amount": 1, "reason": "top-up"})
    assert res.status_code == 400, res.text
    assert res.json()["error"]["details"]["max"] == MAX_AMOUNT
    order = edge_server.call("POST", "/api/v1/orders", edge_server.tokens["kiosk"],
                             json={"type": "takeaway", "lines": [{"product_id": "p-air-mineral"}]})
    cash = edge_server.request("POST", f"/api/v1/orders/{order['id']}/payments", manager,
                               json={"method": "cash", "amount": order["total"]})
    assert cash.status_code == 400, cash.text  # the drawer would hold more than the bound
    card = edge_server.request("POST", f"/api/v1/orders/{order['id']}/payments", manager,
                               json={"method": "card", "amount": order["total"], "reference": "c1"})
    assert card.status_code == 200, card.text
    out = edge_server.call("POST", f"/api/v1/shifts/{shift['id']}/cash-movements", manager,
                           json={"direction": "out", "amount": 5, "reason": "bank"})
    assert out["amount"] == 5
    edge_server.call("POST", f"/api/v1/shifts/{shift['id']}/close", manager,
                     json={"counted_cash": MAX_AMOUNT})
    z = edge_server.call("GET", f"/api/v1/shifts/{shift['id']}/report", manager)
    assert (z["kind"], z["expected_cash"], z["difference"]) == ("Z", MAX_AMOUNT - 5, 5)


def test_a_z_report_stored_past_the_bound_is_recomputed_not_a_500(edge_server: EdgeServer) -> None:
    """A shift an older edge closed with an undecodable Z report answers its report again."""
    manager = edge_server.login("manager")
    shift = edge_server.call("POST", "/api/v1/shifts", manager, json={"opening_float": 1_000})
    edge_server.call("POST", f"/api/v1/shifts/{shift['id']}/close", manager,
                     json={"counted_cash": 1_000})
    conn = sqlite3.connect(edge_server.data_dir / "edge.db", timeout=30)
    try:
        row = conn.execute("SELECT * FROM shifts WHERE id = ?", (shift["id"],)).fetchone()
        names = [d[0] for d in conn.execute("SELECT * FROM shifts LIMIT 0").description]
        old = dict(zip(names, row))
        report = json.loads(old["z_report"])
        report["shift"]["expected_cash"] = report["expected_cash"] = 3 * MAX_AMOUNT
        old.update(id="old-shift", device_id="old-till", expected_cash=3 * MAX_AMOUNT,
                   difference=-3 * MAX_AMOUNT, z_report=json.dumps(report))
        with conn:
            conn.execute(f"INSERT INTO shifts ({', '.join(old)}) VALUES ({', '.join('?' * len(old))})",
                         list(old.values()))
    finally:
        conn.close()
    res = edge_server.request("GET", "/api/v1/shifts/old-shift/report", manager)
    assert res.status_code == 200, res.text
    assert res.json()["kind"] == "Z"


def test_an_order_past_the_bound_is_refused_before_it_is_stored(edge_server: EdgeServer) -> None:
    db = Database(edge_server.data_dir / "edge.db")
    try:
        def pricey(conn: sqlite3.Connection) -> int:
            menu = catalog.read_catalog(conn)
            products = [msgspec.structs.replace(p, price=MAX_AMOUNT // 2)
                        if p.id == "p-air-mineral" else p for p in menu.products]
            return catalog.replace_catalog(conn, msgspec.structs.replace(menu, products=products))
        db.write_blocking(pricey)
    finally:
        db.close()
    kiosk = edge_server.tokens["kiosk"]
    one = {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": 1}]}
    assert edge_server.request("POST", "/api/v1/orders", kiosk, json=one).status_code == 201
    two = {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": 2}]}
    res = edge_server.request("POST", "/api/v1/orders", kiosk, json=two)
    assert res.status_code == 400, res.text
    assert res.json()["error"]["details"]["max"] == MAX_AMOUNT
    listed = edge_server.request("GET", "/api/v1/orders?limit=500", edge_server.tokens["cashier"])
    assert listed.status_code == 200 and all(o["total"] <= MAX_AMOUNT for o in listed.json()["items"])
