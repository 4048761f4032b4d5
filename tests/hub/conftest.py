"""Fixtures for hub tests, by name.

* ``pg_url`` — a fresh PostgreSQL database on 127.0.0.1:5432 for this test session, as the
  test's superuser sees it (every tenant's rows; dropped at the end). ``pg_admin_url`` is the
  same URL. The database is set up the way docs/operations.md tells a DBA to: three roles of
  its own (``pg_roles``: the owner that migrates, the app role under RLS, the BYPASSRLS
  system role; names derived from the database's, so parallel runs never share or drop each
  other's roles), migrated as the owner.
* ``sqlite_url`` — a migrated SQLite file for this test session.
* ``hub_server`` / ``sqlite_hub_server`` — a real ``pos-hub serve`` process (uvicorn on a free
  port) on that database, shared by the session; on PostgreSQL it logs in as the app and
  system roles, as in production (``HubServer.db_url`` stays the superuser's URL). ``hub_server_factory(db_url, **env)`` starts
  more (e.g. with other settings, or a second replica); they are stopped at the end.
* ``tenant_factory(server=None, name=None)`` — creates a tenant with the service behind
  ``pos-hub create-tenant`` (called in-process: a CLI start per tenant would dominate the
  suite's time; tests/hub/test_hub_cli.py covers the command), logs its owner in over HTTP and
  returns a ``TenantCtx`` with tokens, an authenticated ``httpx.Client`` and helpers. ``tenant`` / ``other_tenant`` are two ready
  tenants on ``hub_server``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from hub import tenancy
from hub.db import Database, run_migrations

REPO = Path(__file__).resolve().parents[2]
POS_HUB = [sys.executable, "-m", "hub"]
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
JWT_SECRET = "test-secret-Qm7vR2kX9pL4wZ8nT1cY6hB3jD5fG0sA"  # random-looking: weak keys are refused
PIN_KEY = "test-pin-key-Vb8nQ3xL6tR1mZ9kW4cH7yJ2dF5gS0aE"  # replicas must share one (hub.staff_pins)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(*args: str, db_url: str, check: bool = True, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run ``pos-hub <args> --db <db_url>`` as a user would."""
    full_env = {**os.environ, "POS_HUB_JWT_SECRET": JWT_SECRET, **(env or {})}
    result = subprocess.run([*POS_HUB, *args, "--db", db_url], cwd=REPO, env=full_env,
                            check=False, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"pos-hub {args[0]} failed ({result.returncode}): {result.stderr}")
    return result


@dataclass(frozen=True)
class PgRoles:
    """Login URLs of one test database's three roles (see docs/operations.md, Database)."""

    owner: str
    app: str
    system: str


_TEST_DB_PREFIX = "hub_test_"


def pg_roles_for(db_url: str) -> PgRoles | None:
    """The role URLs of a database made by ``pg_admin_url`` (None for any other URL)."""
    if not db_url.startswith("postgresql://postgres@127.0.0.1:5432/" + _TEST_DB_PREFIX):
        return None
    name = db_url.rsplit("/", 1)[1]
    return PgRoles(*(f"postgresql://{name}_{kind}@127.0.0.1:5432/{name}"
                     for kind in ("owner", "app", "system")))


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    name = f"{_TEST_DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    owner, app, system = (f"{name}_{kind}" for kind in ("owner", "app", "system"))
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        # What the DBA does once (docs/operations.md); these names belong to this run alone.
        conn.execute(f'CREATE ROLE "{owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{app}" LOGIN')
        conn.execute(f'CREATE ROLE "{system}" LOGIN BYPASSRLS')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    roles = pg_roles_for(url)
    assert roles is not None
    # What `pos-hub migrate` runs with the documented URLs (test_security_roles.py runs it).
    run_migrations(roles.owner, grant_to=[app, system])
    yield url
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in (app, system, owner):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> str:
    """The test database as the superuser sees it (hub servers log in as its roles)."""
    return pg_admin_url


@pytest.fixture(scope="session")
def pg_roles(pg_admin_url: str) -> PgRoles:
    roles = pg_roles_for(pg_admin_url)
    assert roles is not None
    return roles


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("hub-sqlite") / "hub.db"
    url = f"sqlite:///{path}"
    run_migrations(url)
    return url


@dataclass
class HubServer:
    base_url: str
    db_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_hub(db_url: str, workdir: Path, **env: Any) -> HubServer:
    port = free_port()
    log_path = workdir / f"hub-{port}.log"
    roles = pg_roles_for(db_url)
    serve_url = roles.app if roles else db_url
    if roles:
        env = {"db_system_url": roles.system, **env}
    full_env = {**os.environ, "POS_HUB_JWT_SECRET": JWT_SECRET, "POS_HUB_PIN_KEY": PIN_KEY,
                "POS_HUB_DATA_DIR": str(workdir / "data"),
                # every test client is 127.0.0.1: keep the per-IP limits out of other tests' way
                "POS_HUB_LOGIN_MAX_FAILURES_PER_IP": "100000", "POS_HUB_REDEEM_MAX_PER_IP": "100000",
                # small pools: several test workers (and other runs) share one PostgreSQL whose
                # max_connections is 100; each hub may hold 2 x pool (+ its system pool)
                "POS_HUB_DB_POOL_SIZE": "4",
                **{f"POS_HUB_{k.upper()}": str(v) for k, v in env.items()}}
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([*POS_HUB, "serve", "--db", serve_url, "--port", str(port),
                                    "--no-migrate"], cwd=REPO, env=full_env, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    server = HubServer(base_url=f"http://127.0.0.1:{port}", db_url=db_url, process=process,
                       log_path=log_path)
    # Generous: on a loaded machine with several test workers a start can take many seconds;
    # polling returns as soon as the hub answers.
    started = time.monotonic()
    while time.monotonic() < started + 90:
        if process.poll() is not None:
            raise AssertionError(f"pos-hub serve exited early:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"pos-hub serve did not answer GET {server.base_url}/api/health with "
                         f"200 within {time.monotonic() - started:.0f} s:\n{server.log()}")


@pytest.fixture(scope="session")
def hub_server_factory(tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[Callable[..., HubServer]]:
    servers: list[HubServer] = []

    def factory(db_url: str, **env: Any) -> HubServer:
        server = start_hub(db_url, tmp_path_factory.mktemp("hub-server"), **env)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def hub_server(pg_url: str, hub_server_factory: Callable[..., HubServer]) -> HubServer:
    return hub_server_factory(pg_url)


@pytest.fixture(scope="session")
def sqlite_hub_server(sqlite_url: str, hub_server_factory: Callable[..., HubServer]) -> HubServer:
    return hub_server_factory(sqlite_url)


@dataclass
class TenantCtx:
    id: str
    name: str
    email: str
    password: str
    server: HubServer
    access_token: str
    refresh_token: str
    client: httpx.Client
    brand_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def create_outlet(self, name: str = "Outlet", timezone: str = "Asia/Jakarta",
                      **fields: Any) -> dict[str, Any]:
        # The tenant's first brand unless told otherwise: a test sharing this tenant may have
        # added a second brand, and then the hub requires brand_id.
        if self.brand_id:
            fields.setdefault("brand_id", self.brand_id)
        response = self.client.post("/api/v1/outlets",
                                    json={"name": name, "timezone": timezone, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def create_user(self, role: str, outlet_ids: list[str] | None = None,
                    password: str = "password-123") -> tuple[dict[str, Any], httpx.Client]:
        """Create a user of this tenant and return it with a logged-in client."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@{self.name.lower()}.test"
        response = self.client.post("/api/v1/users", json={
            "email": email, "password": password, "role": role, "outlet_ids": outlet_ids or []})
        assert response.status_code == 201, response.text
        tokens = login(self.server, email, password)
        return response.json(), self.server.client(tokens["access_token"])


def login(server: HubServer, email: str, password: str) -> dict[str, Any]:
    response = httpx.post(server.base_url + "/api/v1/auth/login",
                          json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def create_tenant(db_url: str, name: str, email: str, password: str) -> str:
    """What ``pos-hub create-tenant`` does, in-process (on its own thread and event loop)."""
    async def create() -> str:
        db = Database(db_url, pool_size=1)
        try:
            async with db.system() as session:
                return (await tenancy.create_tenant(session, name, email, password)).id
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, create()).result()


class OwnerLogin(httpx.Auth):
    """The tenant owner's bearer token, logged in again when the hub says it expired: a
    session-wide tenant outlives the 15-minute access token in a long test run."""

    requires_response_body = True

    def __init__(self, server: HubServer, email: str, password: str, token: str) -> None:
        self.server, self.email, self.password, self.token = server, email, password, token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401 and b"token expired" in response.read():
            self.token = login(self.server, self.email, self.password)["access_token"]
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


@pytest.fixture(scope="session")
def tenant_factory(hub_server: HubServer) -> Iterator[Callable[..., TenantCtx]]:
    clients: list[httpx.Client] = []

    def factory(server: HubServer | None = None, name: str | None = None) -> TenantCtx:
        server = server or hub_server
        name = name or f"T{uuid.uuid4().hex[:10]}"
        email, password = f"owner@{name.lower()}.test", "owner-password-1"
        tenant_id = create_tenant(server.db_url, name, email, password)
        tokens = login(server, email, password)
        client = httpx.Client(base_url=server.base_url, timeout=30,
                              auth=OwnerLogin(server, email, password, tokens["access_token"]))
        clients.append(client)
        brands = client.get("/api/v1/brands").json()["items"]
        return TenantCtx(id=tenant_id, name=name, email=email, password=password, server=server,
                         access_token=tokens["access_token"], refresh_token=tokens["refresh_token"],
                         client=client, brand_id=brands[0]["id"])

    yield factory
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def tenant(tenant_factory: Callable[..., TenantCtx]) -> TenantCtx:
    return tenant_factory(name="Alpha")


@pytest.fixture(scope="session")
def other_tenant(tenant_factory: Callable[..., TenantCtx]) -> TenantCtx:
    return tenant_factory(name="Bravo")
