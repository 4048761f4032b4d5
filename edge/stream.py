"""The live stream a screen holds open: catch-up from the live_events table, then live.

A stream is a cursor over ``live_events`` (ids are gap-free, durable and never reused):
it first sends every event with an id above the client's ``after``, then waits on the app's
LiveFeed and sends what was committed since. Nothing is kept in memory between wake-ups, so
a screen that reconnects with the last id it saw - even to a restarted edge - gets exactly
the events it missed, none twice.

When nothing happens for ``heartbeat`` seconds it sends ``{"type": "heartbeat",
"latest_id": N}`` (N = the cursor, safe to resume from), so a screen notices a dead link and
a dead client is noticed by the failed send. This module knows nothing about WebSockets:
the transport passes ``send`` and a ``closed`` event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from msgspec import Struct

from edge import live
from edge.db import Database
from shared.errors import ValidationFailed

__all__ = ["BATCH", "TOPICS", "StreamQuery", "parse_query", "run_stream"]

TOPICS = frozenset({"kitchen", "orders", "menu"})
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


def _read_batch(query: StreamQuery, cursor: int) -> Callable[[Any], tuple[list[dict[str, Any]], int]]:
    def read(conn: Any) -> tuple[list[dict[str, Any]], int]:
        # One snapshot: events above the cursor and the newest id, so the cursor can move past
        # events filtered out for this screen without skipping any it should get.
        events = live.events_after(conn, cursor, list(query.topics) or None, query.station,
                                   limit=BATCH)
        return events, live.latest_id(conn)
    return read


async def run_stream(db: Database, feed: live.LiveFeed, query: StreamQuery,
                     send: Callable[[dict[str, Any]], Awaitable[None]],
                     closed: asyncio.Event) -> int:
    """Send events until ``closed`` is set or ``send`` fails; return the final cursor."""
    cursor = query.after
    while not closed.is_set():
        version = feed.version  # read before the query: a commit after it wakes us below
        events, newest = await db.read(_read_batch(query, cursor))
        for event in events:
            await send(event)
            cursor = event["id"]
        if len(events) == BATCH:
            continue  # still catching up
        cursor = max(cursor, newest)
        if events:
            continue
        if await _wait(feed, version, closed, query.heartbeat) == version and not closed.is_set():
            await send({"type": "heartbeat", "latest_id": cursor})
    return cursor


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
