"""Live events for the outlet's screens, written in the same transaction as the change.

``publish`` inserts a row inside the caller's write transaction; after the commit,
``LiveFeed.notify()`` wakes every waiting stream, which then reads rows with an id above
its cursor. Because streams read from the table (not from an in-memory queue), a screen
that reconnects with ``after=<last id>`` misses nothing and sees nothing twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["LiveFeed", "events_after", "latest_id", "publish"]

_json = msgspec.json.Encoder()


def publish(conn: sqlite3.Connection, topic: str, type_: str, data: Any,
            station: str | None = None, now: datetime | None = None) -> int:
    """Record a live event in the caller's transaction; return its id."""
    now = now or datetime.now(UTC)
    cur = conn.execute(
        "INSERT INTO live_events (topic, station, type, data, created_at) VALUES (?, ?, ?, ?, ?)",
        (topic, station, type_, _json.encode(data).decode(), now.isoformat()),
    )
    return int(cur.lastrowid or 0)


def events_after(conn: sqlite3.Connection, after: int, topics: list[str] | None = None,
                 station: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Events with id > after, oldest first, filtered by topic and (for kitchen) station."""
    sql = "SELECT id, topic, station, type, data, created_at FROM live_events WHERE id > ?"
    args: list[Any] = [after]
    if topics:
        sql += f" AND topic IN ({','.join('?' * len(topics))})"
        args += topics
    if station:
        sql += " AND (station IS NULL OR station = ?)"
        args.append(station)
    sql += " ORDER BY id LIMIT ?"
    args.append(limit)
    return [
        {"id": r["id"], "topic": r["topic"], "station": r["station"], "type": r["type"],
         "data": msgspec.json.decode(r["data"]), "at": r["created_at"]}
        for r in conn.execute(sql, args)
    ]


def latest_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'live_events'").fetchone()
    return int(row[0]) if row else 0


class LiveFeed:
    """Wakes waiting streams after a commit. One per app, bound to its event loop."""

    def __init__(self) -> None:
        self._version = 0
        self._changed = asyncio.Condition()

    def notify(self) -> None:
        """Call after a write that published events has committed (from the loop thread)."""
        self._version += 1
        asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, seen_version: int, timeout: float) -> int:
        """Wait until something was published after ``seen_version``; return the new version."""
        async with self._changed:
            if self._version == seen_version:
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout)
                except TimeoutError:
                    pass
            return self._version

    @property
    def version(self) -> int:
        return self._version
