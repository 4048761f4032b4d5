"""Benchmark: the hub's sales report over one tenant's month of synced orders.

Creates a fresh PostgreSQL database (dropped at the end), migrates it, loads
``--lines`` order lines (default 1,000,000) for one tenant — orders, lines, payments and
kitchen events, with PostgreSQL COPY — plus a smaller second tenant as neighbour, then times
``hub.reports.sales_report`` the way a request runs it (asyncpg, the non-superuser app role,
Row-Level Security on):

* ``live``: every figure aggregated from the raw rows (no roll-ups yet);
* ``rollup``: after the roll-up job (``refresh_rollups``), which is also timed;
* ``two_days_fast``: the dashboard's fast read path (``hub.reports.fast``, the kept
  connection of ``Database.reader``) over the month's last two days, no roll-ups, so every
  cell is live on the reader; first of all, so with ``--no-analyze`` it meets the planner
  statistics of right after a large sync;
* for all outlets of the tenant and for one outlet; "cold" is the first report on a fresh
  connection pool (PostgreSQL's buffer cache is not flushed), "p50" the median of ``--runs``
  warm runs.

It checks that the rolled-up report equals the live one. Prints one JSON object per line.

``--compare-plan-settings`` times, instead, the live month (session path) and the two live
days (fast path) under each variant of ``hub.reports.cells.LIVE_PLAN_SETTINGS`` in turn,
two rounds, in one run (docs/scaling.md, "Right after a large sync").

    .venv/bin/python tests/bench/bench_hub_reports.py [--lines 1000000] [--outlets 20] [--no-analyze]
        [--compare-plan-settings]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import psycopg

from hub import reports
from hub.db import Database, run_migrations
from hub.identity import Principal
from hub.reports import cells, fast
from hub.reports.fast import sales_report_fast
from shared.ids import new_id

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ZONE = ZoneInfo("Asia/Jakarta")
MONTH_FROM, MONTH_TO = date(2026, 10, 1), date(2026, 10, 31)
PRODUCTS = [(f"p-{i:03d}", f"Product {i}", 8_000 + 1_000 * (i % 40)) for i in range(120)]
METHODS = ["cash", "card", "qris", "ewallet"]


def emit(**fields: object) -> None:
    # The 1-minute load average is printed so figures from a busy machine can be told apart.
    print(json.dumps({"bench": "hub_reports", **fields,
                      "load_avg_1m": round(os.getloadavg()[0], 1)}), flush=True)


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def load_tenant(conn: psycopg.Connection, tenant_id: str, outlets: int, lines_wanted: int,
                rnd: random.Random) -> dict[str, int]:
    """Insert a tenant's outlets and a month of orders with COPY; returns row counts."""
    now = datetime.now(UTC)
    brand_id = new_id()
    conn.execute("INSERT INTO tenants (id, name, currency, active, created_at, updated_at) "
                 "VALUES (%s, %s, 'IDR', true, %s, %s)", (tenant_id, f"bench {tenant_id[-6:]}", now, now))
    conn.execute("INSERT INTO brands (id, tenant_id, name, created_at, updated_at) "
                 "VALUES (%s, %s, 'Bench', %s, %s)", (brand_id, tenant_id, now, now))
    # the owner the reports run as (the fast path checks the caller is a current user)
    conn.execute("INSERT INTO users (id, tenant_id, email, name, password_hash, role, active,"
                 " token_version, created_at, updated_at) VALUES (%s, %s, %s, 'Bench', '',"
                 " 'owner', true, 0, %s, %s)", (f"bench-{tenant_id}", tenant_id, f"bench-{tenant_id}@x", now, now))
    outlet_ids = [new_id() for _ in range(outlets)]
    for i, outlet_id in enumerate(outlet_ids):
        conn.execute(
            "INSERT INTO outlets (id, tenant_id, brand_id, name, timezone, address, currency,"
            " service_rate_bp, tax_rate_bp, tax_name, prices_include_tax, rounding_unit, settings,"
            " active, created_at, updated_at) VALUES (%s, %s, %s, %s, 'Asia/Jakarta', '', 'IDR',"
            " 500, 1000, 'PB1', false, 1, '{}', true, %s, %s)",
            (outlet_id, tenant_id, brand_id, f"Outlet {i + 1:02d}", now, now))
    orders, lines, payments, kitchen = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    counts = {"orders": 0, "order_lines": 0, "payments": 0, "kitchen_events": 0}
    start = datetime.combine(MONTH_FROM, datetime.min.time(), ZONE)
    span = ((MONTH_TO - MONTH_FROM).days + 1) * 86_400
    seq = dict.fromkeys(outlet_ids, 0)
    while counts["order_lines"] < lines_wanted:
        outlet_id = rnd.choice(outlet_ids)
        seq[outlet_id] += 1
        created = (start + timedelta(seconds=rnd.randrange(span))).astimezone(UTC)
        business_day = created.astimezone(ZONE).date().isoformat()
        order_id = new_id()
        subtotal = 0
        for _ in range(min(rnd.randint(1, 5), lines_wanted - counts["order_lines"])):
            pid, name, price = rnd.choice(PRODUCTS)
            qty = rnd.randint(1, 3)
            subtotal += price * qty
            lines.write(f"{new_id()}\t{order_id}\t{outlet_id}\t{pid}\t{name}\t{qty}\t{price}\t"
                        f"{price * qty}\t[]\t\tkitchen\t{tenant_id}\t{business_day}\tsent\t0\t\t0\t\n")
            counts["order_lines"] += 1
        service = subtotal * 500 // 10_000
        tax = (subtotal + service) * 1000 // 10_000
        total = subtotal + service + tax
        fate = rnd.random()
        status = "voided" if fate < 0.05 else ("completed" if fate > 0.08 else "in_kitchen")
        paid = 0 if fate < 0.03 or 0.05 <= fate < 0.07 else total
        if paid:
            payments.write(f"{new_id()}\t{order_id}\t{outlet_id}\t{rnd.choice(METHODS)}\t{paid}\t"
                           f"{paid}\t0\t\t{_ts(created + timedelta(seconds=40))}\t\\N\t\\N\t"
                           f"{_ts(now)}\t{tenant_id}\n")
            counts["payments"] += 1
        ticket = new_id()
        kitchen.write(f"{new_id()}\t{outlet_id}\t{ticket}\t{order_id}\tkitchen\tcreated\t"
                      f"{_ts(created)}\t{_ts(now)}\t{tenant_id}\n")
        kitchen.write(f"{new_id()}\t{outlet_id}\t{ticket}\t{order_id}\tkitchen\tbumped\t"
                      f"{_ts(created + timedelta(seconds=rnd.randint(60, 1200)))}\t{_ts(now)}\t"
                      f"{tenant_id}\n")
        counts["kitchen_events"] += 2
        updated = created + timedelta(minutes=20)
        orders.write(f"{order_id}\t{outlet_id}\t{seq[outlet_id]}\t{business_day}\ttakeaway\t"
                     f"{status}\tIDR\t{subtotal}\t0\t{service}\t{tax}\t0\t{total}\t{paid}\t\t\t\t\t"
                     f"kiosk\t{_ts(created)}\t{_ts(updated)}\t{seq[outlet_id]}\t{_ts(now)}\t"
                     f"{tenant_id}\t\t0\t0\t0\t\t0\n")
        counts["orders"] += 1
    tables = [
        ("orders", ("id, outlet_id, number, business_day, type, status, currency, subtotal, discount,"
                   " service_charge, tax, rounding, total, paid, note, customer_name, table_label,"
                   " void_reason, source, created_at, updated_at, edge_seq, received_at, tenant_id,"
                   " discount_reason, refunded, covers, revision, split_part, split_count"),
         orders),
        ("order_lines", ("id, order_id, outlet_id, product_id, name, qty, unit_price, line_total,"
                        " modifiers, note, station, tenant_id, business_day, state, round, course, seat,"
                        " void_reason"), lines),
        ("payments", ("id, order_id, outlet_id, method, amount, tendered, change, reference,"
                     " created_at, shift_id, staff_id, received_at, tenant_id"), payments),
        ("kitchen_events", ("id, outlet_id, ticket_id, order_id, station, action, at, received_at,"
                           " tenant_id"), kitchen),
    ]
    for table, columns, buffer in tables:
        with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
    conn.commit()
    return counts | {"outlets": outlets, "first_outlet": outlet_ids[0]}  # type: ignore[dict-item]


async def time_report(url: str, principal: Principal, runs: int, **kwargs: object
                      ) -> tuple[float, float, dict]:
    """(cold ms on a fresh pool, warm p50 ms, last report)."""
    db = Database(url)
    try:
        timings = []
        report = None
        for _ in range(runs + 1):
            started = time.perf_counter()
            async with db.tenant(principal.tenant_id) as session:
                report = await reports.sales_report(session, principal, day_from=MONTH_FROM,
                                                    day_to=MONTH_TO, **kwargs)  # type: ignore[arg-type]
            timings.append((time.perf_counter() - started) * 1000)
        return (round(timings[0], 1), round(statistics.median(timings[1:]), 1),
                msgspec.to_builtins(report))
    finally:
        await db.dispose()


async def time_fast_two_days(url: str, owner: Principal, runs: int) -> None:
    """The month's last two days on the fast read path (all live), checked against the
    session path's live report of the same days."""
    day_from = MONTH_TO - timedelta(days=1)
    db = Database(url)
    try:
        timings = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            report = await sales_report_fast(db, owner, outlet_id=None, day_from=day_from,
                                             day_to=MONTH_TO)
            timings.append((time.perf_counter() - started) * 1000)
        async with db.tenant(owner.tenant_id) as session:
            live = await reports.sales_report(session, owner, outlet_id=None, day_from=day_from,
                                              day_to=MONTH_TO, use_rollups=False)
    finally:
        await db.dispose()
    fast, slow = msgspec.to_builtins(report), msgspec.to_builtins(live)
    same = {k: v for k, v in fast.items() if k != "source"} == \
        {k: v for k, v in slow.items() if k != "source"}
    emit(case="two_days_fast_live", cold_ms=round(timings[0], 1),
         p50_ms=round(statistics.median(timings[1:]), 1), runs=runs, orders=fast["order_count"],
         live_cells=fast["source"]["live_cells"], equals_session_path=same,
         last_phases_ms={k: v for k, v in fast["source"].items() if k.endswith("_ms")})
    if not same:
        raise SystemExit("the fast path's report differs from the session path's")


PLAN_VARIANTS = {
    "work_mem only": (("work_mem", "64MB"),),
    "+ jit off": (("work_mem", "64MB"), ("jit", "off")),
    "+ nestloop off": (("work_mem", "64MB"), ("enable_nestloop", "off")),
    "+ nestloop off + jit off": (("work_mem", "64MB"), ("enable_nestloop", "off"),
                                 ("jit", "off")),
}


async def compare_plan_settings(url: str, tenant_id: str) -> None:
    owner = Principal(user_id=f"bench-{tenant_id}", tenant_id=tenant_id, role="owner")
    current = cells.LIVE_PLAN_SETTINGS
    db = Database(url)
    try:
        for round_ in range(2):
            for name, settings in PLAN_VARIANTS.items():
                # both paths read the module constant when they run
                cells.LIVE_PLAN_SETTINGS = fast.LIVE_PLAN_SETTINGS = settings
                month, days = [], []
                for _ in range(2):
                    started = time.perf_counter()
                    async with db.tenant(tenant_id) as session:
                        await reports.sales_report(session, owner, outlet_id=None,
                                                   day_from=MONTH_FROM, day_to=MONTH_TO,
                                                   use_rollups=False)
                    month.append(round((time.perf_counter() - started) * 1000))
                for _ in range(3):
                    started = time.perf_counter()
                    await sales_report_fast(db, owner, outlet_id=None,
                                            day_from=MONTH_TO - timedelta(days=1), day_to=MONTH_TO)
                    days.append(round((time.perf_counter() - started) * 1000))
                emit(case="plan_settings", round=round_, settings=name,
                     current=settings == current, month_live_session_ms=month,
                     two_days_live_fast_ms=days)
    finally:
        cells.LIVE_PLAN_SETTINGS = fast.LIVE_PLAN_SETTINGS = current
        await db.dispose()


async def measure(url: str, tenant_id: str, outlet_id: str, runs: int, lines: int) -> None:
    owner = Principal(user_id=f"bench-{tenant_id}", tenant_id=tenant_id, role="owner")
    await time_fast_two_days(url, owner, runs)
    cases = [("all_outlets", {"outlet_id": None}), ("one_outlet", {"outlet_id": outlet_id})]
    live: dict[str, dict] = {}
    for name, kwargs in cases:
        cold, p50, report = await time_report(url, owner, runs, use_rollups=False, **kwargs)
        live[name] = report
        emit(case=f"month_{name}_live", cold_ms=cold, p50_ms=p50, runs=runs, order_lines=lines,
             orders=report["order_count"], rollup_cells=report["source"]["rollup_cells"])
    # "This month" on its last day: the days before are rolled up, today is computed live.
    await roll_up(url, datetime(2026, 10, 31, 12, tzinfo=ZONE))
    await compare(url, owner, runs, lines, cases, live, "month_to_date")
    # A closed month: every day rolled up.
    await roll_up(url, datetime(2026, 11, 2, tzinfo=UTC))
    await compare(url, owner, runs, lines, cases, live, "closed_month")


async def roll_up(url: str, now: datetime) -> None:
    db = Database(url)
    try:
        started = time.perf_counter()
        async with db.system() as session:
            built = await reports.refresh_rollups(session, now=now, lookback_days=45)
        emit(case="rollup_job", now=now.isoformat(),
             ms=round((time.perf_counter() - started) * 1000, 1), **built)
    finally:
        await db.dispose()
    # What autovacuum does soon after a bulk insert; done at once so the plans are the steady ones.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE report_daily")
        conn.execute("ANALYZE report_daily_items")


async def compare(url: str, owner: Principal, runs: int, lines: int,
                  cases: list[tuple[str, dict]], live: dict[str, dict], label: str) -> None:
    for name, kwargs in cases:
        cold, p50, report = await time_report(url, owner, runs, **kwargs)
        same = {k: v for k, v in report.items() if k != "source"} == \
            {k: v for k, v in live[name].items() if k != "source"}
        source = report["source"]
        emit(case=f"{label}_{name}_rollup", cold_ms=cold, p50_ms=p50, runs=runs,
             order_lines=lines, rollup_cells=source["rollup_cells"],
             live_cells=source["live_cells"], tenant_wide_days=source["tenant_wide_days"],
             last_phases_ms={k: v for k, v in source.items() if k.endswith("_ms")},
             equals_live=same)
        if not same:
            raise SystemExit("roll-up report differs from the live report")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-analyze", action="store_true",
                        help="report right after the load, before autovacuum has analyzed it "
                             "(as right after a large sync)")
    parser.add_argument("--compare-plan-settings", action="store_true",
                        help="time the live reports under each variant of LIVE_PLAN_SETTINGS")
    args = parser.parse_args()
    name = f"bench_reports_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        run_migrations(url)
        rnd = random.Random(2026)
        tenant_id = new_id()
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            counts = load_tenant(conn, tenant_id, args.outlets, args.lines, rnd)
            neighbour = load_tenant(conn, new_id(), 5, args.lines // 10, rnd)
        if not args.no_analyze:
            with psycopg.connect(url, autocommit=True) as conn:
                # What autovacuum does after a bulk load (visibility map for index-only scans).
                conn.execute("VACUUM ANALYZE")
        emit(case="load", seconds=round(time.perf_counter() - started, 1),
             **{k: v for k, v in counts.items() if k != "first_outlet"},
             neighbour_order_lines=neighbour["order_lines"])
        if args.compare_plan_settings:
            asyncio.run(compare_plan_settings(url, tenant_id))
        else:
            asyncio.run(measure(url, tenant_id, str(counts["first_outlet"]), args.runs,
                                counts["order_lines"]))
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
