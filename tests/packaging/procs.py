"""Real processes for the packaging and demo tests, by name.

* ``free_port()`` — a free TCP port on 127.0.0.1.
* ``wait_for(what, check, timeout, context)`` — polls ``check`` until it returns something
  truthy; on time-out fails with what it waited for and ``context()`` (e.g. a server's log).
  Deadlines are generous: the CI machine is shared and may be very busy.
* ``Server`` — a real server process (``pos-hub serve`` / ``pos-edge serve``) from a given
  command line, its output in a log file, ready when ``/api/health`` answers 200
  (``start()``, or ``launch()`` now and ``wait_ready()`` after other work).
* ``clean_env(venv)`` — an environment with only the installed venv and the system on PATH,
  so nothing from the development checkout leaks into a test of the installed package.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 180.0  # seconds; a start-up takes 2-5 s on a quiet machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = READY_TIMEOUT,
             context: Callable[[], str] = lambda: "") -> Any:
    """Poll ``check`` until it returns a truthy value (returned); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}\n{context()}")
        time.sleep(0.2)


def clean_env(venv: Path, **extra: str) -> dict[str, str]:
    """PATH = the venv's bin + the system's; no VIRTUAL_ENV/PYTHONPATH from the dev checkout."""
    env = {"PATH": f"{venv}/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "HOME": os.environ.get("HOME", "/root"), "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
    env.update(extra)
    return env


class Server:
    """One server process; ``start()`` waits for ``/api/health`` and says why when it fails."""

    def __init__(self, args: list[str], *, port: int, env: dict[str, str], cwd: Path,
                 log_path: Path) -> None:
        self.args, self.port, self.env, self.cwd, self.log_path = args, port, env, cwd, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.log_path.name} (last 4000 characters) ---\n{text[-4000:]}"

    def start(self) -> Server:
        return self.launch().wait_ready()

    def launch(self) -> Server:
        """Start the process and return at once: other work can overlap its start-up."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> Server:
        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.args[0]} exited with {self.proc.returncode} during "
                                     f"start-up\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(f"{Path(self.args[0]).name} to answer {self.url}/api/health", healthy,
                 context=self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
