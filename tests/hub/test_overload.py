"""Overload (issue 14): past its capacity a real ``pos-hub serve`` sheds load early with 503
``overloaded`` + ``Retry-After``, a bounded queue waits at most its timeout, health and
metrics stay answerable, and the hub serves normally once the load is gone; a database that
refuses connections is a 503 too, never a 500.

The capacity is made small and deterministic: ``max_in_flight=2``, ``max_queued=4``, an app
pool of 2 connections (opened before the test, so nothing waits for PostgreSQL to accept a
new one), and the test holds an ``ACCESS EXCLUSIVE`` lock on ``outlets`` so both admitted
outlet listings stay in flight, holding both pooled connections, until the test lets go.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import httpx
import psycopg
import pytest

from tests.hub.conftest import HubServer, PgRoles, TenantCtx, login

REQUESTS = 40
IN_FLIGHT, QUEUED = 2, 4


@pytest.fixture(scope="module")
def small_hub(pg_url: str, hub_server_factory: Callable[..., HubServer]) -> HubServer:
    return hub_server_factory(pg_url, max_in_flight=IN_FLIGHT, max_queued=QUEUED,
                              queue_timeout_seconds=1, db_pool_size=2)


def _metric(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name}{labels} missing from /metrics"
    return float(found.group(1))


def test_beyond_capacity_the_hub_sheds_early_and_health_answers(
        small_hub: HubServer, pg_url: str,
        tenant_factory: Callable[..., TenantCtx]) -> None:
    tenant = tenant_factory(server=small_hub)
    tenant.create_outlet("Only")

    def listing() -> httpx.Response:
        with small_hub.client(tenant.access_token) as client:
            client.timeout = httpx.Timeout(120)
            return client.get("/api/v1/outlets")

    # Open both pooled connections (they stay open): then the test needs no new connection
    # from a PostgreSQL server that other test runs may keep at its max_connections.
    for _ in range(50):
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: listing(), range(8)))
        metrics = httpx.get(small_hub.base_url + "/metrics", timeout=30).text
        # idle in the pool, or parked by the fast read path between reads: both open
        if (_metric(metrics, "hub_db_pool_connections", '{pool="app",state="idle"}')
                + _metric(metrics, "hub_db_pool_connections", '{pool="app",state="parked"}')) == 2:
            break
    else:
        pytest.skip("could not open 2 database connections (server at max_connections?)")

    shed_before = _metric(metrics, "hub_http_shed_total")  # the warm-up may have shed some
    with psycopg.connect(pg_url) as locker, ThreadPoolExecutor(REQUESTS) as pool:
        locker.execute("LOCK TABLE outlets IN ACCESS EXCLUSIVE MODE")
        futures = [pool.submit(listing) for _ in range(REQUESTS)]
        refused: list[httpx.Response] = []
        for future in as_completed(futures, timeout=120):
            response = future.result()
            assert response.status_code == 503, response.text  # nothing else can finish yet
            refused.append(response)
            if len(refused) == REQUESTS - IN_FLIGHT:
                break
        # Every refusal came back while the admitted requests were still stuck behind the
        # lock: they were refused before any work, not after queueing for the database.
        for response in refused:
            error = response.json()["error"]
            assert error["code"] == "overloaded"
            retry = int(response.headers["retry-after"])
            assert 1 <= retry <= 5 and error["details"]["retry_after_seconds"] == retry

        # Both pooled connections are taken and the slots full: health and metrics answer.
        health = httpx.get(small_hub.base_url + "/api/health", timeout=30)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        metrics = httpx.get(small_hub.base_url + "/metrics", timeout=30).text
        assert _metric(metrics, "hub_http_in_flight_requests") == IN_FLIGHT
        assert _metric(metrics, "hub_http_queued_requests") == 0
        assert _metric(metrics, "hub_http_in_flight_limit") == IN_FLIGHT
        assert _metric(metrics, "hub_http_shed_total") == shed_before + REQUESTS - IN_FLIGHT
        assert _metric(metrics, "hub_db_pool_connections", '{pool="app",state="in_use"}') == 2
        assert _metric(metrics, "hub_db_pool_max_connections", '{pool="app"}') == 4
        assert sum(future.done() for future in futures) == REQUESTS - IN_FLIGHT

        locker.rollback()  # let go: the admitted requests finish
        admitted = [future.result(timeout=120) for future in futures]
    statuses = sorted(response.status_code for response in admitted)
    assert statuses == [200] * IN_FLIGHT + [503] * (REQUESTS - IN_FLIGHT)
    assert all(r.json()["items"][0]["name"] == "Only" for r in admitted if r.status_code == 200)

    # Load gone: the slots were all given back, and the hub serves as before.
    assert tenant.client.get("/api/v1/outlets").status_code == 200
    metrics = httpx.get(small_hub.base_url + "/metrics", timeout=30).text
    assert _metric(metrics, "hub_http_in_flight_requests") == 0
    assert _metric(metrics, "hub_http_shed_total") == shed_before + REQUESTS - IN_FLIGHT
    shed = re.findall(r'^hub_http_requests_total\{method="GET",route="/api/v1/outlets",'
                      r'status="503"\} (\S+)$', metrics, re.MULTILINE)
    assert shed and float(shed[0]) == shed_before + REQUESTS - IN_FLIGHT


def test_a_database_out_of_connections_is_503_busy_not_500(
        pg_url: str, pg_roles: PgRoles, hub_server_factory: Callable[..., HubServer],
        tenant_factory: Callable[..., TenantCtx]) -> None:
    """PostgreSQL refusing a connection (SQLSTATE 53300: max_connections, or the role's
    CONNECTION LIMIT) answers 503 + Retry-After, which clients retry, never a 500."""
    name = pg_url.rsplit("/", 1)[1]
    app_role = f"{name}_app"
    limited = f"{name}_lim"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{limited}"')
        # the app role's rights (a member inherits them) under a 2-connection limit
        conn.execute(f'CREATE ROLE "{limited}" LOGIN CONNECTION LIMIT 2 IN ROLE "{app_role}"')
    try:
        url = f"postgresql://{limited}@127.0.0.1:5432/{name}"
        hub = hub_server_factory(url, db_system_url=pg_roles.system)
        tenant = tenant_factory()  # on the usual hub, same database and signing key
        token = login(hub, tenant.email, tenant.password)["access_token"]

        def listing() -> httpx.Response:
            with hub.client(token) as client:
                client.timeout = httpx.Timeout(120)
                return client.get("/api/v1/outlets")

        with ThreadPoolExecutor(24) as pool:
            responses = list(pool.map(lambda _: listing(), range(48)))
        statuses = {r.status_code for r in responses}
        assert statuses <= {200, 503}, [r.text for r in responses if r.status_code >= 500][:2]
        busy = [r for r in responses if r.status_code == 503]
        assert busy, "the 2-connection limit was never reached"
        assert busy[0].json()["error"]["code"] == "busy"
        assert busy[0].headers["retry-after"] == "2"
        hub.stop()
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{limited}"')
