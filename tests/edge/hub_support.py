"""Hub-and-box helpers for edge tests that need a real hub: the hub area's fixtures
(tests/hub/conftest.py, loaded once by path as tests/sync does), and ``Box``: a provisioned
outlet box driven through `pos-edge` and its HTTP API.

Import the fixtures a test module needs by name (pytest finds them in the module):
``from tests.edge.hub_support import hub_server, tenant_factory, ...``.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.edge.edge_server import POS_EDGE, free_port

__all__ = ["FAST_SYNC", "Box", "cli", "code_for", "hub_server", "hub_server_factory",
           "menu_and_outlet", "pg", "pg_admin_url", "pg_url", "sqlite_hub_server", "sqlite_url",
           "tenant_factory", "wait_for"]

REPO = Path(__file__).resolve().parents[2]


def _hub_fixtures() -> Any:
    loaded = sys.modules.get("hub_test_fixtures")
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location("hub_test_fixtures",
                                                  REPO / "tests" / "hub" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["hub_test_fixtures"] = module
    spec.loader.exec_module(module)
    return module


hubfx = _hub_fixtures()
pg_admin_url = hubfx.pg_admin_url
pg_url = hubfx.pg_url
sqlite_url = hubfx.sqlite_url
hub_server_factory = hubfx.hub_server_factory
hub_server = hubfx.hub_server
sqlite_hub_server = hubfx.sqlite_hub_server
tenant_factory = hubfx.tenant_factory

FAST_SYNC = {"POS_SYNC_TICK": "0.1", "POS_SYNC_INTERVAL": "0.5", "POS_SYNC_PULL_INTERVAL": "0.5",
             "POS_SYNC_MIN_BACKOFF": "0.1", "POS_SYNC_MAX_BACKOFF": "0.5",
             "POS_EDGE_ADVERTISE": "false"}


def cli(*args: str, check: bool = True, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([POS_EDGE, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**os.environ, **(env or {})}, check=False)
    if check:
        assert done.returncode == 0, f"pos-edge {args[0]}: {done.stdout}\n{done.stderr}"
    return done


def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not reached within {timeout} s")


def pg(db_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


class Box:
    """One outlet box: a data folder and, while it runs, a `pos-edge serve` process."""

    def __init__(self, data_dir: Path, sync: bool = True) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = dict(FAST_SYNC) if sync else {**FAST_SYNC, "POS_SYNC_ENABLED": "false"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.log"

    def start(self, sync: bool = True, env: dict[str, str] | None = None) -> None:
        """Serve; ``env`` replaces the fast sync settings (e.g. the defaults: ``{}``)."""
        base = dict(FAST_SYNC) if env is None else {"POS_EDGE_ADVERTISE": "false", **env}
        self.env = base if sync else {**base, "POS_SYNC_ENABLED": "false"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [POS_EDGE, "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-advertise"], stdout=log, stderr=subprocess.STDOUT,
                cwd=REPO, env={**os.environ, **self.env})

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"edge exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                return httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, "edge healthy", timeout=30)

    def kill(self) -> None:
        """The box dies: kill -9, nothing runs on the way out."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        answer = httpx.request(method, self.url + path, json=body, timeout=15,
                               headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code < 400, f"{method} {path} -> {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def pair(self, role: str) -> str:
        return cli("pair", "--data-dir", str(self.data_dir), "--role", role, "--name",
                   f"{role}-{uuid.uuid4().hex[:4]}").stdout.strip().splitlines()[-1]

    def login(self, device: str, pin: str) -> str:
        return str(self.call("POST", "/api/v1/auth/login", device, {"pin": pin})["access_token"])

    def sell(self, staff: str, product_id: str, qty: int = 1) -> dict[str, Any]:
        order = self.call("POST", "/api/v1/orders", staff, {
            "type": "takeaway", "lines": [{"product_id": product_id, "qty": qty}]})
        return self.call("POST", f"/api/v1/orders/{order['id']}/payments", staff,
                         {"method": "card", "amount": order["total"], "reference": "APPR"})

    def drained(self, staff: str) -> dict[str, Any]:
        return wait_for(lambda: (s := self.call("GET", "/api/v1/sync/status", staff))["backlog"]
                        == 0 and s["last_push_at"] and s, "outbox drained")

    def credential(self) -> str:
        with (self.data_dir / "sync.toml").open("rb") as handle:
            return str(tomllib.load(handle)["hub"]["credential"])




def menu_and_outlet(tenant: Any, name: str = "Outlet") -> tuple[dict[str, Any], str]:
    """Publish a one-product menu in the tenant's brand and create an outlet: (outlet, product id)."""
    client = tenant.client
    category = client.post("/api/v1/catalog/categories",
                           json={"brand_id": tenant.brand_id, "name": f"Mains {uuid.uuid4().hex[:4]}"})
    assert category.status_code == 201, category.text
    product = client.post("/api/v1/catalog/products", json={
        "brand_id": tenant.brand_id, "category_id": category.json()["id"], "name": "Nasi Uduk",
        "price": 24_000})
    assert product.status_code == 201, product.text
    assert client.post(f"/api/v1/brands/{tenant.brand_id}/publish").status_code in (200, 201)
    return tenant.create_outlet(f"{name} {uuid.uuid4().hex[:4]}"), product.json()["id"]


def code_for(tenant: Any, outlet_id: str) -> str:
    answer = tenant.client.post(f"/api/v1/outlets/{outlet_id}/enrollment-codes", json={})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])
