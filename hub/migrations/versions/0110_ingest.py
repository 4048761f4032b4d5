"""Set-based ingest: cheaper writes on the tables a backlog drain fills.

* A kitchen event is unique by (ticket, action, at): the hub inserts a batch's kitchen
  events with ``ON CONFLICT DO NOTHING``, and this index makes that skip an event held under
  another id (a re-chained journal epoch) in the same statement, instead of a read per
  batch. It replaces the plain index on ``ticket_id`` (its prefix).
* The journal, kitchen events, payments and order lines lose their foreign keys to tenants
  and outlets (hub.models.TenantFact): the per-row check cost about a third of PostgreSQL's
  time in a drain. Row-Level Security still binds each row to its tenant, and only the
  ingest writes them, with the outlet of the verified credential.
* Tenant-only indexes go where a composite index already starts with tenant_id, and the
  journal's (outlet, event_id) index, which nothing reads.

Revision ID: 0110_ingest
Revises: 0100_sync
Create Date: 2026-11-29 09:15:00
"""

from __future__ import annotations

from alembic import op

revision = '0110_ingest'
down_revision = '0100_sync'
branch_labels = None
depends_on = None


# table -> (foreign keys to drop as (name, column, referred table), indexes to drop)
FACT_TABLES = {
    'sync_journal': ([('fk_sync_journal_tenant_id_tenants', 'tenant_id', 'tenants'),
                      ('fk_sync_journal_outlet_id_outlets', 'outlet_id', 'outlets')],
                     [('ix_sync_journal_tenant_id', ['tenant_id']),
                      ('ix_sync_journal_outlet_event', ['outlet_id', 'event_id'])]),
    'kitchen_events': ([('fk_kitchen_events_tenant_id_tenants', 'tenant_id', 'tenants'),
                        ('fk_kitchen_events_outlet_id_outlets', 'outlet_id', 'outlets')],
                       [('ix_kitchen_events_tenant_id', ['tenant_id'])]),
    'payments': ([('fk_payments_tenant_id_tenants', 'tenant_id', 'tenants'),
                  ('fk_payments_outlet_id_outlets', 'outlet_id', 'outlets')],
                 [('ix_payments_tenant_id', ['tenant_id'])]),
    'order_lines': ([('fk_order_lines_tenant_id_tenants', 'tenant_id', 'tenants'),
                     ('fk_order_lines_outlet_id_outlets', 'outlet_id', 'outlets')], []),
    'orders': ([], [('ix_orders_tenant_id', ['tenant_id'])]),
}


def upgrade() -> None:
    with op.batch_alter_table('kitchen_events', schema=None) as batch_op:
        batch_op.drop_index('ix_kitchen_events_ticket_id')
        batch_op.create_index('uq_kitchen_events_ticket_action_at', ['ticket_id', 'action', 'at'],
                              unique=True)
    for table, (foreign_keys, indexes) in FACT_TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _, _ in foreign_keys:
                batch_op.drop_constraint(name, type_='foreignkey')
            for name, _ in indexes:
                batch_op.drop_index(name)


def downgrade() -> None:
    for table, (foreign_keys, indexes) in FACT_TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes:
                batch_op.create_index(name, columns, unique=False)
            for name, column, referred in foreign_keys:
                batch_op.create_foreign_key(name, referred, [column], ['id'])
    with op.batch_alter_table('kitchen_events', schema=None) as batch_op:
        batch_op.drop_index('uq_kitchen_events_ticket_action_at')
        batch_op.create_index('ix_kitchen_events_ticket_id', ['ticket_id'], unique=False)
