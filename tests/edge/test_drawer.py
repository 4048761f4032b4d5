"""The cash drawer opens through the receipt printer (ESC p) for a cash payment and a cash
refund, and for nothing else: not for card or QRIS, not for a receipt, and never from text a
customer typed (an ESC p in a name is refused at the door and could not print anyway)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge import printing, printing_repository
from edge.db import Database
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import THREE_LINES, place
from tests.edge.test_refunds import MANAGER_PIN, hand_over
from tests.fakes.escpos_printer import FakeEscposPrinter


@pytest.fixture(scope="module")
def printer() -> Iterator[FakeEscposPrinter]:
    with FakeEscposPrinter() as fake:
        yield fake


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory,
         printer: FakeEscposPrinter) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("drawer") / "edge")
    server.start()
    server.call("POST", "/api/v1/printers", server.login("manager"),
                json={"name": "counter", "host": "127.0.0.1", "port": printer.port,
                      "role": "receipt"})
    yield server
    server.stop()


def pay(edge: EdgeServer, order: dict, method: str, **extra: object) -> dict:
    return edge.call("POST", f"/api/v1/orders/{order['id']}/payments", edge.login("cashier"),
                     json={"method": method, "amount": order["total"], **extra})


def test_the_drawer_opens_for_cash_only(edge: EdgeServer, printer: FakeEscposPrinter) -> None:
    card, qris, cash = place(edge), place(edge), place(edge)
    pay(edge, card, "card", reference="EDC-1")
    pay(edge, qris, "qris", reference="QR-1")
    pay(edge, cash, "cash", tendered=cash["total"] + 5_000)
    [kick] = printer.wait_for_documents(1)
    assert kick.drawer_kicked and kick.text.strip() == ""  # a pulse, nothing printed
    assert [c for c in kick.commands if c.startswith("ESC p")] == ["ESC p 003232"]
    # a receipt (reprinted for the card order) prints without opening the drawer
    edge.call("POST", f"/api/v1/orders/{card['id']}/print", edge.login("cashier"),
              json={"kind": "receipt"})
    docs = printer.wait_for_documents(2)
    assert len(docs) == 2 and not docs[1].drawer_kicked and "TOTAL" in docs[1].text
    # a cash refund opens it again
    hand_over(edge, pay(edge, place(edge), "card", reference="EDC-2"))
    done = hand_over(edge, cash)
    res = edge.request("POST", f"/api/v1/orders/{done['id']}/refunds", edge.login("cashier"),
                       json={"method": "cash", "reason": "wrong size", "amount": 1_000},
                       headers={MANAGER_PIN: edge.pins["manager"]})
    assert res.status_code == 201, res.text
    docs = printer.wait_for_documents(3)
    assert [d.drawer_kicked for d in docs] == [True, False, True]
    assert not printer.unknown_commands


def test_customer_text_never_opens_the_drawer(edge: EdgeServer,
                                              printer: FakeEscposPrinter) -> None:
    before = len(printer.documents)
    body = {**THREE_LINES, "customer_name": "Budi\x1bp\x00\x19\xfa"}
    res = edge.request("POST", "/api/v1/orders", edge.tokens["kiosk"], json=body)
    assert res.status_code == 400 and res.json()["error"]["details"]["field"] == "customer_name"
    order = place(edge, {**THREE_LINES, "customer_name": "Budi p"})
    pay(edge, order, "card", reference="EDC-3")
    edge.call("POST", f"/api/v1/orders/{order['id']}/print", edge.login("cashier"),
              json={"kind": "receipt"})
    docs = printer.wait_for_documents(before + 1)
    assert "Budi p" in docs[-1].text and not docs[-1].drawer_kicked


def test_a_drawer_pulse_that_waited_for_a_down_printer_is_dropped(tmp_path: Path) -> None:
    """A pulse queued while the printer was off must not open the drawer minutes later, when
    the printer comes back with nobody at the counter; a fresh pulse still goes out."""
    db = Database(tmp_path / "edge.db")
    sent: list[bytes] = []
    try:
        now = datetime.now(UTC)
        db.write_blocking(lambda c: printing_repository.upsert_printer(
            c, "p-1", {"name": "counter", "host": "127.0.0.1", "port": 9100, "role": "receipt",
                       "station": "", "enabled": True}, now))
        stale = db.write_blocking(lambda c: printing.kick_drawer(c, now - timedelta(minutes=5)))
        worker = printing.PrintWorker(db, sender=lambda host, port, payload: sent.append(payload))
        asyncio.run(worker.drain_once())
        assert sent == []  # the stale pulse was not sent
        job = db.read_now(lambda c: printing_repository.get_job(c, stale.id))
        assert job is not None and job.status == "failed" and "expired" in job.last_error
        fresh = db.write_blocking(lambda c: printing.kick_drawer(c, datetime.now(UTC)))
        asyncio.run(worker.drain_once())
        assert len(sent) == 1 and b"cashdraw" in sent[0]  # the ESC p operation
        job = db.read_now(lambda c: printing_repository.get_job(c, fresh.id))
        assert job is not None and job.status == "printed"
    finally:
        db.close()
