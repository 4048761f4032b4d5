"""The stream cursor over live_events on a real database file: catch-up, live delivery,
filters, heartbeats and resuming from the last id (the WebSocket tests cover the transport)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from edge import live
from edge.db import Database
from edge.stream import StreamQuery, parse_query, run_stream
from shared.errors import ValidationFailed


async def _publish(db: Database, feed: live.LiveFeed, n: int, station: str = "grill",
                   topic: str = "kitchen") -> None:
    def write(conn: Any) -> None:
        for i in range(n):
            live.publish(conn, topic, "ticket.created", {"n": i}, station=station)
    await db.write(write)
    feed.notify()


async def _collect(db: Database, feed: live.LiveFeed, query: StreamQuery, until: int
                   ) -> tuple[list[dict[str, Any]], asyncio.Event, asyncio.Task[int]]:
    frames: list[dict[str, Any]] = []
    closed = asyncio.Event()

    async def send(text: str) -> None:
        frame = json.loads(text)
        frames.append(frame)
        if len([f for f in frames if "id" in f]) >= until:
            closed.set()

    task = asyncio.create_task(run_stream(db, feed, query, send, closed))
    return frames, closed, task


async def test_catch_up_then_live_then_resume(tmp_path: Path) -> None:
    db, feed = Database(tmp_path / "edge.db"), live.LiveFeed()
    try:
        await _publish(db, feed, 3)
        frames, _closed, task = await _collect(db, feed, StreamQuery(topics=("kitchen",)), 5)
        await asyncio.sleep(0.05)
        await _publish(db, feed, 2)
        cursor = await asyncio.wait_for(task, 5)
        ids = [f["id"] for f in frames if "id" in f]
        assert ids == [1, 2, 3, 4, 5] and cursor == 5
        await _publish(db, feed, 2)
        frames2, _, task2 = await _collect(db, feed, StreamQuery(after=cursor), 2)
        await asyncio.wait_for(task2, 5)
        assert [f["id"] for f in frames2 if "id" in f] == [6, 7]
    finally:
        db.close()


async def test_station_filter_and_heartbeat_cursor(tmp_path: Path) -> None:
    db, feed = Database(tmp_path / "edge.db"), live.LiveFeed()
    try:
        await _publish(db, feed, 2, station="bar")
        await _publish(db, feed, 1, station="grill")
        await _publish(db, feed, 1, topic="menu", station=None)
        query = StreamQuery(topics=("kitchen",), station="grill", heartbeat=0.2)
        frames, closed, task = await _collect(db, feed, query, 99)
        await asyncio.sleep(0.5)
        closed.set()
        await asyncio.wait_for(task, 5)
        events = [f for f in frames if "id" in f]
        beats = [f for f in frames if f.get("type") == "heartbeat"]
        assert [(e["id"], e["station"]) for e in events] == [(3, "grill")]
        # the cursor moved past the events this screen does not want
        assert beats and beats[0]["latest_id"] == 4
    finally:
        db.close()


def test_query_validation() -> None:
    assert parse_query("kitchen,orders", " grill ", "12").station == "grill"
    with pytest.raises(ValidationFailed):
        parse_query("kitchen,bogus", None, None)
    with pytest.raises(ValidationFailed):
        parse_query(None, None, "-1")
    with pytest.raises(ValidationFailed):
        parse_query(None, None, "abc")


async def test_screens_sharing_reads_each_get_every_event(tmp_path: Path) -> None:
    from edge.stream import SharedReads

    db, feed, shared = Database(tmp_path / "edge.db"), live.LiveFeed(), SharedReads()
    try:
        await _publish(db, feed, 2)
        screens = []
        for _ in range(5):
            frames: list[dict[str, Any]] = []
            closed = asyncio.Event()

            async def send(text: str, frames: list[dict[str, Any]] = frames,
                           closed: asyncio.Event = closed) -> None:
                frames.append(json.loads(text))
                if len([f for f in frames if "id" in f]) == 12:
                    closed.set()

            task = asyncio.create_task(run_stream(db, feed, StreamQuery(heartbeat=5), send,
                                                  closed, shared))
            screens.append((frames, task))
        for _ in range(5):  # commits while the screens are waking and reading
            await asyncio.sleep(0.005)
            await _publish(db, feed, 2)
        for frames, task in screens:
            assert await asyncio.wait_for(task, 5) == 12
            assert [f["id"] for f in frames if "id" in f] == list(range(1, 13))
    finally:
        db.close()


async def test_a_cursor_the_database_cannot_honour_gets_a_reset(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from edge.stream import prune

    db, feed = Database(tmp_path / "edge.db"), live.LiveFeed()
    try:
        await _publish(db, feed, 5)

        async def first_frames(after: int, n: int) -> list[dict[str, Any]]:
            frames, closed, task = await _collect(db, feed, StreamQuery(after=after,
                                                                         heartbeat=0.2), 99)
            while len(frames) < n:
                await asyncio.sleep(0.02)
            closed.set()
            await asyncio.wait_for(task, 5)
            return frames[:n]

        # a screen from before a restore: its cursor is ahead of this database
        assert (await first_frames(42, 2)) == [{"type": "reset", "latest_id": 5},
                                               {"type": "heartbeat", "latest_id": 5}]
        # an exact cursor replays, no reset
        assert [f.get("id") for f in await first_frames(3, 2)] == [4, 5]
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert await db.write(lambda conn: prune(conn, later)) == 5
        await _publish(db, feed, 1)  # id 6: ids are never reused after pruning
        assert [f.get("id") for f in await first_frames(5, 1)] == [6]  # nothing was lost
        assert (await first_frames(2, 2))[0] == {"type": "reset", "latest_id": 6}
    finally:
        db.close()
