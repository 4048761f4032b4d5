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

from sqlalchemy import BigInteger, bindparam, false, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import TenantReader
from hub.identity import Principal, require
from hub.models import OrderRow, Outlet, OutletStatus, UTCDateTime, utcnow
from hub.schemas import FleetEntry
from hub.sync_models import SyncCredential

__all__ = ["OPEN_STATUSES", "fleet", "fleet_json", "open_bills"]

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
    credentials: dict[str, int] = {outlet_id: count for outlet_id, count in (await session.execute(
        select(SyncCredential.outlet_id, func.count()).where(SyncCredential.revoked_at.is_(None))
        .group_by(SyncCredential.outlet_id))).all()}
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


def _fleet_rows() -> Any:
    """``fleet`` as one Core statement of ``FleetEntry``'s fields (``fleet_json``)."""
    statuses = OutletStatus.__table__
    outlet, status = Outlet.__table__.c, statuses.c
    credential, order = SyncCredential.__table__.c, OrderRow.__table__.c
    tenant = bindparam("tenant_id")
    zero, empty = literal_column("0"), literal_column("''")  # inline: the reader binds by name
    credentials = (select(credential.outlet_id, func.count().label("n"))
                   .where(credential.tenant_id == tenant, credential.revoked_at.is_(None))
                   .group_by(credential.outlet_id).subquery("c"))
    bills = (select(order.outlet_id, func.count().label("n"),
                    func.sum(order.total).cast(BigInteger).label("value"),
                    func.min(func.coalesce(order.seated_at, order.created_at),
                             type_=UTCDateTime).label("oldest"))
             .where(order.tenant_id == tenant, order.table_id.is_not(None),
                    order.status.in_([literal_column(f"'{name}'") for name in OPEN_STATUSES]))
             .group_by(order.outlet_id).subquery("b"))
    return (select(outlet.id.label("outlet_id"), outlet.name.label("outlet_name"),
                   outlet.brand_id,
                   func.coalesce(status.last_contact_at >= bindparam("cutoff", type_=UTCDateTime),
                                 false()).label("online"),
                   status.last_contact_at, status.last_push_at, status.last_pull_at,
                   func.coalesce(status.reported_backlog, zero).label("reported_backlog"),
                   func.coalesce(status.edge_version, empty).label("edge_version"),
                   func.coalesce(status.last_error, empty).label("last_error"),
                   func.coalesce(status.journal_alarm, empty).label("journal_alarm"),
                   func.coalesce(credentials.c.n, zero).label("active_credentials"),
                   func.coalesce(bills.c.n, zero).label("open_bills"),
                   func.coalesce(bills.c.value, zero).label("open_bill_value"),
                   bills.c.oldest.label("oldest_seated_at"))
            .select_from(Outlet.__table__)
            .outerjoin(statuses, (status.outlet_id == outlet.id) & (status.tenant_id == tenant))
            .outerjoin(credentials, credentials.c.outlet_id == outlet.id)
            .outerjoin(bills, bills.c.outlet_id == outlet.id)
            .where(outlet.tenant_id == tenant)
            .order_by(outlet.name, outlet.id))


_FLEET_ROWS = _fleet_rows()


async def fleet_json(reader: TenantReader, principal: Principal, offline_after_seconds: int,
                     now: datetime | None = None) -> bytes:
    """``fleet`` on the fast read path, as the JSON array of ``FleetEntry`` (one statement)."""
    require(principal, "fleet:read")
    cutoff = (now or utcnow()) - timedelta(seconds=offline_after_seconds)
    keep = None if principal.outlet_ids is None else ("outlet_id", principal.outlet_ids)
    return await reader.json_array(_FLEET_ROWS, FleetEntry, keep=keep, cutoff=cutoff)
