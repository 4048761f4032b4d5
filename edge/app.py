"""The edge server as a Litestar app: ``create_app(settings)``.

It owns the database, live feed, metrics and token resolution (``EdgeState`` on
``app.state.edge``), serves the browser apps (kiosk-ui, shipped inside the package; start-up
refuses without them or the migrations), advertises itself on the LAN (zeroconf), and runs
the print worker and (when provisioned) the sync engine.

Two ASGI middlewares run around every route:
* ``RequestLogMiddleware`` gives each request an id, logs one JSON line (id, method, path,
  route, status, ms, plus order/outlet ids a handler adds) and records Prometheus metrics;
* ``AuthMiddleware`` resolves ``Authorization: Bearer`` (or ``?token=`` on WebSockets) to an
  ``edge.auth.Principal`` in ``scope["user"]``; every route but health, metrics, the OpenAPI
  docs and static files needs one.

One exception handler renders every error as ``{"error": {"code", "message", "details"}}``;
errors the framework raises itself go through ``shared.errors.framework_error_body``, as on the
hub. Request ids and the JSON log lines come from ``shared.logs``, as on the hub.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, Router
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Receive, Scope, Send

from edge.api import deps
from edge.api.auth import auth_routes
from edge.api.bill_ops import bill_op_routes
from edge.api.bills import bill_routes
from edge.api.guest import guest_routes
from edge.api.kitchen import kitchen_routes
from edge.api.menu import menu_routes
from edge.api.ops import ops_routes
from edge.api.orders import order_routes
from edge.api.payments import payment_routes
from edge.api.printing import print_routes
from edge.api.shifts import shift_routes
from edge.api.sync import sync_routes
from edge.api.tables import table_routes
from edge.db import Database
from edge.devices import Authenticator
from edge.discovery import Advertiser
from edge.live import LiveFeed
from edge.login_throttle import ThrottlePolicy
from edge.metrics import EdgeMetrics
from edge.migrations import MIGRATIONS_DIR
from edge.orders_repository import prune_idempotency_keys
from edge.payments import attempts as payment_attempts
from edge.payments.service import PaymentService
from edge.printing import PrintWorker
from edge.settings import EdgeSettings, SettingsError
from edge.stream import prune
from edge.sync_state import EdgeStore, is_provisioned
from shared.errors import PosError, Unauthorized, error_body, framework_error_body
from shared.logs import bind_request_id, request_id_from, unbind_request_id
from shared.static_assets import APIDOCS_DIR, StaticAssets

__all__ = ["create_app"]

log = logging.getLogger("edge.http")
_json = msgspec.json.Encoder()
_PUBLIC_PREFIXES = ("/schema",)
# The largest body the API takes is an order: 100 lines of 50 options and a 500-character note
# each, about 0.6 MiB at worst. Litestar's default (10 MB) let one client hold 0.5 GB of the
# box's memory with 60 requests at once (docs/security.md, Input).
JSON_MAX_BODY_BYTES = 1024 * 1024
_PUBLIC_PATHS = frozenset({"/api/health", "/metrics"})


# ---------------------------------------------------------------- errors


def _pos_error(_: Request[Any, Any, Any], exc: PosError) -> Response[dict[str, Any]]:
    return Response(error_body(exc.code, exc.message, exc.details), status_code=exc.status)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    problems = exc.extra if isinstance(exc, ValidationException) else None
    return Response(framework_error_body(exc.status_code, exc.detail or "request failed", problems),
                    status_code=exc.status_code, headers=exc.headers)


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    request.app.state.edge.db.note_error(exc)  # a damaged file: health must say so
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return Response(error_body("internal", "internal error; it was logged"), status_code=500)


# ---------------------------------------------------------------- middleware


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    if scope["type"] == "websocket":
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0]
    return None


def _public(scope: Scope) -> bool:
    path = scope["path"]
    if path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES):
        return True
    handler = scope.get("route_handler")
    return bool(handler is not None and handler.opt.get("exclude_from_auth")) or not path.startswith("/api/")


class AuthMiddleware:
    """Puts the caller's Principal in ``scope["user"]``; 401 on protected HTTP routes without one.

    WebSockets are let through without a principal: the stream handler answers with an error
    frame, which a screen can show, instead of a bare refused handshake.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            token = _bearer(scope)
            state: deps.EdgeState = scope["app"].state.edge
            if token:
                try:
                    scope["user"] = state.auth.resolve(token)
                except PosError:
                    if scope["type"] == "http" and not _public(scope):
                        raise
            elif scope["type"] == "http" and not _public(scope):
                raise Unauthorized("a bearer token is required")
        await self.app(scope, receive, send)


class RequestLogMiddleware:
    """Request id (the caller's X-Request-ID when sane, else a new one; it tags every log line
    of the request and is echoed in the response), one log line and metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(scope["headers"])
        scope["request_id"] = request_id
        bound = bind_request_id(request_id)
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except PosError as exc:
            status = exc.status
            raise
        except HTTPException as exc:
            status = exc.status_code
            raise
        finally:
            elapsed = time.perf_counter() - started
            state: deps.EdgeState = scope["app"].state.edge
            route = scope.get("path_template") or scope["path"]
            state.metrics.observe_request(scope["method"], route, status, elapsed)
            if state.settings.log_requests:
                extra = {"method": scope["method"], "path": scope["path"],
                         "route": route, "status": status, "ms": round(elapsed * 1000, 2)}
                user = scope.get("user")
                if user is not None:
                    extra["device_id"] = user.device_id
                extra.update(scope.get("log_extra") or {})
                log.info("request", extra=extra)
            unbind_request_id(bound)


# ---------------------------------------------------------------- lifecycle


async def _start(app: Litestar) -> None:
    state: deps.EdgeState = app.state.edge
    settings = state.settings
    outlet = state.outlet
    if settings.print_worker_enabled:
        state.print_worker = PrintWorker(state.db)
        state.print_worker.start()
        app.state.print_worker = state.print_worker
    if settings.sync_enabled and is_provisioned(settings.data_path):
        from sync.engine import SyncEngine  # imported only when there is a hub to talk to

        # The engine reaches the outbox and sync state only through the store handed in.
        state.sync = SyncEngine(EdgeStore(state.db, settings.data_path, state.feed))
        state.sync.start()
        app.state.sync = state.sync
    app.state.payments.start()  # the poller: asks the gateway about open QRs
    app.state.housekeeping = asyncio.get_running_loop().create_task(
        _housekeeping(state.db, timedelta(hours=settings.live_event_retention_hours),
                      timedelta(days=settings.idempotency_key_retention_days)))
    if settings.advertise:
        advertiser = Advertiser(outlet_id=outlet.id, outlet_name=outlet.name, version=state.version,
                                host=settings.host, port=settings.port,
                                interfaces=settings.advertise_interfaces)
        app.state.advertiser = advertiser
        # Announcing takes a second of mDNS probing: do it in the background, serve at once.
        app.state.advertising = asyncio.get_running_loop().create_task(_advertise(advertiser))
    log.info("edge started", extra={"outlet_id": outlet.id, "outlet": outlet.name,
                                    "timezone": outlet.timezone, "port": settings.port})


async def _housekeeping(db: Database, live_retention: timedelta, key_retention: timedelta,
                       every: float = 3600) -> None:
    """Hourly: prune old live events and idempotency keys so neither table grows forever,
    and run quick_check on the database (damage makes /api/health answer 503)."""
    while True:
        try:
            now = datetime.now(UTC)
            pruned = await db.write(lambda conn, cutoff=now - live_retention: prune(conn, cutoff))
            if pruned:
                log.info("live events pruned", extra={"count": pruned})
            keys = await db.write(lambda conn, cutoff=now - key_retention:
                                  prune_idempotency_keys(conn, cutoff)
                                  + payment_attempts.prune_keys(conn, cutoff))
            if keys:
                log.info("idempotency keys pruned", extra={"count": keys})
            damage = await asyncio.to_thread(db.check)
            if damage:
                log.error("edge database damaged", extra={"problem": damage})
        except Exception:  # housekeeping must never stop the edge
            log.exception("housekeeping failed")
        await asyncio.sleep(every)


async def _advertise(advertiser: Any) -> None:
    try:
        await advertiser.start()
    except OSError as exc:  # no multicast on this network: serving matters more
        log.warning("mDNS advertisement failed", extra={"error": str(exc)})


async def _stop(app: Litestar) -> None:
    state: deps.EdgeState = app.state.edge
    housekeeping = getattr(app.state, "housekeeping", None)
    if housekeeping is not None:
        housekeeping.cancel()
    advertiser = getattr(app.state, "advertiser", None)
    if advertiser is not None:
        await advertiser.stop()
    if state.sync is not None:
        await state.sync.stop()
    if state.print_worker is not None:
        await state.print_worker.stop()
    await app.state.payments.stop()
    state.db.close()


_APPS = ("kiosk", "cashier", "kds", "board", "waiter", "guest")


def _require_files(settings: EdgeSettings) -> None:
    """Refuse to start without the browser apps or the migrations (an incomplete install)."""
    missing = [str(settings.static_path / app / "index.html") for app in _APPS
               if not (settings.static_path / app / "index.html").is_file()]
    if not any(MIGRATIONS_DIR.glob("*.sql")):
        missing.append(f"{MIGRATIONS_DIR}/*.sql")
    if missing:
        raise SettingsError(
            f"the edge's files are missing ({', '.join(missing)}): the installed package is "
            "incomplete; reinstall fnbpos, or point POS_EDGE_STATIC_DIR at a kiosk-ui folder")


def throttle_policy(settings: EdgeSettings) -> ThrottlePolicy:
    """The PIN throttle from the two login settings: ``login_max_failures`` wrong PINs per
    device (twice that for the whole box) lock for ``login_window_seconds``, doubling up to
    60 times that; wrong PINs are forgotten after 15 times that without another."""
    base = float(settings.login_window_seconds)
    return ThrottlePolicy(device_max=settings.login_max_failures,
                          outlet_max=2 * settings.login_max_failures, window_seconds=15 * base,
                          lockout_seconds=base, lockout_max_seconds=60 * base)


def local_swagger(apidocs: StaticAssets) -> SwaggerRenderPlugin:
    """Swagger UI at /schema from the app's own vendored files: no CDN (offline-first)."""
    return SwaggerRenderPlugin(
        js_url=apidocs.url("swagger-ui-bundle.js"), css_url=apidocs.url("swagger-ui.css"),
        standalone_preset_js_url=apidocs.url("swagger-ui-standalone-preset.js"),
        favicon='<link rel="icon" href="/favicon.ico">')


def create_app(settings: EdgeSettings) -> Litestar:
    """Build the edge app for ``settings`` (refused when they are unsafe; see EdgeSettings.check)."""
    settings.check()
    _require_files(settings)
    db = Database(settings.db_path, check_integrity=True)  # DatabaseUnusable if damaged
    state = deps.EdgeState(
        settings=settings, db=db, feed=LiveFeed(), metrics=EdgeMetrics(),
        auth=Authenticator(db.read_now, settings.jwt_secret),
        throttle=throttle_policy(settings))
    routes: list[Any] = [*ops_routes, *auth_routes, *menu_routes, *order_routes, *kitchen_routes,
                         *shift_routes, *print_routes, *sync_routes, *payment_routes,
                         *guest_routes, *bill_op_routes, *table_routes, *bill_routes]
    # Compressed, versioned and cached by shared.static_assets (docs/ui.md, "Serving").
    routes.append(create_static_files_router(
        path="/", directories=[settings.static_path], html_mode=True, name="ui",
        opt={"exclude_from_auth": True}, middleware=[StaticAssets(settings.static_path)]))
    apidocs = StaticAssets(APIDOCS_DIR, "/apidocs")
    routes.append(create_static_files_router(
        path="/apidocs", directories=[APIDOCS_DIR], name="apidocs",
        opt={"exclude_from_auth": True}, middleware=[apidocs]))
    return Litestar(
        route_handlers=routes,
        middleware=[RequestLogMiddleware, AuthMiddleware],
        exception_handlers={PosError: _pos_error, HTTPException: _http_error,
                            Exception: _internal_error},
        state=State({"edge": state, "db": db, "feed": state.feed, "settings": settings,
                     "payments": PaymentService(db, state.feed)}),
        before_request=deps.strict_body,
        request_max_body_size=JSON_MAX_BODY_BYTES,
        on_startup=[_start], on_shutdown=[_stop],
        openapi_config=OpenAPIConfig(
            title="fnbpos edge API", version=deps.VERSION, render_plugins=[local_swagger(apidocs)],
            # Docs pages, not API: kept out of the schema, as Litestar's default router is.
            openapi_router=Router("/schema", route_handlers=[], include_in_schema=False,
                                  middleware=[StaticAssets(APIDOCS_DIR, "/apidocs",
                                                           rewrite_html=False)])),
        logging_config=None,
        debug=False,
    )
