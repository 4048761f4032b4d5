"""Dependencies every hub handler can ask for by name: ``db``, ``settings``, ``tokens``,
``principal`` (the verified bearer token) and ``client_ip``; plus the error handlers that give
every failure the one JSON shape ``{"error": {"code", "message", "details"}}``.

The tenant of a request is only ever ``principal.tenant_id``, read from the verified token.

The reads the dashboard polls take the fast path instead (docs/scaling.md, "Per request"):
``caller(request)`` verifies the token as ``principal`` does, ``tenant_reader`` opens the
tenant's ``Database.reader`` whose first statement checks the token is still current, and
``items_response`` sends the JSON the reader rendered. No dependency injection (a tenth of
such a read's CPU) and no ``RequestDatabase``.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response.base import ASGIResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hub.db import CallerNotCurrent, Database, TenantReader
from hub.identity import Principal, RequestDatabase, SessionEnded, Tokens
from hub.settings import HubSettings
from shared.errors import PosError, Unauthorized, error_body, framework_error_body

__all__ = ["answers", "bearer_token", "caller", "dependencies", "exception_handlers", "items_response",
           "provide_principal", "tenant_reader"]

log = logging.getLogger("hub.api")

def bearer_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token (Authorization: Bearer <access token>)")
    return token.strip()


# Explicit names for injected parameters (Litestar 3 drops inferred dependencies).
DbDep = NamedDependency[Database]
PrincipalDep = NamedDependency[Principal]
SettingsDep = NamedDependency[HubSettings]
TokensDep = NamedDependency[Tokens]
ClientIpDep = NamedDependency[str]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_principal(request: Request[Any, Any, Any], db: DbDep) -> Principal:
    # The verifier from the app's state, not as a dependency: Litestar resolves a batch of
    # two dependencies (db, tokens) in an anyio task group, a few % of a tenant read.
    tokens: Tokens = request.app.state.tokens
    principal = tokens.principal(bearer_token(request))
    # The handler's first tenant transaction checks the token is still current (M2).
    writes = request.method not in _SAFE_METHODS
    db.expect_caller(principal, writes=writes)  # type: ignore[attr-defined]
    return msgspec.structs.replace(principal, ip=_client_ip(request))


def caller(request: Request[Any, Any, Any]) -> Principal:
    """The verified caller of a fast read (Unauthorized if the token is not valid)."""
    tokens: Tokens = request.app.state.tokens
    return tokens.principal(bearer_token(request))


def tenant_reader(request: Request[Any, Any, Any],
                  principal: Principal) -> AbstractAsyncContextManager[TenantReader]:
    """The caller's tenant reader; its first statement checks the token is still current
    (``CallerNotCurrent`` -> 401 ``session_ended``), reads route as in ``Database.reader``."""
    db: Database = request.app.state.db
    return db.reader(principal.tenant_id, user_id=principal.user_id,
                     caller=(principal.user_id, principal.token_version))


def items_response(array: bytes) -> ASGIResponse:
    """``{"items": <array>}`` from a JSON array already rendered (``json_array``)."""
    return ASGIResponse(body=b'{"items":' + array + b"}", media_type=MediaType.JSON)


def answers(body: Any) -> dict[int, ResponseSpec]:
    """The OpenAPI 200 of a handler that sends its JSON itself: ``body`` as the type it
    would have returned (``dict[str, list[OutletOut]]`` for an ``items_response``)."""
    return {200: ResponseSpec(data_container=body, generate_examples=False,
                              description="Request fulfilled, document follows")}


def _db(state: State) -> Database:
    return RequestDatabase(state.db)  # one per request: see hub.identity.RequestDatabase


def _settings(state: State) -> HubSettings:
    return state.settings


def _tokens(state: State) -> Tokens:
    return state.tokens


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


dependencies = {
    "db": Provide(_db, sync_to_thread=False),
    "settings": Provide(_settings, sync_to_thread=False),
    "tokens": Provide(_tokens, sync_to_thread=False),
    "principal": Provide(provide_principal),
    "client_ip": Provide(_client_ip, sync_to_thread=False),
}


def _pos_error(_: Request[Any, Any, Any], exc: PosError) -> Response[Any]:
    if exc.status >= 500:
        log.error("request failed: %s", exc.message)
    # A refusal that says when to come back says it in the header clients obey, too.
    retry = exc.details.get("retry_after_seconds") if isinstance(exc.details, dict) else None
    headers = {"Retry-After": str(int(retry))} if isinstance(retry, int | float) else None
    return Response(error_body(exc.code, exc.message, exc.details), status_code=exc.status,
                    headers=headers)


def _caller_not_current(request: Request[Any, Any, Any], _: CallerNotCurrent) -> Response[Any]:
    return _pos_error(request, SessionEnded("this session has ended (account changed or signed "
                                            "out): log in again"))


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return Response(framework_error_body(400, exc.detail or "invalid request", exc.extra),
                    status_code=400)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    cause = exc.__cause__
    if status == 500 and isinstance(cause, msgspec.ValidationError) and "`$.data" in str(cause):
        # Litestar files a body error under a key named like one of our dependencies (a body
        # field "settings", "db", "principal") as a server fault: it is the client's input.
        return _body_invalid(str(cause))
    return Response(framework_error_body(status, exc.detail, exc.extra), status_code=status,
                    headers=exc.headers)


def _body_invalid(message: str) -> Response[Any]:
    problem, _, where = message.partition(" - at `$.data")
    field = where.rstrip("`").lstrip(".")
    return Response(framework_error_body(400, problem, [{"key": field, "message": problem}]),
                    status_code=400)


def _integrity_error(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # A race the services' own checks could not see (e.g. two creates with one name at once).
    log.warning("integrity error: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
    return Response(error_body("conflict", "the change conflicts with existing data"),
                    status_code=409)


def _database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Lost or refused database connections are a 503 (retry), not a bug (500)."""
    sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", None) or "")
    if isinstance(exc, DBAPIError) and sqlstate.startswith("22"):
        # SQLSTATE class 22, "data exception": a value the database cannot hold (a NUL in a
        # text, an integer past its column). Inputs are checked before this; should one slip
        # through, it is still the caller's value, not the hub failing.
        log.warning("value refused by the database: sqlstate %s", sqlstate)
        return Response(error_body("invalid_value", "a value in the request cannot be stored",
                                   {"sqlstate": sqlstate}), status_code=400)
    if sqlstate.startswith("53") or sqlstate in ("57P01", "57P02", "57P03"):
        # Insufficient resources (too many connections, for the server or the role; out of
        # memory; disk full) or a server shutting down or starting: busy, not broken.
        log.warning("database refused work: sqlstate %s", sqlstate)
        return Response(error_body("busy", "the database is busy; try again shortly",
                                   {"sqlstate": sqlstate}), status_code=503,
                        headers={"Retry-After": "2"})
    if isinstance(exc, DBAPIError) and not (exc.connection_invalidated
                                            or isinstance(exc, OperationalError)):
        return _unexpected(request, exc)
    log.error("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
    return Response(error_body("unavailable", "the database is not reachable; try again"),
                    status_code=503, headers={"Retry-After": "5"})


def _pool_exhausted(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every database connection stayed busy past the pool timeout (a burst of pushes from
    many outlets): a 503 the caller retries after a pause, not a bug."""
    log.warning("database pool exhausted: %s", exc)
    return Response(error_body("busy", "the hub is busy; try again shortly"), status_code=503,
                    headers={"Retry-After": "2"})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(error_body("internal", "internal server error"), status_code=500)


exception_handlers: dict[Any, Any] = {
    PosError: _pos_error,
    CallerNotCurrent: _caller_not_current,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    IntegrityError: _integrity_error,
    DBAPIError: _database_unavailable,
    PoolTimeout: _pool_exhausted,
    # asyncpg raises these unwrapped when it cannot open a connection at all
    ConnectionError: _database_unavailable,
    TimeoutError: _database_unavailable,
    Exception: _unexpected,
}
