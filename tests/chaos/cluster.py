"""Real processes for a chaos run: a fresh PostgreSQL database, hub(s), a fault proxy, an edge.

Everything is started the way an operator would: ``pos-hub migrate`` and ``create-tenant``
once per process, into a template database each run copies; per run ``pos-hub serve``, then
head office's API (the outlet, its enrollment code, the menu, the floor plan), then ``pos-edge
provision/pair/staff`` (one interpreter for those, tests/chaos/clirun.py) and ``serve``; the
fault proxy starts beside the hubs. Each server listens on a free port of 127.0.0.1, with its
log in the run's work folder. Processes can be killed with SIGKILL and restarted on the same
port and data. The servers and the CLI commands are forked from a warm interpreter that has
imported their third-party modules (tests/chaos/zygote.py; ``POS_CHAOS_FORK=0`` starts each
cold): each is still a process of its own that runs the command's ``main(argv)``.

The edge's clock can be moved with libfaketime (Debian package ``libfaketime``): the edge
process is started with ``LD_PRELOAD`` and reads its offset from a file the harness rewrites
(``Cluster.set_edge_clock_offset``), so a week can pass for the edge in a minute.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg

from edge.demo import DEMO_COURSES, demo_catalog
from tests.chaos import zygote
from tests.chaos.proxyproc import ProxyProcess

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_DSN = os.environ.get("POS_CHAOS_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
JWT_SECRET = "chaos-secret-Hs8dK2mP5qW9zX3vB7nL4tR6"  # weak keys are refused
ADMIN_PASSWORD = "chaos-owner-password"
OWNER_EMAIL = "owner@chaos.test"  # of the one tenant in every run's database
PINS = {"cashier": "1357", "manager": "432198"}  # staff PINs by role (managers: 6+ digits)
FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def faketime_library() -> str | None:
    return next((lib for lib in FAKETIME_LIBS if Path(lib).exists()), None)


class SetupError(RuntimeError):
    """A step of building the cluster failed (the message carries the command's output)."""


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return _last_line(args, done.returncode, done.stdout, done.stderr)


def _last_line(args: list[str], code: int | None, out: str, err: str) -> str:
    if code != 0:
        raise SetupError(f"{' '.join(args[:4])} failed ({code}):\n{out}\n{err}")
    return out.strip().splitlines()[-1].strip() if out.strip() else ""


def _run_forked(main: str, argv: list[str], env: dict[str, str], timeout: float) -> str:
    """``_run`` of a command forked from the zygote (tests/chaos/zygote.py)."""
    with tempfile.TemporaryDirectory(prefix="chaos-cli-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        process = zygote.spawn(main, argv, env, out, err)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        return _last_line([main, *argv], code, out.read_text(), err.read_text())


def _run_cli(cli: str, steps: list[list[str]], env: dict[str, str],
             timeout: float = 180) -> list[str]:
    """Operator commands of ``pos-hub`` or ``pos-edge`` in one interpreter
    (tests/chaos/clirun.py: one import of the app instead of one per command); the last
    line each printed, ``{N}`` in an argument standing for step N's."""
    argv = [cli, msgspec.json.encode(steps).decode()]
    if zygote.can_fork(env):
        return msgspec.json.decode(_run_forked("tests.chaos.clirun:main", argv, env, timeout))
    return msgspec.json.decode(_run([sys.executable, "-m", "tests.chaos.clirun", *argv], env,
                                    timeout))


@dataclass
class Service:
    """One server process we may kill and start again on the same port."""

    name: str
    args: list[str]  # python -m <module> <arguments>
    env: dict[str, str]
    port: int
    log_path: Path
    health_path: str = "/api/health"
    main: str = ""  # "module:function" the command runs: forked from the zygote if it may
    process: subprocess.Popen[bytes] | zygote.ForkedProcess | None = None
    starts: int = 0
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"\n----- start #{self.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            if self.main and zygote.can_fork(self.env):
                self.process = zygote.spawn(self.main, self.args[3:], self.env, self.log_path)
            else:
                self.process = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + timeout
        # One client for all the polls: a new one per poll (httpx.get) costs ~25 ms of CPU
        # building its TLS context, seconds per start-up on a loaded machine.
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SetupError(f"{self.name} exited during start-up:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + self.health_path).status_code == 200:
                        return
                time.sleep(0.1)
        raise SetupError(f"{self.name} did not become healthy:\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL: no shutdown hooks, no flush; whatever was committed is all there is."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Cluster:
    """Database, hubs, proxy and one edge for one run; ``close()`` tears all of it down."""

    workdir: Path
    seed: int
    hubs_count: int = 1
    sync_env: dict[str, str] = field(default_factory=dict)
    hub_extra_env: dict[str, str] = field(default_factory=dict)  # POS_HUB_* for this run
    edge_clock: bool = False
    proxy_profile: str = "clean"
    use_proxy: bool = True  # False: the edge talks to the (first) hub directly
    start_edge: bool = True  # False: provisioned and configured, started by the caller
    menu_products: int | None = None  # only N of the demo menu's products (quicker set-up)
    floor_tables: int = 0  # > 0: head office draws a floor plan of that many tables first
    db_name: str = ""
    db_url: str = ""
    hubs: list[Service] = field(default_factory=list)
    edge: Service | None = None
    proxy: ProxyProcess | None = None
    tenant_id: str = ""
    outlet_id: str = ""
    edge_dir: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    clock_file: Path | None = None
    owner_email: str = ""

    # -- build -----------------------------------------------------------------------

    def build(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        hub_env = self._hub_env()
        self._create_database(hub_env)
        with ThreadPoolExecutor(max_workers=4) as pool:
            started = []
            for index in range(self.hubs_count):
                port = free_port()
                hub = Service(name=f"hub{index + 1}", port=port, env=hub_env,
                              log_path=self.workdir / f"hub{index + 1}.log", main="hub.cli:main",
                              args=[sys.executable, "-m", "hub", "serve", "--db", self.db_url,
                                    "--host", "127.0.0.1", "--port", str(port), "--no-migrate"])
                self.hubs.append(hub)
                started.append(pool.submit(hub.start))
            if self.use_proxy:  # its upstreams are known: it starts beside the hubs
                started.append(pool.submit(self._start_proxy))
            for future in started:
                future.result()
        # Head office, at the hub: the outlet, the box's one-time code, the menu (and the
        # floor plan before provisioning: the box's first pull carries it, feed kind "floor").
        with owner_client(self.hubs[0].url, self.owner_email, ADMIN_PASSWORD) as http:
            self.outlet_id = http.post("/api/v1/outlets", json={
                "name": f"Outlet {self.seed}", "timezone": "Asia/Jakarta"}
            ).raise_for_status().json()["id"]
            code = http.post(f"/api/v1/outlets/{self.outlet_id}/enrollment-codes"
                             ).raise_for_status().json()["code"]
            publish_demo_menu(http, self.menu_products)
            if self.floor_tables:
                put_floor_plan(http, self.outlet_id, chaos_floor_plan(self.floor_tables))
        hub_url = self.proxy.url if self.proxy is not None else self.hubs[0].url
        self.edge_dir = self.workdir / "edge"
        edge_cli = [sys.executable, "-m", "edge.cli"]
        base_env = {**os.environ, "PYTHONUNBUFFERED": "1", "POS_EDGE_ADVERTISE": "0"}
        data_dir = ["--data-dir", str(self.edge_dir)]
        roles = ("cashier", "kds")
        answers = _run_cli("edge", [
            ["provision", "--hub", hub_url, "--code", code, *data_dir],
            *(["pair", *data_dir, "--role", role, "--name", f"chaos-{role}"] for role in roles),
            *(["staff", "add", *data_dir, "--name", f"Chaos {role}", "--role", role,
               "--pin", pin] for role, pin in PINS.items())], base_env)
        self.tokens = dict(zip(roles, answers[1:1 + len(roles)], strict=True))
        port = free_port()
        self.edge = Service(name="edge", port=port, env=self._edge_env(base_env),
                            log_path=self.workdir / "edge.log", main="edge.cli:main",
                            args=[*edge_cli, "serve", "--data-dir", str(self.edge_dir),
                                  "--host", "127.0.0.1", "--port", str(port)])
        if self.start_edge:
            self.edge.start()
        return self

    def _start_proxy(self) -> None:
        self.proxy = ProxyProcess([h.url for h in self.hubs], seed=self.seed,
                                  profile="clean",  # provisioning goes through clean
                                  log_path=self.workdir / "proxy.log",
                                  config={"fault_paths": ["/api/v1/sync/"]})

    def _create_database(self, hub_env: dict[str, str]) -> None:
        """A fresh database for this run: a copy of a template made once per process with
        ``pos-hub migrate`` and ``create-tenant`` (copying is much faster than migrating and
        starting the CLI for every seed). Each run adds its own outlet to that tenant."""
        self.db_name = f"chaos_{self.seed}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        template, self.tenant_id = _template(hub_env)
        self.owner_email = OWNER_EMAIL
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}" TEMPLATE "{template}"')
        self.db_url = _db_url(self.db_name)

    def _hub_env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", "POS_HUB_JWT_SECRET": JWT_SECRET,
                "POS_HUB_DATA_DIR": str(self.workdir / "hub-data"),
                "POS_HUB_LOGIN_MAX_FAILURES_PER_IP": "100000", **self.hub_extra_env}

    def _edge_env(self, base: dict[str, str]) -> dict[str, str]:
        env = {**base,
               # fast, patient sync: short ticks and backoff so a run converges quickly;
               # no pruning, so the edge's journal can be compared with the hub's at the end
               "POS_SYNC_TICK": "0.1", "POS_SYNC_INTERVAL": "1", "POS_SYNC_MIN_BACKOFF": "0.05",
               "POS_SYNC_MAX_BACKOFF": "0.5", "POS_SYNC_TIMEOUT": "5",
               "POS_SYNC_PRUNE_INTERVAL": "100000000", "POS_SYNC_RETENTION_DAYS": "3650",
               **self.sync_env}
        if self.edge_clock:
            library = faketime_library()
            if library is None:
                raise SetupError("libfaketime is not installed (apt-get install libfaketime)")
            self.clock_file = self.workdir / "edge-clock"
            self.clock_file.write_text("+0\n")
            # Monotonic clocks move too (libfaketime 0.9.10 breaks sleeps otherwise); the
            # offset only ever moves forward, so timers fire early, never late.
            env.update(LD_PRELOAD=library, FAKETIME_TIMESTAMP_FILE=str(self.clock_file),
                       FAKETIME_NO_CACHE="1")
        return env

    def set_edge_clock_offset(self, seconds: int) -> None:
        """Move the edge's clock (relative to the real one); the next clock read sees it."""
        assert self.clock_file is not None, "cluster built without edge_clock"
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(f"{seconds:+d}\n")
        tmp.replace(self.clock_file)

    # -- helpers -----------------------------------------------------------------------

    def edge_client(self, role: str = "cashier", timeout: float = 10) -> httpx.Client:
        assert self.edge is not None
        return httpx.Client(base_url=self.edge.url, timeout=timeout,
                            headers={"Authorization": f"Bearer {self.tokens[role]}"})

    def heal(self) -> None:
        """Network clean, every process up."""
        assert self.proxy is not None and self.edge is not None
        self.proxy.configure(mode="pass")
        for hub in self.hubs:
            if not hub.alive:
                hub.start()
        if not self.edge.alive:
            self.edge.start()

    def hub_client(self, timeout: float = 60) -> httpx.Client:
        """The tenant owner, logged in at the first hub (directly, not through the proxy)."""
        http = httpx.Client(base_url=self.hubs[0].url, timeout=timeout)
        login = http.post("/api/v1/auth/login", json={"email": self.owner_email,
                                                      "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        return http

    def sync_status(self, client: httpx.Client | None = None) -> dict[str, Any]:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(self.edge_client())
            reply = client.get("/api/v1/sync/status")
            reply.raise_for_status()
            return reply.json()  # type: ignore[no-any-return]

    def wait_drained(self, timeout: float) -> dict[str, Any]:
        """Until the edge reports backlog 0 (and says so twice, a tick apart)."""
        deadline = time.monotonic() + timeout
        zero_seen = 0
        status: dict[str, Any] = {}
        with self.edge_client() as client:
            while time.monotonic() < deadline:
                try:
                    status = self.sync_status(client)
                except httpx.HTTPError:
                    status = {}
                if status.get("backlog") == 0:
                    zero_seen += 1
                    if zero_seen >= 2:
                        return status
                else:
                    zero_seen = 0
                time.sleep(0.1)  # the edge's sync tick (POS_SYNC_TICK)
        raise TimeoutError(f"edge backlog did not reach 0 in {timeout:.0f} s: {status}")

    def close(self, keep_database: bool = False) -> None:
        # All told to stop at once: their graceful shutdowns overlap instead of queueing.
        stops = [service.stop for service in [self.edge, *self.hubs] if service is not None]
        if self.proxy is not None:
            stops.append(self.proxy.stop)
        with ThreadPoolExecutor(max_workers=max(1, len(stops))) as pool:
            for future in [pool.submit(stop) for stop in stops]:
                future.result()
        if self.db_name and not keep_database:
            _drop_database(self.db_name)


_TEMPLATE: dict[str, str] = {}


def _db_url(name: str) -> str:
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


def _drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _template(hub_env: dict[str, str]) -> tuple[str, str]:
    """The process's template database and the id of the tenant it holds."""
    if "name" not in _TEMPLATE:
        name = f"chaos_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_database, name)
        _done, tenant_id = _run_cli("hub", [
            ["migrate", "--db", _db_url(name)],
            ["create-tenant", "--name", "Chaos", "--admin-email", OWNER_EMAIL,
             "--admin-password", ADMIN_PASSWORD, "--db", _db_url(name)]], hub_env)
        _TEMPLATE.update(name=name, tenant_id=tenant_id)
    return _TEMPLATE["name"], _TEMPLATE["tenant_id"]


@contextlib.contextmanager
def owner_client(hub_url: str, email: str, password: str) -> Iterator[httpx.Client]:
    """An HTTP client of the hub, logged in as the tenant's owner (head office)."""
    with httpx.Client(base_url=hub_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield http


def publish_demo_menu(http: httpx.Client, products: int | None = None) -> None:
    """Head office enters the demo menu (modifier groups, categories, products) and publishes;
    with ``products``, only that many of its products (and their groups and categories)."""
    brand_id = http.get("/api/v1/brands").raise_for_status().json()["items"][0]["id"]
    menu = demo_catalog()
    if products is not None:  # half of them with modifier groups, half without
        plain = [p for p in menu.products if not p.modifier_group_ids][:products // 2]
        kept = plain + [p for p in menu.products
                        if p.modifier_group_ids][:products - len(plain)]
        groups = {g for p in kept for g in p.modifier_group_ids}
        menu = msgspec.structs.replace(
            menu, products=kept,
            modifier_groups=[g for g in menu.modifier_groups if g.id in groups],
            categories=[c for c in menu.categories if c.id in {p.category_id for p in kept}])
    group_ids: dict[str, str] = {}
    for group in menu.modifier_groups:
        created = http.post("/api/v1/catalog/modifier-groups", json={
            "brand_id": brand_id, "name": group.name, "min_choices": group.min_choices,
            "max_choices": group.max_choices,
            "options": [{"name": o.name, "price_delta": o.price_delta}
                        for o in group.options]}).raise_for_status().json()
        group_ids[group.id] = created["id"]
    category_ids: dict[str, str] = {}
    for category in menu.categories:
        created = http.post("/api/v1/catalog/categories", json={
            "brand_id": brand_id, "name": category.name, "station": category.station,
            "sort": category.sort}).raise_for_status().json()
        category_ids[category.id] = created["id"]
    for product in menu.products:
        http.post("/api/v1/catalog/products", json={
            "brand_id": brand_id, "category_id": category_ids[product.category_id],
            "name": product.name, "price": product.price, "sort": product.sort,
            "modifier_group_ids": [group_ids[g] for g in product.modifier_group_ids],
        }).raise_for_status()
    http.post(f"/api/v1/brands/{brand_id}/publish").raise_for_status()


def chaos_floor_plan(tables: int) -> dict[str, Any]:
    """A floor plan as head office saves it (no guest tokens: the hub mints them): two areas,
    ``tables`` tables, the demo's courses, voids above Rp 50.000 approved by a manager, and
    service charge on dine-in only (takeaway orders price without it)."""
    areas = [{"id": "area-indoor", "name": "Indoor", "names": {"id": "Dalam"}, "sort": 1},
             {"id": "area-teras", "name": "Teras", "names": {"en": "Terrace"}, "sort": 2}]
    plan_tables = []
    for n in range(1, tables + 1):
        indoor = n <= (tables + 1) // 2
        k = n if indoor else n - (tables + 1) // 2
        plan_tables.append({
            "id": f"tbl-{'a' if indoor else 't'}{k}", "area_id": areas[0 if indoor else 1]["id"],
            "name": f"{'A' if indoor else 'T'}{k}", "seats": 4 if k % 3 else 6, "sort": k,
            "x": 20 + ((k - 1) % 8) * 120, "y": 20 + ((k - 1) // 8) * 150,
            "shape": "round" if k % 2 else "rect"})
    return {"version": 0, "areas": areas, "tables": plan_tables,
            "service_charge_dine_in_only": True, "guest_orders": "confirm",
            "courses": list(DEMO_COURSES), "void_approval_threshold": 50_000}


def put_floor_plan(http: httpx.Client, outlet_id: str, plan: dict[str, Any]) -> None:
    reply = http.put(f"/api/v1/outlets/{outlet_id}/floor", json=plan)
    if reply.status_code != 200:
        raise SetupError(f"floor plan refused: {reply.status_code} {reply.text[:500]}")
