"""`pos demo` (what `./dev demo` runs): the whole chain comes up and an order reaches the hub."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

POS = str(Path(sys.executable).parent / "pos")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _urls(output: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s+(\w+)\s+(http\S+)", output, re.MULTILINE)}


def test_demo_sets_up_the_chain_and_syncs_an_order_to_the_hub(tmp_path):
    hub_port, edge_port = _free_port(), _free_port()
    args = [POS, "demo", "--data-dir", str(tmp_path / "demo"), "--hub-port", str(hub_port),
            "--edge-port", str(edge_port)]
    first = subprocess.run([*args, "--setup-only"], capture_output=True, text=True, timeout=240,
                           check=False)
    assert first.returncode == 0, first.stderr + first.stdout
    urls = _urls(first.stdout)
    assert set(urls) >= {"kiosk", "cashier", "kitchen", "board", "dashboard"}
    assert "Sari (cashier)" in first.stdout
    kiosk_token = urls["kiosk"].split("token=")[1]

    # Second run: no set-up again, both servers start from the saved state.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        edge = f"http://127.0.0.1:{edge_port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{edge}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        auth = {"Authorization": f"Bearer {kiosk_token}"}
        menu = httpx.get(f"{edge}/api/v1/menu", headers=auth, timeout=10).json()
        assert len(menu["products"]) >= 30
        plain = next(p for p in menu["products"] if not p["modifier_group_ids"])
        placed = httpx.post(f"{edge}/api/v1/orders", headers=auth, timeout=10,
                            json={"type": "takeaway", "lines": [{"product_id": plain["id"], "qty": 2}]})
        assert placed.status_code == 201, placed.text
        order = placed.json()

        hub = f"http://127.0.0.1:{hub_port}"
        login = httpx.post(f"{hub}/api/v1/auth/login", timeout=10, json={
            "email": "owner@kopinusantara.example", "password": "demo-owner-password"})
        hub_auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        day = order["business_day"]
        report: dict = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            report = httpx.get(f"{hub}/api/v1/reports/sales", params={"from": day, "to": day},
                               headers=hub_auth, timeout=10).json()
            if report.get("order_count") == 1:
                break
            time.sleep(0.5)
        assert report["order_count"] == 1
        net = plain["price"] * 2  # demo prices are whole thousands: 5% and 10% are exact
        service = net * 5 // 100
        assert report["gross_total"] == order["total"] == net + service + (net + service) // 10

        # The staff were entered at head office and reached the box with provisioning:
        # Sari logs in at the cashier tablet with her PIN.
        staff = httpx.get(f"{hub}/api/v1/staff", headers=hub_auth, timeout=10).json()["items"]
        assert sorted((s["name"], s["role"]) for s in staff) == [
            ("Budi", "kitchen"), ("Dewi", "manager"), ("Sari", "cashier")]
        cashier = {"Authorization": f"Bearer {urls['cashier'].split('token=')[1]}"}
        sari = httpx.post(f"{edge}/api/v1/auth/login", headers=cashier, json={"pin": "1234"},
                          timeout=10)
        assert sari.status_code == 200 and sari.json()["staff"]["name"] == "Sari", sari.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
