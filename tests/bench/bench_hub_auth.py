"""Benchmark: what authentication costs the hub, as throughput ratios.

Starts one real ``pos-hub serve`` (uvicorn, one process) on a fresh PostgreSQL database
(dropped at the end), creates a tenant with ``pos-hub create-tenant``, logs in, then drives
``--concurrency`` keep-alive HTTP clients for ``--seconds`` against each target:

* ``baseline``: ``GET /`` — no token, no database (a redirect): the server's floor;
* ``auth``: ``GET /api/v1/me`` with the access token — JWT verification, no database;
* ``auth_db``: ``GET /api/v1/tenant`` — JWT plus a tenant read on the fast read path (one
  statement: the tenant's set_config, the token-version check, the RLS-filtered primary-key
  read; docs/scaling.md "Per request") on PostgreSQL;
* ``login``: ``POST /api/v1/auth/login`` — argon2 verification and a refresh token write.

Then, with ``--replicas N`` (default 2), it starts N-1 more ``pos-hub serve`` processes on the
same database and drives ``auth_db`` spread over all of them (the stateless-replica claim).

Prints one JSON object per line: requests/s, p50/p95 latency, the first server's CPU per
request (user + system from ``/proc``), and the ratios ``auth_vs_baseline``,
``auth_db_vs_baseline`` (throughput), ``auth_db_cpu_vs_baseline`` (CPU per request: the
issue-14 goal is ≤ 3) and ``replicas_vs_one``. Client and servers share the machine, so
absolute numbers are a floor; the ratios are the figure to compare (tests/bench/
bench_hub_wrk.py measures the same with a C client, which takes less of the cores).

    .venv/bin/python tests/bench/bench_hub_auth.py [--seconds 5] [--concurrency 16]
        [--replicas 2] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[2]
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def emit(**fields: object) -> None:
    print(json.dumps({"bench": "hub_auth", **fields}), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def drive(base_url: str | list[str], method: str, path: str, headers: dict[str, str],
                body: dict[str, str] | None, seconds: float, concurrency: int,
                expect: int) -> dict[str, float]:
    """Closed loop: ``concurrency`` workers, each spread round-robin over the base URLs."""
    bases = [base_url] if isinstance(base_url, str) else base_url
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=b, headers=headers, limits=limits, timeout=30)
               for b in bases]
    try:
        async def worker(index: int) -> None:
            nonlocal errors
            client = clients[index % len(clients)]
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.request(method, path, json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != expect:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    latencies.sort()
    return {"requests": len(latencies), "errors": errors,
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file instead")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-hub-auth-"))
    db_name = f"bench_hub_auth_{uuid.uuid4().hex[:8]}"
    if args.sqlite:
        db_url = f"sqlite:///{workdir / 'hub.db'}"
    else:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        db_url = f"postgresql://postgres@127.0.0.1:5432/{db_name}"
    env = {**os.environ, "POS_HUB_JWT_SECRET": "bench-Jw5kR9tM2xQ7vN4bZ8cL3pH6sD1fG",
           "POS_HUB_DATA_DIR": str(workdir), "POS_HUB_LOGIN_MAX_FAILURES_PER_IP": "1000000",
           "POS_HUB_LOGIN_MAX_FAILURES_PER_ACCOUNT": "1000000"}
    hub = [sys.executable, "-m", "hub"]
    servers: list[subprocess.Popen[bytes]] = []

    def start_server() -> str:
        port = free_port()
        servers.append(subprocess.Popen([*hub, "serve", "--db", db_url, "--port", str(port),
                                         "--no-migrate"], cwd=REPO, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("hub did not start")

    try:
        subprocess.run([*hub, "migrate", "--db", db_url], cwd=REPO, env=env, check=True,
                       capture_output=True)
        subprocess.run([*hub, "create-tenant", "--name", "Bench", "--admin-email", "b@bench.test",
                        "--admin-password", "bench-password", "--db", db_url], cwd=REPO, env=env,
                       check=True, capture_output=True)
        base = start_server()
        login = {"email": "b@bench.test", "password": "bench-password"}
        token = httpx.post(base + "/api/v1/auth/login", json=login).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        backend = "sqlite" if args.sqlite else "postgresql"
        results = {}
        targets = [("baseline", "GET", "/", {}, None, 302),
                   ("auth", "GET", "/api/v1/me", auth, None, 200),
                   ("auth_db", "GET", "/api/v1/tenant", auth, None, 200),
                   ("login", "POST", "/api/v1/auth/login", {}, login, 200)]
        for name, method, path, headers, body, expect in targets:
            asyncio.run(drive(base, method, path, headers, body, 1, args.concurrency, expect))  # warm
            before = cpu_seconds(servers[0].pid)
            result = asyncio.run(drive(base, method, path, headers, body, args.seconds,
                                       args.concurrency, expect))
            result["cpu_ms_per_request"] = round(
                (cpu_seconds(servers[0].pid) - before) * 1000 / max(result["requests"], 1), 3)
            results[name] = result
            emit(target=name, path=path, backend=backend, concurrency=args.concurrency, **result)
        bases = [base] + [start_server() for _ in range(args.replicas - 1)]
        asyncio.run(drive(bases, "GET", "/api/v1/tenant", auth, None, 1, args.concurrency, 200))
        spread = asyncio.run(drive(bases, "GET", "/api/v1/tenant", auth, None, args.seconds,
                                   args.concurrency, 200))
        emit(target="auth_db_replicas", replicas=len(bases), backend=backend,
             concurrency=args.concurrency, **spread)
        emit(summary=True, backend=backend, replicas=len(bases),
             replicas_vs_one=round(spread["rps"] / results["auth_db"]["rps"], 3),
             auth_vs_baseline=round(results["auth"]["rps"] / results["baseline"]["rps"], 3),
             auth_db_vs_baseline=round(results["auth_db"]["rps"] / results["baseline"]["rps"], 3),
             auth_db_cpu_vs_baseline=round(results["auth_db"]["cpu_ms_per_request"]
                                           / results["baseline"]["cpu_ms_per_request"], 2),
             login_vs_baseline=round(results["login"]["rps"] / results["baseline"]["rps"], 4),
             cpus=os.cpu_count())
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)
        if not args.sqlite:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
