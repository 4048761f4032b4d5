"""Server and operator-command processes forked from a warm interpreter, not started cold.

A chaos run starts ``pos-hub serve`` and ``pos-edge serve`` again and again: at set-up and
after every kill -9. About half of such a start's CPU is Python importing SQLAlchemy,
Litestar, uvicorn and the standard library, the same modules every time; on a loaded machine
that is seconds of every restart. The zygote (``python -m tests.chaos.zygote``, one per test
process) imports those third-party modules once and waits for commands; each ``spawn`` forks
it, and the child becomes the command: its own environment, working folder, log file and
``sys.argv``, then the command's ``main(argv)`` and an ordinary interpreter exit. The child is
a process like any other (its own pid; SIGKILL kills it, SIGTERM stops it gracefully), and it
imports hub/, edge/, shared/ and sync/ itself: nothing of the project comes from the zygote
(hub.scheduler's runner id, for one, is the child's pid). A command that needs ``LD_PRELOAD``
(libfaketime) is started cold by the caller, as the loader only reads it at exec.

Requests and answers are JSON lines on the zygote's stdin and stdout:
``{"spawn": {"main": "hub.cli:main", "argv": [...], "env": {...}, "cwd": "...",
"stdout": path, "stderr": path}}`` -> ``{"pid": N}``; ``{"status": N}`` -> ``{"code": C}``
(the exit code, None while the zygote has not seen it end). The zygote reaps its children.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["ForkedProcess", "can_fork", "spawn"]

# Third-party and standard modules the hub, the edge and their CLIs import (what
# `import hub.app, edge.app` loads besides the project's own packages).
PRELOAD = (
    "sqlalchemy.orm", "sqlalchemy.ext.asyncio", "sqlalchemy.ext.compiler",
    "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.sqlite", "litestar", "uvicorn",
    "uvicorn.main", "psycopg", "apscheduler.schedulers.asyncio", "apscheduler.triggers.interval",
    "apscheduler.jobstores.memory", "apscheduler.executors.pool", "click", "cryptography",
    "yaml", "prometheus_client.core", "anyio", "jwt", "argon2", "msgspec", "httpx", "segno",
    "tzlocal", "sqlite3", "tomllib", "argparse", "xml.etree.ElementTree",
)
REPO = Path(__file__).resolve().parents[2]
# POS_CHAOS_FORK=0: every process started cold, exactly as an operator starts it.
ENABLED = os.environ.get("POS_CHAOS_FORK", "1") != "0"


# -- the zygote process ---------------------------------------------------------------------


def _serve() -> dict[str, Any] | None:
    """Answer requests until stdin closes; in a forked child, return its spawn request."""
    codes: dict[int, int] = {}

    def reap(*_: Any) -> None:
        with contextlib.suppress(ChildProcessError):
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    return
                codes[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the test process's Ctrl-C is not ours
    for line in sys.stdin:
        request = json.loads(line)
        if "status" in request:
            reap()
            answer: dict[str, Any] = {"code": codes.get(request["status"])}
        else:
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                return request["spawn"]  # type: ignore[no-any-return]
            answer = {"pid": pid}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return None


def _become(spec: dict[str, Any]) -> int:
    """In the forked child: take on the command's environment and files, run its main."""
    os.environ.clear()
    os.environ.update(spec["env"])
    time.tzset()  # TZ is read at start-up
    os.chdir(spec["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(spec["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    err = os.open(spec["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for fd, target in ((null, 0), (out, 1), (err, 2)):  # the zygote's pipes are not the child's
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the zygote's reader may hold buffered requests
    module, function = spec["main"].split(":")
    sys.argv = [module, *spec["argv"]]
    result = getattr(importlib.import_module(module), function)(spec["argv"])
    return result if isinstance(result, int) else 0


def main() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    spec = _serve()
    if spec is not None:  # the child: exit the way `python -m <command>` would
        sys.exit(_become(spec))


# -- the test process's side ----------------------------------------------------------------


class _Zygote:
    def __init__(self) -> None:
        # -u: the children's stdout and stderr are unbuffered, as with PYTHONUNBUFFERED
        self.process = subprocess.Popen([sys.executable, "-u", "-m", "tests.chaos.zygote"],
                                         cwd=REPO, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lock = threading.Lock()
        atexit.register(self.close)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote ended ({self.process.poll()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_ZYGOTE: _Zygote | None = None
_ZYGOTE_LOCK = threading.Lock()


def _zygote() -> _Zygote:
    global _ZYGOTE
    with _ZYGOTE_LOCK:
        if _ZYGOTE is None or _ZYGOTE.process.poll() is not None:
            _ZYGOTE = _Zygote()
        return _ZYGOTE


def can_fork(env: dict[str, str]) -> bool:
    """Whether a command with this environment may be forked (``LD_PRELOAD`` needs an exec)."""
    return ENABLED and "LD_PRELOAD" not in env


class ForkedProcess:
    """A forked command, with the part of ``subprocess.Popen`` the chaos harness uses."""

    def __init__(self, pid: int, zygote: _Zygote, args: list[str]) -> None:
        self.pid, self.args, self.returncode = pid, args, None
        self._zygote = zygote
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # already ended (and reaped)
            self._pidfd = None

    def _ended(self, timeout: float | None) -> bool:
        if self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], timeout)
            if not ready:
                return False
        if self.returncode is None:
            deadline = time.monotonic() + 5
            code = self._zygote.ask({"status": self.pid})["code"]
            while code is None and time.monotonic() < deadline:  # ended, not reaped yet
                time.sleep(0.01)
                code = self._zygote.ask({"status": self.pid})["code"]
            self.returncode = code if code is not None else -1
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return True

    def poll(self) -> int | None:
        return self.returncode if self._ended(0) else None

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def spawn(main: str, argv: list[str], env: dict[str, str], stdout: Path,
          stderr: Path | None = None, cwd: Path = REPO) -> ForkedProcess:
    """Fork ``main`` (``"module:function"``, called with ``argv``) from the zygote."""
    zygote = _zygote()
    answer = zygote.ask({"spawn": {"main": main, "argv": argv, "env": env, "cwd": str(cwd),
                                   "stdout": str(stdout), "stderr": str(stderr or stdout)}})
    return ForkedProcess(answer["pid"], zygote, [main, *argv])


if __name__ == "__main__":
    main()
