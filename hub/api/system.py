"""Health and metrics: unauthenticated, for load balancers and Prometheus."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import generate_latest

from hub.api.deps import DbDep
from hub.metrics import CONTENT_TYPE

__all__ = ["hub_version", "system_routes"]


def hub_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fnbpos")
    except PackageNotFoundError:  # a source checkout that was not installed
        return "0.1.0"


@get("/api/health", tags=["system"])
async def health(db: DbDep) -> Response[dict[str, Any]]:
    """200 when the database answers, 503 otherwise."""
    try:
        await db.ping()
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "unhealthy", not a 500
        database = f"error: {type(exc).__name__}"
    body = {"status": "ok" if database == "ok" else "degraded", "database": database,
            "backend": "postgresql" if db.is_postgres else "sqlite", "version": hub_version()}
    return Response(body, status_code=200 if database == "ok" else 503)


@get("/metrics", tags=["system"], include_in_schema=False)
async def metrics(state: State) -> Response[bytes]:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE)


system_routes = [health, metrics]
