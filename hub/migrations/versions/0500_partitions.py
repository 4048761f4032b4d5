"""Monthly partitions of the hub's fact tables (issue 14, docs/scaling.md "Partitioned fact
tables"), converting a live PostgreSQL database without a long exclusive lock.

=================  ==============  ==========================================================
table              partition key   primary key on PostgreSQL (id stays the ORM's key)
=================  ==============  ==========================================================
orders             business_day    (id, business_day)
order_lines        business_day    (id, business_day): the order's day, a new column here
payments           created_at      (id, created_at)
kitchen_events     at              (id, at); unique (ticket_id, action, at) as before
sync_journal       received_at     (outlet_id, epoch, seq, received_at)
=================  ==============  ==========================================================

Every key is fixed for a row: an order's business day (its lines carry it), a payment's and a
kitchen action's own time, the hub's receipt time of a journal entry; a replayed event has
the same key, so the ingest's ``ON CONFLICT DO NOTHING`` still finds the row it replays. The
journal's exactly-once rule is the outlet's cursor (``sync_cursors``, not partitioned, read
under the outlet's row lock), as before. ``order_lines`` loses its foreign key to
``orders`` (a key to a partitioned table would be validated over the whole table at the
swap); only the ingest writes lines, with their order, and replaces them explicitly.

The partitions live in the schema ``hub_partitions``, which the login roles cannot reach
(no USAGE): they read and write through the parents in ``public``, whose FORCE'd
Row-Level Security applies; no partition can be queried around it.

How a live database is converted (PostgreSQL; SQLite only gets the new column):

1. Outside any transaction block (``autocommit_block``), without blocking reads or writes:
   ``order_lines.business_day`` is added (no default: instant), filled for new rows by a
   temporary trigger and for existing ones in batches of 5,000; each table gets a CHECK
   ``key < <first day of the month after next>`` added NOT VALID, rows beyond it (an edge
   clock far ahead) are set aside, then VALIDATEd (SHARE UPDATE EXCLUSIVE: reads and writes
   go on); the unique index (old key + partition key) is built CONCURRENTLY.
2. In one short transaction: each table is renamed into ``hub_partitions`` as
   ``<table>_legacy``, an empty partitioned parent with the same columns, indexes, foreign
   keys, policy and grants takes its name, and the old table is ATTACHed as the partition
   ``FROM (MINVALUE) TO (<that month>)``. The validated CHECK lets PostgreSQL skip the
   partition's scan, the matching indexes are attached rather than built, and the
   ``order_lines`` NOT NULL is proven by its CHECK too: catalog work only (PostgreSQL says
   so at DEBUG1; the migration logs those lines to ``hub.migrations``).
3. After that transaction commits, each statement in its own short transaction: a default
   partition per table catches keys outside every range (the rows set aside go there), and
   the monthly partitions of the next months are created. A run stopped after step 2 finds
   the tables partitioned and does only this step.

Partition maintenance afterwards (``hub.partitions``: months ahead, retention) goes through
two SECURITY DEFINER functions created here, ``pos_hub_add_partition`` and
``pos_hub_drop_partition``: the login roles may call them and create or drop only
partitions of these five tables, never own or alter the tables.

Downgrade: SQLite only. On PostgreSQL restore the backup taken before the upgrade.

Revision ID: 0500_partitions
Revises: 0440_sales_statement
Create Date: 2026-11-30 12:40:00.000000
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0500_partitions'
down_revision = '0440_sales_statement'
branch_labels = None
depends_on = None

log = logging.getLogger("hub.migrations")

# Kept as literals: a migration must not change when the models change later.
SCHEMA = "hub_partitions"
# table -> (partition key, its type, the old primary key's columns)
TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "orders": ("business_day", "date", ("id",)),
    "order_lines": ("business_day", "date", ("id",)),
    "payments": ("created_at", "timestamptz", ("id",)),
    "kitchen_events": ("at", "timestamptz", ("id",)),
    "sync_journal": ("received_at", "timestamptz", ("outlet_id", "epoch", "seq")),
}
MONTHS_AHEAD = 3  # monthly partitions created past the legacy one (hub.partitions keeps it up)
BACKFILL_BATCH = 5000
LOCK_TIMEOUT = "10s"  # the swap waits this long for the tables, then fails: run migrate again


def _month(day: date, months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _literal(day: date, kind: str) -> str:
    return f"'{day.isoformat()}'" if kind == "date" else f"'{day.isoformat()} 00:00:00+00'"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        _upgrade_sqlite()
        return
    upper = _month(datetime.now(UTC).date(), 2)
    started = time.monotonic()
    swapped = started
    if not _partitioned():  # else an earlier run swapped, then stopped before it finished
        with op.get_context().autocommit_block():
            _prepare_online(upper)
        prepared = time.monotonic()
        _swap(upper)
        swapped = time.monotonic()
        log.info("0500_partitions: online preparation %.2f s, swap %.3f s",
                 prepared - started, swapped - prepared)
    # The swap commits here; what follows takes each parent's lock for a moment at a time.
    with op.get_context().autocommit_block():
        _after_swap(upper)
    log.info("0500_partitions: default and monthly partitions %.2f s",
             time.monotonic() - swapped)


def _partitioned() -> bool:
    return bool(op.get_bind().exec_driver_sql(
        "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'public.orders'::regclass"
    ).scalar())


# ---------------------------------------------------------------- SQLite


def _upgrade_sqlite() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_day', sa.Date(), nullable=True))
    op.execute("UPDATE order_lines SET business_day = (SELECT o.business_day FROM orders o"
               " WHERE o.id = order_lines.order_id)")
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint('fk_order_lines_order_id_orders', type_='foreignkey')
        batch_op.alter_column('business_day', existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        raise NotImplementedError("0500_partitions cannot be undone on PostgreSQL: restore the "
                                  "backup taken before the upgrade")
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_order_lines_order_id_orders', 'orders', ['order_id'],
                                    ['id'], ondelete='CASCADE')
        batch_op.drop_column('business_day')


# ---------------------------------------------------------------- PostgreSQL, step 1 (online)


def _prepare_online(upper: date) -> None:
    """Everything that reads or writes whole tables, each statement its own transaction."""
    bind = op.get_bind()
    run = bind.exec_driver_sql
    # A statement that needs a table to itself for an instant (NO FORCE, the CHECK, the
    # trigger) waits at most this long, instead of queueing the traffic behind a long query;
    # not for the concurrent index builds, which wait for older transactions by design.
    run(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    run(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    run(f"REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC")
    for table in TABLES:
        # The owner running this is bound by FORCE'd RLS (it would see no row); the login
        # roles are not the owner, so this changes nothing for them. The parents that take
        # the names at the swap get FORCE again.
        run(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    # Before any row moves: its ON DELETE CASCADE would take lines along with their order.
    run("ALTER TABLE order_lines DROP CONSTRAINT IF EXISTS fk_order_lines_order_id_orders")
    _fill_line_days(bind)
    for table, (key, kind, old_key) in TABLES.items():
        check = f"{key} < {_literal(upper, kind)}"
        if table == "order_lines":
            check = f"{key} IS NOT NULL AND {check}"
        run(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_partition_bound")
        # NOT VALID: no scan, but every new row is checked from now on.
        run(f"ALTER TABLE {table} ADD CONSTRAINT {table}_partition_bound CHECK ({check})"
            " NOT VALID")
        # Rows beyond the bound (an edge clock far ahead) wait for the default partition.
        run(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table}_strays"
            f" (LIKE public.{table})")
        run(f"WITH moved AS (DELETE FROM {table} WHERE {key} >= {_literal(upper, kind)}"
            f" RETURNING *) INSERT INTO {SCHEMA}.{table}_strays SELECT * FROM moved")
        run(f"ALTER TABLE {table} VALIDATE CONSTRAINT {table}_partition_bound")
        index = f"{table}_partition_key"
        valid = run("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " WHERE c.relname = %s AND c.relnamespace = 'public'::regnamespace",
                    (index,)).scalar()
        run("RESET lock_timeout")
        if valid is False:  # a build interrupted by an earlier run
            run(f"DROP INDEX CONCURRENTLY {index}")
        run(f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {index}"
            f" ON {table} ({', '.join((*old_key, key))})")
        run(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    run("RESET lock_timeout")


def _fill_line_days(bind: Any) -> None:
    """``order_lines.business_day``: new rows by trigger (an older hub process may still be
    writing), existing rows in batches along the primary key."""
    run = bind.exec_driver_sql
    run("ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS business_day date")
    run("""CREATE OR REPLACE FUNCTION pos_hub_line_business_day() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.business_day IS NULL THEN
               SELECT o.business_day INTO NEW.business_day FROM public.orders o
               WHERE o.id = NEW.order_id;
             END IF;
             RETURN NEW;
           END $$""")
    run("DROP TRIGGER IF EXISTS order_lines_business_day ON order_lines")
    run("CREATE TRIGGER order_lines_business_day BEFORE INSERT OR UPDATE ON order_lines"
        " FOR EACH ROW EXECUTE FUNCTION pos_hub_line_business_day()")
    last = ""
    while True:
        ids = [row[0] for row in run(
            "SELECT id FROM order_lines WHERE id > %s ORDER BY id LIMIT %s",
            (last, BACKFILL_BATCH))]
        if not ids:
            break
        run("UPDATE order_lines l SET business_day = o.business_day FROM orders o"
            " WHERE l.id = ANY(%s) AND l.business_day IS NULL AND o.id = l.order_id", (ids,))
        last = ids[-1]


# ---------------------------------------------------------------- PostgreSQL, step 2 (swap)


def _swap(upper: date) -> None:
    bind = op.get_bind()
    run = bind.exec_driver_sql
    notices = _record_notices(bind)
    run(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    run("SET LOCAL client_min_messages = debug1")
    # One order for every table, the ingest's own (journal first, then what it applies).
    run("LOCK TABLE sync_journal, orders, order_lines, payments, kitchen_events"
        " IN ACCESS EXCLUSIVE MODE")
    run("DROP TRIGGER order_lines_business_day ON order_lines")
    run("DROP FUNCTION pos_hub_line_business_day()")
    # Proven by the validated CHECK: no scan (DEBUG1 "existing constraints ... sufficient").
    run("ALTER TABLE order_lines ALTER COLUMN business_day SET NOT NULL")
    roles = _login_roles()
    for table, (key, kind, old_key) in TABLES.items():
        _convert(run, table, key, kind, old_key, upper, roles)
    _create_functions(run, roles)
    run("SET LOCAL client_min_messages = notice")
    # What PostgreSQL said of the old tables: each ATTACH and the NOT NULL proven by the
    # CHECKs, no index built on them (tests/hub/test_partitions.py reads this).
    for line in notices:
        if "_legacy" in line or "does not contain nulls" in line:
            log.info("0500_partitions: %s", line)


def _record_notices(bind: Any) -> list[str]:
    """PostgreSQL's messages on this connection (psycopg), kept for the log."""
    lines: list[str] = []
    driver = bind.connection.dbapi_connection
    if hasattr(driver, "add_notice_handler"):
        driver.add_notice_handler(lambda diag: lines.append(diag.message_primary or ""))
    return lines


def _login_roles() -> list[str]:
    context = op.get_context()
    me = op.get_bind().exec_driver_sql("SELECT current_user").scalar()
    roles = [role for role in context.config.attributes.get("grant_to", ()) if role != me]
    for role in roles:
        if not role.replace("_", "").isalnum():
            raise ValueError(f"invalid role name {role!r}")
    return roles


def _convert(run: Any, table: str, key: str, kind: str, old_key: tuple[str, ...],
             upper: date, roles: list[str]) -> None:
    legacy = f"{table}_legacy"
    # The definitions the parent takes over, read while they still name public.<table>.
    indexes = [row[0] for row in run(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND c.relname <> %s"
        " ORDER BY c.relname", (f"public.{table}", f"{table}_partition_key"))]
    foreign_keys = list(run(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
        (f"public.{table}",)))
    run(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    run(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    run(f"ALTER TABLE {table} RENAME TO {legacy}")
    run(f"ALTER TABLE {legacy} SET SCHEMA {SCHEMA}")
    for role in roles:
        run(f'REVOKE ALL ON {SCHEMA}.{legacy} FROM "{role}"')
    # The primary key of a partitioned table must hold the partition key: the index built
    # concurrently in step 1 becomes that constraint on the old table (catalog only).
    run(f"ALTER TABLE {SCHEMA}.{legacy} ADD CONSTRAINT {table}_partition_key"
        f" UNIQUE USING INDEX {table}_partition_key")
    run(f"CREATE TABLE public.{table} (LIKE {SCHEMA}.{legacy} INCLUDING DEFAULTS"
        f" INCLUDING STORAGE) PARTITION BY RANGE ({key})")
    run(f"ALTER TABLE public.{table} ADD CONSTRAINT pk_{table}"
        f" PRIMARY KEY ({', '.join((*old_key, key))})")
    for definition in indexes:
        run(definition)  # on the empty parent: nothing to build
    for name, definition in foreign_keys:
        run(f"ALTER TABLE public.{table} ADD CONSTRAINT {name} {definition}")
    from hub.db import tenant_rls_sql

    for statement in tenant_rls_sql(table):
        run(statement)
    for role in roles:
        run(f'GRANT SELECT, INSERT, UPDATE, DELETE ON public.{table} TO "{role}"')
    # The validated CHECK proves the bound: no scan (DEBUG1 "partition constraint for table
    # ... is implied by existing constraints"); equal indexes and keys are attached, not built.
    run(f"ALTER TABLE public.{table} ATTACH PARTITION {SCHEMA}.{legacy}"
        f" FOR VALUES FROM (MINVALUE) TO ({_literal(upper, kind)})")


def _after_swap(upper: date) -> None:
    """Each table's default partition (with the rows set aside) and its months ahead, each
    statement its own short transaction; nothing here is needed before the next month."""
    run = op.get_bind().exec_driver_sql
    for table in TABLES:
        run(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table}_default PARTITION OF public.{table}"
            " DEFAULT")
        if run("SELECT to_regclass(%s)", (f"{SCHEMA}.{table}_strays",)).scalar():
            driver = op.get_bind().connection.dbapi_connection
            with driver.transaction():  # both or neither: a rerun must not add them twice
                driver.execute(f"INSERT INTO {SCHEMA}.{table}_default"
                               f" SELECT * FROM {SCHEMA}.{table}_strays")
                driver.execute(f"DROP TABLE {SCHEMA}.{table}_strays")
        for month in range(MONTHS_AHEAD + 1):
            run("SELECT pos_hub_add_partition(%s, %s)", (table, _month(upper, month)))


# The partition bounds are UTC months: a date key gets the day, a timestamptz key midnight UTC.
_KEYS_SQL = """CASE parent WHEN 'orders' THEN 'business_day' WHEN 'order_lines' THEN 'business_day'
        WHEN 'payments' THEN 'created_at' WHEN 'kitchen_events' THEN 'at'
        WHEN 'sync_journal' THEN 'received_at' END"""


def _create_functions(run: Any, roles: list[str]) -> None:
    def plain(sql: str) -> None:
        run(sql.replace("%", "%%"))  # the driver reads % as a placeholder

    plain(f"""CREATE OR REPLACE FUNCTION pos_hub_add_partition(parent text, month date)
        RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
          key text := {_KEYS_SQL};
          lo date := date_trunc('month', month)::date;
          hi date := (date_trunc('month', month) + interval '1 month')::date;
          part text := parent || '_p' || to_char(month, 'YYYYMM');
          lo_lit text; hi_lit text;
        BEGIN
          IF key IS NULL THEN
            RAISE EXCEPTION 'pos_hub_add_partition: % is not a partitioned hub table', parent;
          END IF;
          IF to_regclass(format('{SCHEMA}.%I', part)) IS NOT NULL THEN
            RETURN false;
          END IF;
          IF key = 'business_day' THEN
            lo_lit := quote_literal(lo::text); hi_lit := quote_literal(hi::text);
          ELSE
            lo_lit := quote_literal(lo::text || ' 00:00:00+00');
            hi_lit := quote_literal(hi::text || ' 00:00:00+00');
          END IF;
          -- Created apart and ATTACHed: SHARE UPDATE EXCLUSIVE on the parent, so reads and
          -- writes go on (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE).
          EXECUTE format('CREATE TABLE {SCHEMA}.%I (LIKE public.%I INCLUDING DEFAULTS'
                         ' INCLUDING STORAGE)', part, parent);
          EXECUTE format('ALTER TABLE {SCHEMA}.%I ADD CONSTRAINT %I CHECK (%I >= %s AND %I < %s)',
                         part, part || '_bound', key, lo_lit, key, hi_lit);
          -- Rows of that month the default partition caught move into the new partition:
          -- out before the ATTACH (the default may not hold them then), in after it (so
          -- their keys are checked row by row: the ATTACH's one-query check would run
          -- under the FORCE'd policies of the tables they refer to, and see none).
          EXECUTE format('CREATE TEMP TABLE pos_hub_moving (LIKE public.%I)', parent);
          EXECUTE format('WITH moved AS (DELETE FROM {SCHEMA}.%I WHERE %I >= %s AND %I < %s'
                         ' RETURNING *) INSERT INTO pos_hub_moving SELECT * FROM moved',
                         parent || '_default', key, lo_lit, key, hi_lit);
          EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION {SCHEMA}.%I'
                         ' FOR VALUES FROM (%s) TO (%s)', parent, part, lo_lit, hi_lit);
          EXECUTE format('INSERT INTO {SCHEMA}.%I SELECT * FROM pos_hub_moving', part);
          DROP TABLE pos_hub_moving;
          RETURN true;
        END $$""")
    plain(f"""CREATE OR REPLACE FUNCTION pos_hub_drop_partition(parent text, part text)
        RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
          key text := {_KEYS_SQL};
          kept bigint := 0;
        BEGIN
          IF key IS NULL OR part = parent || '_default' OR NOT EXISTS (
              SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = format('public.%I', parent)::regclass
                AND c.relnamespace = '{SCHEMA}'::regnamespace AND c.relname = part) THEN
            RAISE EXCEPTION 'pos_hub_drop_partition: % is not a monthly partition of %',
              part, parent;
          END IF;
          EXECUTE format('ALTER TABLE public.%I DETACH PARTITION {SCHEMA}.%I', parent, part);
          IF parent = 'sync_journal' THEN
            -- A quarantined entry is the only copy of an event not applied: the default
            -- partition keeps it (its month has no partition any more).
            EXECUTE format('INSERT INTO {SCHEMA}.sync_journal_default SELECT * FROM {SCHEMA}.%I'
                           ' WHERE status <> ''applied''', part);
            GET DIAGNOSTICS kept = ROW_COUNT;
          END IF;
          EXECUTE format('DROP TABLE {SCHEMA}.%I', part);
          RETURN kept;
        END $$""")
    for function in ("pos_hub_add_partition(text, date)", "pos_hub_drop_partition(text, text)"):
        run(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        for role in roles:
            run(f'GRANT EXECUTE ON FUNCTION {function} TO "{role}"')
