"""``./dev`` on a stock Debian/Ubuntu box: only the distribution's /usr/bin/python3 on PATH.

Debian 12 and Ubuntu 24.04 refuse ``pip install`` into their python3 (PEP 668,
"externally-managed-environment"), so the README's first command must bootstrap uv inside a
virtual environment. The test runs ``./dev demo --help`` in a scratch clone of the checkout
(with this working tree's ``dev`` and ``pyproject.toml``) with PATH reduced to the system's
folders: no uv, no pyenv. It reuses the uv and pip caches, so it takes seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.procs import REPO

SYSTEM_PYTHON = Path("/usr/bin/python3")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def _system_python_ok() -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    done = subprocess.run([str(SYSTEM_PYTHON), "-c",
                           "import sys; print(sys.version_info >= (3, 11))"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() == "True"


needs_system_python = pytest.mark.skipif(not _system_python_ok(),
                                         reason="needs the distribution's /usr/bin/python3 >= 3.11")


def _env(path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = path
    return env


def _dev(checkout: Path, *args: str, path: str = SYSTEM_PATH) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(checkout / "dev"), *args], cwd=checkout, env=_env(path),
                          capture_output=True, text=True, timeout=600, check=False)


@needs_system_python
def test_dev_bootstraps_uv_and_the_venv_with_the_system_python(tmp_path: Path) -> None:
    if shutil.which("uv", path=SYSTEM_PATH):
        pytest.skip("uv is installed system-wide: there is nothing to bootstrap")
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(checkout)], check=True, timeout=120)
    for name in ("dev", "pyproject.toml"):  # this working tree's, committed or not
        shutil.copy2(REPO / name, checkout / name)

    done = _dev(checkout, "demo", "--help")
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "usage: pos demo" in done.stdout
    assert "externally-managed" not in done.stderr
    venv = checkout / ".venv"
    assert (venv / "bin" / "uv").is_file()
    assert (venv / "bin" / "pos-edge").is_file() and (venv / "bin" / "pos-hub").is_file()
    config = (venv / "pyvenv.cfg").read_text()
    assert "home = /usr/bin" in config  # built on the distribution's python3, not another one

    again = _dev(checkout, "demo", "--help")  # a second run reuses what the first made
    assert again.returncode == 0, again.stderr
    assert "creating .venv" not in again.stderr


def _fake_bin(tmp_path: Path, scripts: dict[str, str]) -> Path:
    folder = tmp_path / "fakebin"
    folder.mkdir()
    for name, body in scripts.items():
        script = folder / name
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
    return folder


def _dev_alone(tmp_path: Path) -> Path:
    """A folder with just ./dev: enough for the checks that run before anything is installed."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy2(REPO / "dev", checkout / "dev")
    return checkout


@needs_system_python
def test_a_python_without_venv_gets_a_clear_message(tmp_path: Path) -> None:
    # python3 as on a stock image without python3-venv: ensurepip cannot be imported. The
    # package cannot be installed here (apt-get fails), so ./dev says what to install.
    shadow = tmp_path / "shadow" / "ensurepip"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named ensurepip')\n")
    calls = tmp_path / "apt-calls"
    fakes = _fake_bin(tmp_path, {
        "python3": f'PYTHONPATH={shadow.parent} exec {SYSTEM_PYTHON} "$@"\n',
        "apt-get": f'echo "apt-get $*" >> {calls}\n[ "$1" = update ] || exit 100\n',
        "sudo": 'exec "$@"\n',
    })
    checkout = _dev_alone(tmp_path)
    done = _dev(checkout, "demo", "--help", path=f"{fakes}:{SYSTEM_PATH}")
    assert done.returncode != 0
    assert "install python3-venv" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert "install -y -qq python3-venv" in calls.read_text()  # it tried to install it first
    assert not (checkout / ".venv").exists()


def test_an_old_python_is_refused_with_the_version_needed(tmp_path: Path) -> None:
    fakes = _fake_bin(tmp_path, {
        "python3": 'case "$1" in --version) echo "Python 3.9.2";; *) exit 1;; esac\n',
    })
    checkout = _dev_alone(tmp_path)
    done = _dev(checkout, "demo", path=f"{fakes}:{SYSTEM_PATH}")
    assert done.returncode != 0
    assert "needs Python 3.11 or newer; python3 is Python 3.9.2" in done.stderr, done.stderr
    assert not (checkout / ".venv").exists()
