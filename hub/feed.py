"""Hub -> edge: the outlet feed an edge pulls by cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from sqlalchemy import func, select

from hub.db import Database
from hub.models import CatalogSnapshot
from hub.sync_status import SyncIdentity, touch_status
from shared.schemas import Catalog
from sync.protocol import PullChange, PullResponse, catalog_checksum

__all__ = ["outlet_feed", "record_pull"]



async def outlet_feed(db: Database, who: SyncIdentity, cursor: int,
                      snapshot: bool = False) -> PullResponse:
    """Changes after ``cursor`` for the outlet: today the published catalog snapshots.

    Each change is a full snapshot, so an outlet offline for a week gets only the newest
    one (one page). A cursor the hub cannot continue from — ahead of anything it holds (the
    hub was restored, the box came from another hub) or older than the oldest version it
    still keeps — is answered with ``snapshot_required`` and the latest snapshot.
    """
    now = datetime.now(UTC)
    async with db.tenant(who.tenant_id) as session:
        latest = (await session.execute(
            select(CatalogSnapshot).where(CatalogSnapshot.outlet_id == who.outlet_id)
            .order_by(CatalogSnapshot.version.desc()).limit(1)
        )).scalar_one_or_none()
        oldest = (await session.execute(
            select(func.min(CatalogSnapshot.version)).where(CatalogSnapshot.outlet_id == who.outlet_id)
        )).scalar_one_or_none()
        await touch_status(session, who, now, pulled=True)
    if latest is None:
        return PullResponse(cursor=cursor, snapshot_required=cursor > 0, hub_time=now)
    catalog = msgspec.convert(latest.catalog, Catalog)
    checksum = catalog_checksum(catalog)
    lost = cursor > latest.version or (0 < cursor and oldest is not None and cursor < oldest - 1)
    changes = []
    if snapshot or lost or latest.version > cursor:
        changes.append(PullChange(cursor=latest.version, kind="catalog", version=latest.version,
                                  checksum=checksum, catalog=catalog))
    return PullResponse(cursor=latest.version if changes else cursor, changes=changes,
                        snapshot_required=lost, catalog_version=latest.version,
                        catalog_checksum=checksum, hub_time=now)


async def record_pull(db: Database, who: SyncIdentity) -> None:
    async with db.tenant(who.tenant_id) as session:
        await touch_status(session, who, datetime.now(UTC), pulled=True)
