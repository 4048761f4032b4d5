"""``pos demo``: the whole product on one machine, the way a real chain is set up.

First run (state kept in ``--data-dir``, default ./data/demo):

1. the hub on its embedded SQLite database: migrate, create the demo tenant and an outlet;
2. head office enters the demo menu through the hub's catalog API and publishes it;
3. a one-time enrollment code is created and the edge box is provisioned with it
   (``pos-edge provision``: outlet identity, sync credential, catalog, staff, settings);
4. a kiosk, a cashier tablet and a kitchen screen are paired; the staff (Sari, Budi, Dewi)
   were entered at head office before provisioning, so the box has them from the start.

Every run then starts both servers and the local fake payment gateways (Midtrans and Xendit,
``demo.fake_gateways``), sets the outlet's gateway at the hub the way head office does
(``PUT /api/v1/outlets/{id}/payment-gateway``: the fake's address and key, a static QRIS for
the offline fallback) and, once, the outlet's floor plan (Indoor A1-A8, Teras T1-T6), so the
box receives them through its pull feed, prints the URLs of kiosk,
cashier, KDS, order board, dashboard and the fakes with the demo credentials, and stops
everything on Ctrl-C. Nothing here is special-cased: each step uses the same CLI or HTTP API
an operator would (the fakes' webhooks go to the hub's notification endpoints).

The servers (and the fakes) never outlive the launcher: Ctrl-C, SIGTERM and SIGHUP stop them (also when the
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
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from edge.demo import DEMO_STAFF, DEMO_TIMEZONE, demo_catalog, demo_floor_plan
from edge.payments.static_qris import emv_payload

__all__ = ["main"]

TENANT = "Kopi Nusantara"
OUTLET = "Sudirman, Jakarta"
ADMIN_EMAIL = "owner@kopinusantara.example"
ADMIN_PASSWORD = "demo-owner-password"
DEVICES = [("kiosk", "kiosk-1"), ("cashier", "till-1"), ("kds", "kitchen-screen"),
           ("board", "order-board")]
GATEWAYS = ("midtrans", "xendit")
# Where each gateway sends its notifications at the hub (hub/api/gateways.py).
WEBHOOK_PATHS = {"midtrans": "/api/v1/gateways/midtrans/notification",
                 "xendit": "/api/v1/gateways/xendit/callback"}
# The outlet's printed (static) QRIS, shown with the amount injected when the box cannot reach
# the gateway (EMVCo MPM, tag 01 = 11: static; the CRC is computed by emv_payload).
STATIC_QRIS = emv_payload([
    ("00", "01"), ("01", "11"),
    ("26", [("00", "ID.CO.QRIS.WWW"), ("01", "936009140000000001"), ("02", "ID1020017611473"),
            ("03", "UMI")]),
    ("52", "5812"), ("53", "360"), ("58", "ID"), ("59", "KOPI NUSANTARA"), ("60", "JAKARTA"),
    ("61", "10220")])


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
                 port_option: str, env: dict[str, str] | None = None,
                 health_path: str = "/api/health") -> None:
        self.what, self.args, self.log, self.env = what, args, log, env
        self.health_path = health_path
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
                if httpx.get(f"{self.url}{self.health_path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(self.failure(f"did not answer {self.url}{self.health_path} within "
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


def _publish_demo_menu(hub_url: str, outlet_id: str) -> None:
    """Head office sets the outlet's cash rounding (the demo menu's) and kitchen trigger,
    enters the demo menu through the catalog API and publishes it."""
    with httpx.Client(base_url=hub_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        # a kiosk outlet cooks what is paid (docs/payments.md, "Expiry at the kiosk"): an
        # abandoned QR's order never reaches the kitchen; table orders still go at once
        http.patch(f"/api/v1/outlets/{outlet_id}", json={
            "rounding_unit": demo_catalog().tax.rounding_unit,
            "settings": {"kitchen_trigger": "payment"}}).raise_for_status()
        brand_id = http.get("/api/v1/brands").raise_for_status().json()["items"][0]["id"]
        menu = demo_catalog()
        group_ids: dict[str, str] = {}
        for group in menu.modifier_groups:
            created = http.post("/api/v1/catalog/modifier-groups", json={
                "brand_id": brand_id, "name": group.name, "names": group.names,
                "min_choices": group.min_choices, "max_choices": group.max_choices,
                # sort = the menu's order (else the hub orders by name: Large before Regular)
                "options": [{"name": o.name, "names": o.names, "price_delta": o.price_delta, "sort": i}
                            for i, o in enumerate(group.options)],
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


def _enter_demo_floor(hub_url: str, outlet_id: str) -> None:
    """Head office draws the demo outlet's floor plan on the dashboard's API (once: a plan
    already saved there is left alone); the box receives it in its pull feed ("floor")."""
    with httpx.Client(base_url=hub_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        path = f"/api/v1/outlets/{outlet_id}/floor"
        if http.get(path).raise_for_status().json()["version"]:
            return
        plan = msgspec.to_builtins(demo_floor_plan())
        # the hub mints the tables' guest tokens and numbers the versions (hub.floor)
        plan["tables"] = [{k: v for k, v in t.items() if k != "guest_token"} for t in plan["tables"]]
        http.put(path, json=plan | {"version": 0}).raise_for_status()


def _provision_edge(root: Path, hub_url: str, hub_env: dict[str, str], state: dict[str, Any]) -> None:
    hub, edge = _bin("pos-hub"), _bin("pos-edge")
    edge_dir = str(root / "edge")
    _publish_demo_menu(hub_url, state["outlet_id"])
    _enter_demo_staff(hub_url)
    code = _run(hub, "enrollment-code", "--outlet", state["outlet_id"], env=hub_env)
    _run(edge, "provision", "--hub", hub_url, "--code", code, "--data-dir", edge_dir)
    state["devices"] = {role: _run(edge, "pair", "--data-dir", edge_dir, "--role", role, "--name", name)
                        for role, name in DEVICES}
    state["staff"] = [{"name": n, "role": r, "pin": p} for n, r, p in DEMO_STAFF]
    state.pop("_needs_menu_and_box", None)


def _gateway_secrets(state: dict[str, Any]) -> dict[str, str]:
    """This demo's fake gateway keys (made once, kept in the state file, mode 0600)."""
    if "gateway_keys" not in state:
        state["gateway_keys"] = {
            "midtrans_server_key": "SB-Mid-server-" + secrets.token_urlsafe(18),
            "xendit_secret_key": "xnd_development_" + secrets.token_urlsafe(18),
            "xendit_callback_token": secrets.token_urlsafe(24),
        }
    return dict(state["gateway_keys"])


def _fake_gateway(name: str, *, host: str, port: int, hub_url: str, keys: dict[str, str],
                  log_dir: Path) -> _Server:
    """A fake gateway server whose notifications go to the hub, as the real one's would."""
    args = [sys.executable, "-m", f"demo.fake_gateways.{name}", "--host", host, "--port",
            str(port), "--webhook-url", hub_url + WEBHOOK_PATHS[name]]
    if name == "midtrans":
        args += ["--server-key", keys["midtrans_server_key"]]
    else:
        args += ["--server-key", keys["xendit_secret_key"],
                 "--callback-token", keys["xendit_callback_token"]]
    return _Server(f"fake {name.capitalize()} gateway", args, log=log_dir / f"fake-{name}.log",
                   host=host, port=port, port_option=f"--{name}-port", health_path="/_fake/ledger")


def _configure_gateway(hub_url: str, state: dict[str, Any], gateway: str, fake_url: str) -> None:
    """Head office sets the outlet's payment gateway at the hub (``payments:configure``): the
    fake's address and this demo's keys, the e-wallets and the static QRIS for offline. The box
    receives it with its next pull (feed kind ``payments``)."""
    keys = _gateway_secrets(state)
    body: dict[str, Any] = {"provider": gateway, "api_base_url": fake_url,
                            "qr_expiry_seconds": 300, "static_qris": STATIC_QRIS}
    if gateway == "midtrans":
        body.update(server_key=keys["midtrans_server_key"],
                    ewallet_channels=["gopay", "shopeepay"])
    else:
        body.update(secret_key=keys["xendit_secret_key"],
                    callback_token=keys["xendit_callback_token"],
                    ewallet_channels=["ovo", "dana", "shopeepay"])
    with httpx.Client(base_url=hub_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        put = http.put(f"/api/v1/outlets/{state['outlet_id']}/payment-gateway", json=body)
        if put.status_code != 200:
            raise SystemExit(f"demo set-up failed: the hub refused the payment gateway "
                             f"({put.status_code}): {put.text[:500]}")


def _print_gateways(fakes: dict[str, _Server], gateway: str) -> None:
    for name, fake in fakes.items():
        role = "the outlet's gateway" if name == gateway else f"idle; --gateway {name} uses it"
        print(f"  {name:<10} {fake.url}/_fake/   fake {name.capitalize()}: open charges, "
              f"\"pay\" pays one ({role})")
    fake = fakes[gateway]
    print("  pay a demo order by QRIS: kiosk \"pay here with QRIS\" (or QRIS at the cashier), "
          f"then \"pay\" on {fake.url}/_fake/")
    if gateway == "midtrans":
        print(f"    or: curl -X POST {fake.url}/_fake/v2/<attempt id>/pay")
    else:
        print(f"    or: curl -X POST {fake.url}/_fake/qr_codes/<qr id>/pay")


def _first_sticker(edge_db: Path) -> tuple[str, str] | None:
    """The name and sticker token of the box's first table, as it pulled them from the hub."""
    from edge.db import connect
    from edge.tables import floor_plan

    conn = connect(edge_db)
    try:
        tables = [t for t in floor_plan(conn).tables if t.active and t.guest_token]
    finally:
        conn.close()
    return (tables[0].name, tables[0].guest_token) if tables else None


def _print_urls(hub_url: str, edge_url: str, state: dict[str, Any], fakes: dict[str, _Server],
                gateway: str, edge_db: Path) -> None:
    tokens = state["devices"]
    print()
    print("fnbpos demo is running (Ctrl-C stops it)")
    print(f"  kiosk      {edge_url}/kiosk/?token={tokens['kiosk']}")
    print(f"  cashier    {edge_url}/cashier/?token={tokens['cashier']}")
    print(f"  kitchen    {edge_url}/kds/?token={tokens['kds']}&station=kitchen")
    print(f"  bar        {edge_url}/kds/?token={tokens['kds']}&station=bar")
    print(f"  board      {edge_url}/board/?token={tokens.get('board', tokens['kds'])}")
    # a waiter's phone pairs as a cashier device (docs/table-service.md, "Waiter app")
    print(f"  waiter     {edge_url}/waiter/?token={tokens['cashier']}")
    sticker = _first_sticker(edge_db)
    if sticker is not None:
        print(f"  guest      {edge_url}/guest/#t={sticker[1]}   (table {sticker[0]}'s QR sticker;"
              " all of them: dashboard, Floor plan, Print QR stickers)")
    print(f"  dashboard  {hub_url}/dashboard/   ({ADMIN_EMAIL} / {ADMIN_PASSWORD})")
    print("  staff PINs " + ", ".join(f"{s['name']} ({s['role']}) {s['pin']}" for s in state["staff"]))
    print(f"  edge API   {edge_url}/schema/swagger   hub API {hub_url}/schema/swagger")
    _print_gateways(fakes, gateway)
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
    demo.add_argument("--midtrans-port", type=int, default=8931, help="the fake Midtrans")
    demo.add_argument("--xendit-port", type=int, default=8932, help="the fake Xendit")
    demo.add_argument("--gateway", choices=GATEWAYS, default="midtrans",
                      help="which fake gateway the demo outlet uses for QRIS and e-wallets")
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
    keys = _gateway_secrets(state)
    # The box reaches the fakes on 127.0.0.1 (the hub accepts plain http only to loopback):
    # they serve the LAN too only when everything does (0.0.0.0).
    fake_host = args.host if args.host in ("0.0.0.0", "::") else "127.0.0.1"
    fakes = {name: _fake_gateway(name, host=fake_host, port=port, hub_url=hub.url, keys=keys,
                                 log_dir=log_dir)
             for name, port in (("midtrans", args.midtrans_port), ("xendit", args.xendit_port))}
    servers = [*fakes.values(), hub, edge]

    def stop_servers() -> None:
        for server in reversed(servers):
            server.stop()

    atexit.register(stop_servers)  # also on an exception or SystemExit from a set-up step
    try:
        for fake in fakes.values():
            fake.start()
        hub.start()
        for fake in fakes.values():
            fake.wait_healthy()
        hub.wait_healthy()
        # Before provisioning on the first run, so the box's first pull carries it.
        _configure_gateway(hub.url, state, args.gateway,
                           f"http://127.0.0.1:{fakes[args.gateway].port}")
        _enter_demo_floor(hub.url, state["outlet_id"])
        state_file.write_text(json.dumps(state, indent=2))
        if state.get("_needs_menu_and_box"):
            _provision_edge(root, hub.url, hub_env, state)
            state["hub_port"] = args.hub_port
            state_file.write_text(json.dumps(state, indent=2))
        edge.start()
        edge.wait_healthy()
        _print_urls(hub.url, edge.url, state, fakes, args.gateway, root / "edge" / "edge.db")
        print(f"logs: {hub.log}, {edge.log}, {log_dir}/fake-*.log", flush=True)
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
