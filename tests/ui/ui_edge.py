"""Real edge processes for the browser tests and the UI benchmark.

An ``EdgeProcess`` is a data directory initialised with the demo outlet (``pos-edge init
--demo``) and a ``pos-edge serve`` child process on a free 127.0.0.1 port. Tests pair devices
through the same CLI a technician uses, and can stop and start the process to prove that the
screens survive an edge restart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POS_EDGE = str(BIN / "pos-edge")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([POS_EDGE, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"pos-edge {' '.join(args)} failed: {done.stdout}\n{done.stderr}")
    return done.stdout


class EdgeProcess:
    """One outlet edge: its data dir, its port, and its ``pos-edge serve`` process."""

    def __init__(self, data_dir: Path, port: int | None = None, init: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"edge-{self.port}.log"
        if init:
            run_cli("init", "--data-dir", str(data_dir), "--demo")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [POS_EDGE, "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"edge exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"edge did not become healthy:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def pair(self, role: str, name: str) -> str:
        """Pair a device through the CLI; the token is the last line of its output."""
        out = run_cli("pair", "--data-dir", str(self.data_dir), "--role", role, "--name", name)
        return out.strip().splitlines()[-1].strip()

    # -- direct HTTP for test setup and assertions (the browser does the real work)
    def call(self, method: str, path: str, token: str, json: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        res = httpx.request(method, f"{self.url}{path}", json=json, timeout=10,
                            headers={"Authorization": f"Bearer {token}", **(headers or {})})
        if res.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {res.status_code} {res.text}")
        return res.json() if res.content else None

    def login(self, device_token: str, pin: str) -> str:
        return str(self.call("POST", "/api/v1/auth/login", device_token, {"pin": pin})["access_token"])
