"""The installers in packaging/ run to the end, in a scratch root with systemctl replaced.

``FNBPOS_ROOT`` points install-edge.sh, install-hub.sh and provision-edge.sh at a temporary
folder instead of /, ``FNBPOS_USER`` at the current account instead of a new system user,
and a fake ``systemctl`` first on PATH records its calls. Everything else is real: the
distribution's python3 makes the venv, pip installs this checkout into it, and the installed
pos-hub serves the enrollment code that provision-edge.sh redeems, twice.

pip installs offline (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``), as on an outlet without
internet, from a folder of the dependencies' wheels (and the build backend's) that the same
python3's pip downloads from the index once and keeps in ~/.cache/fnbpos, under a hash of
pyproject.toml's requirements: resolving against the index was half of an install's CPU.
The re-install runs with no wheels at all: an upgrade whose dependencies did not change
needs nothing but the checkout.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import secrets
import shutil
import stat
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.packaging.procs import REPO, Server, free_port

EDGE_INSTALLER = REPO / "packaging" / "install" / "install-edge.sh"
HUB_INSTALLER = REPO / "packaging" / "hub" / "install-hub.sh"
PROVISION = REPO / "packaging" / "install" / "provision-edge.sh"
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
REAL_PATHS = [Path("/opt/fnbpos"), Path("/etc/fnbpos"), Path("/var/lib/fnbpos"),
              Path("/var/lib/fnbpos-hub"), Path("/etc/systemd/system/pos-edge.service")]

pytestmark = pytest.mark.skipif(not Path("/usr/bin/python3").exists(),
                                reason="needs the distribution's python3")


def _wheelhouse(scratch: Path) -> Path:
    """The wheels of pyproject.toml's requirements and build requirements, downloaded once by
    the distribution's python3's pip (what the installers run) and kept between runs."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    python = subprocess.run(["/usr/bin/python3", "--version"], capture_output=True, text=True,
                            check=True).stdout.strip()
    key = hashlib.sha256("\n".join([python, *requirements]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fnbpos"
    wheels = cache / f"installer-wheels-{key}"
    if wheels.is_dir():
        return wheels
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(scratch / "pip-venv")], check=True)
    partial = cache / f".{wheels.name}.{os.getpid()}"  # beside it: renamed whole, or not at all
    shutil.rmtree(partial, ignore_errors=True)
    done = subprocess.run([str(scratch / "pip-venv" / "bin" / "pip"), "download", "--quiet",
                           "--disable-pip-version-check", "-d", str(partial), *requirements],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"pip download:\n{done.stderr[-3000:]}"
    try:
        partial.rename(wheels)
    except OSError:
        if not wheels.is_dir():
            raise
        shutil.rmtree(partial)  # another worker's copy got there first
    return wheels


@dataclass
class Box:
    root: Path
    fakes: Path
    calls: Path  # one line per fake systemctl call
    wheels: Path | None = None  # pip installs from these, offline

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.update(PATH=f"{self.fakes}:{SYSTEM_PATH}", FNBPOS_ROOT=str(self.root),
                   FNBPOS_USER=getpass.getuser(), **extra)
        if self.wheels is not None:
            env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(self.wheels))
        return env

    def run(self, script: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), *args], env=self.env(**extra), cwd=self.root.parent,
                              capture_output=True, text=True, timeout=600, check=False)

    def systemctl_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    @property
    def venv_bin(self) -> Path:
        return self.root / "opt" / "fnbpos" / "venv" / "bin"


def _fake(folder: Path, name: str, body: str) -> None:
    script = folder / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    base = tmp_path_factory.mktemp("installers")
    fakes = base / "fakebin"
    fakes.mkdir()
    calls = base / "systemctl-calls"
    _fake(fakes, "systemctl", f'echo "$*" >> {calls}\n')
    _fake(fakes, "apt-get", f'echo "apt-get $*" >> {calls}\n')  # must not be needed here
    existed = {path: path.exists() for path in REAL_PATHS}
    box = Box(base / "root", fakes, calls, _wheelhouse(base))
    edge = box.run(EDGE_INSTALLER)
    assert edge.returncode == 0, f"install-edge.sh:\n{edge.stdout}\n{edge.stderr[-3000:]}"
    hub = box.run(HUB_INSTALLER)
    assert hub.returncode == 0, f"install-hub.sh:\n{hub.stdout}\n{hub.stderr[-3000:]}"
    yield box
    # Nothing outside the scratch root was created.
    assert {path: path.exists() for path in REAL_PATHS} == existed


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_installers_lay_out_the_box(box: Box) -> None:
    root = box.root
    units = root / "etc" / "systemd" / "system"
    assert sorted(p.name for p in units.iterdir()) == [
        "pos-edge-backup.service", "pos-edge-backup.timer", "pos-edge.service",
        "pos-hub.service", "pos-hub@.service"]
    assert (units / "pos-hub.service").read_text() == \
        (REPO / "packaging" / "systemd" / "pos-hub.service").read_text()
    assert _mode(root / "var" / "lib" / "fnbpos") == 0o700
    assert _mode(root / "var" / "backups" / "fnbpos") == 0o700
    assert _mode(root / "var" / "lib" / "fnbpos-hub") == 0o700
    assert _mode(root / "etc" / "fnbpos") == 0o750
    env_file = root / "etc" / "fnbpos" / "hub.env"
    assert _mode(env_file) == 0o640
    assert "POS_HUB_FORWARDED_ALLOW_IPS=" in env_file.read_text()
    assert box.systemctl_calls() == ["daemon-reload", "daemon-reload"]  # no apt-get either
    site = next((root / "opt" / "fnbpos" / "venv").glob("lib/python3*/site-packages"))
    assert (site / "edge" / "kiosk-ui" / "kiosk" / "index.html").is_file()
    for command in ("pos-edge", "pos-hub"):
        done = subprocess.run([str(box.venv_bin / command), "--help"], capture_output=True,
                              text=True, timeout=120, check=False, cwd=root)
        assert done.returncode == 0, done.stderr[-2000:]


def test_provision_edge_enrolls_once_and_a_rerun_only_starts_the_edge(box: Box,
                                                                       tmp_path: Path) -> None:
    # The installed hub, on SQLite, migrated by its own start-up (no separate pos-hub
    # migrate); its CLI makes the tenant and the owner, who adds the outlet and its one-time
    # code on the hub's API.
    env = {**box.env(), "POS_HUB_DATA_DIR": str(tmp_path / "hub"),
           "POS_HUB_JWT_SECRET": secrets.token_urlsafe(32)}
    owner = {"email": "owner@installer.example", "password": "installer-test-password"}
    port = free_port()
    hub = Server([str(box.venv_bin / "pos-hub"), "serve", "--port", str(port)],
                 port=port, env=env, cwd=tmp_path, log_path=tmp_path / "hub.log").start()
    try:
        done = subprocess.run([str(box.venv_bin / "pos-hub"), "create-tenant", "--name",
                               "Installer Test", "--admin-email", owner["email"],
                               "--admin-password", owner["password"]], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, f"pos-hub create-tenant: {done.stderr[-2000:]}"
        with httpx.Client(base_url=hub.url, timeout=30) as http:
            login = http.post("/api/v1/auth/login", json=owner)
            assert login.status_code == 200, login.text
            http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            outlet = http.post("/api/v1/outlets",
                               json={"name": "Scratch", "timezone": "Asia/Jakarta"})
            assert outlet.status_code == 201, outlet.text
            made = http.post(f"/api/v1/outlets/{outlet.json()['id']}/enrollment-codes")
            assert made.status_code == 201, made.text
        code = made.json()["code"]
        before = len(box.systemctl_calls())
        first = box.run(PROVISION, "--hub", hub.url, "--code", code)
        assert first.returncode == 0, f"{first.stdout}\n{first.stderr[-3000:]}\n{hub.log()}"
        assert "provisioned outlet" in first.stdout
        assert (box.root / "var" / "lib" / "fnbpos" / "sync.toml").is_file()
        again = box.run(PROVISION, "--hub", hub.url, "--code", code)  # the code is used up
        assert again.returncode == 0, f"{again.stdout}\n{again.stderr[-3000:]}"
        assert "already provisioned" in again.stdout
    finally:
        hub.stop()
    assert box.systemctl_calls()[before:] == [
        "enable --now pos-edge.service pos-edge-backup.timer"] * 2


def test_a_reinstall_keeps_the_data_and_the_settings(box: Box, tmp_path: Path) -> None:
    env_file = box.root / "etc" / "fnbpos" / "hub.env"
    env_file.write_text(env_file.read_text() + "POS_HUB_LOG_LEVEL=DEBUG\n")
    marker = box.root / "var" / "lib" / "fnbpos" / "keep-me"
    marker.write_text("outlet data")
    venv_config = box.venv_bin.parent / "pyvenv.cfg"
    made = venv_config.stat().st_mtime_ns
    no_wheels = tmp_path / "no-wheels"
    no_wheels.mkdir()
    for script in (EDGE_INSTALLER, HUB_INSTALLER):
        # Offline and without a wheel: the dependencies and the build backend are in the venv.
        done = box.run(script, PIP_FIND_LINKS=str(no_wheels))
        assert done.returncode == 0, f"{script.name}: {done.stderr[-3000:]}"
    assert env_file.read_text().endswith("POS_HUB_LOG_LEVEL=DEBUG\n")
    assert marker.read_text() == "outlet data"
    assert venv_config.stat().st_mtime_ns == made  # the venv was kept, not made again


def test_the_installers_refuse_a_python_older_than_3_11(tmp_path: Path) -> None:
    fakes = tmp_path / "fakebin"
    fakes.mkdir()
    _fake(fakes, "python3", 'case "$1" in --version) echo "Python 3.9.2";; *) exit 1;; esac\n')
    _fake(fakes, "apt-get", "exit 0\n")  # "installs" python3-venv; the version stays old
    _fake(fakes, "systemctl", "exit 0\n")
    box = Box(tmp_path / "root", fakes, tmp_path / "calls")
    for script in (EDGE_INSTALLER, HUB_INSTALLER):
        done = box.run(script)
        assert done.returncode != 0
        assert "needs Python 3.11 or newer; python3 here is Python 3.9.2" in done.stderr
    assert not (tmp_path / "root" / "opt").exists()
