"""Card on the outlet's EDC terminal as a payment provider: the terminal talks to the bank,
the till records its approval code (required: it is how a card payment is traced); a refund
is done on the terminal too, so it is recorded as done."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.payments.provider import (
    Charge,
    ChargeRequest,
    GatewayRejected,
    GatewayStatus,
    RefundResult,
)

__all__ = ["CardProvider", "approval_code"]


def approval_code(reference: str) -> str:
    """The terminal's approval code, trimmed; GatewayRejected when there is none."""
    code = reference.strip()
    if not code:
        raise GatewayRejected("a card payment needs the terminal's approval code", code="reference")
    return code


class CardProvider:
    name = "card"

    def __init__(self, reference: str = "") -> None:
        self.reference = reference

    async def create(self, request: ChargeRequest) -> Charge:
        return Charge(gateway_ref=approval_code(self.reference), qr_string="",
                      expires_at=datetime.now(UTC), paid=True)

    async def status(self, gateway_order_id: str, gateway_ref: str) -> GatewayStatus:
        return GatewayStatus(status="paid", transaction_id=gateway_ref)

    async def cancel(self, gateway_order_id: str, gateway_ref: str) -> None:
        return None

    async def refund(self, gateway_order_id: str, transaction_id: str, amount: int, key: str,
                     reason: str, *, outlet_id: str = "") -> RefundResult:
        return RefundResult(refund_id=key, status="done", amount=amount)
