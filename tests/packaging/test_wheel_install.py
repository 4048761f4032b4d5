"""The production install path: the wheel, installed into a clean venv outside the checkout.

This is what packaging/ does on a box (a plain, non-editable install), so the test builds the
wheel, installs it with uv into a fresh venv in a temporary folder and runs every command
from another folder, with only that venv on PATH. It proves that the wheel carries what the
servers need (the hub's greenlet dependency, the browser apps, the dashboard, both sets of
migrations) and that an install missing them refuses to start instead of serving 404s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.packaging.procs import REPO, Server, clean_env, free_port

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
JWT_SECRET = "wheel-test-secret-Vb4nM8qT2zK6wP9xR3cH7jL5"  # weak keys are refused
APPS = ("kiosk", "cashier", "kds", "board")


@dataclass
class Installed:
    venv: Path
    site: Path  # the venv's site-packages
    elsewhere: Path  # an empty folder to run commands from
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.bin(args[0]), *args[1:]], cwd=self.elsewhere,
                              env=env or self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)


def _uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("needs uv (./dev installs it)")
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    uv = _uv()
    built = subprocess.run([uv, "build", "--wheel", "--quiet", "-o", str(root / "dist"), str(REPO)],
                           capture_output=True, text=True, timeout=300, check=False, cwd=root)
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("fnbpos-*.whl"))
    venv = root / "venv"
    install = [uv, "pip", "install", "--quiet", "-p", str(venv / "bin" / "python"), str(wheel)]
    # The dependencies from uv's cache (./dev put them there): resolving them against the
    # index again was half of the install's time. The index only when the cache lacks one.
    for step in ([uv, "venv", "--quiet", "-p", sys.executable, str(venv)],
                 [*install, "--offline"]):
        done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False,
                              cwd=root)
        if done.returncode != 0 and step[-1] == "--offline":
            step = install
            done = subprocess.run(step, capture_output=True, text=True, timeout=600,
                                  check=False, cwd=root)
        assert done.returncode == 0, f"{' '.join(step)}:\n{done.stderr}"
    site = next(venv.glob("lib/python3*/site-packages"))
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return Installed(venv, site, elsewhere, clean_env(venv, POS_HUB_JWT_SECRET=JWT_SECRET))


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    done = installed.run("python", "-c", "import edge, hub, sync, shared; print(edge.__file__)")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(installed.site)
    for app in APPS:
        assert (installed.site / "edge" / "kiosk-ui" / app / "index.html").is_file()
    assert (installed.site / "hub" / "dashboard" / "index.html").is_file()


def test_every_cli_answers_help(installed: Installed) -> None:
    # pos-hub imports SQLAlchemy's asyncio layer: without greenlet even --help died. One
    # --help per command: a subcommand's help imports no more than its command's (pos-hub
    # builds every subparser up front, pos-edge --help loads all its plugins, and serve and
    # migrate import their servers only when they run).
    for command in (("pos-hub", "--help"), ("pos-edge", "--help"), ("pos", "--help")):
        done = installed.run(*command)
        assert done.returncode == 0, f"{' '.join(command)}: {done.stderr[-2000:]}"
        assert "usage:" in done.stdout


@pytest.fixture(scope="module")
def edge_data(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo outlet's data folder, made by the installed pos-edge, for both edge tests."""
    data_dir = tmp_path_factory.mktemp("edge") / "data"
    init = installed.run("pos-edge", "init", "--data-dir", str(data_dir), "--demo")
    assert init.returncode == 0, init.stderr
    return data_dir


def _serve_edge(installed: Installed, data_dir: Path) -> Server:
    port = free_port()
    return Server([installed.bin("pos-edge"), "serve", "--data-dir", str(data_dir), "--port",
                   str(port), "--no-advertise"], port=port,
                  env={**installed.env, "POS_SYNC_ENABLED": "false"}, cwd=installed.elsewhere,
                  log_path=data_dir.parent / "edge-serve.log")


def test_the_edge_serves_the_browser_apps(installed: Installed, edge_data: Path) -> None:
    edge = _serve_edge(installed, edge_data).start()
    try:
        for app in APPS:
            page = httpx.get(f"{edge.url}/{app}/", timeout=30)
            assert page.status_code == 200, (app, page.status_code)
            assert "<html" in page.text.lower() and "text/html" in page.headers["content-type"]
        script = httpx.get(f"{edge.url}/kiosk/kiosk.js", timeout=30)
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    finally:
        edge.stop()


def _create_tenant(installed: Installed, hub: Server, db_args: list[str]) -> None:
    """The CLI writes a tenant and its owner (SQLAlchemy's sync engine)."""
    created = installed.run("pos-hub", "create-tenant", "--name", "Wheel Test", "--admin-email",
                            "owner@wheel.example", "--admin-password", "wheel-test-password",
                            *db_args, env=hub.env)
    assert created.returncode == 0, created.stderr


def _log_in(hub: Server) -> None:
    """The running hub logs the owner in (the async engine: greenlet)."""
    login = httpx.post(f"{hub.url}/api/v1/auth/login", timeout=30, json={
        "email": "owner@wheel.example", "password": "wheel-test-password"})
    assert login.status_code == 200, login.text
    assert login.json()["access_token"]


def _check_dashboard(hub: Server) -> None:
    page = httpx.get(f"{hub.url}/dashboard/", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    script = httpx.get(f"{hub.url}/dashboard/js/app.js", timeout=30)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_the_hub_runs_on_sqlite_with_its_dashboard(installed: Installed, tmp_path: Path) -> None:
    port = free_port()
    env = {**installed.env, "POS_HUB_DATA_DIR": str(tmp_path / "hub")}
    hub = Server([installed.bin("pos-hub"), "serve", "--port", str(port)], port=port, env=env,
                 cwd=installed.elsewhere, log_path=tmp_path / "hub.log").start()
    try:
        _check_dashboard(hub)
        _create_tenant(installed, hub, [])
        _log_in(hub)
    finally:
        hub.stop()


@pytest.fixture
def pg_database() -> Iterator[str]:
    name = f"wheel_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not available: {exc}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_the_hub_runs_on_postgresql(installed: Installed, pg_database: str,
                                    tmp_path: Path) -> None:
    migrated = installed.run("pos-hub", "migrate", "--db", pg_database)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    hub = Server([installed.bin("pos-hub"), "serve", "--db", pg_database, "--port", str(port),
                  "--no-migrate"], port=port, env={**installed.env,
                                                   "POS_HUB_DATA_DIR": str(tmp_path / "hub")},
                 cwd=installed.elsewhere, log_path=tmp_path / "hub.log").launch()
    try:
        _create_tenant(installed, hub, ["--db", pg_database])  # while the hub starts up
        hub.wait_ready()
        _check_dashboard(hub)
        _log_in(hub)
    finally:
        hub.stop()


def _without(folder: Path) -> Path:
    hidden = folder.with_name(folder.name + ".hidden")
    folder.rename(hidden)
    return hidden


def test_an_install_without_its_files_refuses_to_start(installed: Installed, edge_data: Path,
                                                       tmp_path: Path) -> None:
    edge = _serve_edge(installed, edge_data)  # not started: run below without the browser apps
    hidden = _without(installed.site / "edge" / "kiosk-ui")
    try:
        done = subprocess.run(edge.args, cwd=installed.elsewhere, env=edge.env,
                              capture_output=True, text=True, timeout=120, check=False)
    finally:
        hidden.rename(installed.site / "edge" / "kiosk-ui")
    assert done.returncode != 0
    assert "kiosk/index.html" in done.stderr and "reinstall" in done.stderr, done.stderr

    hidden = _without(installed.site / "hub" / "dashboard")
    try:
        done = installed.run("pos-hub", "serve", "--port", str(free_port()), timeout=120,
                             env={**installed.env, "POS_HUB_DATA_DIR": str(tmp_path / "hub")})
    finally:
        hidden.rename(installed.site / "hub" / "dashboard")
    assert done.returncode != 0
    assert "dashboard" in done.stderr and "reinstall" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
