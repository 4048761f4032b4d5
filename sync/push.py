"""Edge -> hub push: send the outbox in batches, advance the ack only over what the hub holds.

One ``push_once`` call sends one batch (capped by count and bytes) and returns what happened.
The journal is the box's, reached through a ``sync.store.JournalStore`` (the edge's outbox).
Rules that keep data safe:

* The ack (``Journal.mark_acked``) moves only to the hub's ``acked_seq``, which covers a
  contiguous prefix the hub committed; rows are deleted (pruned) only after that, and only
  after the retention time.
* A "resend" answer (the hub lacks events before this batch, e.g. it was restored) makes the
  next batch start where the hub asks, from rows still in the outbox.
* A ``seq_conflict`` refusal means this database re-used sequence numbers the hub already
  holds with other content (restored from a backup): the unacknowledged events move to a new
  epoch (``Journal.rotate_epoch``) and are pushed again under it. Nothing is dropped.
* Any other refusal (revoked credential, broken chain, foreign outlet) is recorded and shown;
  the outbox is kept and selling goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.journal import genesis_hash
from shared.schemas import JournalEntry
from sync.client import HubClient, HubRefused, HubUnreachable
from sync.protocol import PushRequest, PushResponse
from sync.store import Journal, JournalHead, JournalStore

__all__ = ["EDGE_VERSION", "PushOutcome", "push_once", "push_pipelined"]

log = logging.getLogger("sync.push")
EDGE_VERSION = "fnbpos-edge/0.1.0"


@dataclass
class PushOutcome:
    sent: int = 0
    acked_seq: int = 0
    more: bool = False  # more backlog is waiting: push again now
    unreachable: bool = False
    refused: str = ""  # the hub's error code when it refused
    error: str = ""
    resend_from: int | None = None
    epoch_rotated: bool = False
    retry_after: float | None = None  # the hub's Retry-After when it shed the push

    @property
    def ok(self) -> bool:
        return not self.unreachable and not self.refused


async def push_once(store: JournalStore, client: HubClient, outlet_id: str, *, max_events: int,
                    max_bytes: int, resend_from: int | None = None,
                    resend_epoch: str | None = None) -> PushOutcome:
    """Send one batch (possibly empty: a heartbeat that also learns what the hub holds)."""
    def read(journal: Journal) -> tuple[list[JournalEntry], JournalHead]:
        head = journal.head()
        if resend_from is not None:
            return journal.entries_from(outlet_id, resend_from, resend_epoch, max_events,
                                        max_bytes), head
        return journal.unacked(outlet_id, max_events, max_bytes), head

    entries, head = await store.read(read)
    from_epoch_start = resend_from is not None and resend_from <= 0
    if from_epoch_start and entries and entries[0].prev_hash != genesis_hash(entries[0].epoch):
        message = (f"the hub asks for epoch {entries[0].epoch} from its start, but its first events"
                   " were already pruned from this box; needs an operator")
        await store.write(lambda j: j.record_failure(message, reachable=True, refused=True))
        return PushOutcome(refused="resend_impossible", error=message)
    if resend_from is not None and resend_from > 0 and (not entries or entries[0].seq > resend_from):
        message = (f"the hub asks for events from seq {resend_from}, but they were already pruned "
                   "from this box (raise POS_SYNC_RETENTION_DAYS); needs an operator")
        await store.write(lambda j: j.record_failure(message, reachable=True, refused=True))
        return PushOutcome(refused="resend_impossible", error=message)
    request = PushRequest(outlet_id=outlet_id, epoch=head.epoch, entries=entries,
                          backlog=head.backlog, sent_at=datetime.now(UTC),
                          edge_version=EDGE_VERSION)
    try:
        response = await client.push(request)
    except HubUnreachable as exc:
        message = str(exc)
        await store.write(lambda j: j.record_failure(message, reachable=False, refused=False))
        return PushOutcome(unreachable=True, error=message, retry_after=exc.retry_after)
    except HubRefused as exc:
        return await _refused(store, exc, entries)

    return await _settle(store, response, entries)


async def _settle(store: JournalStore, response: PushResponse,
                  entries: list[JournalEntry]) -> PushOutcome:
    """Record the hub's answer: move the ack (never back), detect a restored copy."""
    def acknowledge(journal: Journal) -> tuple[int, bool]:
        acked = journal.mark_acked(response.acked_seq) if response.acked_seq else \
            journal.head().acked_seq
        rotated = False
        current = journal.head()
        # The hub holds more of our own epoch than this database ever wrote: we are a
        # restored copy. Continue under a new epoch so no number of this one is re-used.
        if response.epoch == current.epoch and response.held_seq > current.seq:
            journal.rotate_epoch(f"hub holds seq {response.held_seq} of this epoch, "
                                 f"this database only {current.seq} (restored?)")
            rotated = True
        journal.record_push(response.acked_seq, len(entries))
        return acked, rotated

    acked, rotated = await store.write(acknowledge)
    outcome = PushOutcome(sent=len(entries), acked_seq=acked, epoch_rotated=rotated)
    if response.status == "resend":
        outcome.resend_from = response.resend_from if response.resend_from is not None else 0
        outcome.more = True
        log.warning("hub asked for a resend", extra={"resend_from": outcome.resend_from})
    else:
        remaining = await store.read(lambda j: j.backlog())
        outcome.more = bool(entries) and remaining > 0
    if rotated:
        outcome.more = True
    return outcome


async def push_pipelined(store: JournalStore, client: HubClient, outlet_id: str, *, max_events: int,
                         max_bytes: int, depth: int = 2) -> PushOutcome:
    """Drain the backlog with up to ``depth`` batches in flight: the next batch is read,
    encoded and sent while the hub applies the previous one (the hub applies an outlet's
    batches one after the other, waiting briefly for a predecessor still in flight).

    Used only on the plain path: the first answer that is not a clean "ok" (an error, a
    resend, a quarantine, an epoch change) stops the pipeline; batches still in flight are
    cancelled (whatever the hub committed of them is re-sent and skipped as duplicates) and
    the caller goes on one batch at a time (``push_once``)."""
    in_flight: deque[tuple[asyncio.Task[PushResponse], list[JournalEntry]]] = deque()
    total = PushOutcome()
    next_seq: int | None = None  # first seq not yet sent
    try:
        while True:
            while len(in_flight) < depth:
                def read(journal: Journal, after: int | None = next_seq) -> tuple[
                        list[JournalEntry], JournalHead]:
                    head = journal.head()
                    if after is None:
                        return journal.unacked(outlet_id, max_events, max_bytes), head
                    return journal.entries_from(outlet_id, after, None, max_events,
                                                max_bytes), head

                entries, head = await store.read(read)
                if not entries or (in_flight and entries[0].epoch != in_flight[-1][1][0].epoch):
                    break  # nothing more (or a new epoch: let the previous one finish first)
                request = PushRequest(outlet_id=outlet_id, epoch=entries[0].epoch,
                                      entries=entries, backlog=head.backlog,
                                      sent_at=datetime.now(UTC), edge_version=EDGE_VERSION,
                                      pipelined=bool(in_flight))
                in_flight.append((asyncio.create_task(client.push(request)), entries))
                next_seq = entries[-1].seq + 1
            if not in_flight:
                if next_seq is None:  # nothing to send: a heartbeat, as push_once does
                    return await push_once(store, client, outlet_id, max_events=max_events,
                                           max_bytes=max_bytes)
                return total
            task, entries = in_flight.popleft()
            try:
                response = await task
            except HubUnreachable as exc:
                message = str(exc)
                def unreachable(journal: Journal, error: str = message) -> None:
                    journal.record_failure(error, reachable=False, refused=False)

                await store.write(unreachable)
                total.unreachable, total.error = True, message
                total.retry_after = exc.retry_after
                return total
            except HubRefused as exc:
                refused = await _refused(store, exc, entries)
                refused.sent += total.sent
                return refused
            outcome = await _settle(store, response, entries)
            total.sent += outcome.sent
            total.acked_seq = outcome.acked_seq
            clean = (response.status == "ok" and not response.quarantined
                     and not outcome.epoch_rotated and response.acked_seq == entries[-1].seq)
            if not clean:
                outcome.sent = total.sent
                outcome.more = True
                return outcome
    finally:
        for task, _ in in_flight:
            task.cancel()
        # Cancelled or failed, they are re-sent later (and skipped if the hub held them).
        await asyncio.gather(*(task for task, _ in in_flight), return_exceptions=True)


async def _refused(store: JournalStore, exc: HubRefused,
                   entries: list[JournalEntry]) -> PushOutcome:
    reason = (exc.details or {}).get("reason") if isinstance(exc.details, dict) else None
    if exc.code == "journal_refused" and reason == "seq_conflict":
        # Commit what the hub did hold of this batch, then move the rest to a new epoch.
        acked = int((exc.details or {}).get("acked_seq") or 0)

        def rotate(journal: Journal) -> None:
            if acked:
                journal.mark_acked(acked)
            journal.rotate_epoch(f"hub refused: {exc.message}")
            journal.record_failure(f"hub: {exc.message}; events moved to a new epoch",
                                   reachable=True, refused=False)

        await store.write(rotate)
        log.warning("sequence conflict: started a new epoch", extra={"hub_error": exc.message})
        return PushOutcome(refused="", error=str(exc), epoch_rotated=True, more=True)
    message = f"hub refused: {exc}"
    held = int((exc.details or {}).get("acked_seq") or 0) if isinstance(exc.details, dict) else 0

    def record(journal: Journal) -> None:
        if held:  # the hub committed the valid events before the refused one
            journal.mark_acked(held)
        journal.record_failure(message, reachable=True, refused=True)

    await store.write(record)
    log.error("push refused by the hub", extra={"code": exc.code, "hub_error": exc.message})
    return PushOutcome(refused=exc.code or "refused", error=str(exc))
