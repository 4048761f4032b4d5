"""The migrations build exactly the schema the models describe, and the job runner claims
each slot once (a failing job gives its slot back)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select

import hub.floor_models
import hub.gateways.models
import hub.reports
import hub.staff_models
import hub.sync_models
from hub.db import Database, sync_url
from hub.models import Base, JobRun
from hub.scheduler import Job, run_once, slot_start
from hub.settings import HubSettings
from tests.hub.conftest import JWT_SECRET


@pytest.fixture(params=["postgres", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")


def test_migrations_match_models(db_url: str) -> None:
    # Importing these registers the sync and staff tables on the shared metadata (the report
    # roll-ups are in hub.models; hub.reports must not add any).
    assert hub.reports and hub.sync_models and hub.staff_models and hub.gateways.models
    assert hub.floor_models
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_slot_start_is_aligned_to_the_epoch() -> None:
    now = datetime(2026, 11, 29, 5, 7, 42, 500_000, tzinfo=UTC)
    assert slot_start(now, 300) == datetime(2026, 11, 29, 5, 5, tzinfo=UTC)
    assert slot_start(now, 1) == datetime(2026, 11, 29, 5, 7, 42, tzinfo=UTC)


async def test_job_runs_once_per_slot_and_failure_releases_the_slot(db_url: str) -> None:
    calls: list[str] = []
    fail = {"now": True}

    async def flaky(session: Any, settings: HubSettings) -> dict[str, Any]:
        calls.append("run")
        if fail["now"]:
            raise RuntimeError("boom")
        return {"ok": True}

    name = f"test_job_{id(calls)}"
    job = Job(name, 60, flaky)
    when = datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC)
    settings = HubSettings(jwt_secret=JWT_SECRET)
    first, second = Database(db_url), Database(db_url)  # two "replicas"
    try:
        with pytest.raises(RuntimeError):
            await run_once(first, settings, job, now=when)
        fail["now"] = False
        assert await run_once(second, settings, job, now=when) is True  # retried the slot
        assert await run_once(first, settings, job, now=when) is False  # already done
        assert await run_once(first, settings, job, now=when.replace(second=59)) is False
        assert await run_once(first, settings, job, now=when.replace(minute=1)) is True
        async with first.system() as session:
            rows = (await session.scalars(select(JobRun).where(JobRun.job == name)
                                          .order_by(JobRun.slot_start))).all()
            count = await session.scalar(select(func.count()).select_from(JobRun)
                                         .where(JobRun.job == name))
    finally:
        await first.dispose()
        await second.dispose()
    assert calls == ["run", "run", "run"]
    assert count == 2
    assert [r.slot_start.minute for r in rows] == [0, 1]
    assert all(r.finished_at is not None and "ok" in r.result for r in rows)
