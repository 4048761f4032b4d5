"""The hub's view of each outlet's sync health (the fleet page): one ``outlet_status`` row
per outlet, touched on every push and pull, and the sync alarms (``sync_alarms``) raised when
an outlet's journal does not add up."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.ingest.enrollment import SyncIdentity
from hub.models import OutletStatus
from hub.sync_models import SyncAlarm

__all__ = ["SyncIdentity", "alarm", "status_row", "touch_status"]

log = logging.getLogger("hub.ingest")


async def status_row(session: AsyncSession, who: SyncIdentity, now: datetime) -> OutletStatus:
    """The outlet's status row, created on first contact."""
    row = await session.get(OutletStatus, who.outlet_id)
    if row is None:
        row = OutletStatus(tenant_id=who.tenant_id, outlet_id=who.outlet_id, reported_backlog=0,
                           edge_version="", last_error="", journal_alarm="", updated_at=now)
        session.add(row)
    return row


async def touch_status(session: AsyncSession, who: SyncIdentity, now: datetime, *,
                       backlog: int | None = None, edge_version: str = "", pushed: bool = False,
                       pulled: bool = False, error: str = "", quarantined: int = 0) -> None:
    """Record a contact: times, reported backlog and version, and the last error (cleared by a
    clean push unless it names quarantined events, which stay until resolved)."""
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


async def alarm(session: AsyncSession, who: SyncIdentity, kind: str, message: str,
                details: dict[str, Any], now: datetime, journal: bool) -> None:
    """Raise a sync alarm; ``journal`` ones (the outlet's journal is in doubt) also show on
    the outlet's status until resolved."""
    session.add(SyncAlarm(tenant_id=who.tenant_id, outlet_id=who.outlet_id, kind=kind,
                          message=message, details=details, created_at=now))
    if journal:
        status = await status_row(session, who, now)
        status.journal_alarm = f"{kind}: {message}"[:2000]
    log.warning("sync alarm", extra={"outlet_id": who.outlet_id, "kind": kind,
                                     "alarm": message})
