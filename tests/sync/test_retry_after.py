"""The edge honours the hub's Retry-After: a shed push or pull waits at least the pause the
hub asked for, against a real socket server answering exactly as the hub's overload guard
does (503, JSON error, Retry-After)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from edge import sync_state
from sync.client import HubClient, HubUnreachable, retry_after_seconds
from sync.engine import Backoff
from sync.pull import pull_once
from sync.push import push_once
from tests.sync.conftest import EdgeJournal


class SheddingHub:
    """A socket server that answers every request like an overloaded hub."""

    def __init__(self, retry_after: str, status: int = 503) -> None:
        self.retry_after, self.status = retry_after, status
        self.requests = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        self.requests += 1
        body = json.dumps({"error": {"code": "overloaded", "message": "the hub is at capacity",
                                     "details": {}}}).encode()
        writer.write(b"HTTP/1.1 %d Busy\r\nContent-Type: application/json\r\n"
                     b"Retry-After: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % (self.status, self.retry_after.encode(), len(body)) + body)
        await writer.drain()
        writer.close()


@pytest.fixture
def journal(tmp_path: Path):
    box = EdgeJournal(tmp_path / "edge.db", "outlet-retry")
    yield box
    box.close()


@pytest.mark.parametrize("status", [503, 429])
async def test_a_shed_push_waits_at_least_the_hubs_retry_after(journal, status: int) -> None:
    hub = SheddingHub("37", status)
    url = await hub.start()
    try:
        store = sync_state.EdgeStore(journal.db, Path("."))
        async with HubClient(url, "credential") as client:
            outcome = await push_once(store, client, "outlet-retry", max_events=10,
                                      max_bytes=1 << 20)
            pulled = await pull_once(store, client)
    finally:
        await hub.stop()
    assert outcome.unreachable and outcome.retry_after == 37.0
    assert pulled.unreachable and pulled.retry_after == 37.0
    backoff = Backoff(1.0, 5.0)  # the hub's pause wins over the edge's own (shorter) maximum
    now = time.monotonic()
    delay = backoff.failure(now, retry_after=outcome.retry_after)
    assert delay == 37.0 and not backoff.ready(now + 36.9) and backoff.ready(now + 37.0)
    assert hub.requests == 2


async def test_without_retry_after_the_jittered_backoff_applies() -> None:
    backoff = Backoff(1.0, 4.0)
    delays = [backoff.failure(0.0) for _ in range(50)]
    assert all(1.0 <= d <= 4.0 for d in delays) and len(set(delays)) > 10


def test_retry_after_forms() -> None:
    def answer(value: str | None) -> httpx.Response:
        headers = {"Retry-After": value} if value is not None else {}
        return httpx.Response(503, headers=headers)

    assert retry_after_seconds(answer("12")) == 12.0
    assert retry_after_seconds(answer(None)) is None
    assert retry_after_seconds(answer("soon")) is None
    assert retry_after_seconds(answer("999999")) == 3600.0  # capped at an hour
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 <= (retry_after_seconds(answer(later)) or 0) <= 120
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=120), usegmt=True)
    assert retry_after_seconds(answer(past)) == 0.0
    error = HubUnreachable("busy", retry_after=3.0)
    assert error.retry_after == 3.0 and str(error) == "busy"
