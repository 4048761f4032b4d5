"""The hub's database access: engines, sessions, tenant isolation and migrations.

SQLAlchemy 2.x **async** (asyncpg on PostgreSQL, aiosqlite on SQLite). The app keeps one
``Database`` in ``app.state.db``; everything else gets it from there (or from the ``db``
dependency).

The rule — which session to open:

* ``async with db.tenant(tenant_id) as session:`` for everything done on behalf of an
  authenticated principal. ``tenant_id`` comes from the verified token, never from a header
  or body. Each transaction of that session starts with
  ``set_config('app.tenant_id', <tenant>, true)``; PostgreSQL Row-Level Security policies on
  every tenant table (FORCE'd) then hide all other tenants' rows, even from a raw
  ``SELECT * FROM orders``. On both backends the session also adds ``tenant_id = <tenant>``
  to every ORM select/update/delete, so SQLite (which has no RLS) gets the same behaviour for
  ORM queries. Writes with another tenant's id are rejected by the policy's WITH CHECK on
  PostgreSQL.
* ``async with db.tenant(tenant_id, readonly=True) as session:`` for reads that tolerate a
  replica's lag (reports, listings, the fleet view, the audit log). The transaction is
  ``READ ONLY`` wherever it runs, so a handler that writes fails on every backend, not only
  on a replica. With ``read_url`` set (a PostgreSQL streaming replica, ``POS_HUB_DB_READ_URL``)
  it runs there, as the same app role under the same RLS policies (a physical replica has
  the primary's roles and policies); without it, on the primary. It stays on the primary
  for a caller who wrote within ``read_your_writes_seconds`` (``ReadRouting``, per process),
  and for every caller while the replica does not answer (retried after a few seconds).
* ``async with db.system() as session:`` only where no tenant is known yet or the work spans
  tenants: login and refresh-token lookup (by email / token digest), an outlet authenticating
  its sync credential (then switch to ``db.tenant(outlet.tenant_id)``), CLI tenant creation,
  scheduled jobs. Code reached from a tenant's request must not open it.

Both context managers commit when the block ends normally and roll back on an exception.

Roles on PostgreSQL (docs/operations.md, "Database"; docs/architecture.md says why):

* the **owner** (``POS_HUB_DB_MIGRATE_URL``) owns the schema and runs the migrations;
* the **app** role (``POS_HUB_DB_URL``) serves tenant sessions: no BYPASSRLS, not the owner
  nor a member of it, so nothing it runs can lift the policies (there is no setting that
  switches them off, and no role it may ``SET ROLE`` to);
* the **system** role (``POS_HUB_DB_SYSTEM_URL``, BYPASSRLS, not the owner) serves system
  sessions from a second, smaller connection pool.

Both login roles get DML on the tables from every ``pos-hub migrate`` (``grant_sql``), never
UPDATE/DELETE on the immutable tables. ``Database.verify_roles()`` (at start-up) refuses an
app login that owns the tables and a system path that cannot see every tenant. A single
superuser URL (development, the test harness's own view) still works: every session then
bypasses RLS and only the ORM filter separates tenants, which start-up logs as a warning.

Migrations (Alembic, ``hub/migrations``) run with a synchronous driver (psycopg / sqlite3)
via ``run_migrations(url, grant_to)``; on PostgreSQL they hold an advisory lock so several
replicas starting together migrate once, and the whole upgrade, grants included, is one
transaction: a failed statement fails the command. ``tenant_rls_sql(table)`` gives the SQL a
migration runs to put a new tenant table under RLS. A data migration that must touch every
tenant's rows runs as the owner, which FORCE'd RLS binds too: it lifts FORCE on that table
for its own transaction (``ALTER TABLE t NO FORCE ROW LEVEL SECURITY`` ... ``FORCE``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import msgspec
from sqlalchemy import DateTime, Executable, Select, bindparam, event, literal_column, select, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.util import greenlet_spawn

from hub.models import TenantOwned, User

if TYPE_CHECKING:
    from hub.settings import HubSettings

__all__ = [
    "IMMUTABLE_TABLES",
    "LOGIN_FACTS_SQL",
    "TENANT_SETTING",
    "CallerNotCurrent",
    "Database",
    "DatabaseRoleError",
    "LoginVerdict",
    "ReadRouting",
    "TenantReader",
    "async_url",
    "grant_sql",
    "is_postgres",
    "judge_logins",
    "login_roles",
    "run_migrations",
    "sync_url",
    "tenant_rls_sql",
]

log = logging.getLogger("hub.db")

TENANT_SETTING = "app.tenant_id"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant: the advisory lock key that serializes migrations across replicas.
MIGRATION_LOCK_KEY = 72_001_001
# Rows written once and never changed: the login roles may read and insert them, no more.
IMMUTABLE_TABLES = ("audit_log", "catalog_versions", "catalog_snapshots")


class DatabaseRoleError(RuntimeError):
    """The PostgreSQL logins would not keep tenants apart (see the module docstring)."""


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


def login_roles(*urls: str) -> list[str]:
    """The PostgreSQL user names of ``urls`` (empty or SQLite URLs skipped), each once."""
    roles = [make_url(url).username for url in urls if url and is_postgres(url)]
    return list(dict.fromkeys(role for role in roles if role))


def _quote_ident(name: str) -> str:
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"invalid SQL identifier {name!r}")
    return '"' + name + '"'


def tenant_rls_sql(table: str, column: str = "tenant_id") -> list[str]:
    """Statements that put ``table`` under Row-Level Security keyed on ``app.tenant_id``."""
    t, c = _quote_ident(table), _quote_ident(column)
    # No escape hatch in the policy: only a role with BYPASSRLS (the system role) sees past it.
    rule = f"({c} = current_setting('{TENANT_SETTING}', true))"
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        # FORCE: the table owner (who runs migrations) is subject to the policy too.
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {t}",
        f"CREATE POLICY tenant_isolation ON {t} USING {rule} WITH CHECK {rule}",
    ]


def grant_sql(roles: Iterable[str]) -> list[str]:
    """What the login roles may do on the hub's tables (run by every migrate, as the owner)."""
    names = ", ".join(_quote_ident(role) for role in dict.fromkeys(roles))
    if not names:
        return []
    return [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {names}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {names}",
        # The schema version is the migrations' business.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {names}",
        *(f"REVOKE UPDATE, DELETE, TRUNCATE ON {_quote_ident(table)} FROM {names}"
          for table in IMMUTABLE_TABLES),
    ]


class _SessionKind:
    TENANT = "tenant"
    SYSTEM = "system"


_SCOPE_SQL = text("SELECT set_config(:name, :value, true)")
# One round trip for both: the tenant, and a transaction that refuses any write.
_SCOPE_READONLY_SQL = text("SELECT set_config(:name, :value, true), "
                           "set_config('transaction_read_only', 'on', true)")


@event.listens_for(Session, "after_begin")
def _scope_transaction(session: Session, transaction: Any, connection: Any) -> None:
    """Every transaction of a tenant session starts by stating whose data it may see."""
    if connection.dialect.name != "postgresql" or session.info.get("kind") != _SessionKind.TENANT:
        return
    connection.execute(_SCOPE_READONLY_SQL if session.info.get("readonly") else _SCOPE_SQL,
                       {"name": TENANT_SETTING, "value": session.info["tenant_id"]})


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


LOGIN_FACTS_SQL = text("""
    SELECT r.rolname, r.rolsuper, r.rolbypassrls,
           EXISTS (SELECT 1 FROM pg_tables t
                   WHERE t.schemaname = current_schema()
                     AND pg_has_role(current_user, t.tableowner, 'MEMBER')) AS can_own
    FROM pg_roles r WHERE r.rolname = current_user""")


@dataclass(frozen=True)
class LoginVerdict:
    status: str  # "ok" | "warn" (a development superuser) | "fail"
    message: str


def judge_logins(app: Any, system: Any | None) -> LoginVerdict:
    """Whether the logins of POS_HUB_DB_URL and POS_HUB_DB_SYSTEM_URL keep tenants apart.

    ``app`` and ``system`` are rows of ``LOGIN_FACTS_SQL`` (``system`` None when the system
    sessions share the app's URL). Used by ``Database.verify_roles`` and ``pos-hub doctor``.
    """
    see = " (docs/operations.md, Database)"
    if app.rolsuper or app.rolbypassrls:
        return LoginVerdict("warn", f"POS_HUB_DB_URL logs in as {app.rolname!r}, which bypasses "
                            "row-level security: only the code keeps tenants apart "
                            "(development only)" + see)
    if app.can_own:
        return LoginVerdict("fail", f"POS_HUB_DB_URL logs in as {app.rolname!r}, which owns "
                            "the hub's tables or can become their owner, and so could lift "
                            "row-level security: log in as the application role and migrate "
                            "with POS_HUB_DB_MIGRATE_URL" + see)
    if system is None:
        return LoginVerdict("fail", f"POS_HUB_DB_URL logs in as {app.rolname!r}, which "
                            "row-level security binds (as it should), but POS_HUB_DB_SYSTEM_URL "
                            "is not set: logins and sync credentials are looked up across "
                            "tenants by the system role" + see)
    if not (system.rolsuper or system.rolbypassrls):
        return LoginVerdict("fail", f"POS_HUB_DB_SYSTEM_URL logs in as {system.rolname!r}, "
                            "which lacks BYPASSRLS: logins would find no account" + see)
    if system.can_own and not system.rolsuper:
        return LoginVerdict("fail", f"POS_HUB_DB_SYSTEM_URL logs in as {system.rolname!r}, "
                            "which owns the hub's tables or can become their owner: give it "
                            "a role of its own" + see)
    return LoginVerdict("ok", f"requests log in as {app.rolname!r} (under row-level "
                        f"security), lookups across tenants as {system.rolname!r}")


def _unique_statement_name() -> str:
    return f"__fnbpos_{uuid.uuid4().hex}__"


class ReadRouting:
    """Where read-only tenant sessions go, shared by every request of one process.

    A caller who wrote is served from the primary for ``window`` seconds after the write
    committed (read-your-writes: a replica may not have replayed it yet). A replica that did
    not answer is left alone for ``retry_seconds``: reads go to the primary meanwhile. The
    marks live in this process only (docs/scaling.md says what that means behind a balancer).
    """

    MAX_WRITERS = 100_000  # bounds the memory of the marks; past it the oldest expire first

    def __init__(self, window: float = 5.0, retry_seconds: float = 5.0) -> None:
        self.window = window
        self.retry_seconds = retry_seconds
        self._writers: dict[str, float] = {}
        self._replica_down_until = 0.0
        # sessions opened: on the replica, on the primary (no replica, or read-your-writes),
        # and on the primary because the replica did not answer (``hub_db_read_sessions_total``)
        self.counts = {"replica": 0, "primary": 0, "fallback": 0}

    def note_write(self, user_id: str) -> None:
        now = time.monotonic()
        if len(self._writers) >= self.MAX_WRITERS:
            self._writers = {k: v for k, v in self._writers.items() if v > now}
            while len(self._writers) >= self.MAX_WRITERS:  # all current: drop the oldest
                del self._writers[next(iter(self._writers))]
        self._writers.pop(user_id, None)  # re-inserted last: dict order is expiry order
        self._writers[user_id] = now + self.window

    def wrote_recently(self, user_id: str | None) -> bool:
        if user_id is None:
            return False
        until = self._writers.get(user_id)
        if until is None:
            return False
        if until <= time.monotonic():
            del self._writers[user_id]
            return False
        return True

    def replica_usable(self) -> bool:
        return time.monotonic() >= self._replica_down_until

    def replica_failed(self) -> None:
        self._replica_down_until = time.monotonic() + self.retry_seconds


class TenantReader:
    """Read-only tenant reads for the hottest listings (``Database.reader``).

    Statements are single SQLAlchemy Core SELECTs built once at import time; ``all`` /
    ``first`` return rows as mappings (column name -> value), in the statement's order.
    Every statement must still name its tenant (``tenant_id = :tenant_id``): on PostgreSQL
    RLS binds too, on SQLite that filter is all there is. ``tenant_id`` is always among the
    parameters. On PostgreSQL each statement sees its own snapshot (as every statement of a
    READ COMMITTED transaction does).
    """

    tenant_id: str

    async def all(self, stmt: Executable, **params: Any) -> list[Mapping[str, Any]]:
        raise NotImplementedError

    async def first(self, stmt: Executable, **params: Any) -> Mapping[str, Any] | None:
        rows = await self.all(stmt, **params)
        return rows[0] if rows else None

    async def set_local(self, settings: Iterable[tuple[str, str]]) -> None:
        """PostgreSQL settings (name, value) for the block's remaining statements, as
        ``SET LOCAL`` in a transaction: the statements are planned with them. Nothing on
        other backends, which have no such settings."""

    async def json_array(self, stmt: Select[Any], item: type[msgspec.Struct], *,
                         keep: tuple[str, Iterable[str]] | None = None, **params: Any) -> bytes:
        """The rows of ``stmt``, in its order, as a JSON array of ``item`` (UTF-8 bytes).

        ``stmt`` selects exactly ``item``'s fields, by name. ``keep`` (column, values): only
        the rows whose column holds one of the values (an area manager's outlets). The bytes
        decode to what ``msgspec.json.encode([item(**row), ...])`` gives, times in UTC as
        ``...Z`` included: on PostgreSQL the database renders them (``_PgReader``: no rows
        decoded, no structs built), elsewhere Python does.
        """
        rows = await self.all(stmt, **params)
        if keep is not None:
            column, values = keep[0], frozenset(keep[1])
            rows = [row for row in rows if row[column] in values]
        return msgspec.json.encode([item(**row) for row in rows])


class _SessionReader(TenantReader):
    """SQLite (and any non-PostgreSQL backend): a read-only tenant session underneath."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session, self.tenant_id = session, tenant_id

    async def all(self, stmt: Executable, **params: Any) -> list[Mapping[str, Any]]:
        result = await self.session.execute(stmt, {"tenant_id": self.tenant_id, **params})
        return list(result.mappings().all())


class CallerNotCurrent(Exception):
    """The caller's user no longer exists, is inactive, or holds another token version."""


# Whether the caller is current (hub.identity.check_current, as a Core statement).
_CALLER_ROWS = (select(User.__table__.c.token_version, User.__table__.c.active)
                .where(User.__table__.c.id == bindparam("user_id"),
                       User.__table__.c.tenant_id == bindparam("tenant_id")))


async def _check_caller(reader: TenantReader, caller: tuple[str, int]) -> None:
    row = await reader.first(_CALLER_ROWS, user_id=caller[0])
    if row is None or not row["active"] or row["token_version"] != caller[1]:
        raise CallerNotCurrent


# (statement, dialect name) -> (SQL text with $n placeholders, the parameter names in order)
_COMPILED: dict[tuple[Executable, str], tuple[str, tuple[str, ...]]] = {}


def _compiled(stmt: Executable, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    key = (stmt, dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        compiled = stmt.compile(dialect=dialect)
        found = (str(compiled), tuple(compiled.positiontup or ()))
        if len(_COMPILED) < 1024:  # statements are module constants: a handful
            _COMPILED[key] = found
    return found


# The statement of ``_PgReader``'s round trip when the handler ran none: the caller check
# and one constant row (a statement PostgreSQL can prove empty would skip the check).
_ONE_ROW = select(literal_column("1").label("one"))
# A marker no data could produce: the caller check fails with it (see ``_wrapped``).
_ENDED = "fnbpos_caller_not_current"
_WRAPPED: dict[tuple[str, int, bool], str] = {}


def _wrapped(sql: str, params: int, check: bool) -> str:
    """``sql`` (``params`` parameters) as one statement that first sets the tenant.

    The set_config is in a subquery PostgreSQL may neither flatten (OFFSET 0) nor run after
    the statement: the statement is a LATERAL subquery that reads its result, so it is the
    inner side of a nested loop, scanned (RLS policies evaluated) only once the tenant is
    set. ``check``: the caller's user row must exist, be active and hold the token's
    version, or the cast fails with ``_ENDED`` and the statement returns nothing. Only a
    SELECT fits in a FROM subquery, so the wrapped statement cannot write. The outer side
    of the nested loop is one row, so the rows come in the statement's own order.
    """
    key = (sql, params, check)
    found = _WRAPPED.get(key)
    if found is None:
        tenant = f"${params + 1}"
        found = (f"SELECT q.* FROM (SELECT set_config('{TENANT_SETTING}', {tenant}::text, true)"
                 " AS tenant OFFSET 0) AS s")
        if check:
            found += (f" CROSS JOIN LATERAL (SELECT CASE WHEN count(*) = 1 THEN 1 ELSE"
                      f" ('{_ENDED} ' || count(*))::int END AS current FROM users"
                      f" WHERE id = ${params + 2}::text AND tenant_id = s.tenant AND active"
                      f" AND token_version = ${params + 3}::int) AS c")
        # reading c too puts the check before the statement, so even an empty result
        # reports a caller who is not current
        found += (f" CROSS JOIN LATERAL (SELECT * FROM ({sql}) AS i WHERE s.tenant IS NOT NULL"
                  f"{' AND c.current = 1' if check else ''} OFFSET 0) AS q")
        if len(_WRAPPED) < 1024:
            _WRAPPED[key] = found
    return found


# (statement, item, keep column, dialect) -> (SQL that renders the rows as one JSON text, names)
_JSON: dict[tuple[Any, ...], tuple[str, tuple[str, ...]]] = {}
# A UTC time as msgspec writes it: seconds, then microseconds only when there are any, "Z".
_ISO_UTC = ("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN"
            " date_part('microseconds', {c})::int % 1000000 = 0 THEN '' ELSE"
            " to_char({c} AT TIME ZONE 'UTC', '.US') END || 'Z'")


def _json_sql(stmt: Select[Any], item: type[msgspec.Struct], keep: str | None,
              dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """``stmt`` as one statement whose one row holds its rows as a JSON array of ``item``
    (``TenantReader.json_array``): ``json_agg`` over the ordered statement, which keeps its
    order (the aggregate reads the subquery's rows as they come, as PostgREST relies on).
    With ``keep``, one more parameter after the statement's: a text array of the values."""
    key = (stmt, item, keep, dialect.name)
    found = _JSON.get(key)
    if found is not None:
        return found
    sql, names = _compiled(stmt, dialect)
    columns = {c.key: c for c in stmt.selected_columns}
    if set(columns) != set(item.__struct_fields__) or len(columns) > 50:
        raise ValueError(f"the statement must select exactly {item.__name__}'s fields")
    pairs = []
    for name in item.__struct_fields__:  # the struct's order, as msgspec writes it
        column = f"r.{_quote_ident(name)}"
        kind = getattr(columns[name].type, "impl", columns[name].type)
        value = _ISO_UTC.format(c=column) if isinstance(kind, DateTime) else column
        pairs.append(f"'{name}', {value}")
    found = (f"SELECT coalesce(json_agg(json_build_object({', '.join(pairs)})), '[]')::text"
             f" AS body FROM ({sql}) AS r")
    if keep is not None:
        found += f" WHERE r.{_quote_ident(keep)} = ANY(${len(names) + 1}::text[])"
    found = (found, names)
    if len(_JSON) < 1024:
        _JSON[key] = found
    return found


class _PgReader(TenantReader):
    """PostgreSQL: asyncpg directly on a pooled connection, no ORM, no SQLAlchemy session;
    the block of ``Database.reader`` itself (an async context manager).

    Each statement is one round trip that sets its tenant itself (``_wrapped``) and, for the
    first one, checks the caller; asyncpg keeps it prepared per connection. Outside a
    transaction (the default) each runs as its own implicit transaction, so the tenant
    setting ends with it, exactly as at a COMMIT; behind PgBouncer they run inside
    ``BEGIN READ ONLY`` ... ``COMMIT`` (a statement's parse and execution must reach the
    same server connection). On a replica whose connection turns out dead before anything
    was read (a pooled connection of a replica that restarted), the read moves to the
    primary, as ``Database.tenant(readonly=True)`` does.

    The connection comes from the engine's pool, or from the few the reads keep between
    blocks (``Database.parked``): a clean connection is kept there rather than given back,
    so the next read skips the pool's check-out and check-in (a tenth of a read's CPU).
    """

    def __init__(self, db: Database, engine: AsyncEngine, tenant_id: str,
                 caller: tuple[str, int] | None, *, begin: str | None = "BEGIN READ ONLY"
                 ) -> None:
        self.db, self.engine, self.dialect = db, engine, engine.dialect
        self.tenant_id = tenant_id
        # behind PgBouncer, what opens the block's transaction (committed at its end); None
        # for a block that opens its own (``Database.writer``) or one per statement
        # (``Database.system_statement``)
        self.begin = begin if db.pgbouncer else None
        self.caller = caller  # checked by the next statement
        self.fairy: Any = None
        self.connection: Any = None
        self.answered = False  # once a statement answered, the read stays where it is

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> None:
        failed = exc
        try:
            if exc is None:
                await self.check_pending()
                await self.commit()
            elif isinstance(exc, Exception) and not isinstance(exc, SQLAlchemyError):
                # as on the ORM path: a session that ended is told so first, whatever the
                # handler refused (403, 404) before reading anything
                await self.check_pending()
        except BaseException as error:
            failed = error
            raise
        finally:
            await self.release(failed)

    async def open(self) -> None:
        parked = self.db.parked.get(self.engine)
        while parked:
            fairy = parked.pop()
            if not fairy.driver_connection.is_closed():
                self.fairy = fairy
                break
            await greenlet_spawn(fairy.invalidate)  # closed while kept: the pool forgets it
        else:
            try:
                self.fairy = await self._checkout()
            except (OSError, SQLAlchemyError, TimeoutError):
                if self.engine is self.db.engine:
                    raise
                self.engine = self.db._replica_failed()
                self.fairy = await self._checkout()
        self.connection = self.fairy.driver_connection
        if self.begin is not None:
            try:
                await self._run("execute", self.begin)
            except Exception as exc:
                raise _translated(exc, "BEGIN") from exc

    async def _checkout(self) -> Any:
        """A pooled connection; a refused one raised as ``Engine.connect`` would (a
        SQLAlchemy ``DBAPIError``: SQLSTATE 53300 is then a 503 ``busy``, not a 500)."""
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            return await self.engine.raw_connection()
        except dbapi_error as exc:
            raise DBAPIError.instance(None, None, exc, dbapi_error,
                                      dialect=self.engine.dialect) from exc

    async def _run(self, method: str, *args: Any) -> Any:
        """``connection.<method>(*args)``, moved once to the primary if the connection is a
        dead replica connection."""
        try:
            return await getattr(self.connection, method)(*args)
        except Exception as exc:
            if self.answered or self.engine is self.db.engine or not _connection_lost(exc):
                raise
        await self.release(None, drop=True)
        self.engine = self.db._replica_failed()
        await self.open()
        return await getattr(self.connection, method)(*args)

    async def all(self, stmt: Executable, **params: Any) -> list[Mapping[str, Any]]:
        sql, names = _compiled(stmt, self.dialect)
        params["tenant_id"] = self.tenant_id
        return await self._fetch("fetch", sql, [params[name] for name in names])  # type: ignore[no-any-return]

    async def set_local(self, settings: Iterable[tuple[str, str]]) -> None:
        """``SET LOCAL`` needs a transaction: outside one (no PgBouncer) the block's
        statements from here on run in a ``BEGIN READ ONLY`` opened with the settings, in
        one round trip, and committed at the block's end (each statement still takes its
        own snapshot, READ COMMITTED). The settings end with that transaction, so a parked
        connection is clean again."""
        sets = "; ".join(f"SET LOCAL {name} = '{value}'" for name, value in settings)
        if self.connection.is_in_transaction():
            await _driver(self.connection.execute(sets), sets)
            return
        await self._run("execute", f"BEGIN READ ONLY; {sets}")
        self.begin = "BEGIN READ ONLY"  # so ``commit`` ends it

    async def json_array(self, stmt: Select[Any], item: type[msgspec.Struct], *,
                         keep: tuple[str, Iterable[str]] | None = None, **params: Any) -> bytes:
        sql, names = _json_sql(stmt, item, keep[0] if keep else None, self.dialect)
        params["tenant_id"] = self.tenant_id
        args = [params[name] for name in names]
        if keep is not None:
            args.append(list(keep[1]))
        body: str = await self._fetch("fetchval", sql, args)
        return body.encode()

    async def _fetch(self, method: str, sql: str, args: list[Any]) -> Any:
        """``sql`` wrapped to set the tenant (and check the caller, the first time)."""
        caller, self.caller = self.caller, None
        wrapped = _wrapped(sql, len(args), caller is not None)
        args.append(self.tenant_id)
        if caller is not None:
            args += caller
        try:
            found = await self._run(method, wrapped, *args)
        except Exception as exc:
            if caller is not None and _ENDED in str(exc):
                raise CallerNotCurrent from exc
            raise _translated(exc, sql) from exc
        self.answered = True
        return found

    async def plain(self, method: str, sql: str, *args: Any) -> Any:
        """``connection.<method>(sql, *args)`` as written: no tenant setting, no caller
        check (the system connection's few statements of ``Database.system_statement``).
        Its own transaction: an implicit one, or behind PgBouncer ``BEGIN`` ... ``COMMIT``
        (asyncpg's parse and execution are two round trips, which must reach the same
        server connection; read-write, as a statement may write)."""
        if not self.db.pgbouncer:
            try:
                found = await self._run(method, sql, *args)
            except Exception as exc:
                raise _translated(exc, sql) from exc
            self.answered = True
            return found
        await _driver(self.connection.execute("BEGIN"), "BEGIN")
        try:
            found = await getattr(self.connection, method)(sql, *args)
        except Exception as exc:
            if self.connection.is_in_transaction():
                # the next statement of the block starts clean (else ``release`` drops it)
                with suppress(Exception):
                    await self.connection.execute("ROLLBACK")
            raise _translated(exc, sql) from exc
        await _driver(self.connection.execute("COMMIT"), "COMMIT")
        self.answered = True
        return found

    async def check_pending(self) -> None:
        """The caller check, if no statement has made it yet."""
        if self.caller is not None:
            await self.all(_ONE_ROW)

    async def commit(self) -> None:
        if self.begin is not None:
            await _driver(self.connection.execute("COMMIT"), "COMMIT")

    async def release(self, failed: BaseException | None, *, drop: bool = False) -> None:
        """Return the connection to its pool with no transaction open, or drop it.

        The driver was used behind SQLAlchemy's back, so the pool's own reset would not end
        a transaction begun there: it is rolled back here, and a connection that was
        cancelled mid-statement, closed or cannot roll back is dropped instead of pooled.
        """
        fairy, connection, self.fairy, self.connection = self.fairy, self.connection, None, None
        if fairy is None:
            return
        drop = (drop or (failed is not None and not isinstance(failed, Exception))
                or connection.is_closed())
        if not drop and connection.is_in_transaction():
            try:
                await connection.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 (whatever it is, the connection is dropped)
                drop = True
        if drop:
            connection.terminate()  # at once, even mid-statement
            # invalidate() forgets the connection and gives its slot back to the pool
            await greenlet_spawn(fairy.invalidate, failed if isinstance(failed, Exception)
                                 else None)
            return
        parked = self.db.parked.setdefault(self.engine, [])
        if len(parked) < self.db.park_max and not _pool_exhausted(self.engine.pool):
            parked.append(fairy)  # clean: no transaction, no tenant setting
        else:
            await greenlet_spawn(fairy.close)


def _pool_exhausted(pool: Any) -> bool:
    """Every connection the pool may open is out, so requests may be waiting in its queue.
    A connection parked then would pass them by: the next fast read or push takes a parked
    one before the pool's queue is served, and under load the queue starved (pushes of a
    fleet waited up to the whole run, p99 12x p50). Given back instead, it goes to the
    longest waiter."""
    size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", None)
    if size is None or overflow is None or overflow < 0:
        return False  # not a QueuePool, or no limit
    return bool(pool.checkedout() >= size() + overflow)


def _connection_lost(exc: Exception) -> bool:
    """The connection is gone (closed, reset, the server shutting down), not the SQL wrong."""
    sqlstate = str(getattr(exc, "sqlstate", None) or "")
    if sqlstate:
        return sqlstate.startswith(("08", "57P"))
    return isinstance(exc, OSError | TimeoutError) or "asyncpg" in type(exc).__module__


async def _driver(call: Any, statement: str) -> Any:
    try:
        return await call
    except Exception as exc:
        raise _translated(exc, statement) from exc


def _translated(exc: Exception, statement: str) -> Exception:
    """asyncpg's own errors as SQLAlchemy's, so the API maps them as on the ORM path
    (``hub.api.deps``: SQLSTATE 22 -> 400, 53/57P -> 503, a lost connection -> 503)."""
    if isinstance(exc, SQLAlchemyError):
        return exc
    if getattr(exc, "sqlstate", None):
        return DBAPIError(statement, None, exc)
    if isinstance(exc, OSError | TimeoutError) or "asyncpg" in type(exc).__module__:
        # connection lost, closed or refused: nothing to roll back, the pool drops it
        return OperationalError(statement, None, exc, connection_invalidated=True)
    return exc


class Database:
    """The engines and the kinds of session described in the module docstring.

    ``url`` serves tenant sessions; ``system_url`` (PostgreSQL only) serves system sessions
    from a second pool half the size. Without it, system sessions use ``url`` too: right for
    SQLite and for a development superuser, refused at start-up for an app role.
    ``read_url`` (PostgreSQL only: a streaming replica, as the app role) serves read-only
    tenant sessions from a pool of ``pool_size``; without it they use ``url``.
    """

    READ_CONNECT_TIMEOUT = 3.0  # a replica that does not answer costs a read this, then is skipped

    def __init__(self, url: str, system_url: str | None = None, pool_size: int = 10,
                 echo: bool = False, read_url: str | None = None,
                 read_your_writes_seconds: float = 5.0, pgbouncer: bool = False) -> None:
        self.url = url
        self.is_postgres = is_postgres(url)
        self.pgbouncer = pgbouncer
        self.engine: AsyncEngine = self._create_engine(url, pool_size, echo)
        self.system_engine = self.engine
        if system_url and system_url != url:
            if not (self.is_postgres and is_postgres(system_url)):
                raise ValueError("a separate system database URL needs PostgreSQL for both URLs")
            self.system_engine = self._create_engine(system_url, max(2, pool_size // 2), echo)
        self.read_engine = self.engine
        if read_url and read_url != url:
            if not (self.is_postgres and is_postgres(read_url)):
                raise ValueError("a read replica URL needs PostgreSQL for both URLs")
            self.read_engine = self._create_engine(read_url, pool_size, echo,
                                                   connect_timeout=self.READ_CONNECT_TIMEOUT)
        self.reads = ReadRouting(read_your_writes_seconds)
        # Connections the fast reads keep checked out between blocks, per engine (_PgReader):
        # at most half the pool, so sessions keep the other half and the overflow.
        self.parked: dict[AsyncEngine, list[Any]] = {}
        self.park_max = pool_size // 2
        # Health checks get a connection of their own (``ping``); it opens on the first one.
        self._health_engine: AsyncEngine | None = None
        if self.is_postgres:
            self._health_engine = create_async_engine(
                async_url(url), pool_size=1, max_overflow=0, pool_timeout=10,
                connect_args=self._connect_args(10))
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._system_sessions = async_sessionmaker(self.system_engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def has_replica(self) -> bool:
        return self.read_engine is not self.engine

    @classmethod
    def from_settings(cls, settings: HubSettings, pool_size: int | None = None) -> Database:
        """The database of ``settings`` (``db_url``, ``db_system_url``, ``db_read_url``)."""
        return cls(settings.resolved_db_url(), system_url=settings.db_system_url or None,
                   pool_size=pool_size or settings.db_pool_size,
                   read_url=settings.db_read_url or None,
                   read_your_writes_seconds=settings.read_your_writes_seconds,
                   pgbouncer=settings.db_pgbouncer)

    def engines(self) -> dict[str, AsyncEngine]:
        """Each distinct engine by the role it serves ("app", "system", "read")."""
        found = {"app": self.engine}
        if self.system_engine is not self.engine:
            found["system"] = self.system_engine
        if self.has_replica:
            found["read"] = self.read_engine
        return found

    def _create_engine(self, url: str, pool_size: int, echo: bool,
                       connect_timeout: float | None = None) -> AsyncEngine:
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": False}
        if self.is_postgres:
            options.update(pool_size=pool_size, max_overflow=pool_size,
                           connect_args=self._connect_args(connect_timeout))
        else:
            options.update(connect_args={"timeout": 30})
        engine = create_async_engine(async_url(url), **options)
        if not self.is_postgres:
            self._install_sqlite_pragmas(engine)
        return engine

    def _connect_args(self, timeout: float | None) -> dict[str, Any]:
        """asyncpg's options. Behind PgBouncer in transaction mode a server connection serves
        another client after each transaction, so prepared statements cannot outlive one:
        no statement caches, and a name no other connection uses for each statement."""
        args: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        if self.pgbouncer:
            args.update(statement_cache_size=0, prepared_statement_cache_size=0,
                        prepared_statement_name_func=_unique_statement_name)
        return args

    @staticmethod
    def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # Take the write lock up front: deferred transactions that later write can
            # deadlock each other, and busy_timeout does not help with that.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @asynccontextmanager
    async def tenant(self, tenant_id: str, *, readonly: bool = False,
                     user_id: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session that sees only ``tenant_id``'s rows; commits at the end of the block.

        ``readonly``: a read-only transaction, on the replica when there is one (unless
        ``user_id`` wrote recently, or the replica does not answer).
        """
        if not tenant_id:
            raise ValueError("tenant_id is required for a tenant session")
        info = {"kind": _SessionKind.TENANT, "tenant_id": tenant_id, "readonly": readonly}
        session = await self._replica_session(info, user_id) if readonly else None
        if session is None:
            session = self._sessions()
            session.info.update(info)
        async with session:
            if not session.in_transaction():
                await session.begin()
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def _replica_session(self, info: dict[str, Any],
                               user_id: str | None) -> AsyncSession | None:
        """A read-only session already connected to the replica, or None for the primary."""
        reads = self.reads
        if not self.has_replica or reads.wrote_recently(user_id):
            reads.counts["primary"] += 1
            return None
        if not reads.replica_usable():
            reads.counts["fallback"] += 1
            return None
        session = self._read_sessions()
        session.info.update(info)
        try:
            # Connect (and state the tenant) now, so a replica that is down or restarting
            # sends this read to the primary instead of failing it.
            await session.connection()
        except (OSError, SQLAlchemyError, TimeoutError) as exc:
            await session.close()
            reads.replica_failed()
            reads.counts["fallback"] += 1
            log.warning("read replica did not answer: reads go to the primary for %.0f s",
                        reads.retry_seconds, extra={"error": type(exc).__name__})
            return None
        reads.counts["replica"] += 1
        return session

    def reader(self, tenant_id: str, *, user_id: str | None = None,
               caller: tuple[str, int] | None = None,
               primary: bool = False) -> AbstractAsyncContextManager[TenantReader]:
        """Reads for hot listings (``TenantReader``): routed like ``tenant(readonly=True)``
        (replica, read-your-writes, fallback), under the same RLS, at a fraction of the CPU
        of an ORM session on PostgreSQL: one round trip per statement, tenant setting
        included (``_PgReader``; docs/scaling.md, "Per request"). Other backends get a
        read-only tenant session underneath.

        ``caller`` (user id, token version): the first statement also checks that the user
        is active with that version (or, if the block runs none, a statement of its own at
        the end); ``CallerNotCurrent`` if not, and the statement returns nothing.
        ``primary``: read the primary even when there is a replica (a read that must see
        what the primary holds now, as the sync pull's fast path must).
        """
        if not tenant_id:
            raise ValueError("tenant_id is required for a tenant session")
        if not self.is_postgres:
            return self._session_reader(tenant_id, user_id, caller)
        engine = self.engine if primary else self._reader_engine(user_id)
        return _PgReader(self, engine, tenant_id, caller)

    @asynccontextmanager
    async def writer(self, tenant_id: str) -> AsyncIterator[Any]:
        """PostgreSQL only: the asyncpg connection of a primary transaction that sees only
        ``tenant_id``'s rows (RLS), for a hot write path with its own SQL
        (``hub.ingest.push_fast``, ``feed.advance``). No ORM, no SQLAlchemy session: the
        connection is a kept one (``Database.parked``) or the pool's; ``BEGIN`` and the
        tenant setting are one round trip; COMMIT at the end of the block, and any exception
        rolls it back (the connection is parked again when clean, dropped if it cannot roll
        back). Behind PgBouncer in transaction mode too: every statement of the block is
        inside that one transaction, so it reaches one server connection, and the tenant
        setting ends at its COMMIT (tests/hub/test_pgbouncer.py)."""
        if not self.is_postgres:
            raise ValueError("a writer needs PostgreSQL")
        block = _PgReader(self, self.engine, tenant_id, None, begin=None)
        await block.open()
        failed: BaseException | None = None
        try:
            connection = block.connection
            # one simple-query round trip, so the value is a literal: quoted as SQL does
            # (standard_conforming_strings: only the quote is special)
            literal = "'" + tenant_id.replace("'", "''") + "'"
            await _driver(connection.execute(
                f"BEGIN; SELECT set_config('{TENANT_SETTING}', {literal}, true)"), "BEGIN")
            yield connection
            await _driver(connection.execute("COMMIT"), "COMMIT")
        except BaseException as exc:
            failed = exc
            raise
        finally:
            await block.release(failed)

    def system_statement(self) -> _PgReader:
        """PostgreSQL only: a kept connection of the system engine (BYPASSRLS) for a few
        plain statements (``_PgReader.plain``), each its own transaction: an implicit one,
        or behind PgBouncer ``BEGIN`` ... ``COMMIT`` around it (two more round trips); an
        async context manager. For a hot path that must check a credential before it knows
        the tenant (``hub.pull_fast``)."""
        if not self.is_postgres:
            raise ValueError("system statements need PostgreSQL")
        return _PgReader(self, self.system_engine, "", None, begin=None)

    @asynccontextmanager
    async def _session_reader(self, tenant_id: str, user_id: str | None,
                              caller: tuple[str, int] | None) -> AsyncIterator[TenantReader]:
        async with self.tenant(tenant_id, readonly=True, user_id=user_id) as session:
            reader = _SessionReader(session, tenant_id)
            if caller is not None:
                await _check_caller(reader, caller)
            yield reader

    def _reader_engine(self, user_id: str | None) -> AsyncEngine:
        reads = self.reads
        if not self.has_replica or reads.wrote_recently(user_id):
            reads.counts["primary"] += 1
            return self.engine
        if not reads.replica_usable():
            reads.counts["fallback"] += 1
            return self.engine
        reads.counts["replica"] += 1
        return self.read_engine

    def _replica_failed(self) -> AsyncEngine:
        reads = self.reads
        reads.replica_failed()
        reads.counts["replica"] -= 1
        reads.counts["fallback"] += 1
        log.warning("read replica did not answer: reads go to the primary for %.0f s",
                    reads.retry_seconds)
        return self.engine

    @asynccontextmanager
    async def system(self) -> AsyncIterator[AsyncSession]:
        """A session that sees every tenant (login, ingest authentication, jobs, CLI)."""
        async with self._system_sessions() as session:
            session.info.update(kind=_SessionKind.SYSTEM)
            async with session.begin():
                yield session

    async def verify_roles(self) -> None:
        """Refuse PostgreSQL logins that would not keep tenants apart (run at start-up).

        A database that does not answer yet is not refused: the hub starts, answers 503 until
        it does (``/api/health``), and checks again at its next start.
        """
        if not self.is_postgres:
            return
        try:
            async with self.engine.connect() as conn:
                app = (await conn.execute(LOGIN_FACTS_SQL)).one()
            system = None
            if self.system_engine is not self.engine:
                async with self.system_engine.connect() as conn:
                    system = (await conn.execute(LOGIN_FACTS_SQL)).one()
        except (OSError, SQLAlchemyError) as exc:
            log.warning("database roles not checked: the database did not answer",
                        extra={"error": type(exc).__name__})
            return
        verdict = judge_logins(app, system)
        if verdict.status == "fail":
            raise DatabaseRoleError(verdict.message)
        if verdict.status == "warn":
            log.warning(verdict.message)
        if self.has_replica:
            await self._verify_read_role(system)

    async def _verify_read_role(self, system: Any | None) -> None:
        """The replica's login must be bound by RLS like the app's (judged the same way)."""
        try:
            async with self.read_engine.connect() as conn:
                reader = (await conn.execute(LOGIN_FACTS_SQL)).one()
        except (OSError, SQLAlchemyError, TimeoutError) as exc:
            log.warning("read replica's role not checked: the replica did not answer",
                        extra={"error": type(exc).__name__})
            return
        verdict = judge_logins(reader, system)
        if verdict.status == "fail":
            raise DatabaseRoleError("POS_HUB_DB_READ_URL: " + verdict.message.replace(
                "POS_HUB_DB_URL", "POS_HUB_DB_READ_URL"))
        if verdict.status == "warn":
            log.warning("POS_HUB_DB_READ_URL: " + verdict.message)

    async def ping(self) -> None:
        """``SELECT 1`` on a connection of its own (PostgreSQL), so a health check answers
        even while every pooled connection is busy (a saturated hub is not a dead one)."""
        async with (self._health_engine or self.engine).connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        parked = [fairy for kept in self.parked.values() for fairy in kept]
        self.parked.clear()
        for fairy in parked:
            await greenlet_spawn(fairy.close)
        for engine in self.engines().values():
            await engine.dispose()
        if self._health_engine is not None:
            await self._health_engine.dispose()


def run_migrations(url: str, grant_to: Sequence[str] = (), revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` and grant ``grant_to`` (synchronous).

    ``grant_to`` names the login roles (app, system) that get DML on the tables; the user of
    ``url`` itself is skipped. Any failed statement raises: nothing is committed then.
    """
    from alembic import command
    from alembic.config import Config

    if not is_postgres(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = sync_url(url)
    for role in grant_to:
        _quote_ident(role)  # a bad name fails here, before any statement runs
    config.attributes["grant_to"] = list(grant_to)
    command.upgrade(config, revision)
