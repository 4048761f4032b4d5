"""`pos demo` (what `./dev demo` runs): the whole chain comes up and an order reaches the hub;
a kiosk order is paid by QRIS on the fake gateway's page the demo prints; the demo's servers
(hub, edge and the two fake gateways) never outlive it; a busy port is reported with the
reason and the fix.

One demo run is shared by the module's first tests: started in the background (SIGINT
ignored by its shell, as `pos demo &` leaves it) on a fresh data dir, it sets up the chain and
serves it; the order, QRIS and SIGINT tests run against it, in that order. A second run then
starts from the saved state and is killed; a third finds its hub port busy. Each run starts
four servers, so sharing one is most of this file's time saved. Waits are generous (the CI
machine may be very busy), say what they waited for, and a failing test shows the demo's own
output and the end of its servers' logs.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.packaging.procs import READY_TIMEOUT, free_port, wait_for

POS = str(Path(sys.executable).parent / "pos")
SETUP_TIMEOUT = 600  # seconds: migrate, 34 products through the API, provisioning, start-up


@dataclass
class Chain:
    """The demo's saved state: where it lives and its ports."""

    data_dir: Path
    hub_port: int
    edge_port: int
    midtrans_port: int
    xendit_port: int

    @property
    def args(self) -> list[str]:
        return [POS, "demo", "--data-dir", str(self.data_dir), "--hub-port", str(self.hub_port),
                "--edge-port", str(self.edge_port), "--midtrans-port", str(self.midtrans_port),
                "--xendit-port", str(self.xendit_port)]

    @property
    def edge(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def hub(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    def logs(self) -> str:
        parts = []
        for name in ("hub.log", "edge.log", "fake-midtrans.log", "fake-xendit.log"):
            path = self.data_dir / "logs" / name
            text = path.read_text(errors="replace")[-3000:] if path.exists() else "(none)"
            parts.append(f"--- {name} (end) ---\n{text}")
        return "\n".join(parts)


def _urls(output: str) -> dict[str, str]:
    return {m.group(1): m.group(2)
            for m in re.finditer(r"^\s+(\w+)\s+(http\S+)", output, re.MULTILINE)}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    data_dir = tmp_path_factory.mktemp("demo") / "demo"
    return Chain(data_dir, free_port(), free_port(), free_port(), free_port())


class DemoRun:
    """One `pos demo` process; its output is collected as it comes (shown when a test fails)."""

    def __init__(self, chain: Chain, *, sigint_ignored: bool = False) -> None:
        self.chain = chain
        # A shell ignores SIGINT in a job it starts with `&` (non-interactive), and an ignored
        # signal stays ignored across exec: `trap "" INT; exec pos demo` is that job.
        prefix = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh"] if sigint_ignored else []
        self.proc = subprocess.Popen([*prefix, *chain.args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def printed(self) -> str:
        return "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return (f"--- pos demo output (exit code {self.proc.poll()}) ---\n{''.join(self.lines)}\n"
                f"{self.chain.logs()}")

    def wait_running(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the demo printed its URLs (both servers answered their health checks)."""
        def printed() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"pos demo exited during start-up\n{self.output()}")
            return any("fnbpos demo is running" in line for line in self.lines)

        wait_for("pos demo to print 'fnbpos demo is running'", printed, timeout=timeout,
                 context=self.output)
        wait_for("pos demo to print where its logs are (the last line it prints)",
                 lambda: any(line.startswith("logs:") for line in self.lines),
                 context=self.output)

    def wait_exit(self, what: str) -> int:
        wait_for(what, lambda: self.proc.poll() is not None, timeout=120, context=self.output)
        return int(self.proc.returncode)

    def interrupt(self) -> int:
        """SIGINT (what Ctrl-C sends); the exit code once the demo stopped."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait_exit("pos demo to stop on SIGINT")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        print(self.output())  # pytest shows it when the test failed


@pytest.fixture(scope="module")
def first_run(chain: Chain) -> Iterator[DemoRun]:
    """The module's shared demo: the first run on a fresh data dir sets up the chain, then
    serves it. Started as `pos demo &` would be (SIGINT ignored): the SIGINT test stops it."""
    demo = DemoRun(chain, sigint_ignored=True)
    try:
        demo.wait_running(timeout=SETUP_TIMEOUT)
        yield demo
    finally:
        demo.close()


@pytest.fixture
def run_demo(chain: Chain, first_run: DemoRun) -> Iterator[Callable[..., DemoRun]]:
    """Another run from the saved state, once the first run has stopped (its ports are free)."""
    first_run.interrupt()
    runs: list[DemoRun] = []

    def start() -> DemoRun:
        runs.append(DemoRun(chain))
        return runs[-1]

    yield start
    for run in runs:
        run.close()


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it counts as ended)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_demo_sets_up_the_chain_and_syncs_an_order_to_the_hub(chain: Chain,
                                                             first_run: DemoRun) -> None:
    demo = first_run
    assert any("setting up the demo chain" in line for line in demo.lines), demo.output()
    urls = _urls(demo.printed)
    assert set(urls) >= {"kiosk", "cashier", "kitchen", "board", "dashboard"}, demo.output()
    assert "Sari (cashier)" in demo.printed
    kiosk_token = urls["kiosk"].split("token=")[1]
    edge = chain.edge
    auth = {"Authorization": f"Bearer {kiosk_token}"}
    menu = httpx.get(f"{edge}/api/v1/menu", headers=auth, timeout=30).json()
    assert len(menu["products"]) >= 30
    # modifier options keep the menu's order through the hub (Regular before Large, issue 13)
    sizes = next(g for g in menu["modifier_groups"] if g["name"] == "Size")
    assert [o["name"] for o in sizes["options"]] == ["Regular", "Large"]
    # the floor plan head office drew for the demo outlet (issue 12) reached the box
    tables = httpx.get(f"{edge}/api/v1/tables", headers=auth, timeout=30).json()["items"]
    assert len(tables) >= 8 and len({t["area"] for t in tables}) >= 2, tables
    # the printed waiter and guest URLs work: the guest's sticker token opens its table
    assert urls["waiter"].startswith(f"{edge}/waiter/?token="), demo.output()
    sticker = urls["guest"].split("#t=")[1]
    guest = httpx.get(f"{edge}/api/v1/guest/table", headers={"X-Table-Token": sticker},
                      params={"menu": "false"}, timeout=30)
    assert guest.status_code == 200 and guest.json()["table"]["name"] in {t["name"] for t in tables}
    plain = next(p for p in menu["products"] if not p["modifier_group_ids"])
    placed = httpx.post(f"{edge}/api/v1/orders", headers=auth, timeout=30,
                        json={"type": "takeaway", "lines": [{"product_id": plain["id"], "qty": 2}]})
    assert placed.status_code == 201, placed.text
    order = placed.json()

    login = httpx.post(f"{chain.hub}/api/v1/auth/login", timeout=30, json={
        "email": "owner@kopinusantara.example", "password": "demo-owner-password"})
    hub_auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    day = order["business_day"]

    def synced_report() -> dict[str, Any] | None:
        report = httpx.get(f"{chain.hub}/api/v1/reports/sales", params={"from": day, "to": day},
                           headers=hub_auth, timeout=30).json()
        return report if report.get("order_count") == 1 else None

    report = wait_for("the order to reach the hub's sales report", synced_report,
                      context=demo.output)
    net = plain["price"] * 2  # demo prices are whole thousands: 5% and 10% are exact
    service = net * 5 // 100
    exact = net + service + (net + service) // 10
    # the demo outlet rounds totals to Rp 100 for cash, half up, shown as a rounding line
    assert report["gross_total"] == order["total"] == (exact + 50) // 100 * 100
    assert order["rounding"] == order["total"] - exact

    # The staff were entered at head office and reached the box with provisioning:
    # Sari logs in at the cashier tablet with her PIN.
    staff = httpx.get(f"{chain.hub}/api/v1/staff", headers=hub_auth, timeout=30).json()["items"]
    assert sorted((s["name"], s["role"]) for s in staff) == [
        ("Budi", "kitchen"), ("Dewi", "manager"), ("Sari", "cashier")]
    cashier = {"Authorization": f"Bearer {urls['cashier'].split('token=')[1]}"}
    sari = httpx.post(f"{edge}/api/v1/auth/login", headers=cashier, json={"pin": "1234"},
                      timeout=30)
    assert sari.status_code == 200 and sari.json()["staff"]["name"] == "Sari", sari.text


def test_a_kiosk_order_is_paid_by_qris_in_two_clicks_on_the_fake_gateway(
        chain: Chain, first_run: DemoRun) -> None:
    """The demo set the outlet's gateway at the hub; the box got it through its pull feed; the
    page the demo printed lists the kiosk's QR with a pay button, and pressing it pays the
    order at the edge (the fake's webhook is also accepted by the hub: same key)."""
    demo = first_run
    printed = _urls(demo.printed)
    page_url = printed["midtrans"]  # the outlet's gateway unless --gateway says otherwise
    assert page_url == f"http://127.0.0.1:{chain.midtrans_port}/_fake/", demo.output()
    assert printed["xendit"] == f"http://127.0.0.1:{chain.xendit_port}/_fake/", demo.output()
    assert any("curl -X POST" in line and "/_fake/v2/" in line for line in demo.lines)
    edge = chain.edge
    kiosk = {"Authorization": f"Bearer {printed['kiosk'].split('token=')[1]}"}
    menu = httpx.get(f"{edge}/api/v1/menu", headers=kiosk, timeout=30).json()
    plain = next(p for p in menu["products"] if not p["modifier_group_ids"])
    placed = httpx.post(f"{edge}/api/v1/orders", headers=kiosk, timeout=30,
                        json={"type": "takeaway", "lines": [{"product_id": plain["id"], "qty": 1}]})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    # the demo outlet cooks what is paid: an unpaid kiosk order waits outside the kitchen
    assert order["status"] == "placed", order
    kds = {"Authorization": f"Bearer {printed['kitchen'].split('token=')[1].split('&')[0]}"}

    def kitchen_orders() -> set[str]:
        tickets = httpx.get(f"{edge}/api/v1/kitchen/tickets", headers=kds, timeout=30)
        assert tickets.status_code == 200, tickets.text
        return {t["order_id"] for t in tickets.json()["items"]}

    assert order["id"] not in kitchen_orders()

    def qr() -> dict[str, Any] | None:
        """The kiosk's "pay here with QRIS" (refused until the box has its gateway settings)."""
        made = httpx.post(f"{edge}/api/v1/orders/{order['id']}/payment-attempts", headers=kiosk,
                          json={"method": "qris", "amount": order["total"]}, timeout=30)
        if made.status_code == 422:
            return None
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    attempt = wait_for("the box to receive the gateway from the hub and make a QR", qr,
                       context=demo.output)
    assert attempt["mode"] == "gateway" and attempt["gateway"] == "midtrans", attempt
    assert attempt["qr_svg"].lstrip().startswith("<"), attempt["qr_svg"][:80]

    # Click 1: open the page. Click 2: its pay button (the form's action) for this QR.
    page = httpx.get(page_url, timeout=30)
    pay_path = f"/_fake/v2/{attempt['gateway_order_id']}/pay"
    assert f"action='{pay_path}'" in page.text, page.text
    paid = httpx.post(page_url.removesuffix("/_fake/") + pay_path, timeout=30)
    assert paid.status_code == 200 and paid.json()["transaction_status"] == "settlement", paid.text

    def paid_at_edge() -> dict[str, Any] | None:
        now = httpx.get(f"{edge}/api/v1/orders/{order['id']}", headers=kiosk, timeout=30).json()
        return now if now["paid"] == order["total"] else None

    final = wait_for("the QRIS payment to reach the order at the edge", paid_at_edge,
                     context=demo.output)
    assert [(p["method"], p["amount"], p["attempt_id"]) for p in final["payments"]] == [
        ("qris", order["total"], attempt["id"])]
    assert final["status"] == "in_kitchen" and order["id"] in kitchen_orders(), final
    ledger = httpx.get(f"{page_url}ledger", timeout=30).json()
    [charge] = [c for c in ledger["charges"] if c["order_id"] == attempt["gateway_order_id"]]
    assert charge["transaction_status"] == "settlement" and charge["custom_field1"]
    webhook = wait_for("the fake's notification to be accepted by the hub", lambda: next(
        (w for w in httpx.get(f"{page_url}ledger", timeout=30).json()["webhooks"]
         if w["payload"]["order_id"] == attempt["gateway_order_id"]
         and w["payload"]["transaction_status"] == "settlement" and w["deliveries"]), None),
        context=demo.output)
    assert webhook["deliveries"][0]["status"] == 200, webhook  # signed with the key it was given


def test_a_demo_started_in_the_background_stops_on_sigint_with_its_servers(
        first_run: DemoRun) -> None:
    demo = first_run
    assert demo.proc.poll() is None, demo.output()
    servers = _children(demo.proc.pid)
    assert len(servers) == 4, demo.output()  # hub, edge, fake Midtrans, fake Xendit
    demo.proc.send_signal(signal.SIGINT)
    assert demo.wait_exit("pos demo (SIGINT ignored by its shell) to stop on SIGINT") == 0
    assert not [pid for pid in servers if _alive(pid)]


def test_a_second_run_starts_from_the_saved_state_and_a_killed_one_takes_its_servers_along(
        chain: Chain, first_run: DemoRun, run_demo) -> None:
    demo = run_demo()
    demo.wait_running()
    # No set-up again: the same devices, and the box serves the saved menu.
    assert not any("setting up the demo chain" in line for line in demo.lines)
    urls, first_urls = _urls(demo.printed), _urls(first_run.printed)
    assert urls["kiosk"] == first_urls["kiosk"], demo.output()
    kiosk = {"Authorization": f"Bearer {urls['kiosk'].split('token=')[1]}"}
    menu = httpx.get(f"{chain.edge}/api/v1/menu", headers=kiosk, timeout=30).json()
    assert len(menu["products"]) >= 30, menu
    servers = _children(demo.proc.pid)
    assert len(servers) == 4, demo.output()  # hub, edge, fake Midtrans, fake Xendit
    demo.proc.kill()  # SIGKILL: no handler, no atexit in the launcher
    demo.wait_exit("pos demo to die of SIGKILL")
    wait_for(f"the demo's servers {sorted(servers)} to end after the launcher was killed",
             lambda: not any(_alive(pid) for pid in servers), timeout=120, context=demo.output)


def test_a_busy_port_is_reported_with_the_reason_and_the_fix(chain: Chain, run_demo) -> None:
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        squatter.bind(("127.0.0.1", chain.hub_port))
        squatter.listen()
        demo = run_demo()
        code = demo.wait_exit("pos demo to give up on the busy hub port")
    output = "".join(demo.lines)
    assert code != 0
    assert "the hub stopped during start-up" in output
    assert "address already in use" in output.lower()  # the reason, from the hub's log
    assert f"port {chain.hub_port} on 127.0.0.1 is already in use" in output
    assert f"--hub-port {chain.hub_port + 1}" in output  # and what to do
    assert not _children(demo.proc.pid)
