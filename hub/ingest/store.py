"""Set-based writes of an applied push batch: the storage side of ``hub.ingest.apply``.

``apply.py`` decides *what* a batch changes (which orders are new, which snapshots win) and
maps each event to its row; this module writes the rows with a handful of statements per
batch, in the caller's transaction (``store_for`` picks the implementation):

* ``PostgresIngestStore`` sends each table's rows as one JSON array that PostgreSQL expands
  (``INSERT ... SELECT ... FROM jsonb_array_elements($1::text::jsonb)``), no per-row
  parameter handling in Python, on the session's asyncpg connection directly (the same
  statements, as ``*_on`` functions, serve ``hub.ingest.push_fast`` on a
  ``Database.writer`` connection). The fact tables of a batch are one
  statement (data-modifying CTEs; newer order snapshots and the deletion of their old lines
  one more), the journal, cursors and status row another: a push's cost hardly depends on
  how many tables it touches. This is the hot path of a backlog drain and of a fleet's
  pushes (docs/performance.md, "Push throughput").
* ``IngestStore`` (the interface, and the portable implementation) does the same with
  SQLAlchemy Core executemany (the embedded SQLite hub of the demo).

Both rely on Row-Level Security / the tenant filter of the session like every other write:
a row of another tenant is invisible, so an id collision with it fails the statement and
``apply`` falls back to batches of one event, quarantining only the colliding event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy import bindparam, case, delete, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.ingest.enrollment import SyncIdentity, check_credential
from hub.ingest.status import touch_status
from hub.models import (
    CashMovementRow,
    KitchenEventRow,
    OrderLineRow,
    OrderRow,
    Outlet,
    PaymentRow,
)
from hub.sync_models import SyncCredential, SyncCursor, SyncJournalEntry
from shared.schemas import JournalEntry

__all__ = ["ExistingOrder", "Facts", "IngestStore", "Inserted", "PostgresIngestStore", "Row",
           "StatusTouch", "finish_push_on", "finish_pushes_on", "journal_row", "lock_outlet_on",
           "lock_outlets_on", "push_state_on", "push_states_on",
           "store_for", "write_facts_on"]


@dataclass(frozen=True)
class ExistingOrder:
    outlet_id: str
    edge_seq: int


@dataclass
class Facts:
    """A reduced batch's rows, per table (values in the order of the *_COLUMNS below)."""

    new_orders: list[Row] = field(default_factory=list)
    newer_orders: list[Row] = field(default_factory=list)  # the caller checked edge_seq
    replaced: list[str] = field(default_factory=list)  # orders whose lines are replaced
    lines: list[Row] = field(default_factory=list)  # of every order written
    payments: list[Row] = field(default_factory=list)
    kitchen: list[Row] = field(default_factory=list)
    movements: list[Row] = field(default_factory=list)


@dataclass
class Inserted:
    """Ids a ``write_facts`` actually inserted (the others were held already, or are
    another outlet's)."""

    payments: set[str]
    kitchen: set[str]
    movements: set[str]


@dataclass
class StatusTouch:
    """What a push records on the outlet's status row (``hub.ingest.status.touch_status``)."""

    who: SyncIdentity
    now: datetime
    backlog: int
    edge_version: str
    error: str
    quarantined: int


# Column name -> PostgreSQL array element type, in the order rows are given.
JOURNAL_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("epoch", "text"),
                   ("seq", "int8"), ("event_id", "text"), ("kind", "text"), ("body", "bytea"),
                   ("prev_hash", "text"), ("hash", "text"), ("occurred_at", "timestamptz"),
                   ("received_at", "timestamptz"), ("status", "text"), ("wire_version", "int4"))
ORDER_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("id", "text"),
                 ("number", "int4"), ("business_day", "date"), ("type", "text"),
                 ("status", "text"), ("currency", "text"), ("subtotal", "int8"),
                 ("discount", "int8"), ("service_charge", "int8"), ("tax", "int8"),
                 ("rounding", "int8"), ("total", "int8"), ("paid", "int8"), ("note", "text"),
                 ("customer_name", "text"), ("table_label", "text"), ("void_reason", "text"),
                 ("source", "text"), ("created_at", "timestamptz"),
                 ("updated_at", "timestamptz"), ("edge_seq", "int8"),
                 ("received_at", "timestamptz"), ("discount_reason", "text"),
                 ("discount_approved_by", "text"), ("void_approved_by", "text"),
                 ("refunded", "int8"), ("table_id", "text"), ("covers", "int4"),
                 ("seated_at", "timestamptz"), ("revision", "int4"), ("split_from", "text"),
                 ("split_part", "text"), ("split_count", "int4"), ("merged_into", "text"),
                 ("completed_at", "timestamptz"))
LINE_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("id", "text"),
                ("order_id", "text"), ("product_id", "text"), ("name", "text"), ("qty", "int4"),
                ("unit_price", "int8"), ("line_total", "int8"),
                ("modifiers", "jsonb"),  # given as a list of shared.schemas modifier structs
                ("note", "text"), ("station", "text"), ("state", "text"), ("round", "int4"),
                ("course", "text"), ("seat", "int4"), ("added_at", "timestamptz"),
                ("void_reason", "text"), ("voided_by", "text"),
                ("business_day", "date"))  # the order's: the partition key (migration 0500)
PAYMENT_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("id", "text"),
                   ("order_id", "text"), ("method", "text"), ("amount", "int8"),
                   ("tendered", "int8"), ("change", "int8"), ("reference", "text"),
                   ("created_at", "timestamptz"), ("shift_id", "text"), ("staff_id", "text"),
                   ("received_at", "timestamptz"))
KITCHEN_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("id", "text"),
                   ("ticket_id", "text"), ("order_id", "text"), ("station", "text"),
                   ("action", "text"), ("at", "timestamptz"), ("received_at", "timestamptz"))
MOVEMENT_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("id", "text"),
                    ("shift_id", "text"), ("direction", "text"), ("amount", "int8"),
                    ("reason", "text"), ("created_at", "timestamptz"), ("staff_id", "text"),
                    ("received_at", "timestamptz"))

Row = tuple[Any, ...]  # values in the order of the *_COLUMNS above


def journal_row(who: SyncIdentity, entry: JournalEntry, kind: str, status: str, now: datetime,
                wire_version: int) -> Row:
    """A held entry's ``sync_journal`` row (JOURNAL_COLUMNS); ``status``: applied or
    quarantined."""
    occurred = entry.occurred_at
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=UTC)
    return (who.tenant_id, who.outlet_id, entry.epoch, entry.seq, entry.event_id, kind,
            entry.body, entry.prev_hash, entry.hash, occurred, now, status, wire_version)


def _kept_completion(held: Any, status: Any, given: Any) -> Any:
    """A completed order keeps the completion time first stored; any other status has none."""
    return case((status == "completed", func.coalesce(held, given)), else_=null())


class IngestStore:
    """Interface (and the portable implementation, via SQLAlchemy Core)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- the push's own state: the outlet's lock, its journal cursors, its status row ----

    async def lock_outlet(self, who: SyncIdentity) -> Outlet:
        """The outlet row, locked (``FOR UPDATE``) until the transaction ends: one outlet's
        batches are applied one after the other, whichever replica received them. Refuses
        the push if the credential was revoked or the outlet deactivated meanwhile."""
        outlet = (await self.session.execute(
            select(Outlet).where(Outlet.id == who.outlet_id).with_for_update())).scalar_one()
        revoked_at = await self.session.scalar(
            select(SyncCredential.revoked_at).where(SyncCredential.id == who.credential_id))
        check_credential(who, revoked_at, outlet.active)
        return outlet

    async def load_push_state(self, outlet_id: str, order_ids: Sequence[str]
                              ) -> tuple[dict[str, SyncCursor], dict[str, ExistingOrder]]:
        """The outlet's journal cursors by epoch, and which of ``order_ids`` are held
        (read after the lock, so a batch another replica applied meanwhile is seen)."""
        cursors = {c.epoch: c for c in (await self.session.execute(
            select(SyncCursor).where(SyncCursor.outlet_id == outlet_id))).scalars()}
        return cursors, (await self.existing_orders(order_ids) if order_ids else {})

    async def finish_push(self, journal: list[Row], cursors: Sequence[SyncCursor],
                          status: StatusTouch) -> None:
        """Hold the journal entries, advance the cursors, touch the outlet's status."""
        await self.insert_journal(journal)
        for cursor in cursors:
            if cursor not in self.session:
                self.session.add(cursor)
        await touch_status(self.session, status.who, status.now, backlog=status.backlog,
                           edge_version=status.edge_version, pushed=True, error=status.error,
                           quarantined=status.quarantined)

    # -- the reporting tables --------------------------------------------------------------

    async def write_facts(self, facts: Facts) -> Inserted:
        """Write a reduced batch: new orders inserted, newer snapshots over held ones (their
        lines replaced), payments, kitchen events and cash movements inserted once (the ids
        actually inserted are returned; the caller checks the others)."""
        await self.insert_orders(facts.new_orders)
        await self.update_orders(facts.newer_orders)
        await self.replace_lines(facts.replaced, facts.lines)
        return Inserted(payments=await self.insert_payments(facts.payments),
                        kitchen=await self.insert_kitchen_events(facts.kitchen),
                        movements=await self.insert_cash_movements(facts.movements))

    async def existing_orders(self, ids: Sequence[str]) -> dict[str, ExistingOrder]:
        rows = await self.session.execute(
            select(OrderRow.id, OrderRow.outlet_id, OrderRow.edge_seq).where(OrderRow.id.in_(ids)))
        return {r.id: ExistingOrder(r.outlet_id, r.edge_seq) for r in rows}

    async def insert_journal(self, rows: list[Row]) -> None:
        await self._insert(SyncJournalEntry, JOURNAL_COLUMNS, rows)

    async def insert_orders(self, rows: list[Row]) -> None:
        await self._insert(OrderRow, ORDER_COLUMNS, rows)

    async def update_orders(self, rows: list[Row]) -> None:
        """Overwrite orders with newer snapshots (the caller checked ``edge_seq``)."""
        if not rows:
            return
        all_names = [name for name, _ in ORDER_COLUMNS]
        kept = [name for name in all_names if name not in ("tenant_id", "received_at")]
        values = [{f"b_{k}": v for k, v in zip(all_names, row, strict=True)
                   if k in kept or k == "tenant_id"} for row in rows]
        # A Core UPDATE on the table, not the ORM entity: given a list of parameter sets,
        # ``update(OrderRow)`` turns into SQLAlchemy's "bulk UPDATE by primary key", which
        # wants the key under its column name and refuses these WHERE bindparams, so every
        # payment sync on the SQLite hub used to fail over to the one-by-one path. A Core
        # statement gets no ORM tenant criteria, hence the explicit tenant_id condition.
        orders = OrderRow.__table__
        assigned: dict[str, Any] = {name: bindparam(f"b_{name}") for name in kept
                                    if name not in ("id", "outlet_id")}
        assigned["completed_at"] = _kept_completion(
            orders.c.completed_at, bindparam("b_status"), bindparam("b_completed_at"))
        statement = (update(orders).where(orders.c.tenant_id == bindparam("b_tenant_id"))
                     .where(orders.c.id == bindparam("b_id"))
                     .where(orders.c.outlet_id == bindparam("b_outlet_id"))
                     .where(orders.c.edge_seq <= bindparam("b_edge_seq"))
                     .values(assigned))
        await self.session.execute(statement, values)

    async def replace_lines(self, replaced_orders: Sequence[str], rows: list[Row]) -> None:
        """Lines of applied snapshots: the lines of ``replaced_orders`` are replaced by theirs."""
        if replaced_orders:
            await self.session.execute(
                delete(OrderLineRow).where(OrderLineRow.order_id.in_(replaced_orders)))
        await self._insert(OrderLineRow, LINE_COLUMNS,
                           [(*row[:9], msgspec.to_builtins(row[9]), *row[10:]) for row in rows])

    # Payments, kitchen events and cash movements are inserted once: each returns the ids it
    # inserted; for the others the caller checks that this outlet already holds them.

    async def insert_payments(self, rows: list[Row]) -> set[str]:
        return await self._insert_new(PaymentRow, PAYMENT_COLUMNS, rows)

    async def insert_kitchen_events(self, rows: list[Row]) -> set[str]:
        """Once by event id, and once by (ticket, action, at): a re-chained event (new epoch)
        carries a new id for the same kitchen action."""
        if not rows:
            return set()
        held = await self.kitchen_held(rows, outlet_id=None)
        fresh, keys = [], set()
        for row in rows:  # (ticket, action, at) also once within the batch
            key = (row[3], row[6], row[7])
            if row[2] not in held and key not in keys:
                keys.add(key)
                fresh.append(row)
        await self._insert(KitchenEventRow, KITCHEN_COLUMNS, fresh)  # held ids already read
        return {row[2] for row in fresh}

    async def insert_cash_movements(self, rows: list[Row]) -> set[str]:
        return await self._insert_new(CashMovementRow, MOVEMENT_COLUMNS, rows)

    async def held_by_outlet(self, model: Any, ids: Sequence[str], outlet_id: str) -> set[str]:
        found = await self.session.scalars(select(model.id).where(
            model.id.in_(ids), model.outlet_id == outlet_id))
        return set(found)

    async def kitchen_held(self, rows: list[Row], outlet_id: str | None) -> set[str]:
        """Ids of ``rows`` (KITCHEN_COLUMNS) whose id or (ticket, action, at) is held
        (for ``outlet_id``, or by any visible outlet)."""
        statement = select(KitchenEventRow.id, KitchenEventRow.ticket_id, KitchenEventRow.action,
                           KitchenEventRow.at).where(
            KitchenEventRow.ticket_id.in_({r[3] for r in rows})
            | KitchenEventRow.id.in_([r[2] for r in rows]))
        if outlet_id is not None:
            statement = statement.where(KitchenEventRow.outlet_id == outlet_id)
        ids, keys = set(), set()
        for found in await self.session.execute(statement):
            ids.add(found.id)
            keys.add((found.ticket_id, found.action, found.at))
        return {r[2] for r in rows if r[2] in ids or (r[3], r[6], r[7]) in keys}

    async def _insert_new(self, model: Any, columns: Sequence[tuple[str, str]],
                          rows: list[Row]) -> set[str]:
        if not rows:
            return set()
        existing = set(await self.session.scalars(
            select(model.id).where(model.id.in_([r[2] for r in rows]))))
        fresh, seen = [], set(existing)
        for row in rows:
            if row[2] not in seen:
                seen.add(row[2])
                fresh.append(row)
        await self._insert(model, columns, fresh)
        return {r[2] for r in fresh}

    async def _insert(self, model: Any, columns: Sequence[tuple[str, str]],
                      rows: list[Row]) -> None:
        if not rows:
            return
        names = [name for name, _ in columns]
        await self.session.execute(insert(model), [dict(zip(names, row, strict=True))
                                                   for row in rows])


class PostgresIngestStore(IngestStore):
    """A table's rows as ONE parameter, a JSON array of rows (each an array of its values, in
    the order of its *_COLUMNS) encoded by msgspec, expanded by PostgreSQL
    (``jsonb_array_elements``) and cast per column; sent on the session's asyncpg connection
    (inside its transaction, after its tenant ``set_config``) without SQLAlchemy's
    per-statement machinery: a push is a handful of round trips (docs/performance.md, "Push
    throughput"). Statements name the tenant themselves as well as relying on RLS, so a
    development superuser URL (which bypasses RLS) still writes and reads one tenant only.

    Why JSON rather than one ``unnest``ed array per column: asyncpg checks every array
    element in Python (``isinstance(element, collections.abc.Iterable)``, to find nested
    arrays), about 0.7 microseconds each; a push of 5 orders is ~1,500 values, over 1 ms of
    the hub's CPU. One msgspec encode of the rows costs a tenth of that, and PostgreSQL
    expands the JSON for less than it decodes the arrays (``tests/bench/bench_hub_push_fleet.py``
    and docs/scaling.md, "Pushes from a fleet")."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._driver: Any = None

    async def lock_outlet(self, who: SyncIdentity) -> Outlet:
        return await lock_outlet_on(await self._conn(), who)

    async def load_push_state(self, outlet_id: str, order_ids: Sequence[str]
                              ) -> tuple[dict[str, SyncCursor], dict[str, ExistingOrder]]:
        return await push_state_on(await self._conn(), self.session.info["tenant_id"],
                                   outlet_id, order_ids)

    async def finish_push(self, journal: list[Row], cursors: Sequence[SyncCursor],
                          status: StatusTouch) -> None:
        await self.session.flush()  # alarms may have created or changed the status row
        await finish_push_on(await self._conn(), journal, cursors, status)

    async def write_facts(self, facts: Facts) -> Inserted:
        return await write_facts_on(await self._conn(), self.session.info["tenant_id"], facts)

    async def existing_orders(self, ids: Sequence[str]) -> dict[str, ExistingOrder]:
        result = await self._run("SELECT id, outlet_id, edge_seq FROM orders WHERE id = ANY($1::text[])",
                                 (list(ids),))
        return {r[0]: ExistingOrder(r[1], r[2]) for r in result}

    async def _conn(self) -> Any:
        """The asyncpg connection under the session (its transaction already begun)."""
        if self._driver is None:
            connection = await self.session.connection()
            self._driver = (await connection.get_raw_connection()).driver_connection
        return self._driver

    async def _run(self, sql: str, parameters: Sequence[Any]) -> Any:
        return await (await self._conn()).fetch(sql, *parameters)


# The push's statements on an asyncpg connection in a transaction under the tenant: the
# session's (PostgresIngestStore) or a Database.writer's (hub.ingest.push_fast).


async def lock_outlet_on(conn: Any, who: SyncIdentity) -> Outlet:
    """The outlet row locked (``IngestStore.lock_outlet``), the credential checked."""
    row = await conn.fetchrow(_LOCK_OUTLET_SQL, who.outlet_id, who.tenant_id, who.credential_id)
    if row is None:
        raise LookupError(f"outlet {who.outlet_id} not found")
    check_credential(who, row[6], row[5])
    # A detached Outlet carrying only what the push reads (its tax settings).
    return Outlet(id=who.outlet_id, tenant_id=who.tenant_id, service_rate_bp=row[0],
                  tax_rate_bp=row[1], tax_name=row[2], prices_include_tax=row[3],
                  rounding_unit=row[4], active=row[5])


async def push_state_on(conn: Any, tenant_id: str, outlet_id: str, order_ids: Sequence[str]
                        ) -> tuple[dict[str, SyncCursor], dict[str, ExistingOrder]]:
    """``IngestStore.load_push_state`` in one statement."""
    row = await conn.fetchrow(_PUSH_STATE_SQL, outlet_id, tenant_id, list(order_ids))
    cursors = {c[0]: SyncCursor(tenant_id=tenant_id, outlet_id=outlet_id, epoch=c[0],
                                first_seq=c[1], last_seq=c[2], last_hash=c[3],
                                started_at=c[4], updated_at=c[5]) for c in row[0] or ()}
    return cursors, {o[0]: ExistingOrder(o[1], o[2]) for o in row[1] or ()}


async def finish_push_on(conn: Any, journal: list[Row], cursors: Sequence[SyncCursor],
                         status: StatusTouch) -> None:
    """One statement: journal rows, cursors (upserted) and the status row (upserted with
    ``touch_status``'s rules for a push)."""
    await finish_pushes_on(conn, journal, [(cursors, status)])


async def finish_pushes_on(conn: Any, journal: list[Row],
                           pushes: Sequence[tuple[Sequence[SyncCursor], StatusTouch]]) -> None:
    """``finish_push_on`` for the pushes of several outlets (one each) in one statement."""
    cursor_rows: list[Row] = []
    status_rows: list[Row] = []
    for cursors, status in pushes:
        who, now = status.who, status.now
        if status.error:
            error = status.error[:2000]
        elif status.quarantined:
            error = f"{status.quarantined} event(s) quarantined at {now.isoformat()}"
        else:
            error = ""
        cursor_rows += [(who.tenant_id, who.outlet_id, c.epoch, c.first_seq, c.last_seq,
                         c.last_hash, c.started_at or now, now) for c in cursors]
        status_rows.append((who.tenant_id, who.outlet_id, now, status.backlog,
                            status.edge_version[:64], error))
    await conn.execute(
        _FINISH_PUSH_SQL, _rows_param(journal, JOURNAL_COLUMNS),
        _rows_param(cursor_rows, CURSOR_COLUMNS), _rows_param(status_rows, STATUS_COLUMNS))


async def lock_outlets_on(conn: Any, tenant_id: str, whos: Sequence[SyncIdentity]
                          ) -> dict[str, tuple[Outlet, datetime | None]]:
    """The outlets of ``whos`` (distinct) locked in the order of their ids, so that two
    transactions locking several never wait on each other in a circle; outlet id -> (a
    detached Outlet with its tax settings and ``active``, its credential's ``revoked_at``).
    An outlet not found is left out. The caller checks each credential."""
    rows = await conn.fetch(_LOCK_OUTLETS_SQL, [w.outlet_id for w in whos],
                            [w.credential_id for w in whos], tenant_id)
    return {row[0]: (Outlet(id=row[0], tenant_id=tenant_id, service_rate_bp=row[1],
                            tax_rate_bp=row[2], tax_name=row[3], prices_include_tax=row[4],
                            rounding_unit=row[5], active=row[6]), row[7]) for row in rows}


async def push_states_on(conn: Any, tenant_id: str, outlet_ids: Sequence[str],
                         order_ids: Sequence[str]
                         ) -> tuple[dict[str, dict[str, SyncCursor]], dict[str, ExistingOrder]]:
    """``push_state_on`` for several outlets: outlet id -> epoch -> cursor, and the held
    orders among ``order_ids`` (of any outlet)."""
    row = await conn.fetchrow(_PUSH_STATES_SQL, list(outlet_ids), tenant_id, list(order_ids))
    cursors: dict[str, dict[str, SyncCursor]] = {outlet_id: {} for outlet_id in outlet_ids}
    for c in row[0] or ():
        cursors.setdefault(c[0], {})[c[1]] = SyncCursor(
            tenant_id=tenant_id, outlet_id=c[0], epoch=c[1], first_seq=c[2], last_seq=c[3],
            last_hash=c[4], started_at=c[5], updated_at=c[6])
    return cursors, {o[0]: ExistingOrder(o[1], o[2]) for o in row[1] or ()}


async def write_facts_on(conn: Any, tenant_id: str, facts: Facts) -> Inserted:
    """Newer snapshots (and the deletion of their old lines) in one statement when there
    are any, then everything else in one statement."""
    params = [_rows_param(facts.new_orders, ORDER_COLUMNS), _rows_param(facts.lines, LINE_COLUMNS),
              _rows_param(facts.payments, PAYMENT_COLUMNS),
              _rows_param(facts.kitchen, KITCHEN_COLUMNS),
              _rows_param(facts.movements, MOVEMENT_COLUMNS)]
    newer = _rows_param(facts.newer_orders, ORDER_COLUMNS) if facts.newer_orders else ""
    # The events' text reaches this point with any NUL an older edge journaled (hub.ingest.
    # decode): PostgreSQL would refuse it, the full path replaces it.
    if any("\\u0000" in param and _JSON_NUL.search(param) for param in (*params, newer)):
        raise NulInText("an event's text holds a NUL character")
    if facts.newer_orders:
        await conn.execute(_UPDATE_ORDERS_SQL, newer, facts.replaced, tenant_id)
    found = await conn.fetch(_WRITE_FACTS_SQL, *params)
    inserted = Inserted(set(), set(), set())
    for kind, found_id in found:
        {"p": inserted.payments, "k": inserted.kitchen, "m": inserted.movements}[kind].add(
            found_id)
    return inserted


_encode_json = msgspec.json.Encoder().encode


# A NUL character as msgspec writes it in JSON: \u0000 after an even number of backslashes
# (a typed backslash before "u0000" is written as two). The scan tries every position of the
# text: a substring test (C speed) goes first.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class NulInText(ValueError):
    """Rows for PostgreSQL with a NUL in their text (``write_facts_on``)."""


def _rows_param(rows: Sequence[Row], columns: Sequence[tuple[str, str]]) -> str:
    """Rows as the JSON text ``_rows_sql`` expands: an array of rows, each an array of its
    values (msgspec: str, int, bool, None, ISO-8601 dates and times, bytes as base64, structs
    and lists as JSON for jsonb columns). A time without a zone is UTC, as asyncpg takes it
    (PostgreSQL would read it in the session's zone)."""
    stamps = _stamp_indexes(tuple(columns))
    if any(row[n] is not None and row[n].tzinfo is None for row in rows for n in stamps):
        rows = [tuple(value.replace(tzinfo=UTC)
                      if n in stamps and value is not None and value.tzinfo is None else value
                      for n, value in enumerate(row)) for row in rows]
    return _encode_json(rows).decode()


@lru_cache(maxsize=64)
def _stamp_indexes(columns: tuple[tuple[str, str], ...]) -> tuple[int, ...]:
    return tuple(n for n, (_, kind) in enumerate(columns) if kind == "timestamptz")


def _rows_sql(columns: tuple[tuple[str, str], ...], parameter: int) -> str:
    """``(SELECT <each column, cast> FROM jsonb_array_elements($parameter)) AS u``."""
    values = []
    for n, (name, kind) in enumerate(columns):
        if kind == "jsonb":  # the value itself; JSON null becomes SQL NULL
            value = f"NULLIF(e->{n}, 'null'::jsonb)"
        elif kind == "bytea":
            value = f"decode(e->>{n}, 'base64')"
        elif kind == "text":
            value = f"(e->>{n})"
        else:
            value = f"(e->>{n})::{kind}"
        values.append(f"{value} AS {name}")
    return (f"(SELECT {', '.join(values)} FROM jsonb_array_elements(${parameter}::text::jsonb)"
            " AS e) AS u")


def _insert_sql(table: str, columns: tuple[tuple[str, str], ...], parameter: int = 1) -> str:
    return (f"INSERT INTO {table} ({_names(columns)})"
            f" SELECT {_names(columns, 'u.')} FROM {_rows_sql(columns, parameter)}")


def _update_orders_sql() -> str:
    names = [name for name, _ in ORDER_COLUMNS]
    assignments = ", ".join(
        f"{name} = u.{name}" if name != "completed_at" else
        "completed_at = CASE WHEN u.status = 'completed'"
        " THEN COALESCE(o.completed_at, u.completed_at) END"
        for name in names if name not in ("tenant_id", "outlet_id", "id", "received_at"))
    return (f"UPDATE orders AS o SET {assignments} FROM {_rows_sql(ORDER_COLUMNS, 1)}"
            " WHERE o.id = u.id AND o.outlet_id = u.outlet_id AND o.tenant_id = u.tenant_id"
            " AND o.edge_seq <= u.edge_seq")


CURSOR_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("epoch", "text"),
                  ("first_seq", "int8"), ("last_seq", "int8"), ("last_hash", "text"),
                  ("started_at", "timestamptz"), ("updated_at", "timestamptz"))
STATUS_COLUMNS = (("tenant_id", "text"), ("outlet_id", "text"), ("at", "timestamptz"),
                  ("backlog", "int8"), ("edge_version", "text"), ("error", "text"))


def _names(columns: Sequence[tuple[str, str]], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{name}" for name, _ in columns)


_LOCK_OUTLET_SQL = (
    "SELECT service_rate_bp, tax_rate_bp, tax_name, prices_include_tax, rounding_unit,"
    " active, (SELECT revoked_at FROM sync_credentials WHERE id = $3 AND tenant_id = $2)"
    " FROM outlets WHERE id = $1 AND tenant_id = $2 FOR UPDATE")

# Read after the lock (a statement of its own: its snapshot then includes what another
# replica committed for this outlet meanwhile).
_PUSH_STATE_SQL = (
    "SELECT (SELECT array_agg(ROW(epoch, first_seq, last_seq, last_hash, started_at,"
    " updated_at)) FROM sync_cursors WHERE outlet_id = $1 AND tenant_id = $2),"
    " (SELECT array_agg(ROW(id, outlet_id, edge_seq)) FROM orders"
    " WHERE id = ANY($3::text[]) AND tenant_id = $2)")

# Newer order snapshots over held ones, and the deletion of their lines ($2: the orders whose
# lines are replaced, $3: the tenant).
_UPDATE_ORDERS_SQL = (f"WITH updated AS ({_update_orders_sql()})"
                      " DELETE FROM order_lines WHERE order_id = ANY($2::text[]) AND tenant_id = $3")

# New orders, lines, payments, kitchen events and cash movements ($1-$5), one statement; the
# ids of the payments, kitchen events and movements actually inserted come back.
_WRITE_FACTS_SQL = (
    f"WITH o AS ({_insert_sql('orders', ORDER_COLUMNS, 1)}),"
    f" l AS ({_insert_sql('order_lines', LINE_COLUMNS, 2)}),"
    f" p AS ({_insert_sql('payments', PAYMENT_COLUMNS, 3)} ON CONFLICT DO NOTHING RETURNING id),"
    f" k AS ({_insert_sql('kitchen_events', KITCHEN_COLUMNS, 4)}"
    " ON CONFLICT DO NOTHING RETURNING id),"
    f" m AS ({_insert_sql('cash_movements', MOVEMENT_COLUMNS, 5)}"
    " ON CONFLICT DO NOTHING RETURNING id)"
    " SELECT 'p', id FROM p UNION ALL SELECT 'k', id FROM k UNION ALL SELECT 'm', id FROM m")

# The journal rows ($1), the cursors upserted ($2) and the outlets' status rows ($3) of one
# or more pushes (one per outlet), one statement.
_FINISH_PUSH_SQL = (
    f"WITH journal AS ({_insert_sql('sync_journal', JOURNAL_COLUMNS, 1)}),"
    f" cursors AS (INSERT INTO sync_cursors ({_names(CURSOR_COLUMNS)})"
    f" SELECT {_names(CURSOR_COLUMNS, 'u.')} FROM {_rows_sql(CURSOR_COLUMNS, 2)}"
    " ON CONFLICT (outlet_id, epoch) DO UPDATE SET last_seq = excluded.last_seq,"
    " last_hash = excluded.last_hash, updated_at = excluded.updated_at)"
    " INSERT INTO outlet_status AS s (tenant_id, outlet_id, last_contact_at,"
    " last_push_at, reported_backlog, edge_version, last_error, journal_alarm,"
    " updated_at) SELECT u.tenant_id, u.outlet_id, u.at, u.at, u.backlog, u.edge_version,"
    f" u.error, '', u.at FROM {_rows_sql(STATUS_COLUMNS, 3)}"
    " ON CONFLICT (outlet_id) DO UPDATE SET last_contact_at = excluded.last_contact_at,"
    " last_push_at = excluded.last_push_at,"
    " reported_backlog = excluded.reported_backlog,"
    " edge_version = CASE WHEN excluded.edge_version <> '' THEN excluded.edge_version"
    " ELSE s.edge_version END,"
    # touch_status: an error or quarantine is recorded; a clean push clears the last error
    # unless it names quarantined events (they stay until resolved).
    " last_error = CASE WHEN excluded.last_error <> '' THEN excluded.last_error"
    " WHEN strpos(s.last_error, 'quarantined') = 0 THEN '' ELSE s.last_error END,"
    " updated_at = excluded.updated_at")

# Several outlets locked in the order of their ids ($1 outlets, $2 their credentials, $3 the
# tenant): the LockRows step runs above the sort.
_LOCK_OUTLETS_SQL = (
    "SELECT o.id, o.service_rate_bp, o.tax_rate_bp, o.tax_name, o.prices_include_tax,"
    " o.rounding_unit, o.active, (SELECT c.revoked_at FROM sync_credentials c"
    " WHERE c.id = w.credential AND c.tenant_id = $3)"
    " FROM unnest($1::text[], $2::text[]) AS w(outlet, credential)"
    " JOIN outlets o ON o.id = w.outlet AND o.tenant_id = $3 ORDER BY o.id FOR UPDATE OF o")

# Read after the lock, as _PUSH_STATE_SQL, for several outlets.
_PUSH_STATES_SQL = (
    "SELECT (SELECT array_agg(ROW(outlet_id, epoch, first_seq, last_seq, last_hash,"
    " started_at, updated_at)) FROM sync_cursors WHERE outlet_id = ANY($1::text[])"
    " AND tenant_id = $2),"
    " (SELECT array_agg(ROW(id, outlet_id, edge_seq)) FROM orders"
    " WHERE id = ANY($3::text[]) AND tenant_id = $2)")


def store_for(session: AsyncSession) -> IngestStore:
    """The store for the session's database (PostgreSQL arrays, or portable Core)."""
    dialect = session.get_bind().dialect.name
    return PostgresIngestStore(session) if dialect == "postgresql" else IngestStore(session)
