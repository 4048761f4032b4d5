"""Outlet staff managed by head office, the tenant PIN pepper, and the outlet feed positions.

Each table is tenant-owned and put under FORCE'd Row-Level Security on PostgreSQL, like the
tables of 0001_initial and 0100_sync (the app role's grants come from 0001's default
privileges; granted explicitly as well).

Revision ID: 0200_staff
Revises: 0110_ingest
Create Date: 2026-11-29 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0200_staff'
down_revision = '0110_ingest'  # chained after the ingest index (lead)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('pin_hash', sa.String(length=200), nullable=False),
    sa.Column('pin_lookup', sa.String(length=64), nullable=False),
    sa.Column('all_outlets', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('uq_staff_tenant_pin_active', ['tenant_id', 'pin_lookup'], unique=True,
                              postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    op.create_table('staff_outlets',
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_staff_outlets_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_outlets_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_outlets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('staff_id', 'outlet_id', name=op.f('pk_staff_outlets'))
    )
    with op.batch_alter_table('staff_outlets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_outlets_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_outlets_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('staff_peppers',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('pepper', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_peppers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_staff_peppers'))
    )

    op.create_table('outlet_feed',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_outlet_feed_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outlet_feed_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', 'kind', name=op.f('pk_outlet_feed'))
    )
    with op.batch_alter_table('outlet_feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_feed_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _isolate_tenants()


def downgrade() -> None:
    with op.batch_alter_table('outlet_feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outlet_feed_tenant_id'))
    op.drop_table('outlet_feed')
    op.drop_table('staff_peppers')
    with op.batch_alter_table('staff_outlets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_outlets_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_staff_outlets_outlet_id'))
    op.drop_table('staff_outlets')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index('uq_staff_tenant_pin_active')
        batch_op.drop_index(batch_op.f('ix_staff_tenant_id'))
    op.drop_table('staff')


# Kept as a literal list: a migration must not change when the models change later.
STAFF_TENANT_TABLES = ["staff", "staff_outlets", "staff_peppers", "outlet_feed"]


def _isolate_tenants() -> None:
    from hub.db import tenant_rls_sql

    role = op.get_context().config.attributes.get("app_role", "pos_hub_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"invalid role name {role!r}")
    for table in STAFF_TENANT_TABLES:
        # Default privileges cover tables created by the same role; grant explicitly anyway.
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')
        for statement in tenant_rls_sql(table):
            op.execute(statement)
