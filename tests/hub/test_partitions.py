"""Monthly partitions of the hub's fact tables (migration 0500, hub.partitions).

* The conversion of a live database: a database at the previous head, holding two tenants'
  orders over several months (and one with an edge clock years ahead), is migrated; every
  row is still there (lines with their order's business day), the old tables are attached
  without a scan (PostgreSQL's DEBUG1 lines, logged by the migration), the keys and the
  policies are on the parents, the login roles cannot reach a partition, and the ingest
  (with a replay) and the reports work on the result.
* A month's report prunes: EXPLAIN of the report's own statements names that month's
  partition of ``orders`` and no other.
* Maintenance: the months ahead are added (rows the default partition caught move in), the
  retention drops whole partitions (the journal's quarantined entries are kept), through the
  SECURITY DEFINER functions as the system role, from the scheduled job and from the CLI.
* SQLite: no partitions; the job says so.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, MetaData, NullPool, create_engine, event, select, text

from hub import partitions
from hub.db import Database, run_migrations, sync_url
from hub.ingest import SyncIdentity
from hub.ingest.apply import Event, apply_events
from hub.models import KitchenEventRow, OrderLineRow, OrderRow, Outlet, PaymentRow
from hub.partitions import Partition, month_start, plan_additions, plan_drops
from hub.reports.cells import compute_cells
from hub.scheduler import default_jobs, run_once
from hub.settings import HubSettings
from shared.ids import new_id
from shared.schemas import KitchenEvent, OrderEvent, Payment, PaymentEvent
from tests.hub.conftest import JWT_SECRET, PG_ADMIN_DSN, run_cli
from tests.hub.test_ingest_apply import TAX, order

MIGRATION = Path(__file__).resolve().parents[2] / "hub" / "migrations" / "versions" / \
    "0500_partitions.py"
FACT_TABLES = ("orders", "order_lines", "payments", "kitchen_events", "sync_journal")
# Business days of the seeded orders: months before the migration, and one far ahead.
SEEDED_DAYS = [date(2026, 1, 15), date(2026, 2, 3), date(2026, 6, 30), date(2026, 11, 2)]
STRAY_DAY = date(2031, 5, 4)  # an edge clock years ahead: the default partition's


def _previous_head() -> str:
    spec = importlib.util.spec_from_file_location("hub_migration_0500", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.down_revision)


@dataclass
class PgDb:
    name: str
    admin: str  # superuser: sees every tenant
    owner: str
    app: str
    system: str
    tenants: list[str] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    migration_log: list[str] = field(default_factory=list)


def _make_db() -> PgDb:
    name = f"pos_test_part_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}_owner" LOGIN')
        conn.execute(f'CREATE ROLE "{name}_app" LOGIN')
        conn.execute(f'CREATE ROLE "{name}_system" LOGIN BYPASSRLS')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}_owner"')
    base = "postgresql://{}@127.0.0.1:5432/" + name
    return PgDb(name, base.format("postgres"), base.format(f"{name}_owner"),
                base.format(f"{name}_app"), base.format(f"{name}_system"))


def _drop_db(db: PgDb) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        for kind in ("app", "system", "owner"):
            conn.execute(f'DROP ROLE IF EXISTS "{db.name}_{kind}"')


def _migrate(db: PgDb, revision: str = "head") -> None:
    run_migrations(db.owner, grant_to=[f"{db.name}_app", f"{db.name}_system"], revision=revision)


class _Rows:
    """Inserts into the schema as it is (reflected): unnamed NOT NULL columns get a plain
    value of their type, so the seed works at whatever the previous head is."""

    def __init__(self, engine: Engine) -> None:
        self.meta = MetaData()
        self.meta.reflect(engine)
        self.engine = engine

    def add(self, conn: Any, table: str, **values: Any) -> None:
        t = self.meta.tables[table]
        for column in t.c:
            if column.name in values or column.nullable:
                continue
            kind = column.type.__class__.__name__.lower()
            values[column.name] = (
                0 if "int" in kind else
                True if "bool" in kind else
                datetime(2026, 1, 1, tzinfo=UTC) if "timestamp" in kind or "datetime" in kind else
                date(2026, 1, 1) if "date" in kind else
                {} if "json" in kind else
                b"" if "bytea" in kind or "binary" in kind else "")
        conn.execute(t.insert().values(**values))


def _seed(db: PgDb) -> None:
    """Two tenants' facts at the previous head, as the superuser (no RLS in the way)."""
    engine = create_engine(sync_url(db.admin), poolclass=NullPool)
    rows = _Rows(engine)
    try:
        with engine.begin() as conn:
            for n in range(2):
                tenant, brand, outlet = new_id(), new_id(), new_id()
                db.tenants.append(tenant)
                db.outlets.append(outlet)
                rows.add(conn, "tenants", id=tenant, name=f"Tenant {n}", currency="IDR")
                rows.add(conn, "brands", id=brand, tenant_id=tenant, name="Brand")
                rows.add(conn, "outlets", id=outlet, tenant_id=tenant, brand_id=brand,
                         name="Outlet", timezone="Asia/Jakarta", settings={})
                for i, day in enumerate([*SEEDED_DAYS, STRAY_DAY]):
                    at = datetime(day.year, day.month, day.day, 5, tzinfo=UTC)
                    order_id = new_id()
                    rows.add(conn, "orders", id=order_id, tenant_id=tenant, outlet_id=outlet,
                             number=i + 1, business_day=day, type="takeaway",
                             status="completed", currency="IDR", subtotal=50_000,
                             total=50_000, paid=50_000, created_at=at, updated_at=at,
                             received_at=at, edge_seq=i + 1)
                    for _ in range(2):
                        rows.add(conn, "order_lines", id=new_id(), tenant_id=tenant,
                                 order_id=order_id, outlet_id=outlet, product_id="p-kopi",
                                 name="Kopi", qty=1, unit_price=25_000, line_total=25_000,
                                 modifiers=[], station="kitchen", state="sent")
                    rows.add(conn, "payments", id=new_id(), tenant_id=tenant,
                             order_id=order_id, outlet_id=outlet, method="cash",
                             amount=50_000, created_at=at, received_at=at)
                    rows.add(conn, "kitchen_events", id=new_id(), tenant_id=tenant,
                             outlet_id=outlet, ticket_id=new_id(), order_id=order_id,
                             station="kitchen", action="created", at=at, received_at=at)
                    rows.add(conn, "sync_journal", tenant_id=tenant, outlet_id=outlet,
                             epoch="e1", seq=i + 1, event_id=new_id(), kind="order",
                             body=b"{}", prev_hash="0" * 64, hash="1" * 64, occurred_at=at,
                             received_at=min(at, datetime(2026, 11, 1, tzinfo=UTC)),
                             status="quarantined" if i == 0 else "applied", wire_version=2)
            db.counts = {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                         for table in FACT_TABLES}
    finally:
        engine.dispose()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def converted() -> Iterator[PgDb]:
    """A database built at the previous head, seeded, then migrated to head."""
    db = _make_db()
    try:
        _migrate(db, _previous_head())
        _seed(db)
        collect = _Collect()
        logger = logging.getLogger("hub.migrations")
        logger.addHandler(collect)
        logger.setLevel(logging.INFO)
        try:
            _migrate(db)
        finally:
            logger.removeHandler(collect)
        db.migration_log = collect.lines
        yield db
    finally:
        _drop_db(db)


def _sql(url: str, sql: str, *params: Any, tenant: str | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        if tenant is not None:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        return list(conn.execute(sql, params or None))


# ---------------------------------------------------------------- the conversion


@pytest.mark.postgres
def test_conversion_keeps_every_row_and_attaches_without_a_scan(converted: PgDb) -> None:
    db = converted
    for table, count in db.counts.items():
        assert _sql(db.admin, f"SELECT count(*) FROM {table}") == [(count,)], table
    assert db.counts["orders"] == 10 and db.counts["order_lines"] == 20
    # Lines carry their order's business day.
    assert _sql(db.admin, "SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id"
                          " WHERE l.business_day = o.business_day") == [(20,)]
    # The old rows are the legacy partition's; the stray waits in the default partition.
    upper = month_start(datetime.now(UTC).date(), 2)
    for table in FACT_TABLES:
        bounds = {name: bound for name, bound in _sql(
            db.admin, "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
                      " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            table)}
        assert bounds[f"{table}_legacy"].startswith("FOR VALUES FROM (MINVALUE) TO ('"
                                                    + upper.isoformat()), bounds
        assert bounds[f"{table}_default"] == "DEFAULT"
        for n in range(4):  # monthly partitions ahead of the legacy one
            assert f"{table}_p{month_start(upper, n):%Y%m}" in bounds
    by_partition = dict(_sql(db.admin, "SELECT tableoid::regclass::text, count(*) FROM orders"
                                       " GROUP BY 1"))
    assert by_partition == {"hub_partitions.orders_legacy": 8, "hub_partitions.orders_default": 2}
    # PostgreSQL proved each bound from the validated CHECK (no scan under the lock), and
    # the NOT NULL of the new column; no index was built on an old table.
    log = "\n".join(db.migration_log)
    for table in FACT_TABLES:
        assert f'partition constraint for table "{table}_legacy" is implied by existing ' \
               'constraints' in log, log
    assert 'column "order_lines.business_day" are sufficient to prove' in log, log
    assert "building index" not in log, log


@pytest.mark.postgres
def test_conversion_keys_policies_and_grants(converted: PgDb) -> None:
    db = converted
    keys = dict(_sql(db.admin, "SELECT conrelid::regclass::text, pg_get_constraintdef(oid)"
                               " FROM pg_constraint WHERE contype = 'p' AND conrelid = ANY(%s::regclass[])",
                     list(FACT_TABLES)))
    assert keys == {"orders": "PRIMARY KEY (id, business_day)",
                    "order_lines": "PRIMARY KEY (id, business_day)",
                    "payments": "PRIMARY KEY (id, created_at)",
                    "kitchen_events": "PRIMARY KEY (id, at)",
                    "sync_journal": "PRIMARY KEY (outlet_id, epoch, seq, received_at)"}
    kitchen_unique = ("CREATE UNIQUE INDEX uq_kitchen_events_ticket_action_at ON ONLY"
                      " public.kitchen_events USING btree (ticket_id, action, at)")
    assert _sql(db.admin, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
                          " AND indexname = 'uq_kitchen_events_ticket_action_at'") == [
        (kitchen_unique,)]
    # The orders' foreign keys moved to the parent; lines have none to orders any more.
    fks = {row[0] for row in _sql(db.admin, "SELECT conname FROM pg_constraint WHERE contype = 'f'"
                                            " AND conrelid = ANY(%s::regclass[])", list(FACT_TABLES))}
    assert fks == {"fk_orders_tenant_id_tenants", "fk_orders_outlet_id_outlets"}
    # FORCE'd RLS on every parent; under the app role a tenant sees its own rows only.
    assert _sql(db.admin, "SELECT relname FROM pg_class WHERE relname = ANY(%s)"
                          " AND relnamespace = 'public'::regnamespace AND relrowsecurity"
                          " AND relforcerowsecurity ORDER BY 1", list(FACT_TABLES)) == sorted(
        (table,) for table in FACT_TABLES)
    first, second = db.tenants
    for table in FACT_TABLES:
        assert _sql(db.app, f"SELECT DISTINCT tenant_id FROM {table}", tenant=first) == [(first,)]
        assert _sql(db.app, f"SELECT count(*) FROM {table}") == [(0,)]  # no tenant: nothing
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        _sql(db.app, "UPDATE orders SET tenant_id = %s", second, tenant=first)
    # A partition cannot be read around the parent's policy, by either login role.
    for url in (db.app, db.system):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="hub_partitions"):
            _sql(url, "SELECT count(*) FROM hub_partitions.orders_legacy")


def _identity(db: PgDb, n: int) -> SyncIdentity:
    return SyncIdentity(db.tenants[n], db.outlets[n], "test-credential")


@pytest.mark.postgres
async def test_ingest_and_reports_work_after_the_conversion(converted: PgDb) -> None:
    db = converted
    who = _identity(db, 0)
    upper = month_start(datetime.now(UTC).date(), 2)
    fresh = order(who.outlet_id)
    fresh.business_day = upper.isoformat()  # a month of the new partitions
    old = order(who.outlet_id)
    old.business_day = "2026-02-20"  # the legacy partition's
    pay = Payment(id=new_id(), order_id=fresh.id, method="cash", amount=fresh.total,
                  tendered=fresh.total, created_at=datetime(upper.year, upper.month, 2, tzinfo=UTC))
    kitchen = KitchenEvent(ticket_id=new_id(), order_id=fresh.id, station="kitchen",
                           action="created", at=pay.created_at)
    events = [Event(1, new_id(), OrderEvent(order=fresh)), Event(2, new_id(), OrderEvent(order=old)),
              Event(3, new_id(), PaymentEvent(payment=pay)), Event(4, new_id(), kitchen)]
    database = Database(db.app, system_url=db.system)
    try:
        for _ in range(2):  # the second time is a replay: nothing new
            async with database.tenant(who.tenant_id) as session:
                await apply_events(session, who, TAX, [Event(e.seq, e.event_id, e.body)
                                                       for e in events], datetime.now(UTC))
        async with database.tenant(who.tenant_id) as session:
            where = {OrderRow: OrderRow.id.in_([fresh.id, old.id]),
                     OrderLineRow: OrderLineRow.order_id.in_([fresh.id, old.id]),
                     PaymentRow: PaymentRow.id == pay.id,
                     KitchenEventRow: KitchenEventRow.order_id == fresh.id}
            found = {model.__tablename__: sorted(str(row[0]) for row in await session.execute(
                select(text("tableoid::regclass")).select_from(model).where(condition)))
                for model, condition in where.items()}
            outlets = list(await session.scalars(select(Outlet)))
            cells = await compute_cells(session, who.tenant_id, outlets, date(2026, 1, 1),
                                        date(2026, 2, 28))
            # the live statements were planned with LIVE_PLAN_SETTINGS, in this transaction
            planned = (await session.execute(text(
                "SELECT current_setting('enable_nestloop'), current_setting('jit'),"
                " current_setting('work_mem')"))).one()
    finally:
        await database.dispose()
    assert tuple(planned) == ("off", "off", "64MB")
    month = f"p{upper:%Y%m}"
    assert found == {"orders": sorted([f"hub_partitions.orders_{month}",
                                       "hub_partitions.orders_legacy"]),
                     "order_lines": sorted([f"hub_partitions.order_lines_{month}",
                                            "hub_partitions.order_lines_legacy"]),
                     "payments": [f"hub_partitions.payments_{month}"],
                     "kitchen_events": [f"hub_partitions.kitchen_events_{month}"]}
    # The report reads the seeded orders of January and February, and the one just applied.
    assert sorted(day for _, day in cells) == [date(2026, 1, 15), date(2026, 2, 3),
                                               date(2026, 2, 20)]
    seeded = cells[(who.outlet_id, date(2026, 1, 15))]
    assert (seeded.order_count, seeded.gross_total) == (1, 50_000)
    assert seeded.products["p-kopi"][1:] == [2, 50_000]
    assert seeded.methods == {"cash": [1, 50_000]}


# ---------------------------------------------------------------- pruning


async def _report_plans(database: Database, tenant_id: str, day_from: date,
                        day_to: date) -> list[str]:
    """EXPLAIN of every statement the report's computation runs (as it ran them)."""
    ran: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if "FROM orders" in statement:
            ran.append((statement, parameters))

    engine = database.engines()["app"].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with database.tenant(tenant_id) as session:
            outlets = list(await session.scalars(select(Outlet)))
            await compute_cells(session, tenant_id, outlets, day_from, day_to)
            event.remove(engine, "before_cursor_execute", record)
            assert ran
            connection = await session.connection()
            plans = []
            for statement, parameters in ran:
                result = await connection.exec_driver_sql(
                    "EXPLAIN (FORMAT JSON) " + statement, parameters)
                plans.append(json.dumps(result.scalar_one()))
    finally:
        if event.contains(engine, "before_cursor_execute", record):
            event.remove(engine, "before_cursor_execute", record)
    return plans


def _scanned(plan: str, table: str, subplans: bool = False) -> set[str]:
    """The partitions of ``table`` a plan reads: in its main query, or (``subplans``) in
    its correlated subqueries."""
    return {name for name in _relations(json.loads(plan), subplans, False)
            if name.startswith(table + "_")}


def _relations(node: Any, subplans: bool, inside: bool) -> Iterator[str]:
    if isinstance(node, dict):
        inside = inside or node.get("Parent Relationship") == "SubPlan"
        if "Relation Name" in node and inside == subplans:
            yield node["Relation Name"]
        for value in node.values():
            yield from _relations(value, subplans, inside)
    elif isinstance(node, list):
        for item in node:
            yield from _relations(item, subplans, inside)


@pytest.mark.postgres
async def test_a_months_report_reads_only_that_months_orders_partition(converted: PgDb) -> None:
    db = converted
    month = month_start(datetime.now(UTC).date(), 3)  # a monthly partition of the migration's
    last = date.fromordinal(month_start(month, 1).toordinal() - 1)
    database = Database(db.app, system_url=db.system)
    try:
        plans = await _report_plans(database, db.tenants[0], month, last)
    finally:
        await database.dispose()
    assert len(plans) >= 5  # order figures, products, methods, prep, refunds, discounts
    for plan in plans:
        assert _scanned(plan, "orders") == {f"orders_p{month:%Y%m}"}, plan
    # The products' lines too (they carry their order's day).
    products = [plan for plan in plans if _scanned(plan, "order_lines")]
    assert len(products) == 1
    assert _scanned(products[0], "order_lines") == {f"order_lines_p{month:%Y%m}"}
    # Not pruned (docs/scaling.md): the products' check that a split bill's parts are all
    # sales looks its parts up by split_from, whatever their day (an index probe per
    # partition), and payments and kitchen events are joined by order id.
    assert _scanned(products[0], "orders", subplans=True)
    assert "split_from_idx" in products[0]


# ---------------------------------------------------------------- maintenance


@pytest.mark.postgres
async def test_months_ahead_and_retention_as_the_system_role(converted: PgDb) -> None:
    db = converted
    upper = month_start(datetime.now(UTC).date(), 2)
    # Five years on: the months up to the stray's are added, the stray moves in from the
    # default partition.
    later = date(2031, 3, 10)
    database = Database(db.system)
    try:
        async with database.system() as session:
            added = await partitions.ensure_partitions(session, 2, today=later)
        assert added == [f"{table}_p{m:%Y%m}" for table in partitions.PARTITIONED
                         for m in (date(2031, 3, 1), date(2031, 4, 1), date(2031, 5, 1))]
        assert dict(_sql(db.admin, "SELECT tableoid::regclass::text, count(*) FROM orders"
                                   " WHERE business_day = %s GROUP BY 1", STRAY_DAY)) == {
            "hub_partitions.orders_p203105": 2}
        async with database.system() as session:
            assert await partitions.ensure_partitions(session, 2, today=later) == []
            dropped = await partitions.drop_old_partitions(session, 60, today=later)
        # Keeping 60 months before March 2031 keeps March 2026 on: every partition ends later.
        assert dropped == {}
        async with database.system() as session:
            dropped = await partitions.drop_old_partitions(session, 12, today=later)
    finally:
        await database.dispose()
    cutoff = month_start(later, -12)
    assert set(dropped) == {f"{table}_legacy" for table in partitions.PARTITIONED} | {
        f"{table}_p{month_start(upper, n):%Y%m}" for table in partitions.PARTITIONED
        for n in range(4)}  # the migration's months ahead, all before the cutoff
    assert month_start(upper, 4) <= cutoff
    # The journal's two quarantined entries were kept (in the default partition); every
    # other old row went with its partition.
    assert dropped["sync_journal_legacy"] == 2
    assert _sql(db.admin, "SELECT status, tableoid::regclass::text FROM sync_journal") == [
        ("quarantined", "hub_partitions.sync_journal_default")] * 2
    assert _sql(db.admin, "SELECT business_day FROM orders WHERE business_day < %s",
                cutoff) == []
    assert _sql(db.admin, "SELECT count(*) FROM orders WHERE business_day = %s",
                STRAY_DAY) == [(2,)]


@pytest.mark.postgres
def test_the_functions_refuse_what_is_not_a_monthly_partition(converted: PgDb) -> None:
    db = converted
    for call, args in (("pos_hub_add_partition(%s, %s)", ("tenants", date(2031, 1, 1))),
                       ("pos_hub_drop_partition(%s, %s)", ("orders", "orders_default")),
                       ("pos_hub_drop_partition(%s, %s)", ("orders", "payments_legacy")),
                       ("pos_hub_drop_partition(%s, %s)", ("tenants", "tenants"))):
        with pytest.raises(psycopg.errors.RaiseException):
            _sql(db.system, f"SELECT {call}", *args)
    assert _sql(db.admin, "SELECT count(*) FROM tenants") == [(2,)]


@pytest.mark.postgres
async def test_scheduled_job_and_cli(converted: PgDb) -> None:
    db = converted
    settings = HubSettings(db_url=db.app, db_system_url=db.system, jwt_secret=JWT_SECRET)
    job = next(j for j in default_jobs(settings) if j.name == "partition_maintenance")
    database = Database(db.app, system_url=db.system)
    try:
        assert await run_once(database, settings, job)
        async with database.system() as session:
            found = await partitions.list_partitions(session)
            result = _sql(db.admin, "SELECT result FROM job_runs WHERE job = %s", job.name)
    finally:
        await database.dispose()
    today = datetime.now(UTC).date()
    horizon = month_start(today, settings.partition_months_ahead)
    assert all(any(p.table == table and p.covers(horizon) for p in found)
               for table in partitions.PARTITIONED)
    assert "'partitioned': True" in result[0][0] and "'dropped': []" in result[0][0]
    listed = run_cli("partitions", "list", db_url=db.system).stdout
    assert f"orders_p{horizon:%Y%m}" in listed and "default (keys outside every range)" in listed
    dry = run_cli("partitions", "ensure", "--months-ahead", "40", "--dry-run",
                  db_url=db.system).stdout.splitlines()
    assert f"would add orders_p{month_start(today, 40):%Y%m}" in dry
    assert all(line.startswith("would add ") for line in dry)
    assert run_cli("partitions", "list", db_url=db.system).stdout == listed  # changed nothing
    refused = run_cli("partitions", "prune", db_url=db.system, check=False)
    assert refused.returncode == 1 and "--keep-months" in refused.stderr


# ---------------------------------------------------------------- SQLite, and the plans


async def test_sqlite_has_no_partitions(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        async with database.system() as session:
            assert await partitions.maintain(session, HubSettings()) == {"partitioned": False}
            assert await partitions.ensure_partitions(session, 3) == []
    finally:
        await database.dispose()
    refused = run_cli("partitions", "list", db_url=sqlite_url, check=False)
    assert refused.returncode == 1 and "no partitions" in refused.stderr


def test_plans_cover_the_months_ahead_and_keep_the_retention_whole() -> None:
    legacy = Partition("orders", "orders_legacy", None, date(2026, 1, 1))
    held = [legacy, Partition("orders", "orders_p202601", date(2026, 1, 1), date(2026, 2, 1)),
            Partition("orders", "orders_default", None, None, default=True)]
    additions = plan_additions(held, date(2026, 1, 31), 2)
    assert ("orders", date(2026, 1, 1)) not in additions
    assert [m for t, m in additions if t == "orders"] == [date(2026, 2, 1), date(2026, 3, 1)]
    assert [m for t, m in additions if t == "payments"] == [
        date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert plan_drops(held, date(2027, 3, 5), 0) == []
    assert plan_drops(held, date(2027, 3, 5), 14) == [legacy]  # cutoff 2026-01-01
    assert plan_drops(held, date(2027, 3, 5), 13) == held[:2]  # cutoff 2026-02-01
    assert month_start(date(2026, 1, 31), -1) == date(2025, 12, 1)
