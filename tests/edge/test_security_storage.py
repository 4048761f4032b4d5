"""Security issue 9, M9 and Low: the edge's database file, through real edge processes.

* A database with pages damaged mid-file used to start, answer "ok" on /api/health and 500
  on orders; a damaged header gave a raw traceback. Now the start is refused with a message
  naming the recovery, and damage met while running turns health to 503.
* edge.db and its WAL used to be created 0644; they are 0600.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import httpx

from tests.edge.edge_server import EdgeServer, free_port, run_cli


def _root_page(db: Path, table: str) -> tuple[int, int]:
    """(offset, size) of the first page of ``table`` in the main database file."""
    conn = sqlite3.connect(db)
    try:
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the page is in the main file
    finally:
        conn.close()
    return (int(page) - 1) * int(page_size), int(page_size)


def _damage(db: Path, table: str) -> None:
    offset, size = _root_page(db, table)
    assert offset > 0  # mid-file, not the header page
    with db.open("r+b") as handle:
        handle.seek(offset)
        handle.write(bytes([0xA5]) * size)


def _serve_once(edge: EdgeServer) -> tuple[int, str]:
    done = run_cli("serve", "--data-dir", str(edge.data_dir), "--port", str(free_port()),
                   env=edge.env, check=False, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_pages_damaged_mid_file_refuse_the_start_with_the_recovery(
        edge_server_factory: object) -> None:
    edge = edge_server_factory(start=False)  # type: ignore[operator]
    _damage(edge.data_dir / "edge.db", "products")
    code, output = _serve_once(edge)
    assert code == 2, output
    assert "damaged" in output and "pos-edge restore" in output and "provision" in output
    assert "Traceback" not in output


def test_a_damaged_header_is_a_clear_message_not_a_traceback(edge_server_factory: object) -> None:
    edge = edge_server_factory(start=False)  # type: ignore[operator]
    with (edge.data_dir / "edge.db").open("r+b") as handle:
        handle.write(b"this is no sqlite")
    code, output = _serve_once(edge)
    assert code == 2, output
    assert "cannot be read" in output and "pos-edge restore" in output
    assert "Traceback" not in output
    # the other commands say the same, plainly
    pair = run_cli("pair", "--data-dir", str(edge.data_dir), "--role", "kiosk", "--name", "k",
                   env=edge.env, check=False)
    assert pair.returncode == 2 and "pos-edge restore" in pair.stderr
    assert "Traceback" not in pair.stderr


def test_damage_met_while_serving_turns_health_to_503(edge_server: EdgeServer) -> None:
    assert edge_server.request("GET", "/api/health").json()["status"] == "ok"
    _damage(edge_server.data_dir / "edge.db", "staff")
    res = edge_server.request("POST", "/api/v1/auth/login", edge_server.tokens["cashier"],
                              json={"pin": edge_server.pins["cashier"]})
    assert res.status_code == 500  # the staff table cannot be read
    health = httpx.get(f"{edge_server.base_url}/api/health", timeout=10)
    assert health.status_code == 503, health.text
    body = health.json()
    assert body["status"] == "failed" and body["database"].startswith("damaged")
    assert "pos-edge restore" in body["recovery"]


def test_the_database_and_its_wal_are_private(edge_server: EdgeServer) -> None:
    edge_server.call("POST", "/api/v1/orders", edge_server.tokens["kiosk"],
                     json={"type": "takeaway", "lines": [{"product_id": "p-air-mineral"}]})
    db = edge_server.data_dir / "edge.db"
    found = {path.name: stat.S_IMODE(os.stat(path).st_mode)
             for path in (db, db.with_name("edge.db-wal"), db.with_name("edge.db-shm"))
             if path.exists()}
    assert "edge.db-wal" in found, found
    assert all(mode == 0o600 for mode in found.values()), {k: oct(v) for k, v in found.items()}
