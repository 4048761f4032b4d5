"""Who owns an edge data folder right now: a lock file that one process holds at a time.

``pos-edge serve`` takes ``<data dir>/edge.lock`` (``fcntl.flock``, exclusive) when it starts
and keeps it until the process ends, so the kernel releases it even after a crash or a
``kill -9``. Commands that replace the database under a server's feet (``restore``, a
takeover) take the same lock without waiting and refuse when it is held; a second server on
the same folder refuses too. The file names its holder (pid, purpose, port) so the refusal
can say which process to stop; its content is informative only, the lock is what counts.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

__all__ = ["LOCK_NAME", "FolderBusy", "FolderLock", "acquire", "holder"]

LOCK_NAME = "edge.lock"


class FolderBusy(RuntimeError):
    """Another process holds the data folder; ``info`` is what it wrote about itself."""

    def __init__(self, path: Path, info: dict[str, Any]) -> None:
        self.path = path
        self.info = info
        super().__init__(describe(path.parent, info))


class FolderLock:
    """A held lock; ``release`` (or process exit) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def describe(data_dir: Path, info: dict[str, Any]) -> str:
    """One sentence naming the holder and what to do about it."""
    purpose = info.get("purpose") or "another pos-edge process"
    where = f" on port {info['port']}" if info.get("port") else ""
    pid = f" (pid {info['pid']}{where}, since {info.get('since', '?')})" if info.get("pid") else ""
    action = ("stop it first (e.g. `systemctl stop pos-edge`)" if purpose == "pos-edge serve"
              else "wait for it to finish")
    return f"{data_dir} is in use by {purpose}{pid}: {action}"


def acquire(data_dir: Path | str, purpose: str, **info: Any) -> FolderLock:
    """Take the folder's lock without waiting; raise ``FolderBusy`` naming the holder."""
    path = Path(data_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held = _read(fd)
        os.close(fd)
        raise FolderBusy(path, held) from None
    except BaseException:
        os.close(fd)
        raise
    record = {"pid": os.getpid(), "purpose": purpose,
              "since": datetime.now(UTC).isoformat(timespec="seconds"), **info}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    return FolderLock(path, fd)


def holder(data_dir: Path | str) -> dict[str, Any] | None:
    """Who holds the folder now (None if nobody); never waits and never keeps the lock."""
    path = Path(data_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or {"purpose": "an unknown process"}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0)
        found = json.loads(data.decode() or "{}")
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}
