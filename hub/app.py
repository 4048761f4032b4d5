"""Builds the hub's Litestar application: ``create_app(settings)``.

Wires the routes of every hub area (auth, head-office admin, catalog, fleet/audit, reports,
sync, enrollment, outlet staff), the dependencies (``hub.api.deps``), the single JSON error
shape, request metrics (``/metrics``, ``hub.metrics``), load shedding past a bounded number of
requests in flight (``hub.overload``), structured JSON logs (``shared.logs``: one line per
request when ``log_requests``, every line of a request tagged with its X-Request-ID, which the
edge's sync client sends with each push and pull), the static head-office dashboard at
``/dashboard/`` (``/`` redirects there), OpenAPI at ``/schema`` and, on startup, the database
engine and the job scheduler. The app keeps no state of its own between requests: any number
of replicas can serve one database (the per-IP limit on enrollment redemptions is per process).

Input limits (docs/api.md, "Limits"): request bodies are bounded per route before they are
read, JSON bodies checked for NUL and depth (``hub.api.inputs.CheckedRequest``), NUL in a URL
refused before routing (``refuse_nul_in_url``), sync frames inflated no further than their
route's limit (``hub.api.sync.read_frame``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

from litestar import Litestar, Router, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.response import File, Redirect
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from hub.api.admin import admin_routes
from hub.api.auth import auth_routes
from hub.api.catalog import catalog_routes
from hub.api.deps import dependencies, exception_handlers
from hub.api.enrollment import enrollment_routes
from hub.api.fleet import fleet_routes
from hub.api.floor import floor_routes
from hub.api.gateways import gateway_routes
from hub.api.inputs import CheckedRequest, refuse_nul_in_url
from hub.api.reports import report_routes
from hub.api.staff import staff_routes
from hub.api.sync import sync_routes
from hub.api.system import hub_version, system_routes
from hub.db import MIGRATIONS_DIR, Database
from hub.gateways.payments import RECONCILE_INTERVAL_SECONDS, reconcile_job
from hub.gateways.vault import CredentialVault
from hub.identity import Tokens
from hub.ingest.push_fast import configure_groups
from hub.ingest.retention import prune_journal
from hub.metrics import HubMetrics
from hub.overload import Admission, shed_load
from hub.reports import rollup_job
from hub.scheduler import Job, JobScheduler, default_jobs
from hub.settings import HubSettings, resolved_pin_key
from hub.staff_pins import PinVault
from shared.logs import bind_request_id, configure_logging, request_id_from, unbind_request_id
from shared.runtime import tune_gc_for_serving
from shared.static_assets import APIDOCS_DIR, StaticAssets

__all__ = ["DASHBOARD_DIR", "MissingFiles", "configure_logging", "create_app", "require_files"]

DASHBOARD_DIR = Path(__file__).parent / "dashboard"
JSON_MAX_BODY_BYTES = 1024 * 1024  # the largest JSON body of the API (a catalog edit) is KBs
log = logging.getLogger("hub.http")


def _metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Request metrics; an X-Request-ID (the caller's when sane: a balancer's, or the edge's
    sync client's) that tags every log line of the request; one log line per request when
    ``log_requests``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        request_id = request_id_from(scope.get("headers", ()))
        bound = bind_request_id(request_id)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            metrics: HubMetrics = scope["litestar_app"].state.metrics
            route = scope.get("path_template") or "unmatched"  # templates keep labels bounded
            method = cast("HTTPScope", scope)["method"]
            elapsed = time.perf_counter() - started
            metrics.observe(method, route, status["code"], elapsed)
            if scope["litestar_app"].state.settings.log_requests:
                log.info("request", extra={"method": method, "path": scope["path"],
                                           "route": route, "status": status["code"],
                                           "ms": round(elapsed * 1000, 2)})
            unbind_request_id(bound)

    return middleware


@get("/", include_in_schema=False)
async def _root() -> Redirect:
    return Redirect("/dashboard/")


@get("/favicon.ico", include_in_schema=False)
async def _favicon() -> File:
    return File(DASHBOARD_DIR / "favicon.ico", media_type="image/x-icon",
                content_disposition_type="inline", headers={"cache-control": "public, max-age=86400"})


class MissingFiles(RuntimeError):
    """The installed package lacks files the hub serves or runs (dashboard, migrations)."""


def require_files() -> None:
    """Refuse to start an incomplete install rather than serve 404s or fail mid-migration."""
    needed = [DASHBOARD_DIR / "index.html", MIGRATIONS_DIR / "env.py", MIGRATIONS_DIR / "versions"]
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        raise MissingFiles(f"the hub's files are missing ({', '.join(missing)}): the installed "
                           "package is incomplete; reinstall fnbpos")


def create_app(settings: HubSettings) -> Litestar:
    """The hub application for ``settings`` (database opened on startup; refused without the
    dashboard or the migrations, see ``require_files``)."""
    require_files()
    jobs = [*default_jobs(settings),
            Job("report_rollup", settings.report_rollup_interval_seconds, rollup_job),
            Job("journal_prune", settings.journal_prune_interval_seconds, prune_journal),
            Job("payment_reconcile", RECONCILE_INTERVAL_SECONDS, reconcile_job)]
    pin_key = resolved_pin_key(settings)
    apidocs = StaticAssets(APIDOCS_DIR, "/apidocs")
    state = State({"settings": settings, "tokens": Tokens(settings),
                   "pins": PinVault(pin_key), "gateway_vault": CredentialVault(pin_key),
                   "admission": Admission(settings.max_in_flight, settings.max_queued,
                                          settings.queue_timeout_seconds)})
    state.metrics = HubMetrics(state)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = Database.from_settings(settings)
        await db.verify_roles()  # refuses logins that would not keep tenants apart
        app.state.db = db
        configure_groups(db, settings.push_group_max)
        scheduler = JobScheduler(db, settings, jobs)
        if settings.scheduler_enabled:
            scheduler.start()
        tune_gc_for_serving()
        try:
            yield
        finally:
            scheduler.shutdown()
            await db.dispose()

    return Litestar(
        route_handlers=[
            *system_routes, *auth_routes, *admin_routes, *catalog_routes, *fleet_routes,
            *report_routes, *sync_routes, *enrollment_routes, *staff_routes, *gateway_routes,
            *floor_routes,
            # Compressed, versioned and cached by shared.static_assets (docs/dashboard.md).
            create_static_files_router(path="/dashboard", directories=[DASHBOARD_DIR],
                                       html_mode=True, name="dashboard",
                                       middleware=[StaticAssets(DASHBOARD_DIR, "/dashboard")]),
            create_static_files_router(path="/apidocs", directories=[APIDOCS_DIR], name="apidocs",
                                       middleware=[apidocs]),
            _root, _favicon,
        ],
        dependencies=dependencies,
        exception_handlers=exception_handlers,
        # Metrics outermost (a shed request is counted as its 503), then load shedding
        # before anything else is done for a request (hub.overload).
        middleware=[_metrics_middleware, shed_load, refuse_nul_in_url],
        request_class=CheckedRequest,  # JSON bodies: no NUL, bounded depth (hub.api.inputs)
        lifespan=[lifespan],
        state=state,
        openapi_config=OpenAPIConfig(
            title="fnbpos hub", version=hub_version(),
            # Docs pages, not API: kept out of the schema, as Litestar's default router is.
            openapi_router=Router("/schema", route_handlers=[], include_in_schema=False,
                                  middleware=[StaticAssets(APIDOCS_DIR, "/apidocs",
                                                           rewrite_html=False)]),
            # Swagger UI from the hub's own vendored files: no CDN (offline-first).
            render_plugins=[SwaggerRenderPlugin(
                js_url=apidocs.url("swagger-ui-bundle.js"), css_url=apidocs.url("swagger-ui.css"),
                standalone_preset_js_url=apidocs.url("swagger-ui-standalone-preset.js"),
                favicon='<link rel="icon" href="/favicon.ico">')]),
        # Every body is refused past this before it is read (by Content-Length) or while it
        # streams; the sync routes set their own (push: PUSH_MAX_BYTES, redeem: a few KB).
        request_max_body_size=JSON_MAX_BODY_BYTES,
        logging_config=None,  # configure_logging() owns the handlers (JSON lines)
    )
