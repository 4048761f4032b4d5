"""PgBouncer (Debian package) in transaction mode between real ``pos-hub serve`` processes and
PostgreSQL (issue 14; docs/scaling.md).

A server connection serves another client after every transaction there, so what the hub
relies on must be transaction-local: the tenant setting is (``set_config(..., true)``), but
asyncpg's named prepared statements are not. With ``POS_HUB_DB_PGBOUNCER=true`` every
request of two tenants, reads and writes at once, succeeds and each tenant still sees only
its own rows; without it the same load fails (prepared statements of one client meet
another's connection), which is why the setting exists. The sync push's and pull's fast
paths (``Database.writer``, ``Database.system_statement``) are taken there too: every
statement of theirs runs inside an explicit transaction, so it keeps one server connection.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from hub import pull_fast
from hub.db import Database
from sync.client import HubClient
from sync.protocol import PullResponse
from sync.push import PushOutcome, push_once
from tests.hub.conftest import HubServer, PgRoles, TenantCtx, free_port, login
from tests.sync.conftest import EdgeJournal, enroll, issue_code, pg_query, publish_catalog

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


KINDS = ("catalog", "staff", "settings")
ROUNDS = 4  # per outlet: two sales (8 journal entries) pushed, then a pull to the head


def _sync_outlet(hub: HubServer, outlet_id: str, credential: str, path: Path
                 ) -> tuple[list[PushOutcome], list[PullResponse], int, list[str]]:
    """An edge's rounds of push and pull with the real client (its own thread and loop):
    the outcomes, the pages, the entries appended and the ids of the orders sold."""
    journal = EdgeJournal(path, outlet_id)  # made here: the edge database is per thread

    async def go() -> tuple[list[PushOutcome], list[PullResponse]]:
        outcomes, pages, cursor = [], [], 0
        async with HubClient(hub.base_url, credential) as client:
            for n in range(ROUNDS):
                for m in range(2):
                    orders.append(journal.sale([("Soup", 20_000, n + m + 1)])[0].id)
                outcomes.append(await push_once(journal.store, client, outlet_id,
                                                max_events=500, max_bytes=10**6))
                while True:
                    page = await client.pull(cursor, kinds=KINDS)
                    pages.append(page)
                    cursor = page.cursor
                    if not page.more:
                        break
        return outcomes, pages

    orders: list[str] = []
    try:
        outcomes, pages = asyncio.run(go())
        return outcomes, pages, journal.head()["acked_seq"], orders
    finally:
        journal.close()


def _fast_pushes(log: str) -> int:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert not [line for line in lines if line["msg"].startswith("fast push path failed")]
    return sum(1 for line in lines if line["msg"] == "push applied"
               and line.get("path") == "fast")


def test_sync_of_two_tenants_takes_the_fast_paths_and_stays_apart(
        pgbouncer: int, pg_url: str, pg_roles: PgRoles,
        hub_server_factory: Callable[..., HubServer],
        tenant_factory: Callable[..., TenantCtx], tmp_path: Path) -> None:
    """Three outlets of each of two tenants push and pull at once through a hub behind
    PgBouncer (4 server connections per role, so each serves both tenants in turn): every
    order lands once, in its own tenant; each outlet pulls its own tenant's menu; the pushes
    took the fast path (the hub's log), and so do the pulls (``pull_fast.pull`` through the
    same PgBouncer answers every outlet's pull itself, all at once on one event loop)."""
    hub = hub_server_factory(_via(pg_roles.app, pgbouncer),
                             db_system_url=_via(pg_roles.system, pgbouncer), db_pgbouncer="true")
    outlets: list[tuple[TenantCtx, str, str]] = []
    for tenant in (tenant_factory(), tenant_factory()):
        made = [tenant.create_outlet(f"{tenant.name} {n}") for n in range(3)]
        publish_catalog(tenant, [(f"{tenant.name} Soup", 20_000)])
        for outlet in made:
            code = issue_code(tenant, outlet["id"])
            assert code.status_code == 201, code.text
            identity = enroll(hub.base_url, code.json()["code"])
            assert identity.tenant_id == tenant.id
            outlets.append((tenant, outlet["id"], identity.credential))

    with ThreadPoolExecutor(len(outlets)) as pool:
        results = list(pool.map(
            lambda o: _sync_outlet(hub, o[1], o[2], tmp_path / f"{o[1]}.db"), outlets))

    for (tenant, outlet_id, _), (outcomes, pages, acked, orders) in zip(outlets, results,
                                                                         strict=True):
        assert all(o.ok for o in outcomes) and acked == ROUNDS * 2 * 4
        rows = pg_query(pg_url, "SELECT id, tenant_id FROM orders WHERE outlet_id = %s",
                        outlet_id)
        assert sorted(rows) == sorted((order, tenant.id) for order in orders)
        assert pg_query(pg_url, "SELECT count(*) FROM sync_journal WHERE outlet_id = %s"
                        " AND tenant_id = %s", outlet_id, tenant.id) == [(acked,)]
        menus = [c.catalog for p in pages for c in p.changes if c.catalog is not None]
        assert menus and {product.name for menu in menus for product in menu.products} == {
            f"{tenant.name} Soup"}
        assert pages[-1].versions.keys() >= {"catalog", "settings", "staff"}
    assert _fast_pushes(hub.log()) == len(outlets) * ROUNDS

    async def fast_pulls() -> list[tuple[PullResponse | None, Any]]:
        db = Database(_via(pg_roles.app, pgbouncer),
                      system_url=_via(pg_roles.system, pgbouncer), pool_size=4, pgbouncer=True)
        try:
            return await asyncio.gather(*(
                pull_fast.pull(db, credential, 0, False, frozenset(KINDS))
                for _ in range(3) for _, _, credential in outlets))
        finally:
            await db.dispose()

    answers = asyncio.run(fast_pulls())
    for (tenant, outlet_id, _), (page, who) in zip(outlets * 3, answers, strict=True):
        assert page is not None, "pull_fast sent the pull to the full path"
        assert (who.tenant_id, who.outlet_id) == (tenant.id, outlet_id)
        names = {p.name for c in page.changes if c.catalog for p in c.catalog.products}
        assert names == {f"{tenant.name} Soup"}
