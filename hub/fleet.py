"""The fleet view: for each outlet, its last contact, last push/pull, the outbox backlog it
reported, its edge version, and whether it is online.

The sync engine writes ``outlet_status`` (``touch_outlet`` below, on every contact); this module
reads it for head office. "Online" means a contact within ``fleet_offline_after_seconds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity import Principal, require
from hub.models import Outlet, OutletStatus, utcnow
from hub.schemas import FleetEntry

__all__ = ["fleet", "touch_outlet"]


async def fleet(session: AsyncSession, principal: Principal, offline_after_seconds: int,
                now: datetime | None = None) -> list[FleetEntry]:
    """Every outlet the principal may see with its status (never-contacted outlets: offline)."""
    require(principal, "fleet:read")
    now = now or utcnow()
    cutoff = now - timedelta(seconds=offline_after_seconds)
    stmt = (select(Outlet, OutletStatus)
            .outerjoin(OutletStatus, OutletStatus.outlet_id == Outlet.id)
            .order_by(Outlet.name, Outlet.id))
    if principal.outlet_ids is not None:
        stmt = stmt.where(Outlet.id.in_(principal.outlet_ids))
    entries = []
    for outlet, status in (await session.execute(stmt)).all():
        entry = FleetEntry(outlet_id=outlet.id, outlet_name=outlet.name, brand_id=outlet.brand_id,
                           online=False)
        if status is not None:
            entry.online = status.last_contact_at is not None and status.last_contact_at >= cutoff
            entry.last_contact_at = status.last_contact_at
            entry.last_push_at = status.last_push_at
            entry.last_pull_at = status.last_pull_at
            entry.reported_backlog = status.reported_backlog
            entry.edge_version = status.edge_version
            entry.last_error = status.last_error
            entry.journal_alarm = status.journal_alarm
        entries.append(entry)
    return entries


async def touch_outlet(session: AsyncSession, outlet: Outlet, *, pushed: bool = False,
                       pulled: bool = False, backlog: int | None = None,
                       edge_version: str | None = None, error: str | None = None,
                       journal_alarm: str | None = None) -> OutletStatus:
    """Record a contact from an outlet (for the sync engine; call in the outlet's session)."""
    now = utcnow()
    status = await session.get(OutletStatus, outlet.id)
    if status is None:
        status = OutletStatus(outlet_id=outlet.id, tenant_id=outlet.tenant_id, reported_backlog=0,
                              edge_version="", last_error="", journal_alarm="")
        session.add(status)
    status.last_contact_at = now
    if pushed:
        status.last_push_at = now
    if pulled:
        status.last_pull_at = now
    if backlog is not None:
        status.reported_backlog = backlog
    if edge_version is not None:
        status.edge_version = edge_version
    if error is not None:
        status.last_error = error
    if journal_alarm is not None:
        status.journal_alarm = journal_alarm
    await session.flush()
    return status
