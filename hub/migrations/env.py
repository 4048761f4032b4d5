"""Alembic environment of the hub: synchronous driver, URL passed in by hub.db.run_migrations.

On PostgreSQL the whole upgrade holds an advisory lock, so hub replicas that start at the
same time migrate one after the other (the second finds nothing to do). The revisions and the
grants to the login roles (``hub.db.grant_sql``, re-asserted on every run so a role set up
after an upgrade still gets them) are one transaction: any failed statement raises and
leaves the database as it was.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from hub.db import MIGRATION_LOCK_KEY, grant_sql
from hub.models import Base

config = context.config
target_metadata = Base.metadata

# Grants need the owner; a login role finding the schema up to date has nothing to grant.
_OWNS_SCHEMA = text("""
    SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables
    WHERE schemaname = current_schema() AND tablename = 'alembic_version'""")


def run_migrations_online() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        is_postgres = connection.dialect.name == "postgresql"
        grant_to: list[str] = []
        if is_postgres:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            me = connection.execute(text("SELECT current_user")).scalar_one()
            connection.commit()  # alembic must find no open transaction: it commits its own
            grant_to = [role for role in config.attributes.get("grant_to", ()) if role != me]
            # Revisions up to 0310 grant their new tables to this name themselves.
            config.attributes["app_role"] = grant_to[0] if grant_to else me
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=not is_postgres, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
                if is_postgres and connection.execute(_OWNS_SCHEMA).scalar():
                    for statement in grant_sql(grant_to):
                        connection.execute(text(statement))
        finally:
            if is_postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": MIGRATION_LOCK_KEY})
                connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run pos-hub migrate")
run_migrations_online()
