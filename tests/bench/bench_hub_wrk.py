"""Benchmark: the hub per request and with 1,000 keep-alive connections, driven by ``wrk``
(a C load generator: Debian package ``wrk``), not a Python client competing for the cores.

Starts one real ``pos-hub serve`` on a fresh PostgreSQL database (dropped at the end) set up
as production is: an owner that migrates, the app role under Row-Level Security that serves
requests, the BYPASSRLS system role. A tenant with ``--outlets`` outlets, each enrolled with a
sync credential. Then:

* ``cpu``: ``wrk -c 16`` for ``--seconds`` against ``GET /`` (trivial: a redirect, no token,
  no database), ``GET /api/v1/outlets`` (an authenticated tenant read on the fast read path:
  JWT, the token-version check, tenant setting, RLS read of the tenant's 20 outlets),
  ``GET /api/v1/tenant`` (one row on the fast path) and ``GET /api/v1/brands`` (one row on
  the ORM session path, for comparison), ``--rounds`` times interleaved. The hub process's
  CPU time (user + system, from ``/proc/<pid>/stat``) divided by the requests served is the
  CPU per request; it moves less than throughput with what else the shared machine runs,
  but it does move (cache and scheduler contention), so compare the ratios of one run. The
  issue's goal: tenant read ≤ 3 × trivial. ``pg_cpu_ms_per_request`` is the same for the
  PostgreSQL backends of the bench database (the fast path has PostgreSQL render the JSON,
  so the work it moves there is counted too).
* ``mix``: keep-alive connections, each a dashboard user or an outlet's box: 70 % dashboard
  reads (outlets, fleet, tenant, the month's sales report, with the owner's token), 30 % sync
  pulls of a caught-up outlet (its credential). Runs: ``closed`` with 64 connections and no
  think time (the throughput one process sustains: its capacity); ``paced``, once per
  ``--paced-fractions`` (0.5, 0.75, 0.9): ``--connections`` (1,000) connections that each
  wait a random think time before every request (wrk's ``delay()``: the first uniform over
  one think time, then 0.5-1.5 of it; the mean chosen so that the offered rate is that
  fraction of the capacity) for ``--paced-seconds``: what
  1,000 users of one replica see; ``closed`` with ``--connections`` and no think time (far
  past capacity: load shedding answers 503 ``overloaded``, counted apart from other
  errors). Each gives throughput, p50/p95/p99, errors by kind (non-2xx, timeouts, socket
  errors) and the hub's CPU per request. The bench raises its open-file limit to the hard
  limit first (wrk and the hub inherit it: 1,000 sockets each).

Prints one JSON object per line; the last is a summary. ``wrk`` must be on PATH.

    .venv/bin/python tests/bench/bench_hub_wrk.py [--seconds 8] [--connections 1000]
        [--outlets 20] [--paced-fractions 0.5,0.75,0.9] [--paced-seconds 30] [--threads 2] [--routes]
        [--rounds 2] [--pool-size 16]
        [--py-spy FILE [--py-spy-route PATH_PART|mix]] [--skip-mix]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from hub import tenancy
from hub.db import Database, run_migrations
from sync.protocol import MEDIA_TYPE, EnrollRequest, EnrollResponse, decode_frame, encode_frame

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FEED_KINDS = "catalog,staff,settings"
DATABASE: list[str] = [""]  # the bench database's name, once made

# wrk's Lua: one request builder for every target; done() prints the figures as JSON.
LUA = r"""
local targets = {}
local weights = {}
local total = 0
local think_ms = tonumber(os.getenv("BENCH_THINK_MS") or "0")
-- the connections of one thread: wrk asks delay() before each one's first request too
local initial = tonumber(os.getenv("BENCH_CONNECTIONS_PER_THREAD") or "0")
local delays = 0

local function load(path)
  for line in io.lines(path) do
    local weight, auth, target = line:match("^(%d+)\t([^\t]*)\t(.+)$")
    if weight then
      total = total + tonumber(weight)
      table.insert(weights, total)
      local headers = {}
      if auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
      headers["Accept"] = "*/*"
      table.insert(targets, wrk.format("GET", target, headers))
    end
  end
end

load(os.getenv("BENCH_TARGETS"))
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))

function request()
  local pick = math.random(total)
  for i, upto in ipairs(weights) do
    if pick <= upto then return targets[i] end
  end
  return targets[#targets]
end

if think_ms > 0 then
  -- first requests uniform over one think time (the offered rate is reached at once), then
  -- uniform in [0.5, 1.5] x think: mean think_ms per connection, starts stay spread
  function delay()
    delays = delays + 1
    if delays <= initial then return math.random(0, think_ms) end
    return math.random(math.floor(think_ms / 2), math.floor(think_ms * 3 / 2))
  end
end

statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[#merged + 1] = string.format('[%d, %d]', status, count)
    end
  end
  io.write('{"statuses": [' .. table.concat(merged, ", ") .. ']}\n')
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.timeout,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def emit(**fields: Any) -> None:
    print(json.dumps({"bench": "hub_wrk", **fields}), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def pg_cpu_seconds(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``database``, by pid."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except (OSError, IndexError, ValueError):  # ended meanwhile
            pass
    return found


def wrk(base: str, targets: list[tuple[int, str, str]], workdir: Path, *, seconds: float,
        connections: int, threads: int, think_ms: int = 0) -> dict[str, Any]:
    """Run wrk with the mix ``targets`` (weight, bearer token, path); its done() figures."""
    targets_file = workdir / f"targets-{uuid.uuid4().hex[:6]}.tsv"
    targets_file.write_text("".join(f"{w}\t{auth}\t{path}\n" for w, auth, path in targets))
    script = workdir / "mix.lua"
    script.write_text(LUA)
    env = {**os.environ, "BENCH_TARGETS": str(targets_file), "BENCH_THINK_MS": str(think_ms),
           "BENCH_CONNECTIONS_PER_THREAD": str(connections // threads)}
    done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections),
                           "-d", f"{int(seconds)}s", "--timeout", "30s", "-s", str(script), base],
                          capture_output=True, text=True, env=env, check=False,
                          timeout=seconds + 120)
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode != 0 or len(lines) != 2:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    figures = json.loads(lines[1])
    statuses: dict[str, int] = {}
    for status, count in json.loads(lines[0])["statuses"]:  # one pair per thread and status
        statuses[str(status)] = statuses.get(str(status), 0) + count
    figures["statuses"] = statuses
    figures["rps"] = round(figures["requests"] / (figures["duration_us"] / 1e6), 1)
    figures["errors"] = sum(figures[k] for k in ("status_errors", "timeouts", "connect_errors",
                                                  "read_errors", "write_errors"))
    return figures


def drained(base: str, timeout: float = 120) -> None:
    """Until the hub has finished what an earlier phase left in flight or queued (wrk closes
    its connections at the end, but requests already read are still served)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = httpx.get(base + "/metrics", timeout=30).text
        busy = [line for line in text.splitlines()
                if line.startswith(("hub_http_in_flight_requests ", "hub_http_queued_requests "))
                and float(line.split()[1]) > 0]
        if not busy:
            return
        time.sleep(0.5)


def pg_sessions(database: str) -> int:
    """Connections PostgreSQL opened to ``database`` so far (pool churn shows here)."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                           (database,)).fetchone()
    return int(row[0]) if row else 0


def measured(pid: int, base: str, targets: list[tuple[int, str, str]], workdir: Path,
             **options: Any) -> dict[str, Any]:
    drained(base)
    database = DATABASE[0]
    sessions = pg_sessions(database)
    pg_before = pg_cpu_seconds(database)
    before = cpu_seconds(pid)
    figures = wrk(base, targets, workdir, **options)
    used = cpu_seconds(pid) - before
    pg_after = pg_cpu_seconds(database)
    # backends that ended during the phase are missed: a slight undercount under pool churn
    pg_used = sum(after - pg_before.get(pg_pid, 0.0) for pg_pid, after in pg_after.items())
    figures["pg_connections_opened"] = pg_sessions(database) - sessions
    figures["hub_cpu_s"] = round(used, 2)
    figures["hub_cpu_ms_per_request"] = round(used * 1000 / max(figures["requests"], 1), 3)
    figures["pg_cpu_s"] = round(pg_used, 2)
    figures["pg_cpu_ms_per_request"] = round(pg_used * 1000 / max(figures["requests"], 1), 3)
    return figures


def py_spy(pid: int, seconds: float, path: str) -> subprocess.Popen[bytes]:
    """py-spy recording the hub's stacks (raw, collapsed) for ``seconds`` into ``path``."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([binary, "record", "--pid", str(pid), "--duration",
                             str(int(seconds)), "--format", "raw", "--rate", "200", "-o", path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setup_database(name: str) -> tuple[str, str, str]:
    """A database with the three roles of docs/operations.md; (superuser, app, system) URLs."""
    owner, app, system = (f"{name}_{kind}" for kind in ("owner", "app", "system"))
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{app}" LOGIN')
        conn.execute(f'CREATE ROLE "{system}" LOGIN BYPASSRLS')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    run_migrations(f"postgresql://{owner}@127.0.0.1:5432/{name}", grant_to=[app, system])
    return (f"postgresql://postgres@127.0.0.1:5432/{name}",
            f"postgresql://{app}@127.0.0.1:5432/{name}",
            f"postgresql://{system}@127.0.0.1:5432/{name}")


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for kind in ("app", "system", "owner"):
            conn.execute(f'DROP ROLE IF EXISTS "{name}_{kind}"')


def create_tenant(db_url: str, email: str, password: str) -> str:
    async def create() -> str:
        db = Database(db_url, pool_size=1)
        try:
            async with db.system() as session:
                return (await tenancy.create_tenant(session, "Bench", email, password)).id
        finally:
            await db.dispose()

    return asyncio.run(create())


def enroll(client: httpx.Client, outlet_id: str) -> str:
    code = client.post(f"/api/v1/outlets/{outlet_id}/enrollment-codes", json={})
    code.raise_for_status()
    frame = encode_frame(EnrollRequest(code=code.json()["code"],
                                       device_key="dk_" + uuid.uuid4().hex))
    reply = httpx.post(f"{client.base_url}/api/v1/enrollment/redeem", content=frame,
                       headers={"Content-Type": MEDIA_TYPE}, timeout=60)
    reply.raise_for_status()
    return decode_frame(reply.content, EnrollResponse).credential


def caught_up_cursor(client: httpx.Client, credential: str) -> int:
    """The cursor an edge holds once it has applied its feed (it then polls from there)."""
    reply = client.get("/api/v1/sync/pull", params={"cursor": 0, "kinds": FEED_KINDS},
                       headers={"Authorization": f"Bearer {credential}", "Accept": MEDIA_TYPE})
    reply.raise_for_status()
    from sync.protocol import PullResponse

    return int(decode_frame(reply.content, PullResponse).cursor)


def start_hub(workdir: Path, app_url: str, port: int, env: dict[str, str], email: str,
              password: str) -> tuple[subprocess.Popen[bytes], str, str]:
    """``pos-hub serve`` on ``port`` (its log in workdir/hub.log), once healthy: the process,
    its base URL and the owner's access token."""
    with open(workdir / "hub.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--db", app_url,
                                   "--port", str(port), "--no-migrate"], cwd=REPO, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        server.kill()
        raise RuntimeError("hub did not start: " + (workdir / "hub.log").read_text())
    token = httpx.post(url + "/api/v1/auth/login", timeout=30,
                       json={"email": email, "password": password}).json()["access_token"]
    return server, url, token


def stop_hub(server: subprocess.Popen[bytes] | None, workdir: Path, database: str,
             emit: Callable[..., None], marks: tuple[str, ...]) -> None:
    """Stop the hub, drop its database, keep its log (reported with ``emit``) when a line
    holds one of ``marks``, and remove the work folder."""
    if server is not None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    drop_database(database)
    log = workdir / "hub.log"
    if log.exists() and any(mark in log.read_text(errors="replace") for mark in marks):
        kept = Path(tempfile.gettempdir()) / f"{workdir.name}-hub.log"
        shutil.copy(log, kept)
        emit(metric="hub_errors_logged", log=str(kept))
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--paced-fractions", default="0.5,0.75,0.9",
                        help="offered rates of the paced runs, as fractions of the capacity")
    parser.add_argument("--paced-seconds", type=float, default=30)
    parser.add_argument("--routes", action="store_true",
                        help="also each route of the mix alone (CPU per request)")
    parser.add_argument("--py-spy", metavar="PATH", default="",
                        help="py-spy record the hub during the tenant read (raw stacks)")
    parser.add_argument("--py-spy-route", metavar="PATH_PART", default="",
                        help="record during that route of --routes instead, or 'mix': the "
                             "closed 1,000-connection phase")
    parser.add_argument("--skip-mix", action="store_true", help="no 1,000-connection phases")
    parser.add_argument("--pool-size", type=int, default=16,
                        help="POS_HUB_DB_POOL_SIZE of the hub (the CPU phase has 16 clients)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="CPU phase: rounds of (trivial, the three tenant reads)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:  # 1,000 sockets in wrk and in the hub
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < args.connections + 200:
        raise SystemExit(f"open-file limit {hard} < {args.connections + 200}: raise ulimit -n")

    workdir = Path(tempfile.mkdtemp(prefix="bench-hub-wrk-"))
    name = f"bench_hub_wrk_{uuid.uuid4().hex[:8]}"
    DATABASE[0] = name
    server: subprocess.Popen[bytes] | None = None
    try:
        admin_url, app_url, system_url = setup_database(name)
        email, password = "owner@bench.test", "bench-password-1"
        create_tenant(admin_url, email, password)
        port = free_port()
        env = {**os.environ, "POS_HUB_JWT_SECRET": "bench-Jw5kR9tM2xQ7vN4bZ8cL3pH6sD1fGaE",
               "POS_HUB_PIN_KEY": "bench-pin-Vb8nQ3xL6tR1mZ9kW4cH7yJ2dF5gS0",
               "POS_HUB_DATA_DIR": str(workdir), "POS_HUB_DB_SYSTEM_URL": system_url,
               "POS_HUB_REDEEM_MAX_PER_IP": "100000",
               # as many pooled connections as the CPU phase has clients: a smaller pool
               # closes its overflow connections as they come back and opens new ones (TLS
               # and all), a quarter of a fast tenant read's CPU (docs/scaling.md)
               "POS_HUB_DB_POOL_SIZE": str(args.pool_size)}
        server, base, token = start_hub(workdir, app_url, port, env, email, password)
        with httpx.Client(base_url=base, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            outlets = [client.post("/api/v1/outlets", json={
                "name": f"Outlet {i:03d}", "timezone": "Asia/Jakarta"}).json()["id"]
                for i in range(args.outlets)]
            credentials = [enroll(client, outlet) for outlet in outlets]
            cursors = [caught_up_cursor(client, c) for c in credentials]
        month = date.today().replace(day=1).isoformat()
        today = date.today().isoformat()
        load = os.getloadavg()[0]
        emit(metric="setup", outlets=len(outlets), cpus=os.cpu_count(), load_average=load)

        opts = {"seconds": 2, "connections": 16, "threads": 1}
        cpu_targets = (("trivial", [(1, "", "/")]),
                       # the fast read path (hub.db.Database.reader: asyncpg, no ORM)
                       ("tenant_read", [(1, token, "/api/v1/outlets")]),
                       ("tenant_row", [(1, token, "/api/v1/tenant")]),
                       # one row on the ORM session path, for comparison
                       ("tenant_read_orm", [(1, token, "/api/v1/brands")]))
        for _, targets in cpu_targets:
            wrk(base, targets, workdir, **opts)  # warm-up
        cpu: dict[str, dict[str, Any]] = {}
        for _ in range(args.rounds):  # interleaved, so a change in the machine's load hits all
            for target, targets in cpu_targets:
                spy = (py_spy(server.pid, args.seconds, args.py_spy)
                       if args.py_spy and not args.py_spy_route and target == "tenant_read"
                       and target not in cpu else None)
                figures = measured(server.pid, base, targets, workdir, seconds=args.seconds,
                                   connections=16, threads=1)
                if spy is not None:
                    spy.wait(timeout=60)
                emit(metric="cpu", target=target, connections=16, **figures)
                total = cpu.setdefault(target, {"requests": 0, "hub_cpu_s": 0.0,
                                                "pg_cpu_s": 0.0})
                total["requests"] += figures["requests"]
                total["hub_cpu_s"] += figures["hub_cpu_s"]
                total["pg_cpu_s"] += figures["pg_cpu_s"]
        for total in cpu.values():
            total["hub_cpu_ms_per_request"] = round(
                total["hub_cpu_s"] * 1000 / max(total["requests"], 1), 3)
            total["pg_cpu_ms_per_request"] = round(
                total["pg_cpu_s"] * 1000 / max(total["requests"], 1), 3)
        ratio = round(cpu["tenant_read"]["hub_cpu_ms_per_request"]
                      / cpu["trivial"]["hub_cpu_ms_per_request"], 2)
        ratio_orm = round(cpu["tenant_read_orm"]["hub_cpu_ms_per_request"]
                          / cpu["trivial"]["hub_cpu_ms_per_request"], 2)
        ratio_row = round(cpu["tenant_row"]["hub_cpu_ms_per_request"]
                          / cpu["trivial"]["hub_cpu_ms_per_request"], 2)
        emit(metric="cpu_ratio", tenant_read_to_trivial=ratio,
             tenant_row_to_trivial=ratio_row, tenant_read_orm_to_trivial=ratio_orm,
             **{f"{k}_cpu_ms": v["hub_cpu_ms_per_request"] for k, v in cpu.items()},
             **{f"{k}_pg_cpu_ms": v["pg_cpu_ms_per_request"] for k, v in cpu.items()})

        # weights in hundredths of a percent: 70 % dashboard reads, 30 % pulls spread over
        # the outlets (the pulls' weights were once in these units and the reads' in
        # percent, which made the mix 98 % pulls)
        mix: list[tuple[int, str, str]] = [
            (2000, token, "/api/v1/outlets"), (2000, token, "/api/v1/fleet"),
            (2000, token, "/api/v1/tenant"),
            (1000, token, f"/api/v1/reports/sales?from={month}&to={today}")]
        for credential, cursor in zip(credentials, cursors, strict=True):
            mix.append((3000 // len(credentials), credential,
                        f"/api/v1/sync/pull?cursor={cursor}&kinds={FEED_KINDS}"))
        if args.routes:
            for _, auth, path in mix[:5]:
                seconds = max(args.seconds / 2, 2)
                spy = (py_spy(server.pid, seconds, args.py_spy)
                       if args.py_spy and args.py_spy_route and args.py_spy_route in path
                       else None)
                alone = measured(server.pid, base, [(1, auth, path)], workdir,
                                 seconds=seconds, connections=16, threads=1)
                if spy is not None:
                    spy.wait(timeout=60)
                emit(metric="route", path=path.split("?")[0], connections=16, **alone)
        if args.skip_mix:
            emit(summary=True, cpu_ratio_tenant_read_to_trivial=ratio,
                 cpu_ratio_tenant_row_to_trivial=ratio_row,
                 cpu_ratio_tenant_read_orm_to_trivial=ratio_orm)
            return
        capacity = measured(server.pid, base, mix, workdir, seconds=args.seconds,
                            connections=64, threads=args.threads)
        emit(metric="mix", mode="closed", connections=64, **capacity)
        paced_runs = {}
        for fraction in (float(f) for f in args.paced_fractions.split(",")):
            offered = capacity["rps"] * fraction
            think_ms = max(int(args.connections / offered * 1000), 1)
            paced = measured(server.pid, base, mix, workdir, seconds=args.paced_seconds,
                             connections=args.connections, threads=args.threads,
                             think_ms=think_ms)
            emit(metric="mix", mode="paced", connections=args.connections, fraction=fraction,
                 think_ms=think_ms, offered_rps=round(offered, 1), **paced)
            paced_runs[fraction] = paced
        spy = (py_spy(server.pid, args.seconds, args.py_spy)
               if args.py_spy and args.py_spy_route == "mix" else None)
        closed = measured(server.pid, base, mix, workdir, seconds=args.seconds,
                          connections=args.connections, threads=args.threads)
        if spy is not None:
            spy.wait(timeout=60)
        emit(metric="mix", mode="closed", connections=args.connections,
             shed_503=closed["statuses"].get("503", 0), **closed)
        emit(summary=True, cpu_ratio_tenant_read_to_trivial=ratio,
             cpu_ratio_tenant_row_to_trivial=ratio_row,
             cpu_ratio_tenant_read_orm_to_trivial=ratio_orm,
             trivial_cpu_ms=cpu["trivial"]["hub_cpu_ms_per_request"],
             tenant_read_cpu_ms=cpu["tenant_read"]["hub_cpu_ms_per_request"],
             tenant_read_orm_cpu_ms=cpu["tenant_read_orm"]["hub_cpu_ms_per_request"],
             capacity_rps=capacity["rps"], capacity_p50_ms=capacity["p50_ms"],
             capacity_p99_ms=capacity["p99_ms"], capacity_errors=capacity["errors"],
             closed_rps=closed["rps"], closed_shed_503=closed["statuses"].get("503", 0),
             closed_other_errors=closed["errors"] - closed["statuses"].get("503", 0),
             closed_p50_ms=closed["p50_ms"], closed_p99_ms=closed["p99_ms"],
             paced={str(f): {"rps": p["rps"], "errors": p["errors"], "p50_ms": p["p50_ms"],
                             "p95_ms": p["p95_ms"], "p99_ms": p["p99_ms"]}
                    for f, p in paced_runs.items()},
             load_average_after=os.getloadavg()[0])
    finally:
        stop_hub(server, workdir, name, emit, ('"ERROR"', 'Traceback', 'error'))


if __name__ == "__main__":
    main()
