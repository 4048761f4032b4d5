"""Identity hardening: per-user token version, login attempt counters (security issue M1-M3).

* ``users.token_version``: every access token carries it (claim ``ver``); deactivation, a role
  or outlet change, a password reset, logout and refresh-token reuse raise it, which ends
  the user's access tokens at once (hub.identity).
* ``users.email`` is unique per tenant, not across tenants: a 409 on another tenant's email
  told one tenant who has an account in another.
* ``login_attempts`` replaces ``login_failures``: one counter row per (client IP, account)
  pair and per client IP, reserved under a row lock before the password is checked, so
  parallel guesses cannot overrun the limit (replicas share it through the database).

Revision ID: 0310_identity
Revises: 0300_pin_verifiers
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0310_identity'
down_revision = '0300_pin_verifiers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.drop_constraint('uq_users_email', type_='unique')
        batch_op.create_unique_constraint('uq_users_tenant_email', ['tenant_id', 'email'])
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=False)

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_key_at')
    op.drop_table('login_failures')
    op.create_table('login_attempts',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_last_at'), ['last_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        role = op.get_context().config.attributes.get("app_role", "pos_hub_app")
        if not role.replace("_", "").isalnum():
            raise ValueError(f"invalid role name {role!r}")
        # A system table like login_failures was (no tenant, no RLS); granted explicitly.
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON login_attempts TO "{role}"')


def downgrade() -> None:
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_last_at'))
    op.drop_table('login_attempts')
    op.create_table('login_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_key_at', ['key', 'at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email'))
        batch_op.drop_constraint('uq_users_tenant_email', type_='unique')
        batch_op.create_unique_constraint('uq_users_email', ['email'])
        batch_op.drop_column('token_version')
