"""Enrollment over HTTP: codes for head office, redemption for outlet boxes, revocation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody
from msgspec import Meta, Struct

from hub.api.deps import ClientIpDep, DbDep, PrincipalDep
from hub.api.sync import read_frame
from hub.ingest import enrollment
from hub.ratelimit import RateLimiter
from shared.errors import TooManyRequests
from sync.protocol import (
    MEDIA_TYPE,
    REDEEM_MAX_BYTES,
    EnrollRequest,
    encode_frame,
)

__all__ = ["enrollment_routes"]


class CodeCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    ttl_minutes: Annotated[int, Meta(ge=1, le=7 * 24 * 60)] = 24 * 60


class CodeOut(Struct, kw_only=True):
    id: str
    code: str
    outlet_id: str
    expires_at: datetime


@post("/api/v1/outlets/{outlet_id:str}/enrollment-codes", tags=["enrollment"], status_code=201)
async def create_code(outlet_id: FromPath[str], db: DbDep, principal: PrincipalDep,
                      data: JSONBody[CodeCreate | None] = None) -> CodeOut:
    """A one-time code for the outlet's box (shown once; the hub keeps a digest)."""
    ttl = timedelta(minutes=(data or CodeCreate()).ttl_minutes)
    async with db.tenant(principal.tenant_id) as session:
        issued = await enrollment.create_code(session, principal, outlet_id, ttl,
                                              tenant_id=principal.tenant_id)
    return CodeOut(id=issued.id, code=issued.code, outlet_id=issued.outlet_id,
                   expires_at=issued.expires_at)


def redeem_limiter(request: Request[Any, Any, Any]) -> RateLimiter:
    """The process's redemption limit per client IP (built from the settings on first use)."""
    state = request.app.state
    limiter = getattr(state, "redeem_limiter", None)
    if limiter is None:
        settings = state.settings
        limiter = state.redeem_limiter = RateLimiter(settings.redeem_max_per_ip,
                                                     settings.redeem_window_seconds)
    return limiter


@post("/api/v1/enrollment/redeem", tags=["enrollment"], status_code=200,
      request_max_body_size=REDEEM_MAX_BYTES)
async def redeem(request: Request[Any, Any, Any], db: DbDep,
                 client_ip: ClientIpDep) -> Response[bytes]:
    """An outlet box exchanges its code for its identity and sync credential (a sync frame).

    No login guards this route, so it is bounded before any work: a rate limit per client IP
    first (429 with Retry-After), then a body of at most REDEEM_MAX_BYTES (refused by its
    Content-Length or while it streams) that is inflated no further than that."""
    wait = redeem_limiter(request).hit(client_ip)
    if wait:
        raise TooManyRequests("too many enrollment attempts from this address; try again later",
                              details={"retry_after_seconds": wait})
    version, payload = read_frame(await request.body(), EnrollRequest, REDEEM_MAX_BYTES)
    reply = await enrollment.redeem(db, payload, client_ip=client_ip)
    return Response(encode_frame(reply, version=version), media_type=MEDIA_TYPE)


@get("/api/v1/outlets/{outlet_id:str}/sync-credentials", tags=["enrollment"])
async def list_credentials(outlet_id: FromPath[str], db: DbDep,
                           principal: PrincipalDep) -> dict[str, Any]:
    """The outlet's sync credentials, newest first; more than one active is an alert."""
    async with db.tenant(principal.tenant_id) as session:
        rows = await enrollment.list_credentials(session, principal, outlet_id)
    return {"items": [{"id": r.id, "outlet_id": r.outlet_id, "hostname": r.hostname,
                       "created_at": r.created_at, "revoked_at": r.revoked_at} for r in rows]}


@post("/api/v1/outlets/{outlet_id:str}/sync-credentials/revoke", tags=["enrollment"],
      status_code=200)
async def revoke_credentials(outlet_id: FromPath[str], db: DbDep,
                             principal: PrincipalDep) -> dict[str, int]:
    """Revoke the outlet box's credential: its pushes are refused until it is re-enrolled."""
    async with db.tenant(principal.tenant_id) as session:
        return {"revoked": await enrollment.revoke_outlet_credentials(session, principal, outlet_id)}


@post("/api/v1/outlets/{outlet_id:str}/sync-credentials/{credential_id:str}/revoke",
      tags=["enrollment"], status_code=200)
async def revoke_credential(outlet_id: FromPath[str], credential_id: FromPath[str], db: DbDep,
                            principal: PrincipalDep) -> dict[str, int]:
    """Revoke one credential (e.g. the second one the fleet view alerts about)."""
    async with db.tenant(principal.tenant_id) as session:
        return {"revoked": await enrollment.revoke_outlet_credentials(session, principal, outlet_id,
                                                                      credential_id=credential_id)}


enrollment_routes = [create_code, redeem, list_credentials, revoke_credentials, revoke_credential]
