"""Hub restart with a fleet waiting: how fast 200 outlets recover, and whether they stampede.

    .venv/bin/python tests/bench/bench_hub_restart.py [--outlets 200] [--orders-per-outlet 10]
                                                      [--down 20] [--max-in-flight 32]

Prints JSON lines. Its own database is created and dropped.

A real hub process (``pos-hub serve``, PostgreSQL) with the overload guard on
(``POS_HUB_MAX_IN_FLIGHT``, small on purpose so a herd meets it). For each retry policy, a
fresh set of ``--outlets`` outlets is enrolled, each holding a hash-chained journal; the hub
is killed (SIGKILL), every outlet starts pushing its backlog at once and fails while the hub
is down for ``--down`` seconds, then the hub is started again. Measured from the moment the
restarted hub answers its health check: the time until every outlet's journal is at the hub
(recovery), the requests it received per second in each of the first seconds (the herd), how
many it shed (503) and the push latency percentiles; the hub's order count is checked.

Policies:
* ``engine``: the edge's own ``sync.engine.Backoff`` with the product's defaults (1 s to
  60 s, full jitter) and the hub's ``Retry-After`` honoured, as ``SyncEngine`` does.
* ``fixed``: retry every 0.5 s whatever the hub says (a naive client; the comparison).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httpx
import psycopg

from shared.ids import new_id
from sync.client import HubClient, HubUnreachable, SyncError
from sync.engine import Backoff, SyncSettings
from sync.protocol import EnrollRequest, PushRequest
from tests.bench.bench_sync import _journal, emit
from tests.chaos.cluster import ADMIN_PASSWORD, Cluster


def enroll(cluster: Cluster, count: int, tag: str) -> list[tuple[str, str]]:
    hub_url = cluster.hubs[0].url
    with httpx.Client(base_url=hub_url, timeout=60) as http:
        token = http.post("/api/v1/auth/login", json={
            "email": cluster.owner_email, "password": ADMIN_PASSWORD}).raise_for_status().json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        made = []
        for n in range(count):
            outlet_id = http.post("/api/v1/outlets", json={
                "name": f"Restart {tag} {n}", "timezone": "Asia/Jakarta"}
            ).raise_for_status().json()["id"]
            code = http.post(f"/api/v1/outlets/{outlet_id}/enrollment-codes",
                             json={}).raise_for_status().json()["code"]
            made.append((outlet_id, code))

    async def redeem() -> list[tuple[str, str]]:
        out = []
        async with HubClient(hub_url) as client:
            for outlet_id, code in made:
                reply = await client.enroll(EnrollRequest(code=code, device_key=f"dk_{new_id()}"))
                out.append((outlet_id, reply.credential))
        return out

    return asyncio.run(redeem())


def run_policy(cluster: Cluster, policy: str, outlets: int, per_outlet: int,
               down: float) -> dict[str, Any]:
    hub = cluster.hubs[0]
    credentials = enroll(cluster, outlets, policy)
    rng = random.Random(7)
    journals = {o: _journal(o, per_outlet, rng) for o, _ in credentials}
    attempts: list[float] = []  # monotonic time of every push sent
    shed = 0
    latencies: list[float] = []
    done_at: dict[str, float] = {}
    defaults = SyncSettings()

    async def outlet(outlet_id: str, credential: str) -> None:
        nonlocal shed
        entries = journals[outlet_id]
        backoff = Backoff(defaults.min_backoff, defaults.max_backoff)
        async with HubClient(hub.url, credential, timeout=30) as client:
            position = 0
            while position < len(entries):
                batch = entries[position:position + 20]
                request = PushRequest(outlet_id=outlet_id, epoch=batch[0].epoch, entries=batch,
                                      backlog=len(entries) - position, sent_at=datetime.now(UTC),
                                      edge_version="bench")
                started = time.monotonic()
                attempts.append(started)
                try:
                    reply = await client.push(request)
                except HubUnreachable as exc:
                    if "HTTP 503" in str(exc):
                        shed += 1
                    if policy == "fixed":
                        await asyncio.sleep(0.5)
                    else:
                        now = time.monotonic()
                        backoff.failure(now, retry_after=exc.retry_after)
                        await asyncio.sleep(max(0.0, backoff.not_before - now))
                    continue
                except SyncError:
                    await asyncio.sleep(1.0)
                    continue
                latencies.append(time.monotonic() - started)
                backoff.success()
                position = max(position + len(batch), reply.acked_seq)
        done_at[outlet_id] = time.monotonic()

    async def scenario() -> float:
        hub.kill9()
        tasks = [asyncio.create_task(outlet(o, c)) for o, c in credentials]
        await asyncio.sleep(down)
        await asyncio.to_thread(hub.start)
        ready = time.monotonic()
        await asyncio.gather(*tasks)
        return ready

    ready = asyncio.run(scenario())
    recovery = max(done_at.values()) - ready
    per_second = collections.Counter(int(t - ready) for t in attempts if t >= ready)
    during_outage = sum(1 for t in attempts if t < ready)
    with psycopg.connect(cluster.db_url, autocommit=True) as conn:
        hub_orders = conn.execute("SELECT count(*) FROM orders WHERE outlet_id = ANY(%s)",
                                  ([o for o, _ in credentials],)).fetchone()[0]
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    result = {"policy": policy, "outlets": outlets, "orders": outlets * per_outlet,
              "down_s": down, "recovery_s": round(recovery, 2),
              "half_done_s": round(sorted(done_at.values())[len(done_at) // 2] - ready, 2),
              "requests_during_outage": during_outage,
              "requests_first_5s": [per_second.get(s, 0) for s in range(5)],
              "peak_requests_per_s": max(per_second.values(), default=0),
              "shed_503": shed, "pushes_ok": len(latencies),
              "p50_ms": pct(0.5), "p99_ms": pct(0.99),
              "hub_orders": hub_orders, "lost": outlets * per_outlet - hub_orders}
    emit(bench="hub_restart", **result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--orders-per-outlet", type=int, default=10)
    parser.add_argument("--down", type=float, default=20.0, help="seconds the hub stays down")
    parser.add_argument("--max-in-flight", type=int, default=32,
                        help="the hub's POS_HUB_MAX_IN_FLIGHT (its queue is 4x that)")
    parser.add_argument("--policies", default="engine,fixed")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    cluster = Cluster(workdir=work / "cluster", seed=2, use_proxy=False, start_edge=False,
                      hub_extra_env={"POS_HUB_MAX_IN_FLIGHT": str(args.max_in_flight),
                                     "POS_HUB_REDEEM_MAX_PER_IP": "100000",
                                     "POS_HUB_MAX_QUEUED": str(args.max_in_flight * 4)})
    try:
        cluster.build()
        for policy in args.policies.split(","):
            run_policy(cluster, policy, args.outlets, args.orders_per_outlet, args.down)
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
