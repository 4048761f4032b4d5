"""Local fake payment gateways (Midtrans, Xendit) that speak the documented REST APIs and
webhook formats, so tests and ``pos demo`` take QRIS and e-wallet payments with no network.

``FakeGatewayProcess`` starts one as its own process (``python -m demo.fake_gateways.<name>``)
and waits until it answers; its ledger (``GET /_fake/ledger``) says what it charged.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

import httpx

__all__ = ["GATEWAYS", "FakeGatewayProcess", "free_port"]

GATEWAYS = ("midtrans", "xendit")
_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeGatewayProcess:
    """One fake gateway server in a child process."""

    def __init__(self, name: str, *, port: int | None = None, webhook_url: str = "",
                 server_key: str = "", callback_token: str = "", log_path: Path | None = None,
                 seed: int | None = None) -> None:
        if name not in GATEWAYS:
            raise ValueError(f"no fake gateway named {name!r}")
        self.name = name
        self.port = port or free_port()
        self.webhook_url = webhook_url
        self.server_key = server_key or ("SB-Mid-server-fake" if name == "midtrans"
                                         else "xnd_development_fake")
        self.callback_token = callback_token or "fake-callback-token"
        self.log_path = log_path
        self.seed = seed
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        args = [sys.executable, "-m", f"demo.fake_gateways.{self.name}", "--port", str(self.port),
                "--server-key", self.server_key, "--callback-token", self.callback_token]
        if self.webhook_url:
            args += ["--webhook-url", self.webhook_url]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        out: Any = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=_ROOT,
                                     env={**os.environ, "PYTHONPATH": str(_ROOT)})
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as client:  # one client for the polls (~25 ms of CPU each)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"fake {self.name} exited early ({self.proc.returncode})")
                try:
                    if client.get(f"{self.base_url}/_fake/ledger").status_code == 200:
                        return
                except httpx.HTTPError:
                    time.sleep(0.05)
        raise RuntimeError(f"fake {self.name} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def ledger(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/_fake/ledger", timeout=5).json()  # type: ignore[no-any-return]

    def faults(self, **values: Any) -> dict[str, Any]:
        return httpx.post(f"{self.base_url}/_fake/faults", json=values, timeout=5).json()  # type: ignore[no-any-return]

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
