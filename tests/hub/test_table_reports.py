"""The table-service report (GET /api/v1/reports/tables) and the fleet's open bills equal a
raw recomputation from the outlets' journals.

Counter orders and a day of table service (``tests.hub.table_bills``: rounds, held courses,
voided lines, splits by item and even, merged bills, moved parties, a part cancelled, bills
left open) are pushed through the real ingest; floor plans name the tables and areas (one
table is no longer on the plan). Every figure is recomputed here from the decoded journal
entries and compared: on PostgreSQL and SQLite through the service, over HTTP against a real
hub process (tenant B never sees tenant A's figures, an area manager only their outlet, bad
input a 4xx in the one error shape).
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest

from hub.db import Database
from hub.fleet import open_bills
from hub.floor_models import FloorPlanRow
from hub.reports.tables import tables_report
from shared.ids import new_id
from shared.schemas import FloorArea, FloorPlan, FloorTable, Order, OrderEvent, event_decoder
from tests.hub.test_dashboard import browser, page  # noqa: F401 (fixtures)
from tests.hub.test_reports import TABLE_DAY, Seeded, _login, seed_tenant

NOT_SALE = ("voided", "cancelled", "split", "merged")
OPEN = ("placed", "in_kitchen", "ready")


@pytest.fixture(params=["postgres", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")


async def _floor_plans(db: Database, seeded: Seeded) -> None:
    """Indoor: T1-T3, Teras: T4-T5; T6 was taken off the plan."""
    async with db.tenant(seeded.tenant_id) as session:
        for outlet_id in seeded.outlets.values():
            prefix = outlet_id[-6:]
            plan = FloorPlan(version=3, areas=[
                FloorArea(id=f"{prefix}-in", name="Indoor", sort=1),
                FloorArea(id=f"{prefix}-out", name="Teras", sort=2)], tables=[
                FloorTable(id=f"{prefix}-t{i}", area_id=f"{prefix}-{'in' if i <= 3 else 'out'}",
                           name=f"Meja {i}", sort=i) for i in range(1, 6)])
            session.add(FloorPlanRow(tenant_id=seeded.tenant_id, outlet_id=outlet_id, version=3,
                                     plan=msgspec.to_builtins(plan)))


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp() // 1)


def _replay(seeded: Seeded) -> tuple[dict[str, Order], dict[str, datetime]]:
    """Latest snapshot of each order and when it first turned completed, from the journal."""
    orders: dict[str, tuple[int, Order]] = {}
    completed: dict[str, datetime] = {}
    for journal in seeded.journals.values():
        for entry in sorted(journal.sent, key=lambda e: e.seq):
            body = event_decoder.decode(entry.body)
            if not isinstance(body, OrderEvent):
                continue
            order = body.order
            if order.status == "completed":
                completed.setdefault(order.id, order.updated_at)
            else:
                completed.pop(order.id, None)
            if order.id not in orders or orders[order.id][0] < entry.seq:
                orders[order.id] = (entry.seq, order)
    return {k: v for k, (_, v) in orders.items()}, completed


def expected_tables(seeded: Seeded, day_from: date, day_to: date,
                    outlet_ids: list[str] | None = None) -> dict[str, Any]:
    scope = set(outlet_ids or seeded.outlets.values())
    orders, completed = _replay(seeded)
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def in_period(o: Order) -> bool:
        return o.outlet_id in scope and day_from <= date.fromisoformat(o.business_day) <= day_to

    for o in orders.values():
        if not in_period(o):
            continue
        table = o.table_id or (orders[o.split_from].table_id if o.split_from else None)
        if table and o.status not in NOT_SALE:
            s = sums[(o.outlet_id, table)]
            s["orders"] += 1
            s["sales"] += o.total
        if not o.table_id or o.split_from or o.status in ("voided", "cancelled", "merged"):
            continue
        s = sums[(o.outlet_id, o.table_id)]
        s["parties"] += 1
        s["covers"] += o.covers
        seated = _seconds(o.seated_at or o.created_at)
        finished = None
        if o.status == "completed":
            s["turns"] += 1
            finished = completed[o.id]
        elif o.status == "split":
            parts = [orders[p] for p in o.split_into]
            if all(p.status == "completed" for p in parts):
                s["turns"] += 1
                finished = max(completed[p.id] for p in parts)
        if finished is not None:
            s["turn_seconds"] += max(0, _seconds(finished) - seated)
            s["turn_count"] += 1
        sent = [line.added_at or o.created_at for line in o.lines if line.state != "held"]
        if sent:
            s["first_seconds"] += max(0, _seconds(min(sent)) - seated)
            s["first_count"] += 1
        for line in o.lines:
            if line.state == "voided":
                s["voided_lines"] += 1
                s["voided_amount"] += line.line_total
    return {key: dict(value) for key, value in sums.items()}


def _figures(s: dict[str, int]) -> dict[str, Any]:
    g = defaultdict(int, s)
    return {"parties": g["parties"], "covers": g["covers"], "turns": g["turns"],
            "orders": g["orders"], "sales": g["sales"],
            "average_spend_per_cover": g["sales"] // g["covers"] if g["covers"] else None,
            "average_turn_seconds": round(g["turn_seconds"] / g["turn_count"], 1)
            if g["turn_count"] else None,
            "average_first_order_seconds": round(g["first_seconds"] / g["first_count"], 1)
            if g["first_count"] else None,
            "voided_lines": g["voided_lines"], "voided_amount": g["voided_amount"]}


def _added(rows: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for row in rows:
        for k, v in row.items():
            total[k] += v
    return total


def assert_tables_match(report: dict[str, Any], seeded: Seeded, expected: dict) -> None:
    by_table = {(r["outlet_id"], r["table_id"]): r for r in report["by_table"]}
    assert set(by_table) == set(expected)
    for key, sums in expected.items():
        row = by_table[key]
        assert row["figures"] == _figures(sums), key
        number = key[1].rsplit("-t", 1)[1]
        if number == "6":  # off the plan: named as its bills are, no area
            assert (row["table"], row["area"], row["area_id"]) == ("T6", "", "")
        else:
            assert row["table"] == f"Meja {number}"
            assert row["area"] == ("Indoor" if int(number) <= 3 else "Teras")
    areas: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(list)
    for key, sums in expected.items():
        areas[(key[0], by_table[key]["area_id"])].append(sums)
    got_areas = {(r["outlet_id"], r["area_id"]): r["figures"] for r in report["by_area"]}
    assert got_areas == {key: _figures(_added(rows)) for key, rows in areas.items()}
    assert report["totals"] == _figures(_added(list(expected.values())))


async def _scenario(db: Database) -> None:
    seeded = await seed_tenant(db, "Resto Laporan", {"Jakarta": "Asia/Jakarta",
                                                     "Bali": "Asia/Makassar"},
                               orders_per_outlet=40, seed=11, table_parties=24)
    await _floor_plans(db, seeded)
    expected = expected_tables(seeded, TABLE_DAY, TABLE_DAY)
    totals = _figures(_added(list(expected.values())))
    assert totals["turns"] > 10 and totals["voided_lines"] > 3
    assert totals["parties"] > totals["turns"]  # some are still open
    async with db.tenant(seeded.tenant_id, readonly=True) as session:
        report = msgspec.to_builtins(await tables_report(
            session, seeded.owner(), outlet_id=None, day_from=TABLE_DAY, day_to=TABLE_DAY))
        bali = seeded.outlets["Bali"]
        one = msgspec.to_builtins(await tables_report(
            session, seeded.owner(), outlet_id=bali, day_from=TABLE_DAY, day_to=TABLE_DAY))
        empty = msgspec.to_builtins(await tables_report(
            session, seeded.owner(), outlet_id=None, day_from=date(2025, 1, 1),
            day_to=date(2025, 1, 2)))
        bills = await open_bills(session, seeded.tenant_id)
    assert_tables_match(report, seeded, expected)
    assert_tables_match(one, seeded, expected_tables(seeded, TABLE_DAY, TABLE_DAY, [bali]))
    assert empty["by_table"] == [] and empty["totals"]["average_spend_per_cover"] is None
    orders, _ = _replay(seeded)
    for outlet_id in seeded.outlets.values():
        open_ = [o for o in orders.values() if o.outlet_id == outlet_id and o.table_id
                 and o.status in OPEN]
        assert open_, "the table day leaves bills open"
        assert bills[outlet_id] == (len(open_), sum(o.total for o in open_),
                                    min(o.seated_at or o.created_at for o in open_))


async def test_tables_report_matches_the_journal_on_each_database(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _scenario(db)
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_tables_report_over_http_is_tenant_isolated_scoped_and_validated(
        pg_url: str, hub_server: Any) -> None:
    db = Database(pg_url)
    try:
        alpha = await seed_tenant(db, "Alpha Meja", {"A Jakarta": "Asia/Jakarta",
                                                     "A Bali": "Asia/Makassar"}, 10, seed=3,
                                  table_parties=12)
        bravo = await seed_tenant(db, "Bravo Meja", {"B Jakarta": "Asia/Jakarta"}, 10, seed=4,
                                  table_parties=16)
        await _floor_plans(db, alpha)
        await _floor_plans(db, bravo)
    finally:
        await db.dispose()
    url = "/api/v1/reports/tables"
    period = {"from": TABLE_DAY.isoformat(), "to": TABLE_DAY.isoformat()}
    with _login(hub_server, alpha.email) as owner_a, _login(hub_server, bravo.email) as owner_b:
        mine = owner_a.get(url, params=period)
        assert mine.status_code == 200, mine.text
        assert_tables_match(mine.json(), alpha, expected_tables(alpha, TABLE_DAY, TABLE_DAY))
        theirs = owner_b.get(url, params=period)
        assert_tables_match(theirs.json(), bravo, expected_tables(bravo, TABLE_DAY, TABLE_DAY))
        for outlet_id in alpha.outlets.values():  # nothing of A in B's answer
            assert outlet_id not in theirs.text and outlet_id[-6:] not in theirs.text
        foreign = owner_b.get(url, params={**period, "outlet_id": alpha.outlets["A Bali"]})
        assert foreign.status_code == 404 and "sales" not in foreign.text

        # Fleet: each outlet's open bills, only one's own.
        fleet_a = {e["outlet_id"]: e for e in owner_a.get("/api/v1/fleet").json()["items"]}
        assert set(fleet_a) == set(alpha.outlets.values())
        orders, _ = _replay(alpha)
        for outlet_id, entry in fleet_a.items():
            open_ = [o for o in orders.values() if o.outlet_id == outlet_id and o.table_id
                     and o.status in OPEN]
            assert (entry["open_bills"], entry["open_bill_value"]) == (
                len(open_), sum(o.total for o in open_))
            oldest = min(o.seated_at or o.created_at for o in open_)
            assert datetime.fromisoformat(entry["oldest_seated_at"]) == oldest.astimezone(UTC)

        # An area manager sees their outlet only.
        jakarta, bali = alpha.outlets["A Jakarta"], alpha.outlets["A Bali"]
        created = owner_a.post("/api/v1/users", json={
            "email": f"area-{new_id()[-8:]}@alpha.test", "password": "area-password-1",
            "role": "area_manager", "outlet_ids": [jakarta]})
        assert created.status_code == 201, created.text
        with _login(hub_server, created.json()["email"], "area-password-1") as area:
            scoped = area.get(url, params=period)
            assert scoped.status_code == 200 and scoped.json()["outlet_ids"] == [jakarta]
            assert_tables_match(scoped.json(), alpha,
                                expected_tables(alpha, TABLE_DAY, TABLE_DAY, [jakarta]))
            denied = area.get(url, params={**period, "outlet_id": bali})
            assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"

        for params, status in [({"from": "2026-03-31", "to": "2026-03-01"}, 400),
                               ({"from": "kemarin", "to": "2026-03-01"}, 400),
                               ({"to": "2026-03-01"}, 400),
                               ({"from": "2020-01-01", "to": "2026-01-01"}, 400),
                               ({**period, "outlet_id": "x" * 65}, 400),
                               ({**period, "outlet_id": "no-such-outlet"}, 404)]:
            response = owner_a.get(url, params=params)
            assert response.status_code == status, (params, response.text)
            assert response.json()["error"]["message"]
        with hub_server.client() as anonymous:
            assert anonymous.get(url, params=period).status_code == 401


# ---------------------------------------------------------------- the dashboard page


@pytest.mark.browser
@pytest.mark.postgres
def test_tables_page_shows_the_api_figures_in_both_languages_and_exports_them(
        page: Any, pg_url: str, hub_server: Any) -> None:  # noqa: F811
    import asyncio
    import csv
    import io
    import re
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from shared.money import format_money
    from tests.hub.test_dashboard import REPO, _choose
    from tests.hub.test_reports import PASSWORD

    async def seed() -> Seeded:
        db = Database(pg_url)
        try:
            seeded = await seed_tenant(db, "Resto Dasbor", {"Menteng": "Asia/Jakarta"}, 10,
                                       seed=21, table_parties=16)
            await _floor_plans(db, seeded)
            return seeded
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:  # the browser's event loop is running
        seeded = pool.submit(asyncio.run, seed()).result()
    day = TABLE_DAY.isoformat()
    with _login(hub_server, seeded.email) as owner:
        api = owner.get("/api/v1/reports/tables", params={"from": day, "to": day}).json()
    assert api["totals"]["parties"] > 10 and api["by_table"]
    page.goto(hub_server.base_url + "/dashboard/")
    page.get_by_label("Email").fill(seeded.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("main[data-page=fleet]")
    page.get_by_role("link", name="Tables").click()
    page.wait_for_selector("main[data-page=tables] form")
    page.get_by_label("From", exact=True).fill(day)
    page.get_by_label("To", exact=True).fill(day)
    page.get_by_role("button", name="Show report").click()
    sales = format_money(api["totals"]["sales"], "IDR")
    page.wait_for_function("s => document.querySelector('[data-kpi=sales]')?.textContent === s",
                           arg=sales)
    assert page.locator("[data-kpi=covers]").inner_text() == str(api["totals"]["covers"])
    assert page.locator("[data-kpi=turns]").inner_text() == str(api["totals"]["turns"])
    rows = page.locator("table[data-table=tables] tbody tr")
    assert rows.count() == len(api["by_table"])
    first = api["by_table"][0]
    assert first["table"] in rows.first.inner_text()
    assert format_money(first["figures"]["sales"], "IDR") in rows.first.inner_text()
    with page.expect_download() as download:
        page.get_by_test_id("tables-csv").click()
    lines = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert lines[2][:5] == ["All", str(api["totals"]["parties"]), str(api["totals"]["covers"]),
                            str(api["totals"]["turns"]), str(api["totals"]["sales"])]
    assert any(row[2:4] == [first["table"], str(first["figures"]["parties"])] for row in lines)
    _choose(page, "id")
    page.get_by_role("link", name="Meja", exact=True).click()
    page.get_by_label("Dari", exact=True).fill(day)
    page.get_by_label("Sampai", exact=True).fill(day)
    page.get_by_role("button", name="Tampilkan laporan").click()
    page.wait_for_function("n => document.querySelectorAll('table[data-table=tables] tbody tr')"
                           ".length === n", arg=len(api["by_table"]))
    assert "Perputaran meja" in page.locator("main").inner_text()
    assert "Belanja per tamu" in page.locator("main").inner_text()
    source = (REPO / "hub" / "dashboard" / "js" / "pages" / "tables.js").read_text()
    keys = set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', source))
    keys |= set(re.findall(r'^  \["\w+", "([^"]+)", "(DEF_T_\w+)"', source, re.MULTILINE)[0])
    keys |= {m for pair in re.findall(r'"([A-Z][^"]*)", "(DEF_T_\w+)"', source) for m in pair}
    missing = page.evaluate("""async (keys) => {
        const m = await import('/dashboard/js/i18n.js');
        return keys.filter(k => !(k in m.DEFINED));
    }""", sorted(keys))
    assert missing == [], missing
    if os.environ.get("FNBPOS_DOCS_IMAGES"):  # a test run leaves the checkout as it was
        page.screenshot(path=str(REPO / "docs" / "img" / "hub-tables.png"), full_page=True)
