"""Set-based writes of an applied push batch: the storage side of ``hub.ingest.apply``.

``apply.py`` decides *what* a batch changes (which orders are new, which snapshots win) and
maps each event to its row; this module writes the rows with a handful of statements per
batch, in the caller's transaction (``store_for`` picks the implementation):

* ``PostgresIngestStore`` sends whole columns as arrays and lets PostgreSQL ``unnest`` them
  (``INSERT ... SELECT FROM unnest($1::text[], ...)``): one round trip and one statement per
  table, no per-row parameter handling in Python. This is the hot path of a backlog drain.
* ``IngestStore`` (the interface, and the portable implementation) does the same with
  SQLAlchemy Core executemany (the embedded SQLite hub of the demo).

Both rely on Row-Level Security / the tenant filter of the session like every other write:
a row of another tenant is invisible, so an id collision with it fails the statement and
``apply`` falls back to batches of one event, quarantining only the colliding event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import bindparam, case, delete, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import CashMovementRow, KitchenEventRow, OrderLineRow, OrderRow, PaymentRow
from hub.sync_models import SyncJournalEntry

__all__ = ["ExistingOrder", "IngestStore", "PostgresIngestStore", "Row", "store_for"]


@dataclass(frozen=True)
class ExistingOrder:
    outlet_id: str
    edge_seq: int


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


def _kept_completion(held: Any, status: Any, given: Any) -> Any:
    """A completed order keeps the completion time first stored; any other status has none."""
    return case((status == "completed", func.coalesce(held, given)), else_=null())


class IngestStore:
    """Interface (and the portable implementation, via SQLAlchemy Core)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
    """Whole columns as arrays, ``unnest``ed by PostgreSQL: one statement per table."""

    async def existing_orders(self, ids: Sequence[str]) -> dict[str, ExistingOrder]:
        result = await self._run("SELECT id, outlet_id, edge_seq FROM orders WHERE id = ANY($1::text[])",
                                 (list(ids),))
        return {r[0]: ExistingOrder(r[1], r[2]) for r in result}

    async def update_orders(self, rows: list[Row]) -> None:
        if not rows:
            return
        names = [name for name, _ in ORDER_COLUMNS]
        assignments = ", ".join(
            f"{name} = u.{name}" if name != "completed_at" else
            "completed_at = CASE WHEN u.status = 'completed'"
            " THEN COALESCE(o.completed_at, u.completed_at) END"
            for name in names if name not in ("tenant_id", "outlet_id", "id", "received_at"))
        await self._run(
            f"UPDATE orders AS o SET {assignments} FROM {self._unnest(ORDER_COLUMNS)}"
            " WHERE o.id = u.id AND o.outlet_id = u.outlet_id AND o.edge_seq <= u.edge_seq",
            self._columns(rows))

    async def replace_lines(self, replaced_orders: Sequence[str], rows: list[Row]) -> None:
        if replaced_orders:
            await self._run("DELETE FROM order_lines WHERE order_id = ANY($1::text[])",
                            (list(replaced_orders),))
        encode = msgspec.json.encode
        await self._insert(OrderLineRow, LINE_COLUMNS,
                           [(*row[:9], encode(row[9]).decode(), *row[10:]) for row in rows])

    async def insert_kitchen_events(self, rows: list[Row]) -> set[str]:
        # The unique index on (ticket_id, action, at) makes ON CONFLICT skip both kinds of
        # duplicate in the same statement.
        return await self._insert_new(KitchenEventRow, KITCHEN_COLUMNS, rows)

    async def _insert_new(self, model: Any, columns: Sequence[tuple[str, str]],
                          rows: list[Row]) -> set[str]:
        if not rows:
            return set()
        result = await self._run(self._insert_sql(model, columns)
                                 + " ON CONFLICT DO NOTHING RETURNING id", self._columns(rows))
        return {found[0] for found in result}

    async def _insert(self, model: Any, columns: Sequence[tuple[str, str]],
                      rows: list[Row]) -> None:
        if rows:
            await self._run(self._insert_sql(model, columns), self._columns(rows))

    def _insert_sql(self, model: Any, columns: Sequence[tuple[str, str]]) -> str:
        names = ", ".join(name for name, _ in columns)
        selected = ", ".join(f"u.{name}" for name, _ in columns)
        return (f"INSERT INTO {model.__tablename__} ({names}) SELECT {selected}"
                f" FROM {self._unnest(columns)}")

    @staticmethod
    def _unnest(columns: Sequence[tuple[str, str]]) -> str:
        # jsonb arrives as text (asyncpg's codec set up by SQLAlchemy takes str) and is cast.
        arrays = ", ".join(f"${n}::{'text' if kind == 'jsonb' else kind}[]"
                           for n, (_, kind) in enumerate(columns, start=1))
        names = ", ".join(name for name, _ in columns)
        casts = ", ".join(f"{name}::jsonb AS {name}" if kind == "jsonb" else name
                          for name, kind in columns)
        return f"(SELECT {casts} FROM unnest({arrays}) AS t({names})) AS u"

    @staticmethod
    def _columns(rows: list[Row]) -> tuple[list[Any], ...]:
        return tuple(list(column) for column in zip(*rows, strict=True))

    async def _run(self, sql: str, parameters: tuple[Any, ...]) -> Any:
        connection = await self.session.connection()
        return await connection.exec_driver_sql(sql, parameters)


def store_for(session: AsyncSession) -> IngestStore:
    """The store for the session's database (PostgreSQL arrays, or portable Core)."""
    dialect = session.get_bind().dialect.name
    return PostgresIngestStore(session) if dialect == "postgresql" else IngestStore(session)
