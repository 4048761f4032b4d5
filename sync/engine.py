"""The sync engine inside the edge process: background push/pull/prune loops (asyncio tasks).

The engine is given the box's journal store (``sync.store.JournalStore``; the edge hands in
``edge.sync_state.EdgeStore``) and never touches a database itself:
``SyncEngine(store, settings)``.

* A short *tick* loop (``POS_SYNC_TICK``, default 0.5 s) pushes as soon as the outbox has
  something new, so an order reaches the hub within about a second of the sale; when the
  outbox is empty it still contacts the hub every ``POS_SYNC_INTERVAL`` (15) seconds (heartbeat,
  restore detection, fleet status). The timer runs whether or not sales happen: a backlog
  left by a partition or a killed process drains on its own once the hub answers.
* A backlog drains batch after batch at full speed. Each batch is read from the WAL reader
  and acknowledged with one small write, so the single writer keeps serving live orders
  between batches (a sale never waits for sync).
* While the hub is unreachable, attempts back off exponentially with full jitter between
  ``POS_SYNC_MIN_BACKOFF`` and ``POS_SYNC_MAX_BACKOFF`` seconds (1 to 60). A refusal (revoked
  credential, broken chain) waits five times the maximum (300 s): the hub said no,
  hammering won't help.
  A hub that sheds load answers 503 (or 429) with ``Retry-After``: the next attempt waits at
  least that long (the hub draws it at random, so the fleet comes back spread out).
* ``wake`` (``pos-edge sync now``: SIGUSR1 to the server, or ``POST /api/v1/sync/now``) ends
  any backoff and pushes and pulls at once, e.g. after an outage was fixed.
* Pull runs every ``POS_SYNC_PULL_INTERVAL`` seconds; prune deletes acknowledged events
  older than ``POS_SYNC_RETENTION_DAYS`` every ``POS_SYNC_PRUNE_INTERVAL`` seconds.

Each loop runs one job at a time and sleeps between runs, so a slow drain simply delays the
next tick (plain asyncio tasks: a scheduler would log two lines per tick and warn whenever a
drain outlasted it). Settings come from ``POS_SYNC_*`` environment variables
(``SyncSettings.from_env``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from sync.client import HubClient
from sync.protocol import MAX_PUSH_ENTRIES
from sync.pull import pull_once
from sync.push import push_once, push_pipelined
from sync.store import HubLink, JournalStore

__all__ = ["Backoff", "SyncEngine", "SyncSettings"]

log = logging.getLogger("sync.engine")

REFUSED_FACTOR = 5  # a refusal waits this many maximum backoffs: the hub said no
MAX_BATCH_BYTES = 4_000_000  # event bodies per push; with the envelope well under 8 MiB


class SyncSettings(msgspec.Struct, kw_only=True):
    enabled: bool = True
    tick: float = 0.5  # seconds between checks for new outbox events
    interval: float = 15.0  # heartbeat push when idle, seconds
    pull_interval: float = 30.0
    min_backoff: float = 1.0
    # An unreachable hub is retried at most this far apart, so a fleet is back within about a
    # minute of a hub restart (tests/bench/bench_hub_restart.py); a refusal waits five times
    # as long (REFUSED_FACTOR).
    max_backoff: float = 60.0
    # Big batches drain a backlog fastest (per-batch costs: a transaction, an fsync, a round
    # trip); event bodies are capped well below the hub's request limit (8 MiB) even if
    # compression gained nothing.
    batch_events: int = 2000
    batch_bytes: int = 2_000_000
    pipeline_depth: int = 2  # batches in flight while draining a backlog (1 = one at a time)
    timeout: float = 15.0
    retention_days: float = 7.0
    prune_interval: float = 3600.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> SyncSettings:
        """Every field may be set as ``POS_SYNC_<FIELD>`` (e.g. POS_SYNC_MAX_BACKOFF=30)."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for name, annotation in cls.__annotations__.items():
            raw = environ.get("POS_SYNC_" + name.upper())
            if raw is None:
                continue
            if annotation in (bool, "bool"):
                values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif annotation in (int, "int"):
                values[name] = int(raw)
            else:
                values[name] = float(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = msgspec.convert(values, cls)
        if settings.min_backoff <= 0 or settings.max_backoff < settings.min_backoff:
            raise ValueError("POS_SYNC_MIN_BACKOFF must be > 0 and <= POS_SYNC_MAX_BACKOFF")
        if settings.pipeline_depth < 1:
            raise ValueError("POS_SYNC_PIPELINE_DEPTH must be >= 1")
        if (not 1 <= settings.batch_events <= MAX_PUSH_ENTRIES
                or not 1024 <= settings.batch_bytes <= MAX_BATCH_BYTES):
            raise ValueError(f"POS_SYNC_BATCH_EVENTS must be between 1 and {MAX_PUSH_ENTRIES} and "
                             f"POS_SYNC_BATCH_BYTES between 1024 and {MAX_BATCH_BYTES} (the hub "
                             "takes pushes up to 8 MiB)")
        return settings


class Backoff:
    """Exponential backoff with full jitter: wait uniform(min, min * 2**n) capped at max; a
    refusal waits ``refused`` (default: max)."""

    def __init__(self, minimum: float, maximum: float, refused: float | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.refused_wait = maximum if refused is None else refused
        self.failures = 0
        self.not_before = 0.0  # monotonic time

    def ready(self, now: float) -> bool:
        return now >= self.not_before

    def success(self) -> None:
        self.failures = 0
        self.not_before = 0.0

    def failure(self, now: float, refused: bool = False,
                retry_after: float | None = None) -> float:
        """Record a failure; wait at least ``retry_after`` when the hub asked for a pause (its
        own jittered value, so outlets it shed come back spread out), even past ``maximum``."""
        self.failures += 1
        if refused:
            delay = self.refused_wait
        else:
            ceiling = min(self.maximum, self.minimum * (2 ** min(self.failures - 1, 30)))
            delay = random.uniform(self.minimum, max(self.minimum, ceiling))
        if retry_after is not None:
            delay = max(delay, retry_after)
        self.not_before = now + delay
        return delay

    def reset(self) -> None:
        self.not_before = 0.0


class SyncEngine:
    """Owns the hub client and the background jobs for one box's journal store."""

    def __init__(self, store: JournalStore, settings: SyncSettings | None = None,
                 transport: Any = None) -> None:
        self.store = store
        self.settings = settings or SyncSettings.from_env()
        self._transport = transport
        self._client: HubClient | None = None
        self._link: HubLink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wakers: dict[str, asyncio.Event] = {}
        self._signal_installed = False
        self._push_lock = asyncio.Lock()
        self._pull_lock = asyncio.Lock()
        refused = self.settings.max_backoff * REFUSED_FACTOR
        self.push_backoff = Backoff(self.settings.min_backoff, self.settings.max_backoff, refused)
        self.pull_backoff = Backoff(self.settings.min_backoff, self.settings.max_backoff, refused)
        self._last_contact = 0.0
        self._resend: tuple[int, str | None] | None = None

    # -- lifecycle -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def _load(self) -> bool:
        if self._client is not None:
            return True
        link = self.store.hub_link()
        if link is None:
            return False
        self._link = link
        self._client = HubClient(link.hub_url, link.credential, timeout=self.settings.timeout,
                                 transport=self._transport)
        return True

    def start(self) -> None:
        """Start the background loops (call from a running event loop, e.g. app startup)."""
        if not self.settings.enabled or self._tasks:
            return
        if not self._load():
            log.info("sync not started: this box is not provisioned (pos-edge provision)")
            return
        s = self.settings
        # httpx logs every request at INFO: one line per push and heartbeat. The engine logs
        # what an operator needs (failures, refusals, epoch changes) itself.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
        loop = asyncio.get_running_loop()
        self._wakers = {"push": asyncio.Event(), "pull": asyncio.Event()}
        self._tasks = [
            loop.create_task(self._every("push", s.tick, self._push_tick)),
            loop.create_task(self._every("pull", min(s.tick * 2, s.pull_interval), self._pull_tick)),
            loop.create_task(self._every("prune", s.prune_interval, self.prune,
                                         first_delay=min(60.0, s.prune_interval))),
        ]
        try:  # `pos-edge sync now` signals the server process
            loop.add_signal_handler(signal.SIGUSR1, self.wake)
            self._signal_installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests running the app in-process): the endpoint remains
        log.info("sync engine started", extra={"hub": self._link.hub_url if self._link else "",
                                               "outlet_id": self._link.outlet_id if self._link else ""})

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._signal_installed:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
            self._signal_installed = False
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _every(self, name: str, period: float, job: Callable[[], Awaitable[Any]],
                     first_delay: float = 0.0) -> None:
        """Run ``job``, then sleep ``period`` (or until woken), forever; one run at a time."""
        if first_delay:
            await self._sleep(name, first_delay)
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed run must not end the loop
                log.exception("sync job failed", extra={"job": name})
            await self._sleep(name, period)

    async def _sleep(self, name: str, seconds: float) -> None:
        waker = self._wakers.get(name)
        if waker is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(waker.wait(), timeout=seconds)
        except TimeoutError:
            pass
        waker.clear()

    def kick(self) -> None:
        """Push now (call after a change; the tick would find it within ``tick`` anyway)."""
        self.push_backoff.reset()
        if "push" in self._wakers:
            self._wakers["push"].set()

    def wake(self) -> None:
        """End every backoff and contact the hub now: push (even with an empty outbox) and pull."""
        self.push_backoff.reset()
        self.pull_backoff.reset()
        self._last_contact = 0.0  # an empty outbox still sends a heartbeat: proves the link
        for waker in self._wakers.values():
            waker.set()
        log.info("sync woken: pushing and pulling now")

    # -- jobs ------------------------------------------------------------------------

    async def _reload_if_changed(self) -> None:
        """Pick up a new credential written by `pos-edge provision --reenroll` while running."""
        link = self.store.hub_link()
        if link is not None and link != self._link and self._client is not None:
            old = self._client
            self._client = None
            await old.close()
            if self._load():
                log.info("sync credential reloaded")
                self.push_backoff.success()
                self.pull_backoff.success()

    async def _push_tick(self) -> None:
        await self._reload_if_changed()
        now = time.monotonic()
        if not self.push_backoff.ready(now):
            return
        backlog = await self.store.read(lambda j: j.backlog())
        if backlog == 0 and self._resend is None and now - self._last_contact < self.settings.interval:
            return
        await self.drain()

    async def drain(self) -> int:
        """Push batches until the backlog is empty or the hub fails; returns events sent."""
        if not self._load():
            return 0
        assert self._client is not None and self._link is not None
        sent = 0
        resends = 0
        async with self._push_lock:
            while True:
                resend_from, resend_epoch = self._resend or (None, None)
                if resend_from is None and self.settings.pipeline_depth > 1:
                    outcome = await push_pipelined(self.store, self._client,
                                                   self._link.outlet_id,
                                                   max_events=self.settings.batch_events,
                                                   max_bytes=self.settings.batch_bytes,
                                                   depth=self.settings.pipeline_depth)
                else:
                    outcome = await push_once(self.store, self._client, self._link.outlet_id,
                                              max_events=self.settings.batch_events,
                                              max_bytes=self.settings.batch_bytes,
                                              resend_from=resend_from, resend_epoch=resend_epoch)
                now = time.monotonic()
                if not outcome.ok:
                    delay = self.push_backoff.failure(now, refused=bool(outcome.refused),
                                                      retry_after=outcome.retry_after)
                    log.warning("push failed", extra={"error": outcome.error,
                                                      "retry_in_s": round(delay, 2)})
                    return sent
                self._last_contact = now
                self.push_backoff.success()
                sent += outcome.sent
                self._resend = ((outcome.resend_from, await self._resend_epoch())
                                if outcome.resend_from is not None else None)
                resends = resends + 1 if self._resend is not None else 0
                if resends > 3:  # the hub keeps asking for the same thing: pace it
                    self.push_backoff.failure(now)
                    return sent
                if not outcome.more:
                    return sent
                await asyncio.sleep(0)  # let live requests run between batches

    async def _resend_epoch(self) -> str | None:
        return await self.store.read(lambda j: j.first_unacked_epoch())

    async def _pull_tick(self) -> None:
        now = time.monotonic()
        if not self.pull_backoff.ready(now):
            return
        await self.pull()

    async def pull(self) -> Any:
        if not self._load():
            return None
        assert self._client is not None
        async with self._pull_lock:
            outcome = await pull_once(self.store, self._client)
            now = time.monotonic()
            if outcome.ok:
                self.pull_backoff.success()
                self.pull_backoff.not_before = now + self.settings.pull_interval
            else:
                self.pull_backoff.failure(now, refused=bool(outcome.refused),
                                          retry_after=outcome.retry_after)
            return outcome

    async def prune(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.retention_days)
        deleted = await self.store.write(lambda j: j.prune(cutoff))
        if deleted:
            log.info("pruned synced events", extra={"deleted": deleted})
        return deleted

