"""HTTP and WebSocket routes of the kitchen: tickets, bump / undo / recall, all-day counts,
the customer order board and the live stream every screen holds open."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post, websocket
from litestar.connection import WebSocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery, QueryParameter

from edge import kitchen, orders, stream
from edge.api import deps
from edge.auth import Principal, require
from edge.outlet import business_day, load_outlet
from shared.errors import PosError, Unauthorized, ValidationFailed, error_body
from shared.schemas import KitchenTicket

__all__ = ["kitchen_routes"]

log = logging.getLogger("edge.stream")

_STATUSES = ("pending", "ready")
_TOPIC_PERMISSION = {"kitchen": "kitchen:read", "orders": "orders:read", "menu": "menu:read",
                     "tables": "orders:read"}


@get("/api/v1/kitchen/tickets", tags=["kitchen"], guards=[deps.requires("kitchen:read")])
async def list_tickets(request: Request[Any, Any, Any], station: FromQuery[str | None] = None,
                       status: FromQuery[str | None] = None,
                       limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200
                       ) -> dict[str, Any]:
    if status is not None and status not in _STATUSES:
        raise ValidationFailed("status must be pending or ready", details={"status": status})
    now = datetime.now(UTC)
    # live_id: the last live event this list reflects (same read), where a screen's stream resumes
    return await deps.edge_state(request).db.read(lambda c: {"items": kitchen.list_tickets(
        c, business_day(load_outlet(c), now), station or None, status, limit),
        "live_id": stream.snapshot_cursor(c)})


@post("/api/v1/kitchen/tickets/{ticket_id:str}/bump", tags=["kitchen"], status_code=200,
      guards=[deps.requires("kitchen:bump")])
async def bump_ticket(request: Request[Any, Any, Any], ticket_id: FromPath[str]) -> KitchenTicket:
    return await deps.write(request, lambda c, now: kitchen.bump(c, ticket_id, now, orders))


@post("/api/v1/kitchen/tickets/{ticket_id:str}/undo", tags=["kitchen"], status_code=200,
      guards=[deps.requires("kitchen:bump")])
async def undo_ticket(request: Request[Any, Any, Any], ticket_id: FromPath[str]) -> KitchenTicket:
    return await deps.write(request, lambda c, now: kitchen.undo(c, ticket_id, now, orders))


@post("/api/v1/kitchen/recall", tags=["kitchen"], status_code=200,
      guards=[deps.requires("kitchen:bump")])
async def recall_ticket(request: Request[Any, Any, Any],
                        station: FromQuery[str | None] = None) -> KitchenTicket:
    return await deps.write(request,
                            lambda c, now: kitchen.recall(c, station or None, now, orders))


@get("/api/v1/kitchen/all-day", tags=["kitchen"], guards=[deps.requires("kitchen:read")])
async def all_day(request: Request[Any, Any, Any],
                  station: FromQuery[str | None] = None) -> dict[str, Any]:
    items = await deps.edge_state(request).db.read(lambda c: kitchen.all_day(c, station or None))
    return {"items": items}


@get("/api/v1/board", tags=["kitchen"], guards=[deps.requires("orders:read")])
async def order_board(request: Request[Any, Any, Any]) -> dict[str, list[int]]:
    now = datetime.now(UTC)
    return await deps.edge_state(request).db.read(
        lambda c: kitchen.board(c, business_day(load_outlet(c), now)))


def _authorize(socket: WebSocket[Any, Any, Any], token: str | None,
               query: stream.StreamQuery) -> Principal:
    user = socket.scope.get("user")
    if isinstance(user, Principal):
        who = user
    elif token:
        who = deps.edge_state(socket).auth.resolve(token)
    else:
        raise Unauthorized("the stream needs ?token=")
    for topic in query.topics or sorted(stream.TOPICS):
        require(who, _TOPIC_PERMISSION[topic])
    return who


def _shared_reads(socket: WebSocket[Any, Any, Any]) -> stream.SharedReads:
    """One SharedReads per app (kept on app.state beside the LiveFeed it follows)."""
    shared = getattr(socket.app.state, "stream_reads", None)
    if shared is None:
        shared = socket.app.state.stream_reads = stream.SharedReads()
    return shared


@websocket("/api/v1/stream", tags=["kitchen"])
async def live_stream(socket: WebSocket[Any, Any, Any], token: FromQuery[str | None] = None,
                      topics: FromQuery[str | None] = None,
                      station: FromQuery[str | None] = None, after: FromQuery[str | None] = None,
                      heartbeat: FromQuery[str | None] = None) -> None:
    await socket.accept()
    try:
        query = stream.parse_query(topics, station, after, heartbeat)
        who = _authorize(socket, token, query)
    except PosError as exc:
        # Browsers cannot read an HTTP status from a refused upgrade: say why in a frame,
        # then close with 4000 + the HTTP status (4400, 4401, 4403).
        await socket.send_json(error_body(exc.code, exc.message, exc.details))
        await socket.close(code=4000 + exc.status if exc.status < 500 else 1011,
                           reason=exc.code)
        return
    state = deps.edge_state(socket)
    closed = asyncio.Event()

    async def listen() -> None:
        # Screens send nothing that matters; reading is how we notice they left.
        try:
            while True:
                await socket.receive_data(mode="text")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            closed.set()

    async def send(frame: str) -> None:
        await socket.send_text(frame)

    listener = asyncio.create_task(listen())
    log.info("stream opened", extra={"device_id": who.device_id, "after": query.after,
                                     "topics": ",".join(query.topics), "station": query.station})
    cursor = query.after
    try:
        cursor = await stream.run_stream(state.db, state.feed, query, send, closed,
                                         _shared_reads(socket))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the screen went away mid-send
    finally:
        listener.cancel()
        log.info("stream closed", extra={"device_id": who.device_id, "cursor": cursor})


kitchen_routes: list[Any] = [list_tickets, bump_ticket, undo_ticket, recall_ticket, all_day,
                             order_board, live_stream]
