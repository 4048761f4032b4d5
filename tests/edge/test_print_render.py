"""Receipts and kitchen chits rendered for ESC/POS and sent over TCP with python-escpos'
Network printer to the fake printer, which decodes what a real printer would print."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge.printing import WIDTH, kitchen_document, receipt_document, send_document
from shared.schemas import LineModifier, Order, OrderLine, Payment, TaxConfig, TicketLine
from tests.fakes.escpos_printer import FakeEscposPrinter, free_port

AT = datetime(2026, 11, 29, 4, 30, tzinfo=UTC)


def _order(**changes) -> Order:
    base = dict(
        id="o1", outlet_id="out1", number=42, business_day="2026-11-29", type="dine_in",
        status="in_kitchen", currency="IDR", table="7",
        lines=[
            OrderLine(id="l1", product_id="p1", name="Nasi Goreng Spesial", qty=2,
                      unit_price=35_000, line_total=70_000, station="kitchen",
                      modifiers=[LineModifier(option_id="m1", group_id="g1", name="Extra Egg",
                                              price_delta=5_000)], note="no onion"),
            OrderLine(id="l2", product_id="p2", name="Es Teh Manis", qty=1, unit_price=8_000,
                      line_total=8_000, station="bar"),
        ],
        subtotal=78_000, discount=0, service_charge=3_900, tax=8_190, rounding=-90,
        total=90_000, paid=90_000,
        payments=[Payment(id="pay1", order_id="o1", method="cash", amount=90_000,
                          tendered=100_000, change=10_000, created_at=AT)],
        created_at=AT, updated_at=AT,
    )
    base.update(changes)
    return Order(**base)


def test_receipt_prints_money_lines_and_change() -> None:
    doc = receipt_document(_order(), outlet_name="Warung Senja", tax=TaxConfig())
    with FakeEscposPrinter() as printer:
        send_document("127.0.0.1", printer.port, doc.encode())
        printed = printer.wait_for_documents(1)
    assert len(printed) == 1 and printed[0].cut == "full"
    assert printer.unknown_commands == []
    text = printed[0].text
    lines = printed[0].lines
    assert "Warung Senja" in printed[0].large_text
    assert "Order #42" in lines
    assert "Dine in - Table 7" in lines
    assert any(l.startswith("2 x Nasi Goreng Spesial") and l.endswith("Rp 70.000") for l in lines)
    assert "   + Extra Egg (Rp 5.000)" in lines
    assert "   * no onion" in lines
    assert any(l.startswith("Service 5%") and l.endswith("Rp 3.900") for l in lines)
    assert any(l.startswith("PB1 10%") and l.endswith("Rp 8.190") for l in lines)
    assert any(l.startswith("Rounding") and l.endswith("-Rp 90") for l in lines)
    total_line = next(l for l in lines if l.startswith("TOTAL"))
    assert total_line.endswith("Rp 90.000") and "TOTAL" in printed[0].bold_text
    assert any(l.startswith("Cash") and l.endswith("Rp 100.000") for l in lines)
    assert any(l.startswith("Change") and l.endswith("Rp 10.000") for l in lines)
    assert "Due" not in text
    assert all(len(l) <= WIDTH for l in lines)


def test_unpaid_receipt_shows_amount_due() -> None:
    doc = receipt_document(_order(payments=[], paid=0), outlet_name="Warung Senja")
    with FakeEscposPrinter() as printer:
        send_document("127.0.0.1", printer.port, doc.encode())
        lines = printer.wait_for_documents(1)[0].lines
    assert any(l.startswith("Due") and l.endswith("Rp 90.000") for l in lines)
    assert not any(l.startswith("Change") for l in lines)


def test_kitchen_chit_lists_what_to_cook() -> None:
    doc = kitchen_document(station="grill", order_number=42, order_type="takeaway",
                           lines=[TicketLine(name="Sate Ayam", qty=3, modifiers=["Pedas"],
                                             note="well done")],
                           note="Table 7", created_at=AT)
    with FakeEscposPrinter() as printer:
        send_document("127.0.0.1", printer.port, doc.encode())
        chit = printer.wait_for_documents(1)[0]
    assert chit.lines[:3] == ["GRILL", "#42", "TAKEAWAY  04:30"]
    assert "3 x Sate Ayam" in chit.lines and "3 x Sate Ayam" in chit.large_text
    assert "   + Pedas" in chit.lines and "   * well done" in chit.lines
    assert chit.cut == "full"


def test_sending_to_a_printer_that_is_down_raises() -> None:
    from escpos.exceptions import DeviceNotFoundError

    with pytest.raises(DeviceNotFoundError):
        send_document("127.0.0.1", free_port(), receipt_document(
            _order(), outlet_name="X").encode(), timeout=1)
