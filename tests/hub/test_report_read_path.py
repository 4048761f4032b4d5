"""The sales report's fast read path (``hub.reports.fast``, PostgreSQL) answers what the
session path (``hub.reports.sales_report``) answers, figure for figure.

On synced data with every kind of money (several outlets in zones with DST and a half-hour
offset, voids, refunds, partial and over-payments, discounts, split and merged bills,
kitchen times): with no roll-ups, rolled up, and after a late sync made some stored cells
stale; for the whole period, one outlet, one day and a few days; with live cells computed on
the reader's connection and in a session. Both connection modes of the reader (implicit
transactions, PgBouncer's explicit ones), as the app role under RLS. Then the scope: an area
manager sees only their outlets, another tenant's outlet does not exist, a role without
reports is refused, a token that is no longer current is told so, and a tenant's report
holds only its own rows (checked against the raw journal).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import update

from hub import reports
from hub.db import CallerNotCurrent, Database
from hub.identity import Principal
from hub.models import User
from hub.reports import fast
from hub.schemas import SalesReport
from shared.errors import Forbidden, NotFound
from shared.ids import new_id
from tests.hub.test_reports import (
    DAY_FROM,
    DAY_TO,
    SCENARIO_TAXES,
    Seeded,
    add_money_edge_cases,
    assert_matches,
    expected_report,
    generate_outlet_orders,
    seed_tenant,
    void_late,
)

pytestmark = pytest.mark.postgres

ROLLED_UP_AT = datetime(2026, 4, 10, tzinfo=UTC)
TIMINGS = ("fingerprint_ms", "rollups_ms", "live_ms", "elapsed_ms")


@pytest.fixture(params=[False, True], ids=["statements", "pgbouncer-transaction"])
async def db(pg_roles: Any, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    database = Database(pg_roles.app, system_url=pg_roles.system, pool_size=2,
                        pgbouncer=request.param)
    yield database
    await database.dispose()


def _plain(report: SalesReport) -> dict[str, Any]:
    """The report as the HTTP answer carries it, without the phases' timings."""
    found: dict[str, Any] = msgspec.to_builtins(report)
    found["source"] = {k: v for k, v in found["source"].items() if k not in TIMINGS}
    return found


async def _session_path(db: Database, principal: Principal, **period: Any) -> dict[str, Any]:
    async with db.tenant(principal.tenant_id, readonly=True) as session:
        return _plain(await reports.sales_report(session, principal, **period))


async def _both(db: Database, principal: Principal, outlet_id: str | None = None,
                day_from: date = DAY_FROM, day_to: date = DAY_TO) -> dict[str, Any]:
    """The fast path's report, checked equal to the session path's (live cells on the
    reader where few, and with every live cell on the reader); returns it."""
    period = {"outlet_id": outlet_id, "day_from": day_from, "day_to": day_to}
    expected = await _session_path(db, principal, **period)
    got = _plain(await fast.sales_report_fast(db, principal, **period))
    assert got == expected
    limit = fast.READER_LIVE_DAYS
    fast.READER_LIVE_DAYS = 400
    try:
        assert _plain(await fast.sales_report_fast(db, principal, **period)) == expected
    finally:
        fast.READER_LIVE_DAYS = limit
    return got


async def _roll_up(db: Database, tenant_id: str) -> dict[str, int]:
    async with db.system() as session:
        return await reports.refresh_rollups(session, now=ROLLED_UP_AT, lookback_days=60,
                                             tenant_id=tenant_id)


def new_suffix() -> str:
    return new_id()[-8:]


def _area_manager(seeded: Seeded, outlet_ids: list[str]) -> Principal:
    return Principal(user_id=seeded.owner_id, tenant_id=seeded.tenant_id, role="area_manager",
                     outlet_ids=tuple(outlet_ids))


async def test_fast_report_equals_the_session_path_through_rollups_and_late_syncs(
        db: Database) -> None:
    seeded = await seed_tenant(db, f"Fast {new_suffix()}", {
        "Jakarta Sudirman": "Asia/Jakarta", "Berlin Mitte": "Europe/Berlin",
        "Mumbai Bandra": "Asia/Kolkata"}, orders_per_outlet=50, seed=21, table_parties=10,
        taxes=SCENARIO_TAXES)
    for outlet_id in seeded.outlets.values():
        add_money_edge_cases(seeded, outlet_id, date(2026, 3, 28))
        await seeded.journals[outlet_id].push(db, seeded.tenant_id)
    owner = seeded.owner()
    jakarta, berlin = seeded.outlets["Jakarta Sudirman"], seeded.outlets["Berlin Mitte"]
    expected = expected_report(seeded, DAY_FROM, DAY_TO)
    assert expected["voids"]["count"] > 5 and expected["refunds"]["count"] > 1
    assert expected["open"]["paid"] > 0 and expected["sales"]["overpaid"] > 0

    # No roll-ups: every cell live (five days: in a session; one or two: on the reader).
    whole = await _both(db, owner)
    assert whole["source"] == {"rollup_cells": 0, "live_cells": 15, "tenant_wide_days": 0}
    assert_matches(whole, expected)
    await _both(db, owner, outlet_id=berlin)
    await _both(db, owner, day_from=date(2026, 3, 29), day_to=date(2026, 3, 29))
    await _both(db, owner, day_from=date(2026, 3, 29), day_to=date(2026, 3, 30))
    empty = await _both(db, owner, day_from=date(2025, 1, 1), day_to=date(2025, 1, 31))
    assert empty["order_count"] == 0 and len(empty["by_day"]) == 31

    # Rolled up: PostgreSQL sums the stored cells (tenant-wide cells for the owner).
    assert (await _roll_up(db, seeded.tenant_id))["built"] >= 15
    rolled = await _both(db, owner)
    assert rolled["source"] == {"rollup_cells": 15, "live_cells": 0, "tenant_wide_days": 5}
    assert_matches(rolled, expected)
    await _both(db, owner, outlet_id=jakarta)
    await _both(db, _area_manager(seeded, [jakarta, berlin]))
    # a period reaching past the rolled-up days (the first and last days of orders are
    # outside DAY_FROM..DAY_TO but rolled up too)
    await _both(db, owner, day_from=DAY_FROM - timedelta(days=3), day_to=DAY_TO + timedelta(days=3))

    # A late sync voids a paid order of a rolled-up day and adds orders to it: that day's
    # cell is stale, computed live on top of the stored sums of the others.
    journal, day = void_late(seeded, jakarta)
    generate_outlet_orders(seeded, jakarta, journal, 4, random.Random(5), seeded.taxes[jakarta],
                           day, day)
    await journal.push(db, seeded.tenant_id)
    after = await _both(db, owner)
    assert after["source"]["live_cells"] >= 1 and after["source"]["rollup_cells"] >= 12
    assert after["source"]["tenant_wide_days"] < 5
    assert_matches(after, expected_report(seeded, DAY_FROM, DAY_TO))
    await _both(db, owner, outlet_id=jakarta)
    await _both(db, _area_manager(seeded, [jakarta]))
    await _both(db, owner, day_from=day, day_to=day)


async def test_fast_report_keeps_tenants_and_outlet_scopes_apart(db: Database) -> None:
    alpha = await seed_tenant(db, f"Alpha {new_suffix()}", {"A Jakarta": "Asia/Jakarta",
                                                            "A Makassar": "Asia/Makassar"},
                              orders_per_outlet=40, seed=3)
    bravo = await seed_tenant(db, f"Bravo {new_suffix()}", {"B Jakarta": "Asia/Jakarta"},
                              orders_per_outlet=40, seed=4)
    await _roll_up(db, alpha.tenant_id)
    jakarta, makassar = alpha.outlets["A Jakarta"], alpha.outlets["A Makassar"]
    foreign = bravo.outlets["B Jakarta"]
    period = {"day_from": DAY_FROM, "day_to": DAY_TO}

    # Each tenant's report holds its own orders only (the raw journals say which).
    for seeded in (alpha, bravo):
        mine = await _both(db, seeded.owner())
        assert sorted(mine["outlet_ids"]) == sorted(seeded.outlets.values())
        assert_matches(mine, expected_report(seeded, DAY_FROM, DAY_TO))

    # Another tenant's outlet does not exist for this caller, whoever asks.
    for principal in (alpha.owner(), _area_manager(alpha, [jakarta, foreign])):
        with pytest.raises(NotFound):
            await fast.sales_report_fast(db, principal, outlet_id=foreign, **period)
    # a scope naming another tenant's outlet shows nothing of it
    scoped = await _both(db, _area_manager(alpha, [jakarta, foreign]))
    assert scoped["outlet_ids"] == [jakarta]
    assert_matches(scoped, expected_report(alpha, DAY_FROM, DAY_TO, [jakarta]))

    # An area manager sees only the outlets assigned to them, and is refused the others.
    area = _area_manager(alpha, [makassar])
    assert (await _both(db, area))["outlet_ids"] == [makassar]
    with pytest.raises(Forbidden):
        await fast.sales_report_fast(db, area, outlet_id=jakarta, **period)
    with pytest.raises(Forbidden):
        await fast.sales_report_fast(db, Principal(
            user_id=alpha.owner_id, tenant_id=alpha.tenant_id, role="technician",
            outlet_ids=(jakarta,)), outlet_id=None, **period)

    # A token of an older version, or of a user who left, is told so before anything.
    stale = msgspec.structs.replace(alpha.owner(), token_version=7)
    with pytest.raises(CallerNotCurrent):
        await fast.sales_report_fast(db, stale, outlet_id=None, **period)
    async with db.system() as session:
        await session.execute(update(User).where(User.id == bravo.owner_id).values(active=False))
    for outlet_id in (None, foreign, "no-such-outlet"):
        with pytest.raises(CallerNotCurrent):
            await fast.sales_report_fast(db, bravo.owner(), outlet_id=outlet_id, **period)
