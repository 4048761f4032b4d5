"""The outlet's SQLite database: one writer thread, group commit, cheap reads.

Every write goes through ``Database.write(fn)``: the function runs on the single writer
thread inside ``BEGIN IMMEDIATE`` (so a busy outlet never sees "database is locked"), in its
own SAVEPOINT, and writes queued at the same moment share one durable commit (group commit).
The awaiting caller resumes only after COMMIT returned with ``synchronous=FULL``: nothing is
acknowledged to a client before it is on disk. If one write raises, only its savepoint is
rolled back; its neighbours still commit.

Reads run on the event-loop thread's own connection (``Database.read``): WAL readers never
block the writer, and small indexed reads cost less than a thread hop.

A damaged file is refused, not served: ``Database(path, check_integrity=True)`` (the server's
start) runs ``PRAGMA quick_check`` and raises ``DatabaseUnusable`` with the way to recover,
as it does for a file whose header is not SQLite's. Damage found later (an error SQLite
reports as a malformed image, or the hourly ``check``) is kept in ``Database.problem`` so
``/api/health`` answers 503 instead of "ok". New files are created 0600 (umask at open).
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edge.migrations import apply_migrations

__all__ = ["RECOVERY", "Database", "DatabaseUnusable", "connect", "is_damage", "quick_check"]

T = TypeVar("T")
_MAX_GROUP = 256  # writes that may share one commit
_umask_lock = threading.Lock()

RECOVERY = ("stop the edge, then restore the last backup (`pos-edge restore --data-dir DIR --from "
            "BACKUP`) or re-provision the box from the hub (`pos-edge provision --takeover`); "
            "see docs/operations.md")


class DatabaseUnusable(Exception):
    """The database file cannot be used (damaged, or not a database); the message says why
    and how to recover."""


def connect(path: Path | str) -> sqlite3.Connection:
    """Open a connection with the pragmas every edge connection uses.

    The database, its WAL and shared-memory files hold orders and secrets: any of them
    SQLite creates here is created 0600 (the umask is process-wide, hence the lock).
    """
    with _umask_lock:
        previous = os.umask(0o077)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")  # creates the file and its WAL
        except BaseException:
            os.umask(previous)
            raise
        os.umask(previous)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def quick_check(conn: sqlite3.Connection) -> str | None:
    """None when ``PRAGMA quick_check`` finds the file sound, else what it found (shortened)."""
    found = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
    return None if found == ["ok"] else "; ".join(found)[:500]


def is_damage(exc: BaseException) -> bool:
    """An error SQLite raises for a damaged file ("malformed", "not a database"), not for a
    busy or constrained one (those are subclasses)."""
    return type(exc) is sqlite3.DatabaseError or (
        isinstance(exc, sqlite3.DatabaseError) and "malformed" in str(exc))


class _Job:
    __slots__ = ("fn", "future", "loop")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.fn = fn
        self.future = future
        self.loop = loop


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Database:
    """Owns the edge database file: migrations, the writer thread and the read connection."""

    def __init__(self, path: Path | str, check_integrity: bool = False) -> None:
        self.path = Path(path)
        self.problem: str | None = None  # damage seen while running (health reports it)
        try:
            setup = connect(self.path)
            try:
                problem = quick_check(setup) if check_integrity else None
                if problem:
                    raise DatabaseUnusable(f"the edge database {self.path} is damaged "
                                           f"(quick_check: {problem}); {RECOVERY}")
                apply_migrations(setup)
            finally:
                setup.close()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            raise DatabaseUnusable(f"the edge database {self.path} cannot be read ({exc}); "
                                   f"{RECOVERY}") from None
        self._reader = connect(self.path)
        self._reader.execute("PRAGMA query_only=ON")
        self._writer = connect(self.path)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run_writer, name="sqlite-writer", daemon=True)
        self._thread.start()

    # -- public API -------------------------------------------------------------

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in a durable write transaction; return its result after COMMIT."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the read connection (a consistent WAL snapshot)."""
        return self.read_now(fn)

    def read_now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._reader.execute("BEGIN")
        try:
            return fn(self._reader)
        finally:
            self._reader.execute("COMMIT")

    def write_blocking(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Synchronous write for CLI commands and start-up (no event loop needed)."""
        done = threading.Event()
        box: dict[str, Any] = {}

        class _SyncFuture:
            def cancelled(self) -> bool:
                return False

            def set_result(self, value: Any) -> None:
                box["result"] = value
                done.set()

            def set_exception(self, exc: BaseException) -> None:
                box["error"] = exc
                done.set()

        class _Inline:
            def call_soon_threadsafe(self, cb: Callable[..., Any], *args: Any) -> None:
                cb(*args)

        self._queue.put(_Job(fn, _SyncFuture(), _Inline()))  # type: ignore[arg-type]
        done.wait()
        if "error" in box:
            raise box["error"]
        return box.get("result")  # type: ignore[return-value]

    def note_error(self, exc: BaseException) -> None:
        """Remember damage an operation ran into, so health stops saying ok."""
        if is_damage(exc) and self.problem is None:
            self.problem = str(exc)[:500]

    def check(self) -> str | None:
        """Run quick_check on a fresh connection (call it off the event loop); remember damage."""
        conn = connect(self.path)
        try:
            found = quick_check(conn)
        except sqlite3.DatabaseError as exc:
            found = str(exc)[:500]
        finally:
            conn.close()
        if found and self.problem is None:
            self.problem = found
        return found

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._reader.close()

    # -- writer thread ----------------------------------------------------------

    def _run_writer(self) -> None:
        conn = self._writer
        while True:
            job = self._queue.get()
            if job is None:
                break
            batch = [job]
            stop = False
            while len(batch) < _MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._commit_group(conn, batch)
            if stop:
                break
        conn.close()

    def _commit_group(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    result = job.fn(conn)
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((None, exc))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((result, None))
            conn.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - the commit itself failed: fail them all
            self.note_error(exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(None, exc) for _ in batch]
        for job, (result, error) in zip(batch, outcomes):
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)
