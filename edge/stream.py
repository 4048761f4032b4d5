"""The live stream a screen holds open: catch-up from the live_events table, then live.

A stream is a cursor over ``live_events`` (ids are gap-free, durable and never reused):
it first sends every event with an id above the client's ``after``, then waits on the app's
LiveFeed and sends what was committed since. Nothing is kept in memory between wake-ups, so
a screen that reconnects with the last id it saw - even to a restarted edge - gets exactly
the events it missed, none twice.

Screens take their cursor from their snapshot (``snapshot_cursor``, read in the snapshot's
transaction), so a stream never replays events that the snapshot already reflects.

A cursor this database cannot honour (pruned events, or a restored database whose ids are
lower) gets a ``{"type": "reset", "latest_id": N}`` frame first: reload the snapshot.

When nothing happens for ``heartbeat`` seconds it sends ``{"type": "heartbeat",
"latest_id": N}`` (N = the cursor, safe to resume from), so a screen notices a dead link and
a dead client is noticed by the failed send. This module knows nothing about WebSockets:
the transport passes ``send`` and a ``closed`` event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from msgspec import Struct

from edge import live
from edge.db import Database
from shared.errors import ValidationFailed

__all__ = ["BATCH", "TOPICS", "StreamQuery", "parse_query", "run_stream", "snapshot_cursor"]

TOPICS = frozenset({"kitchen", "orders", "menu", "tables"})
BATCH = 500  # events per read while catching up
DEFAULT_HEARTBEAT = 10.0


class StreamQuery(Struct, kw_only=True, frozen=True):
    topics: tuple[str, ...] = ()  # empty: every topic
    station: str | None = None
    after: int = 0
    heartbeat: float = DEFAULT_HEARTBEAT


def parse_query(topics: str | None, station: str | None, after: str | int | None,
                heartbeat: str | float | None = None) -> StreamQuery:
    """Validate the stream's query parameters (raises ValidationFailed with details)."""
    wanted = tuple(t.strip() for t in (topics or "").split(",") if t.strip())
    unknown = sorted(set(wanted) - TOPICS)
    if unknown:
        raise ValidationFailed("unknown stream topic", details={"unknown": unknown,
                                                                "known": sorted(TOPICS)})
    try:
        cursor = int(after) if after not in (None, "") else 0
        beat = float(heartbeat) if heartbeat not in (None, "") else DEFAULT_HEARTBEAT
    except ValueError as exc:
        raise ValidationFailed("after must be an integer and heartbeat a number",
                               details={"after": after, "heartbeat": heartbeat}) from exc
    if cursor < 0:
        raise ValidationFailed("after must be >= 0", details={"after": cursor})
    if not 0.2 <= beat <= 120:
        raise ValidationFailed("heartbeat must be between 0.2 and 120 seconds",
                               details={"heartbeat": beat})
    return StreamQuery(topics=wanted, station=(station or "").strip() or None, after=cursor,
                       heartbeat=beat)


class _Batch(Struct, frozen=True):
    ids: tuple[int, ...]
    frames: tuple[str, ...]  # JSON text, encoded once however many screens send it
    newest: int
    read_at: float


_encoder = msgspec.json.Encoder()
_SHARE_SECONDS = 0.05


class SharedReads:
    """Screens at the same cursor with the same filter share one read and one encoding.

    When an order is placed every kitchen screen wakes at once, at the same cursor: without
    this, 20 screens cost 20 identical queries and 20 JSON encodings on the event loop. An
    entry is reused only while the LiveFeed version it was read at is current (and for at
    most 50 ms, for writers that publish without notifying), so sharing never hides an event:
    a stream waits on the version it saw before reading, like an unshared read.
    """

    def __init__(self) -> None:
        self._version = -1
        self._entries: dict[tuple[int, tuple[str, ...], str | None], _Batch] = {}

    def read(self, conn: Any, version: int, query: StreamQuery, cursor: int) -> _Batch:
        if version != self._version:
            self._version, self._entries = version, {}
        key = (cursor, query.topics, query.station)
        now = time.monotonic()
        batch = self._entries.get(key)
        if batch is None or now - batch.read_at > _SHARE_SECONDS:
            # One snapshot: events above the cursor and the newest id, so the cursor can move
            # past events filtered out for this screen without skipping any it should get.
            events = live.events_after(conn, cursor, list(query.topics) or None, query.station,
                                       limit=BATCH)
            batch = _Batch(ids=tuple(e["id"] for e in events),
                           frames=tuple(_encoder.encode(e).decode() for e in events),
                           newest=live.latest_id(conn), read_at=now)
            if len(self._entries) > 256:
                self._entries.clear()
            self._entries[key] = batch
        return batch


async def run_stream(db: Database, feed: live.LiveFeed, query: StreamQuery,
                     send: Callable[[str], Awaitable[None]], closed: asyncio.Event,
                     shared: SharedReads | None = None) -> int:
    """Send events (JSON text frames) until ``closed`` is set or ``send`` fails; return the
    final cursor."""
    shared = shared or SharedReads()
    cursor = query.after
    gap = await db.read(lambda conn: cursor_gap(conn, cursor))
    if gap is not None:
        await send(_encoder.encode({"type": "reset", "latest_id": gap}).decode())
        cursor = gap
    while not closed.is_set():
        version = feed.version  # read before the query: a commit after it wakes us below

        def read(conn: Any, seen: int = version, start: int = cursor) -> _Batch:
            return shared.read(conn, seen, query, start)

        batch = await db.read(read)
        for event_id, frame in zip(batch.ids, batch.frames):
            await send(frame)
            cursor = event_id
        if len(batch.ids) == BATCH:
            continue  # still catching up
        cursor = max(cursor, batch.newest)
        if batch.ids:
            continue
        if await _wait(feed, version, closed, query.heartbeat) == version and not closed.is_set():
            await send(_encoder.encode({"type": "heartbeat", "latest_id": cursor}).decode())
    return cursor


def snapshot_cursor(conn: Any) -> int:
    """The id of the last live event that a snapshot read in this transaction reflects.

    A screen resumes its stream right after it: every later event is newer than the
    snapshot, and none that the snapshot already holds is replayed over it (a replay would
    step the screen back in time, e.g. show a ticket bumped meanwhile until its bump is
    replayed too).
    """
    return live.latest_id(conn)


def cursor_gap(conn: Any, after: int) -> int | None:
    """None if events after ``after`` can be replayed exactly; else the id to restart from.

    Two ways a cursor goes bad: the events just after it were pruned (``prune``), or it is
    ahead of this database (the edge was restored from a backup or re-created, so ids start
    lower). Either way the screen must reload its snapshot: the stream says so with a
    ``{"type": "reset", "latest_id": N}`` frame and continues after N.
    """
    if after <= 0:
        return None
    newest = live.latest_id(conn)
    oldest = conn.execute("SELECT MIN(id) FROM live_events").fetchone()[0]
    if after > newest:
        return newest
    first_kept = oldest if oldest is not None else newest + 1
    return newest if after < first_kept - 1 else None


def prune(conn: Any, older_than: datetime) -> int:
    """Delete live events created before ``older_than`` (ids are never reused afterwards)."""
    return int(conn.execute("DELETE FROM live_events WHERE created_at < ?",
                            (older_than.isoformat(),)).rowcount)


async def _wait(feed: live.LiveFeed, version: int, closed: asyncio.Event, timeout: float) -> int:
    """Wait for a new commit, the client leaving, or the heartbeat interval; return version."""
    changed = asyncio.ensure_future(feed.wait(version, timeout))
    gone = asyncio.ensure_future(closed.wait())
    try:
        await asyncio.wait({changed, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (changed, gone):
            if not task.done():
                task.cancel()
    return feed.version
