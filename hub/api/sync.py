"""The sync API: edges push journal batches and pull their feed; head office reads sync health.

Push and pull bodies are sync frames (``sync.protocol``), authenticated with the outlet's
sync credential (``Authorization: Bearer fpc_...``). Errors use the JSON error shape: a frame
damaged on the way is 400 ``corrupt_frame`` (the edge resends it), an intact frame whose
message breaks the protocol 400 ``invalid_frame`` naming the field, a body or payload past
the route's limit 413 ``payload_too_large`` (``read_frame``, also used by enrollment).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import anyio
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter
from msgspec import Meta, Struct
from prometheus_client import Counter
from sqlalchemy import func, select

from hub import audit, pull_fast
from hub.api.deps import DbDep, PrincipalDep, bearer_token
from hub.identity import RequestDatabase, require, require_outlet
from hub.ingest import enrollment, feed, quarantine
from hub.ingest.push import ingest_push
from hub.models import Outlet, OutletStatus
from hub.sync_models import SyncAlarm, SyncCursor, SyncJournalEntry, SyncQuarantine
from shared.errors import BadRequest, NotFound, PosError
from sync.protocol import (
    MEDIA_TYPE,
    PUSH_MAX_BYTES,
    FrameError,
    FrameInvalid,
    FrameTooLarge,
    PushRequest,
    decode_frame,
    encode_frame,
    frame_version,
)

__all__ = ["read_frame", "sync_routes"]

T = TypeVar("T")

# Bodies above this are decoded on a worker thread: inflating (zlib releases the GIL) and
# decoding a batch of thousands of events must not hold up every other request.
INLINE_DECODE_BYTES = 64 * 1024


class CorruptFrame(BadRequest):
    """The body is not a readable frame (damaged or cut short on the way): resend it."""

    code = "corrupt_frame"


class InvalidFrame(BadRequest):
    """The frame arrived intact but its message breaks the protocol (a field too long, a NUL
    in a text): resending the same bytes cannot help."""

    code = "invalid_frame"


class FrameTooBig(PosError):
    status = 413
    code = "payload_too_large"


def read_frame(body: bytes, kind: type[T], max_size: int) -> tuple[int, T]:
    """The wire version and message of a request frame, or the 4xx that refuses it."""
    try:
        return frame_version(body), decode_frame(body, kind, max_size)
    except FrameTooLarge as exc:
        raise FrameTooBig(str(exc), details={"max_bytes": max_size}) from exc
    except FrameInvalid as exc:
        raise InvalidFrame(str(exc), details={"field": exc.field}) from exc
    except FrameError as exc:
        raise CorruptFrame(str(exc)) from exc


class _SyncMetrics:
    """Sync counters on the app's own Prometheus registry (served by /metrics)."""

    def __init__(self, registry: Any) -> None:
        self.events = Counter("hub_sync_events_total", "Journal events received by push",
                              ["result"], registry=registry)
        self.refusals = Counter("hub_sync_refusals_total", "Push batches refused", ["code"],
                                registry=registry)


def _metrics(request: Request[Any, Any, Any]) -> _SyncMetrics | None:
    state = request.app.state
    found = getattr(state, "sync_metrics", None)
    registry = getattr(getattr(state, "metrics", None), "registry", None)
    if found is None and registry is not None:
        found = state.sync_metrics = _SyncMetrics(registry)
    return found


def _known_credentials(request: Request[Any, Any, Any]) -> enrollment.KnownCredentials:
    state = request.app.state
    found = getattr(state, "known_sync_credentials", None)
    if found is None:
        found = state.known_sync_credentials = enrollment.KnownCredentials()
    return found


def _frame(message: Any, version: int) -> Response[bytes]:
    return Response(encode_frame(message, version=version), media_type=MEDIA_TYPE, status_code=200)


@post("/api/v1/sync/push", tags=["sync"], status_code=200, request_max_body_size=PUSH_MAX_BYTES)
async def push(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Apply a batch of journal entries (idempotent); answers the highest seq held.

    The credential is checked before the body is read; the body is refused past
    PUSH_MAX_BYTES (by its Content-Length, or while it streams) and inflated no further.
    A credential this process has seen is not looked up again: the push's transaction checks
    that it is still valid (``enrollment.KnownCredentials``). No ``db`` dependency (a
    request database adds nothing here: no user, no caller check)."""
    db = request.app.state.db
    token = bearer_token(request)
    known = _known_credentials(request)
    who = known.get(token)
    if who is None:
        who = await enrollment.authenticate(db, token)
        known.remember(token or "", who)
    body = await request.body()
    if len(body) > INLINE_DECODE_BYTES:
        version, batch = await anyio.to_thread.run_sync(read_frame, body, PushRequest, PUSH_MAX_BYTES)
    else:
        version, batch = read_frame(body, PushRequest, PUSH_MAX_BYTES)
    metrics = _metrics(request)
    try:
        reply = await ingest_push(db, who, batch, wire_version=version)
    except PosError as exc:
        if metrics is not None:
            metrics.refusals.labels(exc.code).inc()
        raise
    if metrics is not None:
        metrics.events.labels("applied").inc(reply.applied)
        metrics.events.labels("duplicate").inc(reply.duplicates)
        metrics.events.labels("quarantined").inc(len(reply.quarantined))
    return _frame(reply, version)


@get("/api/v1/sync/pull", tags=["sync"])
async def pull(request: Request[Any, Any, Any],
               cursor: Annotated[int, Parameter(ge=0)] = 0,
               limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
               snapshot: Annotated[int, Parameter(ge=0, le=1)] = 0,
               kinds: Annotated[str, Parameter(max_length=200)] = "") -> Response[bytes]:
    """The outlet's changes after ``cursor``, or a full snapshot. ``kinds`` (e.g.
    ``catalog,staff,settings``) asks for the multi-kind feed; without it: catalog only.
    Pages of those three kinds come from ``hub.pull_fast`` (two statements, no ORM; a change
    recorded in one transaction; the catalog decoded once per content); anything else, or a
    credential to refuse, from the full path. No ``db`` dependency: the full path makes its
    request database itself (the dependency cost the fast one 5 %)."""
    token = bearer_token(request)
    wanted = feed.parse_kinds(kinds)
    page, who = await pull_fast.pull(request.app.state.db, token, cursor, bool(snapshot),
                                     wanted)
    if page is not None:
        return _frame(page, 2)
    db = RequestDatabase(request.app.state.db)
    if who is None:
        who = await enrollment.authenticate(db, token)
    return _frame(await feed.outlet_feed(db, who, cursor, snapshot=bool(snapshot),
                                         kinds=wanted,
                                         pins=request.app.state.pins,
                                         gateways=request.app.state.gateway_vault), 2)


@get("/api/v1/sync/outlets/{outlet_id:str}", tags=["sync"])
async def outlet_sync_health(outlet_id: FromPath[str], db: DbDep, principal: PrincipalDep,
                             limit: Annotated[int, Parameter(ge=1, le=500)] = 50
                             ) -> dict[str, Any]:
    """One outlet's sync from the hub's side: status, journal cursors, quarantine, alarms."""
    require(principal, "fleet:read")
    require_outlet(principal, outlet_id)
    async with db.tenant(principal.tenant_id) as session:
        if (await session.execute(select(Outlet.id).where(Outlet.id == outlet_id))).first() is None:
            raise NotFound("outlet not found", details={"outlet_id": outlet_id})
        status = await session.get(OutletStatus, outlet_id)
        cursors = (await session.scalars(select(SyncCursor).where(SyncCursor.outlet_id == outlet_id)
                                         .order_by(SyncCursor.started_at))).all()
        quarantined = (await session.scalars(
            select(SyncQuarantine).where(SyncQuarantine.outlet_id == outlet_id)
            .order_by(SyncQuarantine.created_at.desc()).limit(limit))).all()
        alarms = (await session.scalars(
            select(SyncAlarm).where(SyncAlarm.outlet_id == outlet_id)
            .order_by(SyncAlarm.created_at.desc()).limit(limit))).all()
        held = (await session.execute(select(func.count()).select_from(SyncJournalEntry)
                                      .where(SyncJournalEntry.outlet_id == outlet_id))).scalar_one()
    return {
        "outlet_id": outlet_id,
        "last_contact_at": status.last_contact_at if status else None,
        "last_push_at": status.last_push_at if status else None,
        "last_pull_at": status.last_pull_at if status else None,
        "reported_backlog": status.reported_backlog if status else 0,
        "edge_version": status.edge_version if status else "",
        "last_error": status.last_error if status else "",
        "journal_alarm": status.journal_alarm if status else "",
        "events_held": held,
        "epochs": [{"epoch": c.epoch, "first_seq": c.first_seq, "last_seq": c.last_seq,
                    "started_at": c.started_at, "updated_at": c.updated_at} for c in cursors],
        "quarantine": [{"id": q.id, "epoch": q.epoch, "seq": q.seq, "event_id": q.event_id,
                        "kind": q.kind, "reason": q.reason, "created_at": q.created_at,
                        "resolved_at": q.resolved_at, "resolution": q.resolution}
                       for q in quarantined],
        "alarms": [{"id": a.id, "kind": a.kind, "message": a.message, "details": a.details,
                    "created_at": a.created_at, "resolved_at": a.resolved_at} for a in alarms],
    }


class QuarantineResolve(Struct, kw_only=True, forbid_unknown_fields=True):
    action: Literal["retry", "dismiss"]
    note: Annotated[str, Meta(max_length=500)] = ""


@post("/api/v1/sync/outlets/{outlet_id:str}/quarantine/{quarantine_id:str}/resolve",
      tags=["sync"], status_code=200)
async def resolve_quarantine(outlet_id: FromPath[str], quarantine_id: FromPath[str],
                             data: JSONBody[QuarantineResolve],
                             db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """Retry a quarantined event under today's rules, or dismiss it with a note (HQ only)."""
    require(principal, "sync:resolve")
    async with db.tenant(principal.tenant_id) as session:
        item = await quarantine.resolve_quarantined(session, outlet_id, quarantine_id,
                                                    data.action, data.note)
        audit.record(session, principal, f"sync_quarantine.{data.action}", "outlet", outlet_id,
                     None, {"quarantine_id": item.id, "seq": item.seq,
                            "resolution": item.resolution})
        return {"id": item.id, "seq": item.seq, "resolved_at": item.resolved_at,
                "resolution": item.resolution}


sync_routes = [push, pull, outlet_sync_health, resolve_quarantine]
