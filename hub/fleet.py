"""The fleet view: for each outlet, its last contact, last push/pull, the outbox backlog it
reported, its edge version, whether it is online, and how many sync credentials are active.

More than one active credential is an alert (the dashboard shows it): either a replacement
box enrolled without ``replace`` while the old one still holds its credential, or someone
redeemed a code without a box to pull the outlet's feed. Head office revokes the one it does
not recognise (``POST /api/v1/outlets/{id}/sync-credentials/{credential_id}/revoke``).

The sync engine writes ``outlet_status`` (``hub.ingest.status.touch_status``, on every
contact); this module reads it for head office. "Online" means a contact within ``fleet_offline_after_seconds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity import Principal, require
from hub.models import Outlet, OutletStatus, utcnow
from hub.schemas import FleetEntry
from hub.sync_models import SyncCredential

__all__ = ["fleet"]


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
    credentials = dict((await session.execute(
        select(SyncCredential.outlet_id, func.count()).where(SyncCredential.revoked_at.is_(None))
        .group_by(SyncCredential.outlet_id))).tuples().all())
    entries = []
    for outlet, status in (await session.execute(stmt)).all():
        entry = FleetEntry(outlet_id=outlet.id, outlet_name=outlet.name, brand_id=outlet.brand_id,
                           online=False, active_credentials=int(credentials.get(outlet.id, 0)))
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
