"""A real edge for tests: ``pos-edge init --demo`` + ``pos-edge serve`` on a free port.

``EdgeServer`` pairs one device per role through the CLI (tokens in ``.tokens``), knows the
demo staff PINs (``.pins``), logs staff in over HTTP and can stop, kill -9 and restart the
process. Used by the ``edge_server`` fixtures in tests/edge/conftest.py and importable by
other test areas (``from tests.edge.edge_server import EdgeServer``).
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
POS_EDGE = str(Path(sys.executable).parent / "pos-edge")

# The demo staff of edge/demo.py: role -> PIN.
DEMO_PINS = {"cashier": "1234", "kitchen": "5678", "manager": "246810"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str] | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([POS_EDGE, *args], check=False, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=REPO)
    if check and done.returncode != 0:
        raise RuntimeError(f"pos-edge {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return done


# One ``init --demo`` + three pairings per test process, copied for every plain demo edge:
# init hashes the demo PINs with argon2 and each CLI call starts Python, ~2.5 s of CPU per
# edge that the suite would otherwise spend dozens of times over.
_DEMO_TEMPLATE: tuple[Path, dict[str, str]] | None = None
_TEMPLATE_ROLES = ("kiosk", "cashier", "kds")


def _demo_template(env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    global _DEMO_TEMPLATE
    if _DEMO_TEMPLATE is None:
        root = tempfile.mkdtemp(prefix="fnbpos-edge-template-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        data_dir = Path(root) / "edge"
        run_cli("init", "--data-dir", str(data_dir), "--demo", env=env)
        tokens = {}
        for role in _TEMPLATE_ROLES:
            out = run_cli("pair", "--data-dir", str(data_dir), "--role", role, "--name",
                          f"test-{role}", env=env).stdout
            tokens[role] = out.strip().splitlines()[-1].strip()
        _DEMO_TEMPLATE = (data_dir, tokens)
    return _DEMO_TEMPLATE


def _copy_template(template: Path, data_dir: Path) -> None:
    """The template's files with a signing secret of its own (staff JWTs of one test edge
    are not valid on another); device tokens and the demo PINs are shared."""
    shutil.copytree(template, data_dir)
    config = data_dir / "edge.toml"
    fresh = secrets.token_urlsafe(48)
    config.write_text(re.sub(r'^jwt_secret = ".*"$', f'jwt_secret = "{fresh}"',
                             config.read_text(), flags=re.MULTILINE))
    os.chmod(config, 0o600)


class EdgeServer:
    """One outlet edge process with its data dir, paired devices and demo staff."""

    def __init__(self, data_dir: Path, *, demo: bool = True, init_args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None, pair: bool = True) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {"POS_EDGE_ADVERTISE": "false", "POS_SYNC_ENABLED": "false", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"
        self.pins = dict(DEMO_PINS) if demo else {}
        self.tokens: dict[str, str] = {}
        if demo and pair and not init_args and env is None and not data_dir.exists():
            template, tokens = _demo_template(self.env)
            _copy_template(template, data_dir)
            self.tokens = dict(tokens)
            return
        run_cli("init", "--data-dir", str(data_dir), *(["--demo"] if demo else []), *init_args,
                env=self.env)
        if pair:
            for role in ("kiosk", "cashier", "kds"):
                self.tokens[role] = self.pair(role, f"test-{role}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- process ------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> float:
        """Start ``pos-edge serve``; return seconds until /api/health answered 200."""
        log = self.log_path.open("ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [POS_EDGE, "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            env={**os.environ, **self.env})
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as client:  # one client for the polls, not one each
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"edge exited early:\n{self.log()[-3000:]}")
                try:
                    if client.get(f"{self.base_url}/api/health").status_code == 200:
                        return time.perf_counter() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(f"edge did not become healthy:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- devices and staff ------------------------------------------------------------

    def pair(self, role: str, name: str) -> str:
        """Pair a device through the CLI; its token is the last line of the output."""
        out = run_cli("pair", "--data-dir", str(self.data_dir), "--role", role, "--name", name,
                      env=self.env).stdout
        return out.strip().splitlines()[-1].strip()

    def login(self, role: str = "cashier", device: str | None = None) -> str:
        """Staff JWT for the demo staff member of ``role`` (cashier, kitchen, manager)."""
        device = device or ("kds" if role == "kitchen" else "cashier")
        return self.login_pin(self.pins[role], self.tokens[device])

    def login_pin(self, pin: str, device_token: str) -> str:
        res = httpx.post(f"{self.base_url}/api/v1/auth/login", json={"pin": pin},
                         headers={"Authorization": f"Bearer {device_token}"}, timeout=10)
        if res.status_code != 200:
            raise AssertionError(f"login failed: {res.status_code} {res.text}")
        return str(res.json()["access_token"])

    # -- HTTP ---------------------------------------------------------------------------

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.base_url}{path}", headers=headers, timeout=10, **kwargs)

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        """Request that must succeed (2xx); returns the decoded JSON body."""
        res = self.request(method, path, token, **kwargs)
        if res.status_code >= 300:
            raise AssertionError(f"{method} {path} -> {res.status_code} {res.text}")
        return res.json() if res.content else None

    def menu(self) -> dict[str, Any]:
        return self.call("GET", "/api/v1/menu", self.tokens["kiosk"])
