"""What a technician meets at the box, through the real CLI and real servers: quiet logs,
`sync now` after an outage, full device ids, a real pairing URL, a refused code that leaves
nothing behind, and `--version` on every command.

The commands the tests are about run as processes; the runs that set a test up or read back
what one did (provision, staff add, pair and init in the fixtures; status, devices --json,
revoke-device, backup, and `sync now` with no edge serving) call pos-edge's main in this
process (tests/cli_in_process.py), without a Python start for each."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli_in_process import pos_edge
from tests.edge import hub_support
from tests.edge.edge_server import POS_EDGE
from tests.edge.hub_support import Box, cli, code_for, menu_and_outlet
from tests.sync.netproxy import ThreadedLinkProxy

# The hub fixtures, found by pytest under these names. The tests sync with the embedded
# SQLite hub only.
sqlite_url = hub_support.sqlite_url
sqlite_hub_server = hub_support.sqlite_hub_server
hub_server_factory = hub_support.hub_server_factory
tenant_factory = hub_support.tenant_factory


@pytest.fixture(scope="session")
def hub_server(sqlite_hub_server: Any) -> Any:
    """tenant_factory's default hub: the SQLite one, so no PostgreSQL hub starts for this file."""
    return sqlite_hub_server


BIN = Path(sys.executable).parent


@dataclass
class FieldBox:
    """One provisioned box for the sync tests, its hub reached through a link that can drop."""

    box: Box
    link: ThreadedLinkProxy
    outlet_id: str
    product: str
    till: str  # a paired cashier device's token


@pytest.fixture(scope="module")
def field_box(sqlite_hub_server: Any, tenant_factory: Any,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[FieldBox]:
    """Provisioned, with a cashier and a till, once for the file (each step is a pos-edge
    start); the box is stopped between tests and each test logs its own lines from its start."""
    tenant = tenant_factory(server=sqlite_hub_server)
    link = ThreadedLinkProxy("127.0.0.1", int(sqlite_hub_server.base_url.rsplit(":", 1)[1]))
    made, product = menu_and_outlet(tenant)
    box = Box(tmp_path_factory.mktemp("field") / "box")
    try:
        # Set-up, not what the tests look at: pos-edge's main in this process (the steps the
        # technician's terminal shows are the tests' own runs below, as processes).
        for step in (("provision", "--hub", link.url, "--code", code_for(tenant, made["id"]),
                      "--data-dir", str(box.data_dir)),
                     ("staff", "add", "--data-dir", str(box.data_dir), "--name", "Sari",
                      "--role", "cashier", "--pin", "246813"),
                     ("pair", "--data-dir", str(box.data_dir), "--role", "cashier", "--name",
                      "till")):
            done = pos_edge(*step)
            assert done.returncode == 0, f"pos-edge {step[0]}: {done.stdout}\n{done.stderr}"
        till = done.stdout.strip().splitlines()[-1]
        yield FieldBox(box, link, made["id"], product, till)
    finally:
        box.stop()
        link.close()


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder made by `pos-edge init` (with the port the pairing URL names), once for
    the file; tests work on copies of it."""
    data = tmp_path_factory.mktemp("init") / "edge"
    done = pos_edge("init", "--data-dir", str(data), env={"POS_EDGE_PORT": "8181"})
    assert done.returncode == 0, done.stderr
    return data


def records(log: Path, since: int = 0) -> list[dict[str, Any]]:
    """The log's records from byte ``since`` on."""
    found = []
    for line in log.read_bytes()[since:].decode().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            found.append({"logger": "?", "msg": line, "ts": ""})
    return found


def test_a_syncing_edge_logs_what_an_operator_needs_and_nothing_else(sqlite_hub_server,
                                                                     field_box):
    box, outlet_id, product = field_box.box, field_box.outlet_id, field_box.product
    field_box.link.set(up=True)
    since = box.log_path.stat().st_size if box.log_path.exists() else 0
    box.start(env={})  # the default sync settings: a push tick every 0.5 s
    sari = box.login(field_box.till, "246813")
    box.sell(sari, product)  # an order, then its payment: two pushes
    box.drained(sari)
    # The edge logs a request after answering it: the window opens once the line of a last
    # request (after the outbox poll) is written, not while the poll's may still come.
    marker = uuid.uuid4().hex
    httpx.get(f"{box.url}/api/health", headers={"X-Request-ID": marker}, timeout=10)
    hub_support.wait_for(lambda: marker in box.log_path.read_bytes()[since:].decode(),
                         "the last request logged")
    quiet_from = datetime.now(UTC)
    time.sleep(4)  # idle, syncing: a heartbeat, pulls, eight push ticks
    quiet_to = datetime.now(UTC)
    time.sleep(0.1)  # log times are in whole milliseconds: keep shutdown out of the window
    box.stop()
    logged = records(box.log_path, since)
    text = box.log_path.read_bytes()[since:].decode()
    assert "apscheduler" not in text and "maximum number of running instances" not in text
    idle = [r for r in logged if r["ts"] and quiet_from <= datetime.fromisoformat(r["ts"]) <= quiet_to]
    assert idle == [], idle  # an idle edge says nothing
    not_requests = [r["msg"] for r in logged if r["msg"] != "request"]
    assert len(not_requests) <= 12, not_requests  # start-up and shutdown, each once
    assert "edge started" in not_requests and "sync engine started" in not_requests, not_requests
    # The hub applied the payment sync set-based: no fallback warning for this outlet.
    hub_lines = [json.loads(line) for line in sqlite_hub_server.log().splitlines()
                 if outlet_id in line and line.startswith("{")]
    assert hub_lines and not [h for h in hub_lines if h["level"] in ("warning", "error")], hub_lines


def test_sync_now_ends_the_backoff_after_an_outage(sqlite_url, field_box):
    box, link, product = field_box.box, field_box.link, field_box.product
    try:
        no = pos_edge("sync", "now", "--data-dir", str(box.data_dir))
        assert no.returncode == 1 and "no edge is serving" in no.stderr
        link.set(up=True)
        box.start(env={"POS_SYNC_MIN_BACKOFF": "120", "POS_SYNC_MAX_BACKOFF": "300"})
        sari = box.login(field_box.till, "246813")
        box.drained(sari)
        link.set(up=False)
        sold = box.sell(sari, product)
        hub_support.wait_for(lambda: box.call("GET", "/api/v1/sync/status", sari)["last_error"],
                             "the failed push recorded")
        link.set(up=True)  # the outage is over; the box would wait two minutes or more
        started = time.monotonic()
        done = cli("sync", "now", "--data-dir", str(box.data_dir), "--wait", "60")
        assert time.monotonic() - started < 60
        assert "backlog now 0" in done.stdout, done.stdout
        path = sqlite_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            held = conn.execute("SELECT paid FROM orders WHERE id = ?", (sold["id"],)).fetchall()
        assert held == [(sold["total"],)]
        shown = pos_edge("status", "--data-dir", str(box.data_dir))
        status = shown.stdout
        assert shown.returncode == 0, shown.stderr
        assert "(reachable)" in status and "last error:      -" in status
        woke = box.call("POST", "/api/v1/sync/now", sari)
        assert woke == {"woken": True}
    finally:
        box.stop()
        link.set(up=True)


def test_a_refused_code_leaves_nothing_and_no_progress_bar(sqlite_hub_server, tmp_path):
    target = tmp_path / "new-box"
    done = cli("provision", "--hub", sqlite_hub_server.base_url, "--code", "ZZZZ-ZZZZ-ZZZZ-ZZZZ",
               "--data-dir", str(target), check=False)
    assert done.returncode == 1 and "code is wrong" in done.stderr
    assert "downloading" not in done.stdout and "0/?" not in done.stdout
    assert not target.exists()
    existing = tmp_path / "kept"
    existing.mkdir()
    cli("provision", "--hub", sqlite_hub_server.base_url, "--code", "ZZZZ-ZZZZ-ZZZZ-ZZZZ",
        "--data-dir", str(existing), check=False)
    assert existing.is_dir() and list(existing.iterdir()) == []


def test_devices_show_whole_ids_and_pair_prints_a_usable_url(initialised, tmp_path):
    data = tmp_path / "edge"
    env = {"POS_EDGE_PORT": "8181"}
    shutil.copytree(initialised, data)
    paired = cli("pair", "--data-dir", str(data), "--role", "kiosk", "--name",
                 "Kiosk by the door with a long name", env=env).stdout.strip().splitlines()
    token = paired[-1]
    assert f"http://127.0.0.1:8181/kiosk/?token={token}" in paired[-3]
    narrow = subprocess.run([POS_EDGE, "devices", "--data-dir", str(data)], capture_output=True,
                            text=True, env={"COLUMNS": "60", "PATH": str(BIN)}, check=True).stdout
    listed = json.loads(pos_edge("devices", "--data-dir", str(data), "--json").stdout)
    assert len(listed) == 1 and listed[0]["id"] in narrow  # whole, on one line
    assert pos_edge("revoke-device", "--data-dir", str(data), listed[0]["id"]).returncode == 0
    assert json.loads(pos_edge("devices", "--data-dir", str(data), "--json").stdout)[0]["revoked"]


def test_every_command_tells_its_version():
    for command in ("pos-edge", "pos-hub", "pos"):
        done = subprocess.run([str(BIN / command), "--version"], capture_output=True, text=True,
                              check=False, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"{command} ") and done.stdout.strip().split()[-1][0].isdigit()


def test_restore_into_a_missing_folder_and_a_resolved_error(initialised, tmp_path):
    data = tmp_path / "edge"
    shutil.copytree(initialised, data)
    backup = pos_edge("backup", "--data-dir", str(data), "--to", str(tmp_path / "b"))
    assert backup.returncode == 0, backup.stderr
    saved = backup.stdout.splitlines()[-1]
    done = cli("restore", "--data-dir", str(tmp_path / "gone"), "--from", saved, check=False)
    assert done.returncode == 1 and "no edge data folder" in done.stderr
    assert "Traceback" not in done.stderr

    from edge import sync_state
    from edge.db import Database

    db = Database(data / "edge.db")
    config = sync_state.SyncConfig(hub_url="http://127.0.0.1:9", tenant_id="t", outlet_id="o",
                                   credential_id="c", credential="fpc_x")
    db.write_blocking(lambda c: sync_state.save_identity(c, config))
    db.write_blocking(lambda c: sync_state.record_failure(c, "cannot connect", reachable=False,
                                                          refused=False))
    time.sleep(0.01)
    db.write_blocking(lambda c: sync_state.record_pull(c))  # the hub answered since
    db.close()
    shown = cli("status", "--data-dir", str(data)).stdout
    assert "cannot connect (resolved: the hub answered at" in shown
