"""The hub's database access: engines, sessions, tenant isolation and migrations.

SQLAlchemy 2.x **async** (asyncpg on PostgreSQL, aiosqlite on SQLite). The app keeps one
``Database`` in ``app.state.db``; everything else gets it from there (or from the ``db``
dependency).

The rule — which session to open:

* ``async with db.tenant(tenant_id) as session:`` for everything done on behalf of an
  authenticated principal. ``tenant_id`` comes from the verified token, never from a header
  or body. Each transaction of that session starts with
  ``set_config('app.tenant_id', <tenant>, true)``; PostgreSQL Row-Level Security policies on
  every tenant table (FORCE'd, and the hub runs as a role without BYPASSRLS) then hide all
  other tenants' rows, even from a raw ``SELECT * FROM orders``. On both backends the session
  also adds ``tenant_id = <tenant>`` to every ORM select/update/delete, so SQLite (which has
  no RLS) gets the same behaviour for ORM queries. Writes with another tenant's id are
  rejected by the policy's WITH CHECK on PostgreSQL.
* ``async with db.system() as session:`` only where no tenant is known yet or the work spans
  tenants: login and refresh-token lookup (by email / token digest), an outlet authenticating
  its sync credential (then switch to ``db.tenant(outlet.tenant_id)``), CLI tenant creation,
  scheduled jobs. It sets ``app.bypass_rls = 'on'`` for its transactions. Code reached from a
  tenant's request must not open it.

Both context managers commit when the block ends normally and roll back on an exception.

Migrations (Alembic, ``hub/migrations``) run with a synchronous driver (psycopg / sqlite3)
via ``run_migrations(url)``; on PostgreSQL they hold an advisory lock so several replicas
starting together migrate once. ``tenant_rls_sql(table)`` gives the SQL a migration runs to
put a new tenant table under RLS.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from hub.models import TenantOwned

__all__ = [
    "BYPASS_SETTING",
    "TENANT_SETTING",
    "Database",
    "async_url",
    "is_postgres",
    "run_migrations",
    "sync_url",
    "tenant_rls_sql",
]

log = logging.getLogger("hub.db")

TENANT_SETTING = "app.tenant_id"
BYPASS_SETTING = "app.bypass_rls"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant: the advisory lock key that serializes migrations across replicas.
MIGRATION_LOCK_KEY = 72_001_001


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def async_url(url: str) -> str:
    """The URL with the async driver the hub runs on (asyncpg / aiosqlite)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use postgresql://... or sqlite:///...")


def sync_url(url: str) -> str:
    """The URL with a synchronous driver (psycopg / sqlite3), for migrations and tools."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use postgresql://... or sqlite:///...")


def _quote_ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"invalid SQL identifier {name!r}")
    return '"' + name + '"'


def tenant_rls_sql(table: str, column: str = "tenant_id") -> list[str]:
    """Statements that put ``table`` under Row-Level Security keyed on ``app.tenant_id``."""
    t, c = _quote_ident(table), _quote_ident(column)
    rule = (f"({c} = current_setting('{TENANT_SETTING}', true) "
            f"OR current_setting('{BYPASS_SETTING}', true) = 'on')")
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        # FORCE: the table owner (who runs migrations) is subject to the policy too.
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {t}",
        f"CREATE POLICY tenant_isolation ON {t} USING {rule} WITH CHECK {rule}",
    ]


class _SessionKind:
    TENANT = "tenant"
    SYSTEM = "system"


@event.listens_for(Session, "after_begin")
def _scope_transaction(session: Session, transaction: Any, connection: Any) -> None:
    """Every transaction of a scoped session starts by stating whose data it may see."""
    kind = session.info.get("kind")
    if connection.dialect.name != "postgresql" or kind is None:
        return
    if kind == _SessionKind.TENANT:
        connection.execute(text("SELECT set_config(:name, :value, true)"),
                           {"name": TENANT_SETTING, "value": session.info["tenant_id"]})
    elif kind == _SessionKind.SYSTEM:
        connection.execute(text("SELECT set_config(:name, 'on', true)"), {"name": BYPASS_SETTING})


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    """Add ``tenant_id = :tenant`` to ORM statements of a tenant session (both backends)."""
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id,
                                 include_aliases=True))


class Database:
    """One async engine plus the two kinds of session described in the module docstring."""

    def __init__(self, url: str, app_role: str = "pos_hub_app", pool_size: int = 10,
                 echo: bool = False) -> None:
        self.url = url
        self.is_postgres = is_postgres(url)
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": False}
        if self.is_postgres:
            options.update(pool_size=pool_size, max_overflow=pool_size)
        else:
            options.update(connect_args={"timeout": 30})
        self.engine: AsyncEngine = create_async_engine(async_url(url), **options)
        if self.is_postgres:
            self._install_role_switch(app_role)
        else:
            self._install_sqlite_pragmas()
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def _install_role_switch(self, role: str) -> None:
        if not role:
            return
        statement = f"SET ROLE {_quote_ident(role)}"

        @event.listens_for(self.engine.sync_engine, "connect")
        def _switch_role(dbapi_connection: Any, _record: Any) -> None:
            # Session-level, committed at once so the pool's rollback-on-return keeps it.
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
            dbapi_connection.commit()

    def _install_sqlite_pragmas(self) -> None:
        @event.listens_for(self.engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(self.engine.sync_engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # Take the write lock up front: deferred transactions that later write can
            # deadlock each other, and busy_timeout does not help with that.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @asynccontextmanager
    async def tenant(self, tenant_id: str) -> AsyncIterator[AsyncSession]:
        """A session that sees only ``tenant_id``'s rows; commits at the end of the block."""
        if not tenant_id:
            raise ValueError("tenant_id is required for a tenant session")
        async with self._sessions() as session:
            session.info.update(kind=_SessionKind.TENANT, tenant_id=tenant_id)
            async with session.begin():
                yield session

    @asynccontextmanager
    async def system(self) -> AsyncIterator[AsyncSession]:
        """A session that sees every tenant (login, ingest authentication, jobs, CLI)."""
        async with self._sessions() as session:
            session.info.update(kind=_SessionKind.SYSTEM)
            async with session.begin():
                yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def run_migrations(url: str, app_role: str = "pos_hub_app", revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` (synchronous; Alembic)."""
    from alembic import command
    from alembic.config import Config

    if not is_postgres(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = sync_url(url)
    config.attributes["app_role"] = app_role
    command.upgrade(config, revision)
