"""Benchmark: migration 0500 (monthly partitions) on a loaded hub database, with traffic.

Creates a fresh PostgreSQL database (dropped at the end) at the revision before 0500, loads
``--orders`` orders over 24 months with their lines (3 each), payments, kitchen events (2)
and journal entries (7, 300-byte bodies) by ``generate_series``, then runs ``pos-hub
migrate``'s upgrade while two connections keep working on the live tables every 20 ms:

* a writer inserting an order, its payment and a kitchen event (one transaction);
* a reader counting one day's orders.

It prints one JSON object: the row counts, the migration's own phase times (the online
preparation and the swap's statements, from its log), the whole upgrade, and for the writer
and the reader the number of operations and their slowest latency during the upgrade (the
longest any request waited for a lock).

    .venv/bin/python tests/bench/bench_partition_conversion.py [--orders 200000]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.hub.test_partitions import (
    _drop_db,
    _make_db,
    _migrate,
    _previous_head,
    _Rows,
)

LOAD_SQL = """
INSERT INTO orders (id, tenant_id, outlet_id, number, business_day, type, status, currency,
    subtotal, discount, service_charge, tax, rounding, total, paid, note, customer_name,
    table_label, void_reason, source, created_at, updated_at, edge_seq, received_at,
    discount_reason, refunded, covers, revision, split_part, split_count)
SELECT 'o' || lpad(n::text, 10, '0'), %(tenant)s, %(outlet)s, n %% 500, d, 'takeaway',
    'completed', 'IDR', 75000, 0, 0, 0, 0, 75000, 75000, '', '', '', '', 'bench',
    d + time '05:00', d + time '05:10', n, d + time '05:11', '', 0, 0, 0, '', 0
FROM generate_series(1, %(orders)s) AS n,
     LATERAL (SELECT date '2025-01-01' + (n %% 720) AS d) AS day;
INSERT INTO order_lines (id, tenant_id, order_id, outlet_id, product_id, name, qty,
    unit_price, line_total, modifiers, note, station, state, round, course, seat, void_reason)
SELECT 'l' || lpad(n::text, 10, '0') || '-' || k, %(tenant)s, 'o' || lpad(n::text, 10, '0'),
    %(outlet)s, 'p' || k, 'Kopi', 1, 25000, 25000, '[]', '', 'kitchen', 'sent', 0, '', 0, ''
FROM generate_series(1, %(orders)s) AS n, generate_series(1, 3) AS k;
INSERT INTO payments (id, tenant_id, order_id, outlet_id, method, amount, tendered, change,
    reference, created_at, received_at)
SELECT 'p' || lpad(n::text, 10, '0'), %(tenant)s, 'o' || lpad(n::text, 10, '0'), %(outlet)s,
    'cash', 75000, 75000, 0, '', timestamptz '2025-01-01 05:00+00' + (n %% 720) * interval '1 day',
    now()
FROM generate_series(1, %(orders)s) AS n;
INSERT INTO kitchen_events (id, tenant_id, outlet_id, ticket_id, order_id, station, action,
    at, received_at)
SELECT 'k' || lpad(n::text, 10, '0') || '-' || k, %(tenant)s, %(outlet)s,
    't' || lpad(n::text, 10, '0'), 'o' || lpad(n::text, 10, '0'), 'kitchen',
    CASE k WHEN 1 THEN 'created' ELSE 'bumped' END,
    timestamptz '2025-01-01 05:00+00' + (n %% 720) * interval '1 day' + k * interval '1 minute',
    now()
FROM generate_series(1, %(orders)s) AS n, generate_series(1, 2) AS k;
INSERT INTO sync_journal (tenant_id, outlet_id, epoch, seq, event_id, kind, body, prev_hash,
    hash, occurred_at, received_at, status, wire_version)
SELECT %(tenant)s, %(outlet)s, 'e1', n, 'ev' || n, 'order', convert_to(repeat('x', 300), 'UTF8'),
    md5(n::text), md5((n + 1)::text), timestamptz '2025-01-01 05:00+00' + (n / 7 %% 720) * interval '1 day',
    timestamptz '2025-01-01 05:00+00' + (n / 7 %% 720) * interval '1 day', 'applied', 2
FROM generate_series(1, %(orders)s * 7) AS n;
"""


class Traffic(threading.Thread):
    """One connection doing ``work`` every 20 ms until stopped; keeps the latencies."""

    def __init__(self, url: str, work: Any) -> None:
        super().__init__(daemon=True)
        self.url, self.work = url, work
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            n = 0
            while not self.stop.is_set():
                n += 1
                started = time.monotonic()
                try:
                    with conn.transaction():
                        self.work(conn, n)
                except psycopg.Error as exc:
                    self.errors.append(str(exc).splitlines()[0])
                self.latencies.append(time.monotonic() - started)
                time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000)
    args = parser.parse_args()
    db = _make_db()
    try:
        _migrate(db, _previous_head())
        from sqlalchemy import NullPool, create_engine

        from hub.db import sync_url

        engine = create_engine(sync_url(db.admin), poolclass=NullPool)
        rows = _Rows(engine)
        tenant, brand, outlet = (str(uuid.uuid4()) for _ in range(3))
        with engine.begin() as conn:
            rows.add(conn, "tenants", id=tenant, name="Bench", currency="IDR")
            rows.add(conn, "brands", id=brand, tenant_id=tenant, name="Brand")
            rows.add(conn, "outlets", id=outlet, tenant_id=tenant, brand_id=brand,
                     name="Outlet", timezone="Asia/Jakarta", settings={})
        engine.dispose()
        started = time.monotonic()
        with psycopg.connect(db.admin, autocommit=True) as conn:
            for statement in LOAD_SQL.split(";"):
                if statement.strip():
                    conn.execute(statement, {"tenant": tenant, "outlet": outlet,
                                             "orders": args.orders})
            conn.execute("ANALYZE")
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                      for t in ("orders", "order_lines", "payments", "kitchen_events",
                                "sync_journal")}
        load_seconds = time.monotonic() - started

        def write(conn: psycopg.Connection[Any], n: int) -> None:
            order = f"w{n:09d}"
            conn.execute(
                "INSERT INTO orders (id, tenant_id, outlet_id, number, business_day, type,"
                " status, currency, subtotal, discount, service_charge, tax, rounding, total,"
                " paid, note, customer_name, table_label, void_reason, source, created_at,"
                " updated_at, edge_seq, received_at, discount_reason, refunded, covers,"
                " revision, split_part, split_count) VALUES (%s, %s, %s, 1, current_date,"
                " 'takeaway', 'completed', 'IDR', 1, 0, 0, 0, 0, 1, 1, '', '', '', '', '',"
                " now(), now(), 1, now(), '', 0, 0, 0, '', 0)", (order, tenant, outlet))
            conn.execute(
                "INSERT INTO payments (id, tenant_id, order_id, outlet_id, method, amount,"
                " tendered, change, reference, created_at, received_at) VALUES"
                " (%s, %s, %s, %s, 'cash', 1, 1, 0, '', now(), now())",
                (f"wp{n:09d}", tenant, order, outlet))
            conn.execute(
                "INSERT INTO kitchen_events (id, tenant_id, outlet_id, ticket_id, order_id,"
                " station, action, at, received_at) VALUES (%s, %s, %s, %s, %s, 'kitchen',"
                " 'created', now(), now())", (f"wk{n:09d}", tenant, outlet, f"wt{n}", order))

        def read(conn: psycopg.Connection[Any], n: int) -> None:
            conn.execute("SELECT count(*) FROM orders WHERE business_day = %s::date",
                         (f"2025-{1 + n % 12:02d}-15",)).fetchone()

        messages: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
        logger = logging.getLogger("hub.migrations")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        traffic = [Traffic(db.admin, write), Traffic(db.admin, read)]
        for thread in traffic:
            thread.start()
        time.sleep(0.5)
        before = [len(t.latencies) for t in traffic]
        started = time.monotonic()
        _migrate(db)
        upgrade_seconds = time.monotonic() - started
        for thread in traffic:
            thread.stop.set()
            thread.join()
        phases = next((m for m in messages if "online preparation" in m), "")
        during = [t.latencies[b:] for t, b in zip(traffic, before, strict=True)]
        print(json.dumps({
            "rows": counts, "load_s": round(load_seconds, 1),
            "upgrade_s": round(upgrade_seconds, 2), "phases": phases.split(": ", 1)[-1],
            "writer": {"ops": len(during[0]), "max_ms": round(max(during[0]) * 1000, 1),
                       "errors": traffic[0].errors[:3]},
            "reader": {"ops": len(during[1]), "max_ms": round(max(during[1]) * 1000, 1),
                       "errors": traffic[1].errors[:3]},
        }))
    finally:
        _drop_db(db)


if __name__ == "__main__":
    main()
