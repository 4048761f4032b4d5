"""Split, move and merge of bills through HTTP against a real edge (edge.bill_ops): a bill
split three ways by item and paid by cash and card, an even split of an awkward total exact
to the rupiah on the outlet's rounding unit, a split by seat, a party moved, two bills
merged, lines moved; every refusal a clear 4xx; two devices splitting one bill at once; a
replayed split; the outbox holding each changed bill's snapshot."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import pytest

from shared.schemas import EventBody, OrderEvent
from tests.edge.edge_server import EdgeServer

FIGURES = ("subtotal", "discount", "service_charge", "tax", "rounding", "total")
# Demo items without required options (edge/demo.py): rendang 42.000, beef burger 39.000,
# sweet martabak 30.000, klepon 12.000, mineral water 6.000, risoles 16.000, cendol needs
# sugar, fried banana 15.000.
RENDANG, BURGER, MARTABAK, KLEPON, WATER, RISOLES, BANANA = (
    "p-nasi-rendang", "p-burger-sapi", "p-martabak-manis", "p-klepon", "p-air-mineral",
    "p-risoles", "p-pisang-goreng")


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def line(product: str, seat: int = 0, hold: bool = False, qty: int = 1) -> dict[str, Any]:
    return {"product_id": product, "seat": seat, "hold": hold, "qty": qty}


def open_bill(edge: EdgeServer, token: str, table: str, lines: list[dict[str, Any]],
              covers: int = 2) -> dict[str, Any]:
    res = edge.request("POST", "/api/v1/orders", token, headers=key(),
                       json={"type": "dine_in", "table_id": table, "covers": covers,
                             "lines": lines})
    assert res.status_code == 201, res.text
    return res.json()


def get(edge: EdgeServer, token: str, order_id: str) -> dict[str, Any]:
    return edge.call("GET", f"/api/v1/orders/{order_id}", token)  # type: ignore[no-any-return]


def pay(edge: EdgeServer, token: str, order_id: str, method: str, amount: int,
        **extra: Any) -> dict[str, Any]:
    res = edge.request("POST", f"/api/v1/orders/{order_id}/payments", token, headers=key(),
                       json={"method": method, "amount": amount, **extra})
    assert res.status_code == 200, res.text
    return res.json()


def complete(edge: EdgeServer, token: str, order_id: str) -> dict[str, Any]:
    return edge.call("POST", f"/api/v1/orders/{order_id}/complete", token)  # type: ignore[no-any-return]


def assert_parts_add_up(parent: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    for name in FIGURES:
        assert sum(p[name] for p in parts) == parent[name], name
    for p in parts:
        assert p["total"] == (p["subtotal"] - p["discount"] + p["service_charge"] + p["tax"]
                              + p["rounding"])
        assert p["subtotal"] == sum(x["line_total"] for x in p["lines"] if x["state"] != "voided")
        assert min(p["subtotal"], p["discount"], p["service_charge"], p["tax"], p["total"]) >= 0


def order_events(edge: EdgeServer, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
    conn = sqlite3.connect(edge.data_dir / "edge.db")
    try:
        rows = conn.execute("SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq",
                            (after,)).fetchall()
    finally:
        conn.close()
    found = []
    for seq, body in rows:
        event = msgspec.msgpack.decode(body, type=EventBody)
        if isinstance(event, OrderEvent):
            found.append((seq, msgspec.to_builtins(event.order)))
    return found


def last_seq(edge: EdgeServer) -> int:
    conn = sqlite3.connect(edge.data_dir / "edge.db")
    try:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cashier(shared_edge: EdgeServer) -> str:
    return shared_edge.login("cashier")


def test_split_three_ways_by_item_paid_by_cash_and_card(shared_edge: EdgeServer,
                                                       cashier: str) -> None:
    edge = shared_edge
    bill = open_bill(edge, cashier, "tbl-a1", [
        line(RENDANG, 1), line(BURGER, 2), line(MARTABAK, 3), line(KLEPON, 1), line(WATER, 2),
        line(RISOLES, 3, hold=True)], covers=3)
    ids = [x["id"] for x in bill["lines"]]
    seq = last_seq(edge)
    res = edge.request("POST", f"/api/v1/orders/{bill['id']}/split", cashier, headers=key(),
                       json={"parts": [{"line_ids": [ids[0], ids[3]]},
                                       {"line_ids": [ids[1], ids[4]]},
                                       {"line_ids": [ids[2], ids[5]]}]})
    assert res.status_code == 201, res.text
    parts = res.json()["orders"]
    assert len(parts) == 3
    assert sum(p["total"] for p in parts) == bill["total"]
    assert_parts_add_up(bill, parts)
    assert [p["split_part"] for p in parts] == ["1/3", "2/3", "3/3"]
    assert {p["split_from"] for p in parts} == {bill["id"]}
    assert len({p["number"] for p in parts} | {bill["number"]}) == 4
    assert sum(p["covers"] for p in parts) == 3
    # copies of the lines under new ids, kitchen state kept (the risoles stay held)
    new_ids = {x["id"] for p in parts for x in p["lines"]}
    assert not new_ids & set(ids) and len(new_ids) == 6
    assert [x["product_id"] for x in parts[2]["lines"]] == [MARTABAK, RISOLES]
    assert [x["state"] for x in parts[2]["lines"]] == ["sent", "held"]
    parent = get(edge, cashier, bill["id"])
    assert parent["status"] == "split"
    assert parent["split_into"] == [p["id"] for p in parts]
    assert [x["id"] for x in parent["lines"]] == ids and parent["total"] == bill["total"]
    # one transaction, one snapshot per changed or new bill in the outbox
    events = order_events(edge, seq)
    assert sorted(o["id"] for _, o in events) == sorted([bill["id"], *(p["id"] for p in parts)])
    assert next(o for _, o in events if o["id"] == bill["id"])["status"] == "split"

    # the parent takes no money any more; each part is paid on its own
    refused = edge.request("POST", f"/api/v1/orders/{bill['id']}/payments", cashier,
                           headers=key(), json={"method": "cash", "amount": 1000})
    assert refused.status_code == 409
    first, second, third = parts
    paid = pay(edge, cashier, first["id"], "cash", first["total"], tendered=first["total"] + 5000)
    assert paid["paid"] == first["total"] and paid["payments"][0]["change"] == 5000
    pay(edge, cashier, second["id"], "card", second["total"], reference="EDC-1")
    half = third["total"] // 2
    pay(edge, cashier, third["id"], "cash", half)
    done = pay(edge, cashier, third["id"], "card", third["total"] - half, reference="EDC-2")
    assert [p["method"] for p in done["payments"]] == ["cash", "card"]
    for part in parts:
        assert complete(edge, cashier, part["id"])["status"] == "completed"
    assert get(edge, cashier, bill["id"])["status"] == "split"
    tables = {t["id"]: t for t in edge.call("GET", "/api/v1/tables", cashier)["items"]}
    assert tables["tbl-a1"]["status"] == "needs_cleaning"


def test_even_split_of_an_awkward_total_is_exact_to_the_rupiah(shared_edge: EdgeServer,
                                                              cashier: str) -> None:
    edge = shared_edge
    # 129.000 + 5% service (6.450) + 10% PB1 (13.545) = 148.995, rounded to 149.000 (unit 100)
    bill = open_bill(edge, cashier, "tbl-a2", [line(RENDANG), line(BURGER), line(MARTABAK),
                                               line(KLEPON), line(WATER)], covers=3)
    assert (bill["subtotal"], bill["service_charge"], bill["tax"]) == (129_000, 6_450, 13_545)
    assert (bill["rounding"], bill["total"]) == (5, 149_000)
    res = edge.request("POST", f"/api/v1/orders/{bill['id']}/split", cashier, headers=key(),
                       json={"even": 3})
    assert res.status_code == 201, res.text
    parts = res.json()["orders"]
    assert [p["total"] for p in parts] == [49_700, 49_700, 49_600]
    assert [p["rounding"] for p in parts] == [2, 2, 1]
    assert_parts_add_up(bill, parts)
    for k, part in enumerate(parts, 1):
        (share,) = part["lines"]
        assert share["product_id"] == "split-share" and share["qty"] == 1
        assert share["name"] == f"Bagian {k}/3 · #{bill['number']}"
        assert share["unit_price"] == share["line_total"] == part["subtotal"]
        pay(edge, cashier, part["id"], "cash", part["total"])  # exact cash, no coins
        assert complete(edge, cashier, part["id"])["status"] == "completed"
    # a bill too small for the parts asked
    tiny = open_bill(edge, cashier, "tbl-a3", [line(WATER)])
    res = edge.request("POST", f"/api/v1/orders/{tiny['id']}/split", cashier, json={"even": 21})
    assert res.status_code == 400 and res.json()["error"]["details"]["field"] == "even"
    edge.call("POST", f"/api/v1/orders/{tiny['id']}/void", cashier, json={"reason": "test"})


def test_split_by_seat(shared_edge: EdgeServer, cashier: str) -> None:
    edge = shared_edge
    bill = open_bill(edge, cashier, "tbl-a4", [
        line(RENDANG, 2), line(BURGER, 1), line(WATER, 0), line(KLEPON, 2), line(BANANA, 1)])
    res = edge.request("POST", f"/api/v1/orders/{bill['id']}/split", cashier, headers=key(),
                       json={"by": "seat"})
    assert res.status_code == 201, res.text
    parts = res.json()["orders"]
    # seat 1, seat 2, then the table's shared lines
    assert [[x["product_id"] for x in p["lines"]] for p in parts] == [
        [BURGER, BANANA], [RENDANG, KLEPON], [WATER]]
    assert [p["subtotal"] for p in parts] == [54_000, 54_000, 6_000]
    assert_parts_add_up(bill, parts)
    assert sum(p["total"] for p in parts) == bill["total"]
    # one seat only: nothing to split by seat
    single = open_bill(edge, cashier, "tbl-a5", [line(RENDANG, 1), line(WATER, 1)])
    res = edge.request("POST", f"/api/v1/orders/{single['id']}/split", cashier,
                       json={"by": "seat"})
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"
    edge.call("POST", f"/api/v1/orders/{single['id']}/void", cashier, json={"reason": "test"})


def test_split_refusals_are_clear(edge_server: EdgeServer) -> None:
    edge = edge_server
    cashier = edge.login("cashier")
    bill = open_bill(edge, cashier, "tbl-a1", [line(RENDANG), line(BURGER), line(WATER)])
    a, b, c = (x["id"] for x in bill["lines"])
    url = f"/api/v1/orders/{bill['id']}/split"

    def split(body: Any) -> Any:
        return edge.request("POST", url, cashier, json=body)

    missing = split({"parts": [{"line_ids": [a]}, {"line_ids": [b]}]})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"]["missing_line_ids"] == [c]
    unknown = split({"parts": [{"line_ids": [a, "nope"]}, {"line_ids": [b, c]}]})
    assert unknown.status_code == 400 and unknown.json()["error"]["details"]["line_ids"] == ["nope"]
    twice = split({"parts": [{"line_ids": [a, b]}, {"line_ids": [b, c]}]})
    assert twice.status_code == 400 and twice.json()["error"]["details"]["line_ids"] == [b]
    assert split({"parts": [{"line_ids": [a, b, c]}]}).status_code == 400  # one part
    assert split({"even": 2, "by": "seat"}).status_code == 400
    assert split({}).status_code == 400
    assert split({"even": 1}).status_code == 400
    assert split({"by": "table"}).status_code == 400
    assert edge.request("POST", "/api/v1/orders/nope/split", cashier,
                        json={"even": 2}).status_code == 404
    # a kiosk cannot split
    assert edge.request("POST", url, edge.tokens["kiosk"], json={"even": 2}).status_code == 403

    # with money on it: pay the parts instead
    pay(edge, cashier, bill["id"], "cash", 10_000)
    paid = split({"even": 2})
    assert paid.status_code == 409 and paid.json()["error"]["details"]["reason"] == "has_payments"

    other = open_bill(edge, cashier, "tbl-a2", [line(RENDANG), line(BURGER)])
    parts = edge.call("POST", f"/api/v1/orders/{other['id']}/split", cashier,
                      json={"even": 2})["orders"]
    again = edge.request("POST", f"/api/v1/orders/{other['id']}/split", cashier, json={"even": 2})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    nested = edge.request("POST", f"/api/v1/orders/{parts[0]['id']}/split", cashier,
                          json={"even": 2})
    assert nested.status_code == 409 and nested.json()["error"]["details"]["reason"] == "split_part"
    # a takeaway order is not a bill at a table
    takeaway = edge.call("POST", "/api/v1/orders", cashier,
                         json={"type": "takeaway", "lines": [line(RENDANG), line(WATER)]})
    res = edge.request("POST", f"/api/v1/orders/{takeaway['id']}/split", cashier,
                       json={"even": 2})
    assert res.status_code == 409 and res.json()["error"]["details"]["reason"] == "not_at_table"


def test_two_devices_split_one_bill_at_once(edge_server: EdgeServer) -> None:
    edge = edge_server
    second = edge.pair("cashier", "test-cashier-2")
    tokens = [edge.login("cashier"), edge.login_pin(edge.pins["cashier"], second)]
    for _ in range(3):
        bill = open_bill(edge, tokens[0], "tbl-t1", [line(RENDANG, 1), line(BURGER, 2)])
        bodies = [{"even": 2}, {"by": "seat"}]

        def split(i: int, bill_id: str = bill["id"], bodies: list[Any] = bodies) -> Any:
            return edge.request("POST", f"/api/v1/orders/{bill_id}/split", tokens[i],
                                headers=key(), json=bodies[i])

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(split, [0, 1]))
        assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
        won = next(r for r in answers if r.status_code == 201).json()["orders"]
        parent = get(edge, tokens[0], bill["id"])
        assert parent["status"] == "split" and parent["split_into"] == [p["id"] for p in won]
        # the parent was split once: no other order claims it
        listed = edge.call("GET", "/api/v1/orders?limit=500", tokens[0])["items"]
        assert sorted(o["id"] for o in listed if o["split_from"] == bill["id"]) == sorted(
            p["id"] for p in won)
        for part in won:
            pay(edge, tokens[0], part["id"], "cash", part["total"])
            complete(edge, tokens[0], part["id"])


def test_a_replayed_split_returns_the_same_parts(shared_edge: EdgeServer, cashier: str) -> None:
    edge = shared_edge
    bill = open_bill(edge, cashier, "tbl-a6", [line(RENDANG, 1), line(BURGER, 2), line(WATER)])
    headers = key()
    url = f"/api/v1/orders/{bill['id']}/split"
    first = edge.request("POST", url, cashier, headers=headers, json={"even": 3})
    assert first.status_code == 201
    seq = last_seq(edge)
    replay = edge.request("POST", url, cashier, headers=headers, json={"even": 3})
    assert replay.status_code == 200
    assert [p["id"] for p in replay.json()["orders"]] == [p["id"] for p in first.json()["orders"]]
    assert replay.json()["orders"] == first.json()["orders"]
    assert last_seq(edge) == seq  # nothing written
    conflict = edge.request("POST", url, cashier, headers=headers, json={"even": 2})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    # the same key from another device is that device's own key: a new request, refused
    # because the bill is split already
    device = edge.login_pin(edge.pins["cashier"], edge.pair("cashier", "test-cashier-replay"))
    other = edge.request("POST", url, device, headers=headers, json={"even": 3})
    assert other.status_code == 409 and other.json()["error"]["code"] == "invalid_state"


def test_move_a_party_to_another_table(shared_edge: EdgeServer, cashier: str) -> None:
    edge = shared_edge
    bill = open_bill(edge, cashier, "tbl-t2", [line(RENDANG), line(WATER)], covers=2)
    busy = open_bill(edge, cashier, "tbl-t3", [line(BURGER)])
    url = f"/api/v1/orders/{bill['id']}/move"
    refused = edge.request("POST", url, cashier, json={"table_id": "tbl-t3"})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["order_ids"] == [busy["id"]]
    assert edge.request("POST", url, cashier, json={"table_id": "nope"}).status_code == 404
    headers = key()
    moved = edge.request("POST", url, cashier, headers=headers, json={"table_id": "tbl-t4"})
    assert moved.status_code == 200, moved.text
    order = moved.json()
    assert (order["table_id"], order["table"]) == ("tbl-t4", "T4")
    assert order["lines"] == bill["lines"] and order["total"] == bill["total"]
    assert order["revision"] == bill["revision"] + 1
    seq = last_seq(edge)
    again = edge.request("POST", url, cashier, headers=headers, json={"table_id": "tbl-t4"})
    assert again.status_code == 200 and again.json()["revision"] == order["revision"]
    assert last_seq(edge) == seq
    tables = {t["id"]: t for t in edge.call("GET", "/api/v1/tables", cashier)["items"]}
    assert tables["tbl-t2"]["status"] == "free" and tables["tbl-t2"]["order_ids"] == []
    assert tables["tbl-t4"]["order_ids"] == [bill["id"]]
    # a split party moves together
    parts = edge.call("POST", f"/api/v1/orders/{busy['id']}/split", cashier,
                      json={"even": 2})["orders"]
    edge.call("POST", f"/api/v1/orders/{parts[0]['id']}/move", cashier,
              json={"table_id": "tbl-t5"})
    assert {get(edge, cashier, p["id"])["table_id"] for p in parts} == {"tbl-t5"}


def test_merge_two_bills(shared_edge: EdgeServer, cashier: str) -> None:
    edge = shared_edge
    into = open_bill(edge, cashier, "tbl-a7", [line(RENDANG), line(WATER)], covers=2)
    other = open_bill(edge, cashier, "tbl-a8", [line(BURGER), line(KLEPON, hold=True)], covers=3)
    tickets_before = edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]
    url = f"/api/v1/orders/{into['id']}/merge"
    itself = edge.request("POST", url, cashier, json={"order_id": into["id"]})
    assert itself.status_code == 409 and itself.json()["error"]["details"]["reason"] == "same_bill"
    seq = last_seq(edge)
    res = edge.request("POST", url, cashier, headers=key(), json={"order_id": other["id"]})
    assert res.status_code == 200, res.text
    merged = res.json()
    assert [x["product_id"] for x in merged["lines"]] == [RENDANG, WATER, BURGER, KLEPON]
    assert [x["state"] for x in merged["lines"]] == ["sent", "sent", "sent", "held"]
    old_ids = {x["id"] for x in into["lines"] + other["lines"]}
    assert {x["id"] for x in merged["lines"][2:]}.isdisjoint(old_ids)
    assert merged["subtotal"] == into["subtotal"] + other["subtotal"] == 99_000
    # re-priced as one bill: 99.000 + 4.950 + 10.395 = 114.345 -> 114.300
    assert (merged["service_charge"], merged["tax"], merged["total"]) == (4_950, 10_395, 114_300)
    assert merged["covers"] == 5
    gone = get(edge, cashier, other["id"])
    assert (gone["status"], gone["merged_into"], gone["lines"]) == ("merged", into["id"], [])
    assert all(gone[name] == 0 for name in FIGURES)
    assert sorted(o["id"] for _, o in order_events(edge, seq)) == sorted([into["id"], other["id"]])
    # no new kitchen tickets for the moved lines
    assert len(edge.call("GET", "/api/v1/kitchen/tickets", edge.tokens["kds"])["items"]) == len(tickets_before)
    closed = edge.request("POST", url, cashier, json={"order_id": other["id"]})
    assert closed.status_code == 409
    paid = open_bill(edge, cashier, "tbl-a8", [line(BURGER)])
    pay(edge, cashier, paid["id"], "cash", 1_000)
    refused = edge.request("POST", url, cashier, json={"order_id": paid["id"]})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["reason"] == "has_payments"


def test_move_lines_between_bills(shared_edge: EdgeServer, cashier: str) -> None:
    edge = shared_edge
    source = open_bill(edge, cashier, "tbl-t6", [line(RENDANG), line(BURGER), line(WATER, hold=True)])
    target = open_bill(edge, cashier, "tbl-a3", [line(KLEPON)])
    r, b, w = (x["id"] for x in source["lines"])
    url = f"/api/v1/orders/{source['id']}/move-lines"
    unknown = edge.request("POST", url, cashier,
                           json={"line_ids": [b, "ghost"], "to_order_id": target["id"]})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"]["line_ids"] == ["ghost"]
    same = edge.request("POST", url, cashier, json={"line_ids": [b], "to_order_id": source["id"]})
    assert same.status_code == 409
    res = edge.request("POST", url, cashier, headers=key(),
                       json={"line_ids": [b, w], "to_order_id": target["id"]})
    assert res.status_code == 200, res.text
    moved = res.json()
    assert [x["id"] for x in moved["from"]["lines"]] == [r]
    assert moved["from"]["subtotal"] == 42_000 and moved["from"]["total"] == 48_500  # 48.510
    assert [x["product_id"] for x in moved["to"]["lines"]] == [KLEPON, BURGER, WATER]
    assert [x["state"] for x in moved["to"]["lines"]] == ["sent", "sent", "held"]
    assert not {x["id"] for x in moved["to"]["lines"]} & {b, w}
    assert moved["to"]["subtotal"] == 57_000
    assert moved["from"]["total"] + moved["to"]["total"] >= source["total"] + target["total"] - 100
    # out of a bill with money on it: refused
    pay(edge, cashier, target["id"], "cash", 1_000)
    refused = edge.request("POST", f"/api/v1/orders/{target['id']}/move-lines", cashier,
                           json={"line_ids": [moved["to"]["lines"][0]["id"]],
                                 "to_order_id": source["id"]})
    assert refused.status_code == 409


def test_a_part_of_a_split_bill_refuses_item_changes(edge_server: EdgeServer) -> None:
    """A part's figures are a share of its bill and its items are counted on that bill: a
    new round, a changed, deleted or voided line, or a discount would break both."""
    edge = edge_server
    cashier = edge.login("cashier")
    bill = open_bill(edge, cashier, "tbl-a6", [line(RENDANG, 1), line(WATER, 2),
                                              line(KLEPON, 2, hold=True)])
    res = edge.request("POST", f"/api/v1/orders/{bill['id']}/split", cashier, headers=key(),
                       json={"even": 2})
    assert res.status_code == 201, res.text
    part = res.json()["orders"][0]
    path = f"/api/v1/orders/{part['id']}"
    attempts = [
        ("POST", f"{path}/lines", {"lines": [line(WATER, 0)]}),
        ("PATCH", f"{path}/lines/{part['lines'][0]['id']}", {"qty": 2}),
        ("DELETE", f"{path}/lines/{part['lines'][0]['id']}", None),
        ("POST", f"{path}/lines/{part['lines'][0]['id']}/void", {"reason": "spilled"}),
    ]
    for method, url, body in attempts:
        res = edge.request(method, url, cashier, headers=key(), json=body)
        assert res.status_code == 409, (method, url, res.text)
        assert res.json()["error"]["details"]["reason"] == "split_part", res.text
    manager = edge.login("manager")
    res = edge.request("POST", f"{path}/discount", manager,
                       json={"percent": 10, "reason": "promo"})
    assert res.status_code == 409 and res.json()["error"]["details"]["reason"] == "split_part"
    assert get(edge, cashier, part["id"]) == part  # nothing changed
