"""Table service at the hub (issue 12): on each order its table, covers, time seated,
revision, the split / merge links and when it was completed; on each line its state (sent,
held, voided), round, course, seat, when it was added and why and by whom it was voided.

Existing orders and lines get the defaults an older edge's payload decodes to (no table,
0 covers, state "sent", round 0): the reports read them exactly as before.

Revision ID: 0430_table_service
Revises: 0420_floor
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0430_table_service'
down_revision = '0420_floor'
branch_labels = None
depends_on = None

# Kept as a literal: a migration must not change when the models change later.
_OPEN_BILL = "table_id IS NOT NULL AND status IN ('placed', 'in_kitchen', 'ready')"
_ORDER_DEFAULTS = ('covers', 'revision', 'split_part', 'split_count')
_LINE_DEFAULTS = ('state', 'round', 'course', 'seat', 'void_reason')


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('table_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('covers', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('seated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('split_from', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('split_part', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('split_count', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('merged_into', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_orders_tenant_split_from', ['tenant_id', 'split_from'],
                              unique=False,
                              postgresql_where=sa.text("split_from IS NOT NULL"),
                              sqlite_where=sa.text("split_from IS NOT NULL"))
        batch_op.create_index('ix_orders_open_bills', ['tenant_id', 'outlet_id'], unique=False,
                              postgresql_where=sa.text(_OPEN_BILL),
                              sqlite_where=sa.text(_OPEN_BILL))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        for name in _ORDER_DEFAULTS:
            batch_op.alter_column(name, server_default=None)
    # Orders synced before this revision keep completed_at NULL: no table-service report
    # reads it for them (they have no table).

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=16), nullable=False,
                                      server_default='sent'))
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('course', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('seat', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('added_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('voided_by', sa.String(length=64), nullable=True))
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        for name in _LINE_DEFAULTS:
            batch_op.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        for name in reversed(('state', 'round', 'course', 'seat', 'added_at', 'void_reason',
                              'voided_by')):
            batch_op.drop_column(name)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_open_bills')
        batch_op.drop_index('ix_orders_tenant_split_from')
        for name in reversed(('table_id', 'covers', 'seated_at', 'revision', 'split_from',
                              'split_part', 'split_count', 'merged_into', 'completed_at')):
            batch_op.drop_column(name)
