"""A pushed journal batch into the hub, in ONE transaction under the outlet's tenant.

0. Before any database work, each entry's body is decoded and its hash checked against its
   own content (``hub.ingest.decode``): the CPU-heavy part, done outside the lock so it
   overlaps the previous batch of the same outlet when the edge pipelines.
1. The outlet row is locked (``SELECT ... FOR UPDATE``), so two hub processes receiving the
   same outlet's batches apply them one after the other; the second finds them held. The
   same statement checks that the credential is still valid (``KnownCredentials``: the
   handler does not look a known credential up again). One read after the lock loads the
   cursors and which of the batch's orders are held.
2. Each entry is checked against the (outlet, epoch) cursor:
   * ``seq <= last_seq``: already held. Same hash -> skipped (idempotent re-push); entry
     pruned after the retention period (``hub.ingest.retention``) -> skipped too. Different
     hash -> *seq conflict*: alarm, refuse (never overwrite).
   * ``seq == last_seq + 1``: ``prev_hash`` must equal the held hash and ``hash`` must be
     ``chain_hash(prev_hash, seq, body)``; otherwise *broken chain*: alarm, refuse.
   * ``seq > last_seq + 1``: a gap; stop and ask for a resend from ``last_seq + 1``. A
     batch marked ``pipelined`` whose first entry is past the gap first waits (up to
     ``PREDECESSOR_WAIT_S``, outside any transaction) for its predecessor to be applied.
   * an epoch the hub has not seen starts at its genesis hash (a new database or a restore);
     re-used numbers across epochs raise an alarm but are accepted (the data is real).
   * an entry, or an order inside it, claiming another outlet: alarm, refuse (403).
3. The verified entries are applied to the reporting tables (``hub.ingest.apply``: set-based,
   falling back to batches of one so only a faulty event is held back) and stored in the
   journal. An entry that cannot be applied (undecodable, money that does not add up, an id
   owned by another outlet) is *quarantined* (``hub.ingest.quarantine``): held in the
   journal, listed on the fleet view, not applied; the stream moves on.
4. The cursor advances with the applied data in the same commit; the reply's ``acked_seq``
   covers only entries that are durably held. A refusal still commits the valid prefix.

On PostgreSQL a clean push is seven round trips: BEGIN, the tenant's ``set_config``, the
lock, the read, one statement for every fact table, one for the journal + cursors + status
row, COMMIT (``hub.ingest.store``). The set-based write is tried without a SAVEPOINT; if the
database refuses it (``BulkRefused``: an id of another outlet, a constraint) the transaction
is rolled back and the push runs again with the SAVEPOINT and the per-event fallback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.ingest.apply import BulkRefused, Event, apply_events, tax_of
from hub.ingest.decode import Decoded, decode_all, kind_of, nul_free
from hub.ingest.enrollment import SyncIdentity
from hub.ingest.push_fast import plain_push
from hub.ingest.quarantine import quarantine
from hub.ingest.status import alarm, touch_status
from hub.ingest.store import Row, StatusTouch, journal_row, store_for
from hub.sync_models import SyncCursor, SyncJournalEntry
from shared.errors import Conflict, Forbidden
from shared.journal import genesis_hash
from shared.schemas import JournalEntry, OrderEvent
from sync.protocol import WIRE_VERSION, PushRequest, PushResponse

__all__ = ["PREDECESSOR_WAIT_S", "ForeignClaim", "JournalRefused", "ingest_push"]

log = logging.getLogger("hub.ingest")

# How long a pipelined batch that arrives before its predecessor waits for it to be applied
# before the hub answers "resend" (the edge then goes back to one batch at a time).
PREDECESSOR_WAIT_S = 1.0


class JournalRefused(Conflict):
    """The batch breaks the outlet's journal (broken chain, seq conflict): refused, alarmed."""

    code = "journal_refused"


class ForeignClaim(Forbidden):
    """A batch, entry or order claiming another outlet than the credential's: refused."""

    code = "foreign_outlet"


@dataclass
class _Outcome:
    applied: int = 0
    duplicates: int = 0
    quarantined: list[int] = field(default_factory=list)
    acked_seq: int = 0
    status: str = "ok"
    resend_from: int | None = None
    refusal: Exception | None = None


@dataclass
class _Verified:
    """An entry whose place in the journal is proven, and the event to apply from it."""

    entry: JournalEntry
    event: Event


class _PredecessorInFlight(Exception):
    """A pipelined batch arrived before the one it follows was applied: retry shortly."""


async def ingest_push(db: Database, who: SyncIdentity, request: PushRequest,
                      wire_version: int = WIRE_VERSION) -> PushResponse:
    """Verify, apply and hold one pushed batch (module docstring); a refusal raises after
    the batch's valid prefix is committed."""
    now = datetime.now(UTC)
    foreign = [e.seq for e in request.entries if e.outlet_id != who.outlet_id]
    if request.outlet_id != who.outlet_id or foreign:
        await _refuse_foreign(db, who, request, foreign, now)
    # The CPU-heavy part (hashing, decoding) runs before taking the outlet's lock, so it
    # overlaps the database work of the outlet's previous batch when the edge pipelines.
    decoded = decode_all(request.entries)
    # The common case (the next entries of the journal, all plain facts) without the ORM;
    # anything else, or any doubt, takes the path below (hub.ingest.push_fast).
    reply = await plain_push(db, who, request, decoded, wire_version, now)
    if reply is not None:
        return reply
    decoded = nul_free(request.entries, decoded)
    started = time.monotonic()
    waits = 0
    optimistic = True
    while True:
        try:
            reply = await _ingest_locked(db, who, request, decoded, wire_version, now,
                                         wait_for_predecessor=request.pipelined
                                         and time.monotonic() - started < PREDECESSOR_WAIT_S,
                                         optimistic=optimistic)
        except _PredecessorInFlight:
            waits += 1
            await asyncio.sleep(0.005)
            continue
        except BulkRefused as exc:
            # Rolled back: the same push again, the bulk write in a SAVEPOINT this time,
            # falling back to one event at a time so only the faulty one is quarantined.
            log.info("bulk apply refused, applying with savepoints",
                     extra={"outlet_id": who.outlet_id, "error": str(exc)[:300]})
            optimistic = False
            continue
        if waits:
            log.info("pipelined batch waited for its predecessor",
                     extra={"outlet_id": who.outlet_id, "retries": waits,
                            "waited_ms": round((time.monotonic() - started) * 1000, 1)})
        return reply


async def _ingest_locked(db: Database, who: SyncIdentity, request: PushRequest,
                         decoded: list[Decoded], wire_version: int, now: datetime, *,
                         wait_for_predecessor: bool, optimistic: bool = False) -> PushResponse:
    outcome = _Outcome()
    async with db.tenant(who.tenant_id) as session:
        store = store_for(session)
        outlet = await store.lock_outlet(who)
        # Every order the batch names is looked up with the cursors, in one read after the
        # lock: the apply needs no read of its own on the common path.
        order_ids = list({d.body.order.id for d in decoded if isinstance(d.body, OrderEvent)})
        cursors, existing = await store.load_push_state(who.outlet_id, order_ids)
        before = {epoch: cursor.last_seq for epoch, cursor in cursors.items()}
        verified = await _verify_batch(session, who, cursors, request.entries, decoded, outcome,
                                       now, wait_for_predecessor)
        journal: list[Row] = []
        if verified:
            await apply_events(session, who, tax_of(outlet), [v.event for v in verified], now,
                               existing=existing, savepoint=not optimistic)
            journal = _hold(session, who, verified, now, wire_version, outcome)
        held = cursors.get(request.epoch)
        await store.finish_push(
            journal, [c for epoch, c in cursors.items() if before.get(epoch) != c.last_seq],
            StatusTouch(who, now, request.backlog, request.edge_version,
                        str(outcome.refusal) if outcome.refusal else "",
                        len(outcome.quarantined)))
    log.info("push applied", extra={"outlet_id": who.outlet_id, "entries": len(request.entries),
                                    "applied": outcome.applied, "duplicates": outcome.duplicates,
                                    "quarantined": len(outcome.quarantined),
                                    "status": outcome.status})
    if outcome.refusal is not None:
        raise outcome.refusal
    return PushResponse(
        status=outcome.status,  # type: ignore[arg-type]
        epoch=request.epoch,
        acked_seq=outcome.acked_seq,
        held_seq=held.last_seq if held else 0,
        resend_from=outcome.resend_from,
        applied=outcome.applied,
        duplicates=outcome.duplicates,
        quarantined=outcome.quarantined,
        hub_time=now,
        version=wire_version,
    )


def _hold(session: AsyncSession, who: SyncIdentity, verified: list[_Verified], now: datetime,
          wire_version: int, outcome: _Outcome) -> list[Row]:
    """The journal rows of the verified entries (applied or quarantined); quarantine the
    ones not applied and count them."""
    kinds = [kind_of(v.event.body, v.entry.body) for v in verified]
    rows = [journal_row(who, v.entry, kind, "quarantined" if v.event.problem else "applied",
                        now, wire_version) for v, kind in zip(verified, kinds, strict=True)]
    for v, kind in zip(verified, kinds, strict=True):
        if v.event.problem:
            quarantine(session, who, v.entry.epoch, v.entry.seq, v.entry.event_id, kind,
                       v.event.problem, now)
            outcome.quarantined.append(v.entry.seq)
        else:
            outcome.applied += 1
    return rows


async def _held_entries(session: AsyncSession, who: SyncIdentity, entries: list[JournalEntry],
                        cursors: dict[str, SyncCursor]) -> dict[tuple[str, int], tuple[str, bytes]]:
    """(epoch, seq) -> (hash, body) for the batch's entries the hub already holds (one query
    per epoch), so a replayed batch costs one read instead of one per event."""
    held: dict[tuple[str, int], tuple[str, bytes]] = {}
    by_epoch: dict[str, list[int]] = {}
    for entry in entries:
        cursor = cursors.get(entry.epoch)
        if cursor is not None and entry.seq <= cursor.last_seq:
            by_epoch.setdefault(entry.epoch, []).append(entry.seq)
    for epoch, seqs in by_epoch.items():
        rows = await session.execute(
            select(SyncJournalEntry.seq, SyncJournalEntry.hash, SyncJournalEntry.body).where(
                SyncJournalEntry.outlet_id == who.outlet_id, SyncJournalEntry.epoch == epoch,
                SyncJournalEntry.seq >= min(seqs), SyncJournalEntry.seq <= max(seqs)))
        for seq, digest_, body in rows:
            held[(epoch, seq)] = (digest_, bytes(body))
    return held


async def _verify_batch(session: AsyncSession, who: SyncIdentity,
                        cursors: dict[str, SyncCursor], entries: list[JournalEntry],
                        decoded: list[Decoded], outcome: _Outcome, now: datetime,
                        wait_for_predecessor: bool) -> list[_Verified]:
    """Walk the batch against the journal; return the new, verified prefix (cursors advanced
    in memory). Duplicates are counted, a gap asks for a resend, a conflict or broken chain
    refuses the rest (the prefix before it is still applied)."""
    held = await _held_entries(session, who, entries, cursors)
    verified: list[_Verified] = []
    for entry, known in zip(entries, decoded, strict=True):
        cursor = cursors.get(entry.epoch)
        if cursor is None:
            if entry.prev_hash != genesis_hash(entry.epoch):
                if wait_for_predecessor and not verified and not outcome.duplicates:
                    raise _PredecessorInFlight  # the batch starting this epoch is on its way
                # Mid-stream of an epoch we never saw: the edge must send it from its start.
                outcome.status, outcome.resend_from = "resend", 0
                break
            reused = [c for c in cursors.values() if c.last_seq >= entry.seq]
            if reused:
                await alarm(session, who, "seq_reuse",
                            f"new epoch {entry.epoch} starts at seq {entry.seq}, but seqs up to "
                            f"{max(c.last_seq for c in reused)} are already held from another "
                            "epoch (a database restored from backup?)",
                            {"epoch": entry.epoch, "seq": entry.seq}, now, journal=True)
            elif cursors:
                await alarm(session, who, "epoch_change",
                            f"the outlet started a new journal epoch {entry.epoch} at seq {entry.seq}",
                            {"epoch": entry.epoch, "seq": entry.seq}, now, journal=False)
            # written with the others at the end of the push (IngestStore.finish_push)
            cursor = SyncCursor(tenant_id=who.tenant_id, outlet_id=who.outlet_id, epoch=entry.epoch,
                                first_seq=entry.seq, last_seq=entry.seq - 1,
                                last_hash=entry.prev_hash, started_at=now, updated_at=now)
            cursors[entry.epoch] = cursor
        if entry.seq <= cursor.last_seq:
            found = held.get((entry.epoch, entry.seq))
            # Not found: held once (every seq up to the cursor was), then pruned after the
            # retention period (hub.ingest.retention): nothing left to compare with.
            if found is None or found == (entry.hash, entry.body):
                outcome.duplicates += 1
                outcome.acked_seq = entry.seq
                continue
            await alarm(session, who, "seq_conflict",
                        f"seq {entry.seq} of epoch {entry.epoch} arrived with a different payload"
                        " than the one held; refused (never overwritten)",
                        {"epoch": entry.epoch, "seq": entry.seq,
                         "held_hash": found[0] if found else None, "sent_hash": entry.hash},
                        now, journal=True)
            outcome.refusal = JournalRefused(
                f"seq {entry.seq} was already received with different content",
                details={"reason": "seq_conflict", "epoch": entry.epoch, "seq": entry.seq,
                         "acked_seq": outcome.acked_seq})
            break
        if entry.seq > cursor.last_seq + 1:
            if wait_for_predecessor and not verified and not outcome.duplicates:
                raise _PredecessorInFlight
            outcome.status, outcome.resend_from = "resend", cursor.last_seq + 1
            break
        if entry.prev_hash != cursor.last_hash or not known.hash_ok:
            await alarm(session, who, "broken_chain",
                        f"seq {entry.seq} of epoch {entry.epoch} does not chain to the journal"
                        " held (altered or missing events); refused",
                        {"epoch": entry.epoch, "seq": entry.seq, "expected_prev": cursor.last_hash,
                         "sent_prev": entry.prev_hash}, now, journal=True)
            outcome.refusal = JournalRefused(
                f"seq {entry.seq} breaks the hash chain",
                details={"reason": "broken_chain", "epoch": entry.epoch, "seq": entry.seq,
                         "acked_seq": outcome.acked_seq})
            break
        item = _Verified(entry, Event(entry.seq, entry.event_id, known.body, known.problem))
        body = item.event.body
        if isinstance(body, OrderEvent) and body.order.outlet_id != who.outlet_id:
            message = (f"order {body.order.id} claims outlet {body.order.outlet_id}, "
                       f"but the credential belongs to outlet {who.outlet_id}")
            await alarm(session, who, "foreign_outlet", message,
                        {"epoch": entry.epoch, "seq": entry.seq}, now, journal=True)
            outcome.refusal = ForeignClaim(message, details={"seq": entry.seq})
            break
        verified.append(item)
        cursor.last_seq, cursor.last_hash, cursor.updated_at = entry.seq, entry.hash, now
        outcome.acked_seq = entry.seq
    return verified


async def _refuse_foreign(db: Database, who: SyncIdentity, request: PushRequest,
                          foreign: list[int], now: datetime) -> None:
    message = (f"push for outlet {request.outlet_id} (entries {foreign[:10]}) with the credential "
               f"of outlet {who.outlet_id}: refused")
    async with db.tenant(who.tenant_id) as session:
        await store_for(session).lock_outlet(who)  # a credential revoked meanwhile: refused
        await alarm(session, who, "foreign_outlet", message,
                    {"claimed_outlet": request.outlet_id, "seqs": foreign[:100]}, now,
                    journal=True)
        await touch_status(session, who, now, error=message)
    raise ForeignClaim(message, details={"outlet_id": who.outlet_id})


