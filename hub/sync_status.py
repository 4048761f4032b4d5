"""The hub's view of each outlet's sync health (the fleet page): one ``outlet_status`` row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import OutletStatus

__all__ = ["SyncIdentity", "status_row", "touch_status"]


@dataclass(frozen=True)
class SyncIdentity:
    """The outlet a verified sync credential belongs to."""

    tenant_id: str
    outlet_id: str
    credential_id: str


async def status_row(session: AsyncSession, who: SyncIdentity, now: datetime) -> OutletStatus:
    row = await session.get(OutletStatus, who.outlet_id)
    if row is None:
        row = OutletStatus(tenant_id=who.tenant_id, outlet_id=who.outlet_id, reported_backlog=0,
                           edge_version="", last_error="", journal_alarm="", updated_at=now)
        session.add(row)
    return row


async def touch_status(session: AsyncSession, who: SyncIdentity, now: datetime, *,
                       backlog: int | None = None, edge_version: str = "", pushed: bool = False,
                       pulled: bool = False, error: str = "", quarantined: int = 0) -> None:
    row = await status_row(session, who, now)
    row.last_contact_at = now
    if pushed:
        row.last_push_at = now
    if pulled:
        row.last_pull_at = now
    if backlog is not None:
        row.reported_backlog = backlog
    if edge_version:
        row.edge_version = edge_version[:64]
    if error:
        row.last_error = error[:2000]
    elif quarantined:
        row.last_error = f"{quarantined} event(s) quarantined at {now.isoformat()}"
    elif pushed and row.last_error and "quarantined" not in row.last_error:
        row.last_error = ""
    row.updated_at = now
