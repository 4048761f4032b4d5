"""Quarantined events: held in the journal, listed on the fleet view, not applied.

A push quarantines an entry whose place in the journal is proven but which cannot be applied
(undecodable, money that does not add up, an id held by another outlet: ``hub.ingest.apply``);
the stream moves on past it. Head office then retries it under today's rules or dismisses it
with a note. The event stays in the journal either way: nothing is ever dropped.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.ingest.apply import Event, apply_one, tax_of
from hub.ingest.decode import decode_event, pg_text
from hub.ingest.enrollment import SyncIdentity
from hub.models import Outlet
from hub.sync_models import SyncJournalEntry, SyncQuarantine
from shared.errors import BadRequest, Conflict, NotFound, Rejected

__all__ = ["quarantine", "resolve_quarantined"]

log = logging.getLogger("hub.ingest")


def quarantine(session: AsyncSession, who: SyncIdentity, epoch: str, seq: int, event_id: str,
               kind: str, reason: str, now: datetime) -> None:
    """Record that the journal entry (epoch, seq) is held but not applied, and why."""
    session.add(SyncQuarantine(tenant_id=who.tenant_id, outlet_id=who.outlet_id, epoch=epoch,
                               seq=seq, event_id=event_id, kind=kind,
                               reason=pg_text(reason[:2000]), created_at=now))
    log.warning("event quarantined", extra={"outlet_id": who.outlet_id, "seq": seq,
                                            "reason": reason})


async def resolve_quarantined(session: AsyncSession, outlet_id: str, quarantine_id: str,
                              action: str, note: str = "") -> SyncQuarantine:
    """Retry a quarantined event under today's rules, or dismiss it with a note.

    A successful retry applies it exactly as a push would have (a batch of one) and marks its
    journal row applied.
    """
    item = (await session.execute(select(SyncQuarantine).where(
        SyncQuarantine.id == quarantine_id, SyncQuarantine.outlet_id == outlet_id))).scalar_one_or_none()
    if item is None:
        raise NotFound("quarantined event not found", details={"id": quarantine_id})
    if item.resolved_at is not None:
        raise Conflict("this event was already resolved", details={"resolution": item.resolution})
    held = await session.get(SyncJournalEntry, (outlet_id, item.epoch, item.seq))
    outlet = (await session.execute(select(Outlet).where(Outlet.id == outlet_id))).scalar_one()
    now = datetime.now(UTC)
    if action == "dismiss":
        item.resolved_at, item.resolution = now, f"dismissed: {note}"[:2000]
        return item
    if action != "retry" or held is None:
        raise BadRequest("action must be retry or dismiss")
    who = SyncIdentity(outlet.tenant_id, outlet_id, "")
    try:
        body = decode_event(bytes(held.body))
    except msgspec.MsgspecError as exc:
        raise Rejected(f"still cannot apply: undecodable event body: {exc}",
                       details={"seq": item.seq}) from exc
    problem = await apply_one(session, who, tax_of(outlet),
                              Event(seq=held.seq, event_id=held.event_id, body=body), now)
    if problem:
        raise Rejected(f"still cannot apply: {problem}", details={"seq": item.seq})
    held.status = "applied"
    item.resolved_at, item.resolution = now, f"applied on retry {note}".strip()[:2000]
    return item
