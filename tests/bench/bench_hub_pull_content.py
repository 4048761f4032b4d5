"""Benchmark: a chain's morning after head office changed something — every outlet pulls the
new content at once (issue 14; docs/scaling.md, "Pulls that carry content").

Starts one real ``pos-hub serve`` on a fresh PostgreSQL database set up as production is
(the helpers of ``bench_hub_wrk.py``: owner, RLS app role, BYPASSRLS system role), a tenant
with ``--outlets`` outlets, each enrolled with a sync credential, a published menu of
``--products`` products and one staff member who works everywhere. Every outlet pulls once
from cursor 0 (its PIN verifier is derived then, as in production), so each holds the feed's
head. Then ``--rounds`` times, interleaved so a change in the machine's load hits each kind:

* ``catalog``: head office publishes the menu again (one price changed), then every outlet
  pulls at once: one request per outlet, all sent together on connections opened before
  (raw asyncio sockets, requests prebuilt: the client spends a few ms per burst, the hub
  seconds). Each pull finds the new version, advances the outlet's feed (a write) and
  carries that outlet's catalog.
* ``staff``: the staff member is renamed; every outlet pulls the new roster at once.
* ``settings``: every outlet's settings change (one PATCH each); every outlet pulls at once.
* ``caught_up``: every outlet pulls again at once with the cursor it now holds (the fast
  path's empty page).
* ``trivial``: ``GET /`` once per outlet at once (a redirect: no token, no database).

For each: the hub process's CPU time (user + system from ``/proc/<pid>/stat``) and the bench
database's PostgreSQL backends' over the requests of the burst, pulls/s (requests over the
burst's wall time), p50/p95/p99 of the requests' latencies, and the ratios to ``trivial``
and ``caught_up`` of the same run. Then ``wrk`` (``-c 16``, closed loop) for
``--seconds`` each on ``trivial``, ``caught_up`` and ``repull`` (every outlet asking again
from its previous cursor: content again, nothing new to record — an edge whose apply
failed, or several hub replicas' worth of the same answer).

Every answer is decoded after its burst and checked (status 200, the expected kind in it,
the right outlet's settings): a bench that measured refusals would be worthless.

Prints one JSON object per line; the last is a summary.

    .venv/bin/python tests/bench/bench_hub_pull_content.py [--outlets 200] [--products 120]
        [--rounds 3] [--seconds 6] [--pool-size 16] [--py-spy FILE [--py-spy-kind catalog]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_hub_wrk as base  # the database, enrolment and CPU helpers

from sync.protocol import MEDIA_TYPE, PullResponse, decode_frame
from tests.bench.bench_sync import read_http_response

FEED_KINDS = base.FEED_KINDS
PULL = "/api/v1/sync/pull"


def emit(**fields: Any) -> None:
    print(json.dumps({"bench": "hub_pull_content", **fields}), flush=True)


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 1)}


def request_bytes(path: str, credential: str = "") -> bytes:
    auth = f"Authorization: Bearer {credential}\r\n" if credential else ""
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Accept: {MEDIA_TYPE}\r\n\r\n"
            ).encode()


async def _burst(port: int, requests: list[bytes]
                 ) -> tuple[float, list[tuple[float, int, bytes]], float]:
    """Send every request at once, one per connection opened beforehand: (the wall time,
    (latency, status, body) per request, the hub's CPU seconds over the burst)."""
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in requests]

    async def one(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                  request: bytes) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        stream[1].write(request)
        status, body, _ = await read_http_response(stream[0])
        return time.perf_counter() - started, status, body

    await asyncio.sleep(0.2)  # the hub has accepted them all before the clock starts
    cpu_before = base.cpu_seconds(HUB_PID[0])
    started = time.perf_counter()
    answers = await asyncio.gather(*(one(s, r) for s, r in zip(streams, requests, strict=True)))
    wall = time.perf_counter() - started
    cpu_used = base.cpu_seconds(HUB_PID[0]) - cpu_before
    for _, writer in streams:
        writer.close()
    return wall, answers, cpu_used


HUB_PID = [0]


def burst(port: int, requests: list[bytes], spy: str = "") -> dict[str, Any]:
    """One burst measured: hub and PostgreSQL CPU per request, rate, latency percentiles."""
    pg_before = base.pg_cpu_seconds(base.DATABASE[0])
    recorder = base.py_spy(HUB_PID[0], 8, spy) if spy else None
    if recorder is not None:
        time.sleep(1.0)  # py-spy attached
    wall, answers, hub_used = asyncio.run(_burst(port, requests))
    if recorder is not None:
        recorder.wait(timeout=60)
    pg_after = base.pg_cpu_seconds(base.DATABASE[0])
    pg_used = sum(after - pg_before.get(pid, 0.0) for pid, after in pg_after.items())
    statuses: dict[str, int] = {}
    for _, status, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    n = len(answers)
    return {"requests": n, "statuses": statuses, "wall_s": round(wall, 3),
            "rps": round(n / wall, 1), "hub_cpu_s": round(hub_used, 3),
            "hub_cpu_ms_per_request": round(hub_used * 1000 / n, 3),
            "pg_cpu_s": round(pg_used, 3), "pg_cpu_ms_per_request": round(pg_used * 1000 / n, 3),
            **percentiles([latency for latency, _, _ in answers]),
            "answers": [body for _, _, body in answers]}


def pull_requests(credentials: list[str], cursors: list[int]) -> list[bytes]:
    return [request_bytes(f"{PULL}?cursor={cursor}&kinds={FEED_KINDS}", credential)
            for credential, cursor in zip(credentials, cursors, strict=True)]


def checked(figures: dict[str, Any], kind: str, cursors: list[int],
            settings_names: list[str] | None = None) -> list[int]:
    """Every answer is a 200 page carrying ``kind`` (or none, for ``caught_up``); the new
    cursors."""
    if figures["statuses"] != {"200": figures["requests"]}:
        raise RuntimeError(f"{kind}: answers {figures['statuses']}")
    found = []
    for i, body in enumerate(figures.pop("answers")):
        page = decode_frame(body, PullResponse)
        kinds = [change.kind for change in page.changes]
        if kind == "caught_up":
            if kinds or page.cursor != cursors[i]:
                raise RuntimeError(f"caught_up: outlet {i} got {kinds} at {page.cursor}")
        elif kinds != [kind]:
            raise RuntimeError(f"{kind}: outlet {i} got {kinds}")
        if kind == "settings" and settings_names is not None:
            settings = page.changes[0].settings
            if settings is None or settings.name != settings_names[i]:
                raise RuntimeError(f"settings: outlet {i} got another outlet's settings")
        found.append(page.cursor)
    return found


def seed_catalog(client: httpx.Client, brand_id: str, products: int) -> list[str]:
    """A menu of ``products`` products in 8 categories, two modifier groups on a third of
    them; the product ids."""
    groups = []
    for name, options in (("Spice", ["Mild", "Medium", "Hot"]), ("Extras", ["Egg", "Cheese"])):
        made = client.post("/api/v1/catalog/modifier-groups", json={
            "brand_id": brand_id, "name": name, "min_choices": 0, "max_choices": 1,
            "options": [{"name": o, "price_delta": 2000 * i} for i, o in enumerate(options)]})
        made.raise_for_status()
        groups.append(made.json()["id"])
    categories = []
    for i in range(8):
        made = client.post("/api/v1/catalog/categories", json={
            "brand_id": brand_id, "name": f"Category {i}", "sort": i})
        made.raise_for_status()
        categories.append(made.json()["id"])
    ids = []
    for i in range(products):
        made = client.post("/api/v1/catalog/products", json={
            "brand_id": brand_id, "category_id": categories[i % len(categories)],
            "name": f"Product {i:03d}", "price": 10_000 + 500 * i, "sort": i,
            "description": f"House recipe number {i}, served hot.",
            "modifier_group_ids": groups if i % 3 == 0 else []})
        made.raise_for_status()
        ids.append(made.json()["id"])
    return ids


def publish(client: httpx.Client, brand_id: str) -> None:
    published = client.post(f"/api/v1/brands/{brand_id}/publish")
    if published.status_code not in (200, 201):
        raise RuntimeError(f"publish: {published.status_code} {published.text}")


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--products", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6, help="each wrk phase")
    parser.add_argument("--pool-size", type=int, default=16)
    parser.add_argument("--py-spy", metavar="PATH", default="",
                        help="py-spy record the hub during the first burst of --py-spy-kind")
    parser.add_argument("--py-spy-kind", default="catalog",
                        choices=["catalog", "staff", "settings", "caught_up", "repull"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    base.resource.setrlimit(base.resource.RLIMIT_NOFILE,
                            (base.resource.getrlimit(base.resource.RLIMIT_NOFILE)[1],) * 2)

    workdir = Path(tempfile.mkdtemp(prefix="bench-hub-pull-content-"))
    name = f"bench_hub_pull_{uuid.uuid4().hex[:8]}"
    base.DATABASE[0] = name
    server: subprocess.Popen[bytes] | None = None
    try:
        admin_url, app_url, system_url = base.setup_database(name)
        email, password = "owner@bench.test", "bench-password-1"
        base.create_tenant(admin_url, email, password)
        port = base.free_port()
        env = {**os.environ, "POS_HUB_JWT_SECRET": "bench-Jw5kR9tM2xQ7vN4bZ8cL3pH6sD1fGaE",
               "POS_HUB_PIN_KEY": "bench-pin-Vb8nQ3xL6tR1mZ9kW4cH7yJ2dF5gS0",
               "POS_HUB_DATA_DIR": str(workdir), "POS_HUB_DB_SYSTEM_URL": system_url,
               "POS_HUB_REDEEM_MAX_PER_IP": "100000",
               "POS_HUB_DB_POOL_SIZE": str(args.pool_size),
               # every pull of a burst is served (none shed after 2 s in the queue): this
               # measures the cost of a pull, docs/scaling.md "Overload" the shedding
               "POS_HUB_QUEUE_TIMEOUT_SECONDS": "60"}
        server, url, token = base.start_hub(workdir, app_url, port, env, email, password)
        HUB_PID[0] = server.pid
        with httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            brand_id = client.get("/api/v1/brands").json()["items"][0]["id"]
            products = seed_catalog(client, brand_id, args.products)
            outlets = [client.post("/api/v1/outlets", json={
                "name": f"Outlet {i:04d}", "timezone": "Asia/Jakarta"}).json()["id"]
                for i in range(args.outlets)]
            publish(client, brand_id)
            member = client.post("/api/v1/staff", json={
                "name": "Dewi", "role": "cashier", "pin": "314159", "all_outlets": True})
            member.raise_for_status()
            staff_id = member.json()["id"]
            credentials = [base.enroll(client, outlet) for outlet in outlets]
            # the first pull of each: its staff verifier is derived, every kind is stated
            cursors = [base.caught_up_cursor(client, c) for c in credentials]
            first = httpx.get(url + PULL, params={"cursor": 0, "kinds": FEED_KINDS},
                              headers={"Authorization": f"Bearer {credentials[0]}"})
            page = decode_frame(first.content, PullResponse)
            catalog = next(c.catalog for c in page.changes if c.kind == "catalog")
            emit(metric="setup", outlets=len(outlets), products=len(catalog.products),
                 frame_bytes=len(first.content), cpus=os.cpu_count(),
                 load_average=os.getloadavg()[0])

            trivial_requests = [request_bytes("/") for _ in outlets]
            totals: dict[str, dict[str, float]] = {}
            spied: set[str] = set()
            previous = list(cursors)  # for the repull phase: the cursors before the last change

            def measure(kind: str, requests: list[bytes], names: list[str] | None = None
                        ) -> None:
                nonlocal cursors, previous
                spy = (args.py_spy if args.py_spy and args.py_spy_kind == kind
                       and kind not in spied else "")
                spied.add(kind)
                base.drained(url)
                figures = burst(port, requests, spy)
                if kind == "trivial":
                    figures.pop("answers")
                    if figures["statuses"] != {"302": figures["requests"]} and \
                            figures["statuses"] != {"301": figures["requests"]}:
                        raise RuntimeError(f"trivial: {figures['statuses']}")
                else:
                    found = checked(figures, kind, cursors, names)
                    if kind != "caught_up":
                        previous, cursors = cursors, found
                emit(metric="burst", kind=kind, **figures)
                total = totals.setdefault(kind, {"requests": 0, "hub_cpu_s": 0.0,
                                                 "pg_cpu_s": 0.0, "latencies": 0})
                total["requests"] += figures["requests"]
                total["hub_cpu_s"] += figures["hub_cpu_s"]
                total["pg_cpu_s"] += figures["pg_cpu_s"]
                total.setdefault("rps", []).append(figures["rps"])  # type: ignore[attr-defined]
                total.setdefault("p99_ms", []).append(figures["p99_ms"])  # type: ignore[attr-defined]

            for round_no in range(args.rounds):
                price = client.patch(f"/api/v1/catalog/products/{products[0]}",
                                     json={"price": 20_000 + round_no})
                price.raise_for_status()
                publish(client, brand_id)
                measure("catalog", pull_requests(credentials, cursors))
                renamed = client.patch(f"/api/v1/staff/{staff_id}",
                                       json={"name": f"Dewi {round_no}"})
                renamed.raise_for_status()
                measure("staff", pull_requests(credentials, cursors))
                names = []
                for i, outlet in enumerate(outlets):
                    names.append(f"Outlet {i:04d} r{round_no}")
                    changed = client.patch(f"/api/v1/outlets/{outlet}", json={"name": names[-1]})
                    changed.raise_for_status()
                measure("settings", pull_requests(credentials, cursors), names)
                measure("caught_up", pull_requests(credentials, cursors))
                measure("trivial", trivial_requests)

        summary: dict[str, Any] = {}
        for kind, total in totals.items():
            summary[kind] = {
                "hub_cpu_ms": round(total["hub_cpu_s"] * 1000 / total["requests"], 3),
                "pg_cpu_ms": round(total["pg_cpu_s"] * 1000 / total["requests"], 3),
                "rps_median": sorted(total["rps"])[len(total["rps"]) // 2],  # type: ignore[arg-type]
                "p99_ms_max": max(total["p99_ms"])}  # type: ignore[type-var]
        trivial = summary["trivial"]["hub_cpu_ms"]
        fast = summary["caught_up"]["hub_cpu_ms"]
        for figures in summary.values():
            figures["to_trivial"] = ratio(figures["hub_cpu_ms"], trivial)
            figures["to_caught_up"] = ratio(figures["hub_cpu_ms"], fast)
        emit(metric="bursts", **summary)

        # steady state under wrk: the same outlets asking again (caught up, and from their
        # previous cursor: the last change again, nothing new to record)
        wrk_targets = {
            "trivial": [(1, "", "/")],
            "caught_up": [(1, c, f"{PULL}?cursor={k}&kinds={FEED_KINDS}")
                          for c, k in zip(credentials, cursors, strict=True)],
            "repull": [(1, c, f"{PULL}?cursor={k}&kinds={FEED_KINDS}")
                       for c, k in zip(credentials, previous, strict=True)]}
        steady: dict[str, dict[str, Any]] = {}
        for kind, targets in wrk_targets.items():
            spy = (base.py_spy(server.pid, args.seconds, args.py_spy)
                   if args.py_spy and args.py_spy_kind == kind == "repull" else None)
            figures = base.measured(server.pid, url, targets, workdir, seconds=args.seconds,
                                    connections=16, threads=1)
            if spy is not None:
                spy.wait(timeout=60)
            emit(metric="wrk", kind=kind, connections=16, **figures)
            steady[kind] = figures
        emit(summary=True, load_average_after=os.getloadavg()[0],
             **{f"burst_{k}_hub_cpu_ms": v["hub_cpu_ms"] for k, v in summary.items()},
             **{f"burst_{k}_to_trivial": v["to_trivial"] for k, v in summary.items()},
             **{f"burst_{k}_to_caught_up": v["to_caught_up"] for k, v in summary.items()},
             **{f"burst_{k}_pg_cpu_ms": v["pg_cpu_ms"] for k, v in summary.items()},
             **{f"wrk_{k}_hub_cpu_ms": v["hub_cpu_ms_per_request"] for k, v in steady.items()},
             **{f"wrk_{k}_rps": v["rps"] for k, v in steady.items()},
             wrk_repull_to_trivial=ratio(steady["repull"]["hub_cpu_ms_per_request"],
                                         steady["trivial"]["hub_cpu_ms_per_request"]),
             wrk_errors=sum(v["errors"] for v in steady.values()))
    finally:
        base.stop_hub(server, workdir, name, emit, ('"ERROR"', "Traceback"))


if __name__ == "__main__":
    main()
