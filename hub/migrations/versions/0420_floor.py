"""Floor plans (issue 12): one per outlet, drawn at head office and sent to the outlet's box
as the "floor" feed kind (``hub.floor``, ``hub.floor_models``).

``floor_plans`` is tenant-owned and put under FORCE'd Row-Level Security on PostgreSQL
(``hub.db.tenant_rls_sql``); the login roles get their grants from ``pos-hub migrate``
(``hub.db.grant_sql``, run after the last revision).

Revision ID: 0420_floor
Revises: 0410_refunds
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0420_floor'
down_revision = '0410_refunds'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')

# Kept as a literal list: a migration must not change when the models change later.
FLOOR_TENANT_TABLES = ["floor_plans"]


def upgrade() -> None:
    op.create_table('floor_plans',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('plan', _JSON, nullable=False),
    sa.Column('guest_base_url', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_floor_plans_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_floor_plans_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', name=op.f('pk_floor_plans'))
    )
    with op.batch_alter_table('floor_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floor_plans_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        from hub.db import tenant_rls_sql

        for table in FLOOR_TENANT_TABLES:
            for statement in tenant_rls_sql(table):
                op.execute(statement)


def downgrade() -> None:
    for table in reversed(FLOOR_TENANT_TABLES):
        op.drop_table(table)
