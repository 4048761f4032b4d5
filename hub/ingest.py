"""Outlet journals into the hub (push); the feed out to the outlets is ``hub.feed``.

Push (``ingest_push``) applies one batch in ONE transaction, under the outlet's tenant:

0. Before any database work, each entry's body is decoded and its hash checked against its
   own content (``_decode_all``): the CPU-heavy part, done outside the lock so it overlaps
   the previous batch of the same outlet when the edge pipelines.
1. The outlet row is locked (``SELECT ... FOR UPDATE``), so two hub processes receiving the
   same outlet's batches apply them one after the other; the second finds them held.
2. Each entry is checked against the (outlet, epoch) cursor:
   * ``seq <= last_seq``: already held. Same hash -> skipped (idempotent re-push); entry
     pruned after the retention period (``hub.journal_retention``) -> skipped too. Different
     hash -> *seq conflict*: alarm, refuse (never overwrite).
   * ``seq == last_seq + 1``: ``prev_hash`` must equal the held hash and ``hash`` must be
     ``chain_hash(prev_hash, seq, body)``; otherwise *broken chain*: alarm, refuse.
   * ``seq > last_seq + 1``: a gap; stop and ask for a resend from ``last_seq + 1``. A
     batch marked ``pipelined`` whose first entry is past the gap first waits (up to
     ``PREDECESSOR_WAIT_S``, outside any transaction) for its predecessor to be applied.
   * an epoch the hub has not seen starts at its genesis hash (a new database or a restore);
     re-used numbers across epochs raise an alarm but are accepted (the data is real).
   * an entry, or an order inside it, claiming another outlet: alarm, refuse (403).
3. The verified entries are applied to the reporting tables set-based (one statement per
   table, ``hub.ingest_store``) inside a SAVEPOINT, and stored in the journal. An entry that
   cannot be applied (undecodable, money that does not add up, an id owned by another outlet)
   is *quarantined*: held in the journal, listed on the fleet view, not applied; the stream
   moves on. If the database rejects the set-based apply, the batch is applied again one
   event per savepoint so only the faulty event is quarantined.
4. The cursor advances with the applied data in the same commit; the reply's ``acked_seq``
   covers only entries that are durably held. A refusal still commits the valid prefix.

Applying is idempotent by record: orders and shifts are snapshots upserted by id where the
higher journal seq wins; payments, cash movements and kitchen events are inserted once by id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.enrollment import OutletInactive
from hub.ingest_store import IngestStore, store_for
from hub.models import (
    CashMovementRow,
    EdgeAvailability,
    KitchenEventRow,
    OrderLineRow,
    OrderRow,
    Outlet,
    PaymentRow,
    ShiftRow,
)
from hub.sync_models import SyncAlarm, SyncCredential, SyncCursor, SyncJournalEntry, SyncQuarantine
from hub.sync_status import SyncIdentity, status_row, touch_status
from shared.auth import digest
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, Rejected, Unauthorized
from shared.ids import new_id
from shared.journal import chain_hash, genesis_hash
from shared.pricing import PricedLine, price_order
from shared.schemas import (
    AvailabilityEvent,
    CashMovementEvent,
    JournalEntry,
    KitchenEvent,
    Order,
    OrderEvent,
    OrderLine,
    PaymentEvent,
    ShiftEvent,
    TaxConfig,
    event_decoder,
    json_encoder,
)
from sync.protocol import (
    WIRE_VERSION,
    PushRequest,
    PushResponse,
)

__all__ = [
    "CredentialRevoked",
    "JournalRefused",
    "SyncIdentity",
    "authenticate",
    "ingest_push",
    "resolve_quarantined",
]

log = logging.getLogger("hub.ingest")

# How long a pipelined batch that arrives before its predecessor waits for it to be applied
# before the hub answers "resend" (the edge then goes back to one batch at a time).
PREDECESSOR_WAIT_S = 1.0


class CredentialRevoked(Unauthorized):
    code = "credential_revoked"


class JournalRefused(Conflict):
    """The batch breaks the outlet's journal (broken chain, seq conflict): refused, alarmed."""

    code = "journal_refused"


class ForeignClaim(Forbidden):
    code = "foreign_outlet"


async def authenticate(db: Database, token: str | None) -> SyncIdentity:
    """Resolve a bearer sync credential to its outlet; refuse unknown and revoked ones."""
    if not token:
        raise Unauthorized("sync credential required")
    async with db.system() as session:
        found = (await session.execute(
            select(SyncCredential, Outlet.active).join(Outlet, Outlet.id == SyncCredential.outlet_id)
            .where(SyncCredential.secret_digest == digest(token))
        )).first()
        if found is None:
            raise Unauthorized("unknown sync credential")
        credential, outlet_active = found
        if credential.revoked_at is not None:
            raise CredentialRevoked("this outlet's sync credential was revoked: re-enroll the box",
                                    details={"outlet_id": credential.outlet_id,
                                             "revoked_at": credential.revoked_at.isoformat()})
        if not outlet_active:  # deactivated at head office (hub.enrollment.OutletInactive)
            raise OutletInactive("this outlet is deactivated at head office: its box keeps "
                                 "selling offline and syncs again once it is reactivated",
                                 details={"outlet_id": credential.outlet_id})
        return SyncIdentity(credential.tenant_id, credential.outlet_id, credential.id)


# ---------------------------------------------------------------- push


@dataclass
class _Outcome:
    applied: int = 0
    duplicates: int = 0
    quarantined: list[int] = field(default_factory=list)
    acked_seq: int = 0
    status: str = "ok"
    resend_from: int | None = None
    refusal: Exception | None = None


class _Unappliable(Exception):
    """This event cannot be applied; it is quarantined with the message as reason."""


@dataclass
class _Verified:
    """An entry whose place in the journal is proven, with its decoded body (or why not)."""

    entry: JournalEntry
    body: Any = None
    problem: str = ""  # set -> quarantine with this reason
    status: str = "applied"


class _PredecessorInFlight(Exception):
    """A pipelined batch arrived before the one it follows was applied: retry shortly."""


@dataclass
class _Decoded:
    """What can be learned of an entry without the database: its body and whether its hash
    is the chain hash of its own content (its link to the held journal is checked later)."""

    body: Any
    problem: str
    hash_ok: bool


def _decode_event(raw: bytes) -> Any:
    """An event body as the hub stores it: every NUL in its text replaced by U+FFFD.

    PostgreSQL text and JSON cannot hold NUL. Edges refuse it now, but an older edge may have
    journaled one (an order note): quarantining that event would keep the order from head
    office forever, so the hub keeps the order and marks the character instead. The journal
    keeps the bytes as sent (its hash chain covers them).
    """
    body = event_decoder.decode(raw)
    # A NUL byte is common in msgpack (the integer 0); only a JSON rendering of the decoded
    # event tells a NUL inside a text apart, and only then is the event rebuilt.
    if b"\x00" in raw and b"\\u0000" in json_encoder.encode(body):
        body = _without_nul(body)
    return body


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.replace(value, **{name: _without_nul(getattr(value, name))
                                                 for name in value.__struct_fields__})
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(item) for item in value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _pg_text(text: str) -> str:
    """Text from an edge for a column of ours (a quarantine reason, an event kind)."""
    return text.replace("\x00", "\ufffd")


def _decode_all(entries: list[JournalEntry]) -> list[_Decoded]:
    decoded = []
    for entry in entries:
        hash_ok = chain_hash(entry.prev_hash, entry.seq, entry.body) == entry.hash
        try:
            decoded.append(_Decoded(_decode_event(entry.body), "", hash_ok))
        except msgspec.MsgspecError as exc:
            decoded.append(_Decoded(None, f"undecodable event body: {exc}", hash_ok))
    return decoded


async def ingest_push(db: Database, who: SyncIdentity, request: PushRequest,
                      wire_version: int = WIRE_VERSION) -> PushResponse:
    now = datetime.now(UTC)
    foreign = [e.seq for e in request.entries if e.outlet_id != who.outlet_id]
    if request.outlet_id != who.outlet_id or foreign:
        await _refuse_foreign(db, who, request, foreign, now)
    # The CPU-heavy part (hashing, decoding) runs before taking the outlet's lock, so it
    # overlaps the database work of the outlet's previous batch when the edge pipelines.
    decoded = _decode_all(request.entries)
    started = time.monotonic()
    waits = 0
    while True:
        try:
            reply = await _ingest_locked(db, who, request, decoded, wire_version, now,
                                         wait_for_predecessor=request.pipelined
                                         and time.monotonic() - started < PREDECESSOR_WAIT_S)
        except _PredecessorInFlight:
            waits += 1
            await asyncio.sleep(0.005)
            continue
        if waits:
            log.info("pipelined batch waited for its predecessor",
                     extra={"outlet_id": who.outlet_id, "retries": waits,
                            "waited_ms": round((time.monotonic() - started) * 1000, 1)})
        return reply


async def _ingest_locked(db: Database, who: SyncIdentity, request: PushRequest,
                         decoded: list[_Decoded], wire_version: int, now: datetime, *,
                         wait_for_predecessor: bool) -> PushResponse:
    outcome = _Outcome()
    async with db.tenant(who.tenant_id) as session:
        outlet = (await session.execute(
            select(Outlet).where(Outlet.id == who.outlet_id).with_for_update()
        )).scalar_one()
        cursors = {c.epoch: c for c in (await session.execute(
            select(SyncCursor).where(SyncCursor.outlet_id == who.outlet_id)
        )).scalars()}
        tax = _tax_of(outlet)
        verified = await _verify_batch(session, who, cursors, request.entries, decoded, outcome,
                                       now, wait_for_predecessor)
        if verified:
            await _apply_verified(session, who, tax, verified, now)
            await store_for(session).insert_journal([
                (who.tenant_id, who.outlet_id, v.entry.epoch, v.entry.seq, v.entry.event_id,
                 _kind_of(v), v.entry.body, v.entry.prev_hash, v.entry.hash,
                 _aware(v.entry.occurred_at), now, v.status, wire_version) for v in verified])
            for v in verified:
                if v.status == "quarantined":
                    session.add(SyncQuarantine(
                        tenant_id=who.tenant_id, outlet_id=who.outlet_id, epoch=v.entry.epoch,
                        seq=v.entry.seq, event_id=v.entry.event_id, kind=_kind_of(v),
                        reason=_pg_text(v.problem[:2000]), created_at=now))
                    outcome.quarantined.append(v.entry.seq)
                    log.warning("event quarantined", extra={"outlet_id": who.outlet_id,
                                                            "seq": v.entry.seq, "reason": v.problem})
                else:
                    outcome.applied += 1
        held = cursors.get(request.epoch)
        await touch_status(session, who, now, backlog=request.backlog,
                            edge_version=request.edge_version, pushed=True,
                            error=str(outcome.refusal) if outcome.refusal else "",
                            quarantined=len(outcome.quarantined))
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
                        decoded: list[_Decoded], outcome: _Outcome, now: datetime,
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
                await _alarm(session, who, "seq_reuse",
                             f"new epoch {entry.epoch} starts at seq {entry.seq}, but seqs up to "
                             f"{max(c.last_seq for c in reused)} are already held from another "
                             "epoch (a database restored from backup?)",
                             {"epoch": entry.epoch, "seq": entry.seq}, now, journal=True)
            elif cursors:
                await _alarm(session, who, "epoch_change",
                             f"the outlet started a new journal epoch {entry.epoch} at seq {entry.seq}",
                             {"epoch": entry.epoch, "seq": entry.seq}, now, journal=False)
            cursor = SyncCursor(tenant_id=who.tenant_id, outlet_id=who.outlet_id, epoch=entry.epoch,
                                first_seq=entry.seq, last_seq=entry.seq - 1,
                                last_hash=entry.prev_hash, started_at=now, updated_at=now)
            session.add(cursor)
            cursors[entry.epoch] = cursor
        if entry.seq <= cursor.last_seq:
            found = held.get((entry.epoch, entry.seq))
            # Not found: held once (every seq up to the cursor was), then pruned after the
            # retention period (hub.journal_retention): nothing left to compare with.
            if found is None or found == (entry.hash, entry.body):
                outcome.duplicates += 1
                outcome.acked_seq = entry.seq
                continue
            await _alarm(session, who, "seq_conflict",
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
            await _alarm(session, who, "broken_chain",
                         f"seq {entry.seq} of epoch {entry.epoch} does not chain to the journal"
                         " held (altered or missing events); refused",
                         {"epoch": entry.epoch, "seq": entry.seq, "expected_prev": cursor.last_hash,
                          "sent_prev": entry.prev_hash}, now, journal=True)
            outcome.refusal = JournalRefused(
                f"seq {entry.seq} breaks the hash chain",
                details={"reason": "broken_chain", "epoch": entry.epoch, "seq": entry.seq,
                         "acked_seq": outcome.acked_seq})
            break
        item = _Verified(entry=entry, body=known.body, problem=known.problem)
        if isinstance(item.body, OrderEvent) and item.body.order.outlet_id != who.outlet_id:
            message = (f"order {item.body.order.id} claims outlet {item.body.order.outlet_id}, "
                       f"but the credential belongs to outlet {who.outlet_id}")
            await _alarm(session, who, "foreign_outlet", message,
                         {"epoch": entry.epoch, "seq": entry.seq}, now, journal=True)
            outcome.refusal = ForeignClaim(message, details={"seq": entry.seq})
            break
        verified.append(item)
        cursor.last_seq, cursor.last_hash, cursor.updated_at = entry.seq, entry.hash, now
        outcome.acked_seq = entry.seq
    return verified


async def _apply_verified(session: AsyncSession, who: SyncIdentity, tax: TaxConfig,
                          verified: list[_Verified], now: datetime) -> None:
    """Apply the batch with a few set-based statements; if the database rejects that, apply
    event by event in savepoints so only the event at fault is quarantined."""
    for item in verified:
        if not item.problem and isinstance(item.body, OrderEvent):
            problems = _check_money(item.body.order, tax)
            if problems:
                item.problem = "money does not add up: " + "; ".join(problems)
        if item.problem:
            item.status = "quarantined"
    try:
        async with session.begin_nested():
            await _apply_bulk(session, who, tax, [v for v in verified if not v.problem], now)
    except Exception as exc:  # noqa: BLE001 - isolate the bad event below
        log.warning("bulk apply failed, applying one by one", extra={"outlet_id": who.outlet_id,
                                                                     "error": str(exc)[:300]})
        for item in verified:
            if item.problem:
                continue
            try:
                async with session.begin_nested():
                    await _apply(session, who, tax, item.entry)
            except _Unappliable as problem:
                item.problem, item.status = str(problem), "quarantined"
            except Exception as problem:  # noqa: BLE001 - one event must not wedge the stream
                item.problem = f"could not apply: {type(problem).__name__}: {problem}"[:2000]
                item.status = "quarantined"


async def _apply_bulk(session: AsyncSession, who: SyncIdentity, tax: TaxConfig,
                      items: list[_Verified], now: datetime) -> None:
    """Set-based apply of verified, valid events (same rules as ``_apply``): a few
    statements per batch through ``hub.ingest_store``."""
    latest_orders: dict[str, tuple[int, Order]] = {}
    latest_shifts: dict[str, tuple[int, Any]] = {}
    payments: dict[str, Any] = {}
    movements: dict[str, Any] = {}
    kitchen: dict[str, KitchenEvent] = {}
    availability: dict[str, AvailabilityEvent] = {}
    for item in items:
        seq, body = item.entry.seq, item.body
        match body:
            case OrderEvent(order=order):
                if order.id not in latest_orders or latest_orders[order.id][0] < seq:
                    latest_orders[order.id] = (seq, order)
            case PaymentEvent(payment=payment):
                payments.setdefault(payment.id, payment)
            case KitchenEvent():
                kitchen.setdefault(item.entry.event_id, body)
            case ShiftEvent(shift=shift):
                if shift.id not in latest_shifts or latest_shifts[shift.id][0] < seq:
                    latest_shifts[shift.id] = (seq, shift)
            case CashMovementEvent(movement=movement):
                movements.setdefault(movement.id, movement)
            case AvailabilityEvent():
                current = availability.get(body.product_id)
                if current is None or current.at <= body.at:
                    availability[body.product_id] = body
    store = store_for(session)
    tenant, outlet = who.tenant_id, who.outlet_id
    if latest_orders:
        await _bulk_orders(store, session, who, tax, latest_orders, now)
    if payments:
        for payment in payments.values():
            if payment.method == "cash" and payment.tendered and (
                    payment.tendered - payment.amount != payment.change):
                raise _Unappliable(f"payment {payment.id}: change does not add up")
        inserted = await store.insert_payments([
            (tenant, outlet, p.id, p.order_id, p.method, p.amount, p.tendered, p.change,
             p.reference, _aware(p.created_at), p.shift_id, p.staff_id, now)
            for p in payments.values()])
        await _held_or_unappliable(store, PaymentRow, set(payments) - inserted, who, "payment")
    if kitchen:
        rows = [(tenant, outlet, event_id, k.ticket_id, k.order_id, k.station, k.action,
                 _aware(k.at), now) for event_id, k in kitchen.items()]
        inserted = await store.insert_kitchen_events(rows)
        skipped = [row for row in rows if row[2] not in inserted]
        if skipped:
            foreign = {row[2] for row in skipped} - await store.kitchen_held(skipped, outlet)
            if foreign:
                raise _Unappliable(f"kitchen event(s) {sorted(foreign)[:5]} are held for "
                                   "another outlet")
    if movements:
        inserted = await store.insert_cash_movements([
            (tenant, outlet, m.id, m.shift_id, m.direction, m.amount, m.reason,
             _aware(m.created_at), m.staff_id, now) for m in movements.values()])
        await _held_or_unappliable(store, CashMovementRow, set(movements) - inserted, who,
                                   "cash movement")
    for seq, shift in latest_shifts.values():
        await _apply(session, who, tax, None, body=ShiftEvent(shift=shift), seq=seq)
    for body in availability.values():
        await _apply(session, who, tax, None, body=body, seq=0)
    await session.flush()


async def _held_or_unappliable(store: IngestStore, model: Any, skipped: set[str],
                               who: SyncIdentity, what: str) -> None:
    """Rows an insert skipped must be this outlet's own, already held; an id held for
    another outlet (or tenant) is not ours to overwrite: unappliable."""
    if skipped:
        foreign = skipped - await store.held_by_outlet(model, list(skipped), who.outlet_id)
        if foreign:
            raise _Unappliable(f"{what} id(s) {sorted(foreign)[:5]} are used by another outlet")


async def _bulk_orders(store: IngestStore, session: AsyncSession, who: SyncIdentity,
                       tax: TaxConfig, latest: dict[str, tuple[int, Order]],
                       now: datetime) -> None:
    existing = await store.existing_orders(list(latest))
    new_rows, newer_rows, line_rows, replaced = [], [], [], []
    for order_id, (seq, order) in latest.items():
        held = existing.get(order_id)
        if held is not None and held.outlet_id != who.outlet_id:
            raise _Unappliable(f"order id {order_id} is already used by another outlet")
        if held is not None and held.edge_seq > seq:
            continue  # a newer snapshot is already applied
        mismatch = _priced_differently(order, tax)
        if mismatch:
            session.add(SyncAlarm(tenant_id=who.tenant_id, outlet_id=who.outlet_id,
                                  kind="money_mismatch", message=mismatch,
                                  details={"order_id": order.id, "seq": seq}, created_at=now))
        if held is None:
            new_rows.append(_order_row(who, order, seq, now))
        else:
            newer_rows.append(_order_row(who, order, seq, now))
            replaced.append(order_id)
        line_rows += [_line_row(who, order.id, line) for line in order.lines]
    await store.insert_orders(new_rows)
    await store.update_orders(newer_rows)
    await store.replace_lines(replaced, line_rows)


# ---------------------------------------------------------------- applying events


async def _apply(session: AsyncSession, who: SyncIdentity, tax: TaxConfig,
                 entry: JournalEntry | None, body: Any = None, seq: int = 0) -> None:
    """Apply one event (the one-by-one path, and shifts/availability of the bulk path)."""
    if entry is not None:
        seq = entry.seq
        try:
            body = _decode_event(entry.body)
        except msgspec.MsgspecError as exc:
            raise _Unappliable(f"undecodable event body: {exc}") from exc
    match body:
        case OrderEvent(order=order):
            await _apply_order(session, who, tax, order, seq)
        case PaymentEvent(payment=payment):
            if await session.get(PaymentRow, payment.id) is None:
                session.add(PaymentRow(
                    tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=payment.id,
                    order_id=payment.order_id, method=payment.method, amount=payment.amount,
                    tendered=payment.tendered, change=payment.change, reference=payment.reference,
                    created_at=_aware(payment.created_at), shift_id=payment.shift_id,
                    staff_id=payment.staff_id))
                if payment.method == "cash" and payment.tendered and (
                        payment.tendered - payment.amount != payment.change):
                    raise _Unappliable(f"payment {payment.id}: change {payment.change} is not "
                                       f"tendered {payment.tendered} - amount {payment.amount}")
        case KitchenEvent():
            await _apply_kitchen(session, who, body, entry.event_id if entry else new_id())
        case ShiftEvent(shift=shift):
            row = await session.get(ShiftRow, shift.id)
            if row is not None and row.outlet_id != who.outlet_id:
                raise _Unappliable(f"shift {shift.id} belongs to another outlet")
            if row is None:
                row = ShiftRow(tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=shift.id,
                               edge_seq=0)
                session.add(row)
            if row.edge_seq <= seq:
                row.opened_by, row.opened_at = shift.opened_by, _aware(shift.opened_at)
                row.opening_float, row.closed_by = shift.opening_float, shift.closed_by
                row.closed_at = _aware(shift.closed_at) if shift.closed_at else None
                row.counted_cash, row.expected_cash = shift.counted_cash, shift.expected_cash
                row.difference, row.edge_seq = shift.difference, seq
        case CashMovementEvent(movement=movement):
            if await session.get(CashMovementRow, movement.id) is None:
                session.add(CashMovementRow(
                    tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=movement.id,
                    shift_id=movement.shift_id, direction=movement.direction,
                    amount=movement.amount, reason=movement.reason,
                    created_at=_aware(movement.created_at), staff_id=movement.staff_id))
        case AvailabilityEvent():
            row = await session.get(EdgeAvailability, (who.outlet_id, body.product_id))
            if row is None:
                session.add(EdgeAvailability(tenant_id=who.tenant_id, outlet_id=who.outlet_id,
                                             product_id=body.product_id, available=body.available,
                                             at=_aware(body.at)))
            elif row.at <= _aware(body.at):
                row.available, row.at = body.available, _aware(body.at)
    await session.flush()


def _check_money(order: Order, tax: TaxConfig) -> list[str]:
    """Arithmetic the order must satisfy whatever the outlet's settings were at the time."""
    problems = []
    for line in order.lines:
        if line.unit_price * line.qty != line.line_total:
            problems.append(f"line {line.id}: {line.qty} x {line.unit_price} != {line.line_total}")
        expected_unit = max(0, line.unit_price)
        if line.modifiers and expected_unit < 0:
            problems.append(f"line {line.id}: negative unit price")
    subtotal = sum(line.line_total for line in order.lines)
    if subtotal != order.subtotal:
        problems.append(f"subtotal {order.subtotal} != sum of lines {subtotal}")
    if order.discount > order.subtotal:
        problems.append(f"discount {order.discount} exceeds subtotal {order.subtotal}")
    if tax.prices_include_tax:
        expected_total = order.subtotal - order.discount + order.rounding
    else:
        expected_total = (order.subtotal - order.discount + order.service_charge + order.tax
                          + order.rounding)
    if expected_total != order.total:
        problems.append(f"total {order.total} != subtotal - discount + service + tax + rounding "
                        f"({expected_total})")
    return problems


def _priced_differently(order: Order, tax: TaxConfig) -> str:
    """Recompute with shared.pricing under the outlet's current tax settings (an alarm only:
    the settings may have changed since the order was placed)."""
    totals = price_order([PricedLine(base_price=line.unit_price, qty=line.qty)
                          for line in order.lines], tax, order.discount)
    if (totals.service_charge, totals.tax, totals.rounding, totals.total) != (
            order.service_charge, order.tax, order.rounding, order.total):
        return (f"order {order.id}: edge total {order.total} (service {order.service_charge}, "
                f"tax {order.tax}) differs from the hub's recomputation {totals.total} "
                f"(service {totals.service_charge}, tax {totals.tax})")
    return ""


async def _apply_order(session: AsyncSession, who: SyncIdentity, tax: TaxConfig, order: Order,
                       seq: int) -> None:
    if order.outlet_id != who.outlet_id:
        raise ForeignClaim(f"order {order.id} claims outlet {order.outlet_id}, "
                           f"but the credential belongs to outlet {who.outlet_id}")
    problems = _check_money(order, tax)
    if problems:
        raise _Unappliable("money does not add up: " + "; ".join(problems))
    row = await session.get(OrderRow, order.id)
    if row is not None and row.outlet_id != who.outlet_id:
        raise _Unappliable(f"order id {order.id} is already used by another outlet")
    if row is not None and row.edge_seq > seq:
        return  # a newer snapshot is already applied: never go back
    mismatch = _priced_differently(order, tax)
    if mismatch:
        session.add(SyncAlarm(tenant_id=who.tenant_id, outlet_id=who.outlet_id,
                              kind="money_mismatch", message=mismatch,
                              details={"order_id": order.id, "seq": seq},
                              created_at=datetime.now(UTC)))
    values = _order_values(order, seq)
    if row is None:
        session.add(OrderRow(tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=order.id,
                             **values))
        await session.flush()
    else:
        for key, value in values.items():
            setattr(row, key, value)
        await session.execute(delete(OrderLineRow).where(OrderLineRow.order_id == order.id))
    session.add_all([_line_object(who, order.id, line) for line in order.lines])


def _order_values(order: Order, seq: int) -> dict[str, Any]:
    return {
        "number": order.number, "business_day": date.fromisoformat(order.business_day),
        "type": order.type, "status": order.status, "currency": order.currency, "subtotal": order.subtotal,
        "discount": order.discount, "service_charge": order.service_charge, "tax": order.tax,
        "rounding": order.rounding, "total": order.total, "paid": order.paid, "note": order.note,
        "customer_name": order.customer_name, "table_label": order.table, "void_reason": order.void_reason,
        "source": order.source, "created_at": _aware(order.created_at),
        "updated_at": _aware(order.updated_at), "edge_seq": seq}


def _order_row(who: SyncIdentity, order: Order, seq: int, now: datetime) -> tuple[Any, ...]:
    """``ingest_store.ORDER_COLUMNS`` of an order snapshot."""
    return (who.tenant_id, who.outlet_id, order.id, order.number,
            date.fromisoformat(order.business_day), order.type, order.status, order.currency,
            order.subtotal, order.discount, order.service_charge, order.tax, order.rounding,
            order.total, order.paid, order.note, order.customer_name, order.table,
            order.void_reason, order.source, _aware(order.created_at), _aware(order.updated_at),
            seq, now)


def _line_row(who: SyncIdentity, order_id: str, line: OrderLine) -> tuple[Any, ...]:
    """``ingest_store.LINE_COLUMNS`` of an order line (modifiers as structs: the store
    encodes them for its database)."""
    return (who.tenant_id, who.outlet_id, line.id, order_id, line.product_id, line.name,
            line.qty, line.unit_price, line.line_total, line.modifiers, line.note,
            line.station)


def _line_object(who: SyncIdentity, order_id: str, line: OrderLine) -> OrderLineRow:
    return OrderLineRow(
        tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=line.id, order_id=order_id,
        product_id=line.product_id, name=line.name, qty=line.qty, unit_price=line.unit_price,
        line_total=line.line_total, modifiers=msgspec.to_builtins(line.modifiers),
        note=line.note, station=line.station)


async def _apply_kitchen(session: AsyncSession, who: SyncIdentity, body: KitchenEvent,
                         event_id: str) -> None:
    if await session.get(KitchenEventRow, event_id) is not None:
        return
    same = (await session.execute(select(KitchenEventRow.id).where(
        KitchenEventRow.ticket_id == body.ticket_id, KitchenEventRow.action == body.action,
        KitchenEventRow.at == _aware(body.at)))).first()
    if same is not None:
        return
    session.add(KitchenEventRow(tenant_id=who.tenant_id, outlet_id=who.outlet_id, id=event_id,
                                ticket_id=body.ticket_id, order_id=body.order_id,
                                station=body.station, action=body.action, at=_aware(body.at)))


# ---------------------------------------------------------------- fleet status and alarms


async def _alarm(session: AsyncSession, who: SyncIdentity, kind: str, message: str,
                 details: dict[str, Any], now: datetime, journal: bool) -> None:
    session.add(SyncAlarm(tenant_id=who.tenant_id, outlet_id=who.outlet_id, kind=kind,
                          message=message, details=details, created_at=now))
    if journal:
        status = await status_row(session, who, now)
        status.journal_alarm = f"{kind}: {message}"[:2000]
    log.warning("sync alarm", extra={"outlet_id": who.outlet_id, "kind": kind,
                                     "alarm": message})


async def _refuse_foreign(db: Database, who: SyncIdentity, request: PushRequest,
                          foreign: list[int], now: datetime) -> None:
    message = (f"push for outlet {request.outlet_id} (entries {foreign[:10]}) with the credential "
               f"of outlet {who.outlet_id}: refused")
    async with db.tenant(who.tenant_id) as session:
        await _alarm(session, who, "foreign_outlet", message,
                     {"claimed_outlet": request.outlet_id, "seqs": foreign[:100]}, now,
                     journal=True)
        await touch_status(session, who, now, error=message)
    raise ForeignClaim(message, details={"outlet_id": who.outlet_id})


# ---------------------------------------------------------------- helpers


def _tax_of(outlet: Outlet) -> TaxConfig:
    return TaxConfig(service_rate_bp=outlet.service_rate_bp, tax_rate_bp=outlet.tax_rate_bp,
                     tax_name=outlet.tax_name, prices_include_tax=outlet.prices_include_tax,
                     rounding_unit=outlet.rounding_unit)


def _kind_of(item: _Verified) -> str:
    if item.body is not None:
        return type(item.body).__struct_config__.tag  # the event's "kind" tag
    try:
        raw = msgspec.msgpack.decode(item.entry.body)
        if isinstance(raw, dict):
            return _pg_text(str(raw.get("kind", "unknown"))[:32])
    except msgspec.MsgspecError:
        pass
    return "unknown"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- quarantine resolution


async def resolve_quarantined(session: AsyncSession, outlet_id: str, quarantine_id: str,
                              action: str, note: str = "") -> SyncQuarantine:
    """Retry a quarantined event under today's rules, or dismiss it with a note.

    The event stays in the journal either way (nothing is ever dropped); a successful retry
    applies it exactly as a push would have and marks its journal row applied.
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
    entry = JournalEntry(outlet_id=outlet_id, epoch=held.epoch, seq=held.seq, event_id=held.event_id,
                         occurred_at=held.occurred_at, body=bytes(held.body),
                         prev_hash=held.prev_hash, hash=held.hash)
    try:
        async with session.begin_nested():
            body = _decode_event(entry.body) if entry.body else None
            if isinstance(body, OrderEvent):
                problems = _check_money(body.order, _tax_of(outlet))
                if problems:
                    raise _Unappliable("money does not add up: " + "; ".join(problems))
            await _apply(session, who, _tax_of(outlet), entry)
    except (_Unappliable, ForeignClaim, msgspec.MsgspecError) as exc:
        raise Rejected(f"still cannot apply: {exc}", details={"seq": item.seq}) from exc
    except Exception as exc:
        raise Rejected(f"still cannot apply: {type(exc).__name__}: {exc}"[:500],
                       details={"seq": item.seq}) from exc
    held.status = "applied"
    item.resolved_at, item.resolution = now, f"applied on retry {note}".strip()[:2000]
    return item
