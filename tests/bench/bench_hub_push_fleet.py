"""Push throughput of the hub with a fleet pushing at once, 1 vs N replicas behind nginx,
against a raw asyncpg insert of the same rows in the same run (issue 14, "Hub at scale").

    .venv/bin/python tests/bench/bench_hub_push_fleet.py [--outlets 200]
        [--orders-per-outlet 25] [--batch-events 20] [--replicas 2]
        [--phases direct,raw,nginx1,nginxN] [--keep-logs]

Prints JSON lines (one per measurement). Its own PostgreSQL database is created and dropped.

Set-up: ``--replicas`` real ``pos-hub serve`` processes on one database (tests.chaos.cluster),
``--outlets`` outlets created and enrolled through the hub API, and for each outlet one
hash-chained journal of paid orders (4 events per order: order, kitchen ticket, payment, the
paid order; priced by shared.pricing), long enough for every phase. Each phase pushes the
next ``--orders-per-outlet`` orders of every outlet, all outlets at once, in pushes of
``--batch-events`` events (``--batch-events 20`` = 5 orders per push). Request bodies are
encoded before the clock starts (an edge encodes on its own box), so the load generator's
CPU is the HTTP client only. Each outlet sends from its own loopback address (127.0.x.y),
as outlets do through nginx's per-address limits.

Before every hub phase but the first the database is ANALYZEd, as autovacuum would have done
in production (``--no-analyze`` leaves the statistics of the empty tables, as a server with
autovacuum off does: PostgreSQL's CPU per order then grows phase after phase).

Phases (in the order given):

* ``direct``: the outlets push to replica 1 directly (the figure docs/performance.md had,
  867 orders/s, came from this shape with the real sync client);
* ``nginx1`` / ``nginxN``: through Debian's nginx running packaging/hub/nginx-fnbpos-hub.conf
  (listen line, certificates and replica ports swapped, as tests/sync/test_nginx_replicas.py
  does) with one replica, then all ``--replicas`` in its upstream;
* ``raw``: the rows the hub wrote in the first phase (sync_journal, orders, order_lines,
  payments, kitchen_events) inserted again with asyncpg ``copy_records_to_table`` into
  ``LIKE ... INCLUDING INDEXES`` tables, as the same batches (one transaction per push's
  rows), the outlets at once over a pool as large as one replica's. This is the database's
  ceiling for this shape of work on this machine at this moment: the ratio hub / raw is the
  figure to compare across runs on a shared machine.

Each hub phase reports orders/s, push latency percentiles, errors (any refused or failed
push; a failed push is retried after 0.5 s), the orders the hub holds afterwards vs sent,
and CPU seconds per process from /proc (hubs, nginx, the bench's clients, PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import asyncpg
import httpx
import psycopg

from shared.ids import new_id
from shared.schemas import JournalEntry
from sync.client import HubClient
from sync.protocol import (
    MEDIA_TYPE,
    EnrollRequest,
    PushRequest,
    PushResponse,
    decode_frame,
    encode_frame,
)
from tests.bench.bench_sync import CpuMeter, _journal, emit, read_http_response
from tests.chaos.cluster import ADMIN_PASSWORD, Cluster, free_port

SITE = REPO / "packaging" / "hub" / "nginx-fnbpos-hub.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RAW_TABLES = ("sync_journal", "orders", "order_lines", "payments", "kitchen_events")


def source_address(n: int) -> str:
    """Outlet n's own loopback address (127.0.1.1, 127.0.1.2, ...)."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


# -- nginx ---------------------------------------------------------------------------------


class Nginx:
    """nginx running the documented site file in front of the given replicas."""

    def __init__(self, workdir: Path, replicas: list[str]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        workdir.chmod(0o777)  # worker processes may run as nobody
        self.port = free_port()
        site = SITE.read_text()
        listed = ("127.0.0.1:8001", "127.0.0.1:8002")
        servers = "\n".join(f"    server {r} max_fails=3 fail_timeout=10s;" for r in replicas)
        lines = []
        for line in site.splitlines():
            if "ssl_certificate" in line:
                continue
            if any(f"server {old}" in line for old in listed):
                if listed[0] in line:
                    lines.append(servers)
                continue
            lines.append(line.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{self.port};"))
        (workdir / "site.conf").write_text("\n".join(lines))
        temp = " ".join(f"{kind}_temp_path {workdir}/{kind};" for kind in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (workdir / "nginx.conf").write_text(
            f"worker_processes 1;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\n"
            f"events {{ worker_connections 4096; }}\n"
            f"http {{ access_log off; {temp} include {workdir}/site.conf; }}\n")
        self.process = subprocess.Popen(
            [NGINX, "-c", str(workdir / "nginx.conf"), "-p", str(workdir), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(workdir / 'error.log').read_text()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def pids(self) -> dict[str, int]:
        """Master and worker (the worker does the proxying)."""
        found = {"nginx": self.process.pid}
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        for n, pid in enumerate(children.read_text().split() if children.exists() else []):
            found[f"nginx_worker{n}"] = int(pid)
        return found

    def close(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- fleet ---------------------------------------------------------------------------------


def make_fleet(cluster: Cluster, outlets: int) -> list[tuple[str, str]]:
    """(outlet id, sync credential) of ``outlets`` outlets created and enrolled via the API."""
    hub = cluster.hubs[0]
    with httpx.Client(base_url=hub.url, timeout=60) as http:
        token = http.post("/api/v1/auth/login", json={
            "email": cluster.owner_email, "password": ADMIN_PASSWORD}).raise_for_status().json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        made = []
        for n in range(outlets):
            outlet_id = http.post("/api/v1/outlets", json={
                "name": f"Fleet outlet {n}", "timezone": "Asia/Jakarta"}).raise_for_status().json()["id"]
            code = http.post(f"/api/v1/outlets/{outlet_id}/enrollment-codes",
                             json={}).raise_for_status().json()["code"]
            made.append((outlet_id, code))

    async def enroll_all() -> list[tuple[str, str]]:
        found = []
        for n, (outlet_id, code) in enumerate(made):
            transport = httpx.AsyncHTTPTransport(local_address=source_address(n))
            async with HubClient(hub.url, transport=transport) as client:
                reply = await client.enroll(EnrollRequest(code=code, device_key=f"dk_{new_id()}"))
                found.append((outlet_id, reply.credential))
        return found

    return asyncio.run(enroll_all())


def frames(journal: list[JournalEntry], batch_events: int) -> list[tuple[int, bytes]]:
    """(events, encoded push frame) of each push of a slice of an outlet's journal."""
    out = []
    for first in range(0, len(journal), batch_events):
        batch = journal[first:first + batch_events]
        request = PushRequest(outlet_id=batch[0].outlet_id, epoch=batch[0].epoch, entries=batch,
                              backlog=len(journal) - first, sent_at=datetime.now(UTC),
                              edge_version="bench")
        out.append((len(batch), encode_frame(request)))
    return out


class RawHttp:
    """A keep-alive HTTP/1.1 client on a raw asyncio stream, for the load generator.

    httpx costs more CPU per request than the hub's push on these shared cores (the
    generator's 200 clients used more CPU than the hub), so the figures measured the client
    as much as the hub. This one sends a prebuilt request and reads the answer by its
    Content-Length (or chunks): a few tens of microseconds per request.
    """

    def __init__(self, base_url: str, local_address: str, headers: dict[str, str]) -> None:
        host_port = base_url.removeprefix("http://")
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        self.local_address = local_address
        self.head = "".join(f"{k}: {v}\r\n" for k, v in
                            {"Host": host_port, **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=(self.local_address, 0))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}"
                          "\r\n\r\n".encode() + body)
        status, content, fields = await read_http_response(self.reader)
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, content


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1] * 1000, 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


def push_phase(name: str, cluster: Cluster, base_url: str, fleet: list[tuple[str, str]],
               pushes: dict[str, list[tuple[int, bytes]]], orders: int,
               extra_pids: dict[str, int], expected_before: int) -> dict[str, Any]:
    """Every outlet pushes its frames one after the other, all outlets at once."""
    latencies: list[float] = []
    first: list[float] = []  # each outlet's first push of the phase
    later: list[float] = []  # the others
    errors: list[str] = []

    async def outlet(n: int, outlet_id: str, credential: str, gate: asyncio.Event) -> None:
        http = RawHttp(base_url, source_address(n), {
            "Authorization": f"Bearer {credential}", "Content-Type": MEDIA_TYPE,
            "Accept": MEDIA_TYPE})
        try:
            await http.connect()
            await gate.wait()
            for index, (_, body) in enumerate(pushes[outlet_id]):
                while True:
                    started = time.monotonic()
                    try:
                        status, content = await http.post("/api/v1/sync/push", body)
                    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                        await http.close()
                        await asyncio.sleep(0.5)
                        continue
                    if status != 200:
                        errors.append(f"HTTP {status}: {content[:150]!r}")
                        await asyncio.sleep(0.5)
                        continue
                    latencies.append(time.monotonic() - started)
                    (later if index else first).append(latencies[-1])
                    reply = decode_frame(content, PushResponse)
                    if reply.status != "ok":
                        errors.append(f"status {reply.status}")
                    break
        finally:
            await http.close()

    async def run_all() -> float:
        gate = asyncio.Event()
        tasks = [asyncio.create_task(outlet(n, o, c, gate)) for n, (o, c) in enumerate(fleet)]
        await asyncio.sleep(1.0)
        started = time.monotonic()
        gate.set()
        await asyncio.gather(*tasks)
        return time.monotonic() - started

    pids = {h.name: h.process.pid for h in cluster.hubs if h.process}
    meter = CpuMeter(cluster.db_url, cluster.db_name, {**pids, **extra_pids,
                                                       "clients": os.getpid()})
    load = os.getloadavg()[0]
    wall = asyncio.run(run_all())
    cpu = meter.used()
    with psycopg.connect(cluster.db_url, autocommit=True) as conn:
        held = conn.execute("SELECT count(*) FROM orders WHERE outlet_id = ANY(%s)",
                            ([o for o, _ in fleet],)).fetchone()[0]
    hub_cpu = sum(cpu.get(f"{name}_cpu_s", 0.0) for name in pids)
    result = {"phase": name, "outlets": len(fleet), "orders": orders,
              "events": sum(e for p in pushes.values() for e, _ in p),
              "pushes": len(latencies), "seconds": round(wall, 2),
              "orders_per_s": round(orders / wall, 1), **percentiles(latencies),
              "first_push": percentiles(first) if first else None,
              "later_pushes": percentiles(later) if later else None,
              "errors": len(errors), "error_samples": errors[:5],
              "hub_orders_new": held - expected_before, "lost": expected_before + orders - held,
              "load_avg_before": round(load, 2), **cpu,
              "hub_cpu_ms_per_order": round(hub_cpu * 1000 / orders, 3),
              "postgres_cpu_ms_per_order": round(cpu["postgres_cpu_s"] * 1000 / orders, 3)}
    emit(bench="push_fleet", **result)
    return result


# -- raw reference ------------------------------------------------------------------------


def read_rows(db_url: str, outlet_ids: list[str], batch_events: int, orders: set[str]
              ) -> dict[str, list[dict[str, list[tuple[Any, ...]]]]]:
    """The rows the hub wrote for ``orders`` (and their journal entries), grouped as the
    pushes that brought them: outlet -> [ {table: rows} per push ]."""

    async def fetch() -> dict[str, list[dict[str, list[tuple[Any, ...]]]]]:
        conn = await asyncpg.connect(db_url)
        try:
            ids = list(orders)
            order_rows = await conn.fetch("SELECT * FROM orders WHERE id = ANY($1)", ids)
            lines = await conn.fetch("SELECT * FROM order_lines WHERE order_id = ANY($1)", ids)
            payments = await conn.fetch("SELECT * FROM payments WHERE order_id = ANY($1)", ids)
            kitchen = await conn.fetch("SELECT * FROM kitchen_events WHERE order_id = ANY($1)",
                                       ids)
            kitchen_ids = [r["id"] for r in kitchen]
            payment_ids = {r["id"] for r in payments}
            journal = await conn.fetch(
                "SELECT * FROM sync_journal WHERE outlet_id = ANY($1) AND seq <= $2",
                outlet_ids, max(r["edge_seq"] for r in order_rows))
        finally:
            await conn.close()
        # A journal row belongs to the push of its seq; an order to the push of its last
        # snapshot; lines and payments follow their order; kitchen events their event's seq.
        seq_of_event = {r["event_id"]: r["seq"] for r in journal}
        push_of_order = {r["id"]: (r["outlet_id"], (r["edge_seq"] - 1) // batch_events)
                         for r in order_rows}
        grouped: dict[str, dict[int, dict[str, list[tuple[Any, ...]]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list)))
        first_seq = min(r["edge_seq"] for r in order_rows) - 3
        for r in journal:
            if r["seq"] >= first_seq:
                grouped[r["outlet_id"]][(r["seq"] - 1) // batch_events]["sync_journal"].append(
                    tuple(r))
        for r in order_rows:
            outlet, push = push_of_order[r["id"]]
            grouped[outlet][push]["orders"].append(tuple(r))
        for r in lines:
            outlet, push = push_of_order[r["order_id"]]
            grouped[outlet][push]["order_lines"].append(tuple(r))
        for r in payments:
            if r["id"] in payment_ids:
                outlet, push = push_of_order[r["order_id"]]
                grouped[outlet][push]["payments"].append(tuple(r))
        for kid, r in zip(kitchen_ids, kitchen, strict=True):
            grouped[r["outlet_id"]][(seq_of_event[kid] - 1) // batch_events][
                "kitchen_events"].append(tuple(r))
        return {o: [dict(grouped[o][k]) for k in sorted(grouped[o])] for o in grouped}

    return asyncio.run(fetch())


def raw_phase(name: str, db_url: str, batches: dict[str, list[dict[str, list[tuple[Any, ...]]]]],
              orders: int, pool_size: int) -> dict[str, Any]:
    """The same rows, as the same batches, COPYed by asyncpg into tables LIKE the real ones
    (no RLS, no hub): one transaction per batch, every outlet at once over ``pool_size``
    connections."""
    latencies: list[float] = []

    async def run() -> tuple[float, float]:
        admin = await asyncpg.connect(db_url)
        for table in RAW_TABLES:
            await admin.execute(f"DROP TABLE IF EXISTS bench_raw_{table}")
            await admin.execute(f"CREATE TABLE bench_raw_{table} (LIKE {table} INCLUDING DEFAULTS"
                                " INCLUDING INDEXES INCLUDING CONSTRAINTS)")
        pool = await asyncpg.create_pool(db_url, min_size=pool_size, max_size=pool_size)
        backends = [r[0] for r in await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()")]
        from tests.bench.bench_sync import cpu_seconds
        cpu_before = sum(cpu_seconds(pid) for pid in backends)
        gate = asyncio.Event()

        async def outlet(pushes: list[dict[str, list[tuple[Any, ...]]]]) -> None:
            await gate.wait()
            for tables in pushes:
                started = time.monotonic()
                async with pool.acquire() as conn, conn.transaction():
                    for table in RAW_TABLES:
                        if tables.get(table):
                            await conn.copy_records_to_table(f"bench_raw_{table}",
                                                             records=tables[table])
                latencies.append(time.monotonic() - started)

        tasks = [asyncio.create_task(outlet(p)) for p in batches.values()]
        await asyncio.sleep(0.5)
        started = time.monotonic()
        gate.set()
        await asyncio.gather(*tasks)
        wall = time.monotonic() - started
        pg_cpu = sum(cpu_seconds(pid) for pid in backends) - cpu_before
        await pool.close()
        for table in RAW_TABLES:
            await admin.execute(f"DROP TABLE bench_raw_{table}")
        await admin.close()
        return wall, pg_cpu

    wall, pg_cpu = asyncio.run(run())
    result = {"phase": name, "outlets": len(batches), "orders": orders,
              "pushes": len(latencies), "pool_size": pool_size, "seconds": round(wall, 2),
              "orders_per_s": round(orders / wall, 1), **percentiles(latencies),
              "postgres_cpu_s": round(pg_cpu, 2),
              "postgres_cpu_ms_per_order": round(pg_cpu * 1000 / orders, 3)}
    emit(bench="push_fleet_raw", **result)
    return result


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--orders-per-outlet", type=int, default=25,
                        help="orders each outlet pushes per phase")
    parser.add_argument("--batch-events", type=int, default=20,
                        help="events per push (4 per order: 20 = 5 orders per push)")
    parser.add_argument("--replicas", type=int, default=2, help="hub replicas for nginxN")
    parser.add_argument("--phases", default="direct,raw,nginx1,nginxN,raw")
    parser.add_argument("--hub-env", action="append", default=[], metavar="NAME=VALUE",
                        help="POS_HUB_* setting for every replica")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="do not ANALYZE between hub phases (what autovacuum does in "
                             "production; this machine's server runs with autovacuum off)")
    parser.add_argument("--keep-database", action="store_true",
                        help="leave the bench's database for EXPLAIN (its name is printed)")
    parser.add_argument("--py-spy", metavar="FILE",
                        help="record replica 1 during the first hub phase with py-spy "
                             "(collapsed stacks, --format raw, only samples holding the GIL: "
                             "the hub's Python work, not its waits) into FILE")
    args = parser.parse_args(argv)
    phases = args.phases.split(",")
    unknown = set(phases) - {"direct", "raw", "nginx1", "nginxN"}
    if unknown or phases[0] == "raw":
        parser.error(f"unknown phases {unknown} (raw needs a hub phase before it)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="bench-push-fleet-"))
    hub_env = {"POS_HUB_REDEEM_MAX_PER_IP": "100000", "POS_HUB_FORWARDED_ALLOW_IPS": "127.0.0.1",
               **dict(v.split("=", 1) for v in args.hub_env)}
    replicas = args.replicas if "nginxN" in phases else 1
    cluster = Cluster(workdir=work, seed=4, use_proxy=False, start_edge=False,
                      hubs_count=replicas, hub_extra_env=hub_env, menu_products=4)
    proxies: list[Nginx] = []
    try:
        cluster.build()
        fleet = make_fleet(cluster, args.outlets)
        hub_phases = [p for p in phases if p != "raw"]
        per_phase = args.orders_per_outlet
        rng = random.Random(5)
        journals = {o: _journal(o, per_phase * len(hub_phases), rng) for o, _ in fleet}
        events = per_phase * 4
        orders = per_phase * len(fleet)
        emit(bench="push_fleet_setup", outlets=len(fleet), replicas=replicas,
             orders_per_outlet=per_phase, batch_events=args.batch_events,
             orders_per_push=args.batch_events / 4, phases=phases, cpus=os.cpu_count())
        held, done, raw_rows = 0, 0, None
        results: dict[str, Any] = {}
        pool_size = int(hub_env.get("POS_HUB_DB_POOL_SIZE", 10))
        for phase in phases:
            if phase == "raw":
                if raw_rows is None:
                    raw_rows = read_rows(cluster.db_url, [o for o, _ in fleet],
                                         args.batch_events, set(order_ids(journals, 0, events)))
                results[f"raw{len([k for k in results if k.startswith('raw')]) + 1}"] = raw_phase(
                    "raw", cluster.db_url, raw_rows, orders, pool_size)
                continue
            if done and args.analyze:
                analyze(cluster.db_url)
            pushes = {o: frames(journals[o][done * events:(done + 1) * events], args.batch_events)
                      for o, _ in fleet}
            if phase == "direct":
                base, extra = cluster.hubs[0].url, {}
            else:
                chosen = cluster.hubs[:1] if phase == "nginx1" else cluster.hubs
                proxy = Nginx(work / f"nginx-{phase}", [h.url.removeprefix("http://")
                                                        for h in chosen])
                proxies.append(proxy)
                base, extra = proxy.url, proxy.pids()
            spy = None
            if args.py_spy and done == 0:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw",
                     "--rate", "500", "--gil", "--nonblocking", "-o", args.py_spy,
                     "-p", str(cluster.hubs[0].process.pid)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.0)
            results[phase] = push_phase(phase, cluster, base, fleet, pushes, orders, extra, held)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
            held += orders
            done += 1
        summary: dict[str, Any] = {}
        raws = [r["orders_per_s"] for k, r in results.items() if k.startswith("raw")]
        if raws:
            raw = statistics.fmean(raws)
            summary["raw_orders_per_s"] = round(raw, 1)
            for phase in hub_phases:
                summary[f"{phase}_vs_raw"] = round(results[phase]["orders_per_s"] / raw, 3)
        if "nginx1" in results and "nginxN" in results:
            summary["nginxN_vs_nginx1"] = round(results["nginxN"]["orders_per_s"]
                                                / results["nginx1"]["orders_per_s"], 3)
        for phase in hub_phases:
            r = results[phase]
            summary[f"{phase}_meets_goal"] = (r["orders_per_s"] >= 2000 and r["p99_ms"] < 500
                                              and r["errors"] == 0 and r["lost"] == 0)
        emit(bench="push_fleet_summary", replicas=replicas, batch_events=args.batch_events,
             **summary)
    finally:
        for proxy in proxies:
            proxy.close()
        if args.keep_database:
            emit(bench="push_fleet_database", url=cluster.db_url)
        cluster.close(keep_database=args.keep_database)
        if args.keep_logs:
            emit(bench="push_fleet_logs", folder=str(work))
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def analyze(db_url: str) -> None:
    """What autovacuum does after each phase's inserts in production: without it (this
    machine's server has autovacuum off) every later phase plans on an empty table's
    statistics, and PostgreSQL's CPU per order grows with the rows already pushed."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def order_ids(journals: dict[str, list[JournalEntry]], first: int, count: int) -> list[str]:
    """Ids of the orders in each journal's slice [first, first + count)."""
    from shared.schemas import OrderEvent, event_decoder
    found = []
    for journal in journals.values():
        for entry in journal[first:first + count]:
            body = event_decoder.decode(entry.body)
            if isinstance(body, OrderEvent):
                found.append(body.order.id)
    return found


if __name__ == "__main__":
    sys.exit(main())
