"""What the cashier screen needs from the edge, checked over HTTP against a real edge:
search of the order list by number, customer or table (``GET /api/v1/orders?q=``), a stable
``details.reason`` on the errors a till meets (so the screen says them in its own language),
and the demo outlet's cash rounding (Rp 100)."""

from __future__ import annotations

from typing import Any

from tests.edge.edge_server import EdgeServer


def _order(edge: EdgeServer, token: str, **extra: Any) -> dict[str, Any]:
    body = {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": 1}], **extra}
    return edge.call("POST", "/api/v1/orders", token, json=body)


def test_open_orders_are_searched_by_number_customer_or_table(shared_edge: EdgeServer) -> None:
    edge, kiosk = shared_edge, shared_edge.tokens["kiosk"]
    cashier = edge.login("cashier")
    budi = _order(edge, kiosk, customer_name="Budi Santoso")
    table = _order(edge, kiosk, type="dine_in", table="Teras 7")
    plain = _order(edge, kiosk)

    def found(q: str) -> set[str]:
        res = edge.request("GET", "/api/v1/orders", cashier, params={"status": "open", "q": q, "limit": 500})
        assert res.status_code == 200, res.text
        return {o["id"] for o in res.json()["items"]}

    assert found("budi") == {budi["id"]}  # case-insensitive, part of the name
    assert found("teras") == {table["id"]}
    assert plain["id"] in found(str(plain["number"]))
    assert plain["id"] in found(f"#{plain['number']}")
    assert found("%") == set() and found("_") == set()  # LIKE wildcards are literal
    too_long = edge.request("GET", "/api/v1/orders", cashier, params={"q": "x" * 51})
    assert too_long.status_code == 400


def test_till_errors_carry_a_reason_the_screen_translates(shared_edge: EdgeServer) -> None:
    edge, kiosk = shared_edge, shared_edge.tokens["kiosk"]
    cashier = edge.login("cashier")
    order = _order(edge, kiosk)
    pay = f"/api/v1/orders/{order['id']}/payments"

    def reason(res: Any) -> str:
        assert 400 <= res.status_code < 500, res.text
        return res.json()["error"]["details"]["reason"]

    total = order["total"]
    assert reason(edge.request("POST", pay, cashier, json={
        "method": "cash", "amount": total, "tendered": total - 100})) == "cash_short"
    assert reason(edge.request("POST", pay, cashier, json={"method": "cash", "amount": total + 100})) == "over_owed"
    assert reason(edge.request("POST", pay, cashier, json={"method": "card", "amount": total})) == "card_reference"
    assert reason(edge.request("POST", f"/api/v1/orders/{order['id']}/complete", cashier)) == "not_ready"
    wrong = edge.request("POST", "/api/v1/auth/login", edge.tokens["cashier"], json={"pin": "000000"})
    assert wrong.status_code == 401 and reason(wrong) == "wrong_pin"


def test_the_demo_outlet_rounds_cash_totals_to_rp_100(shared_edge: EdgeServer) -> None:
    edge, kiosk = shared_edge, shared_edge.tokens["kiosk"]
    menu = edge.call("GET", "/api/v1/menu", kiosk)
    assert menu["tax"]["rounding_unit"] == 100
    order = _order(edge, kiosk)  # Rp 6.000 + 5 % service + 10 % PB1 = Rp 6.930 -> Rp 6.900
    assert (order["total"], order["rounding"]) == (6900, -30)
