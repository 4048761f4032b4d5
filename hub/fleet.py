"""The fleet view: for each outlet, its last contact, last push/pull, the outbox backlog it
reported, its edge version, whether it is online, and how many sync credentials are active.

More than one active credential is an alert (the dashboard shows it): either a replacement
box enrolled without ``replace`` while the old one still holds its credential, or someone
redeemed a code without a box to pull the outlet's feed. Head office revokes the one it does
not recognise (``POST /api/v1/outlets/{id}/sync-credentials/{credential_id}/revoke``).

Table service: each outlet's open bills at its tables (``open_bills``: placed, in the
kitchen or ready; split parts included, split and merged bills never), the sum of their
totals (``open_bill_value``) and when the longest-seated party sat down
(``oldest_seated_at``), from the synced orders, whatever their business day.

The sync engine writes ``outlet_status`` (``hub.ingest.status.touch_status``, on every
contact); this module reads it for head office. "Online" means a contact within ``fleet_offline_after_seconds``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity import Principal, require
from hub.models import OrderRow, Outlet, OutletStatus, utcnow
from hub.schemas import FleetEntry
from hub.sync_models import SyncCredential

__all__ = ["OPEN_STATUSES", "fleet", "open_bills"]

OPEN_STATUSES = ("placed", "in_kitchen", "ready")


def _as_utc(value: Any) -> datetime | None:
    # min() loses the column type on SQLite: it can come back as ISO text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def open_bills(session: AsyncSession,
                     tenant_id: str) -> dict[str, tuple[int, int, datetime | None]]:
    """outlet id -> (open bills at tables, sum of their totals, earliest seated)."""
    rows = await session.execute(
        select(OrderRow.outlet_id, func.count(), func.sum(OrderRow.total),
               func.min(func.coalesce(OrderRow.seated_at, OrderRow.created_at)))
        .where(OrderRow.tenant_id == tenant_id, OrderRow.table_id.is_not(None),
               OrderRow.status.in_(OPEN_STATUSES))
        .group_by(OrderRow.outlet_id))
    return {outlet: (int(count), int(value or 0), _as_utc(oldest))
            for outlet, count, value, oldest in rows}


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
    bills = await open_bills(session, principal.tenant_id)
    entries = []
    for outlet, status in (await session.execute(stmt)).all():
        count, value, oldest = bills.get(outlet.id, (0, 0, None))
        entry = FleetEntry(outlet_id=outlet.id, outlet_name=outlet.name, brand_id=outlet.brand_id,
                           online=False, active_credentials=int(credentials.get(outlet.id, 0)),
                           open_bills=count, open_bill_value=value, oldest_seated_at=oldest)
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
