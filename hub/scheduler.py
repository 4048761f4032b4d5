"""Scheduled jobs (APScheduler 3) that run exactly once per time slot across hub replicas.

Every replica runs the same AsyncIOScheduler with interval triggers aligned to the epoch
(a 300 s job fires at :00, :05, ... in every process). When a job fires, the replica opens a
system transaction and

1. on PostgreSQL takes ``pg_try_advisory_xact_lock(job)`` — a replica that does not get it
   skips (another one is running the job right now);
2. inserts the claim row ``job_runs(job, slot_start)``; its primary key makes a second claim
   for the same slot fail, so a replica that fires late (after the winner committed) skips too;
3. runs the job and records its result in the same transaction.

If the job fails, the transaction (claim included) rolls back and the next replica to fire in
that slot may retry it. Jobs are coroutines ``run(session, settings) -> dict`` and must be
short (they hold one transaction).
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.identity import cleanup_auth
from hub.models import JobRun, utcnow
from hub.settings import HubSettings

__all__ = ["RUNNER_ID", "Job", "JobScheduler", "default_jobs", "run_once", "slot_start"]

log = logging.getLogger("hub.scheduler")

RUNNER_ID = f"{socket.gethostname()}:{os.getpid()}"

JobFn = Callable[[AsyncSession, HubSettings], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: int
    run: JobFn


def slot_start(now: datetime, interval_seconds: int) -> datetime:
    """The start of the time slot ``now`` falls in (slots are aligned to the Unix epoch)."""
    seconds = math.floor(now.timestamp() / interval_seconds) * interval_seconds
    return datetime.fromtimestamp(seconds, UTC)


def _lock_key(name: str) -> int:
    # Stable across processes (unlike hash()): a 63-bit key from the job name.
    import hashlib

    return int.from_bytes(hashlib.sha256(f"pos-hub-job:{name}".encode()).digest()[:8], "big") >> 1


async def run_once(db: Database, settings: HubSettings, job: Job,
                   now: datetime | None = None) -> bool:
    """Run ``job`` for the current slot unless another replica has; True if this one ran it."""
    slot = slot_start(now or utcnow(), job.interval_seconds)
    async with db.system() as session:
        if db.is_postgres:
            got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                       {"key": _lock_key(job.name)})
            if not got:
                return False
        claim = JobRun(job=job.name, slot_start=slot, runner=RUNNER_ID, result="")
        try:
            async with session.begin_nested():
                session.add(claim)
                await session.flush()
        except IntegrityError:
            return False
        result = await job.run(session, settings)
        claim.finished_at = utcnow()
        claim.result = str(result)[:2000]
    log.info("job ran", extra={"job": job.name, "slot": slot.isoformat(), "runner": RUNNER_ID,
                               "result": result})
    return True


async def _token_cleanup(session: AsyncSession, settings: HubSettings) -> dict[str, Any]:
    return await cleanup_auth(session, settings)


async def _partition_maintenance(session: AsyncSession, settings: HubSettings) -> dict[str, Any]:
    from hub.partitions import maintain

    return await maintain(session, settings)


def default_jobs(settings: HubSettings) -> list[Job]:
    """The hub core's jobs; other modules add theirs in hub.app.create_app."""
    return [Job("token_cleanup", settings.token_cleanup_interval_seconds, _token_cleanup),
            # monthly partitions ahead and the retention (hub.partitions; no-op on SQLite)
            Job("partition_maintenance", settings.partition_maintenance_interval_seconds,
                _partition_maintenance)]


class JobScheduler:
    """Owns the APScheduler instance of one hub process."""

    def __init__(self, db: Database, settings: HubSettings, jobs: list[Job]) -> None:
        self.db, self.settings, self.jobs = db, settings, jobs
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    async def _fire(self, job: Job) -> None:
        try:
            await run_once(self.db, self.settings, job)
        except Exception:  # a failing job must not kill the scheduler; it retries next slot
            log.exception("job failed", extra={"job": job.name})

    def start(self) -> None:
        for job in self.jobs:
            first = slot_start(utcnow(), job.interval_seconds).timestamp() + job.interval_seconds
            self._scheduler.add_job(
                self._fire, IntervalTrigger(seconds=job.interval_seconds,
                                            start_date=datetime.fromtimestamp(first, UTC)),
                args=[job], id=job.name, max_instances=1, coalesce=True,
                misfire_grace_time=max(1, job.interval_seconds // 2))
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
