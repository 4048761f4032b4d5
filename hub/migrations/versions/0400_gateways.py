"""Payment gateways (issue 11): sealed credentials per outlet or brand, verified webhook
notifications (once each), the outlets' synced payment attempts, daily reconciliations.

Each table is tenant-owned and put under FORCE'd Row-Level Security on PostgreSQL
(``hub.db.tenant_rls_sql``); the login roles get their grants from ``pos-hub migrate``
(``hub.db.grant_sql``, run after the last revision).

Revision ID: 0400_gateways
Revises: 0320_roles
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0400_gateways'
down_revision = '0320_roles'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')

# Kept as a literal list: a migration must not change when the models change later.
GATEWAY_TENANT_TABLES = ["gateway_credentials", "gateway_notifications", "hub_payment_attempts",
                         "payment_reconciliations"]


def upgrade() -> None:
    op.create_table('gateway_credentials',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=True),
    sa.Column('brand_id', sa.String(length=64), nullable=True),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('api_base_url', sa.String(length=200), nullable=False),
    sa.Column('secret_sealed', sa.String(length=600), nullable=False),
    sa.Column('secret_last4', sa.String(length=4), nullable=False),
    sa.Column('callback_token_sealed', sa.String(length=600), nullable=False),
    sa.Column('callback_token_last4', sa.String(length=4), nullable=False),
    sa.Column('callback_token_lookup', sa.String(length=64), nullable=False),
    sa.Column('qr_expiry_seconds', sa.Integer(), nullable=False),
    sa.Column('static_qris', sa.String(length=512), nullable=False),
    sa.Column('ewallet_channels', _JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_gateway_credentials_brand_id_brands')),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_gateway_credentials_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_gateway_credentials_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_credentials')),
    sa.UniqueConstraint('brand_id', name=op.f('uq_gateway_credentials_brand_id')),
    sa.UniqueConstraint('outlet_id', name=op.f('uq_gateway_credentials_outlet_id'))
    )
    with op.batch_alter_table('gateway_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateway_credentials_callback_token_lookup'),
                              ['callback_token_lookup'], unique=False)
        batch_op.create_index(batch_op.f('ix_gateway_credentials_tenant_id'), ['tenant_id'],
                              unique=False)

    op.create_table('gateway_notifications',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('credential_id', sa.String(length=64), nullable=False),
    sa.Column('gateway', sa.String(length=16), nullable=False),
    sa.Column('gateway_order_id', sa.String(length=64), nullable=False),
    sa.Column('transaction_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gateway_status', sa.String(length=40), nullable=False),
    sa.Column('gross_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('payment_type', sa.String(length=40), nullable=False),
    sa.Column('gateway_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flag', sa.String(length=32), nullable=False),
    sa.Column('body', _JSON, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_gateway_notifications_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_notifications')),
    sa.UniqueConstraint('tenant_id', 'gateway', 'gateway_order_id', 'status', 'transaction_id',
                        name='uq_gateway_notifications_once')
    )
    with op.batch_alter_table('gateway_notifications', schema=None) as batch_op:
        batch_op.create_index('ix_gateway_notifications_order', ['tenant_id', 'gateway_order_id'],
                              unique=False)
        batch_op.create_index('ix_gateway_notifications_outlet_received',
                              ['tenant_id', 'outlet_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_gateway_notifications_tenant_id'), ['tenant_id'],
                              unique=False)

    op.create_table('hub_payment_attempts',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('gateway', sa.String(length=16), nullable=False),
    sa.Column('gateway_order_id', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payment_id', sa.String(length=64), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edge_seq', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_hub_payment_attempts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_payment_attempts'))
    )
    with op.batch_alter_table('hub_payment_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_hub_payment_attempts_gateway_order',
                              ['tenant_id', 'gateway_order_id'], unique=False)
        batch_op.create_index('ix_hub_payment_attempts_outlet_created',
                              ['tenant_id', 'outlet_id', 'created_at'], unique=False)

    op.create_table('payment_reconciliations',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('differences', sa.Integer(), nullable=False),
    sa.Column('result', _JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_payment_reconciliations_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payment_reconciliations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', 'day', name=op.f('pk_payment_reconciliations'))
    )
    with op.batch_alter_table('payment_reconciliations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_reconciliations_tenant_id'), ['tenant_id'],
                              unique=False)

    if op.get_bind().dialect.name == "postgresql":
        from hub.db import tenant_rls_sql

        for table in GATEWAY_TENANT_TABLES:
            for statement in tenant_rls_sql(table):
                op.execute(statement)


def downgrade() -> None:
    for table in reversed(GATEWAY_TENANT_TABLES):
        op.drop_table(table)
