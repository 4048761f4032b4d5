"""Refunds: money given back for an order after it was handed over, by a manager, in cash, on
the card terminal, or through the gateway that took a QRIS / e-wallet payment.

Rules (each checked in the transaction that records the refund, on the edge's single writer,
so parallel requests are decided one after the other):

* only a ``completed`` order is refunded (an open one is voided instead: edge.orders);
* a manager approves every refund (``approved_by``: edge.api.orders verifies it), recorded
  on the refund;
* never more than was paid: the order's ``refunded`` (refunds done or under way) plus this
  one stays within ``paid``; a gateway refund also within what that payment took; a line
  never gives back more units than it had;
* the amount is the caller's, else the lines' share of the order total
  (``shared.pricing.share_of``), else all that is left;
* exactly once: an ``Idempotency-Key`` replays the refund it made (same body) or is refused.

A cash refund is ``done`` at once (its shift's expected cash goes down: edge.shifts) and opens
the drawer; a card (EDC) or "other" refund is ``done`` at once too. A gateway refund is
written ``pending`` first, reserving its amount, then ``settle`` calls the gateway outside
any transaction with the refund id as the gateway's idempotency key (a retry after a lost
reply never refunds twice) and records the answer: ``done``, still ``pending``, or ``failed``
with the gateway's reason, which gives the reserved amount back; a failed refund can be
retried (``retry``) or given in cash as a new refund. Every change appends a RefundEvent and
the order's snapshot (its ``refunded``) to the outbox.

A refund the gateway answered ``pending`` (Xendit) is settled by the gateway's refund
callback, relayed by the hub down the pull feed (kind ``confirmations``: the callback names
the refund by our id, its ``reference_id``): ``apply_confirmation`` makes it ``done`` (or
``failed``) exactly once, however often the 48-hour snapshot repeats it; a retry settles it
too. Midtrans's refund notification names the charge, but lists its refunds with the
``refund_key`` we gave each (our refund id): the hub relays one "refunded" confirmation per
refund, which settles a Midtrans refund the same way (one left pending by a request that
died mid-call, or marked failed when the answer was lost). Every settled refund is also a
live frame (topic "orders", type "refund") for the cashier's screen.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

import msgspec

from edge import live, orders, outbox, printing, shifts
from edge import refunds_repository as repo
from edge.auth import Principal
from edge.db import Database
from edge.outlet import load_outlet
from edge.payments import config as gateway_config
from edge.payments import repository as attempts_repo
from edge.payments.provider import GatewayError, PaymentProvider
from shared.errors import Forbidden, IdempotencyConflict, InvalidState, NotFound, ValidationFailed
from shared.ids import new_id
from shared.pricing import share_of
from shared.schemas import Order, Payment, Refund, RefundCreate, RefundEvent, RefundLine

__all__ = ["GATEWAY_METHODS", "apply_confirmation", "begin", "finish", "list_for_order", "load",
           "retry", "settle"]

log = logging.getLogger("edge.refunds")
LIVE_TOPIC = "orders"  # screens that follow orders see their refunds settle
LIVE_TYPE = "refund"
GATEWAY_METHODS = ("qris", "ewallet")
_canonical = msgspec.json.Encoder(order="sorted")


def load(conn: sqlite3.Connection, refund_id: str) -> Refund:
    refund = repo.get(conn, refund_id)
    if refund is None:
        raise NotFound("no such refund", details={"refund_id": refund_id})
    return refund


def list_for_order(conn: sqlite3.Connection, order_id: str) -> list[Refund]:
    orders.load_order(conn, order_id)  # 404 for an unknown order
    return repo.for_order(conn, order_id)


def begin(conn: sqlite3.Connection, order_id: str, data: RefundCreate, *, principal: Principal,
          approved_by: str | None, now: datetime,
          idempotency_key: str | None = None) -> tuple[Refund, bool]:
    """Record a refund (see the module docstring); return it and whether it is new."""
    fingerprint = hashlib.sha256(_canonical.encode(data)).hexdigest() if idempotency_key else ""
    if idempotency_key:
        seen = repo.find_key(conn, principal.device_id, idempotency_key)
        if seen is not None:
            if seen[1] != order_id or seen[0] != fingerprint:
                raise IdempotencyConflict(
                    "this Idempotency-Key was already used for a different refund",
                    details={"idempotency_key": idempotency_key, "order_id": seen[1],
                             "refund_id": seen[2]})
            return load(conn, seen[2]), False
    if approved_by is None:
        raise Forbidden("a refund needs a manager's approval",
                        details={"permission": "orders:refund"})
    order = orders.load_order(conn, order_id)
    if order.status != "completed":
        raise InvalidState("only a completed (handed over) order is refunded; void an open one",
                           details={"order_id": order.id, "status": order.status})
    left = order.paid - order.refunded
    if left <= 0:
        raise InvalidState("everything paid for this order was refunded already",
                           details={"order_id": order.id, "paid": order.paid,
                                    "refunded": order.refunded})
    lines = _refund_lines(conn, order, data)
    amount = data.amount if data.amount is not None else (
        sum(line.amount for line in lines) if lines else left)
    if amount <= 0:
        raise ValidationFailed("nothing to refund", details={"field": "amount"})
    if amount > left:
        raise ValidationFailed("the refund is more than what is left of what was paid",
                               details={"field": "amount", "amount": amount, "refundable": left})
    payment = _payment_for(conn, order, data, amount)
    refund = Refund(
        id=new_id(), order_id=order.id, payment_id=payment.id if payment else None,
        method=data.method, amount=amount, lines=lines, reason=data.reason.strip(),
        approved_by=approved_by, gateway=payment.gateway if data.method in GATEWAY_METHODS
        and payment else "", status="pending" if data.method in GATEWAY_METHODS else "done",
        created_at=now, updated_at=now,
        shift_id=shifts.current_shift_id(conn, principal.device_id), staff_id=principal.staff_id)
    repo.insert(conn, refund, principal.device_id)
    if idempotency_key:
        repo.insert_key(conn, principal.device_id, idempotency_key, fingerprint, order.id,
                        refund.id, now)
    outbox.append(conn, RefundEvent(refund=refund), now)
    orders.set_refunded(conn, order, order.refunded + amount, now)
    if refund.method == "cash":
        printing.kick_drawer(conn, now, order.id)
    return refund, True


def _refund_lines(conn: sqlite3.Connection, order: Order, data: RefundCreate) -> list[RefundLine]:
    """The lines asked for with their share of the order total; 400 for an unknown line or
    more units than the line has left."""
    if not data.lines:
        return []
    by_id = {line.id: line for line in order.lines}
    taken = repo.refunded_lines(conn, order.id)
    wanted: dict[str, int] = {}
    for item in data.lines:
        if item.line_id not in by_id:
            raise ValidationFailed("no such line on this order",
                                   details={"field": "lines", "line_id": item.line_id})
        wanted[item.line_id] = wanted.get(item.line_id, 0) + item.qty
    nets = sum(line.line_total - line.discount for line in order.lines)
    found = []
    for line_id, qty in wanted.items():
        line = by_id[line_id]
        if taken.get(line_id, 0) + qty > line.qty:
            raise ValidationFailed("more units than the line has left to refund",
                                   details={"field": "lines", "line_id": line_id, "qty": qty,
                                            "left": line.qty - taken.get(line_id, 0)})
        amount = share_of(order.total, (line.line_total - line.discount) * qty, nets * line.qty)
        found.append(RefundLine(line_id=line_id, qty=qty, amount=amount))
    return found


def _payment_for(conn: sqlite3.Connection, order: Order, data: RefundCreate,
                 amount: int) -> Payment | None:
    """The payment a gateway refund goes through (required for qris / ewallet), checked."""
    payment = None
    if data.payment_id is not None:
        payment = next((p for p in order.payments if p.id == data.payment_id), None)
        if payment is None:
            raise ValidationFailed("no such payment on this order",
                                   details={"field": "payment_id", "payment_id": data.payment_id})
    if data.method not in GATEWAY_METHODS:
        return payment
    if payment is None:
        raise ValidationFailed("a QRIS or e-wallet refund names the payment it gives back",
                               details={"field": "payment_id"})
    if payment.gateway not in ("midtrans", "xendit") or payment.attempt_id is None:
        raise ValidationFailed("this payment did not go through a gateway (a static QR): "
                               "refund it in cash", details={"field": "method",
                                                             "gateway": payment.gateway})
    through = repo.refunded_through(conn, payment.id)
    if through + amount > payment.amount:
        raise ValidationFailed("the refund is more than this payment has left",
                               details={"field": "amount", "amount": amount,
                                        "refundable": payment.amount - through})
    return payment


def finish(conn: sqlite3.Connection, refund_id: str, *, status: str, now: datetime,
           gateway_refund_id: str = "", error: str = "") -> Refund:
    """Record the gateway's answer to a pending refund; a failed one gives back the amount it
    reserved on the order."""
    refund = load(conn, refund_id)
    if refund.status != "pending":
        return refund  # already decided (a racing retry)
    updated = msgspec.structs.replace(refund, status=status,  # type: ignore[arg-type]
                                      gateway_refund_id=gateway_refund_id[:200] or
                                      refund.gateway_refund_id, error=error[:200],
                                      updated_at=now)
    repo.update(conn, updated)
    outbox.append(conn, RefundEvent(refund=updated), now)
    if status == "failed":
        order = orders.load_order(conn, refund.order_id)
        orders.set_refunded(conn, order, max(0, order.refunded - refund.amount), now)
    # the cashier's screen follows it live (a refund the gateway settles later, by its
    # notification relayed from the hub, ends while nobody is waiting on the request)
    live.publish(conn, LIVE_TOPIC, LIVE_TYPE, msgspec.to_builtins(updated), now=now)
    return updated


def retry(conn: sqlite3.Connection, refund_id: str, *, approved_by: str | None,
          now: datetime) -> Refund:
    """Put a failed gateway refund back to pending (reserving its amount again) so ``settle``
    asks the gateway once more, with the same idempotency key."""
    if approved_by is None:
        raise Forbidden("a refund needs a manager's approval",
                        details={"permission": "orders:refund"})
    refund = load(conn, refund_id)
    if refund.status != "failed" or refund.method not in GATEWAY_METHODS:
        raise InvalidState("only a failed gateway refund can be retried",
                           details={"refund_id": refund.id, "status": refund.status})
    order = orders.load_order(conn, refund.order_id)
    if not _room_for(conn, order, refund):
        raise InvalidState("there is no longer room for this refund",
                           details={"refund_id": refund.id,
                                    "refundable": order.paid - order.refunded})
    updated = msgspec.structs.replace(refund, status="pending", error="", updated_at=now,
                                      approved_by=approved_by)
    repo.update(conn, updated)
    outbox.append(conn, RefundEvent(refund=updated), now)
    orders.set_refunded(conn, order, order.refunded + refund.amount, now)
    return updated


def _room_for(conn: sqlite3.Connection, order: Order, refund: Refund) -> bool:
    """Whether a refund that holds no reservation (failed) fits again: within what is left of
    the order's money and of its payment's."""
    through = repo.refunded_through(conn, refund.payment_id or "")
    payment = next((p for p in order.payments if p.id == refund.payment_id), None)
    return (refund.amount <= order.paid - order.refunded and payment is not None
            and through + refund.amount <= payment.amount)


def apply_confirmation(conn: sqlite3.Connection, *, gateway: str, refund_id: str, status: str,
                       gross_amount: int, transaction_id: str, now: datetime) -> Refund | None:
    """What the gateway says about one of our refunds (its callback relayed by the hub),
    idempotently; None when no refund of this box through this gateway has that id.

    * ``refunded`` for the refund's amount: a pending refund is ``done`` (its amount was
      reserved when it was written); one marked ``failed`` after a lost answer is ``done``
      too, reserving its amount again if there is still room (else it is logged for a
      manager: the customer got that money twice); a done one changes nothing;
    * ``failed`` ends a pending refund as failed, giving its reservation back;
    * anything else, or an amount that differs, changes nothing (logged)."""
    refund = repo.get(conn, refund_id)
    if refund is None or refund.gateway != gateway or refund.method not in GATEWAY_METHODS:
        return None
    if status == "refunded":
        if refund.status == "done":
            return refund  # a duplicate, a replay, or the retry got there first
        if gross_amount != refund.amount:
            log.error("gateway refund amount differs from the refund: not applied", extra={
                "refund_id": refund.id, "amount": refund.amount, "gross_amount": gross_amount})
            return refund
        if refund.status == "failed":
            order = orders.load_order(conn, refund.order_id)
            if not _room_for(conn, order, refund):
                log.error("the gateway refunded a refund recorded as failed and its amount was "
                          "given back since: check the order", extra={
                              "refund_id": refund.id, "order_id": refund.order_id})
                return refund
            orders.set_refunded(conn, order, order.refunded + refund.amount, now)
            refund = msgspec.structs.replace(refund, status="pending")  # reserved again
            repo.update(conn, refund)
        return finish(conn, refund.id, status="done", now=now, gateway_refund_id=transaction_id)
    if status == "failed" and refund.status == "pending":
        return finish(conn, refund.id, status="failed", now=now,
                      error="the gateway reported that the refund failed")
    return refund


async def settle(db: Database, refund: Refund,
                 provider_for: Callable[[gateway_config.GatewayConfig], PaymentProvider | None],
                 now: Callable[[], datetime]) -> Refund:
    """Ask the gateway to give back a pending refund and record its answer.

    ``provider_for(config)`` is the running edge's gateway client (PaymentService.provider);
    ``now()`` the clock."""
    def read(conn: sqlite3.Connection) -> tuple[gateway_config.GatewayConfig, str, str, str]:
        config = gateway_config.load(conn)
        order = orders.load_order(conn, refund.order_id)
        payment = next((p for p in order.payments if p.id == refund.payment_id), None)
        row = attempts_repo.get(conn, payment.attempt_id) if payment and payment.attempt_id else None
        if row is None:
            return config, "", "", ""
        return config, row.attempt.gateway_order_id, row.transaction_id, load_outlet(conn).id

    config, gateway_order_id, transaction_id, outlet_id = db.read_now(read)
    provider: PaymentProvider | None = None
    if gateway_order_id and config.provider == refund.gateway:
        provider = provider_for(config)
    if provider is None:
        return await db.write(lambda conn: finish(
            conn, refund.id, status="failed", now=now(),
            error="the outlet's gateway for this payment is not set up: refund in cash"))
    try:
        answer = await provider.refund(gateway_order_id, transaction_id, refund.amount,
                                       refund.id, refund.reason, outlet_id=outlet_id)
    except GatewayError as exc:
        log.warning("gateway refund failed", extra={"refund_id": refund.id,
                                                    "order_id": refund.order_id,
                                                    "error": exc.message[:200]})
        error = f"the gateway refused or could not be reached: {exc.message}"
        return await db.write(lambda conn: finish(conn, refund.id, status="failed", now=now(),
                                                  error=error))
    if answer.status == "pending":
        def still_pending(conn: sqlite3.Connection) -> Refund:
            held = load(conn, refund.id)
            updated = msgspec.structs.replace(held, gateway_refund_id=answer.refund_id[:200],
                                              updated_at=now())
            repo.update(conn, updated)
            outbox.append(conn, RefundEvent(refund=updated), updated.updated_at or held.created_at)
            return updated
        return await db.write(still_pending)
    return await db.write(lambda conn: finish(
        conn, refund.id, status=answer.status, now=now(),
        gateway_refund_id=answer.refund_id,
        error="" if answer.status == "done" else "the gateway refused the refund"))
