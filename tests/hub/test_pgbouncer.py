"""PgBouncer (Debian package) in transaction mode between real ``pos-hub serve`` processes and
PostgreSQL (issue 14; docs/scaling.md).

A server connection serves another client after every transaction there, so what the hub
relies on must be transaction-local: the tenant setting is (``set_config(..., true)``), but
asyncpg's named prepared statements are not. With ``POS_HUB_DB_PGBOUNCER=true`` every
request of two tenants, reads and writes at once, succeeds and each tenant still sees only
its own rows; without it the same load fails (prepared statements of one client meet
another's connection), which is why the setting exists.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.hub.conftest import HubServer, PgRoles, TenantCtx, free_port, login

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture(scope="module")
def pgbouncer(pg_roles: PgRoles) -> Iterator[int]:
    if not os.path.exists(PGBOUNCER):
        pytest.skip("pgbouncer not installed (Debian package pgbouncer)")
    if os.geteuid() != 0:
        pytest.skip("pgbouncer is started as the postgres OS user (it refuses root)")
    # not under pytest's own temporary folder: the postgres user cannot enter that
    workdir = Path(tempfile.mkdtemp(prefix="fnbpos-pgbouncer-"))
    port = free_port()
    users = [url.split("//")[1].split("@")[0] for url in (pg_roles.app, pg_roles.system)]
    (workdir / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir}/users.txt\npool_mode = transaction\n"
        "max_client_conn = 500\ndefault_pool_size = 4\n"
        f"logfile = {workdir}/pgbouncer.log\npidfile = {workdir}/pgbouncer.pid\n")
    for path in (workdir, *workdir.iterdir()):
        shutil.chown(path, "postgres", "postgres")
    process = subprocess.Popen(["runuser", "-u", "postgres", "--", PGBOUNCER,
                                str(workdir / "pgbouncer.ini")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with psycopg.connect(f"postgresql://{users[0]}@127.0.0.1:{port}/"
                                 f"{pg_roles.app.rsplit('/', 1)[1]}", connect_timeout=2):
                break
        except psycopg.OperationalError:
            if process.poll() is not None:
                raise AssertionError((workdir / "pgbouncer.log").read_text()) from None
            time.sleep(0.1)
    yield port
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


def _via(url: str, port: int) -> str:
    return url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")


def _load(server: HubServer, tenants: list[tuple[TenantCtx, str]]) -> list[httpx.Response]:
    """60 requests per tenant at once: a write every fifth, listings and reads between."""

    def one(args: tuple[int, TenantCtx, str]) -> httpx.Response:
        n, tenant, token = args
        with server.client(token) as client:
            if n % 5 == 0:
                return client.post("/api/v1/outlets", json={"name": f"{tenant.name} {n}",
                                                            "timezone": "Asia/Jakarta"})
            return client.get(("/api/v1/outlets", "/api/v1/tenant", "/api/v1/fleet",
                               "/api/v1/brands")[n % 4])

    work = [(n, tenant, token) for n in range(60) for tenant, token in tenants]
    with ThreadPoolExecutor(32) as pool:
        return list(pool.map(one, work))


def test_transaction_pooling_keeps_every_request_and_every_tenant_apart(
        pgbouncer: int, pg_url: str, pg_roles: PgRoles,
        hub_server_factory: Callable[..., HubServer],
        tenant_factory: Callable[..., TenantCtx]) -> None:
    hub = hub_server_factory(_via(pg_roles.app, pgbouncer),
                             db_system_url=_via(pg_roles.system, pgbouncer), db_pgbouncer="true")
    alpha, bravo = tenant_factory(), tenant_factory()  # made on the usual hub, same database
    tenants = [(t, login(hub, t.email, t.password)["access_token"]) for t in (alpha, bravo)]

    responses = _load(hub, tenants)
    failed = [(r.status_code, r.text[:200]) for r in responses if r.status_code >= 300]
    assert failed == []
    for tenant, token in tenants:
        with hub.client(token) as client:
            names = [o["name"] for o in client.get("/api/v1/outlets").json()["items"]]
        assert len(names) == 12 and all(name.startswith(tenant.name) for name in names)
    health = httpx.get(hub.base_url + "/api/health", timeout=30)
    assert health.status_code == 200 and health.json()["database"] == "ok"


def test_without_the_setting_transaction_pooling_breaks_requests(
        pgbouncer: int, pg_roles: PgRoles, hub_server_factory: Callable[..., HubServer],
        tenant_factory: Callable[..., TenantCtx]) -> None:
    """Why ``POS_HUB_DB_PGBOUNCER`` exists (and that the test above can fail)."""
    hub = hub_server_factory(_via(pg_roles.app, pgbouncer),
                             db_system_url=_via(pg_roles.system, pgbouncer))
    tenant = tenant_factory()  # its token, from the usual hub, is good here too
    responses = _load(hub, [(tenant, tenant.access_token)])
    assert any(r.status_code >= 500 for r in responses)
    hub.stop()
