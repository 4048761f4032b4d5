"""Replacing a dead box, with real processes: a hub, box A that sells and syncs and dies,
and box B that takes the outlet over from A's last backup or from the hub alone.

What must hold: every sale reaches the hub exactly once (A's, the backup's, B's), an order A
changed after the backup is not set back to the backup's older copy, B's journal continues
above every sequence number the hub holds (no seq_reuse alarm), A's credential is refused,
and a restore refuses to run under a serving edge.
"""

from __future__ import annotations

import asyncio
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
import pytest

from tests.edge.edge_server import POS_EDGE, free_port

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]


def _hub_fixtures() -> Any:
    """The hub area's fixtures (tests/hub/conftest.py), loaded once by path as tests/sync does."""
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
hub_server_factory = hubfx.hub_server_factory
hub_server = hubfx.hub_server
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

    def start(self, sync: bool = True) -> None:
        self.env = dict(FAST_SYNC) if sync else {**FAST_SYNC, "POS_SYNC_ENABLED": "false"}
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


@pytest.fixture
def outlet(hub_server: Any, tenant_factory: Any) -> tuple[Any, dict[str, Any], str]:
    """A tenant with a published one-product menu and an outlet: (tenant, outlet, product id)."""
    tenant = tenant_factory()
    client = tenant.client
    category = client.post("/api/v1/catalog/categories",
                           json={"brand_id": tenant.brand_id, "name": "Mains"})
    assert category.status_code == 201, category.text
    product = client.post("/api/v1/catalog/products", json={
        "brand_id": tenant.brand_id, "category_id": category.json()["id"], "name": "Nasi Uduk",
        "price": 24_000})
    assert product.status_code == 201, product.text
    assert client.post(f"/api/v1/brands/{tenant.brand_id}/publish").status_code in (200, 201)
    made = tenant.create_outlet(f"Takeover {uuid.uuid4().hex[:4]}")
    return tenant, made, product.json()["id"]


def code_for(tenant: Any, outlet_id: str) -> str:
    answer = tenant.client.post(f"/api/v1/outlets/{outlet_id}/enrollment-codes", json={})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


def provision_a(hub: Any, tenant: Any, outlet_id: str, tmp_path: Path) -> Box:
    box = Box(tmp_path / "box-a")
    cli("provision", "--hub", hub.base_url, "--code", code_for(tenant, outlet_id), "--data-dir",
        str(box.data_dir))
    cli("staff", "add", "--data-dir", str(box.data_dir), "--name", "Sari", "--role", "cashier",
        "--pin", "246813")
    return box


def old_credential_refused(hub: Any, outlet_id: str, credential: str) -> str:
    from datetime import UTC, datetime

    from sync.client import HubClient, HubRefused
    from sync.protocol import PushRequest

    async def push() -> str:
        async with HubClient(hub.base_url, credential) as client:
            try:
                await client.push(PushRequest(outlet_id=outlet_id, epoch=str(uuid.uuid4()),
                                              entries=[], sent_at=datetime.now(UTC)))
            except HubRefused as exc:
                return exc.code
        return "accepted"

    return asyncio.run(push())


def hub_orders(hub: Any, outlet_id: str) -> dict[str, tuple[int, str]]:
    rows = pg(hub.db_url, "SELECT id, paid, status FROM orders WHERE outlet_id = %s", outlet_id)
    assert len(rows) == len({r[0] for r in rows})
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_new_box_takes_over_from_the_last_backup(hub_server, outlet, tmp_path):
    tenant, made, product = outlet
    a = provision_a(hub_server, tenant, made["id"], tmp_path)
    a.start()
    cashier = a.pair("cashier")
    kds = a.pair("kds")
    sari = a.login(cashier, "246813")
    early = [a.sell(sari, product) for _ in range(2)]
    a.drained(sari)
    a.stop()

    # The internet is down when the nightly backup runs: the backup holds unsent events.
    a.start(sync=False)
    late = a.sell(sari, product, qty=2)
    backup = tmp_path / "backups"
    busy = cli("restore", "--data-dir", str(a.data_dir), "--from", "/nonexistent", check=False)
    assert busy.returncode == 1 and "no backup file" in busy.stderr
    saved = cli("backup", "--data-dir", str(a.data_dir), "--to", str(backup)).stdout.splitlines()[-1]
    refused = cli("restore", "--data-dir", str(a.data_dir), "--from", saved, check=False)
    assert refused.returncode == 1 and "pos-edge serve" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    a.stop()

    # The link comes back: A delivers those events, the kitchen bumps the late order (a newer
    # snapshot than the backup's), A sells once more; then A dies.
    a.start()
    for ticket in a.call("GET", "/api/v1/kitchen/tickets?status=pending", kds)["items"]:
        a.call("POST", f"/api/v1/kitchen/tickets/{ticket['id']}/bump", kds)
    last_a = a.sell(sari, product)
    a.drained(sari)
    a_credential = a.credential()
    a.kill()
    before = hub_orders(hub_server, made["id"])
    assert before[late["id"]] == (late["total"], "ready")
    held_by_hub = pg(hub_server.db_url, "SELECT max(last_seq) FROM sync_cursors WHERE outlet_id = %s",
                     made["id"])[0][0]

    b = Box(tmp_path / "box-b")
    took = cli("provision", "--takeover", "--from", saved, "--hub", hub_server.base_url,
               "--code", code_for(tenant, made["id"]), "--data-dir", str(b.data_dir))
    assert took.stdout.strip().splitlines()[-1] == made["id"]
    assert "1 credential(s) of the old box revoked" in took.stdout
    assert "0 event(s) of the backup the hub lacked delivered" in took.stdout  # A had sent them
    assert f"continues at seq {held_by_hub + 1} " in took.stdout
    assert not (b.data_dir / "provision.pending").exists()

    b.start()
    assert old_credential_refused(hub_server, made["id"], a_credential) == "credential_revoked"
    # Paired devices and staff added at the box came along with the backup.
    sari_b = b.login(cashier, "246813")
    new_sales = [b.sell(sari_b, product) for _ in range(2)]
    b.drained(sari_b)
    b.stop()

    after = hub_orders(hub_server, made["id"])
    every = [*early, late, last_a, *new_sales]
    assert set(after) == {o["id"] for o in every}  # each once, nothing lost, nothing extra
    assert after[late["id"]] == (late["total"], "ready")  # not set back to the backup's copy
    assert pg(hub_server.db_url, "SELECT count(*) FROM payments WHERE outlet_id = %s",
              made["id"]) == [(len(every),)]
    alarms = pg(hub_server.db_url, "SELECT kind FROM sync_alarms WHERE outlet_id = %s", made["id"])
    assert "seq_reuse" not in {k for (k,) in alarms} and "seq_conflict" not in {k for (k,) in alarms}
    b_first = pg(hub_server.db_url, "SELECT min(first_seq) FROM sync_cursors WHERE outlet_id = %s"
                 " AND first_seq > %s", made["id"], 1)[0][0]
    assert b_first == held_by_hub + 1


def test_a_new_box_takes_over_from_the_hub_alone(hub_server, outlet, tmp_path):
    tenant, made, product = outlet
    a = provision_a(hub_server, tenant, made["id"], tmp_path)
    a.start()
    sari = a.login(a.pair("cashier"), "246813")
    sold_a = [a.sell(sari, product) for _ in range(3)]
    a.drained(sari)
    a_credential = a.credential()
    a.kill()
    held_by_hub = pg(hub_server.db_url, "SELECT max(last_seq) FROM sync_cursors WHERE outlet_id = %s",
                     made["id"])[0][0]

    b = Box(tmp_path / "box-b")
    wrong = cli("provision", "--takeover", "--hub", hub_server.base_url, "--code", "AAAA-BBBB-CCCC-DDDD",
                "--data-dir", str(b.data_dir), check=False)
    assert wrong.returncode == 1 and "code is wrong" in wrong.stderr
    assert "downloading" not in wrong.stdout and not b.data_dir.exists()  # nothing left behind
    took = cli("provision", "--takeover", "--hub", hub_server.base_url, "--code",
               code_for(tenant, made["id"]), "--data-dir", str(b.data_dir))
    assert f"continues at seq {held_by_hub + 1} " in took.stdout
    b.start()
    assert old_credential_refused(hub_server, made["id"], a_credential) == "credential_revoked"
    # A manager of head office is not needed: a cashier device and a local staff member will do.
    cli("staff", "add", "--data-dir", str(b.data_dir), "--name", "Budi", "--role", "cashier",
        "--pin", "135792")
    budi = b.login(b.pair("cashier"), "135792")
    sold_b = [b.sell(budi, product) for _ in range(2)]
    b.drained(budi)
    b.stop()
    after = hub_orders(hub_server, made["id"])
    assert set(after) == {o["id"] for o in [*sold_a, *sold_b]}
    alarms = {k for (k,) in pg(hub_server.db_url, "SELECT kind FROM sync_alarms WHERE outlet_id = %s",
                               made["id"])}
    assert not alarms & {"seq_reuse", "seq_conflict", "broken_chain"}


def test_a_takeover_from_a_backup_of_another_outlet_changes_nothing(hub_server, outlet, tmp_path,
                                                                     tenant_factory):
    tenant, made, product = outlet
    a = provision_a(hub_server, tenant, made["id"], tmp_path)
    saved = cli("backup", "--data-dir", str(a.data_dir), "--to",
                str(tmp_path / "backups")).stdout.splitlines()[-1]
    other = tenant.create_outlet("Another outlet")
    b = tmp_path / "box-b"
    wrong = cli("provision", "--takeover", "--from", saved, "--hub", hub_server.base_url, "--code",
                code_for(tenant, other["id"]), "--data-dir", str(b), check=False)
    assert wrong.returncode == 1 and "another outlet" in wrong.stderr, wrong.stderr
    assert not (b / "edge.db").exists() and not (b / "sync.toml").exists()
    # A is still the outlet's box: its credential was not revoked by the mix-up.
    assert old_credential_refused(hub_server, made["id"], a.credential()) == "accepted"
