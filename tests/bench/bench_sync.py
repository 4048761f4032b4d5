"""Sync benchmark on PostgreSQL: backlog drain edge -> hub vs a raw COPY, and 200 outlets at once.

    .venv/bin/python tests/bench/bench_sync.py [--orders 50000] [--outlets 200]
                                               [--orders-per-outlet 25] [--skip-drain]
                                               [--sync-env POS_SYNC_BATCH_EVENTS=500 ...]

Prints JSON lines (one per measurement). Its own database is created and dropped.

1. **Drain.** A real hub process and a provisioned edge (``pos-edge provision``). With the
   edge's server stopped, ``--orders`` orders are written into the edge's database by the
   edge's own order code (``edge.orders`` / ``edge.kitchen``: created with modifiers, paid
   cash or card, tickets bumped, some completed), exactly the events a busy outlet queues
   while offline. Then ``pos-edge serve`` starts with default sync settings and we time
   until ``GET /api/v1/sync/status`` reports backlog 0 (and, on the hub's clock, first to
   last ``received_at`` of the outlet's journal).
2. **COPY.** The rows the hub wrote for those orders (sync_journal, orders, order_lines,
   payments, kitchen_events) are copied out and bulk-loaded with ``COPY FROM`` into tables
   ``LIKE`` the real ones in the same database; the drain rate is reported as a ratio of
   that raw insert rate.
3. **200 outlets.** 200 outlets are created and enrolled through the hub API; each
   simulated outlet holds a hash-chained journal (orders, kitchen and payment events priced
   by shared.pricing) and pushes it in batches with the real sync client, all outlets at
   once. Orders/s, push latency percentiles and errors; then the hub's order count is
   checked against what was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httpx
import psycopg

from edge import kitchen, outbox
from edge import orders as edge_orders
from edge.auth import Principal
from edge.catalog import MenuCache
from edge.db import Database
from edge.outlet import load_outlet
from shared.ids import new_id
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    JournalEntry,
    KitchenEvent,
    Order,
    OrderCreate,
    OrderEvent,
    OrderLine,
    OrderLineCreate,
    Payment,
    PaymentCreate,
    PaymentEvent,
    TaxConfig,
)
from sync.client import HubClient, SyncError
from sync.protocol import EnrollRequest, PushRequest
from tests.chaos.cluster import ADMIN_PASSWORD, Cluster

COPIED_TABLES = ("sync_journal", "orders", "order_lines", "payments", "kitchen_events")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (from /proc): independent of how busy the
    machine is, unlike wall-clock rates."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU used by given processes and by the PostgreSQL backends of one database."""

    def __init__(self, db_url: str, db_name: str, pids: dict[str, int]) -> None:
        self.db_url, self.db_name, self.pids = db_url, db_name, pids
        self.start = self._sample()

    def _backends(self) -> dict[int, float]:
        for attempt in range(30):  # a shared server may be out of connections for a moment
            try:
                with psycopg.connect(self.db_url, autocommit=True) as conn:
                    own = conn.info.backend_pid
                    pids = [r[0] for r in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,))]
                break
            except psycopg.OperationalError:
                if attempt == 29:
                    raise
                time.sleep(1)
        return {pid: cpu_seconds(pid) for pid in pids if pid != own}

    def _sample(self) -> dict[str, Any]:
        return {"procs": {name: cpu_seconds(pid) for name, pid in self.pids.items()},
                "pg": self._backends()}

    def used(self) -> dict[str, float]:
        end = self._sample()
        result = {f"{name}_cpu_s": round(end["procs"][name] - self.start["procs"][name], 2)
                  for name in self.pids}
        pg = sum(cpu - self.start["pg"].get(pid, 0.0) for pid, cpu in end["pg"].items())
        result["postgres_cpu_s"] = round(pg, 2)
        return result


async def read_http_response(reader: asyncio.StreamReader) -> tuple[int, bytes, dict[str, str]]:
    """One HTTP/1.1 answer from a raw stream (the benches' low-CPU clients): status, body (by
    its Content-Length, or its chunks) and header fields (lower-case names)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in
              (line.partition(":") for line in head[1:] if line)}
    if "content-length" in fields:
        return status, await reader.readexactly(int(fields["content-length"])), fields
    if fields.get("transfer-encoding", "").lower() != "chunked":
        raise ValueError(f"answer without a length: {head[0]}")
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")
    return status, b"".join(parts), fields


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


# -- 1. drain ------------------------------------------------------------------------------


def queue_orders(db_path: Path, count: int, seed: int = 1) -> dict[str, int]:
    """Write ``count`` orders with the edge's own domain code (no HTTP, no sync running)."""
    rng = random.Random(seed)
    db = Database(db_path)
    menu_cache = MenuCache()
    cashier = Principal(device_id="bench-cashier", device_role="cashier",
                        device_name="bench cashier")
    made = {"orders": 0, "payments": 0, "bumps": 0, "completed": 0}
    try:
        outlet = db.read_now(load_outlet)
        index = db.read_now(lambda c: menu_cache.get(c))
        products = [p for p in index.catalog.products if p.available]
        groups = {g.id: g for g in index.catalog.modifier_groups}
        start = datetime.now(UTC) - timedelta(hours=2)

        def one_order(conn: Any, n: int) -> None:
            now = start + timedelta(milliseconds=n * 50)
            lines = []
            for product in rng.sample(products, k=rng.choice([1, 2, 2, 3])):
                chosen: list[str] = []
                for group_id in product.modifier_group_ids:
                    group = groups[group_id]
                    options = [o.id for o in group.options if o.available]
                    chosen += rng.sample(options, k=rng.randint(
                        group.min_choices, min(group.max_choices, len(options))))
                lines.append(OrderLineCreate(product_id=product.id, qty=rng.choice([1, 1, 2]),
                                             modifiers=chosen))
            order, _ = edge_orders.create_order(
                conn, OrderCreate(type=rng.choice(["dine_in", "takeaway"]), lines=lines),
                outlet=outlet, menu=menu_cache, principal=cashier, now=now)
            made["orders"] += 1
            payment = (PaymentCreate(method="cash", amount=order.total,
                                     tendered=-(-order.total // 10000) * 10000)
                       if rng.random() < 0.5 else
                       PaymentCreate(method="card", amount=order.total, reference=f"A{n}"))
            edge_orders.add_payment(conn, order.id, payment, outlet=outlet, principal=cashier,
                                    now=now)
            made["payments"] += 1
            tickets = conn.execute("SELECT id FROM kitchen_tickets WHERE order_id = ?",
                                   (order.id,)).fetchall()
            for (ticket_id,) in tickets:
                kitchen.bump(conn, ticket_id, now + timedelta(seconds=1), edge_orders)
                made["bumps"] += 1
            if tickets and rng.random() < 0.5:
                edge_orders.complete_order(conn, order.id, now + timedelta(seconds=2))
                made["completed"] += 1

        chunk = 250
        for first in range(0, count, chunk):
            def write(conn: Any, first: int = first) -> None:
                for n in range(first, min(count, first + chunk)):
                    one_order(conn, n)
            db.write_blocking(write)
        made["events"] = db.read_now(outbox.backlog)
    finally:
        db.close()
    return made


def bench_drain(work: Path, orders: int, sync_env: dict[str, str]) -> dict[str, Any]:
    cluster = Cluster(workdir=work / "drain", seed=1, use_proxy=False, start_edge=False,
                      sync_env={"POS_SYNC_TICK": "0.5", "POS_SYNC_INTERVAL": "5",
                                "POS_SYNC_MIN_BACKOFF": "1", "POS_SYNC_MAX_BACKOFF": "30",
                                "POS_SYNC_TIMEOUT": "30", "POS_EDGE_LOG_REQUESTS": "0",
                                **sync_env})
    try:
        cluster.build()
        assert cluster.edge is not None and cluster.edge_dir is not None
        t0 = time.monotonic()
        made = queue_orders(cluster.edge_dir / "edge.db", orders)
        emit(bench="sync_queue", orders=made["orders"], events=made["events"],
             payments=made["payments"], bumps=made["bumps"], completed=made["completed"],
             seconds=round(time.monotonic() - t0, 1))
        hub = cluster.hubs[0]
        assert hub.process is not None
        meter = CpuMeter(cluster.db_url, cluster.db_name, {"hub": hub.process.pid})
        started = time.monotonic()
        cluster.edge.start()
        assert cluster.edge.process is not None
        cluster.wait_drained(timeout=3600)
        wall = time.monotonic() - started
        cpu = meter.used()
        cpu["edge_cpu_s"] = round(cpu_seconds(cluster.edge.process.pid), 2)  # incl. start-up
        with psycopg.connect(cluster.db_url, autocommit=True) as conn:
            first, last, events = conn.execute(
                "SELECT min(received_at), max(received_at), count(*) FROM sync_journal"
                " WHERE outlet_id = %s", (cluster.outlet_id,)).fetchone()
            hub_orders = conn.execute("SELECT count(*) FROM orders WHERE outlet_id = %s",
                                      (cluster.outlet_id,)).fetchone()[0]
        hub_span = (last - first).total_seconds() if first and last else wall
        drain = {"orders": made["orders"], "events": events, "hub_orders": hub_orders,
                 "wall_seconds": round(wall, 2), "hub_seconds": round(hub_span, 2),
                 "orders_per_s": round(made["orders"] / wall, 1),
                 "orders_per_s_hub_clock": round(made["orders"] / max(hub_span, 1e-6), 1),
                 "events_per_s": round(events / wall, 1), **cpu,
                 "orders_per_hub_cpu_s": round(made["orders"] / max(cpu["hub_cpu_s"], 1e-6), 1),
                 "orders_per_cpu_s_all": round(made["orders"] / max(
                     cpu["hub_cpu_s"] + cpu["postgres_cpu_s"] + cpu["edge_cpu_s"], 1e-6), 1)}
        copy = bench_copy(cluster.db_url, cluster.outlet_id, made["orders"])
        ratio = drain["orders_per_s"] / copy["orders_per_s"]
        cpu_ratio = drain["orders_per_cpu_s_all"] / copy["orders_per_cpu_s"]
        emit(bench="sync_drain", **drain, goal_orders_per_s=2000,
             meets_goal=drain["orders_per_s"] >= 2000)
        emit(bench="sync_copy", **copy)
        emit(bench="sync_drain_vs_copy", drain_orders_per_s=drain["orders_per_s"],
             copy_orders_per_s=copy["orders_per_s"], ratio=round(ratio, 3), goal_ratio=0.25,
             meets_goal=ratio >= 0.25,
             drain_orders_per_cpu_s=drain["orders_per_cpu_s_all"],
             copy_orders_per_cpu_s=copy["orders_per_cpu_s"], cpu_ratio=round(cpu_ratio, 3))
        return {"drain": drain, "copy": copy, "ratio": ratio}
    finally:
        cluster.close()


def bench_copy(db_url: str, outlet_id: str, orders: int) -> dict[str, Any]:
    """COPY the hub's rows for the outlet out, then time COPY FROM into LIKE tables."""
    dumps: dict[str, bytes] = {}
    with psycopg.connect(db_url) as conn:
        for table in COPIED_TABLES:
            buffer = io.BytesIO()
            with conn.cursor().copy(f"COPY (SELECT * FROM {table} WHERE outlet_id = %s)"
                                    " TO STDOUT (FORMAT binary)", (outlet_id,)) as copy:
                for data in copy:
                    buffer.write(data)
            dumps[table] = buffer.getvalue()
            conn.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING DEFAULTS"
                         " INCLUDING INDEXES INCLUDING CONSTRAINTS)")
        conn.commit()
        backend = conn.info.backend_pid
        cpu_before = cpu_seconds(backend)
        started = time.monotonic()
        with conn.transaction():
            for table in COPIED_TABLES:
                with conn.cursor().copy(f"COPY bench_copy_{table} FROM STDIN (FORMAT binary)"
                                        ) as copy:
                    copy.write(dumps[table])
        seconds = time.monotonic() - started
        copy_cpu = cpu_seconds(backend) - cpu_before
        rows = {t: conn.execute(f"SELECT count(*) FROM bench_copy_{t}").fetchone()[0]
                for t in COPIED_TABLES}
        for table in COPIED_TABLES:
            conn.execute(f"DROP TABLE bench_copy_{table}")
        conn.commit()
    return {"orders": orders, "rows": rows, "bytes": sum(len(d) for d in dumps.values()),
            "seconds": round(seconds, 3), "orders_per_s": round(orders / seconds, 1),
            "postgres_cpu_s": round(copy_cpu, 2),
            "orders_per_cpu_s": round(orders / max(copy_cpu, 1e-6), 1)}


# -- 3. many outlets -----------------------------------------------------------------------


def _journal(outlet_id: str, orders: int, rng: random.Random) -> list[JournalEntry]:
    """A hash-chained journal of ``orders`` paid orders (4 events each), as an edge writes."""
    epoch = new_id()
    prev = outbox.genesis_hash(epoch)
    entries: list[JournalEntry] = []
    tax = TaxConfig()
    now = datetime.now(UTC)

    def add(body: Any, at: datetime) -> None:
        nonlocal prev
        seq = len(entries) + 1
        payload = outbox.event_encoder.encode(body)
        digest = outbox.chain_hash(prev, seq, payload)
        entries.append(JournalEntry(outlet_id=outlet_id, epoch=epoch, seq=seq,
                                    event_id=new_id(), occurred_at=at, body=payload,
                                    prev_hash=prev, hash=digest))
        prev = digest

    for number in range(1, orders + 1):
        picked = [(f"p-{rng.randint(1, 30)}", rng.choice([18000, 25000, 35000, 42000]),
                   rng.choice([1, 1, 2])) for _ in range(rng.choice([1, 2, 3]))]
        totals = price_order([PricedLine(base_price=p, qty=q) for _, p, q in picked], tax)
        at = now + timedelta(milliseconds=number)
        order = Order(id=new_id(), outlet_id=outlet_id, number=number,
                      business_day=at.date().isoformat(), type="takeaway", status="in_kitchen",
                      currency="IDR",
                      lines=[OrderLine(id=new_id(), product_id=pid, name=pid, qty=q, unit_price=p,
                                       line_total=t)
                             for (pid, p, q), t in zip(picked, totals.line_totals)],
                      subtotal=totals.subtotal, discount=0, service_charge=totals.service_charge,
                      tax=totals.tax, rounding=totals.rounding, total=totals.total,
                      created_at=at, updated_at=at)
        payment = Payment(id=new_id(), order_id=order.id, method="card", amount=order.total,
                          reference="bench", created_at=at)
        paid = Order(**{**{f: getattr(order, f) for f in order.__struct_fields__},
                        "paid": order.total, "payments": [payment],
                        "updated_at": at + timedelta(microseconds=1)})
        add(OrderEvent(order=order), at)
        add(KitchenEvent(ticket_id=new_id(), order_id=order.id, station="kitchen",
                         action="created", at=at), at)
        add(PaymentEvent(payment=payment), at)
        add(OrderEvent(order=paid), at)
    return entries


def bench_outlets(work: Path, outlets: int, per_outlet: int, batch_events: int,
                  hubs: int = 1) -> dict[str, Any]:
    # All outlets enroll from this one address: lift the per-address redemption limit.
    cluster = Cluster(workdir=work / "outlets", seed=2, use_proxy=False, start_edge=False,
                      hubs_count=hubs, hub_extra_env={"POS_HUB_REDEEM_MAX_PER_IP": "100000"})
    try:
        cluster.build()  # tenant, hub, menu, and one real edge we do not use further
        hub = cluster.hubs[0]
        email = cluster.owner_email
        with httpx.Client(base_url=hub.url, timeout=60) as http:
            token = http.post("/api/v1/auth/login", json={
                "email": email, "password": ADMIN_PASSWORD}).raise_for_status().json()
            http.headers["Authorization"] = f"Bearer {token['access_token']}"
            made = []
            for n in range(outlets):
                outlet = http.post("/api/v1/outlets", json={
                    "name": f"Bench outlet {n}", "timezone": "Asia/Jakarta"}).raise_for_status()
                outlet_id = outlet.json()["id"]
                code = http.post(f"/api/v1/outlets/{outlet_id}/enrollment-codes",
                                 json={}).raise_for_status().json()["code"]
                made.append((outlet_id, code))

        async def enroll_all() -> list[tuple[str, str]]:
            async def one(outlet_id: str, code: str) -> tuple[str, str]:
                async with HubClient(hub.url) as client:
                    reply = await client.enroll(EnrollRequest(code=code,
                                                              device_key=f"dk_{new_id()}"))
                    return outlet_id, reply.credential
            return [await one(o, c) for o, c in made]

        credentials = asyncio.run(enroll_all())
        rng = random.Random(3)
        journals = {o: _journal(o, per_outlet, rng) for o, _ in credentials}
        latencies: list[float] = []
        errors: list[str] = []

        # With several replicas, outlets are spread over them (as a load balancer would).
        replica_of = {o: cluster.hubs[n % len(cluster.hubs)].url
                      for n, (o, _) in enumerate(credentials)}

        async def outlet_pushes(outlet_id: str, credential: str, gate: asyncio.Event) -> None:
            entries = journals[outlet_id]
            async with HubClient(replica_of[outlet_id], credential, timeout=120) as client:
                await gate.wait()
                position = 0
                while position < len(entries):
                    batch = entries[position:position + batch_events]
                    request = PushRequest(outlet_id=outlet_id, epoch=batch[0].epoch,
                                          entries=batch, backlog=len(entries) - position,
                                          sent_at=datetime.now(UTC), edge_version="bench")
                    started = time.monotonic()
                    try:
                        reply = await client.push(request)
                    except SyncError as exc:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                        await asyncio.sleep(0.5)
                        continue
                    latencies.append(time.monotonic() - started)
                    if reply.status != "ok":
                        errors.append(f"status {reply.status}")
                    position = max(position + len(batch), reply.acked_seq)

        async def run_all() -> float:
            gate = asyncio.Event()
            tasks = [asyncio.create_task(outlet_pushes(o, c, gate)) for o, c in credentials]
            await asyncio.sleep(0.5)
            started = time.monotonic()
            gate.set()
            await asyncio.gather(*tasks)
            return time.monotonic() - started

        pids = {f"hub{n + 1}": h.process.pid for n, h in enumerate(cluster.hubs) if h.process}
        meter = CpuMeter(cluster.db_url, cluster.db_name, {**pids, "clients": os.getpid()})
        wall = asyncio.run(run_all())
        cpu = meter.used()
        with psycopg.connect(cluster.db_url, autocommit=True) as conn:
            hub_orders = conn.execute(
                "SELECT count(*) FROM orders WHERE outlet_id = ANY(%s)",
                ([o for o, _ in credentials],)).fetchone()[0]
        total = outlets * per_outlet
        ordered = sorted(latencies)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

        hub_cpu = sum(cpu[f"{name}_cpu_s"] for name in pids)
        result = {"outlets": outlets, "hubs": len(cluster.hubs), "orders": total,
                  "events": total * 4,
                  "batch_events": batch_events, "pushes": len(latencies),
                  "seconds": round(wall, 2), "orders_per_s": round(total / wall, 1),
                  "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
                  "max_ms": round(ordered[-1] * 1000, 1),
                  "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
                  "errors": len(errors), "error_samples": errors[:5],
                  "hub_orders": hub_orders, "lost": total - hub_orders, **cpu,
                  "orders_per_hub_cpu_s": round(total / max(hub_cpu, 1e-6), 1)}
        emit(bench="sync_many_outlets", **result)
        return result
    finally:
        cluster.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=50_000, help="queued orders to drain")
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--orders-per-outlet", type=int, default=25)
    parser.add_argument("--batch-events", type=int, default=20,
                        help="events per push for the simulated outlets")
    parser.add_argument("--sync-env", action="append", default=[], metavar="NAME=VALUE",
                        help="edge sync setting for the drain, e.g. POS_SYNC_BATCH_EVENTS=2000 "
                             "(default: the product's defaults)")
    parser.add_argument("--hubs", type=int, default=1,
                        help="hub replicas for the many-outlet run (outlets spread over them)")
    parser.add_argument("--skip-drain", action="store_true")
    parser.add_argument("--skip-outlets", action="store_true")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the work folder (process logs) and print where it is")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop servers, drop DBs
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        if not args.skip_drain:
            bench_drain(work, args.orders, dict(v.split("=", 1) for v in args.sync_env))
        if not args.skip_outlets:
            bench_outlets(work, args.outlets, args.orders_per_outlet, args.batch_events, args.hubs)
    finally:
        if args.keep_logs:
            emit(bench="sync_logs", folder=str(work))
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
