"""`pos-edge doctor` on real boxes: a healthy provisioned edge passes, and each fault a
technician can meet is named with what to do and turns the exit code to 1 (a dead printer,
a revoked credential, a busy port, open permissions, a damaged database)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.edge import hub_support
from tests.edge.hub_support import Box, cli, code_for, menu_and_outlet

# The box is provisioned from the SQLite hub: what the edge's doctor checks (the hub
# answers, the credential is valid or revoked) does not depend on the hub's database, and
# a PostgreSQL database and hub of this file's own cost more than the tests.
sqlite_url = hub_support.sqlite_url
sqlite_hub_server = hub_support.sqlite_hub_server
hub_server_factory = hub_support.hub_server_factory
tenant_factory = hub_support.tenant_factory


@pytest.fixture(scope="session")
def hub_server(sqlite_hub_server: Any) -> Any:
    """tenant_factory's default hub, and the one the box is provisioned from."""
    return sqlite_hub_server


def doctor(data_dir: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    done = cli("doctor", "--data-dir", str(data_dir), "--json", "--no-mdns", check=False)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] == (done.returncode == 0)
    return done.returncode, {f["check"]: f for f in report["findings"]}


def test_doctor_passes_a_healthy_box_and_names_every_fault(hub_server, tenant_factory, tmp_path):
    tenant = tenant_factory()
    made, _ = menu_and_outlet(tenant)
    box = Box(tmp_path / "box")
    cli("provision", "--hub", hub_server.base_url, "--code", code_for(tenant, made["id"]),
        "--data-dir", str(box.data_dir))
    box.start()
    with socket.socket() as printer:  # a receipt printer that accepts connections
        printer.bind(("127.0.0.1", 0))
        printer.listen()
        admin = box.pair("admin")
        box.call("POST", "/api/v1/printers", admin,
                 {"name": "Front", "host": "127.0.0.1", "port": printer.getsockname()[1]})
        code, found = doctor(box.data_dir)
        assert code == 0, found
        for check in ("versions", "data folder", "settings", "database integrity",
                      "database schema", "server", "hub", "credential", "clock", "sync",
                      "printer Front"):
            assert found[check]["status"] == "ok", (check, found[check])
        assert abs(float(found["clock"]["detail"].split(" by ")[1].split()[0])) < 5

        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
        dead.close()  # nothing listens there any more
        box.call("POST", "/api/v1/printers", admin,
                 {"name": "Kitchen", "host": "127.0.0.1", "port": dead_port, "role": "kitchen"})
        revoked = tenant.client.post(f"/api/v1/outlets/{made['id']}/sync-credentials/revoke")
        assert revoked.status_code == 200, revoked.text
        os.chmod(box.data_dir / "sync.toml", 0o644)
        code, found = doctor(box.data_dir)
    assert code == 1
    assert found["printer Kitchen"]["status"] == "fail" and "printer is on" in found["printer Kitchen"]["fix"]
    assert found["printer Front"]["status"] == "ok"
    assert found["credential"]["status"] == "fail" and "--reenroll" in found["credential"]["fix"]
    assert found["sync.toml permissions"]["status"] == "fail"
    text = cli("doctor", "--data-dir", str(box.data_dir), "--no-mdns", check=False).stdout
    assert "FAIL" in text and "fault(s)" in text and "fpc_" not in text  # never the credential

    box.stop()
    with socket.socket() as squatter:  # another program took the edge's port
        squatter.bind(("127.0.0.1", box.port))
        squatter.listen()
        done = cli("doctor", "--data-dir", str(box.data_dir), "--json", "--no-mdns", check=False,
                   env={"POS_EDGE_PORT": str(box.port)})
    found = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
    assert found["server"]["status"] == "warn" and "systemctl start" in found["server"]["fix"]
    assert found["port"]["status"] == "fail" and f":{box.port}" in found["port"]["fix"]


def test_doctor_names_a_damaged_database_and_open_permissions(tmp_path):
    data = tmp_path / "edge"
    cli("init", "--data-dir", str(data))
    db = data / "edge.db"
    raw = bytearray(db.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    for offset in range(page, len(raw), page):  # break the b-tree header of every page but the first
        raw[offset:offset + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"
    db.write_bytes(bytes(raw))
    os.chmod(data, 0o755)
    code, found = doctor(data)
    assert code == 1
    assert found["database integrity"]["status"] == "fail"
    assert "pos-edge restore" in found["database integrity"]["fix"]
    assert found["data folder"]["status"] == "fail" and "chmod 700" in found["data folder"]["fix"]
    assert found["hub"]["status"] == "skip"  # not provisioned: nothing to check, not a fault
    missing = cli("doctor", "--data-dir", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stdout
