"""Alembic environment of the hub: synchronous driver, URL passed in by hub.db.run_migrations.

On PostgreSQL the whole upgrade holds an advisory lock, so hub replicas that start at the
same time migrate one after the other (the second finds nothing to do).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from hub.db import MIGRATION_LOCK_KEY
from hub.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        is_postgres = connection.dialect.name == "postgresql"
        if is_postgres:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=not is_postgres, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if is_postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": MIGRATION_LOCK_KEY})
                connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run pos-hub migrate")
run_migrations_online()
