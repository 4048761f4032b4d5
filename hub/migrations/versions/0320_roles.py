"""Database roles: the app connects as a non-owner role; RLS bypass only for the system role (M4).

Until now every policy also let a row through when ``app.bypass_rls`` was ``'on'``, a setting
any session may set, and the hub reached its RLS-bound role by ``SET ROLE`` from the table
owner, which ``RESET ROLE`` undid. This revision rewrites every ``tenant_isolation`` policy
(``hub.db.tenant_rls_sql``) to ``tenant_id = current_setting('app.tenant_id', true)`` alone,
so only a role with BYPASSRLS sees past it: the system role, which the DBA creates with that
attribute (docs/operations.md, "Database"). The old ``SET ROLE`` target ``pos_hub_app``, when
present and not one of the configured login roles, loses what the earlier revisions granted it.

The login roles' grants (app and system: DML on every table, read and insert only on the
immutable ones, read only on ``alembic_version``) are not made here but by every
``pos-hub migrate`` after the last revision (``hub.db.grant_sql`` from migrations/env.py), so
a role created or renamed after this upgrade gets them at the next run. Nothing here swallows
an error: a statement that fails fails the migration.

Downgrade puts the bypass back into the policies.

Revision ID: 0320_roles
Revises: 0310_identity
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0320_roles'
down_revision = '0310_identity'
branch_labels = None
depends_on = None

LEGACY_APP_ROLE = "pos_hub_app"
_OLD_BYPASS = "app.bypass_rls"


def _policy_tables() -> list[str]:
    return list(op.get_bind().execute(sa.text(
        "SELECT tablename FROM pg_policies WHERE schemaname = current_schema()"
        " AND policyname = 'tenant_isolation' ORDER BY tablename")).scalars())


def _tenant_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from hub.db import tenant_rls_sql

    for table in _policy_tables():
        for statement in tenant_rls_sql(table, _tenant_column(table)):
            op.execute(statement)
    grant_to = op.get_context().config.attributes.get("grant_to", ())
    legacy_exists = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": LEGACY_APP_ROLE}
    ).scalar()
    if legacy_exists and LEGACY_APP_ROLE not in grant_to:
        q = f'"{LEGACY_APP_ROLE}"'
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {q}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {q}")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {q}")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {q}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _policy_tables():
        column = _tenant_column(table)
        rule = (f"(\"{column}\" = current_setting('app.tenant_id', true) "
                f"OR current_setting('{_OLD_BYPASS}', true) = 'on')")
        op.execute(f'DROP POLICY tenant_isolation ON "{table}"')
        op.execute(f'CREATE POLICY tenant_isolation ON "{table}" USING {rule} WITH CHECK {rule}')
