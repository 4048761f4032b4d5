"""Hub ingest of table service (issue 12), on PostgreSQL and SQLite, through the real push path.

* Order events saved from an edge released before table service (no table fields on the
  wire: tests/sync/fixtures/orders_pre_tables.json, bodies byte-exact) apply exactly as
  before: the same rows, the new columns at their defaults, the same sales figures.
* Amended, voided, split, merged and moved bills land with what the reports need, nothing
  quarantined, no money alarm; a completion time is kept by later snapshots.
* ``check_money``: voided lines are out of the subtotal; split parts and merged bills pass;
  a part or bill that does not add up is refused.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from edge.outbox import chain_hash
from hub import reports, tenancy
from hub.db import Database
from hub.ingest.apply import check_money
from hub.models import OrderLineRow, OrderRow, User
from hub.schemas import OutletCreate
from hub.sync_models import SyncAlarm, SyncQuarantine
from shared.ids import new_id
from shared.schemas import JournalEntry, Order, OrderLine, TaxConfig
from tests.hub.table_bills import Floor, Item, table_day
from tests.hub.test_reports import PASSWORD, Journal, Seeded

FIXTURE = Path(__file__).parents[1] / "sync" / "fixtures" / "orders_pre_tables.json"
TAX = TaxConfig(service_rate_bp=500, tax_rate_bp=1000)
T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


@pytest.fixture(params=["postgres", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")


async def _tenant(db: Database, name: str, outlet_id: str | None = None) -> Seeded:
    email = f"owner-{new_id()[-12:]}@tables.test"
    async with db.system() as session:
        tenant = await tenancy.create_tenant(session, name, email, PASSWORD)
        owner_id = await session.scalar(select(User.id).where(User.email == email))
    async with db.tenant(tenant.id) as session:
        outlet = await tenancy.create_outlet(session, None, OutletCreate(
            name=f"{name} outlet", timezone="Asia/Jakarta", service_rate_bp=500,
            tax_rate_bp=1000), tenant_id=tenant.id)
        if outlet_id:  # the saved bodies name their outlet: give ours that id
            outlet.id = outlet_id
            await session.flush()
        oid = outlet.id
    seeded = Seeded(tenant_id=tenant.id, owner_id=owner_id, email=email,
                    outlets={"main": oid}, zones={})
    seeded.journals[oid] = Journal(oid)
    return seeded


async def _rows(db: Database, tenant_id: str) -> tuple[dict[str, OrderRow], list[OrderLineRow]]:
    async with db.tenant(tenant_id) as session:
        orders = {o.id: o for o in (await session.scalars(select(OrderRow))).all()}
        lines = list((await session.scalars(select(OrderLineRow).where(
            OrderLineRow.tenant_id == tenant_id))).all())
        for row in [*orders.values(), *lines]:
            session.expunge(row)
    return orders, lines


async def _problems(db: Database, tenant_id: str) -> tuple[int, list[str]]:
    async with db.tenant(tenant_id) as session:
        quarantined = len((await session.scalars(select(SyncQuarantine))).all())
        alarms = [a.message for a in (await session.scalars(select(SyncAlarm))).all()]
    return quarantined, alarms


async def _pre_tables_scenario(db: Database) -> None:
    saved = json.loads(FIXTURE.read_text())
    seeded = await _tenant(db, "Warung Lama", outlet_id=saved["outlet_id"])
    journal = seeded.journals[saved["outlet_id"]]
    for event in saved["events"]:  # re-chained; the bodies stay the old edge's bytes
        raw = bytes.fromhex(event["body"])
        journal.seq += 1
        digest = chain_hash(journal.prev, journal.seq, raw)
        journal.pending.append(JournalEntry(
            outlet_id=journal.outlet_id, epoch=journal.epoch, seq=journal.seq,
            event_id=new_id(), occurred_at=datetime.fromisoformat(event["at"]), body=raw,
            prev_hash=journal.prev, hash=digest))
        journal.prev = digest
    await journal.push(db, seeded.tenant_id)
    orders, lines = await _rows(db, seeded.tenant_id)
    assert set(orders) == set(saved["orders"])
    for order_id, want in saved["orders"].items():
        row = orders[order_id]
        got = {k: getattr(row, k) for k in want if k != "lines"}
        assert got == {k: v for k, v in want.items() if k != "lines"}
        got_lines = sorted([r.id, r.product_id, r.qty, r.line_total, r.station, r.note]
                           for r in lines if r.order_id == order_id)
        assert got_lines == want["lines"]
        # the new columns read as an old edge's order: no table, nothing amended
        assert (row.table_id, row.covers, row.seated_at, row.revision, row.split_from,
                row.split_count, row.merged_into) == (None, 0, None, 0, None, 0, None)
        assert row.completed_at == (row.updated_at if row.status == "completed" else None)
    assert {(r.state, r.round, r.course, r.seat, r.added_at) for r in lines} == {
        ("sent", 0, "", 0, None)}
    assert await _problems(db, seeded.tenant_id) == (0, [])
    day = date(2026, 11, 2)
    async with db.tenant(seeded.tenant_id) as session:
        report = await reports.sales_report(session, seeded.owner(), outlet_id=None,
                                            day_from=day, day_to=day, use_rollups=False)
    assert (report.order_count, report.gross_total) == (saved["sales"]["order_count"],
                                                        saved["sales"]["gross_total"])
    assert {p.product_id: p.qty for p in report.by_product} == saved["sales"]["products"]
    assert report.voids.count == 1


async def test_orders_of_an_edge_before_table_service_apply_as_before(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _pre_tables_scenario(db)
    finally:
        await db.dispose()


async def _table_scenario(db: Database) -> None:
    seeded = await _tenant(db, "Resto Meja")
    outlet_id = seeded.outlets["main"]
    journal = seeded.journals[outlet_id]
    floor = Floor(outlet_id, journal, TAX, "2026-11-02")
    kopi, nasi = Item("p-kopi", "Kopi", 25_000, 2, "minuman"), Item("p-nasi", "Nasi", 38_000)
    # A1: two rounds (the second held, then fired), a sent line voided, paid, completed
    a1 = floor.seat("t-a1", "A1", 4, T0)
    a1 = floor.add_round(a1, [kopi], T0 + timedelta(minutes=3))
    a1 = floor.add_round(a1, [Item("p-nasi", "Nasi", 38_000, 2, "makanan", hold=True, seat=2)],
                         T0 + timedelta(minutes=4))
    a1 = floor.fire(a1, T0 + timedelta(minutes=15), "makanan")
    voided_id = a1.lines[0].id
    a1 = floor.void_line(a1, voided_id, T0 + timedelta(minutes=16))
    a1 = floor.pay(a1, "cash", T0 + timedelta(minutes=50))
    completed = floor.complete(a1, T0 + timedelta(minutes=51))
    await journal.push(db, seeded.tenant_id)
    # a later snapshot of the completed bill (another batch) keeps its completion time
    floor.orders[a1.id] = msgspec.structs.replace(completed, note="tip")
    floor._save(floor.orders[a1.id], T0 + timedelta(hours=2))
    # A2 merged into A3, A3 moved to B1 and split by item, B2 split evenly in 3
    a2 = floor.add_round(floor.seat("t-a2", "A2", 2, T0), [nasi], T0 + timedelta(minutes=5))
    a3 = floor.add_round(floor.seat("t-a3", "A3", 3, T0), [kopi, nasi],
                         T0 + timedelta(minutes=6))
    a3, a2 = floor.merge(a3, a2, T0 + timedelta(minutes=20))
    a3 = floor.move(a3, "t-b1", "B1", T0 + timedelta(minutes=25))
    ids = [line.id for line in a3.lines]
    parts = floor.split_by_item(a3, [ids[:1], ids[1:]], T0 + timedelta(minutes=40))
    b2 = floor.add_round(floor.seat("t-b2", "B2", 5, T0), [kopi, nasi, nasi],
                         T0 + timedelta(minutes=7))
    even = floor.split_even(b2, 3, T0 + timedelta(minutes=45))
    # and in the same batch as its completion, a later snapshot: the first completion wins
    done = floor.pay_and_complete(even[0], T0 + timedelta(minutes=46))
    floor._save(done, T0 + timedelta(minutes=59), note="struk dicetak")
    await journal.push(db, seeded.tenant_id)

    assert await _problems(db, seeded.tenant_id) == (0, [])
    orders, lines = await _rows(db, seeded.tenant_id)
    assert {o.id: o.status for o in orders.values()} == {
        o.id: o.status for o in floor.orders.values()}
    row = orders[a1.id]
    assert (row.table_id, row.table_label, row.covers, row.revision) == (
        "t-a1", "A1", 4, floor.orders[a1.id].revision)
    assert row.seated_at == T0 and row.completed_at == T0 + timedelta(minutes=51)
    assert row.subtotal == 2 * 38_000  # the voided kopi keeps its figures, not charged
    by_id = {line.id: line for line in lines}
    assert (by_id[voided_id].state, by_id[voided_id].line_total,
            by_id[voided_id].void_reason) == ("voided", 50_000, "salah pesan")
    fired = next(line for line in lines if line.order_id == a1.id and line.state == "sent")
    assert (fired.round, fired.course, fired.seat, fired.added_at) == (
        2, "makanan", 2, T0 + timedelta(minutes=4))
    assert (orders[a2.id].status, orders[a2.id].merged_into, orders[a2.id].total) == (
        "merged", a3.id, 0)
    assert not [line for line in lines if line.order_id == a2.id]
    assert (orders[a3.id].status, orders[a3.id].split_count, orders[a3.id].table_id) == (
        "split", 2, "t-b1")
    assert len([line for line in lines if line.order_id == a3.id]) == 3  # kept for the record
    for part in parts:
        assert (orders[part.id].split_from, orders[part.id].table_id) == (a3.id, "t-b1")
    assert sum(orders[p.id].total for p in parts) == orders[a3.id].total
    assert sum(orders[p.id].total for p in even) == orders[b2.id].total
    assert orders[even[0].id].completed_at == T0 + timedelta(minutes=46, seconds=30)
    assert {line.product_id for line in lines if line.order_id == even[1].id} == {"split-share"}

    # Sales: parts yes, split and merged bills never; items where ordered, voided never.
    day = date(2026, 11, 2)
    async with db.tenant(seeded.tenant_id) as session:
        report = await reports.sales_report(session, seeded.owner(), outlet_id=None,
                                            day_from=day, day_to=day, use_rollups=False)
    sales = [o for o in floor.orders.values() if o.status not in (
        "voided", "cancelled", "split", "merged")]
    assert report.order_count == len(sales) == 1 + 2 + 3
    assert report.gross_total == sum(o.total for o in sales)
    items = {p.product_id: p.qty for p in report.by_product}
    assert items == {"p-nasi": 2 + 1 + 1 + 2, "p-kopi": 2 + 2}  # no voided kopi, no shares


async def test_amended_split_merged_and_moved_bills_land_with_their_table_fields(
        db_url: str) -> None:
    db = Database(db_url)
    try:
        await _table_scenario(db)
    finally:
        await db.dispose()


def _bill(lines: list[OrderLine], **figures: Any) -> Order:
    return Order(id=new_id(), outlet_id="o", number=1, business_day="2026-11-02",
                 type="dine_in", status="placed", currency="IDR", lines=lines,
                 created_at=T0, updated_at=T0, **figures)


def test_check_money_follows_the_table_service_rules() -> None:
    kopi = OrderLine(id="l1", product_id="p", name="Kopi", qty=2, unit_price=25_000,
                     line_total=50_000)
    nasi = OrderLine(id="l2", product_id="p2", name="Nasi", qty=1, unit_price=38_000,
                     line_total=38_000, state="voided", void_reason="x")
    fig = {"subtotal": 50_000, "discount": 0, "service_charge": 2_500, "tax": 5_250,
           "rounding": 0, "total": 57_750}
    assert check_money(_bill([kopi, nasi], **fig), TAX) == []
    wrong = check_money(_bill([kopi, nasi], **{**fig, "subtotal": 88_000, "total": 95_750}), TAX)
    assert wrong and "not voided" in wrong[0]
    merged = _bill([], subtotal=0, discount=0, service_charge=0, tax=0, rounding=0, total=0)
    assert check_money(msgspec.structs.replace(merged, status="merged", merged_into="x"),
                       TAX) == []
    share = OrderLine(id="s1", product_id="split-share", name="Bagian 1/3 · #1", qty=1,
                      unit_price=16_667, line_total=16_667)
    part = _bill([share], subtotal=16_667, discount=0, service_charge=833, tax=1_750,
                 rounding=0, total=19_250)
    assert check_money(msgspec.structs.replace(part, split_from="parent"), TAX) == []
    broken = msgspec.structs.replace(part, split_from="parent", total=19_251)
    assert check_money(broken, TAX)
    inclusive = TaxConfig(service_rate_bp=500, tax_rate_bp=1000, prices_include_tax=True)
    inside = _bill([share], subtotal=16_667, discount=0, service_charge=700, tax=1_400,
                   rounding=-67, total=16_600)
    assert check_money(msgspec.structs.replace(inside, split_from="parent"), inclusive) == []


def test_table_day_snapshots_all_pass_the_precheck() -> None:
    class Collect:
        def __init__(self) -> None:
            self.bodies: list[Any] = []

        def append(self, body: Any, at: datetime) -> None:
            self.bodies.append(body)

    sink = Collect()
    floor = Floor("o", sink, TaxConfig(service_rate_bp=500, tax_rate_bp=1000, rounding_unit=500),
                  "2026-11-02")
    table_day(floor, [("t1", "A1"), ("t2", "A2"), ("t3", "B1")], T0, random.Random(5), 24)
    orders = [b.order for b in sink.bodies if hasattr(b, "order")]
    assert len(orders) > 150
    assert all(check_money(o, floor.tax) == [] for o in orders)
