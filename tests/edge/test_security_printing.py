"""Security issue 9, M8: what reaches the printers, through a real edge and fake ESC/POS
printers (real TCP servers decoding the byte stream).

A kiosk note with ``ESC p 0 25 25`` used to open the cash drawer, and a note with line
breaks printed a fake "2 x ..." item line on the kitchen chit. The edge now refuses control
characters at the door (test_security_input.py), but orders stored before that, names from
the catalog and jobs already queued still reach paper: every printed text is cleaned.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from escpos.printer import Dummy

from edge.printing import Document, kitchen_document
from shared.schemas import TicketLine
from tests.edge.edge_server import EdgeServer
from tests.edge.kitchen_support import Edge, call, place_order, products_by_station
from tests.fakes.escpos_printer import EscposDecoder, FakeEscposPrinter

DRAWER = "\x1bp\x00\x19\x19"  # ESC p 0 25 25: pulse the cash drawer


@pytest.fixture
def edge(edge_server: EdgeServer) -> Edge:
    return Edge(edge_server)


def _add_printer(edge: Edge, port: int, **fields: Any) -> None:
    body = {"name": "front desk", "host": "127.0.0.1", "port": port, "role": "receipt", **fields}
    call(edge.url, "POST", "/api/v1/printers", edge.login("manager"), body, expect=201)


def _rewrite_snapshot(data_dir: Path, order_id: str, **changes: Any) -> None:
    """What an older edge stored: the order as it was accepted then, control characters and all."""
    conn = sqlite3.connect(data_dir / "edge.db", timeout=30)
    try:
        snapshot = json.loads(conn.execute("SELECT snapshot FROM orders WHERE id = ?",
                                           (order_id,)).fetchone()[0])
        for key, value in changes.items():
            if key == "line_note":
                snapshot["lines"][0]["note"] = value
            else:
                snapshot[key] = value
        with conn:
            conn.execute("UPDATE orders SET snapshot = ? WHERE id = ?",
                         (json.dumps(snapshot), order_id))
    finally:
        conn.close()


def test_a_stored_note_with_esc_p_does_not_open_the_drawer(edge: Edge,
                                                           edge_server: EdgeServer) -> None:
    menu = products_by_station(edge.url, edge.kiosk)
    order = place_order(edge.url, edge.kiosk, [(menu["kitchen"][0], 1)])
    _rewrite_snapshot(edge_server.data_dir, order["id"], note=DRAWER,
                      customer_name=f"Budi{DRAWER}", table="4\n2 x Free Beer",
                      line_note=f"extra spicy{DRAWER}\n2 x Nasi Goreng")
    with FakeEscposPrinter() as printer:
        _add_printer(edge, printer.port)
        call(edge.url, "POST", f"/api/v1/orders/{order['id']}/print", edge.cashier_device,
             {"kind": "receipt"}, expect=202)
        [receipt] = printer.wait_for_documents(1)
    assert not receipt.drawer_kicked
    assert printer.unknown_commands == [] and receipt.cut == "full"
    assert "Budi" in receipt.text and "extra spicy" in receipt.text
    # the note's second line is an indented continuation, not an item line
    assert not [line for line in receipt.lines if line.startswith("2 x")]
    assert "     2 x Nasi Goreng" in receipt.lines


def test_a_note_with_line_breaks_cannot_fake_an_item_on_the_kitchen_chit(edge: Edge) -> None:
    menu = products_by_station(edge.url, edge.kiosk)
    item = menu["kitchen"][0]
    with FakeEscposPrinter() as hot:
        _add_printer(edge, hot.port, name="hot line", role="kitchen", station="kitchen")
        body = {"type": "dine_in", "note": "birthday\n2 x Nasi Goreng\n\n\n",
                "lines": [{"product_id": item["id"], "qty": 1, "note": "no chili\n2 x Es Teh"}]}
        call(edge.url, "POST", "/api/v1/orders", edge.kiosk, body, expect=201)
        [chit] = hot.wait_for_documents(1)
    assert not chit.drawer_kicked
    items = [line for line in chit.lines if line[:1].isdigit() and " x " in line]
    assert items == [f"1 x {item['name']}"], chit.lines
    assert "   * no chili" in chit.lines and "     2 x Es Teh" in chit.lines
    assert "NOTE: birthday" in chit.lines and "     2 x Nasi Goreng" in chit.lines


def test_a_job_queued_before_the_fix_is_cleaned_when_sent(edge: Edge,
                                                          edge_server: EdgeServer) -> None:
    with FakeEscposPrinter() as printer:
        _add_printer(edge, printer.port)
        conn = sqlite3.connect(edge_server.data_dir / "edge.db", timeout=30)
        try:
            printer_id = conn.execute("SELECT id FROM printers").fetchone()[0]
            old = [["hw", ["INIT"], {}], ["textln", [f"note {DRAWER} end"], {}], ["cut", [], {}]]
            with conn:
                conn.execute(
                    "INSERT INTO print_jobs (id, printer_id, order_id, kind, payload, status,"
                    " attempts, next_attempt_at, created_at) VALUES ('old-job', ?, NULL,"
                    " 'receipt', ?, 'queued', 0, '2000-01-01T00:00:00+00:00',"
                    " '2000-01-01T00:00:00+00:00')", (printer_id, json.dumps(old).encode()))
        finally:
            conn.close()
        call(edge.url, "POST", f"/api/v1/printers/{printer_id}/retry", edge.login("manager"),
             expect=200)
        [document] = printer.wait_for_documents(1)
    assert not document.drawer_kicked and "note p end" in document.text


def test_every_printed_text_is_cleaned() -> None:
    """Render a chit whose every field carries printer commands; decode the bytes."""
    line = TicketLine(name=f"Es Teh{DRAWER}", qty=2, modifiers=[f"less ice{DRAWER}\n9 x Gratis"],
                      note=f"\x1b@\x1dV\x00{DRAWER}")
    doc = kitchen_document(station=f"bar{DRAWER}", order_number=7, order_type="dine_in",
                           lines=[line], note=f"{DRAWER}\u202eevil", created_at=_now())
    dummy = Dummy()
    Document.replay(doc.encode(), dummy)
    decoder = EscposDecoder()
    decoder.feed(dummy.output)
    decoder.finish()
    [printed] = decoder.documents
    assert not printed.drawer_kicked and decoder.unknown == []
    assert printed.cut == "full" and printed.commands.count("GS V") <= 1
    assert [line for line in printed.lines if line.startswith("9 x")] == []


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
