"""Sync over HTTP: what the outlet's outbox and hub link look like right now, and "sync now"."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from edge import sync_state
from edge.auth import Principal, require
from edge.db import Database
from shared.errors import InvalidState, Unauthorized

__all__ = ["sync_routes"]


async def _may_read_sync(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Unauthorized("a bearer token is required")
    require(user, "sync:read")


@get("/api/v1/sync/status", guards=[_may_read_sync], tags=["sync"])
async def sync_status(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Backlog (events the hub has not acknowledged), last push/pull, last error, reachability."""
    db: Database = request.app.state.db
    status = await db.read(sync_state.status)
    engine = getattr(request.app.state, "sync", None)
    status["engine_running"] = bool(engine is not None and engine.running)
    return status


@post("/api/v1/sync/now", guards=[_may_read_sync], tags=["sync"], status_code=202)
async def sync_now(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """End any backoff and push and pull at once (after an outage was fixed); answers at once."""
    engine = getattr(request.app.state, "sync", None)
    if engine is None or not engine.running:
        raise InvalidState("sync is not running on this box (not provisioned, or disabled)")
    engine.wake()
    return {"woken": True}


sync_routes = [sync_status, sync_now]
