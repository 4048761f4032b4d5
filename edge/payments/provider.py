"""The payment-provider interface every way of taking money implements: create, status,
cancel, refund. Gateways (Midtrans, Xendit) are async HTTP clients; cash and card settle at
the till.

    GatewayError
    ├── GatewayUnavailable   the gateway could not be reached or answered 5xx / timed out:
    │                        try again later; QRIS falls back to the static QR
    └── GatewayRejected      the gateway refused the request (4xx): do not retry as it is

Nothing here touches the database; ``edge.payments.attempts`` owns the rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from msgspec import Struct

__all__ = ["Charge", "ChargeRequest", "GatewayError", "GatewayRejected", "GatewayStatus",
           "GatewayUnavailable", "PaymentProvider", "RefundResult"]

GatewayState = Literal["pending", "paid", "expired", "cancelled", "failed", "refunded", "unknown"]


class GatewayError(Exception):
    """A gateway call did not do what was asked (see the subclasses)."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # the gateway's own error code, e.g. "406" or "DUPLICATE_ERROR"
        self.status = status  # HTTP status, 0 when there was no answer


class GatewayUnavailable(GatewayError):
    """No usable answer: connection refused, timeout, 5xx."""


class GatewayRejected(GatewayError):
    """The gateway answered and refused (4xx)."""


class ChargeRequest(Struct, kw_only=True, frozen=True):
    gateway_order_id: str  # the attempt id: the same on a retried create
    amount: int  # whole rupiah
    method: Literal["qris", "ewallet"]
    channel: str = ""  # e-wallet: gopay | ovo | dana | shopeepay
    expiry_seconds: int = 300
    # when the QR stops being payable: fixed when the attempt is made, so a retried create
    # sends the very same body (Xendit refuses a reused Idempotency-key with another body)
    expires_at: datetime | None = None
    outlet_id: str = ""  # echoed back by the gateway, so the hub can route its webhook
    mobile_number: str = ""  # OVO: the customer's number (+62...), where the payment is pushed


class Charge(Struct, kw_only=True, frozen=True):
    gateway_ref: str  # the gateway's own id (Midtrans transaction_id, Xendit qr_/ewc_ id)
    qr_string: str  # what the customer scans (a QRIS payload, or a checkout URL)
    expires_at: datetime
    paid: bool = False  # settled at once (cash, card)


class GatewayStatus(Struct, kw_only=True, frozen=True):
    status: GatewayState
    gross_amount: int = 0
    transaction_id: str = ""  # the gateway's id of the payment itself
    payment_type: str = ""


class RefundResult(Struct, kw_only=True, frozen=True):
    refund_id: str
    status: Literal["done", "pending", "failed"]
    amount: int


class PaymentProvider(Protocol):
    """One way of taking money (see the module docstring for the errors each call raises)."""

    name: str

    async def create(self, request: ChargeRequest) -> Charge: ...

    async def status(self, gateway_order_id: str, gateway_ref: str) -> GatewayStatus: ...

    async def cancel(self, gateway_order_id: str, gateway_ref: str) -> None: ...

    async def refund(self, gateway_order_id: str, transaction_id: str, amount: int, key: str,
                     reason: str, *, outlet_id: str = "") -> RefundResult: ...
