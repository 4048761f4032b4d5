"""Payment attempt routes (QRIS and e-wallets through the outlet's gateway, or its static QR
when the gateway cannot be reached). Thin: parse, call ``edge.payments.service``, answer the
attempt with its QR as SVG and the mode ("gateway" | "static").

Who may call: staff who take payments (cashier, manager) on any order; a kiosk only on the
orders it placed (checked in ``edge.payments.attempts``). Confirming a static QR is staff only.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from edge import stream
from edge.api import deps
from edge.payments import attempts, static_qris
from edge.payments import config as gateway_config
from edge.payments.attempts import AttemptCancel, AttemptView
from edge.payments.service import PaymentService
from shared.schemas import PaymentAttemptCreate

__all__ = ["payment_routes"]


def _service(request: Request[Any, Any, Any]) -> PaymentService:
    return request.app.state.payments  # type: ignore[no-any-return]


async def _answer(request: Request[Any, Any, Any], attempt: Any,
                  with_qr: bool = True) -> AttemptView:
    """The attempt's view; a pending attempt's QR as SVG, rendered once per QR string in a
    worker thread and cached (``static_qris.svg_for``), never on the event loop."""
    svg = await static_qris.svg_for(attempt.qr_string) if with_qr and attempt.qr_string and (
        attempt.status == "pending") else ""
    return attempts.view(attempt, svg, now=_service(request).clock())


@post("/api/v1/orders/{order_id:str}/payment-attempts", tags=["payments"],
      guards=[deps.requires("orders:read")])
async def create_attempt(
    request: Request[Any, Any, Any], order_id: FromPath[str], data: JSONBody[PaymentAttemptCreate],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
) -> Response[AttemptView]:
    """201 with the attempt, its QR (``qr_svg``) and ``mode``; a replay with the same key and
    body answers the same attempt (200). 422 when the gateway refused, 503 when it cannot be
    reached and there is no static QR to fall back to."""
    request.scope["log_extra"] = {"order_id": order_id}
    row, created = await _service(request).create(deps.principal(request), order_id, data,
                                                  idempotency_key or None)
    request.scope["log_extra"]["attempt_id"] = row.attempt.id
    return Response(await _answer(request, row.attempt), status_code=201 if created else 200)


@get("/api/v1/orders/{order_id:str}/payment-attempts", tags=["payments"],
     guards=[deps.requires("orders:read")])
async def list_attempts(request: Request[Any, Any, Any],
                        order_id: FromPath[str]) -> dict[str, list[AttemptView]]:
    who = deps.principal(request)
    found = await deps.edge_state(request).db.read(
        lambda conn: attempts.for_order(conn, order_id, who))
    return {"items": [await _answer(request, a, with_qr=False) for a in found]}


class AttemptSnapshot(AttemptView, kw_only=True):
    """The attempt as read, with ``live_id``: the last live event it reflects (same read), so
    a screen showing the QR resumes the live stream right after it (as the KDS does)."""

    live_id: int = 0


@get("/api/v1/payment-attempts/{attempt_id:str}", tags=["payments"],
     guards=[deps.requires("orders:read")])
async def get_attempt(request: Request[Any, Any, Any],
                      attempt_id: FromPath[str]) -> AttemptSnapshot:
    who = deps.principal(request)
    row, live_id = await deps.edge_state(request).db.read(
        lambda conn: (attempts.load(conn, attempt_id, who), stream.snapshot_cursor(conn)))
    view = await _answer(request, row.attempt)
    return AttemptSnapshot(**msgspec.structs.asdict(view), live_id=live_id)


@post("/api/v1/payment-attempts/{attempt_id:str}/cancel", tags=["payments"], status_code=200,
      guards=[deps.requires("orders:read")])
async def cancel_attempt(request: Request[Any, Any, Any], attempt_id: FromPath[str],
                         data: JSONBody[AttemptCancel | None] = None) -> AttemptView:
    """Void an open QR; a payment that still arrives for it is recorded and flagged late.
    ``{"cancel_order": true}`` (the kiosk that placed the order, its customer gone) also
    cancels the order when it is unpaid and never reached the kitchen."""
    request.scope["log_extra"] = {"attempt_id": attempt_id}
    row = await _service(request).cancel(deps.principal(request), attempt_id,
                                         cancel_order=bool(data and data.cancel_order))
    return await _answer(request, row.attempt, with_qr=False)


@post("/api/v1/payment-attempts/{attempt_id:str}/confirm", tags=["payments"], status_code=200,
      guards=[deps.requires("payments:take")])
async def confirm_attempt(request: Request[Any, Any, Any],
                          attempt_id: FromPath[str]) -> AttemptView:
    """Static mode only: the cashier saw the merchant's notification; the payment is recorded
    unverified (``verified: false``) until reconciled."""
    request.scope["log_extra"] = {"attempt_id": attempt_id}
    row = await _service(request).confirm_static(deps.principal(request), attempt_id)
    return await _answer(request, row.attempt, with_qr=False)


@get("/api/v1/payments/settings", tags=["payments"], guards=[deps.requires("orders:read")])
async def payment_settings(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Which gateway the outlet uses and the e-wallets it offers (never the secret key)."""
    config = await deps.edge_state(request).db.read(gateway_config.load)
    return gateway_config.public(config)


payment_routes: list[Any] = [create_attempt, list_attempts, get_attempt, cancel_attempt,
                             confirm_attempt, payment_settings]
