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

The servers never outlive the launcher: Ctrl-C, SIGTERM and SIGHUP stop them (also when the
launcher was started in the background, where the shell leaves SIGINT ignored), and on Linux
the kernel sends them SIGTERM if the launcher dies any other way (PR_SET_PDEATHSIG). A
server that fails to start is reported with the end of its log and what to do about it.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
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


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_START_TIMEOUT = 180.0  # seconds; a server starts in 2-5 s, far slower on a very busy machine


def _die_with_launcher(launcher: int) -> Any:
    """A ``preexec_fn``: the child gets SIGTERM when the launcher dies, even by SIGKILL.
    (The launcher starts no threads, so running Python between fork and exec is safe.)"""

    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != launcher:  # the launcher died before prctl took effect
                os._exit(1)

    return preexec


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a CLI step; return its last output line; stop the demo with its message on failure."""
    done = subprocess.run(args, check=False, capture_output=True, text=True, env=env,
                          preexec_fn=_die_with_launcher(os.getpid()))
    if done.returncode != 0:
        raise SystemExit(f"demo set-up failed at `{' '.join(args[:2])}`:\n{done.stderr or done.stdout}")
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class _Server:
    """One server the demo runs (``pos-hub serve`` or ``pos-edge serve``), logging to a file."""

    def __init__(self, what: str, args: list[str], *, log: Path, host: str, port: int,
                 port_option: str, env: dict[str, str] | None = None) -> None:
        self.what, self.args, self.log, self.env = what, args, log, env
        self.host, self.port, self.port_option = host, port, port_option
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{shown}:{self.port}"

    def start(self) -> None:
        self._log_start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_launcher(os.getpid()))  # noqa: PLW1509 (no threads)

    def wait_healthy(self, timeout: float = _START_TIMEOUT) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(self.failure(f"stopped during start-up (exit code "
                                              f"{self.proc.returncode})"))
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(self.failure(f"did not answer {self.url}/api/health within "
                                      f"{timeout:.0f} s"))

    def failure(self, what_happened: str, lines: int = 15) -> str:
        """What went wrong: the end of this run's log and what to do about it."""
        with self.log.open("rb") as log:
            log.seek(self._log_start)
            tail = log.read().decode(errors="replace").strip().splitlines()[-lines:]
        report = [f"the {self.what} {what_happened}; the end of its log ({self.log}):",
                  *(f"  | {line}" for line in tail or ["(empty)"])]
        if "address already in use" in "\n".join(tail).lower():
            report.append(f"port {self.port} on {self.host} is already in use by another program "
                          f"(an earlier demo still running?): stop it, or give the {self.what} "
                          f"another port with {self.port_option}, e.g. ./dev demo "
                          f"{self.port_option} {self.port + 1}")
        else:
            report.append(f"the lines above say why; the whole log is {self.log}")
        return "\n".join(report)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """Ctrl-C for the server (a graceful stop), then SIGKILL after ``timeout`` s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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


def _stop_on_signal(*_: Any) -> None:
    """systemd and CI stop with SIGTERM, a closed terminal with SIGHUP: stop as Ctrl-C does."""
    raise KeyboardInterrupt


def _take_back_signals() -> None:
    """Started in the background (``pos demo &``), the shell leaves SIGINT ignored and Python
    keeps it so: make Ctrl-C/SIGINT, SIGTERM and SIGHUP stop the demo (and its servers).
    SIGHUP stays ignored under ``nohup``, which asks for exactly that."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _stop_on_signal)


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

    _take_back_signals()
    root = Path(args.data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    state_file = root / "demo.json"
    hub_env = {**os.environ, "POS_HUB_DATA_DIR": str(root / "hub"), "POS_HUB_DEMO": "true"}

    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}
    provisioned_port = state.get("hub_port", args.hub_port)
    if provisioned_port != args.hub_port:
        raise SystemExit(f"this demo's edge syncs with the hub on port {provisioned_port}: run it "
                         f"with --hub-port {provisioned_port}, or start a new demo with another "
                         f"--data-dir")
    if not state:
        state = _set_up(hub_env)
        state_file.write_text(json.dumps(state, indent=2))
        os.chmod(state_file, 0o600)

    log_dir = root / "logs"
    log_dir.mkdir(exist_ok=True)
    hub = _Server("hub", [_bin("pos-hub"), "serve", "--host", args.host, "--port",
                          str(args.hub_port)],
                  log=log_dir / "hub.log", host=args.host, port=args.hub_port,
                  port_option="--hub-port", env=hub_env)
    edge = _Server("edge", [_bin("pos-edge"), "serve", "--data-dir", str(root / "edge"), "--host",
                            args.host, "--port", str(args.edge_port)],
                   log=log_dir / "edge.log", host=args.host, port=args.edge_port,
                   port_option="--edge-port")
    servers = [hub, edge]

    def stop_servers() -> None:
        for server in reversed(servers):
            server.stop()

    atexit.register(stop_servers)  # also on an exception or SystemExit from a set-up step
    try:
        hub.start()
        hub.wait_healthy()
        if state.get("_needs_menu_and_box"):
            _provision_edge(root, hub.url, hub_env, state)
            state["hub_port"] = args.hub_port
            state_file.write_text(json.dumps(state, indent=2))
        edge.start()
        edge.wait_healthy()
        _print_urls(hub.url, edge.url, state)
        print(f"logs: {hub.log}, {edge.log}", flush=True)
        if args.setup_only:
            return 0
        while all(server.running() for server in servers):
            time.sleep(0.5)
        stopped = next(server for server in servers if not server.running())
        assert stopped.proc is not None
        print(stopped.failure(f"stopped (exit code {stopped.proc.returncode})"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_servers()
