"""What the gateways themselves say they took: read from their APIs at reconciliation time, and
matched to the payments the outlets recorded.

* **Xendit** documents a transaction list, ``GET /transactions`` (Basic auth with the secret
  key; filters ``types``, ``statuses``, ``channel_categories``, ``created[gte]`` /
  ``created[lte]``; newest first, ``limit`` at most 50 a page, ``has_more`` and a ``links``
  "next" carrying ``after_id``). The hub reads the successful payments (QR codes, e-wallets) of
  the day, an hour either side, at most ``MAX_PAGES`` pages.
* **Midtrans** offers Core API merchants no list of transactions (its Balance Mutation API
  gives balances over a period, not the payments in it). What exists is the status of one
  order, ``GET /v2/{order_id}/status``: the hub asks it for every attempt an outlet recorded
  as paid through Midtrans that no notification confirmed (at most ``MAX_STATUS_CHECKS`` a
  credential and run). A static-QR payment has no order id Midtrans knows, so through
  Midtrans it cannot be checked by API: it stays ``unverified_static`` for the merchant's
  statement.

Matching (``match``), per credential (a brand's credential serves all its outlets, whose
payments share one list):

1. a gateway payment whose ``reference_id`` is an attempt's gateway order id confirms that
   attempt (the box names every charge by its attempt id);
2. the others are money paid to the merchant's static QR (or taken by no attempt of ours):
   each static-QR payment a cashier confirmed by eye is matched with one of them of the same
   amount, made between ``STATIC_BEFORE`` before the QR was shown and ``STATIC_AFTER`` after
   the cashier confirmed it, the nearest in time first; a match makes it verified, with the
   gateway's payment id;
3. what is left is money the gateway took that no outlet recorded.

Nothing here writes: the daily job stores each outlet's result (``payment_reconciliations``).
No log line carries a key.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin

from hub.gateways.models import GatewayCredential, HubPaymentAttempt

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_PAGES", "MAX_STATUS_CHECKS", "GatewayPayment", "Statement", "match",
           "midtrans_statuses", "xendit_payments"]

log = logging.getLogger("hub.gateways")

PAGE_SIZE = 50
MAX_PAGES = 100  # 5,000 payments a credential and day
MAX_STATUS_CHECKS = 200
TIMEOUT = 10.0
MAX_REPLY_BYTES = 2 * 1024 * 1024
SLACK = timedelta(hours=1)  # read a day's list an hour either side (static QRs near midnight)
STATIC_BEFORE = timedelta(minutes=1)
STATIC_AFTER = timedelta(minutes=30)
_WIB = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class GatewayPayment:
    """One payment as the gateway lists it."""

    gateway: str
    payment_id: str  # Xendit product_id (qrpy_/ewc_), Midtrans transaction_id
    reference_id: str  # what the charge was named by: our attempt id, or the static QR's
    amount: int
    at: datetime
    channel: str = ""
    transaction_id: str = ""  # Xendit's txn_ id of the balance transaction


@dataclass
class Statement:
    """One credential's reading for one day: ``status`` "read" (the list, complete),
    "partial" (more pages than read), "unavailable" (no usable answer: ``error``),
    "status_checks" (Midtrans: per order) or "not_offered"."""

    credential_id: str
    gateway: str
    status: str
    payments: list[GatewayPayment] = field(default_factory=list)
    error: str = ""

    def summary(self) -> dict[str, Any]:
        return {"gateway": self.gateway, "status": self.status, "payments": len(self.payments),
                "error": self.error}


class _Unusable(Exception):
    pass


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode(),
            "Accept": "application/json"}


async def _get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    import httpx  # loaded with the caller's client (payments.gather_evidence), not at hub start

    try:
        res = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise _Unusable(f"no answer ({type(exc).__name__})") from None
    if res.status_code >= 500 or len(res.content) > MAX_REPLY_BYTES:
        raise _Unusable(f"answered {res.status_code}")
    try:
        return res.status_code, res.json()
    except ValueError:
        raise _Unusable(f"answered {res.status_code} without JSON") from None


def _whole(raw: Any) -> int | None:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        return None
    return int(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _when(raw: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)


def day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    return start - SLACK, start + timedelta(days=1) + SLACK


async def xendit_payments(client: httpx.AsyncClient, credential: GatewayCredential, secret: str,
                          day: date) -> Statement:
    """The day's successful QR-code and e-wallet payments from ``GET /transactions``."""
    statement = Statement(credential.id, "xendit", "read")
    low, high = day_window(day)
    base = credential.api_base_url.rstrip("/") + "/"
    url = urljoin(base, "transactions?" + urlencode([
        ("types", "PAYMENT"), ("statuses", "SUCCESS"), ("channel_categories", "QR_CODE"),
        ("channel_categories", "EWALLET"), ("created[gte]", _iso(low)),
        ("created[lte]", _iso(high)), ("limit", str(PAGE_SIZE))]))
    try:
        for _ in range(MAX_PAGES):
            code, body = await _get_json(client, url, _auth(secret))
            if code >= 300 or not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise _Unusable(f"answered {code}: {str(body)[:120] if code >= 300 else 'no data'}")
            for row in body["data"]:
                payment = _xendit_row(row)
                if payment is not None:
                    statement.payments.append(payment)
            if not body.get("has_more"):
                return statement
            nxt = next((link.get("href") for link in body.get("links") or []
                        if isinstance(link, dict) and link.get("rel") == "next"), None)
            if not nxt and body["data"]:  # no link: the documented cursor
                nxt = f"{url.split('&after_id=')[0]}&after_id={body['data'][-1].get('id', '')}"
            if not nxt:
                return statement
            url = urljoin(base, str(nxt).lstrip("/"))
        statement.status = "partial"
    except _Unusable as exc:
        statement.status, statement.error = "unavailable", f"xendit {exc}"
        log.warning("gateway transaction list unavailable", extra={
            "gateway": "xendit", "credential_id": credential.id, "error": statement.error})
    return statement


def _xendit_row(row: Any) -> GatewayPayment | None:
    if not isinstance(row, dict) or row.get("type") != "PAYMENT" or row.get("status") != "SUCCESS":
        return None
    amount, at = _whole(row.get("amount")), _when(row.get("created"))
    if amount is None or at is None:
        return None
    return GatewayPayment(gateway="xendit", payment_id=str(row.get("product_id") or "")[:100],
                          reference_id=str(row.get("reference_id") or "")[:255], amount=amount,
                          at=at, channel=str(row.get("channel_code") or "")[:40],
                          transaction_id=str(row.get("id") or "")[:100])


async def midtrans_statuses(client: httpx.AsyncClient, credential: GatewayCredential, secret: str,
                            order_ids: list[str]) -> Statement:
    """Midtrans has no list: the status of each order asked about (settled ones kept)."""
    statement = Statement(credential.id, "midtrans", "status_checks")
    base = credential.api_base_url.rstrip("/")
    try:
        for order_id in order_ids[:MAX_STATUS_CHECKS]:
            _, body = await _get_json(client, f"{base}/v2/{order_id}/status", _auth(secret))
            if not isinstance(body, dict) or body.get("transaction_status") not in (
                    "settlement", "capture", "refund", "partial_refund"):
                continue  # 404, pending, expired...: Midtrans did not take this money
            amount = _whole(body.get("gross_amount"))
            at = _midtrans_time(body.get("settlement_time") or body.get("transaction_time"))
            if amount is None or at is None or body.get("order_id") != order_id:
                continue
            statement.payments.append(GatewayPayment(
                gateway="midtrans", payment_id=str(body.get("transaction_id") or "")[:100],
                reference_id=order_id, amount=amount, at=at,
                channel=str(body.get("payment_type") or "")[:40]))
        if len(order_ids) > MAX_STATUS_CHECKS:
            statement.status = "partial"
    except _Unusable as exc:
        statement.status, statement.error = "unavailable", f"midtrans {exc}"
    return statement


def _midtrans_time(raw: Any) -> datetime | None:
    try:
        return datetime.strptime(str(raw), "%Y-%m-%d %H:%M:%S").replace(tzinfo=_WIB).astimezone(UTC)
    except ValueError:
        return None


@dataclass
class Matched:
    """What the statement says about one credential's attempts."""

    confirmed: dict[str, GatewayPayment] = field(default_factory=dict)  # attempt id ->
    static: dict[str, GatewayPayment] = field(default_factory=dict)  # static attempt id ->
    unclaimed: list[GatewayPayment] = field(default_factory=list)  # no attempt recorded it


def match(statement: Statement, attempts: list[HubPaymentAttempt], static: list[HubPaymentAttempt],
          known_elsewhere: set[str], day: date) -> Matched:
    """Rules 1-3 of the module docstring. ``attempts``: the credential's outlets' attempts
    through this gateway (any status); ``static``: their paid static-QR attempts near the day;
    ``known_elsewhere``: gateway order ids of attempts outside these outlets (not ours to list)."""
    result = Matched()
    by_order = {a.gateway_order_id: a for a in attempts}
    loose: list[GatewayPayment] = []
    for payment in statement.payments:
        attempt = by_order.get(payment.reference_id)
        if attempt is not None:
            result.confirmed.setdefault(attempt.id, payment)
        elif payment.reference_id not in known_elsewhere:
            loose.append(payment)
    taken: set[int] = set()
    for attempt in sorted(static, key=lambda a: a.updated_at):
        shown, confirmed = attempt.created_at - STATIC_BEFORE, attempt.updated_at + STATIC_AFTER
        best = min((i for i, p in enumerate(loose) if i not in taken and p.amount == attempt.amount
                    and shown <= p.at <= confirmed),
                   key=lambda i: abs((loose[i].at - attempt.updated_at).total_seconds()), default=None)
        if best is not None:
            taken.add(best)
            result.static[attempt.id] = loose[best]
    low = datetime.combine(day, time(), UTC)
    result.unclaimed = [p for i, p in enumerate(loose) if i not in taken
                        and low <= p.at < low + timedelta(days=1)]
    return result
