"""The push's fast path: a *plain* batch on PostgreSQL without the ORM or a SQLAlchemy session.

Nearly every push in steady state is the next few entries of the outlet's journal: order
snapshots, payments, kitchen events and cash movements that add up, none of them held yet.
The full path (``hub.ingest.push``) spends about a third of its CPU on the SQLAlchemy session
around its statements (checking a connection out, BEGIN and the tenant's ``set_config``
through the ORM, flushes, COMMIT, check-in; docs/scaling.md, "Pushes from a fleet"). Here the
same statements (``hub.ingest.store``'s ``*_on`` functions) run on a ``Database.writer``
connection: a kept connection, BEGIN and the tenant in one round trip, then the outlet's
lock, its cursors and held orders, the fact tables, the journal + cursors + status row,
COMMIT. Behind PgBouncer in transaction mode as well: the whole batch is one explicit
transaction, so it keeps one server connection (tests/hub/test_pgbouncer.py).

A batch is plain when, after the lock: every entry is the next one of an epoch the hub holds
(no duplicate, no gap, no new epoch but the outlet's very first), chains to it and hashes
right; every event is of
``apply.PLAIN_KINDS``, adds up and is priced as the outlet prices; no order, payment,
kitchen event or movement id is held by another outlet (or already held at all, for the
insert-once kinds). Anything else - and any database error - rolls the transaction back and
returns ``None``: the caller runs the full path, which alarms, quarantines, waits for a
predecessor, asks for a resend or refuses exactly as before. So this path can make a push
cheaper but never decide differently (tests/sync/test_push_fast.py compares the rows).
"""

from __future__ import annotations

import logging
from datetime import datetime

from hub.db import Database
from hub.ingest.apply import Event, NotPlain, plain_facts, tax_of
from hub.ingest.decode import Decoded, kind_of
from hub.ingest.enrollment import SyncIdentity
from hub.ingest.store import (
    StatusTouch,
    finish_push_on,
    journal_row,
    lock_outlet_on,
    push_state_on,
    write_facts_on,
)
from hub.sync_models import SyncCursor
from shared.journal import genesis_hash
from shared.schemas import OrderEvent
from sync.protocol import PushRequest, PushResponse

__all__ = ["plain_push"]

log = logging.getLogger("hub.ingest")


async def plain_push(db: Database, who: SyncIdentity, request: PushRequest,
                     decoded: list[Decoded], wire_version: int,
                     now: datetime) -> PushResponse | None:
    """Apply and hold a plain batch (module docstring) and answer it; ``None`` when the batch
    is not plain or anything failed (nothing of it was written)."""
    if not request.entries or not db.is_postgres:
        return None
    if any(d.problem or not d.hash_ok for d in decoded):
        return None
    try:
        async with db.writer(who.tenant_id) as conn:
            outlet = await lock_outlet_on(conn, who)
            order_ids = list({d.body.order.id for d in decoded if isinstance(d.body, OrderEvent)})
            cursors, existing = await push_state_on(conn, who.tenant_id, who.outlet_id,
                                                    order_ids)
            advanced = _advance(cursors, request, decoded, who, now)
            events = [Event(e.seq, e.event_id, d.body, "")
                      for e, d in zip(request.entries, decoded, strict=True)]
            facts = plain_facts(who, tax_of(outlet), events, existing, now)
            inserted = await write_facts_on(conn, who.tenant_id, facts)
            if (len(inserted.payments) < len(facts.payments)
                    or len(inserted.kitchen) < len(facts.kitchen)
                    or len(inserted.movements) < len(facts.movements)):
                raise NotPlain  # held already, or another outlet's: the full path checks
            journal = [journal_row(who, e, kind_of(d.body, e.body), "applied", now,
                                   wire_version)
                       for e, d in zip(request.entries, decoded, strict=True)]
            await finish_push_on(conn, journal, advanced,
                                 StatusTouch(who, now, request.backlog, request.edge_version,
                                             "", 0))
    except NotPlain:
        return None
    except Exception as exc:  # noqa: BLE001 - rolled back; the full path decides
        log.info("fast push path failed, taking the full path",
                 extra={"outlet_id": who.outlet_id, "error": f"{type(exc).__name__}: {exc}"[:300]})
        return None
    log.info("push applied", extra={"outlet_id": who.outlet_id, "entries": len(request.entries),
                                    "applied": len(request.entries), "duplicates": 0,
                                    "quarantined": 0, "status": "ok", "path": "fast"})
    held = cursors.get(request.epoch)
    return PushResponse(status="ok", epoch=request.epoch, acked_seq=request.entries[-1].seq,
                        held_seq=held.last_seq if held else 0, resend_from=None,
                        applied=len(request.entries), duplicates=0, quarantined=[],
                        hub_time=now, version=wire_version)


def _advance(cursors: dict[str, SyncCursor], request: PushRequest, decoded: list[Decoded],
             who: SyncIdentity, now: datetime) -> list[SyncCursor]:
    """Move the cursors over the batch (in memory); the cursors moved. ``NotPlain`` unless
    every entry is the next of a held epoch and chains to it."""
    moved: dict[str, SyncCursor] = {}
    first_ever = not cursors
    for entry, known in zip(request.entries, decoded, strict=True):
        cursor = cursors.get(entry.epoch)
        if cursor is None and first_ever and entry.prev_hash == genesis_hash(entry.epoch):
            # The outlet's first push: its journal starts here, as on the full path (which
            # alarms only when another epoch is held already).
            cursor = cursors[entry.epoch] = SyncCursor(
                tenant_id=who.tenant_id, outlet_id=who.outlet_id, epoch=entry.epoch,
                first_seq=entry.seq, last_seq=entry.seq - 1, last_hash=entry.prev_hash,
                started_at=now, updated_at=now)
        first_ever = False
        if (cursor is None or entry.seq != cursor.last_seq + 1
                or entry.prev_hash != cursor.last_hash or entry.outlet_id != who.outlet_id):
            raise NotPlain
        body = known.body
        if isinstance(body, OrderEvent) and body.order.outlet_id != who.outlet_id:
            raise NotPlain  # refused, with its alarm, by the full path
        cursor.last_seq, cursor.last_hash, cursor.updated_at = entry.seq, entry.hash, now
        moved[entry.epoch] = cursor
    return list(moved.values())
