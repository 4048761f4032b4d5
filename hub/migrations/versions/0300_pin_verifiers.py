"""Per-outlet PIN verifiers for hub-managed staff (security issue H2).

* ``staff`` gains ``pin_sealed`` (the PIN under AES-GCM with the hub's PIN key) and
  ``pin_version``. Rows made before this revision have neither: their PIN is not known to the
  hub and their old lookup (a fast HMAC under a pepper every edge received) counts as
  exposed, so it is replaced by a placeholder and the old argon2 hash dropped. Those staff
  are left out of every outlet's feed until head office gives them a new PIN
  (docs/security.md, "Upgrading").
* ``outlet_pin_salts`` and ``staff_pin_verifiers`` are new tenant tables, under FORCE'd
  Row-Level Security on PostgreSQL like those of 0200_staff.

Downgrade drops the new tables and columns; it cannot give back the old PIN material.

Revision ID: 0300_pin_verifiers
Revises: 0200_staff
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0300_pin_verifiers'
down_revision = '0200_staff'
branch_labels = None
depends_on = None

# Kept as a literal list: a migration must not change when the models change later.
NEW_TENANT_TABLES = ["outlet_pin_salts", "staff_pin_verifiers"]


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_sealed', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('pin_version', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('pin_sealed', server_default=None)
        batch_op.alter_column('pin_version', server_default=None)
    # Old PIN material was sent to every edge with its key: never used again. (Every
    # tenant's rows: the owner is under FORCE'd RLS too, hence the bypass for this transaction.)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('app.bypass_rls', 'on', true)")
    op.execute("UPDATE staff SET pin_hash = '', pin_lookup = 'reset:' || id")

    op.create_table('outlet_pin_salts',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_outlet_pin_salts_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outlet_pin_salts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', name=op.f('pk_outlet_pin_salts'))
    )
    with op.batch_alter_table('outlet_pin_salts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_pin_salts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('staff_pin_verifiers',
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('pin_version', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('kdf', sa.String(length=64), nullable=False),
    sa.Column('verifier', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_staff_pin_verifiers_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_pin_verifiers_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_pin_verifiers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('staff_id', 'outlet_id', name=op.f('pk_staff_pin_verifiers'))
    )
    with op.batch_alter_table('staff_pin_verifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_pin_verifiers_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_pin_verifiers_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _isolate_tenants()


def downgrade() -> None:
    with op.batch_alter_table('staff_pin_verifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_pin_verifiers_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_staff_pin_verifiers_outlet_id'))
    op.drop_table('staff_pin_verifiers')
    with op.batch_alter_table('outlet_pin_salts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outlet_pin_salts_tenant_id'))
    op.drop_table('outlet_pin_salts')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('pin_version')
        batch_op.drop_column('pin_sealed')


def _isolate_tenants() -> None:
    from hub.db import tenant_rls_sql

    role = op.get_context().config.attributes.get("app_role", "pos_hub_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"invalid role name {role!r}")
    for table in NEW_TENANT_TABLES:
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')
        for statement in tenant_rls_sql(table):
            op.execute(statement)
