"""Hub journal retention: applied journal entries older than the retention period go.

The journal (``sync_journal``) is the hub's copy of every event an outlet sent, body
included: about 1 kB per event, seven events per order. What reports and the fleet view use
lives in the applied tables (orders, payments, kitchen events ...), and what verifies an
outlet's journal is its cursor (last seq and hash per epoch), not the old rows; so the
entries can go after ``POS_HUB_JOURNAL_RETENTION_DAYS`` (default 90, 0 = keep forever).
Quarantined entries are kept: they are the only copy of an event that was not applied.

An outlet re-sending a seq whose entry was pruned (a box restored from a backup older than
the retention) cannot be compared with what was held; ``hub.ingest.push`` then counts it as a
duplicate, and the edge's own restore detection (``held_seq`` above its head) still moves it
to a new epoch.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Tenant, utcnow
from hub.settings import HubSettings
from hub.sync_models import SyncJournalEntry

__all__ = ["prune_journal"]


async def prune_journal(session: AsyncSession, settings: HubSettings) -> dict[str, Any]:
    """The scheduled job (runs in a system session, once per slot across replicas)."""
    if settings.journal_retention_days <= 0:
        return {"deleted": 0, "retention_days": 0}
    cutoff = utcnow() - timedelta(days=settings.journal_retention_days)
    deleted = 0
    # Tenant by tenant, so the (tenant_id, received_at) index finds the old entries.
    for tenant_id in (await session.scalars(select(Tenant.id))).all():
        result = await session.execute(
            delete(SyncJournalEntry).where(SyncJournalEntry.tenant_id == tenant_id,
                                           SyncJournalEntry.received_at < cutoff,
                                           SyncJournalEntry.status == "applied")
            .execution_options(synchronize_session=False))
        deleted += result.rowcount or 0
    return {"deleted": deleted, "cutoff": cutoff.isoformat()}
