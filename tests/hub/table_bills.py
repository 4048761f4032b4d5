"""Table-service bills as an edge journals them, for hub tests (no edge process needed).

``Floor`` follows docs/table-service.md's contract exactly: a bill is seated empty, rounds add
lines (held lines wait for their course), a sent line can be voided (kept, not charged), a
party moves, a bill merges into another (its lines move with new ids; it keeps no lines and
all figures 0), a bill splits by item (parts carry copies of its lines with new ids) or evenly
(one "split-share" line per part), every figure of the parts an allocation of the parent's
(``shared.split``). Money is always recomputed with ``shared.pricing.price_order`` over the
lines that are not voided. Every change is a full ``Order`` snapshot appended to a journal
(any object with ``append(body, at)``), with revision + 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import msgspec

from shared import split as splitting
from shared.ids import new_id
from shared.pricing import PricedLine, price_order
from shared.schemas import Order, OrderEvent, OrderLine, Payment, PaymentEvent, TaxConfig

__all__ = ["Floor", "Item"]


class JournalLike(Protocol):
    def append(self, body: Any, at: datetime) -> None: ...


@dataclass(frozen=True)
class Item:
    product_id: str
    name: str
    price: int
    qty: int = 1
    course: str = ""
    hold: bool = False
    seat: int = 0


@dataclass
class Floor:
    """One outlet's table service on one business day."""

    outlet_id: str
    journal: JournalLike
    tax: TaxConfig
    business_day: str
    number: int = 1000  # queue numbers of bills and parts
    orders: dict[str, Order] = field(default_factory=dict)  # latest snapshot by id
    payments: list[Payment] = field(default_factory=list)

    # ---------------------------------------------------------------- helpers

    def _save(self, order: Order, at: datetime, **changes: Any) -> Order:
        saved = msgspec.structs.replace(order, **changes, updated_at=at,
                                        revision=order.revision + 1)
        self.orders[saved.id] = saved
        self.journal.append(OrderEvent(order=saved), at)
        return saved

    def _priced(self, lines: list[OrderLine]) -> dict[str, int]:
        totals = price_order([PricedLine(base_price=line.unit_price, qty=line.qty)
                              for line in lines if line.state != "voided"], self.tax)
        return {"subtotal": totals.subtotal, "discount": totals.discount,
                "service_charge": totals.service_charge, "tax": totals.tax,
                "rounding": totals.rounding, "total": totals.total}

    def _next_number(self) -> int:
        self.number += 1
        return self.number

    # ---------------------------------------------------------------- the bill's life

    def seat(self, table_id: str, table: str, covers: int, at: datetime) -> Order:
        order = Order(id=new_id(), outlet_id=self.outlet_id, number=self._next_number(),
                      business_day=self.business_day, type="dine_in", status="placed",
                      currency="IDR", lines=[], subtotal=0, discount=0, service_charge=0,
                      tax=0, rounding=0, total=0, table=table, table_id=table_id,
                      covers=covers, seated_at=at, created_at=at, updated_at=at,
                      source="waiter-1", revision=0)
        self.orders[order.id] = order
        self.journal.append(OrderEvent(order=order), at)
        return order

    def add_round(self, order: Order, items: list[Item], at: datetime) -> Order:
        order = self.orders[order.id]
        round_no = max((line.round for line in order.lines), default=0) + 1
        lines = list(order.lines) + [
            OrderLine(id=new_id(), product_id=i.product_id, name=i.name, qty=i.qty,
                      unit_price=i.price, line_total=i.price * i.qty, round=round_no,
                      course=i.course, state="held" if i.hold else "sent", seat=i.seat,
                      added_at=at) for i in items]
        status = "in_kitchen" if any(line.state == "sent" for line in lines) else order.status
        return self._save(order, at, lines=lines, status=status, **self._priced(lines))

    def fire(self, order: Order, at: datetime, course: str = "") -> Order:
        order = self.orders[order.id]
        lines = [msgspec.structs.replace(line, state="sent")
                 if line.state == "held" and (not course or line.course == course) else line
                 for line in order.lines]
        return self._save(order, at, lines=lines, status="in_kitchen")

    def void_line(self, order: Order, line_id: str, at: datetime,
                  reason: str = "salah pesan") -> Order:
        order = self.orders[order.id]
        lines = [msgspec.structs.replace(line, state="voided", void_reason=reason,
                                         voided_by="staff-manager")
                 if line.id == line_id else line for line in order.lines]
        assert any(line.id == line_id and line.state == "voided" for line in lines)
        return self._save(order, at, lines=lines, **self._priced(lines))

    def move(self, order: Order, table_id: str, table: str, at: datetime) -> Order:
        return self._save(self.orders[order.id], at, table_id=table_id, table=table)

    def merge(self, into: Order, other: Order, at: datetime) -> tuple[Order, Order]:
        """``into`` receives ``other``'s lines (new ids); ``other`` becomes "merged"."""
        into, other = self.orders[into.id], self.orders[other.id]
        assert other.paid == 0 and into.paid == 0
        moved = [msgspec.structs.replace(line, id=new_id()) for line in other.lines]
        lines = list(into.lines) + moved
        received = self._save(into, at, lines=lines, covers=into.covers + other.covers,
                              **self._priced(lines))
        gone = self._save(other, at, status="merged", lines=[], subtotal=0, discount=0,
                          service_charge=0, tax=0, rounding=0, total=0, merged_into=into.id)
        return received, gone

    def _parts(self, parent: Order, figures: list[splitting.Figures],
               lines_of: list[list[OrderLine]], at: datetime) -> list[Order]:
        n = len(figures)
        parts = []
        for k, (fig, lines) in enumerate(zip(figures, lines_of, strict=True), start=1):
            part = Order(id=new_id(), outlet_id=self.outlet_id, number=self._next_number(),
                         business_day=parent.business_day, type="dine_in", status="placed",
                         currency="IDR", lines=lines, subtotal=fig.subtotal,
                         discount=fig.discount, service_charge=fig.service_charge, tax=fig.tax,
                         rounding=fig.rounding, total=fig.total, table=parent.table,
                         table_id=parent.table_id, seated_at=parent.seated_at,
                         created_at=at, updated_at=at, source="cashier-1",
                         split_from=parent.id, split_part=splitting.part_label(k, n))
            self.orders[part.id] = part
            self.journal.append(OrderEvent(order=part), at)
            parts.append(part)
        self._save(parent, at, status="split", split_into=[p.id for p in parts])
        return parts

    @staticmethod
    def _figures(order: Order) -> splitting.Figures:
        return splitting.Figures(subtotal=order.subtotal, discount=order.discount,
                                 service_charge=order.service_charge, tax=order.tax,
                                 rounding=order.rounding, total=order.total)

    def split_by_item(self, order: Order, groups: list[list[str]], at: datetime) -> list[Order]:
        """Every line in exactly one group; parts carry copies of their lines (new ids)."""
        order = self.orders[order.id]
        by_id = {line.id: line for line in order.lines}
        assert sorted(i for g in groups for i in g) == sorted(by_id)
        copies = [[msgspec.structs.replace(by_id[i], id=new_id()) for i in g] for g in groups]
        subtotals = [sum(line.line_total for line in c if line.state != "voided")
                     for c in copies]
        figures = splitting.split_by_subtotals(self._figures(order), subtotals)
        return self._parts(order, figures, copies, at)

    def split_even(self, order: Order, n: int, at: datetime) -> list[Order]:
        order = self.orders[order.id]
        figures = splitting.split_even(self._figures(order), n, self.tax.rounding_unit)
        lines = [[OrderLine(id=new_id(), product_id="split-share",
                            name=f"Bagian {k}/{n} · #{order.number}", qty=1,
                            unit_price=fig.subtotal, line_total=fig.subtotal, added_at=at)]
                 for k, fig in enumerate(figures, start=1)]
        return self._parts(order, figures, lines, at)

    def pay(self, order: Order, method: str, at: datetime, amount: int | None = None) -> Order:
        order = self.orders[order.id]
        amount = order.total - order.paid if amount is None else amount
        payment = Payment(id=new_id(), order_id=order.id, method=method, amount=amount,
                          tendered=amount, created_at=at)
        self.payments.append(payment)
        self.journal.append(PaymentEvent(payment=payment), at)
        return self._save(order, at, paid=order.paid + amount,
                          payments=[*order.payments, payment])

    def complete(self, order: Order, at: datetime) -> Order:
        order = self.orders[order.id]
        assert order.paid >= order.total
        return self._save(order, at, status="completed")

    def cancel(self, order: Order, at: datetime) -> Order:
        return self._save(self.orders[order.id], at, status="cancelled",
                          void_reason="tamu pergi")

    def pay_and_complete(self, order: Order, at: datetime, method: str = "cash") -> Order:
        order = self.pay(order, method, at)
        return self.complete(order, at + timedelta(seconds=30))


MENU = [Item("p-coffee", "Kopi Susu", 25_000, course="minuman"),
        Item("p-tea", "Es Teh", 12_000, course="minuman"),
        Item("p-rice", "Nasi Goreng", 38_000, course="makanan"),
        Item("p-noodle", "Mie Ayam", 30_000, course="makanan"),
        Item("p-cake", "Bolu Pandan", 18_000, course="pencuci_mulut")]


def _pick(rnd: Any, hold: bool = False, seat: int = 0) -> list[Item]:
    chosen = rnd.sample(MENU, rnd.randint(1, 3))
    return [Item(i.product_id, i.name, i.price, rnd.randint(1, 3), i.course,
                 hold and i.course != "minuman", seat) for i in chosen]


def table_day(floor: Floor, tables: list[tuple[str, str]], start: datetime, rnd: Any,
              parties: int = 12) -> None:
    """A day of table service at ``tables`` [(id, name)] from ``start`` (UTC): every party
    seats, orders in rounds (some held and fired by course), some lines are voided; then by
    turns: paid whole, split by item, split evenly in 3 (one part left open), merged into
    another table's bill, moved, a part cancelled, a bill left open, a bill cancelled."""
    clock = start
    fates = ["whole", "by_item", "even", "merge", "move", "part_cancelled", "open", "cancel"]
    for n in range(parties):
        clock += timedelta(minutes=rnd.randint(3, 25), seconds=rnd.randint(0, 59),
                           microseconds=rnd.randrange(1_000_000))
        table_id, table = tables[n % len(tables)]
        fate = fates[n % len(fates)]
        bill = floor.seat(table_id, table, rnd.randint(1, 6), clock)
        at = clock + timedelta(minutes=rnd.randint(1, 9), seconds=rnd.randint(0, 59))
        bill = floor.add_round(bill, _pick(rnd, hold=True, seat=1), at)
        if any(line.state == "held" for line in bill.lines):
            at += timedelta(minutes=rnd.randint(5, 20))
            bill = floor.fire(bill, at, "makanan")
            bill = floor.fire(bill, at + timedelta(minutes=1))
        at += timedelta(minutes=rnd.randint(5, 30))
        bill = floor.add_round(bill, _pick(rnd, seat=2), at)
        if rnd.random() < 0.5:
            sent = [line for line in bill.lines if line.state == "sent"]
            bill = floor.void_line(bill, rnd.choice(sent).id, at + timedelta(minutes=2))
        at += timedelta(minutes=rnd.randint(10, 40))
        if fate == "whole":
            floor.pay_and_complete(bill, at, rnd.choice(["cash", "card", "qris"]))
        elif fate in ("by_item", "part_cancelled"):
            ids = [line.id for line in bill.lines]
            cut = max(1, len(ids) // 2)
            parts = floor.split_by_item(bill, [ids[:cut], ids[cut:]] if ids[cut:] else [ids],
                                        at)
            for k, part in enumerate(parts):
                if fate == "part_cancelled" and k == len(parts) - 1:
                    floor.cancel(part, at + timedelta(minutes=1))
                else:
                    floor.pay_and_complete(part, at + timedelta(minutes=k + 1),
                                           ["cash", "card"][k % 2])
        elif fate == "even":
            parts = floor.split_even(bill, 3, at)
            floor.pay_and_complete(parts[0], at + timedelta(minutes=1), "cash")
            floor.pay_and_complete(parts[1], at + timedelta(minutes=2), "qris")
            floor.pay(parts[2], "card", at + timedelta(minutes=3), amount=parts[2].total // 2)
        elif fate == "merge":
            other_id, other_table = tables[(n + 1) % len(tables)]
            other = floor.seat(other_id, other_table, 2, clock + timedelta(minutes=2))
            other = floor.add_round(other, _pick(rnd), clock + timedelta(minutes=4))
            bill, _ = floor.merge(bill, other, at)
            floor.pay_and_complete(bill, at + timedelta(minutes=2), "card")
        elif fate == "move":
            new_id_, new_table = tables[(n + 2) % len(tables)]
            bill = floor.move(bill, new_id_, new_table, at)
            floor.pay_and_complete(bill, at + timedelta(minutes=5), "cash")
        elif fate == "cancel":
            floor.cancel(bill, at)
        # "open": still eating when the day's data is pushed
