"""Sync engine tables: enrollment codes, sync credentials, journal, cursors, quarantine, alarms.

Each is tenant-owned and put under FORCE'd Row-Level Security on PostgreSQL, like the tables
of 0001_initial (the app role's grants come from 0001's default privileges).

Revision ID: 0100_sync
Revises: 0001_initial
Create Date: 2026-11-29 04:43:44.818902
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0100_sync'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enrollment_codes',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('device_key_digest', sa.String(length=64), nullable=True),
    sa.Column('credential_id', sa.String(length=64), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_enrollment_codes_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_enrollment_codes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment_codes')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_enrollment_codes_code_digest'))
    )
    with op.batch_alter_table('enrollment_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_codes_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollment_codes_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sync_alarms',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_sync_alarms_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_alarms_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_alarms'))
    )
    with op.batch_alter_table('sync_alarms', schema=None) as batch_op:
        batch_op.create_index('ix_sync_alarms_outlet_created', ['outlet_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_alarms_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sync_credentials',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('secret_digest', sa.String(length=64), nullable=False),
    sa.Column('enrollment_code_id', sa.String(length=64), nullable=True),
    sa.Column('device_key_digest', sa.String(length=64), nullable=True),
    sa.Column('hostname', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_sync_credentials_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_credentials_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_credentials')),
    sa.UniqueConstraint('secret_digest', name=op.f('uq_sync_credentials_secret_digest'))
    )
    with op.batch_alter_table('sync_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_credentials_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_credentials_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sync_cursors',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('epoch', sa.String(length=64), nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_sync_cursors_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_cursors_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', 'epoch', name=op.f('pk_sync_cursors'))
    )
    with op.batch_alter_table('sync_cursors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_cursors_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sync_journal',
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('epoch', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('wire_version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_sync_journal_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_journal_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('outlet_id', 'epoch', 'seq', name=op.f('pk_sync_journal'))
    )
    with op.batch_alter_table('sync_journal', schema=None) as batch_op:
        batch_op.create_index('ix_sync_journal_outlet_event', ['outlet_id', 'event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_journal_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_sync_journal_tenant_received', ['tenant_id', 'received_at'], unique=False)

    op.create_table('sync_quarantine',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('outlet_id', sa.String(length=64), nullable=False),
    sa.Column('epoch', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False, server_default=''),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_sync_quarantine_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_quarantine_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_quarantine')),
    sa.UniqueConstraint('outlet_id', 'epoch', 'seq', name='uq_sync_quarantine_event')
    )
    with op.batch_alter_table('sync_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_quarantine_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_quarantine_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _isolate_tenants()


def downgrade() -> None:
    with op.batch_alter_table('sync_quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_quarantine_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_sync_quarantine_outlet_id'))

    op.drop_table('sync_quarantine')
    with op.batch_alter_table('sync_journal', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_journal_tenant_received')
        batch_op.drop_index(batch_op.f('ix_sync_journal_tenant_id'))
        batch_op.drop_index('ix_sync_journal_outlet_event')

    op.drop_table('sync_journal')
    with op.batch_alter_table('sync_cursors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_cursors_tenant_id'))

    op.drop_table('sync_cursors')
    with op.batch_alter_table('sync_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_credentials_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_sync_credentials_outlet_id'))

    op.drop_table('sync_credentials')
    with op.batch_alter_table('sync_alarms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_alarms_tenant_id'))
        batch_op.drop_index('ix_sync_alarms_outlet_created')

    op.drop_table('sync_alarms')
    with op.batch_alter_table('enrollment_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollment_codes_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_enrollment_codes_outlet_id'))

    op.drop_table('enrollment_codes')


# Kept as a literal list: a migration must not change when the models change later.
SYNC_TENANT_TABLES = ["enrollment_codes", "sync_credentials", "sync_cursors", "sync_journal",
                      "sync_quarantine", "sync_alarms"]


def _isolate_tenants() -> None:
    from hub.db import tenant_rls_sql

    role = op.get_context().config.attributes.get("app_role", "pos_hub_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"invalid role name {role!r}")
    for table in SYNC_TENANT_TABLES:
        # Default privileges cover tables created by the same role; grant explicitly anyway.
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')
        for statement in tenant_rls_sql(table):
            op.execute(statement)
