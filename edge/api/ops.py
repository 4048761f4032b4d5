"""Operational routes: health (no auth), Prometheus metrics (no auth), ping and "who am I"."""

from __future__ import annotations

import shutil
from typing import Any

from litestar import Request, Response, get

from edge import outbox
from edge.api import deps
from edge.auth import Principal
from edge.db import RECOVERY
from edge.metrics import CONTENT_TYPE_LATEST

__all__ = ["ops_routes"]


@get("/api/health", tags=["ops"], exclude_from_auth=True)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Database reachable and sound, free disk in the data folder, outbox backlog, version;
    503 with the way to recover when the database is damaged or failing."""
    state = deps.edge_state(request)
    try:
        backlog = await state.db.read(outbox.backlog)
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - health reports, it does not raise
        state.db.note_error(exc)
        backlog, database = -1, f"error: {type(exc).__name__}"
    body: dict[str, Any] = {"status": "ok", "database": database}
    if state.db.problem is not None:
        body.update(status="failed", database=f"damaged: {state.db.problem}", recovery=RECOVERY)
    elif database != "ok":
        body["status"] = "degraded"
    state.metrics.outbox_backlog.set(max(backlog, 0))
    body.update(disk_free_bytes=shutil.disk_usage(state.settings.data_path).free,
                outbox_backlog=backlog, version=state.version)
    return Response(body, status_code=200 if body["status"] == "ok" else 503)


@get("/metrics", tags=["ops"], exclude_from_auth=True, media_type=CONTENT_TYPE_LATEST)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = deps.edge_state(request)
    state.metrics.outbox_backlog.set(await state.db.read(outbox.backlog))
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@get("/api/v1/ping", tags=["ops"])
async def ping(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A trivial authenticated endpoint (benchmarks compare real work against it)."""
    return {"pong": deps.principal(request).device_id}


@get("/api/v1/me", tags=["auth"])
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The caller: device, and staff when a staff token was used."""
    who: Principal = deps.principal(request)
    state = deps.edge_state(request)
    outlet = state.outlet
    return {"device_id": who.device_id, "device_role": who.device_role, "device_name": who.device_name,
            "staff": ({"id": who.staff_id, "name": who.staff_name, "role": who.staff_role}
                      if who.staff_id else None),
            "role": who.staff_role or who.device_role,
            "outlet": {"id": outlet.id, "name": outlet.name, "timezone": outlet.timezone,
                       # the till's discount dialog offers head office's reasons
                       "discount_reasons": list(outlet.discount_reasons),
                       "discount_approval_percent": outlet.discount_approval_percent}}


ops_routes: list[Any] = [health, metrics, ping, me]
