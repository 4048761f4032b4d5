"""Fixtures for sync tests: real hub processes (PostgreSQL), enrolled outlets, edge journals.

The hub fixtures (``pg_url``, ``hub_server``, ``hub_server_factory``, ``tenant_factory``,
``tenant``) are the hub area's own (tests/hub/conftest.py), loaded here by path so both
areas start hubs the same way. On top of them:

* ``outlet_factory(tenant, products=...)`` — an outlet with a published catalog.
* ``issue_code(tenant, outlet_id)`` — a one-time enrollment code from the hub API.
* ``EdgeJournal`` — a real edge SQLite database whose outbox is filled with realistic events
  (orders priced by shared.pricing, payments, kitchen events), pushed with the real client
  through the edge's journal store (``journal.store``, an ``edge.sync_state.EdgeStore``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("hub_test_fixtures",
                                               REPO / "tests" / "hub" / "conftest.py")
assert _spec and _spec.loader
hubfx = importlib.util.module_from_spec(_spec)
sys.modules["hub_test_fixtures"] = hubfx
_spec.loader.exec_module(hubfx)

# Re-exported so pytest registers them for tests/sync too.
pg_admin_url = hubfx.pg_admin_url
pg_url = hubfx.pg_url
hub_server_factory = hubfx.hub_server_factory
hub_server = hubfx.hub_server
sqlite_url = hubfx.sqlite_url
sqlite_hub_server = hubfx.sqlite_hub_server
tenant_factory = hubfx.tenant_factory
tenant = hubfx.tenant
other_tenant = hubfx.other_tenant
run_hub_cli = hubfx.run_cli
free_port = hubfx.free_port

from edge import outbox, sync_state
from edge.db import Database
from shared.ids import new_id
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    KitchenEvent,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentEvent,
    TaxConfig,
)
from sync.client import HubClient
from sync.protocol import EnrollRequest, EnrollResponse


def publish_catalog(tenant_ctx: Any, products: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Create a category and products in the tenant's brand and publish it; return products."""
    client = tenant_ctx.client
    category = client.post("/api/v1/catalog/categories",
                           json={"brand_id": tenant_ctx.brand_id, "name": f"Mains {uuid.uuid4().hex[:4]}"})
    assert category.status_code == 201, category.text
    made = []
    for name, price in products:
        product = client.post("/api/v1/catalog/products", json={
            "brand_id": tenant_ctx.brand_id, "category_id": category.json()["id"],
            "name": name, "price": price})
        assert product.status_code == 201, product.text
        made.append(product.json())
    published = client.post(f"/api/v1/brands/{tenant_ctx.brand_id}/publish")
    assert published.status_code in (200, 201), published.text
    return made


@pytest.fixture
def outlet_factory() -> Callable[..., dict[str, Any]]:
    def factory(tenant_ctx: Any, name: str | None = None, **fields: Any) -> dict[str, Any]:
        return tenant_ctx.create_outlet(name or f"Outlet {uuid.uuid4().hex[:6]}", **fields)
    return factory


def issue_code(tenant_ctx: Any, outlet_id: str, ttl_minutes: int | None = None,
               client: httpx.Client | None = None) -> httpx.Response:
    body = {"ttl_minutes": ttl_minutes} if ttl_minutes else {}
    return (client or tenant_ctx.client).post(f"/api/v1/outlets/{outlet_id}/enrollment-codes",
                                              json=body)


def enroll(base_url: str, code: str, device_key: str | None = None) -> EnrollResponse:
    """Redeem a code the way the edge does (the real client against the real hub)."""
    async def go() -> EnrollResponse:
        async with HubClient(base_url) as client:
            return await client.enroll(EnrollRequest(code=code,
                                                      device_key=device_key or "dk_" + uuid.uuid4().hex))
    return asyncio.run(go())


class EdgeJournal:
    """A real edge database (all migrations) with an outbox, for driving the hub directly."""

    def __init__(self, path: Path, outlet_id: str, tax: TaxConfig | None = None) -> None:
        self.db = Database(path)
        self.outlet_id = outlet_id
        self.tax = tax or TaxConfig()
        self.db.write_blocking(sync_state.ensure_journal)
        self.number = 0

    def close(self) -> None:
        self.db.close()

    def order(self, lines: list[tuple[str, int, int]], status: str = "placed",
              order_id: str | None = None, **overrides: Any) -> Order:
        """An order priced by shared.pricing; lines are (name, unit_price, qty)."""
        totals = price_order([PricedLine(base_price=p, qty=q) for _, p, q in lines], self.tax)
        now = datetime.now(UTC)
        self.number += 1
        values: dict[str, Any] = {
            "id": order_id or new_id(), "outlet_id": self.outlet_id, "number": self.number,
            "business_day": now.date().isoformat(), "type": "takeaway", "status": status, "currency": "IDR",
            "lines": [OrderLine(id=new_id(), product_id=f"p-{name}", name=name, qty=q, unit_price=p,
                             line_total=p * q) for name, p, q in lines],
            "subtotal": totals.subtotal, "discount": 0, "service_charge": totals.service_charge,
            "tax": totals.tax, "rounding": totals.rounding, "total": totals.total, "created_at": now,
            "updated_at": now}
        values.update(overrides)
        return Order(**values)

    def append(self, *bodies: Any) -> list[int]:
        return self.db.write_blocking(lambda c: [outbox.append(c, b) for b in bodies])

    def sale(self, lines: list[tuple[str, int, int]]) -> tuple[Order, Payment]:
        """One paid order: order event, kitchen event, payment event, updated order."""
        order = self.order(lines)
        payment = Payment(id=new_id(), order_id=order.id, method="card", amount=order.total,
                          reference="ref", created_at=datetime.now(UTC))
        paid = order.__class__(**{**{f: getattr(order, f) for f in order.__struct_fields__},
                                  "paid": order.total, "payments": [payment],
                                  "status": "in_kitchen",
                                  "updated_at": datetime.now(UTC) + timedelta(milliseconds=1)})
        self.append(OrderEvent(order=order),
                    KitchenEvent(ticket_id=new_id(), order_id=order.id, station="kitchen",
                                 action="created", at=datetime.now(UTC)),
                    PaymentEvent(payment=payment), OrderEvent(order=paid))
        return paid, payment

    def head(self) -> Any:
        return self.db.read_now(outbox.head)

    def pending(self, limit: int = 1000) -> list[Any]:
        return self.db.read_now(lambda c: outbox.pending(c, self.outlet_id, limit, 10**9))

    @property
    def store(self) -> sync_state.EdgeStore:
        """The journal store the sync engine is given (no hub link: tests pass the outlet)."""
        return sync_state.EdgeStore(self.db)


@pytest.fixture
def journal_factory(tmp_path: Path) -> Iterator[Callable[..., EdgeJournal]]:
    made: list[EdgeJournal] = []

    def factory(outlet_id: str, name: str = "edge", tax: TaxConfig | None = None) -> EdgeJournal:
        journal = EdgeJournal(tmp_path / f"{name}-{len(made)}.db", outlet_id, tax)
        made.append(journal)
        return journal

    yield factory
    for journal in made:
        journal.close()


def pg_query(db_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the hub database as the superuser (bypasses RLS: for assertions only)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or time runs out."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout}s")


def run_edge_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
                 ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], cwd=REPO, check=False,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


class EdgeServer:
    """A real ``pos-edge serve`` process on a free port for a data dir (no mDNS)."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"edge-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        import time

        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "serve", "--data-dir", str(self.data_dir),
                 "--host", "127.0.0.1", "--port", str(self.port), "--no-advertise"],
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"edge exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"edge did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        import signal

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def pair(self, role: str, name: str) -> str:
        done = run_edge_cli("pair", "--data-dir", str(self.data_dir), "--role", role, "--name", name)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1].strip()

    def call(self, method: str, path: str, token: str, json: Any = None) -> Any:
        response = httpx.request(method, self.url + path, json=json, timeout=15,
                                 headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code} {response.text}")
        return response.json() if response.content else None

    def login(self, device_token: str, pin: str) -> str:
        return str(self.call("POST", "/api/v1/auth/login", device_token, {"pin": pin})["access_token"])
