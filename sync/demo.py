"""``pos demo``: the whole product on one machine, the way a real chain is set up.

First run (state kept in ``--data-dir``, default ./data/demo):

1. the hub on its embedded SQLite database: migrate, create the demo tenant and an outlet;
2. head office enters the demo menu through the hub's catalog API and publishes it;
3. a one-time enrollment code is created and the edge box is provisioned with it
   (``pos-edge provision``: outlet identity, sync credential, catalog, staff, settings);
4. a kiosk, a cashier tablet and a kitchen screen are paired; the staff (Sari, Budi, Dewi)
   were entered at head office before provisioning, so the box has them from the start.

Every run then starts both servers, prints the URLs of kiosk, cashier, KDS, order board and
dashboard with the demo credentials, and stops both on Ctrl-C. Nothing here is special-cased:
each step uses the same CLI or HTTP API an operator would.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from edge.demo import DEMO_STAFF, DEMO_TIMEZONE, demo_catalog

__all__ = ["main"]

TENANT = "Kopi Nusantara"
OUTLET = "Sudirman, Jakarta"
ADMIN_EMAIL = "owner@kopinusantara.example"
ADMIN_PASSWORD = "demo-owner-password"
DEVICES = [("kiosk", "kiosk-1"), ("cashier", "till-1"), ("kds", "kitchen-screen"),
           ("board", "order-board")]


def _bin(name: str) -> str:
    """The console script next to the running interpreter (the venv's)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a CLI step; return its last output line; stop the demo with its message on failure."""
    done = subprocess.run(args, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"demo set-up failed at `{' '.join(args[:2])}`:\n{done.stderr or done.stdout}")
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the {what} stopped during start-up (exit code {proc.returncode})")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the {what} did not become healthy at {url} within {timeout:.0f} s")


def _publish_demo_menu(hub_url: str) -> None:
    """Head office enters the demo menu through the catalog API and publishes it."""
    with httpx.Client(base_url=hub_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        brand_id = http.get("/api/v1/brands").raise_for_status().json()["items"][0]["id"]
        menu = demo_catalog()
        group_ids: dict[str, str] = {}
        for group in menu.modifier_groups:
            created = http.post("/api/v1/catalog/modifier-groups", json={
                "brand_id": brand_id, "name": group.name, "names": group.names,
                "min_choices": group.min_choices, "max_choices": group.max_choices,
                "options": [{"name": o.name, "names": o.names, "price_delta": o.price_delta}
                            for o in group.options],
            }).raise_for_status().json()
            group_ids[group.id] = created["id"]
        category_ids: dict[str, str] = {}
        for category in menu.categories:
            created = http.post("/api/v1/catalog/categories", json={
                "brand_id": brand_id, "name": category.name, "names": category.names,
                "station": category.station, "sort": category.sort, "color": category.color,
            }).raise_for_status().json()
            category_ids[category.id] = created["id"]
        for product in menu.products:
            http.post("/api/v1/catalog/products", json={
                "brand_id": brand_id, "category_id": category_ids[product.category_id],
                "name": product.name, "names": product.names, "price": product.price,
                "sort": product.sort, "modifier_group_ids": [group_ids[g] for g in product.modifier_group_ids],
            }).raise_for_status()
        http.post(f"/api/v1/brands/{brand_id}/publish").raise_for_status()


def _set_up(hub_env: dict[str, str]) -> dict[str, Any]:
    """Everything a chain does once: tenant, outlet, menu, enrollment, devices, staff."""
    hub = _bin("pos-hub")
    print("setting up the demo chain (first run only)...", flush=True)
    _run(hub, "migrate", env=hub_env)
    tenant_id = _run(hub, "create-tenant", "--name", TENANT, "--admin-email", ADMIN_EMAIL,
                     "--admin-password", ADMIN_PASSWORD, env=hub_env)
    outlet_id = _run(hub, "create-outlet", "--tenant", tenant_id, "--name", OUTLET,
                     "--timezone", DEMO_TIMEZONE, env=hub_env)
    # The menu and the box need the hub running; main() finishes them after it starts.
    return {"tenant_id": tenant_id, "outlet_id": outlet_id, "_needs_menu_and_box": True}


def _enter_demo_staff(hub_url: str) -> None:
    """Head office enters the outlet staff (PIN logins at the tills) on the dashboard's API;
    the box receives them with its first pull (provisioning)."""
    with httpx.Client(base_url=hub_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        for name, role, pin in DEMO_STAFF:
            http.post("/api/v1/staff", json={"name": name, "role": role, "pin": pin,
                                             "all_outlets": True}).raise_for_status()


def _provision_edge(root: Path, hub_url: str, hub_env: dict[str, str], state: dict[str, Any]) -> None:
    hub, edge = _bin("pos-hub"), _bin("pos-edge")
    edge_dir = str(root / "edge")
    _publish_demo_menu(hub_url)
    _enter_demo_staff(hub_url)
    code = _run(hub, "enrollment-code", "--outlet", state["outlet_id"], env=hub_env)
    _run(edge, "provision", "--hub", hub_url, "--code", code, "--data-dir", edge_dir)
    state["devices"] = {role: _run(edge, "pair", "--data-dir", edge_dir, "--role", role, "--name", name)
                        for role, name in DEVICES}
    state["staff"] = [{"name": n, "role": r, "pin": p} for n, r, p in DEMO_STAFF]
    state.pop("_needs_menu_and_box", None)


def _print_urls(hub_url: str, edge_url: str, state: dict[str, Any]) -> None:
    tokens = state["devices"]
    print()
    print("fnbpos demo is running (Ctrl-C stops it)")
    print(f"  kiosk      {edge_url}/kiosk/?token={tokens['kiosk']}")
    print(f"  cashier    {edge_url}/cashier/?token={tokens['cashier']}")
    print(f"  kitchen    {edge_url}/kds/?token={tokens['kds']}&station=kitchen")
    print(f"  bar        {edge_url}/kds/?token={tokens['kds']}&station=bar")
    print(f"  board      {edge_url}/board/?token={tokens.get('board', tokens['kds'])}")
    print(f"  dashboard  {hub_url}/dashboard/   ({ADMIN_EMAIL} / {ADMIN_PASSWORD})")
    print("  staff PINs " + ", ".join(f"{s['name']} ({s['role']}) {s['pin']}" for s in state["staff"]))
    print(f"  edge API   {edge_url}/schema/swagger   hub API {hub_url}/schema/swagger")
    print(flush=True)


def _stop_on_sigterm(*_: Any) -> None:
    """systemd and CI stop with SIGTERM: shut down the servers as Ctrl-C does."""
    raise KeyboardInterrupt


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fnbpos")
    except PackageNotFoundError:
        return "0.1.0+source"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pos", description="fnbpos demo launcher")
    parser.add_argument("--version", action="version", version=f"pos {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run hub + one edge with a seeded demo tenant")
    demo.add_argument("--data-dir", default="data/demo", help="where the demo keeps its state")
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0 for the LAN)")
    demo.add_argument("--hub-port", type=int, default=8000)
    demo.add_argument("--edge-port", type=int, default=8080)
    demo.add_argument("--setup-only", action="store_true", help="set up, print the URLs, and exit")
    args = parser.parse_args(argv)

    root = Path(args.data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    state_file = root / "demo.json"
    hub_env = {**os.environ, "POS_HUB_DATA_DIR": str(root / "hub"), "POS_HUB_DEMO": "true"}
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    hub_url = f"http://{shown_host}:{args.hub_port}"
    edge_url = f"http://{shown_host}:{args.edge_port}"

    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}
    if not state:
        state = _set_up(hub_env)
        state_file.write_text(json.dumps(state, indent=2))
        os.chmod(state_file, 0o600)

    children: list[subprocess.Popen[bytes]] = []

    def stop(*_: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    log_dir = root / "logs"
    log_dir.mkdir(exist_ok=True)
    with open(log_dir / "hub.log", "ab") as hub_log, open(log_dir / "edge.log", "ab") as edge_log:
        try:
            hub_proc = subprocess.Popen(
                [_bin("pos-hub"), "serve", "--host", args.host, "--port", str(args.hub_port)],
                env=hub_env, stdout=hub_log, stderr=subprocess.STDOUT)
            children.append(hub_proc)
            _wait_healthy(hub_url, hub_proc, "hub")
            if state.get("_needs_menu_and_box"):
                _provision_edge(root, hub_url, hub_env, state)
                state_file.write_text(json.dumps(state, indent=2))
            edge_proc = subprocess.Popen(
                [_bin("pos-edge"), "serve", "--data-dir", str(root / "edge"), "--host", args.host,
                 "--port", str(args.edge_port)],
                stdout=edge_log, stderr=subprocess.STDOUT)
            children.append(edge_proc)
            _wait_healthy(edge_url, edge_proc, "edge")
            _print_urls(hub_url, edge_url, state)
            print(f"logs: {log_dir}/hub.log, {log_dir}/edge.log", flush=True)
            if args.setup_only:
                return 0
            signal.signal(signal.SIGTERM, _stop_on_sigterm)
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            print("a server stopped; see the logs above", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            stop()
