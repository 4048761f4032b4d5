"""Refunds, till discounts and approvals (issue 11): the outlets' refunds, and on each order
its discount reason, the managers who approved its discount and its void, and how much of it
was refunded.

``refunds`` is tenant-owned and put under FORCE'd Row-Level Security on PostgreSQL
(``hub.db.tenant_rls_sql``); the login roles get their grants from ``pos-hub migrate``
(``hub.db.grant_sql``, run after the last revision). Existing orders get the defaults an
older edge's payload decodes to ("" / NULL / 0).

Revision ID: 0410_refunds
Revises: 0400_gateways
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0410_refunds'
down_revision = '0400_gateways'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')

# Kept as a literal list: a migration must not change when the models change later.
REFUND_TENANT_TABLES = ["refunds"]


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_reason', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('discount_approved_by', sa.String(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('void_approved_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('refunded', sa.BigInteger(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('discount_reason', server_default=None)
        batch_op.alter_column('refunded', server_default=None)

    op.create_table('refunds',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('payment_id', sa.String(length=64), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('lines', _JSON, nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=False),
    sa.Column('gateway', sa.String(length=16), nullable=False),
    sa.Column('gateway_refund_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shift_id', sa.String(length=64), nullable=True),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('edge_seq', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_refunds_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_tenant_order', ['tenant_id', 'order_id'], unique=False)
        batch_op.create_index('ix_refunds_tenant_outlet_created',
                              ['tenant_id', 'outlet_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        from hub.db import tenant_rls_sql

        for table in REFUND_TENANT_TABLES:
            for statement in tenant_rls_sql(table):
                op.execute(statement)


def downgrade() -> None:
    for table in reversed(REFUND_TENANT_TABLES):
        op.drop_table(table)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('refunded')
        batch_op.drop_column('void_approved_by')
        batch_op.drop_column('discount_approved_by')
        batch_op.drop_column('discount_reason')
