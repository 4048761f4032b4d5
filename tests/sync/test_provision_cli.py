"""`pos-edge provision` and `pos-edge status` as a technician runs them, against a real hub."""

from __future__ import annotations

import json
import stat
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from netproxy import ThreadedLinkProxy

from tests.sync.conftest import free_port, issue_code, pg_query, publish_catalog, run_edge_cli

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(tenant_factory):
    """A fresh tenant whose brand has a published two-product menu, and one outlet."""
    tenant = tenant_factory()
    products = publish_catalog(tenant, [("Nasi Padang", 32_000), ("Es Kopi Susu", 22_000)])
    outlet = tenant.create_outlet(f"Padang {uuid.uuid4().hex[:4]}", timezone="Asia/Jakarta")
    return tenant, outlet, products


def provision(hub_url: str, code: str, data_dir: Path):
    return run_edge_cli("provision", "--hub", hub_url, "--code", code, "--data-dir", str(data_dir))


def assert_nothing_written(data_dir: Path) -> None:
    left = sorted(p.name for p in data_dir.iterdir()) if data_dir.exists() else []
    assert set(left) <= {"provision.pending"}, left


def test_provision_then_status_and_rerun(hub_server, shop, tmp_path):
    tenant, outlet, _ = shop
    code = issue_code(tenant, outlet["id"]).json()["code"]
    box = tmp_path / "box"
    done = provision(hub_server.base_url, code, box)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.strip().splitlines()[-1] == outlet["id"]
    assert "provisioned outlet" in done.stdout and "2 products" in done.stdout
    assert "downloading catalog" in done.stdout  # the progress display
    for name in ("sync.toml", "edge.toml"):
        assert stat.S_IMODE((box / name).stat().st_mode) == 0o600, name
    assert "fpc_" in (box / "sync.toml").read_text()
    assert not (box / "provision.pending").exists()
    status = run_edge_cli("status", "--data-dir", str(box), "--json")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["provisioned"] and info["outlet_id"] == outlet["id"]
    assert info["backlog"] == 0 and info["hub_reachable_now"] is True
    assert info["catalog_version"] >= 1 and info["catalog_verified_at"]
    human = run_edge_cli("status", "--data-dir", str(box))
    assert "backlog:         0 event(s)" in human.stdout and "reachable" in human.stdout
    before = (box / "sync.toml").read_bytes()
    again = provision(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"], box)
    assert again.returncode == 1 and "already provisioned" in again.stderr
    assert (box / "sync.toml").read_bytes() == before


def test_wrong_used_and_expired_codes_and_unreachable_hub(hub_server, shop, tmp_path):
    tenant, outlet, _ = shop
    wrong = provision(hub_server.base_url, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", tmp_path / "a")
    assert wrong.returncode == 1 and "code is wrong" in wrong.stderr
    assert_nothing_written(tmp_path / "a")

    code = issue_code(tenant, outlet["id"]).json()["code"]
    assert provision(hub_server.base_url, code, tmp_path / "first").returncode == 0
    used = provision(hub_server.base_url, code, tmp_path / "second")
    assert used.returncode == 1 and "already used" in used.stderr
    assert_nothing_written(tmp_path / "second")

    issued = issue_code(tenant, outlet["id"], ttl_minutes=1).json()
    pg_query(hub_server.db_url, "UPDATE enrollment_codes SET expires_at = now() - interval '1 s'"
             " WHERE id = %s RETURNING id", issued["id"])
    expired = provision(hub_server.base_url, issued["code"], tmp_path / "c")
    assert expired.returncode == 1 and "expired" in expired.stderr
    assert_nothing_written(tmp_path / "c")

    nowhere = f"http://127.0.0.1:{free_port()}"
    down = provision(nowhere, issue_code(tenant, outlet["id"]).json()["code"], tmp_path / "d")
    assert down.returncode == 1 and "Cannot reach the hub" in down.stderr
    assert_nothing_written(tmp_path / "d")


def test_lost_reply_then_rerun_completes(hub_server, shop, tmp_path):
    tenant, outlet, _ = shop
    target = urlparse(hub_server.base_url)
    proxy = ThreadedLinkProxy(target.hostname, target.port)
    try:
        code = issue_code(tenant, outlet["id"]).json()["code"]
        box = tmp_path / "box"
        proxy.set(drop_replies=True)  # the hub redeems the code, the answer never arrives
        lost = provision(proxy.url, code, box)
        assert lost.returncode == 1 and "Cannot reach the hub" in lost.stderr
        assert_nothing_written(box)
        redeemed = pg_query(hub_server.db_url, "SELECT redeemed_at IS NOT NULL FROM enrollment_codes"
                            " WHERE outlet_id = %s", outlet["id"])
        assert redeemed == [(True,)]
        proxy.set(drop_replies=False)
        time.sleep(0.1)
        again = provision(proxy.url, code, box)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().splitlines()[-1] == outlet["id"]
        creds = pg_query(hub_server.db_url, "SELECT revoked_at IS NULL FROM sync_credentials"
                         " WHERE outlet_id = %s ORDER BY created_at", outlet["id"])
        assert creds == [(False,), (True,)]
    finally:
        proxy.close()
