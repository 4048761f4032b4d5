"""What route handlers need from the running edge, in one place: the ``EdgeState`` (database,
settings, live feed, metrics, menu cache, outlet), the caller's Principal, the permission
guard factory ``requires(permission)``, ``write`` (a durable write, then wake the screens) and
``strict_body``, the app's before-request hook that decodes every request body strictly.

Handlers of every edge module (orders, menu, kitchen, shifts, printing) use these helpers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from edge import outlet as outlet_service
from edge.auth import Principal, require
from edge.catalog import MenuCache
from edge.db import Database
from edge.devices import Authenticator
from edge.live import LiveFeed
from edge.login_throttle import ThrottlePolicy
from edge.metrics import EdgeMetrics
from edge.outlet import OutletInfo
from edge.settings import EdgeSettings
from shared.errors import Unauthorized, ValidationFailed

__all__ = ["VERSION", "EdgeState", "business_day", "edge_state", "principal", "requires",
           "strict_body", "write"]

T = TypeVar("T")
VERSION = "0.1.0"
OUTLET_CACHE_SECONDS = 5.0


@dataclass
class EdgeState:
    """Everything the running edge owns; reachable as ``app.state.edge``."""

    settings: EdgeSettings
    db: Database
    feed: LiveFeed
    metrics: EdgeMetrics
    auth: Authenticator
    throttle: ThrottlePolicy  # how many PINs may be tried (edge.login_throttle)
    menu: MenuCache = field(default_factory=MenuCache)
    version: str = VERSION
    print_worker: Any = None  # edge.printing.PrintWorker when running
    sync: Any = None  # sync.engine.SyncEngine when provisioned

    _outlet: OutletInfo | None = None
    _outlet_read_at: float = 0.0

    @property
    def outlet(self) -> OutletInfo:
        # Re-read every few seconds: `pos-edge provision` (another process) may change it.
        now = time.monotonic()
        if self._outlet is None or now - self._outlet_read_at > OUTLET_CACHE_SECONDS:
            self._outlet = self.db.read_now(outlet_service.load_outlet)
            self._outlet_read_at = now
        return self._outlet

    def business_day(self, now: datetime) -> str:
        return outlet_service.business_day(self.outlet, now)


def edge_state(connection: ASGIConnection[Any, Any, Any, Any]) -> EdgeState:
    return connection.app.state.edge  # type: ignore[no-any-return]


def principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller (set by the auth middleware); 401 when there is none."""
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Unauthorized("a bearer token is required")
    return user


def requires(permission: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler],
                                          Awaitable[None]]:
    """A route guard: 401 without a principal, 403 without ``permission``."""
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # async on purpose: Litestar would run a sync guard in a worker thread
        require(principal(connection), permission)
    guard.__name__ = f"requires_{permission.replace(':', '_')}"
    return guard


async def write(connection: ASGIConnection[Any, Any, Any, Any],
                fn: Callable[[Any, datetime], T], notify: bool = True) -> T:
    """Run ``fn(conn, now)`` in a durable write transaction, then wake the live streams."""
    state = edge_state(connection)
    now = datetime.now(UTC)
    result = await state.db.write(lambda conn: fn(conn, now))
    if notify:
        state.feed.notify()
    return result


def business_day(connection: ASGIConnection[Any, Any, Any, Any], now: datetime) -> str:
    return edge_state(connection).business_day(now)


# ---------------------------------------------------------------- strict bodies

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_FIELD_ERROR = re.compile(r"^(\w+): |field `(\w+)`")


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """Decode the body of a route that takes one (its ``data`` parameter) strictly, before
    Litestar converts it leniently: ``"qty": "2"`` is a 400, as docs/api.md promises, and so
    is a body nested too deep, unknown fields or text with control characters
    (shared.schemas.InputStruct). The 400 names the field in ``details.field``."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    decoder = _decoders.get(field.annotation)
    if decoder is None:
        decoder = _decoders[field.annotation] = msgspec.json.Decoder(field.annotation)
    body = await request.body()
    if not body.strip() and field.is_optional:
        return  # an optional body left out (e.g. ``data: JSONBody[X | None] = None``)
    try:
        decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `")
        path = where.rstrip("`").removeprefix("$").lstrip(".") if message else ""
        named = _FIELD_ERROR.search(message or str(exc))
        if named:  # unknown, missing or InputStruct-checked: the location is the struct
            name = named.group(1) or named.group(2)
            path = f"{path}.{name}" if path else name
        raise ValidationFailed(message or str(exc), details={"field": path or None}) from None
    except (msgspec.DecodeError, RecursionError):
        raise ValidationFailed("the body is not valid JSON (or is nested too deeply)",
                               details={"field": None}) from None
