"""Benchmark: an outlet back online after a long outage drains its backlog into the hub, while
the till keeps writing sales.

Setup: a fresh PostgreSQL database, a real ``pos-hub serve`` process, one tenant/outlet, an
enrolled edge database (the real ``edge.provision``) holding a backlog of N sales (4 events
each: order, kitchen, payment, updated order), as after days offline.

Measures, in one run:
* ``sale_write_idle``: latency of writing one sale (order + outbox, durable commit) with no
  sync running — the baseline;
* ``sync_drain``: the sync engine's drain of the whole backlog (events/s, batches), while a
  "till" task writes a sale every 20 ms;
* ``sale_write_during_drain``: the same sale latency measured during the drain — the ratio to
  the baseline shows whether sync starves live orders;
* ``hub_rows``: that the hub holds every order exactly once afterwards.

Prints JSON lines. Run: .venv/bin/python tests/bench/bench_sync_drain.py [--sales 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "sync"))

from conftest import EdgeJournal, issue_code
from conftest import hubfx as hub_fx

from edge.provision import provision
from edge.sync_state import EdgeStore
from sync.engine import SyncEngine, SyncSettings


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(pick(0.95), 2), "p99_ms": round(pick(0.99), 2),
            "max_ms": round(ordered[-1], 2)}


async def timed_sale(journal: EdgeJournal) -> float:
    order = journal.order([("Nasi Goreng", 25_000, 1), ("Es Teh", 5_000, 2)])
    from edge import outbox
    from shared.schemas import OrderEvent

    started = time.perf_counter()
    await journal.db.write(lambda c: outbox.append(c, OrderEvent(order=order)))
    return (time.perf_counter() - started) * 1000


async def till(journal: EdgeJournal, stop: asyncio.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        latencies.append(await timed_sale(journal))
        await asyncio.sleep(0.02)


async def run(args: argparse.Namespace, workdir: Path) -> None:
    name = f"bench_sync_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(hub_fx.PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    hub = None
    try:
        hub_fx.run_cli("migrate", db_url=db_url)
        hub = hub_fx.start_hub(db_url, workdir)
        tenant_id = hub_fx.run_cli("create-tenant", "--name", "Bench", "--admin-email",
                                   "owner@bench.test", "--admin-password", "bench-password-1",
                                   db_url=db_url).stdout.strip().splitlines()[-1]
        tokens = hub_fx.login(hub, "owner@bench.test", "bench-password-1")
        client = hub.client(tokens["access_token"])
        outlet = client.post("/api/v1/outlets", json={"name": "Bench", "timezone": "Asia/Jakarta"}).json()
        ctx = type("Ctx", (), {"client": client})()
        code = issue_code(ctx, outlet["id"]).json()["code"]
        data_dir = workdir / "edge"
        await asyncio.to_thread(provision, hub.base_url, code, data_dir)
        journal = EdgeJournal(data_dir / "edge.db", outlet["id"])
        for _ in range(args.sales):
            journal.sale([("Ayam Goreng", 28_000, 1), ("Es Jeruk", 9_000, 1)])
        backlog = args.sales * 4

        idle = [await timed_sale(journal) for _ in range(200)]
        emit(bench="sale_write_idle", **percentiles(idle))

        settings = SyncSettings(tick=0.05, interval=3600, pull_interval=3600,
                                batch_events=args.batch, batch_bytes=4_000_000)
        engine = SyncEngine(EdgeStore(journal.db, data_dir), settings)
        stop = asyncio.Event()
        during: list[float] = []
        till_task = asyncio.create_task(till(journal, stop, during))
        started = time.perf_counter()
        sent = await engine.drain()
        elapsed = time.perf_counter() - started
        stop.set()
        await till_task
        sent += await engine.drain()  # the till's own sales written during the drain
        await engine.stop()
        emit(bench="sync_drain", backlog_events=backlog, events_sent=sent,
             seconds=round(elapsed, 2), events_per_s=round(backlog / elapsed, 1),
             batch_events=args.batch, hub="postgresql")
        emit(bench="sale_write_during_drain", **percentiles(during),
             p95_ratio_vs_idle=round(percentiles(during)["p95_ms"] / percentiles(idle)["p95_ms"], 2))
        with psycopg.connect(db_url, autocommit=True) as conn:
            orders, journal_rows = conn.execute(
                "SELECT (SELECT count(*) FROM orders WHERE outlet_id = %s),"
                " (SELECT count(*) FROM sync_journal WHERE outlet_id = %s)",
                (outlet["id"], outlet["id"])).fetchone()
        expected_orders = args.sales + len(during) + 200
        emit(bench="hub_rows", orders=orders, expected_orders=expected_orders,
             journal=journal_rows, expected_journal=backlog + len(during) + 200,
             exactly_once=orders == expected_orders)
        journal.close()
        client.close()
        _ = tenant_id
    finally:
        if hub is not None:
            hub.stop()
        with psycopg.connect(hub_fx.PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
