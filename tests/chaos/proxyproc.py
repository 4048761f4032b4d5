"""Start and steer a fault proxy process (tests/chaos/faultproxy.py) from a test or harness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


class ProxyProcess:
    """``python -m tests.chaos.faultproxy`` on free ports; its control API as methods."""

    def __init__(self, upstreams: list[str], *, seed: int = 0, profile: str = "clean",
                 log_path: Path | None = None, config: dict[str, Any] | None = None) -> None:
        args = [sys.executable, "-m", "tests.chaos.faultproxy", "--listen", "127.0.0.1:0",
                "--control", "127.0.0.1:0", "--seed", str(seed), "--profile", profile]
        for upstream in upstreams:
            args += ["--upstream", upstream.removeprefix("http://")]
        if config:
            args += ["--config", json.dumps(config)]
        self.log_path = log_path
        stderr = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if log_path:
            stderr.close()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("fault proxy did not start")
        ready = json.loads(line)
        self.listen = ready["listen"]
        self.url = f"http://{self.listen}"
        self._control = httpx.Client(base_url=f"http://{ready['control']}", timeout=10)

    def configure(self, **changes: Any) -> dict[str, Any]:
        reply = self._control.put("/config", json=changes)
        reply.raise_for_status()
        return reply.json()

    def stats(self) -> dict[str, Any]:
        reply = self._control.get("/stats")
        reply.raise_for_status()
        return reply.json()

    def reset_stats(self) -> None:
        self._control.post("/stats/reset").raise_for_status()

    def stop(self) -> None:
        self._control.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
