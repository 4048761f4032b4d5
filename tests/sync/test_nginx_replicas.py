"""The documented deployment (issue 14): Debian's nginx running ``packaging/hub/
nginx-fnbpos-hub.conf`` as written (listen line, certificates and replica ports swapped) in
front of two ``pos-hub serve`` replicas on one PostgreSQL.

* the client address reaches the hub: the per-address login limit (counted in the database,
  so across replicas) stops one address and not another, and a client's own
  ``X-Forwarded-For`` does not buy it a fresh address;
* nginx's per-address limit answers 429 in the API's JSON shape, per address;
* one replica killed (SIGKILL) while an outlet pushes its journal through nginx loses no
  push: every entry is at the hub exactly once and the client saw no error.

Clients use other loopback addresses (127.0.0.2 ...) as their source, so nginx sees them as
different clients.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.client import HubClient
from sync.protocol import PushRequest
from tests.sync.conftest import enroll, free_port, issue_code, pg_query

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "packaging" / "hub" / "nginx-fnbpos-hub.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _client(source: str, base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=source))


@pytest.fixture(scope="module")
def replicas(pg_url: str, hub_server_factory: Callable[..., Any]) -> list[Any]:
    settings = {"forwarded_allow_ips": "127.0.0.1", "login_max_failures_per_account": 5}
    return [hub_server_factory(pg_url, **settings) for _ in range(2)]


@pytest.fixture(scope="module")
def nginx(replicas: list[Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.path.exists(NGINX):
        pytest.skip("nginx not installed (Debian package nginx)")
    workdir = tmp_path_factory.mktemp("nginx")
    workdir.chmod(0o777)  # worker processes may run as nobody
    port = free_port()
    site = SITE.read_text()
    for old, new in (("listen 443 ssl http2;", f"listen 127.0.0.1:{port};"),
                     ("127.0.0.1:8001", replicas[0].base_url.removeprefix("http://")),
                     ("127.0.0.1:8002", replicas[1].base_url.removeprefix("http://"))):
        assert old in site, old
        site = site.replace(old, new)
    site = "\n".join(line for line in site.splitlines() if "ssl_certificate" not in line)
    (workdir / "site.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {workdir}/{kind};" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (workdir / "nginx.conf").write_text(
        f"worker_processes 1;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{ access_log off; {temp} include {workdir}/site.conf; }}\n")
    process = subprocess.Popen([NGINX, "-c", str(workdir / "nginx.conf"), "-p", str(workdir),
                                "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise AssertionError("nginx did not answer")
    yield base
    process.send_signal(signal.SIGQUIT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_the_client_address_reaches_the_hub(nginx: str,
                                            tenant_factory: Callable[..., Any]) -> None:
    tenant = tenant_factory()
    wrong = {"email": tenant.email, "password": "not-the-password"}
    with _client("127.0.0.2", nginx) as two, _client("127.0.0.3", nginx) as three:
        for _ in range(5):
            assert two.post("/api/v1/auth/login", json=wrong).status_code == 401
        limited = two.post("/api/v1/auth/login", json=wrong)
        assert limited.status_code == 429
        assert "from this address" not in limited.json()["error"]["message"]  # the hub's, not nginx's
        # the client's own X-Forwarded-For does not make it another address
        spoofed = two.post("/api/v1/auth/login", json=wrong,
                           headers={"X-Forwarded-For": "203.0.113.9"})
        assert spoofed.status_code == 429
        # another address, same account: not limited (the limit is per address and account)
        assert three.post("/api/v1/auth/login", json=wrong).status_code == 401


def test_nginx_limits_each_address_with_a_json_429(nginx: str) -> None:
    with _client("127.0.0.4", nginx) as four, _client("127.0.0.5", nginx) as five:
        statuses = [four.get("/api/v1/auth/login").status_code for _ in range(20)]
        assert 405 in statuses and 429 in statuses  # the hub's 405, then nginx's 429
        refused = four.get("/api/v1/auth/login")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"  # the API's shape and code
        assert "from this address" in refused.json()["error"]["message"]  # nginx's
        assert refused.headers["retry-after"] == "1"
        assert five.get("/api/v1/auth/login").status_code == 405  # another address
        assert five.get("/api/health").status_code == 200


def test_administration_answers_only_the_allowed_networks(
        nginx: str, tenant_factory: Callable[..., Any]) -> None:
    tenant = tenant_factory()
    with _client("127.0.0.1", nginx) as office, _client("127.0.0.6", nginx) as outside:
        token = office.post("/api/v1/auth/login", json={"email": tenant.email,
                                                         "password": tenant.password}
                            ).json()["access_token"]
        owner = {"Authorization": f"Bearer {token}"}
        assert office.get("/api/v1/users", headers=owner).status_code == 200
        assert office.get("/metrics").status_code == 200
        for path in ("/api/v1/users", "/api/v1/users/x", "/api/v1/tenant", "/metrics"):
            refused = outside.get(path, headers=owner)  # a valid owner token, wrong network
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "admin_network_only"
        # the rest of the API and the health check still answer that address
        assert outside.get("/api/v1/outlets", headers=owner).status_code == 200
        assert outside.get("/api/health").status_code == 200
        assert outside.get("/api/v1/usersfoo", headers=owner).status_code == 404  # not a prefix match


def test_a_replica_killed_mid_pushes_loses_no_push(
        nginx: str, replicas: list[Any], pg_url: str, tenant: Any,
        outlet_factory: Callable[..., Any], journal_factory: Callable[..., Any]) -> None:
    outlet = outlet_factory(tenant)
    credential = enroll(nginx, issue_code(tenant, outlet["id"]).json()["code"]).credential
    journal = journal_factory(outlet["id"])
    sales = [journal.sale([("Ayam Bakar", 35_000, 1 + n % 3)]) for n in range(40)]
    entries = journal.pending()
    epoch = entries[0].epoch
    batches = [entries[i:i + 2] for i in range(0, len(entries), 2)]
    halfway = threading.Event()

    def kill_first_replica() -> None:
        halfway.wait(timeout=120)
        replicas[0].process.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_first_replica)
    killer.start()

    async def push_all() -> tuple[list[Any], list[str]]:
        replies, errors = [], []
        async with HubClient(nginx, credential) as client:
            for n, batch in enumerate(batches):
                if n == len(batches) // 3:
                    halfway.set()
                for _ in range(5):  # an edge resends a batch the hub did not acknowledge
                    try:
                        replies.append(await client.push(PushRequest(
                            outlet_id=outlet["id"], epoch=epoch, entries=batch)))
                        break
                    except Exception as exc:  # noqa: BLE001 - counted, then resent
                        errors.append(repr(exc))
                        await asyncio.sleep(0.5)
        return replies, errors

    try:
        replies, errors = asyncio.run(push_all())
    finally:
        halfway.set()
        killer.join()
    assert replicas[0].process.wait(timeout=10) == -signal.SIGKILL
    assert errors == []  # nginx sent what the dead replica dropped to the other one
    assert len(replies) == len(batches) and all(r.status == "ok" for r in replies)
    assert max(r.acked_seq for r in replies) == len(entries)
    total = sum(order.total for order, _ in sales)
    assert pg_query(pg_url, "SELECT count(*), sum(total) FROM orders WHERE outlet_id = %s",
                    outlet["id"]) == [(40, total)]
    assert pg_query(pg_url, "SELECT count(*), max(seq) FROM sync_journal WHERE outlet_id = %s",
                    outlet["id"]) == [(len(entries), len(entries))]
