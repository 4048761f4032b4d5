"""Replacing a dead box, with real processes: a hub, box A that sells and syncs and dies,
and box B that takes the outlet over from A's last backup or from the hub alone.

What must hold: every sale reaches the hub exactly once (A's, the backup's, B's), an order A
changed after the backup is not set back to the backup's older copy, B's journal continues
above every sequence number the hub holds (no seq_reuse alarm), B's queue numbers of the day
continue above every number A called that day (also those A called after the backup), A's
credential is refused, and a restore refuses to run under a serving edge.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.edge import hub_support
from tests.edge.hub_support import Box, cli, code_for, menu_and_outlet, pg

# The hub fixtures, found by pytest under these names.
pg_admin_url = hub_support.pg_admin_url
pg_url = hub_support.pg_url
hub_server_factory = hub_support.hub_server_factory
hub_server = hub_support.hub_server
tenant_factory = hub_support.tenant_factory

pytestmark = pytest.mark.postgres


@pytest.fixture
def outlet(hub_server: Any, tenant_factory: Any) -> tuple[Any, dict[str, Any], str]:
    """A tenant with a published one-product menu and an outlet: (tenant, outlet, product id)."""
    tenant = tenant_factory()
    made, product = menu_and_outlet(tenant, "Takeover")
    return tenant, made, product


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


def numbers_of(hub: Any, orders: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """order id -> (queue number, business day), as the hub holds them."""
    rows = pg(hub.db_url, "SELECT id, number, business_day FROM orders WHERE id = ANY(%s)",
              [o["id"] for o in orders])
    assert len(rows) == len(orders)
    return {r[0]: (r[1], str(r[2])) for r in rows}


def assert_numbers_continue(hub: Any, old: list[dict[str, Any]], new: list[dict[str, Any]],
                            took_stdout: str) -> None:
    """The new box's first order of the day is numbered above every number the old box used
    that day, and its later ones follow on."""
    old_numbers, new_numbers = numbers_of(hub, old), numbers_of(hub, new)
    first_number, day = new_numbers[new[0]["id"]]
    used = [n for n, d in old_numbers.values() if d == day]
    assert used, "the old box sold nothing on the new box's first business day"
    assert first_number == max(used) + 1, (first_number, sorted(used))
    assert [new_numbers[o["id"]][0] for o in new] == list(range(first_number, first_number + len(new)))
    assert f"orders of {day} continue after #{max(used)}" in took_stdout


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
    # The backup counted 3 numbers; A called a 4th after it: B starts at 5, not 4.
    assert_numbers_continue(hub_server, [*early, late, last_a], new_sales, took.stdout)

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
    # No backup, no counter: B continues from the hub's highest number of the day, not 1.
    assert_numbers_continue(hub_server, sold_a, sold_b, took.stdout)
    after = hub_orders(hub_server, made["id"])
    assert set(after) == {o["id"] for o in [*sold_a, *sold_b]}
    alarms = {k for (k,) in pg(hub_server.db_url, "SELECT kind FROM sync_alarms WHERE outlet_id = %s",
                               made["id"])}
    assert not alarms & {"seq_reuse", "seq_conflict", "broken_chain"}


def test_a_takeover_from_a_backup_of_another_outlet_changes_nothing(hub_server, outlet, tmp_path,
                                                                     tenant_factory):
    tenant, made, _ = outlet
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
