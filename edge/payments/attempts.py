"""Payment attempts: asking a gateway for a QR (or an e-wallet charge), and recording the
payment exactly once whatever confirms it.

An attempt is born ``pending`` in one transaction (with its idempotency key), before the
gateway is called, so its id (the gateway order id) is durable before any charge exists. The
gateway's answer is recorded in a second transaction (QR, expiry, the gateway's id), with a
``PaymentAttemptEvent`` and a ``payment_attempt`` live frame. When the gateway cannot be
reached a QRIS attempt falls back to the outlet's static QR with the amount injected
(gateway ``static``): the cashier confirms it by eye (``confirm_static``), and the payment
is recorded unverified.

``apply_confirmation`` is the one door a confirmation comes through: the poller (the edge
asking the gateway), the pull feed's ``confirmations`` kind (the hub relaying webhooks), and
the screens' cancel. Applying it twice, late, out of order or racing changes nothing the
first did not: an attempt records at most one payment (its ``payment_id`` is set in the
transaction that records it, and the payment's idempotency key is the attempt id). Money
that arrives for an order that can no longer take it (voided, cancelled, paid meanwhile,
or a cancelled attempt) is recorded and the attempt flagged ``late`` for refund.

Every function takes the caller's write connection; the caller notifies the LiveFeed.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from edge import live, orders, outbox, refunds
from edge.auth import Principal, allowed
from edge.outlet import load_outlet
from edge.payments import repository as repo
from edge.payments.config import GatewayConfig
from edge.payments.provider import Charge
from edge.payments.repository import AttemptRow
from shared.errors import (
    Forbidden,
    IdempotencyConflict,
    InvalidState,
    NotFound,
    Rejected,
    ValidationFailed,
)
from shared.ids import new_id
from shared.schemas import (
    InputStruct,
    PaymentAttempt,
    PaymentAttemptCreate,
    PaymentAttemptEvent,
    PaymentCreate,
)

__all__ = ["LIVE_TYPE", "AttemptCancel", "AttemptView", "apply_confirmation", "apply_feed_confirmations", "begin", "cancel", "charged",
           "confirm_static", "failed", "for_order", "load", "mode_of", "next_poll_delay",
           "prune_keys", "view"]

log = logging.getLogger("edge.payments")
LIVE_TOPIC = "orders"  # screens that follow orders see their payment attempts too
LIVE_TYPE = "payment_attempt"
FIRST_POLL = timedelta(seconds=1)
MAX_POLL_DELAY = 5.0  # a customer who pays late waits at most this long for the poll
_canonical = msgspec.json.Encoder(order="sorted")
ConfirmedStatus = Literal["paid", "expired", "cancelled", "failed", "refunded", "pending", "unknown"]


class AttemptView(PaymentAttempt, kw_only=True):
    """What the API answers: the attempt, its QR as SVG, which mode it runs in, and the edge's
    clock when it answered (``server_time``: a screen measures its own clock's error against
    it on every read, so a QR reopened after a reload counts down the real time left)."""

    qr_svg: str = ""
    mode: Literal["gateway", "static"] = "gateway"
    server_time: datetime | None = None


class AttemptCancel(InputStruct):
    """``POST /payment-attempts/{id}/cancel`` (the body is optional). ``cancel_order``: the
    kiosk that placed the order is leaving it (start over, idle): when the order is unpaid
    and never reached the kitchen it is cancelled too, in the same transaction."""

    cancel_order: bool = False


def mode_of(attempt: PaymentAttempt) -> Literal["gateway", "static"]:
    return "static" if attempt.gateway == "static" else "gateway"


def view(attempt: PaymentAttempt, qr_svg: str = "", now: datetime | None = None) -> AttemptView:
    return AttemptView(**msgspec.structs.asdict(attempt), qr_svg=qr_svg, mode=mode_of(attempt),
                       server_time=now)


def next_poll_delay(polls: int) -> float:
    """Seconds before asking the gateway again: 1, 1.5, 2.25, ... up to 5."""
    return min(1.5 ** polls, MAX_POLL_DELAY)


def load(conn: sqlite3.Connection, attempt_id: str, principal: Principal | None = None) -> AttemptRow:
    """The attempt (NotFound); with a principal, only if it may see it (see ``_may_pay``)."""
    row = repo.get(conn, attempt_id)
    if row is None:
        raise NotFound("no such payment attempt", details={"attempt_id": attempt_id})
    if principal is not None:
        _may_pay(conn, principal, row.attempt.order_id)
    return row


def for_order(conn: sqlite3.Connection, order_id: str, principal: Principal) -> list[PaymentAttempt]:
    """The order's attempts, oldest first (NotFound / Forbidden as for paying it)."""
    orders.load_order(conn, order_id)
    _may_pay(conn, principal, order_id)
    return [r.attempt for r in repo.for_order(conn, order_id)]


def _may_pay(conn: sqlite3.Connection, principal: Principal, order_id: str) -> None:
    """Staff who take payments may act on any order; a kiosk only on orders it placed."""
    if allowed(principal, "payments:take"):
        return
    if principal.device_role == "kiosk":
        placed_by = conn.execute("SELECT device_id FROM orders WHERE id = ?", (order_id,)).fetchone()
        if placed_by is not None and placed_by[0] == principal.device_id:
            return
    raise Forbidden("only the cashier, or the kiosk that placed the order, can pay it here",
                    details={"permission": "payments:take"})


def _request_hash(order_id: str, data: PaymentAttemptCreate) -> str:
    return hashlib.sha256(order_id.encode() + b"\0" + _canonical.encode(data)).hexdigest()


def begin(conn: sqlite3.Connection, order_id: str, data: PaymentAttemptCreate, *,
          principal: Principal, config: GatewayConfig, now: datetime,
          idempotency_key: str | None = None) -> tuple[AttemptRow, bool]:
    """Record a new pending attempt (before any gateway call); return it and whether it is
    new (False: a replay of the same request with the same Idempotency-Key)."""
    fingerprint = _request_hash(order_id, data)
    if idempotency_key:
        seen = repo.find_key(conn, principal.device_id, idempotency_key)
        if seen is not None:
            if seen[0] != fingerprint:
                raise IdempotencyConflict(
                    "this Idempotency-Key was already used for a different payment attempt",
                    details={"idempotency_key": idempotency_key, "attempt_id": seen[1]})
            return load(conn, seen[1]), False
    order = orders.load_order(conn, order_id)
    _may_pay(conn, principal, order.id)
    if order.status not in orders.OPEN_STATES:
        raise InvalidState(f"a {order.status} order takes no payments",
                           details={"order_id": order.id, "status": order.status})
    owed = order.total - order.paid
    if data.amount > owed:
        raise ValidationFailed("amount is more than what is still owed",
                               details={"amount": data.amount, "owed": owed})
    if data.method == "ewallet":
        if not data.channel:
            raise ValidationFailed("an e-wallet payment needs its channel", details={"field": "channel"})
        if config.ewallet_channels and data.channel not in config.ewallet_channels:
            raise ValidationFailed("this e-wallet is not offered at this outlet",
                                   details={"channel": data.channel,
                                            "offered": config.ewallet_channels})
    elif data.channel:
        raise ValidationFailed("a QRIS payment takes no channel", details={"field": "channel"})
    if data.channel == "ovo" and not data.mobile_number:
        raise ValidationFailed("OVO pushes the payment to the customer's phone: enter their "
                               "mobile number (+62...)", details={"field": "mobile_number"})
    if data.mobile_number and data.channel != "ovo":
        raise ValidationFailed("only an OVO payment takes a mobile number",
                               details={"field": "mobile_number"})
    for other in repo.for_order(conn, order.id):
        if other.attempt.status == "pending":
            raise InvalidState("this order already has an open QR: cancel it first",
                               details={"attempt_id": other.attempt.id})
    if config.provider != "none":
        gateway = config.provider
    elif data.method == "qris" and config.static_qris:
        gateway = "static"
    else:
        raise Rejected("this outlet takes no QRIS or e-wallet payments: no payment gateway "
                       "is set up", details={"method": data.method})
    attempt_id = new_id()
    attempt = PaymentAttempt(
        id=attempt_id, order_id=order.id, method=data.method, channel=data.channel,
        gateway=gateway, gateway_order_id=attempt_id, amount=data.amount, status="pending",
        expires_at=now + timedelta(seconds=config.qr_expiry_seconds), created_at=now,
        updated_at=now)
    row = AttemptRow(attempt, device_id=principal.device_id, staff_id=principal.staff_id,
                     next_poll_at=(now + FIRST_POLL).isoformat())
    repo.insert(conn, row)
    if idempotency_key:
        repo.insert_key(conn, principal.device_id, idempotency_key, fingerprint, attempt_id, now)
    return row, True


def _save(conn: sqlite3.Connection, row: AttemptRow, now: datetime, **changes: Any) -> AttemptRow:
    row.attempt = msgspec.structs.replace(row.attempt, updated_at=now, **changes)
    repo.update(conn, row)
    outbox.append(conn, PaymentAttemptEvent(attempt=row.attempt), now)
    live.publish(conn, LIVE_TOPIC, LIVE_TYPE, msgspec.to_builtins(row.attempt), now=now)
    return row


def charged(conn: sqlite3.Connection, attempt_id: str, charge: Charge, now: datetime,
            *, gateway: str | None = None) -> AttemptRow:
    """The gateway made the charge (or the static QR was built): show its QR."""
    row = load(conn, attempt_id)
    if row.attempt.status != "pending" or row.attempt.qr_string:
        return row  # already answered (a concurrent replay)
    row.gateway_ref = charge.gateway_ref
    changes: dict[str, Any] = {"qr_string": charge.qr_string, "expires_at": charge.expires_at}
    if gateway is not None:
        changes["gateway"] = gateway
    return _save(conn, row, now, **changes)


def failed(conn: sqlite3.Connection, attempt_id: str, now: datetime) -> AttemptRow:
    """The gateway refused the charge: this attempt will never be paid."""
    row = load(conn, attempt_id)
    if row.attempt.status != "pending":
        return row
    return _save(conn, row, now, status="failed")


def cancel(conn: sqlite3.Connection, attempt_id: str, *, principal: Principal,
           now: datetime, cancel_order: bool = False) -> AttemptRow:
    """Void an open QR (the cashier's cancel button, the kiosk's "pay at the counter"); a
    paid attempt refuses. With ``cancel_order`` (only the kiosk that placed the order may
    ask: its customer left) the order is cancelled too when it is unpaid, never reached the
    kitchen and has no other open QR; otherwise it is left as it is."""
    row = load(conn, attempt_id, principal)
    if cancel_order:
        _must_have_placed(conn, principal, row.attempt.order_id)
    if row.attempt.status == "cancelled":
        if cancel_order:  # a retry whose first answer was lost: the same outcome, once
            _cancel_abandoned_kiosk_order(conn, row.attempt.order_id, now, _LEFT)
        return row
    if row.attempt.status != "pending":
        raise InvalidState(f"a {row.attempt.status} payment attempt cannot be cancelled",
                           details={"attempt_id": attempt_id, "status": row.attempt.status})
    row = _save(conn, row, now, status="cancelled")
    if cancel_order:
        _cancel_abandoned_kiosk_order(conn, row.attempt.order_id, now, _LEFT)
    return row


_LEFT = "kiosk customer left before paying"


def _must_have_placed(conn: sqlite3.Connection, principal: Principal, order_id: str) -> None:
    placed_by = conn.execute("SELECT device_id FROM orders WHERE id = ?", (order_id,)).fetchone()
    if principal.device_role != "kiosk" or placed_by is None or placed_by[0] != principal.device_id:
        raise Forbidden("only the kiosk that placed the order cancels it with its QR; staff void "
                        "an order instead", details={"field": "cancel_order"})


def confirm_static(conn: sqlite3.Connection, attempt_id: str, *, principal: Principal,
                   now: datetime) -> AttemptRow:
    """The cashier saw the merchant's notification for a static-QR attempt: record the
    payment, unverified until reconciled against the gateway's transaction list."""
    if not allowed(principal, "payments:take"):
        raise Forbidden("only staff who take payments confirm a static QR",
                        details={"permission": "payments:take"})
    row = load(conn, attempt_id)
    if row.attempt.gateway != "static":
        raise InvalidState("only a static-QR payment is confirmed by hand; the gateway confirms "
                           "this one", details={"attempt_id": attempt_id, "gateway": row.attempt.gateway})
    if row.attempt.status == "paid":
        return row
    if row.attempt.status != "pending":
        raise InvalidState(f"a {row.attempt.status} payment attempt cannot be confirmed",
                           details={"attempt_id": attempt_id, "status": row.attempt.status})
    return _record_payment(conn, row, now, transaction_id="", verified=False,
                           by=principal.staff_id)


def apply_confirmation(conn: sqlite3.Connection, *, gateway: str, gateway_order_id: str,
                       status: ConfirmedStatus, gross_amount: int, transaction_id: str,
                       now: datetime) -> AttemptRow | None:
    """Apply what a gateway says about a charge (poll or relayed webhook), idempotently.

    Returns the attempt (None when no attempt of this gateway has this order id)."""
    row = repo.get_by_gateway_order(conn, gateway_order_id)
    if row is None or row.attempt.gateway != gateway:
        log.warning("confirmation for no attempt of this box", extra={
            "gateway": gateway, "gateway_order_id": gateway_order_id[:64], "status": status})
        return None
    attempt = row.attempt
    if status in ("paid", "refunded"):  # refunded: it was paid first
        if attempt.payment_id is not None:
            return row  # recorded already: a duplicate, a replay, or the other path won
        if gross_amount != attempt.amount:
            log.error("gateway amount differs from the attempt: not recorded", extra={
                "attempt_id": attempt.id, "amount": attempt.amount, "gross_amount": gross_amount})
            return row
        return _record_payment(conn, row, now, transaction_id=transaction_id, verified=True,
                               by=row.staff_id)
    if status in ("expired", "cancelled", "failed") and attempt.status == "pending":
        row = _save(conn, row, now, status=status)
        if status == "expired":
            _cancel_abandoned_kiosk_order(conn, attempt.order_id, now, "payment QR expired")
        return row
    return row  # pending / unknown, or the attempt already ended: nothing to change


def apply_feed_confirmations(conn: sqlite3.Connection, confirmations: Iterable[Any],
                             now: datetime) -> int:
    """The hub's relayed webhooks (pull feed kind "confirmations", a snapshot of the last
    48 hours): apply each one; return how many named an attempt or a refund of this box.

    A gateway's refund callback (Xendit) names our refund id (its ``reference_id``): a
    "refunded" or "failed" confirmation naming a refund settles it (``edge.refunds``)."""
    applied = 0
    for item in confirmations:
        settled = item.status in ("refunded", "failed") and refunds.apply_confirmation(
            conn, gateway=item.gateway, refund_id=item.gateway_order_id, status=item.status,
            gross_amount=item.gross_amount, transaction_id=item.transaction_id,
            now=now) is not None
        if settled or apply_confirmation(
                conn, gateway=item.gateway, gateway_order_id=item.gateway_order_id,
                status=item.status, gross_amount=item.gross_amount,
                transaction_id=item.transaction_id, now=now) is not None:
            applied += 1
    return applied


def expire_locally(conn: sqlite3.Connection, attempt_id: str, now: datetime) -> AttemptRow:
    """A pending attempt past its expiry (plus grace) that no gateway answer ended."""
    row = load(conn, attempt_id)
    return apply_confirmation(conn, gateway=row.attempt.gateway,
                              gateway_order_id=row.attempt.gateway_order_id, status="expired",
                              gross_amount=0, transaction_id="", now=now) or row


def prune_keys(conn: sqlite3.Connection, older_than: datetime) -> int:
    """Forget attempt idempotency keys made before ``older_than`` (the edge's hourly
    housekeeping, with the order and payment keys; ``POS_EDGE_IDEMPOTENCY_KEY_RETENTION_DAYS``).
    The attempts stay; a retry with a forgotten key is a new request, as for orders."""
    return repo.prune_keys(conn, older_than)


def polled(conn: sqlite3.Connection, attempt_id: str, now: datetime) -> None:
    """The gateway had nothing new: ask again later (backing off)."""
    row = repo.get(conn, attempt_id)
    if row is None or row.attempt.status != "pending":
        return
    row.polls += 1
    row.next_poll_at = (now + timedelta(seconds=next_poll_delay(row.polls))).isoformat()
    repo.update(conn, row)


def _record_payment(conn: sqlite3.Connection, row: AttemptRow, now: datetime, *,
                    transaction_id: str, verified: bool, by: str | None) -> AttemptRow:
    attempt = row.attempt
    order = orders.load_order(conn, attempt.order_id)
    who = Principal(device_id=row.device_id or "payments", device_role="admin",
                    device_name="payments", staff_id=by)
    data = PaymentCreate(method=attempt.method, amount=attempt.amount,
                         reference=attempt.gateway_order_id)
    owed = order.total - order.paid
    late = (attempt.status == "cancelled" or order.status not in orders.OPEN_STATES
            or owed < attempt.amount)
    if late:
        _, payment = orders.add_flagged_payment(conn, order.id, data, principal=who, now=now,
                                                attempt_id=attempt.id, gateway=attempt.gateway,
                                                verified=verified)
        payment_id = payment.id
        log.warning("payment for an order that cannot take it: flagged for refund", extra={
            "attempt_id": attempt.id, "order_id": order.id, "order_status": order.status})
    else:
        updated, _ = orders.add_payment(conn, order.id, data, outlet=load_outlet(conn),
                                        principal=who, now=now, idempotency_key=attempt.id,
                                        attempt_id=attempt.id, gateway=attempt.gateway,
                                        verified=verified)
        payment_id = next(p.id for p in updated.payments if p.attempt_id == attempt.id)
    row.transaction_id = transaction_id[:200]
    return _save(conn, row, now, status="paid", payment_id=payment_id, late=late)


def _cancel_abandoned_kiosk_order(conn: sqlite3.Connection, order_id: str, now: datetime,
                                  reason: str) -> None:
    """A kiosk order whose QR expired unpaid, or whose kiosk left it, is cancelled when the
    kitchen never saw it (``orders.cancel_unpaid``: still "placed", as the kitchen trigger
    "payment" holds it back, and nothing paid); a cashier's order waits for the cashier."""
    placed = conn.execute("SELECT d.role FROM orders o JOIN devices d ON d.id = o.device_id"
                          " WHERE o.id = ?", (order_id,)).fetchone()
    if placed is None or placed[0] != "kiosk":
        return
    if any(r.attempt.status == "pending" for r in repo.for_order(conn, order_id)):
        return
    orders.cancel_unpaid(conn, order_id, reason, now)
