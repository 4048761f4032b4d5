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
cheaper but never decide differently (tests/hub/test_push_fast.py compares the rows).

Group commit: plain pushes of one tenant that arrive while that tenant's previous group is
in its transaction wait for it, then go together in ONE transaction (``PushGroups``): the
same statements, each carrying the rows of every push in the group (the outlets locked in
the order of their ids), one BEGIN and one COMMIT. A lone push is a group of one, so an idle
hub adds no wait; under a fleet's burst the round trips, the statements' fixed costs and the
commits are shared by up to ``max_pushes`` pushes (docs/scaling.md, "Pushes from a fleet").
A push found not plain inside a group is left out of it and takes the full path after the
group's commit; a group that fails as a whole (a database error, an id two of its pushes
share) is rolled back and each of its pushes runs again alone. Each push is answered only
once the transaction holding it has committed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from weakref import WeakKeyDictionary

from hub.db import Database
from hub.ingest.apply import Event, NotPlain, plain_facts, tax_of
from hub.ingest.decode import Decoded, kind_of
from hub.ingest.enrollment import SyncIdentity, check_credential
from hub.ingest.store import (
    ExistingOrder,
    Facts,
    Row,
    StatusTouch,
    finish_pushes_on,
    journal_row,
    lock_outlets_on,
    push_states_on,
    write_facts_on,
)
from hub.models import Outlet
from hub.sync_models import SyncCursor
from shared.errors import PosError
from shared.journal import genesis_hash
from shared.schemas import OrderEvent
from sync.protocol import PushRequest, PushResponse

__all__ = ["MAX_GROUP_ENTRIES", "MAX_GROUP_PUSHES", "PushGroups", "configure_groups",
           "plain_push"]

log = logging.getLogger("hub.ingest")

# A group's bounds: pushes (one per outlet) and journal entries in one transaction. A push
# larger than MAX_GROUP_ENTRIES still goes, alone.
MAX_GROUP_PUSHES = 64
MAX_GROUP_ENTRIES = 2_000
GROUPS_IN_FLIGHT = 2  # per tenant and process


@dataclass
class _Push:
    who: SyncIdentity
    request: PushRequest
    decoded: list[Decoded]
    wire_version: int
    now: datetime
    # the answer and the size of the group that held it; None: the full path decides
    answer: asyncio.Future[tuple[PushResponse, int] | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class _Planned:
    """A push checked inside the group's transaction: its rows, ready to write."""

    push: _Push
    advanced: list[SyncCursor]
    facts: Facts
    journal: list[Row]
    held_seq: int


class PushGroups:
    """One process's queue of plain pushes per tenant (module docstring): at most
    ``parallel`` groups of a tenant in their transactions at a time (two: while one waits on
    PostgreSQL, the next is planned, and PostgreSQL works on two cores); the pushes that
    arrive meanwhile form the next."""

    def __init__(self, db: Database, max_pushes: int = MAX_GROUP_PUSHES,
                 max_entries: int = MAX_GROUP_ENTRIES, parallel: int = GROUPS_IN_FLIGHT) -> None:
        self.db, self.max_pushes, self.max_entries = db, max_pushes, max_entries
        self.parallel = parallel
        self._waiting: dict[str, list[_Push]] = {}
        self._draining: dict[str, set[asyncio.Task[None]]] = {}
        self.groups = self.grouped_pushes = 0  # groups of two or more, and their pushes

    async def submit(self, push: _Push) -> tuple[PushResponse, int] | None:
        if self.max_pushes <= 1:
            return (await _run_group(self.db, [push]))[0]
        tenant_id = push.who.tenant_id
        self._waiting.setdefault(tenant_id, []).append(push)
        draining = self._draining.setdefault(tenant_id, set())
        if len(draining) < self.parallel:
            # its own context: its log lines carry no request's id
            draining.add(asyncio.create_task(self._drain(tenant_id),
                                             context=contextvars.Context()))
        # The group commits whether or not this request is still waiting (a client gone:
        # its retry finds the batch held, as duplicates).
        return await asyncio.shield(push.answer)

    def _next_group(self, tenant_id: str) -> list[_Push]:
        """The waiting pushes that go together: the oldest first, one per outlet (another
        batch of an outlet already in the group waits for the next), within the bounds."""
        waiting = self._waiting.pop(tenant_id, [])
        group: list[_Push] = []
        left: list[_Push] = []
        outlets: set[str] = set()
        entries = 0
        for push in waiting:
            size = len(push.request.entries)
            if (push.who.outlet_id in outlets or len(group) >= self.max_pushes
                    or (group and entries + size > self.max_entries)):
                left.append(push)
                continue
            group.append(push)
            outlets.add(push.who.outlet_id)
            entries += size
        if left:
            self._waiting[tenant_id] = left
        return group

    async def _drain(self, tenant_id: str) -> None:
        group: list[_Push] = []
        try:
            while group := self._next_group(tenant_id):
                if len(group) > 1:
                    self.groups += 1
                    self.grouped_pushes += len(group)
                answers = await _run_group(self.db, group)
                for push, answer in zip(group, answers, strict=True):
                    if not push.answer.done():
                        push.answer.set_result(answer)
                group = []
        except BaseException as exc:  # cancelled at shutdown: nobody waits forever
            for push in group + self._waiting.pop(tenant_id, []):
                if push.answer.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    push.answer.cancel()
                else:
                    push.answer.set_exception(exc)
            raise
        finally:
            draining = self._draining.get(tenant_id, set())
            draining.discard(asyncio.current_task())  # type: ignore[arg-type]
            if not draining:
                self._draining.pop(tenant_id, None)


_groups: WeakKeyDictionary[Database, PushGroups] = WeakKeyDictionary()


def configure_groups(db: Database, max_pushes: int) -> PushGroups:
    """The app's queue for ``db``, grouping up to ``max_pushes`` (1: every push alone)."""
    groups = _groups[db] = PushGroups(db, max_pushes=max(1, max_pushes))
    return groups


def _groups_of(db: Database) -> PushGroups:
    groups = _groups.get(db)
    if groups is None:
        groups = _groups[db] = PushGroups(db)
    return groups


async def plain_push(db: Database, who: SyncIdentity, request: PushRequest,
                     decoded: list[Decoded], wire_version: int,
                     now: datetime) -> PushResponse | None:
    """Apply and hold a plain batch (module docstring) and answer it, alone or in a group;
    ``None`` when the batch is not plain or anything failed (nothing of it was written)."""
    if not request.entries or not db.is_postgres:
        return None
    if any(d.problem or not d.hash_ok for d in decoded):
        return None
    held = await _groups_of(db).submit(_Push(who, request, decoded, wire_version, now))
    if held is None:
        return None
    answer, group_size = held
    log.info("push applied", extra={"outlet_id": who.outlet_id, "entries": answer.applied,
                                    "applied": answer.applied, "duplicates": 0,
                                    "quarantined": 0, "status": "ok", "path": "fast",
                                    "group": group_size})
    return answer


async def _run_group(db: Database, group: list[_Push]) -> list[tuple[PushResponse, int] | None]:
    """Apply the group in one transaction; each push's answer, ``None`` for one left to the
    full path. A group that fails as a whole runs again one push at a time."""
    tenant_id = group[0].who.tenant_id
    try:
        async with db.writer(tenant_id) as conn:
            outlets = await lock_outlets_on(conn, tenant_id, [p.who for p in group])
            order_ids = list({d.body.order.id for p in group for d in p.decoded
                              if isinstance(d.body, OrderEvent)})
            cursors, existing = await push_states_on(conn, tenant_id, list(outlets), order_ids)
            planned: list[_Planned] = []
            for push in group:
                plan = _plan(push, outlets, cursors, existing)
                if plan is not None:
                    planned.append(plan)
            if planned:
                facts = _merged([plan.facts for plan in planned])
                inserted = await write_facts_on(conn, tenant_id, facts)
                if (len(inserted.payments) < len(facts.payments)
                        or len(inserted.kitchen) < len(facts.kitchen)
                        or len(inserted.movements) < len(facts.movements)):
                    raise NotPlain  # held already, or another outlet's: the full path checks
                await finish_pushes_on(
                    conn, [row for plan in planned for row in plan.journal],
                    [(plan.advanced, _status(plan.push)) for plan in planned])
    except Exception as exc:  # noqa: BLE001 - rolled back; alone, then the full path decides
        if len(group) > 1:
            log.info("push group failed, each push again alone",
                     extra={"pushes": len(group), "error": f"{type(exc).__name__}: {exc}"[:300]})
            return [(await _run_group(db, [push]))[0] for push in group]
        if not isinstance(exc, NotPlain):
            log.info("fast push path failed, taking the full path",
                     extra={"outlet_id": group[0].who.outlet_id,
                            "error": f"{type(exc).__name__}: {exc}"[:300]})
        return [None]
    answers: dict[int, tuple[PushResponse, int]] = {}
    for plan in planned:
        push = plan.push
        entries = len(push.request.entries)
        answers[id(push)] = (PushResponse(
            status="ok", epoch=push.request.epoch, acked_seq=push.request.entries[-1].seq,
            held_seq=plan.held_seq, resend_from=None, applied=entries, duplicates=0,
            quarantined=[], hub_time=push.now, version=push.wire_version), len(group))
    return [answers.get(id(push)) for push in group]


def _plan(push: _Push, outlets: dict[str, tuple[Outlet, datetime | None]],
          cursors: dict[str, dict[str, SyncCursor]],
          existing: dict[str, ExistingOrder]) -> _Planned | None:
    """The push's rows, or ``None`` when it is not plain (or its credential or outlet is
    refused: the full path answers that)."""
    who, request, now = push.who, push.request, push.now
    found = outlets.get(who.outlet_id)
    if found is None:
        return None
    outlet, revoked_at = found
    try:
        check_credential(who, revoked_at, outlet.active)
        held_cursors = cursors.get(who.outlet_id, {})
        advanced = _advance(held_cursors, request, push.decoded, who, now)
        events = [Event(e.seq, e.event_id, d.body, "")
                  for e, d in zip(request.entries, push.decoded, strict=True)]
        facts = plain_facts(who, tax_of(outlet), events, existing, now)
    except (NotPlain, PosError):  # a refused credential or outlet: the full path answers it
        return None
    except Exception as exc:  # noqa: BLE001 - unexpected: said, and the full path decides
        log.info("fast push path failed, taking the full path",
                 extra={"outlet_id": who.outlet_id,
                        "error": f"{type(exc).__name__}: {exc}"[:300]})
        return None
    journal = [journal_row(who, e, kind_of(d.body, e.body), "applied", now, push.wire_version)
               for e, d in zip(request.entries, push.decoded, strict=True)]
    held = held_cursors.get(request.epoch)  # advanced over the batch
    return _Planned(push, advanced, facts, journal, held.last_seq if held else 0)


def _merged(all_facts: Sequence[Facts]) -> Facts:
    merged = Facts()
    for facts in all_facts:
        merged.new_orders += facts.new_orders
        merged.newer_orders += facts.newer_orders
        merged.replaced += facts.replaced
        merged.lines += facts.lines
        merged.payments += facts.payments
        merged.kitchen += facts.kitchen
        merged.movements += facts.movements
    return merged


def _status(push: _Push) -> StatusTouch:
    request = push.request
    return StatusTouch(push.who, push.now, request.backlog, request.edge_version, "", 0)


def _advance(cursors: dict[str, SyncCursor], request: PushRequest, decoded: list[Decoded],
             who: SyncIdentity, now: datetime) -> list[SyncCursor]:
    """Move the cursors over the batch (in memory); the cursors moved. ``NotPlain`` unless
    every entry is the next of a held epoch and chains to it."""
    moved: dict[str, SyncCursor] = {}
    # epoch -> (last_seq, last_hash) as advanced so far: the ORM cursors are set once per
    # epoch at the end (an instrumented attribute set costs more than the check itself).
    heads: dict[str, tuple[int, str]] = {}
    first_ever = not cursors
    for entry, known in zip(request.entries, decoded, strict=True):
        epoch = entry.epoch
        head = heads.get(epoch)
        if head is None:
            cursor = cursors.get(epoch)
            if cursor is None and first_ever and entry.prev_hash == genesis_hash(epoch):
                # The outlet's first push: its journal starts here, as on the full path
                # (which alarms only when another epoch is held already).
                cursor = SyncCursor(
                    tenant_id=who.tenant_id, outlet_id=who.outlet_id, epoch=epoch,
                    first_seq=entry.seq, last_seq=entry.seq - 1, last_hash=entry.prev_hash,
                    started_at=now, updated_at=now)
            if cursor is None:
                raise NotPlain
            moved[epoch] = cursor
            head = (cursor.last_seq, cursor.last_hash)
        first_ever = False
        if (entry.seq != head[0] + 1 or entry.prev_hash != head[1]
                or entry.outlet_id != who.outlet_id):
            raise NotPlain
        body = known.body
        if isinstance(body, OrderEvent) and body.order.outlet_id != who.outlet_id:
            raise NotPlain  # refused, with its alarm, by the full path
        heads[epoch] = (entry.seq, entry.hash)
    for epoch, cursor in moved.items():
        cursor.last_seq, cursor.last_hash = heads[epoch]
        cursor.updated_at = now
        cursors[epoch] = cursor
    return list(moved.values())
