"""Initial hub schema: identity, catalog, synced edge data, fleet, jobs; RLS on PostgreSQL.

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-29 04:42:42.766295
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('job_runs',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('slot_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('runner', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('job', 'slot_start', name=op.f('pk_job_runs'))
    )
    op.create_table('login_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_key_at', ['key', 'at'], unique=False)

    op.create_table('tenants',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('actor_email', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_audit_log_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_tenant_at', ['tenant_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('brands',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_brands_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brands')),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_brands_tenant_name')
    )
    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brands_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('catalog_versions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('brand_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_catalog_versions_brand_id_brands')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_catalog_versions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_versions')),
    sa.UniqueConstraint('brand_id', 'version', name='uq_catalog_versions_brand_version')
    )
    with op.batch_alter_table('catalog_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_versions_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_versions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('categories',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('brand_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('station', sa.String(length=200), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('color', sa.String(length=200), nullable=False),
    sa.Column('names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_categories_brand_id_brands')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_categories_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_categories_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('modifier_groups',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('brand_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('min_choices', sa.Integer(), nullable=False),
    sa.Column('max_choices', sa.Integer(), nullable=False),
    sa.Column('names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_modifier_groups_brand_id_brands')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_modifier_groups_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modifier_groups'))
    )
    with op.batch_alter_table('modifier_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modifier_groups_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_modifier_groups_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('outlets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('brand_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('service_rate_bp', sa.Integer(), nullable=False),
    sa.Column('tax_rate_bp', sa.Integer(), nullable=False),
    sa.Column('tax_name', sa.String(length=200), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('rounding_unit', sa.Integer(), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_outlets_brand_id_brands')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outlets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outlets'))
    )
    with op.batch_alter_table('outlets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlets_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlets_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('refresh_tokens',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=64), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_refresh_tokens_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refresh_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_refresh_tokens_token_digest'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('cash_movements',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('shift_id', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_cash_movements_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cash_movements_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_movements'))
    )
    with op.batch_alter_table('cash_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cash_movements_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cash_movements_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('catalog_snapshots',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('brand_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('catalog', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_catalog_snapshots_brand_id_brands')),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_catalog_snapshots_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_catalog_snapshots_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_snapshots')),
    sa.UniqueConstraint('outlet_id', 'version', name='uq_catalog_snapshots_outlet_version')
    )
    with op.batch_alter_table('catalog_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_snapshots_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_snapshots_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('edge_availability',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_edge_availability_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_edge_availability_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', 'product_id', name=op.f('pk_edge_availability'))
    )
    with op.batch_alter_table('edge_availability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_edge_availability_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('kitchen_events',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('station', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_kitchen_events_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kitchen_events_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kitchen_events'))
    )
    with op.batch_alter_table('kitchen_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kitchen_events_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kitchen_events_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_kitchen_events_tenant_outlet_at', ['tenant_id', 'outlet_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kitchen_events_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('modifier_options',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('price_delta', sa.BigInteger(), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['modifier_groups.id'], name=op.f('fk_modifier_options_group_id_modifier_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_modifier_options_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modifier_options'))
    )
    with op.batch_alter_table('modifier_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modifier_options_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_modifier_options_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('service_charge', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    sa.Column('rounding', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('customer_name', sa.String(length=200), nullable=False),
    sa.Column('table_label', sa.String(length=200), nullable=False),
    sa.Column('void_reason', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edge_seq', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_orders_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_orders_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_orders_tenant_outlet_day', ['tenant_id', 'outlet_id', 'business_day'], unique=False)

    op.create_table('outlet_status',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_push_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_pull_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_backlog', sa.BigInteger(), nullable=False),
    sa.Column('edge_version', sa.String(length=64), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('journal_alarm', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_outlet_status_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outlet_status_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', name=op.f('pk_outlet_status'))
    )
    with op.batch_alter_table('outlet_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_status_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('tendered', sa.BigInteger(), nullable=False),
    sa.Column('change', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shift_id', sa.String(length=64), nullable=True),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_payments_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_payments_tenant_outlet_created', ['tenant_id', 'outlet_id', 'created_at'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('brand_id', sa.String(length=64), nullable=False),
    sa.Column('category_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('image_url', sa.String(length=200), nullable=False),
    sa.Column('color', sa.String(length=200), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('modifier_group_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_products_brand_id_brands')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_products_category_id_categories')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_products_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('shifts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opening_float', sa.BigInteger(), nullable=False),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counted_cash', sa.BigInteger(), nullable=True),
    sa.Column('expected_cash', sa.BigInteger(), nullable=True),
    sa.Column('difference', sa.BigInteger(), nullable=True),
    sa.Column('edge_seq', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_shifts_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_shifts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts'))
    )
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shifts_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shifts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('user_outlets',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_user_outlets_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_user_outlets_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_outlets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'outlet_id', name=op.f('pk_user_outlets'))
    )
    with op.batch_alter_table('user_outlets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_outlets_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('order_lines',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('line_total', sa.BigInteger(), nullable=False),
    sa.Column('modifiers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('station', sa.String(length=200), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_order_lines_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_lines_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_lines_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_lines_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('outlet_availability',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_outlet_availability_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_outlet_availability_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outlet_availability_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', 'product_id', name=op.f('pk_outlet_availability'))
    )
    with op.batch_alter_table('outlet_availability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_availability_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('outlet_prices',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_outlet_prices_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_outlet_prices_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outlet_prices_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', 'product_id', name=op.f('pk_outlet_prices'))
    )
    with op.batch_alter_table('outlet_prices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_prices_tenant_id'), ['tenant_id'], unique=False)
    _create_report_rollups()
    if op.get_bind().dialect.name == "postgresql":
        _isolate_tenants()


def downgrade() -> None:
    _drop_report_rollups()

    with op.batch_alter_table('outlet_prices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outlet_prices_tenant_id'))

    op.drop_table('outlet_prices')
    with op.batch_alter_table('outlet_availability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outlet_availability_tenant_id'))

    op.drop_table('outlet_availability')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_order_lines_product_id'))
        batch_op.drop_index(batch_op.f('ix_order_lines_order_id'))

    op.drop_table('order_lines')
    with op.batch_alter_table('user_outlets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_outlets_tenant_id'))

    op.drop_table('user_outlets')
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shifts_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_shifts_outlet_id'))

    op.drop_table('shifts')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_products_category_id'))
        batch_op.drop_index(batch_op.f('ix_products_brand_id'))

    op.drop_table('products')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_tenant_outlet_created')
        batch_op.drop_index(batch_op.f('ix_payments_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_payments_shift_id'))
        batch_op.drop_index(batch_op.f('ix_payments_order_id'))

    op.drop_table('payments')
    with op.batch_alter_table('outlet_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outlet_status_tenant_id'))

    op.drop_table('outlet_status')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_tenant_outlet_day')
        batch_op.drop_index(batch_op.f('ix_orders_tenant_id'))
        batch_op.drop_index('ix_orders_tenant_created')

    op.drop_table('orders')
    with op.batch_alter_table('modifier_options', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modifier_options_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_modifier_options_group_id'))

    op.drop_table('modifier_options')
    with op.batch_alter_table('kitchen_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kitchen_events_ticket_id'))
        batch_op.drop_index('ix_kitchen_events_tenant_outlet_at')
        batch_op.drop_index(batch_op.f('ix_kitchen_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_kitchen_events_order_id'))

    op.drop_table('kitchen_events')
    with op.batch_alter_table('edge_availability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_edge_availability_tenant_id'))

    op.drop_table('edge_availability')
    with op.batch_alter_table('catalog_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_snapshots_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_catalog_snapshots_outlet_id'))

    op.drop_table('catalog_snapshots')
    with op.batch_alter_table('cash_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cash_movements_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_cash_movements_shift_id'))

    op.drop_table('cash_movements')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_family_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_expires_at'))

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('outlets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outlets_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_outlets_brand_id'))

    op.drop_table('outlets')
    with op.batch_alter_table('modifier_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modifier_groups_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_modifier_groups_brand_id'))

    op.drop_table('modifier_groups')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_categories_brand_id'))

    op.drop_table('categories')
    with op.batch_alter_table('catalog_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_versions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_catalog_versions_brand_id'))

    op.drop_table('catalog_versions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_tenant_id'))

    op.drop_table('users')
    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brands_tenant_id'))

    op.drop_table('brands')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_tenant_id'))
        batch_op.drop_index('ix_audit_log_tenant_at')

    op.drop_table('audit_log')
    op.drop_table('tenants')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_key_at')

    op.drop_table('login_failures')
    op.drop_table('job_runs')


# ---------------------------------------------------------------- tenant isolation (PostgreSQL)
# Kept as literal lists: a migration must not change when the models change later.
TENANT_TABLES = [
    "brands", "outlets", "users", "user_outlets", "refresh_tokens", "audit_log", "categories",
    "products", "modifier_groups", "modifier_options", "outlet_prices", "outlet_availability",
    "catalog_versions", "catalog_snapshots", "orders", "order_lines", "payments",
    "kitchen_events", "shifts", "cash_movements", "edge_availability", "outlet_status",
    "report_daily", "report_daily_items",
]


def _isolate_tenants() -> None:
    """Turn on FORCE'd RLS. Roles are the DBA's (docs/operations.md): no CREATE ROLE here, and
    the login roles' grants are made after the last revision (hub.db.grant_sql, 0320_roles)."""
    from hub.db import tenant_rls_sql

    for table in TENANT_TABLES:
        for statement in tenant_rls_sql(table):
            op.execute(statement)
    for statement in tenant_rls_sql("tenants", column="id"):
        op.execute(statement)


# ---------------------------------------------------------------- report roll-ups (hub.reports)


def _create_report_rollups() -> None:
    """report_daily (one row per tenant, outlet, business day: orders fingerprint and scalar
    figures), report_daily_items (its breakdowns by hour, product, payment method and
    preparation seconds) and the index that lets a report fingerprint the orders of a period
    from the index alone. outlet_id has no foreign key: "*" marks a tenant-wide cell (the sum
    of its outlets' cells of the day). See hub/reports.py."""
    op.create_table('report_daily',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('order_rows', sa.Integer(), nullable=False),
    sa.Column('max_edge_seq', sa.BigInteger(), nullable=False),
    sa.Column('max_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('format', sa.Integer(), nullable=False),
    sa.Column('order_count', sa.BigInteger(), nullable=False),
    sa.Column('gross_total', sa.BigInteger(), nullable=False),
    sa.Column('paid_orders', sa.BigInteger(), nullable=False),
    sa.Column('void_count', sa.BigInteger(), nullable=False),
    sa.Column('void_amount', sa.BigInteger(), nullable=False),
    sa.Column('voided_unpaid', sa.BigInteger(), nullable=False),
    sa.Column('refund_count', sa.BigInteger(), nullable=False),
    sa.Column('refund_amount', sa.BigInteger(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_daily_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'outlet_id', 'business_day', name=op.f('pk_report_daily'))
    )
    op.create_table('report_daily_items',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_daily_items_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'outlet_id', 'business_day', 'kind', 'key', name=op.f('pk_report_daily_items'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_report_fingerprint', ['tenant_id', 'business_day', 'outlet_id', 'edge_seq', 'updated_at'], unique=False)


def _drop_report_rollups() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_report_fingerprint')
    op.drop_table('report_daily_items')
    op.drop_table('report_daily')
